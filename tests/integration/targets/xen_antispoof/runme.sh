#!/usr/bin/env bash
# xen_antispoof with the nftables backend, in its own lab: the packet matrix
# without and with protection, check mode, idempotence, diff, counters,
# incremental changes, a failing transaction, bad input and removal.
set -euo pipefail
exec bash ../setup_antispoof/run.sh nftables "$@"

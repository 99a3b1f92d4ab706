#!/usr/bin/env bash
# xen_antispoof with the iptables backend (ebtables, iptables and ip6tables,
# nf_tables-backed), in its own lab, through the same matrix and playbooks as
# the nftables backend.
set -euo pipefail
exec bash ../setup_antispoof/run.sh iptables "$@"

#!/usr/bin/env bash
# xen_route on a lab dom0 whose guests' vifs are on no bridge: upstream reaches
# each guest through proxy ARP / proxy NDP on the uplink, guests reach
# upstream through dom0, a guest using another's address gets no reply; check
# mode, diff, idempotence, purge, rollback and hostile input change nothing
# they should not.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xen_nat/cleanup.sh

lab_up lab.json
lab_playbook "$LAB_DIR" converge.yml "$@"

# xen_nat and xen_route sharing eth0's forwarding flag, on a fresh lab.
lab_up lab.json
lab_playbook "$LAB_DIR" shared_sysctls.yml "$@"

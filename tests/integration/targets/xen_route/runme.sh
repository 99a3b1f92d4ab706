#!/usr/bin/env bash
# xen_route on a lab dom0 whose guests' vifs are on no bridge: upstream reaches
# each guest through proxy ARP / proxy NDP on the uplink, guests reach
# upstream through dom0, a guest using another's address gets no reply; check
# mode, diff, idempotence, purge, rollback and hostile input change nothing
# they should not.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
lab_playbook "$LAB_DIR" converge.yml "$@"

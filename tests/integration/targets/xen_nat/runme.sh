#!/usr/bin/env bash
# xen_nat in its own lab with an "internet": DHCP with fixed and dynamic
# leases to real clients, masquerade seen from the internet, a port forward
# with hairpin, check mode, diff, idempotence, dnsmasq supervision by pid
# file, a refused dnsmasq configuration, drift of the table, removal.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xen_nat/cleanup.sh

lab_up lab.json
lab_playbook "$LAB_DIR" converge.yml "$@"

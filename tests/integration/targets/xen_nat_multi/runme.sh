#!/usr/bin/env bash
# Two xen_nat instances side by side in one lab: masquerade and snat_to,
# vif-nat's domid addressing, two dnsmasq servers, shared forwarding on the
# uplink put back only when the last instance goes, and bad input that fails
# naming field and value while changing nothing.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xen_nat/cleanup.sh

lab_up lab.json
lab_playbook "$LAB_DIR" multi.yml "$@"

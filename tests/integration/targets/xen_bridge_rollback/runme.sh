#!/usr/bin/env bash
# A connectivity check that cannot succeed leaves the NIC exactly as before; multipath routes move and come back,
# a route through a nexthop object is refused.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
lab_playbook "$LAB_DIR" rollback.yml "$@"

lab_up multipath_lab.json
lab_playbook "$LAB_DIR" multipath.yml "$@"

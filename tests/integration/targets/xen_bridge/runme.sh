#!/usr/bin/env bash
# xen_bridge in its own lab: create, check mode, idempotence, option change,
# guests pinging across the bridge, bad input, removal.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
lab_playbook "$LAB_DIR" converge.yml "$@"

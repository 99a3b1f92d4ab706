#!/usr/bin/env bash
# A connectivity check that cannot succeed leaves the NIC exactly as before.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
lab_playbook "$LAB_DIR" rollback.yml "$@"

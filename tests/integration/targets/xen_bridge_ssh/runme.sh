#!/usr/bin/env bash
# The management connection: Ansible reaches the lab dom0 over real SSH through
# the NIC it is about to move, and keeps working after the move.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
# The controller runs in the upstream namespace, the only place that reaches dom0's NIC.
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$LAB_DIR" upstream -- \
    ansible-playbook -i "$LAB_DIR/inventory.ini" ssh.yml "$@"

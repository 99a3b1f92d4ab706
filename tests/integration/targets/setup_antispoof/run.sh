#!/usr/bin/env bash
# Shared by the xen_antispoof targets: run.sh BACKEND [ansible-playbook args]
# builds a lab, proves the packet matrix detects missing protection
# (baseline), applies the policy through ansible-playbook, runs the matrix
# with the protection on, then the rest: counters, incremental changes, a
# failing transaction, bad input and removal.
set -euo pipefail
backend="$1"
shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../setup_xenlab/lab.sh"

lab_up "$here/lab.json"
lab_playbook "$LAB_DIR" "$here/prepare.yml" "$@"
"$LAB_PYTHON" "$here/antispoof_matrix.py" --workdir "$LAB_DIR" baseline
lab_playbook "$LAB_DIR" "$here/apply.yml" -e "antispoof_backend=$backend" "$@"
"$LAB_PYTHON" "$here/antispoof_matrix.py" --workdir "$LAB_DIR" protected
# Each backend's hand edits (drift.yml: nftables; drift_iptables.yml: iptables) open a hole the matrix sees.
drift="$here/drift.yml"
[[ $backend == nftables ]] || drift="$here/drift_iptables.yml"
lab_playbook "$LAB_DIR" "$drift" -e "antispoof_backend=$backend" -e drift_step=tamper "$@"
if "$LAB_PYTHON" "$here/antispoof_matrix.py" --workdir "$LAB_DIR" protected >"$LAB_DIR/tampered-matrix.log" 2>&1; then
    echo "FAILED: the packet matrix passed with the $backend rules tampered with (${drift##*/})" >&2
    exit 1
fi
grep -i "fail" "$LAB_DIR/tampered-matrix.log" | head -n 5
lab_playbook "$LAB_DIR" "$drift" -e "antispoof_backend=$backend" -e drift_step=repair "$@"
"$LAB_PYTHON" "$here/antispoof_matrix.py" --workdir "$LAB_DIR" protected
lab_playbook "$LAB_DIR" "$here/after.yml" -e "antispoof_backend=$backend" "$@"

#!/usr/bin/env bash
# The ifupdown stanza rebuilds at boot what the module converges to now:
# write it in one lab, bring it up with ifup in a fresh lab, and the module
# then finds nothing to change there.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
written_lab="$LAB_DIR"
lab_playbook "$written_lab" write.yml "$@"

lab_up lab.json
booted_lab="$LAB_DIR"
# A booting dom0's NIC has no address of its own: only the stanza configures it.
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- ip addr flush dev eth0
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- ip -6 route flush dev eth0
mkdir -p "$booted_lab/ifstate"
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- \
    ifup -v -i "$written_lab/xenbr0.interfaces" --state-dir "$booted_lab/ifstate" xenbr0
lab_playbook "$booted_lab" verify.yml -e "written_lab=$written_lab" "$@"

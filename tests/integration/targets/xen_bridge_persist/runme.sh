#!/usr/bin/env bash
# The ifupdown files rebuild at boot what the module converges to now: write
# the stanza (and take over the installer's stanza for eth0) in one lab, boot
# a fresh lab with `ifup -a` on the written /etc/network/interfaces alone, and
# the module then finds nothing to change there.
set -euo pipefail
source ../setup_xenlab/lab.sh

lab_up lab.json
written_lab="$LAB_DIR"
lab_playbook "$written_lab" write.yml "$@"

lab_up lab.json
booted_lab="$LAB_DIR"
# A booting dom0's NIC has no address of its own: only the files configure it.
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- ip addr flush dev eth0
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- ip -6 route flush dev eth0
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- ip link set eth0 down
mkdir -p "$booted_lab/ifstate"
# What networking.service runs at boot: every `auto` interface of the main file and what it sources.
"$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted_lab" dom0 -- \
    ifup -v -a -i "$written_lab/network/interfaces" --state-dir "$booted_lab/ifstate"
lab_playbook "$booted_lab" verify.yml -e "written_lab=$written_lab" "$@"

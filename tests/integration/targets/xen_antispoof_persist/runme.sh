#!/usr/bin/env bash
# The boot-time files rebuild what xen_antispoof converged to: for each
# backend, apply the policy in one lab, boot a fresh lab with only the unit
# it enabled (nft -f, or br_netfilter and the nf_tables-backed *-restore
# --noflush), and find the same rules there, with nothing left to change.
set -euo pipefail
source ../setup_xenlab/lab.sh
shared="$(cd ../setup_antispoof && pwd)"

for backend in nftables iptables; do
    lab_up "$shared/lab.json"
    written="$LAB_DIR"
    lab_playbook "$written" write.yml -e "antispoof_backend=$backend" "$@"

    lab_up "$shared/lab.json"
    booted="$LAB_DIR"
    # Boot the fresh dom0 with nothing but the unit xen_antispoof enabled: its ExecStart lines, as systemd runs them.
    "$LAB_PYTHON" "$LAB_TOOL" reboot --workdir "$booted" --units "$written/systemd" >"$booted/boot-report.json"
    lab_playbook "$booted" verify.yml -e "antispoof_backend=$backend" -e "written_lab=$written" "$@"
done

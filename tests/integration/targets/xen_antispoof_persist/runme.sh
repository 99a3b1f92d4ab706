#!/usr/bin/env bash
# The boot-time files rebuild what xen_antispoof converged to: for each
# backend, apply the policy in one lab, load only the written files into a
# fresh lab (nft -f, or the nf_tables-backed *-restore --noflush), and find
# the same rules there, with nothing left for the module to change.
set -euo pipefail
source ../setup_xenlab/lab.sh
shared="$(cd ../setup_antispoof && pwd)"

for backend in nftables iptables; do
    lab_up "$shared/lab.json"
    written="$LAB_DIR"
    lab_playbook "$written" write.yml -e "antispoof_backend=$backend" "$@"

    lab_up "$shared/lab.json"
    booted="$LAB_DIR"
    if [[ $backend == nftables ]]; then
        "$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted" dom0 -- nft -f "$written/antispoof.nft"
    else
        for pair in ebtables:eb iptables:v4 ip6tables:v6; do
            "$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$booted" dom0 -- \
                sh -c "${pair%%:*}-nft-restore --noflush < '$written/antispoof.${pair##*:}'"
        done
    fi
    lab_playbook "$booted" verify.yml -e "antispoof_backend=$backend" -e "written_lab=$written" "$@"
done

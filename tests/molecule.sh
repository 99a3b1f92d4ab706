#!/usr/bin/env bash
# Runs the collection's molecule scenarios (extensions/molecule/: one per
# role, each on a throw-away lab dom0 of network namespaces built with
# tests/lab/xenlab.py and reached over the lab's sshd). Needs root.
#   bash tests/molecule.sh                 # molecule test --all
#   bash tests/molecule.sh -s routed       # one scenario
# Whatever happens, every lab a scenario built is taken down on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$REPO/.venv/bin:$PATH"
SCRATCH="$(mktemp -d)"

# shellcheck disable=SC2317  # reached only through the EXIT trap
labs_down() {
    local state
    # The scenarios keep their labs in molecule's ephemeral directories
    # (~/.ansible/tmp/molecule.<random>.<scenario>/lab); down deletes only
    # what the lab stamped as its own.
    while IFS= read -r -d '' state; do
        python3 "$REPO/tests/lab/xenlab.py" down --workdir "$(dirname "$state")" || true
    done < <(find "$HOME/.ansible/tmp" -maxdepth 3 -path '*/molecule.*/lab/state.json' -print0 2>/dev/null)
    rm -rf "$SCRATCH"
}
trap labs_down EXIT

# Ansible finds the roles as xenfleet.network.<role> only under an
# ansible_collections/<namespace>/<name> tree: this checkout, linked.
mkdir -p "$SCRATCH/ansible_collections/xenfleet"
ln -s "$REPO" "$SCRATCH/ansible_collections/xenfleet/network"
export ANSIBLE_COLLECTIONS_PATH="$SCRATCH"

cd "$REPO"
if (($# == 0)); then
    set -- --all
fi
started="$(date +%s)"
rc=0
molecule test "$@" || rc=$?
echo "molecule test $*: rc=$rc in $(($(date +%s) - started)) s"
exit "$rc"

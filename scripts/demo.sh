#!/usr/bin/env bash
# Set up this machine, then run the demo fleet (demo/run_demo.py): a few
# throw-away dom0s and guests in network namespaces, configured by the
# collection. Arguments are passed on to run_demo.py (try --help).
#
#   bash scripts/demo.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"

bash "$REPO/scripts/setup.sh"

if [[ ! -f $REPO/demo/run_demo.py ]]; then
    echo "demo/run_demo.py is not written yet" >&2
    exit 1
fi

# ansible-playbook and the demo find the collection through the tree that
# setup.sh keeps in the venv (a symlink back to this checkout).
export ANSIBLE_COLLECTIONS_PATH="$VENV/collections"
export PATH="$VENV/bin:$PATH"
exec "$VENV/bin/python" "$REPO/demo/run_demo.py" "$@"

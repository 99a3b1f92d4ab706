#!/usr/bin/env bash
# The main job (README's first command) must keep working: run the demo
# fleet, which converges site.yml in lab namespaces and exits non-zero when
# any of its proofs fails.
set -euo pipefail
collection="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/xenfleet/network"
[[ -f "$collection/demo/run_demo.py" ]] || collection="$(cd ../../../.. && pwd)"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" "$collection/demo/run_demo.py"

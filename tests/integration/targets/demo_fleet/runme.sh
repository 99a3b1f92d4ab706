#!/usr/bin/env bash
# The main job (README's first command) must keep working: run the demo
# fleet, which converges site.yml over SSH on three lab dom0s (one per
# topology) and exits non-zero when any of its proofs fails; then check that
# the report it names at the end holds what it printed, and the diagram.
set -euo pipefail
collection="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/xenfleet/network"
[[ -f "$collection/demo/run_demo.py" ]] || collection="$(cd ../../../.. && pwd)"
python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
output="$(mktemp -d /tmp/xenfleet-demo-fleet-XXXXXX)"
trap 'rm -rf "$output"' EXIT

"$python" "$collection/demo/run_demo.py" --output "$output" | tee "$output/stdout.txt"

grep -q "Report written to $output" "$output/stdout.txt"
grep -q "All namespaces removed" "$output/stdout.txt"
"$python" - "$output" <<'PY'
import json, os, sys
output = sys.argv[1]
report = json.load(open(os.path.join(output, 'report.json')))
assert sorted(dom0['topology'] for dom0 in report['fleet']) == ['brouter', 'multi_bridge', 'routed'], report['fleet']
assert all(cell['expected'] == cell['measured'] for dom0 in report['fleet'] for cell in dom0['reachability'])
assert all(dom0['forged'] and all(not attempt['reply'] for attempt in dom0['forged']) for dom0 in report['fleet'])
runs = dict((run['name'], run) for run in report['runs'])
assert set(runs['site.yml, second run']['changed'].values()) == {0}, runs
svg = os.path.join(output, 'fleet.svg')
assert os.path.exists(svg) and '<svg' in open(svg).read(), 'no diagram (is graphviz installed? scripts/setup.sh)'
print('report.json and fleet.svg hold the demo fleet')
PY

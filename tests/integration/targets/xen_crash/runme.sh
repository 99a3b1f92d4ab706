#!/usr/bin/env bash
# Crash consistency: every writing module is SIGKILLed at 30 random points of its work (XENFLEET_CRASH_KILLS)
# and the next run repairs (crash.py says what is checked; docs/crash.md how to replay a seed). The seed is
# today's date unless XENFLEET_CRASH_SEED is set; a failure prints the seed and the delay that replay it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../setup_xenlab/lab.sh"
# The module server imports the collection from where ansible-test (or the caller) put it.
collections="${ANSIBLE_COLLECTIONS_PATH%%:*}"
if [[ -z $collections ]]; then
    collections="$(cd "$here/../../../.." && pwd)/.venv/collections"
fi
export PYTHONPATH="$collections${PYTHONPATH:+:$PYTHONPATH}"

lab_up "$here/lab.json"
"$LAB_PYTHON" "$here/crash.py" "$LAB_DIR"

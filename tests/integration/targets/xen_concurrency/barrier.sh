#!/usr/bin/env bash
# The start line the concurrent playbooks share (called from a pipe lookup, on the controller):
#   barrier.sh DIR go ROUND          wait until runme.sh has opened ROUND (DIR/go-ROUND exists)
#   barrier.sh DIR done ROUND RACER  tell runme.sh that RACER is through with ROUND
set -euo pipefail
case "$2" in
go)
    for _ in $(seq 6000); do
        [[ -e "$1/go-$3" ]] && exit 0
        sleep 0.01
    done
    echo "round $3 never started" >&2
    exit 1
    ;;
done) : >"$1/done-$3-$4" ;;
*) exit 2 ;;
esac

#!/usr/bin/env bash
# Lost updates. Eight ansible-playbook processes run side by side for ROUNDS rounds; in each round every
# one makes its own change to the same shared state, starting together (barrier.sh), and runme.sh checks
# that all eight changes are there before it opens the next round:
#   xen_vif        each adds a different vif (devid 1..8) to one xl config that holds vif 0: 9 vifs at the end
#   xen_antispoof  each gives a different vif a policy with purge=false, in a lab namespace: 8 policies, in
#                  the kernel and in the boot-time file
# Without locks, two runs read the same old state and the later write drops the earlier change (measured
# before the fix: xen_vif lost a vif in 13 rounds of 20). Then a lock held by another process: xen_vif
# fails after lock_timeout naming the lock and the holder's PID, and the file is byte for byte as before.
# XENFLEET_CONCURRENCY_ROUNDS=N runs fewer rounds while working on it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../setup_xenlab/lab.sh"
rounds="${XENFLEET_CONCURRENCY_ROUNDS:-20}"
racers=(1 2 3 4 5 6 7 8)
# The check scripts import the collection from where ansible-test (or the caller) put it.
export PYTHONPATH="${ANSIBLE_COLLECTIONS_PATH%%:*}${PYTHONPATH:+:$PYTHONPATH}"
work="$(mktemp -d -t xen_concurrency.XXXXXX)"
spawned=()
cleanup() {
    local pid
    for pid in "${spawned[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    lab_down_all
}
trap cleanup EXIT

# race NAME INVENTORY RESET CHECK [ansible-playbook args]: the eight racers, ROUNDS rounds; RESET and
# CHECK are commands (CHECK prints what is missing and fails). Fails when a round lost a change.
race() {
    local name="$1" inventory="$2" reset="$3" check="$4" dir="$work/$1" round racer lost=0 started=$SECONDS report
    shift 4
    mkdir "$dir"
    local -a pids=()
    for racer in "${racers[@]}"; do
        ansible-playbook -i "$inventory" "$here/racer.yml" -e "racer=$racer" -e "rounds=$rounds" \
            -e "barrier='$here/barrier.sh $dir'" "$@" >"$dir/racer-$racer.log" 2>&1 &
        pids+=($!)
        spawned+=($!)
    done
    for round in $(seq 1 "$rounds"); do
        $reset
        : >"$dir/go-$round"
        while (($(find "$dir" -name "done-$round-*" | wc -l) < ${#racers[@]})); do
            for racer in "${racers[@]}"; do
                if ! kill -0 "${pids[$((racer - 1))]}" 2>/dev/null && [[ ! -e $dir/done-$round-$racer ]]; then
                    echo "$name round $round: racer $racer stopped:"
                    tail -n 40 "$dir/racer-$racer.log"
                    return 1
                fi
            done
            sleep 0.05
        done
        if ! report="$($check)"; then
            lost=$((lost + 1))
            echo "$name round $round: LOST UPDATE: $report"
        fi
    done
    for racer in "${racers[@]}"; do
        wait "${pids[$((racer - 1))]}" || { tail -n 40 "$dir/racer-$racer.log"; return 1; }
    done
    echo "$name: $rounds rounds of ${#racers[@]} concurrent playbooks, $lost rounds lost a change ($((SECONDS - started)) s)"
    ((lost == 0))
}

# ---- xen_vif: one xl config, in a directory of its own
mkdir "$work/xen"
printf '[lab]\ndom0 ansible_connection=local ansible_python_interpreter=%s\n' "$LAB_PYTHON" >"$work/inventory.ini"
config="$work/xen/xct-web.cfg"
write_config() {
    printf '%s\n' 'name = "xct-web"' '# vif 0 was there before the concurrent runs' \
        'vif = [ "mac=02:00:0a:00:01:00,bridge=xenbr0,ip=10.0.1.100,vifname=xct-web-0" ]' >"$config"
}
check_config() {
    "$LAB_PYTHON" "$here/missing_vifs.py" "$config" xct-web-0 xct-web-1 xct-web-2 xct-web-3 xct-web-4 xct-web-5 \
        xct-web-6 xct-web-7 xct-web-8
}
race xen_vif "$work/inventory.ini" write_config check_config -e "change=vif_change.yml" -e "xen_dir=$work/xen"

# ---- xen_antispoof: the tables of one lab namespace
lab_up "$here/lab.json"
persist="$LAB_DIR/antispoof.nft"
no_reset() { :; }
check_policies() {
    "$LAB_DIR/dom0-python" "$here/missing_policies.py" "$persist" vif1.0 vif2.0 vif3.0 vif4.0 vif5.0 vif6.0 vif7.0 vif8.0
}
race xen_antispoof "$LAB_DIR/inventory.ini" no_reset check_policies -e "change=antispoof_change.yml" \
    -e "persist_path=$persist" -e "cache_dir=$LAB_DIR/cache"

# ---- not a race, but cheap where a lab exists: corrupt state is a failed result naming the file
lab_playbook "$LAB_DIR" "$here/corrupt_state.yml" "$@"

# ---- a lock held by someone else
write_config
"$LAB_PYTHON" "$here/hold_lock.py" "$work/xen" "$work/held" &
spawned+=($!)
holder=$!
for _ in $(seq 100); do
    [[ -s $work/held ]] && break
    sleep 0.1
done
ansible-playbook -i "$work/inventory.ini" "$here/held_lock.yml" -e "xen_dir=$work/xen" \
    -e "holder_pid=$holder" -e "lock_file=$(cat "$work/held")" "$@"

# shellcheck shell=bash
# Sourced by the boot_* targets, after lab.sh and ../setup_xenfleet_roles/roles.sh:
# converge a lab dom0 with a role, then reboot it from the files the role
# persisted (xenlab.py reboot) and compare what the kernel holds before and
# after (dom0_state.py).

BOOT_HELPERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BOOT_ARGS=()

# boot_files HOST_VARS: BOOT_ARGS from the role's host vars (every path inside the lab's workdir);
# run after the converge, since the NAT configurations are found by name in their directory.
boot_files() {
    local out
    if ! out="$("$LAB_PYTHON" "$BOOT_HELPERS/boot_files.py" "$1" "$LAB_DIR")"; then
        echo "  [FAIL] the host vars place every boot file in the lab's workdir"
        ROLES_FAILED=$((ROLES_FAILED + 1))
        return 1
    fi
    mapfile -t BOOT_ARGS <<<"$out"
    echo "  boot files: ${BOOT_ARGS[*]}"
}

# boot_snapshot NAME: the dom0's state as $LAB_DIR/state-NAME.json
boot_snapshot() {
    "$LAB_PYTHON" "$BOOT_HELPERS/dom0_state.py" snapshot "$(roles_ns dom0)" >"$LAB_DIR/state-$1.json"
}

# boot_same CLAIM BEFORE AFTER [ASPECT...]: a check that two snapshots agree (differences shown)
boot_same() {
    local claim="$1" before="$2" after="$3" out rc=0
    shift 3
    out="$("$LAB_PYTHON" "$BOOT_HELPERS/dom0_state.py" compare "$LAB_DIR/state-$before.json" "$LAB_DIR/state-$after.json" "$@")" || rc=$?
    if ((rc == 0)); then
        echo "  [PASS] $claim"
    else
        echo "  [FAIL] $claim"
        ROLES_FAILED=$((ROLES_FAILED + 1))
    fi
    [[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/    | /'
}

# boot_reboot: power dom0 off and boot a fresh one from BOOT_ARGS' files only; sets BOOT_RC, BOOT_SECONDS
boot_reboot() {
    local started
    started="$(date +%s.%N)"
    BOOT_RC=0
    "$LAB_PYTHON" "$LAB_TOOL" reboot --workdir "$LAB_DIR" "${BOOT_ARGS[@]}" >"$LAB_DIR/boot-report.json" 2>"$LAB_DIR/boot.log" || BOOT_RC=$?
    BOOT_SECONDS="$(echo "$(date +%s.%N) - $started" | bc)"
    printf '%-28s rc=%s %.1f s\n' reboot "$BOOT_RC" "$BOOT_SECONDS"
    "$LAB_PYTHON" - "$LAB_DIR/boot-report.json" <<'PY' || true
import json, sys
report = json.load(open(sys.argv[1]))
for step in report['steps']:
    print('    %s %s' % ('ok  ' if step['ok'] else 'FAIL', step['step']))
    if not step['ok'] or step.get('output') and 'sysctl' not in step['step']:
        for line in (step.get('output') or '').splitlines()[:12]:
            print('         | %s' % line)
PY
    if [[ -s $LAB_DIR/boot.log ]]; then sed 's/^/    ! /' "$LAB_DIR/boot.log"; fi
}

# boot_hotplug: the guests start on the converged dom0 (each vif's hotplug script and vif-post.d hooks, as
# the xl configs and BOOT_ARGS say)
boot_hotplug() {
    local -a args=()
    local index
    for ((index = 0; index < ${#BOOT_ARGS[@]} - 1; index++)); do
        case ${BOOT_ARGS[index]} in
        --xl-dir | --xl-conf | --vif-hooks) args+=("${BOOT_ARGS[index]}" "${BOOT_ARGS[index + 1]}") ;;
        esac
    done
    "$LAB_PYTHON" "$LAB_TOOL" hotplug --workdir "$LAB_DIR" "${args[@]}" >"$LAB_DIR/hotplug.json"
}

# boot_ssh CMD...: CMD on dom0 over its sshd, from upstream
boot_ssh() {
    in_ns upstream ssh -F /dev/null -i "$LAB_DIR/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 root@192.0.2.10 "$@"
}

# boot_ports BRIDGE: its ports, sorted, on one line
boot_ports() {
    in_ns dom0 ip -o link show master "$1" | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | xargs
}

# boot_units_ordered: every unit the boot ran from sysinit.target.wants is ordered before network-pre.target
boot_units_ordered() {
    "$LAB_PYTHON" - "$LAB_DIR/boot-report.json" <<'PY'
import json, sys
units = json.load(open(sys.argv[1])).get('units', [])
bad = [unit['name'] for unit in units if 'network-pre.target' not in unit['before'] or unit['default_dependencies']]
print('units: %s; not Before=network-pre.target with DefaultDependencies=no: %s' % ([u['name'] for u in units], bad))
sys.exit(1 if bad or not units else 0)
PY
}

# boot_ssh_addr IFNAME CIDR: dom0, asked over SSH, shows CIDR on IFNAME
boot_ssh_addr() { boot_ssh ip -br addr show "$1" | grep -q " $2"; }

# forged_mac GUEST MAC PEER ADDRESS: the guest takes a MAC that is not its own and pings ADDRESS (which
# lives in namespace PEER, whose neighbour cache is emptied first so that it must learn the MAC anew);
# succeeds when a reply came back. The guest's own MAC is put back whatever happens.
forged_mac() {
    local own rc=0
    own="$(in_ns "$1" cat /sys/class/net/eth0/address)"
    in_ns "$3" ip neigh flush all
    in_ns "$1" ip neigh flush all
    in_ns "$1" ip link set eth0 address "$2"
    in_ns "$1" ping -c 2 -W 1 -i 0.2 "$4" >/dev/null 2>&1 || rc=$?
    in_ns "$1" ip link set eth0 address "$own"
    in_ns "$3" ip neigh flush all
    return "$rc"
}

# boot_unit_again UNIT: run a unit's Exec lines in dom0 again (as `systemctl restart UNIT` would)
boot_unit_again() {
    "$LAB_PYTHON" - "$LAB_DIR" "$1" "$(roles_ns dom0)" <<'PY'
import os, subprocess, sys
import xenlab
workdir, name, namespace = sys.argv[1:]
units = [unit for unit in xenlab.boot_units(os.path.join(workdir, 'systemd')) if unit['name'] == name]
if not units:
    sys.exit('%s is not enabled in sysinit.target.wants' % name)
for command in units[0]['commands']:
    xenlab.check_boot_command(command['argv'])
    subprocess.run(['ip', 'netns', 'exec', namespace] + command['argv'], check=not command['ignore_failure'])
PY
}

# boot_changes NAME: what play log NAME changed (or would): the changed tasks' names and their diff lines
boot_changes() {
    awk '/^TASK \[/ {task=$0} /^changed:/ {print task} /^[-+]/ && !/^(---|\+\+\+) / {print task " " $0}' "$LAB_DIR/$1.log" | sort -u
}

# boot_control_check PLAYBOOK BASELINE WHAT: check mode is not blind after a boot. The target's
# control_break spoils WHAT; check mode must then plan a change that play BASELINE (the check run
# before) did not: another task, or another line in a task's diff. control_repair puts WHAT back.
boot_control_check() {
    local new line
    control_break
    roles_play check_control "$1" --check --diff
    new="$(comm -13 <(boot_changes "$2") <(boot_changes check_control))"
    check "control: with $3 spoilt, check mode plans a change it did not plan before" test -n "$new"
    while IFS= read -r line; do [[ -z $line ]] || echo "    | $line"; done <<<"$new"
    control_repair
}

# boot_changed NAME: the tasks of play log NAME that changed (or would), with their diff, and the plan a
# module reported (a play run with -v prints each result)
boot_changed() {
    "$LAB_PYTHON" - "$LAB_DIR/$1.log" <<'PY'
import json, re, sys
task, printed, shown = None, None, 0
for line in open(sys.argv[1], encoding='utf-8', errors='replace'):
    line = line.rstrip('\n')
    if line.startswith('TASK ['):
        task = line.rstrip(' *')
        continue
    changed = line.startswith('changed: [')
    if not changed and not (re.match(r'[-+@]', line) and not re.match(r'(---|\+\+\+) ', line)):
        continue
    shown += 1
    if shown > 60:
        continue
    if task != printed:
        print('    | %s' % task)
        printed = task
    if changed and ' => {' in line:
        try:
            result = json.loads(line.split(' => ', 1)[1])
        except ValueError:
            result = {}
        print('    |   changed; plan: %s' % json.dumps(result.get('plan', result.get('changes'))))
    else:
        print('    |   %s' % (line if not changed else 'changed'))
PY
}

# boot_verify_units: systemd's own reading of every unit the role wrote (systemd-analyze verify works
# offline: it loads the files, resolves specifiers, checks the programs exist)
boot_verify_units() {
    local out line rc=0
    local -a units=("$LAB_DIR"/systemd/*.service)
    out="$(systemd-analyze verify "${units[@]}" 2>&1)" || rc=$?
    check "systemd-analyze verify accepts the units the role wrote (${units[*]##*/})" test "$rc" -eq 0
    while IFS= read -r line; do [[ -z $line ]] || echo "    | $line"; done <<<"$out"
}

# boot_role_after_reboot PLAYBOOK CONTROL_LABEL SNAPSHOT_PARTS...: the role on the booted dom0 finds nothing
# to change in check mode (with the control of boot_control_check), a real run changes nothing, and the kernel
# then holds what the boot made (the snapshot parts compared).
boot_role_after_reboot() {
    local playbook="$1" control="$2"
    shift 2
    roles_play check_booted "$playbook" --check --diff -v
    [[ $PLAY_RC -eq 0 ]] || roles_show_log check_booted
    check "the role in check mode finds nothing to change" test "$PLAY_RC" -eq 0 -a "$PLAY_CHANGED" = 0
    boot_changed check_booted
    boot_control_check "$playbook" check_booted "$control"
    roles_play rerun_booted "$playbook" -v
    [[ $PLAY_RC -eq 0 ]] || roles_show_log rerun_booted
    check "a real run changes nothing" test "$PLAY_RC" -eq 0 -a "$PLAY_CHANGED" = 0
    boot_changed rerun_booted
    boot_snapshot rerun
    boot_same "and the kernel holds what the boot made" booted rerun "$@"
}

# boot_converge_and_start PLAYBOOK HOST_VARS: the role converges the lab dom0 (CONVERGE_SECONDS), the boot
# files are read from its host vars, the guests start (their hotplug scripts), and a rerun with them running
# changes nothing; then the units the role wrote pass systemd's own reading and the antispoof unit is enabled.
boot_converge_and_start() {
    local playbook="$1" host_vars="$2"
    roles_play converge "$playbook"
    [[ $PLAY_RC -eq 0 ]] || { roles_show_log converge; exit 1; }
    # shellcheck disable=SC2034 # read by the targets' timings line
    CONVERGE_SECONDS="$PLAY_SECONDS"
    boot_files "$host_vars" || roles_finish
    boot_hotplug
    roles_play rerun "$playbook"
    [[ $PLAY_RC -eq 0 ]] || roles_show_log rerun
    check "a rerun with the guests running changes nothing" test "$PLAY_CHANGED" = 0
    boot_changed rerun
    check "the anti-spoofing unit is enabled in sysinit.target.wants" test -L "$LAB_DIR/systemd/sysinit.target.wants/xenfleet-antispoof.service"
    boot_verify_units
}

# boot_power_cycle: snapshot, reboot from the files alone, every boot step succeeded in order, snapshot again
boot_power_cycle() {
    boot_snapshot before
    echo "== reboot from the files alone"
    boot_reboot
    check "every boot step succeeded" test "$BOOT_RC" -eq 0
    check "the boot units are ordered before network-pre.target (DefaultDependencies=no)" boot_units_ordered
    boot_snapshot booted
}

#!/usr/bin/env bash
# Run the whole test suite of xenfleet.network, or some of its stages, and
# end with a summary.
#
#   bash scripts/test.sh                      # setup, then every stage
#   bash scripts/test.sh unit lint            # only these stages
#
# Stages, in order:
#   unit         pytest on tests/unit and tests/lab (the namespace lab)
#   sanity       ansible-test sanity, offline, no containers
#   lint         ansible-lint --profile production
#   docs         antsibull-docs lint-collection-docs --plugin-docs, as the
#                community collections' CI lints their docs
#   integration  ansible-test integration on this host (needs root)
#   molecule     molecule test --all (tests/molecule.sh): one scenario per
#                role on a namespace lab dom0 reached over SSH (needs root)
#   distro       the module code under Debian 12's own python3 and its
#                python3-pyroute2 (0.7.2) and python3-netaddr (0.8.0): the
#                module_utils unit tests, then one integration target per
#                module family (DISTRO_TARGETS), as a fresh Debian dom0 runs them
#   realxen      the real-Xen lane (scripts/realxen.sh): site.yml against a
#                Xen dom0 under QEMU, proved with real PV guests, each of its
#                three dom0s rebooted (24-32 min, about 2 more the first
#                time, which builds its image). It
#                starts in the background right after setup, since it keeps
#                about one core busy on emulation, and the other stages run
#                meanwhile; its output goes to tests/output/realxen/<date-time>/
#                stage.log, and the end of the run waits for it and prints its
#                pass/fail lines. Skipped (saying why) with under 4 GB of free
#                memory. An interrupted test.sh stops it (its process group).
#
# TARGETS="xen_vif xen_nat" limits the integration stage to those targets
# (and the setup targets they declare), for work on one module.
#
# Every stage runs even when an earlier one failed, so one run shows all
# that is wrong. The exit status is non-zero if any stage failed, and the
# last line printed is "N passed, N failed, N skipped", counting stages.
#
# ansible-test only works on a checkout that sits at
# .../ansible_collections/xenfleet/network/, so sanity, lint and integration
# run on a copy of this checkout in a temporary tree; their reports under
# tests/output/ are copied back here (git ignores that folder).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
ALL_STAGES=(unit sanity lint docs integration molecule distro realxen)
SKIPPED=99 # a stage function returns this when it has nothing to test

# ansible-test sanity tests left out, with the reason. None today: every
# default test applies to a Python/YAML/shell collection, and the ones that
# need tools this machine may lack skip themselves (pslint without pwsh and
# with no PowerShell files; shellcheck is installed by setup.sh).
SANITY_SKIP=()

declare -A STATUS=() ELAPSED=()
WORK=""       # temporary tree holding the copy of the checkout
COLLECTION="" # $WORK/ansible_collections/xenfleet/network
REALXEN_PID=""   # the background real-Xen lane, leader of its own process group
REALXEN_LOG=""   # its output
REALXEN_START=0

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit "${1:-0}"
}

banner() { printf '\n======== %s\n' "$*"; }

# --------------------------------------------------------------- the copy

# Copy what the next commit would hold: tracked files plus untracked ones
# git does not ignore, so work in progress is tested before it is committed,
# while .venv, caches and old test output stay behind.
copy_checkout() {
    local dest="$1"
    mkdir -p "$dest"
    if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$REPO" ls-files -z --cached --others --exclude-standard |
            rsync -a --from0 --files-from=- --ignore-missing-args "$REPO/" "$dest/"
    else
        rsync -a --exclude=/.git --exclude=/.venv --exclude=/tests/output "$REPO/" "$dest/"
    fi
}

make_collection_tree() {
    WORK="$(mktemp -d -t xenfleet-test.XXXXXX)"
    COLLECTION="$WORK/ansible_collections/xenfleet/network"
    copy_checkout "$COLLECTION"
    echo "collection copy for ansible-test and ansible-lint: $COLLECTION"
}

cleanup() {
    stop_realxen
    if [[ -n $WORK ]]; then
        # keep ansible-test's reports (junit, results) for whoever reads them next
        if [[ -d $COLLECTION/tests/output ]]; then
            mkdir -p "$REPO/tests/output"
            rsync -a "$COLLECTION/tests/output/" "$REPO/tests/output/" || true
        fi
        rm -rf "$WORK"
    fi
}

# ------------------------------------------------------------------ stages

stage_unit() {
    cd "$REPO"
    local -a paths=()
    local dir
    for dir in tests/unit tests/lab; do
        [[ -d $dir ]] && paths+=("$dir")
    done
    if ((${#paths[@]} == 0)); then
        echo "no tests/unit or tests/lab yet: nothing to run"
        return $SKIPPED
    fi
    # pytest.ini puts .venv/collections on sys.path, so tests import the
    # code as ansible_collections.xenfleet.network.plugins... (setup.sh)
    local rc=0
    python -m pytest -ra "${paths[@]}" || rc=$?
    if ((rc == 5)); then # pytest: no tests were collected
        echo "pytest collected no tests in ${paths[*]}"
        return $SKIPPED
    fi
    return $rc
}

# Interpreters besides the venv's that ansible-test can use for the
# multi-version sanity tests (compile, import): module code runs on the
# dom0's own Python, which is not always the controller's 3.11. Only real
# interpreters are listed, never pyenv shims, which fail for inactive versions.
extra_python_path() {
    local root dir
    root="$(pyenv root 2>/dev/null)" || return 0
    for dir in "$root"/versions/3.*/bin; do
        [[ -x $dir/python3 ]] && printf '%s:' "$dir"
    done
}

stage_sanity() {
    cd "$COLLECTION"
    local -a skip=()
    local test
    for test in "${SANITY_SKIP[@]}"; do
        skip+=(--skip-test "$test")
    done
    # No --venv, --docker or --requirements: ansible-test runs from this venv
    # (the "origin" controller, where ansible-core itself is installed) and
    # builds a small venv per sanity test under ~/.ansible/test/venv, whose
    # pip bootstrap setup.sh seeded so nothing is fetched from beyond PyPI.
    # Single-version tests run on the venv's Python; compile and import run
    # on every Python that tests/config.yml allows and PATH offers.
    PATH="$VENV/bin:$(extra_python_path)$PATH" \
        ansible-test sanity --color no "${skip[@]}"
}

stage_lint() {
    cd "$COLLECTION"
    # The copy already sits in an ansible_collections tree: point Ansible at
    # it so playbooks and targets that call xenfleet.network.* resolve
    # (offline mode keeps ansible-lint from installing the collection itself).
    ANSIBLE_COLLECTIONS_PATH="$WORK" ansible-lint --profile production
}

stage_docs() {
    cd "$COLLECTION"
    # antsibull-docs loads every plugin's docs through ansible-doc (from PATH, the venv's) and checks
    # the markup and every reference to an option, return value or plugin.
    antsibull-docs lint-collection-docs --plugin-docs .
}

stage_integration() {
    cd "$COLLECTION"
    local -a targets=()
    [[ -d tests/integration/targets ]] && mapfile -t targets < <(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d)
    if ((${#targets[@]} == 0)); then
        echo "no integration targets under tests/integration/targets yet: nothing to run"
        return $SKIPPED
    fi
    # Labs left behind by a crashed run (their owner process is gone) would
    # only take memory; sweep removes those and nothing else.
    "$VENV/bin/python" tests/lab/xenlab.py sweep || true
    # --local with the venv's interpreter: targets run on this host (root,
    # real kernel, namespaces) with pyroute2 and netaddr importable; targets
    # carry the aliases needs/root and destructive, hence the two --allow.
    # --continue-on-error: report every failing target, not just the first.
    local -a chosen=()
    read -r -a chosen <<<"${TARGETS:-}"
    local before rc=0
    before="$(host_boot_files)"
    ansible-test integration --color no --local --python-interpreter "$VENV/bin/python" \
        --allow-root --allow-destructive --continue-on-error "${chosen[@]}" || rc=$?
    # The labs' dom0s share this machine's file system: every boot file a role or module writes must go to a
    # lab's work dir. One left in this machine's /etc is a test that forgot to point it there.
    local added
    added="$(comm -13 <(echo "$before") <(host_boot_files))"
    if [[ -n $added ]]; then
        echo "integration: boot files appeared in this machine's /etc (a target did not point them at its lab):"
        echo "$added"
        rc=1
    fi
    return $rc
}

# The boot files the collection writes by default, as they are on this machine now (path and mtime).
host_boot_files() {
    find /etc/network/interfaces.d /etc/network/interfaces /etc/systemd/system /etc/sysctl.d /etc/nftables.d \
        /etc/iptables /etc/xenfleet /etc/xen/scripts/vif-post.d -maxdepth 2 \
        \( -name 'xenfleet*' -o -name '60-xenfleet*' -o -path '/etc/network/interfaces.d/*' -o -name 'interfaces' \) \
        -printf '%p %T@\n' 2>/dev/null | sort || true
}

stage_molecule() {
    bash "$REPO/tests/molecule.sh"
}

# What a Debian 12 dom0 runs modules with: its own python3 and the distribution's packages (setup.sh
# installs python3-pyroute2 python3-netaddr python3-pytest python3-hypothesis), never the venv's pins.
DISTRO_PYTHON="${DISTRO_PYTHON:-/usr/bin/python3}"
read -r -a DISTRO_TARGETS <<<"${DISTRO_TARGETS:-xen_bridge xen_vif xen_nat xen_antispoof xen_route}"

stage_distro() {
    cd "$COLLECTION"
    local shim="$WORK/distro-python" rc=0 target
    "$DISTRO_PYTHON" - "$VENV" <<'PY' || return 1
import sys
from importlib.metadata import version
import netaddr, pyroute2
for module in (pyroute2, netaddr):
    if module.__file__.startswith(sys.argv[1]):
        sys.exit('%s comes from the venv (%s), not from the distribution' % (module.__name__, module.__file__))
print('%s %s: pyroute2 %s, netaddr %s (%s)' % (sys.executable, sys.version.split()[0], version('pyroute2'),
                                                version('netaddr'), pyroute2.__file__.rsplit('/', 2)[0]))
PY
    # On a dom0, Ansible ships ansible.module_utils inside every module; the unit tests take it from the
    # venv's ansible, and nothing else from the venv. The antispoof packet matrix (test tooling that runs
    # under the lab's interpreter) takes scapy from it.
    mkdir -p "$shim/lib" "$shim/scapy"
    ln -sfn "$("$VENV/bin/python" -c 'import ansible, os; print(os.path.dirname(ansible.__file__))')" "$shim/lib/ansible"
    ln -sfn "$("$VENV/bin/python" -c 'import scapy, os; print(os.path.dirname(scapy.__file__))')" "$shim/scapy/scapy"

    echo "-- module_utils unit tests under $DISTRO_PYTHON"
    # test_deps' all-present case asks for jmespath too, a controller library (fleet_conflicts) no dom0 needs.
    PYTHONPATH="$WORK:$shim/lib" "$DISTRO_PYTHON" -m pytest -p no:cacheprovider -o pythonpath= -q -ra \
        tests/unit/plugins/module_utils \
        --deselect tests/unit/plugins/module_utils/test_deps.py::test_require_passes_when_every_library_is_there || rc=1

    "$VENV/bin/python" tests/lab/xenlab.py sweep || true
    for target in "${DISTRO_TARGETS[@]}"; do
        echo "-- integration target $target, modules under $DISTRO_PYTHON"
        distro_target "$target" "$shim" || {
            echo "---- distro: $target failed"
            rc=1
        }
    done
    return $rc
}

# One integration target with the dom0's modules run by DISTRO_PYTHON, outside ansible-test (which
# would run them with the venv's). The lab (setup_xenlab/lab.sh) makes the interpreter of its dom0 from
# ANSIBLE_TEST_PYTHON_INTERPRETER; a target without runme.sh is a role, run as ansible-test runs one.
distro_target() {
    local target="$1" shim="$2" dir="$COLLECTION/tests/integration/targets/$1" scratch
    scratch="$(mktemp -d "$WORK/distro-$target.XXXXXX")"
    if [[ -f $dir/runme.sh ]]; then
        (cd "$dir" && ANSIBLE_TEST_PYTHON_INTERPRETER="$DISTRO_PYTHON" ANSIBLE_COLLECTIONS_PATH="$WORK" \
            PYTHONPATH="$shim/scapy" bash runme.sh)
    else
        printf 'testhost ansible_connection=local ansible_python_interpreter=%s\n' "$DISTRO_PYTHON" >"$scratch/inventory"
        printf -- '- name: %s\n  hosts: testhost\n  gather_facts: false\n  roles: [%s]\n' "$target" "$target" >"$scratch/play.yml"
        ANSIBLE_ROLES_PATH="$COLLECTION/tests/integration/targets" ANSIBLE_COLLECTIONS_PATH="$WORK" \
            ansible-playbook -i "$scratch/inventory" "$scratch/play.yml" -e "output_dir=$scratch/output"
    fi
}

# The real-Xen lane in the background, in a process group of its own (setsid), so an interrupted test.sh can
# end all of it (driver, QEMU, SSH) by that one id; realxen.sh's own exit trap then stops QEMU by its recorded PID.
start_realxen() {
    local run_dir
    run_dir="$REPO/tests/output/realxen/$(date +%Y%m%d-%H%M%S)"
    mkdir -p "$run_dir"
    REALXEN_LOG="$run_dir/stage.log"
    banner "stage: realxen, in the background (output: $REALXEN_LOG)"
    REALXEN_START=$SECONDS
    XENFLEET_REALXEN_RUN_DIR="$run_dir" setsid bash "$REPO/scripts/realxen.sh" </dev/null >"$REALXEN_LOG" 2>&1 &
    REALXEN_PID=$!
}

stop_realxen() {
    [[ -n $REALXEN_PID ]] || return 0
    if kill -0 "$REALXEN_PID" 2>/dev/null; then
        echo "stopping the background real-Xen lane (process group $REALXEN_PID)" >&2
        kill -TERM -- "-$REALXEN_PID" 2>/dev/null || true
        wait "$REALXEN_PID" 2>/dev/null || true
    fi
    REALXEN_PID=""
}

# Wait for the lane, show its proofs and counts, and record its status as run_stage does for the others.
finish_realxen() {
    local rc=0
    banner "stage: realxen (waiting for the background lane, pid $REALXEN_PID)"
    wait "$REALXEN_PID" || rc=$?
    REALXEN_PID=""
    ELAPSED[realxen]=$((SECONDS - REALXEN_START))
    grep -E '^ *\[(PASS|FAIL|NOTE)\]|^\[realxen( image)?\]|timings:|^Lane total|^[0-9]+ passed, [0-9]+ failed' "$REALXEN_LOG" ||
        tail -n 40 "$REALXEN_LOG"
    case $rc in
    0) STATUS[realxen]=passed ;;
    77) STATUS[realxen]=skipped ;; # too little free memory for the emulated machine
    *) STATUS[realxen]="failed (exit $rc)" ;;
    esac
    echo "---- realxen: ${STATUS[realxen]} in ${ELAPSED[realxen]}s (full output: $REALXEN_LOG)"
}

# One stage in a subshell with errexit on: a failing command ends the stage
# (not the script), and the stage's working directory stays its own.
run_stage() {
    local stage="$1" start=$SECONDS rc=0
    banner "stage: $stage"
    set +e
    (
        set -e
        "stage_$stage"
    )
    rc=$?
    set -e
    ELAPSED[$stage]=$((SECONDS - start))
    case $rc in
    0) STATUS[$stage]=passed ;;
    "$SKIPPED") STATUS[$stage]=skipped ;;
    *) STATUS[$stage]="failed (exit $rc)" ;;
    esac
    echo "---- $stage: ${STATUS[$stage]} in ${ELAPSED[$stage]}s"
}

main() {
    local total_start=$SECONDS stage
    local -a stages=()
    for stage in "$@"; do
        case $stage in
        -h | --help) usage 0 ;;
        unit | sanity | lint | docs | integration | molecule | distro | realxen) stages+=("$stage") ;;
        *)
            echo "unknown stage: $stage" >&2
            usage 2 >&2
            ;;
        esac
    done
    ((${#stages[@]})) || stages=("${ALL_STAGES[@]}")

    banner "setup"
    local setup_start=$SECONDS
    bash "$REPO/scripts/setup.sh"
    local setup_time=$((SECONDS - setup_start))
    # Everything below uses the venv's python, ansible-test and ansible-lint.
    export PATH="$VENV/bin:$PATH"
    export VIRTUAL_ENV="$VENV"
    # CI has no terminal; keep tools from asking for one or painting colours.
    export ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0

    trap cleanup EXIT
    # exit (not die) on a signal, so the EXIT trap stops the background lane
    trap 'exit 130' INT
    trap 'exit 143' TERM
    case " ${stages[*]} " in
    *" sanity "* | *" lint "* | *" docs "* | *" integration "* | *" distro "*)
        make_collection_tree
        ;;
    esac

    case " ${stages[*]} " in
    *" realxen "*) start_realxen ;;
    esac
    for stage in "${stages[@]}"; do
        [[ $stage == realxen ]] || run_stage "$stage"
    done
    [[ -z $REALXEN_PID ]] || finish_realxen

    local passed=0 failed=0 skipped=0
    banner "summary"
    printf '  %-12s %4ss  %s\n' setup "$setup_time" "done"
    for stage in "${stages[@]}"; do
        printf '  %-12s %4ss  %s\n' "$stage" "${ELAPSED[$stage]}" "${STATUS[$stage]}"
        case ${STATUS[$stage]} in
        passed) passed=$((passed + 1)) ;;
        skipped) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
        esac
    done
    echo "total wall time: $((SECONDS - total_start))s"
    echo "The line below counts stages (${stages[*]}), not single tests:"
    echo "$passed passed, $failed failed, $skipped skipped"
    ((failed == 0))
}

main "$@"

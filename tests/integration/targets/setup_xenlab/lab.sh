# shellcheck shell=bash
# Sourced by runme.sh of targets that need a throw-away lab dom0 (tests/lab).
# lab_up SPEC builds a lab and arranges its teardown when the script exits,
# whatever the outcome; lab_playbook runs ansible-playbook against it.

LAB_PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
# Under ansible-test the target runs from a scratch copy; the collection (and
# its lab library) is where ANSIBLE_COLLECTIONS_PATH points. Run by hand from
# a checkout, the lab sits three levels up.
LAB_TOOL="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/xenfleet/network/tests/lab/xenlab.py"
if [[ -z "${ANSIBLE_COLLECTIONS_PATH:-}" || ! -f "$LAB_TOOL" ]]; then
    LAB_TOOL="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../lab" && pwd)/xenlab.py"
fi
# Python helpers of the targets (packet matrices...) import the lab as `xenlab`.
export PYTHONPATH="${LAB_TOOL%/*}${PYTHONPATH:+:$PYTHONPATH}"
LAB_DIRS=()

lab_down_all() {
    local dir
    for dir in "${LAB_DIRS[@]}"; do
        "$LAB_PYTHON" "$LAB_TOOL" down --workdir "$dir" || true
    done
}
trap lab_down_all EXIT

# lab_up SPEC_JSON -> sets LAB_DIR to the new lab's work directory
lab_up() {
    LAB_DIR="$("$LAB_PYTHON" "$LAB_TOOL" up --spec "$1" --python "$LAB_PYTHON")"
    LAB_DIRS+=("$LAB_DIR")
}

# lab_playbook WORKDIR PLAYBOOK [ansible-playbook args...]
lab_playbook() {
    local dir="$1" playbook="$2"
    shift 2
    ansible-playbook -i "$dir/inventory.ini" "$playbook" \
        -e "lab_tool=$LAB_TOOL" -e "lab_workdir=$dir" -e "lab_python=$LAB_PYTHON" "$@"
}

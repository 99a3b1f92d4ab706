# shellcheck shell=bash
# Sourced by runme.sh of the role_* targets, after ../setup_xenlab/lab.sh:
# the controller sits in the lab's upstream namespace and reaches the lab
# dom0 over its real sshd (dom0_ssh), as a fleet's controller would; the
# proofs are real packets between the lab's namespaces.

ROLES_FAILED=0

# roles_ns ROLE -> the lab namespace of a role (dom0, upstream, internet, a guest)
roles_ns() { "$LAB_PYTHON" "$LAB_TOOL" ns --workdir "$LAB_DIR" "$1"; }

# in_ns ROLE CMD... runs CMD in that namespace
in_ns() {
    local namespace
    namespace="$(roles_ns "$1")"
    shift
    ip netns exec "$namespace" "$@"
}

# roles_prepare: the lab's guests as xl configs without vif entries, an
# xl.conf of the administrator's, and the group xen_dom0 for site.yml.
roles_prepare() {
    local guest
    mkdir -p "$LAB_DIR/xen"
    for guest in "$@"; do
        printf '# %s, written by the administrator\nname = "%s"\ntype = "pvh"\nmemory = 512\n' "$guest" "$guest" \
            >"$LAB_DIR/xen/$guest.cfg"
    done
    printf '# xl.conf of this dom0\nautoballoon="off"\n' >"$LAB_DIR/xen/xl.conf"
    printf '[xen_dom0:children]\nlab_ssh\n' >"$LAB_DIR/fleet.ini"
}

# roles_play NAME PLAYBOOK [ansible-playbook args...]: runs from upstream over
# SSH, keeps the output in $LAB_DIR/NAME.log, sets PLAY_RC, PLAY_CHANGED
# (changed= of the dom0 in the recap) and PLAY_SECONDS. Deprecation warnings
# are on (ansible-test turns them off), since one of them is a proof.
roles_play() {
    local name="$1" playbook="$2" started
    shift 2
    started="$(date +%s.%N)"
    PLAY_RC=0
    "$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$LAB_DIR" upstream -- env ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=true \
        ansible-playbook -i "$LAB_DIR/inventory.ini" -i "$LAB_DIR/fleet.ini" "$playbook" "$@" >"$LAB_DIR/$name.log" 2>&1 ||
        PLAY_RC=$?
    PLAY_SECONDS="$(echo "$(date +%s.%N) - $started" | bc)"
    PLAY_CHANGED="$(sed -n 's/^dom0_ssh *: .*changed=\([0-9]*\).*/\1/p' "$LAB_DIR/$name.log")"
    printf '%-28s rc=%s changed=%s %.1f s\n' "$name" "$PLAY_RC" "${PLAY_CHANGED:-?}" "$PLAY_SECONDS"
}

roles_show_log() { sed 's/^/    | /' "$LAB_DIR/$1.log"; }

# check CLAIM CMD...: CMD must succeed
check() {
    local claim="$1"
    shift
    if "$@" >/dev/null 2>&1; then
        echo "  [PASS] $claim"
    else
        echo "  [FAIL] $claim"
        ROLES_FAILED=$((ROLES_FAILED + 1))
    fi
}

# check_not CLAIM CMD...: CMD must fail
check_not() {
    local claim="$1"
    shift
    if "$@" >/dev/null 2>&1; then
        echo "  [FAIL] $claim"
        ROLES_FAILED=$((ROLES_FAILED + 1))
    else
        echo "  [PASS] $claim"
    fi
}

# pings FROM ADDRESS: two pings, one second each at most
pings() { in_ns "$1" ping -c 2 -W 1 -i 0.2 "$2"; }

# pings_from FROM SOURCE ADDRESS: the same with a chosen source address
pings_from() { in_ns "$1" ping -c 2 -W 1 -i 0.2 -I "$2" "$3"; }

# forged_ping GUEST FORGED TARGET: the guest takes an address that is not its
# own and pings TARGET from it; succeeds when a reply came back.
forged_ping() {
    local rc=0
    in_ns "$1" ip addr add "$2/32" dev eth0
    in_ns "$1" ping -c 2 -W 1 -i 0.2 -I "$2" "$3" >/dev/null 2>&1 || rc=$?
    in_ns "$1" ip addr del "$2/32" dev eth0
    return "$rc"
}

# antispoof_dropped VIF: packets the anti-spoofing dropped from VIF so far
antispoof_dropped() {
    in_ns dom0 nft -j list ruleset | "$LAB_PYTHON" "$(dirname "${BASH_SOURCE[0]}")/dropped.py" "$1"
}

roles_finish() {
    if ((ROLES_FAILED > 0)); then
        echo "$ROLES_FAILED proof(s) failed"
        exit 1
    fi
    echo "every proof passed"
}

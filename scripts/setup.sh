#!/usr/bin/env bash
# Prepare this machine to develop, test and demo xenfleet.network.
#
#   bash scripts/setup.sh
#
# Idempotent and quick when nothing changed: a second run installs nothing.
# Run as root on Debian 12 (what CI does): it installs the OS tools the
# namespace lab and the integration tests drive, then builds <repo>/.venv from
# the pinned requirements. Everything it does is also safe to run by hand.
#
# Environment:
#   PYTHON   interpreter to build .venv from (default: python3, >= 3.11)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv" # pytest.ini and scripts/test.sh expect it here
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.xenfleet-requirements.sha256"

# What the lab and the integration targets run on a dom0 (or in a namespace
# standing in for one), and what the harness itself uses.
APT_PACKAGES=(
    iproute2 bridge-utils ifupdown  # links, bridges, /etc/network/interfaces
    nftables iptables               # both firewall backends
    dnsmasq isc-dhcp-client         # DHCP for private guest networks
    openssh-server openssh-client   # the "do not cut my SSH session" tests
    tcpdump iputils-ping iperf3     # watching and measuring test traffic
    procps                          # sysctl, ps, pkill in test cleanup
    netbase                         # /etc/ethertypes, which ebtables names ethertypes by
    git rsync                       # scripts/test.sh copies the checkout
    shellcheck                      # ansible-test sanity's shellcheck test
    graphviz                        # dot lays out the demo's fleet diagram (SVG)
    ca-certificates                 # pip talks to the package index over TLS
    # test.sh distro: the module code under Debian's own python3 and the library versions it ships
    python3-pyroute2 python3-netaddr python3-pytest python3-hypothesis
)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- OS packages

missing_apt_packages() {
    local pkg
    for pkg in "$@"; do
        # dpkg-query is exact and fast; apt-get would want the lists updated
        if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]]; then
            printf '%s\n' "$pkg"
        fi
    done
}

# Debian's own python3 can only make a venv (and run ensurepip, which the
# ansible-test bootstrap in scripts/ansible_test_get_pip.py relies on) with
# the pythonX.Y-venv package; a pyenv or source-built Python has both built in.
python_venv_package() {
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        "$PYTHON" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])'
    fi
}

install_os_packages() {
    if ! command -v dpkg-query >/dev/null; then
        log "not a Debian system: install these yourself if missing: ${APT_PACKAGES[*]}"
        return 0
    fi

    local -a wanted=("${APT_PACKAGES[@]}") missing
    local venv_pkg
    venv_pkg="$(python_venv_package)"
    [[ -z $venv_pkg ]] || wanted+=("$venv_pkg")
    mapfile -t missing < <(missing_apt_packages "${wanted[@]}")
    if ((${#missing[@]} == 0)); then
        log "OS packages: all present"
        return 0
    fi
    [[ $EUID -eq 0 ]] || die "missing OS packages (${missing[*]}); rerun as root"

    log "OS packages: installing ${missing[*]}"
    # Keep the daemons we install (sshd, dnsmasq) from starting in the root
    # namespace: the lab starts its own copies inside throw-away namespaces,
    # and a system dnsmasq would only hold ports and confuse test output.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        added_policy=1
    fi
    # apt's progress output is long and says nothing useful when all goes
    # well: keep it in a log and show it only when something fails.
    local rc=0 aptlog
    aptlog="$(mktemp)"
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
                "${missing[@]}"
    } </dev/null >"$aptlog" 2>&1 || rc=$?
    [[ -z $added_policy ]] || rm -f "$policy"
    if ((rc != 0)); then
        cat "$aptlog" >&2
        rm -f "$aptlog"
        die "apt-get failed (exit $rc)"
    fi
    rm -f "$aptlog"
}

# ---------------------------------------------------------------- Python venv

# Everything that decides what pip must install: the requirement files and
# the interpreter the venv was built from.
requirements_hash() {
    {
        cat "$REPO/requirements.txt" "$REPO/requirements-dev.txt" "$REPO/requirements-constraints.txt"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    # A venv whose interpreter vanished (pyenv version removed, repo moved
    # between machines) cannot be repaired in place: start over.
    if [[ -d $VENV ]] && ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        log "venv at $VENV is broken: recreating"
        rm -rf "$VENV"
    fi
    if [[ ! -d $VENV ]]; then
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' ||
            die "$PYTHON is $("$PYTHON" -V 2>&1); ansible-core 2.19 needs Python >= 3.11"
        log "creating venv $VENV from $(command -v "$PYTHON") ($("$PYTHON" -V 2>&1))"
        "$PYTHON" -m venv "$VENV"
    fi

    local want have=""
    want="$(requirements_hash)"
    [[ -f $STAMP ]] && have="$(<"$STAMP")"
    if [[ $want == "$have" ]]; then
        log "Python requirements: up to date (stamp $STAMP)"
        return 0
    fi

    log "Python requirements: installing (requirements changed or new venv)"
    # No pip upgrade: the pip that ships with the interpreter installs all of
    # this, and one less moving part keeps setup reproducible.
    # -qq: errors only; this machine's pip config names extra package
    # locations that do not exist, and pip warns about each one per package.
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check \
        -r "$REPO/requirements-dev.txt" -c "$REPO/requirements-constraints.txt"
    # Written only after a successful install, so a failed one is retried.
    printf '%s\n' "$want" >"$STAMP"
}

# -------------------------------------------------- collection import path

# Python code (unit tests, the demo) imports the collection the way Ansible
# does: ansible_collections.xenfleet.network.plugins... That needs a
# directory tree ending in ansible_collections/xenfleet/network; we keep one
# inside the venv with a symlink back to this checkout, and pytest.ini puts
# it on sys.path. ANSIBLE_COLLECTIONS_PATH=$VENV/collections makes
# ansible-playbook find the collection the same way.
link_collection() {
    local parent="$VENV/collections/ansible_collections/xenfleet"
    mkdir -p "$parent"
    if [[ "$(readlink "$parent/network" 2>/dev/null)" != "$REPO" ]]; then
        ln -sfn "$REPO" "$parent/network"
        log "linked $parent/network -> $REPO"
    fi
}

# ------------------------------------------------ ansible-test offline pip

# ansible-test sanity builds one venv per test and bootstraps pip in it with a
# get-pip.py downloaded from a host we cannot reach; it uses a cached copy if
# there is one. Put our stand-in there (see scripts/ansible_test_get_pip.py).
# A genuine get-pip.py already in the cache is left alone.
seed_ansible_test_pip() {
    local version cache
    version="$("$VENV/bin/python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3"))["pip"])')"
    cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
    if [[ -f $cache ]] && ! cmp -s "$REPO/scripts/ansible_test_get_pip.py" "$cache" &&
        ! grep -q '^# xenfleet.network: offline stand-in' "$cache"; then
        log "ansible-test: using the existing $cache"
        return 0
    fi
    if ! cmp -s "$REPO/scripts/ansible_test_get_pip.py" "$cache" 2>/dev/null; then
        mkdir -p "$(dirname "$cache")"
        cp "$REPO/scripts/ansible_test_get_pip.py" "$cache"
        log "ansible-test: pip $version bootstrap seeded at $cache"
    fi
}

main() {
    local start=$SECONDS
    install_os_packages
    ensure_venv
    link_collection
    seed_ansible_test_pip
    log "ready in $((SECONDS - start))s: $VENV ($("$VENV/bin/python" -c \
        'import sys, ansible.release as r; print("Python %d.%d.%d" % sys.version_info[:3], "ansible-core", r.__version__)'))"
}

main "$@"

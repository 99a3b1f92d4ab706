#!/usr/bin/env bash
# The real-Xen lane: boot a real Xen 4.17 dom0 under QEMU (software emulation,
# no KVM needed), converge it with site.yml over SSH, and prove the result with
# real PV guests. See docs/realxen.md.
#
#   bash scripts/realxen.sh
#
# Ends with "N passed, N failed". Exit status: 0 when every proof passed, 1
# when one failed, 77 when skipped (less than 4 GB of free memory: QEMU needs
# about 3.3 GB). Run as root on Debian 12: it installs QEMU and debootstrap
# with apt-get when missing. The first run builds the dom0 image (debootstrap,
# a few minutes) into the cache; later runs reuse it.
#
# Environment:
#   XENFLEET_REALXEN_CACHE      image cache (default /var/cache/xenfleet-realxen)
#   XENFLEET_REALXEN_RUN_DIR    where this run's logs go
#                               (default tests/output/realxen/<date-time>)
#   XENFLEET_REALXEN_MIRROR     Debian mirror for debootstrap (default: apt's)
#   XENFLEET_REALXEN_KEEP_DISK  1 keeps the run's 3 GB disk images
#   XENFLEET_REALXEN_MULTI_BRIDGE  0 skips the first configuration (multi_bridge topology)
#   XENFLEET_REALXEN_ROUTED     0 skips the second configuration (routed topology, its own machine)
#   XENFLEET_REALXEN_BROUTER    0 skips the third configuration (brouter topology, its own machine)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
MIN_AVAILABLE_KB=$((4 * 1024 * 1024))
# dpkg-dev: dpkg-scanpackages indexes the image's local repository of the collection's prerequisites
TOOLS=(qemu-system-x86 debootstrap e2fsprogs cpio gzip openssh-client dpkg-dev)
SKIPPED=77

log() { printf '[realxen] %s\n' "$*" >&2; }

available_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

install_tools() {
    local -a missing=()
    local pkg
    for pkg in "${TOOLS[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    } </dev/null >/tmp/xenfleet-realxen-apt.log 2>&1 || {
        cat /tmp/xenfleet-realxen-apt.log >&2
        log "apt-get failed"
        exit 1
    }
}

# QEMU and the SSH master are the driver's children, ended there by PID; if
# the driver itself was killed, end QEMU here, by the PID it recorded, and
# only if that PID still runs this run's disk.
# Each configuration (multi_bridge in RUN, routed in RUN/routed, brouter in RUN/brouter) boots its own disk.
stop_leftovers() {
    local dir pid_file pid
    for dir in "$RUN_DIR" "$RUN_DIR/routed" "$RUN_DIR/brouter"; do
        pid_file="$dir/qemu.pid"
        if [[ -f $pid_file ]]; then
            pid="$(<"$pid_file")"
            if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/disk.img"; then
                log "stopping QEMU (pid $pid)"
                kill "$pid" 2>/dev/null || true
            fi
            rm -f "$pid_file"
        fi
        [[ ${XENFLEET_REALXEN_KEEP_DISK:-0} == 1 ]] || rm -f "$dir/disk.img"
    done
}

main() {
    local available
    available="$(available_kb)"
    if ((available < MIN_AVAILABLE_KB)); then
        log "skipped: $((available / 1024)) MB of memory available, the emulated machine needs 4096 MB"
        echo "0 passed, 0 failed, 1 skipped"
        exit $SKIPPED
    fi
    [[ $EUID -eq 0 ]] || {
        log "run as root (debootstrap, chroot and the image's file ownership need it)"
        exit 1
    }
    install_tools
    bash "$REPO/scripts/setup.sh"

    RUN_DIR="${XENFLEET_REALXEN_RUN_DIR:-$REPO/tests/output/realxen/$(date +%Y%m%d-%H%M%S)}"
    mkdir -p "$RUN_DIR"
    RUN_DIR="$(cd "$RUN_DIR" && pwd)"
    trap stop_leftovers EXIT
    log "run directory: $RUN_DIR"

    local start=$SECONDS
    # the routed and brouter configurations get their disks now, copies of the first's before it boots
    local -a copies=()
    [[ ${XENFLEET_REALXEN_ROUTED:-1} != 1 ]] || copies+=("$RUN_DIR/routed")
    [[ ${XENFLEET_REALXEN_BROUTER:-1} != 1 ]] || copies+=("$RUN_DIR/brouter")
    bash "$REPO/tests/realxen/image.sh" "$RUN_DIR" "${copies[@]}"
    log "image ready in $((SECONDS - start))s"
    local rc=0
    # the proofs' lines go to the terminal and to lane.log, beside the serial log and ansible.log
    "$VENV/bin/python" -u "$REPO/tests/realxen/run_realxen.py" "$RUN_DIR" 2>&1 | tee "$RUN_DIR/lane.log" ||
        rc=$?
    log "total $((SECONDS - start))s; logs in $RUN_DIR"
    return $rc
}

main "$@"

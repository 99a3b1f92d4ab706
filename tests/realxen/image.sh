#!/usr/bin/env bash
# Build (or reuse) the dom0 root filesystem of the real-Xen lane, then lay out
# one run's boot files and disk image.
#
#   bash tests/realxen/image.sh RUN_DIR [COPY_DIR...]
#
# The slow part, debootstrap of Debian bookworm with Xen and what the
# collection's modules need on a dom0, is cached under $CACHE as a tarball of
# the root filesystem (named by a hash of the package list, so changing the
# list rebuilds it) beside the downloaded .debs. Everything that is per run
# (the SSH key, the dom0 settings in tests/realxen/dom0/, the guests' initrd)
# goes into a fresh copy, and `mkfs.ext4 -d` turns that copy into a disk image
# without a loop mount. RUN_DIR then holds:
#   xen (the gunzipped hypervisor), vmlinuz and initrd.img (dom0's kernel),
#   disk.img, id_ed25519[.pub] (root's key for this run)
# and each COPY_DIR the same files, its own copy of disk.img (a second boot of
# the run: a sparse copy takes seconds, a second mkfs.ext4 -d far longer).
#
# Environment:
#   XENFLEET_REALXEN_CACHE   cache directory (default /var/cache/xenfleet-realxen)
#   XENFLEET_REALXEN_MIRROR  Debian mirror (default: the first one apt uses here)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN_DIR="${1:?usage: image.sh RUN_DIR [COPY_DIR...]}"
shift
COPY_DIRS=("$@")
CACHE="${XENFLEET_REALXEN_CACHE:-/var/cache/xenfleet-realxen}"
SUITE=bookworm
DISK_SIZE=3G

# What a dom0 needs for Xen, for SSH and Ansible, and for the collection's
# modules (pyroute2, netaddr, nft, iptables, dnsmasq, ping for xen_bridge's
# connectivity check); busybox-static also becomes the guests' userland.
# python3-apt: the roles' package step (ansible.builtin.package, apt) needs it,
# and the emulated machine cannot fetch it from a mirror. net-tools: Debian's
# vif-route runs ifconfig, and no Xen package depends on net-tools.
PACKAGES=(
    systemd-sysv udev kmod dbus procps iputils-ping netbase
    linux-image-amd64 initramfs-tools
    xen-system-amd64 xen-utils-common
    openssh-server python3 python3-apt python3-pyroute2 python3-netaddr
    iproute2 bridge-utils ifupdown nftables iptables dnsmasq-base net-tools
    busybox-static
)

# dom0's initramfs carries only what mounts its root (the virtio disk, ext4):
# Debian's default (MODULES=most) takes some 40 s longer to boot under TCG.
INITRAMFS_MODULES=(virtio_pci virtio_blk ext4)

log() { printf '[realxen image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mirror() {
    if [[ -n ${XENFLEET_REALXEN_MIRROR:-} ]]; then
        echo "$XENFLEET_REALXEN_MIRROR"
        return
    fi
    # deb822 sources first (Debian 12's default), then the one-line format
    local uri
    uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
    [[ -n $uri ]] || uri="$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

# ------------------------------------------------------------ cached rootfs

build_rootfs_tarball() {
    local tarball="$1" staging
    staging="$(mktemp -d "$CACHE/build.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the trap outlives this function's locals
    trap "rm -rf '$staging'" RETURN
    mkdir -p "$CACHE/debs"
    local include
    include="$(
        IFS=,
        echo "${PACKAGES[*]}"
    )"
    log "debootstrap $SUITE from $(mirror) (about 2 minutes; .debs kept in $CACHE/debs)"
    local start=$SECONDS
    if ! debootstrap --variant=minbase --include="$include" --cache-dir="$CACHE/debs" \
        "$SUITE" "$staging/rootfs" "$(mirror)" >"$staging/debootstrap.log" 2>&1; then
        tail -n 40 "$staging/debootstrap.log" >&2
        [[ -f $staging/rootfs/debootstrap/debootstrap.log ]] && tail -n 40 "$staging/rootfs/debootstrap/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    printf '%s\n' "${INITRAMFS_MODULES[@]}" >"$staging/rootfs/etc/initramfs-tools/modules"
    echo MODULES=list >"$staging/rootfs/etc/initramfs-tools/conf.d/xenfleet-realxen"
    chroot "$staging/rootfs" update-initramfs -u -k all >>"$staging/debootstrap.log" 2>&1 ||
        die "update-initramfs failed: $(tail -n 20 "$staging/debootstrap.log")"
    # apt's lists and caches are of no use in a machine that cannot reach a mirror
    rm -rf "$staging/rootfs/var/cache/apt/"*.bin "$staging/rootfs/var/lib/apt/lists/"*
    tar -C "$staging/rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    log "root filesystem cached as $tarball in $((SECONDS - start))s"
}

cached_rootfs() {
    local key tarball
    key="$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" "${INITRAMFS_MODULES[@]}" | sha256sum | cut -c1-12)"
    tarball="$CACHE/rootfs-$SUITE-$key.tar"
    mkdir -p "$CACHE"
    if [[ -f $tarball ]]; then
        log "reusing $tarball"
    else
        build_rootfs_tarball "$tarball"
    fi
    echo "$tarball"
}

# ------------------------------------------------------------- guest initrd

# A PV guest's whole userland: busybox, the netfront driver and the /init
# in guest/. The guest runs the Debian kernel the dom0 boots.
build_guest_initrd() {
    local rootfs="$1" kver="$2" out="$3" tree
    tree="$(mktemp -d "$RUN_DIR/guest-initrd.XXXXXX")"
    mkdir -p "$tree"/{bin,sbin,dev,proc,sys,tmp,run,etc/udhcpc,lib/modules}
    cp "$rootfs/bin/busybox" "$tree/bin/busybox"
    ln -s busybox "$tree/bin/sh" # /init's interpreter; /init installs the other applets
    local module
    # modprobe --show-depends lists the driver after what it needs, in load order
    while read -r _insmod module _; do
        cp "$rootfs$module" "$tree/lib/modules/"
        basename "$module" >>"$tree/lib/modules/load-order"
    done < <(chroot "$rootfs" modprobe --show-depends --set-version "$kver" xen-netfront | grep '^insmod ')
    install -m 755 "$HERE/guest/init" "$tree/init"
    # where Debian's busybox udhcpc looks for its hook
    install -m 755 "$HERE/guest/udhcpc.script" "$tree/etc/udhcpc/default.script"
    (cd "$tree" && find . | cpio --quiet -o -H newc | gzip -1) >"$out"
    rm -rf "$tree"
}

# ---------------------------------------------------------------- one run

main() {
    mkdir -p "$RUN_DIR"
    local tarball rootfs="$RUN_DIR/rootfs" start=$SECONDS
    tarball="$(cached_rootfs)"
    rm -rf "$rootfs"
    mkdir "$rootfs"
    tar -C "$rootfs" --numeric-owner -xf "$tarball"

    local kver
    kver="$(find "$rootfs/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n 1)"
    [[ -f $rootfs/boot/vmlinuz-$kver && -f $rootfs/boot/initrd.img-$kver ]] || die "no kernel $kver in the image"
    local xen
    xen="$(find "$rootfs/boot" -maxdepth 1 -name 'xen-4.*-amd64.gz' | sort | tail -n 1)"
    [[ -n $xen ]] || die "no Xen hypervisor in $rootfs/boot"
    # QEMU's -kernel boots the gunzipped hypervisor as a multiboot image
    gunzip -c "$xen" >"$RUN_DIR/xen"
    cp "$rootfs/boot/vmlinuz-$kver" "$RUN_DIR/vmlinuz"
    cp "$rootfs/boot/initrd.img-$kver" "$RUN_DIR/initrd.img"

    # The dom0's settings, kept in tests/realxen/dom0/ so they change without a rebuild
    cp -a "$HERE/dom0/." "$rootfs/"
    chroot "$rootfs" systemctl enable xenfleet-mgmt-net.service >/dev/null 2>&1
    # xendomains would save or shut down guests at dom0 shutdown: the lane destroys its own
    chroot "$rootfs" systemctl disable xendomains >/dev/null 2>&1 || true
    mkdir -p "$rootfs/var/log/xen/console" "$rootfs/var/lib/xenfleet-realxen"
    echo dom0 >"$rootfs/etc/hostname"

    rm -f "$RUN_DIR/id_ed25519" "$RUN_DIR/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C "xenfleet-realxen $(date +%F)" -f "$RUN_DIR/id_ed25519"
    install -d -m 700 "$rootfs/root/.ssh"
    install -m 600 "$RUN_DIR/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"

    build_guest_initrd "$rootfs" "$kver" "$rootfs/var/lib/xenfleet-realxen/guest-initrd.gz"
    ln -sf "/boot/vmlinuz-$kver" "$rootfs/var/lib/xenfleet-realxen/guest-vmlinuz"

    rm -f "$RUN_DIR/disk.img"
    truncate -s "$DISK_SIZE" "$RUN_DIR/disk.img"
    mkfs.ext4 -q -F -L xenfleet-dom0 -d "$rootfs" "$RUN_DIR/disk.img"
    rm -rf "$rootfs"
    local copy file
    for copy in "${COPY_DIRS[@]}"; do
        mkdir -p "$copy"
        for file in xen vmlinuz initrd.img id_ed25519 id_ed25519.pub; do
            ln -f "$RUN_DIR/$file" "$copy/$file"
        done
        cp --sparse=always --reflink=auto "$RUN_DIR/disk.img" "$copy/disk.img"
    done
    log "run files ready in $RUN_DIR${COPY_DIRS[*]:+ and ${COPY_DIRS[*]}} in $((SECONDS - start))s (kernel $kver, $(basename "$xen"))"
}

main "$@"

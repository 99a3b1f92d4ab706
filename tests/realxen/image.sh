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

# A fresh dom0, as a Debian 12 install with Xen has it: Xen, the kernel,
# systemd and udev, ifupdown (the installer's network configuration), iproute2,
# nftables and iptables, OpenSSH and python3 for Ansible, ping (Debian's
# "important" priority, and xen_bridge's connectivity check), ca-certificates
# (every Debian install has it: apt recommends it; left to the package step,
# as python3-netaddr's recommends pull it in, its postinst alone takes two
# minutes under emulation). busybox-static becomes the guests' userland. None
# of the collection's prerequisites: the roles' package step installs those
# from the local repository below.
PACKAGES=(
    systemd-sysv udev kmod dbus procps iputils-ping netbase ca-certificates
    linux-image-amd64 initramfs-tools
    xen-system-amd64 xen-utils-common
    openssh-server python3
    iproute2 ifupdown nftables iptables
    busybox-static
)

# What the roles' package step installs (roles/dom0_base/vars/main.yml, the
# routed role's net-tools) and python3-apt, which Ansible's apt module installs
# with apt-get when it is missing. Their .debs, with every dependency the image
# lacks, make a local file repository in the image, /srv/xenfleet-repo, dom0's
# only apt source ("deb [trusted=yes] file:/srv/xenfleet-repo ./"): the
# emulated machine reaches no mirror, and the package step really installs.
# Names the image already has (nftables, ifupdown, iptables) download nothing.
REPO_PACKAGES=(
    python3-pyroute2 python3-netaddr nftables dnsmasq-base ifupdown bridge-utils
    net-tools iptables python3-apt
)
REPO_DIR=/srv/xenfleet-repo
# Changes with the way the cached root filesystem is made (part of its cache key).
RECIPE=2

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
    build_local_repo "$staging/rootfs" "$staging/debootstrap.log"
    tar -C "$staging/rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    log "root filesystem cached as $tarball in $((SECONDS - start))s"
}

# apt-get in the new root, against the mirror debootstrap used (the host's name
# resolution for the time of the download). The mirror may be a snapshot whose
# Release files are past their Valid-Until date, as the host's apt allows.
chroot_apt() {
    local rootfs="$1"
    shift
    chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -q \
        -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false "$@"
}

# The prerequisites' .debs, and those of their dependencies the image lacks,
# as a flat file repository in the image; then that repository becomes the
# image's only apt source, its index already read (as a Debian install has the
# lists of its mirror), so the roles' package step installs from it.
build_local_repo() {
    local rootfs="$1" log="$2" saved
    saved="$(mktemp -d "$CACHE/etc.XXXXXX")"
    cp -a "$rootfs/etc/resolv.conf" "$rootfs/etc/hosts" "$saved/" 2>/dev/null || true
    cp /etc/resolv.conf /etc/hosts "$rootfs/etc/"
    mkdir -p "$rootfs$REPO_DIR/partial"
    {
        chroot_apt "$rootfs" update &&
            chroot_apt "$rootfs" install --download-only -y -o Dir::Cache::archives="$REPO_DIR" "${REPO_PACKAGES[@]}"
    } >>"$log" 2>&1 || die "downloading the prerequisites failed: $(tail -n 20 "$log")"
    rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hosts"
    cp -a "$saved/." "$rootfs/etc/"
    rm -rf "$saved" "$rootfs$REPO_DIR/partial" "$rootfs$REPO_DIR/lock"
    local pkg
    for pkg in python3-pyroute2 python3-netaddr python3-apt dnsmasq-base bridge-utils net-tools; do
        compgen -G "$rootfs$REPO_DIR/${pkg}_*.deb" >/dev/null || die "the local repository lacks $pkg"
    done
    (
        cd "$rootfs$REPO_DIR"
        dpkg-scanpackages --multiversion . /dev/null >Packages 2>>"$log"
        gzip -9nk Packages
        {
            echo "Origin: xenfleet-realxen"
            echo "Label: xenfleet-realxen"
            echo "Suite: local"
            echo "Codename: local"
            echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
            echo "SHA256:"
            local index
            for index in Packages Packages.gz; do
                printf ' %s %s %s\n' "$(sha256sum <"$index" | cut -d' ' -f1)" "$(stat -c %s "$index")" "$index"
            done
        } >Release
    )
    rm -f "$rootfs/etc/apt/sources.list" "$rootfs/etc/apt/sources.list.d/"*
    echo "deb [trusted=yes] file:$REPO_DIR ./" >"$rootfs/etc/apt/sources.list.d/xenfleet-repo.list"
    rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb
    chroot_apt "$rootfs" update >>"$log" 2>&1 || die "apt-get update from $REPO_DIR failed: $(tail -n 20 "$log")"
    local candidate
    candidate="$(chroot "$rootfs" apt-cache policy python3-pyroute2 | awk '/Candidate:/ {print $2}')"
    [[ -n $candidate && $candidate != "(none)" ]] || die "apt in the image sees no python3-pyroute2 in $REPO_DIR"
    log "local repository $REPO_DIR: $(find "$rootfs$REPO_DIR" -name '*.deb' | wc -l) packages, $(du -sh "$rootfs$REPO_DIR" | cut -f1)"
}

cached_rootfs() {
    local key tarball
    key="$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" -- "${REPO_PACKAGES[@]}" -- "${INITRAMFS_MODULES[@]}" "recipe $RECIPE" |
        sha256sum | cut -c1-12)"
    tarball="$CACHE/rootfs-$SUITE-$key.tar"
    mkdir -p "$CACHE"
    if [[ -f $tarball ]]; then
        log "reusing $tarball"
    else
        build_rootfs_tarball "$tarball"
        # the tarballs of other package lists or recipes are of no further use
        find "$CACHE" -maxdepth 1 -name "rootfs-$SUITE-*.tar" ! -name "$(basename "$tarball")" -delete
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
    # what the kernel runs when Xen asks the guest to power off (xl shutdown, xendomains at dom0's shutdown)
    printf '#!/bin/sh\nexec /bin/busybox poweroff -f\n' >"$tree/sbin/poweroff"
    chmod 755 "$tree/sbin/poweroff"
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
    # eth0 as the installer configures it: a stanza in /etc/network/interfaces (in dom0/), brought up by ifupdown
    chroot "$rootfs" systemctl enable networking.service >/dev/null 2>&1
    # Guests start by hand until the lane links them into /etc/xen/auto and enables xendomains for the reboot;
    # at shutdown xendomains then shuts them down (no save, no restore at boot: they start from their configs).
    chroot "$rootfs" systemctl disable xendomains >/dev/null 2>&1 || true
    sed -i -e 's/^#*XENDOMAINS_SAVE=.*/XENDOMAINS_SAVE=/' -e 's/^#*XENDOMAINS_RESTORE=.*/XENDOMAINS_RESTORE=false/' \
        -e 's/^#*XENDOMAINS_STOP_MAXWAIT=.*/XENDOMAINS_STOP_MAXWAIT=60/' "$rootfs/etc/default/xendomains"
    if ! grep -qx 'XENDOMAINS_SAVE=' "$rootfs/etc/default/xendomains" ||
        ! grep -qx 'XENDOMAINS_RESTORE=false' "$rootfs/etc/default/xendomains"; then
        die "/etc/default/xendomains: XENDOMAINS_SAVE or XENDOMAINS_RESTORE not found to set"
    fi
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

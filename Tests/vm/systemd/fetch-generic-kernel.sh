#!/bin/sh
# Make sure the VM tooling is installed and the *generic* Debian kernel is cached
# (tier 2: its 9p, virtio and overlay modules let the guest mount the host's root);
# print the path of its vmlinuz on stdout (everything else goes to stderr).
# Idempotent; once extracted, works offline. FAIRSHARE_VM_KERNEL_REFRESH=1 asks apt
# for the newest linux-image-amd64 dependency again.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${FAIRSHARE_VM_CACHE:-$repo/.build-vm}/generic

log() { echo "fetch-generic-kernel: $*" >&2; }

# --- host tools --------------------------------------------------------------
# kmod: depmod for the extracted modules, and modprobe inside the guest (it runs the host's
# userland), so systemd's modprobe@ units and a scenario's `modprobe bfq` work.
# shellcheck source=Tests/vm/host-packages.sh
. "$here/../host-packages.sh"
install_missing qemu-system-x86 busybox-static cpio kmod

# --- kernel ------------------------------------------------------------------
mkdir -p "$cache"

# resolve: the versioned package behind the linux-image-amd64 metapackage.
resolve() {
    p=$(apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | grep -v -e -cloud- -e -rt- | head -n 1)
    if [ -z "$p" ]; then
        p=$(apt-cache search --names-only '^linux-image-[0-9][^ ]*-amd64$' 2>/dev/null |
            awk '{print $1}' | grep -v -e -cloud- -e -rt- -e -dbg | sort -V | tail -n 1)
    fi
    echo "$p"
}

# A previously extracted kernel is reused without asking apt (works offline).
# The cloud and rt flavours never land here: the cache holds only generic kernels.
# shellcheck disable=SC2012 # our own Debian file names: no odd characters
existing=$(ls "$cache"/root/boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "${FAIRSHARE_VM_KERNEL_REFRESH:-}" ] || [ -z "$existing" ]; then
    pkg=$(resolve)
    if [ -z "$pkg" ]; then
        apt-get update >&2
        pkg=$(resolve)
    fi
    [ -n "$pkg" ] || { log "cannot resolve a generic linux-image-*-amd64 package"; exit 1; }
    ver=${pkg#linux-image-}

    if [ ! -f "$cache/root/boot/vmlinuz-$ver" ]; then
        extract_package "$pkg" "$cache"
    fi
    existing=$cache/root/boot/vmlinuz-$ver
fi

[ -f "$existing" ] || { log "no vmlinuz at $existing"; exit 1; }
# The package's postinst would run depmod; dpkg -x does not.
ver=${existing##*/vmlinuz-}
if [ ! -s "$cache/root/lib/modules/$ver/modules.dep" ]; then
    log "depmod $ver"
    depmod -b "$cache/root" "$ver"
fi
echo "$existing"

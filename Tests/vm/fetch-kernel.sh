#!/bin/sh
# Make sure the VM tooling is installed and a Debian cloud kernel is cached;
# print the path of its vmlinuz on stdout (everything else goes to stderr).
# Idempotent: nothing is installed or downloaded twice.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FAIRSHARE_VM_CACHE:-$repo/.build-vm}/kernel

log() { echo "fetch-kernel: $*" >&2; }

# --- host tools --------------------------------------------------------------
# shellcheck source=Tests/vm/host-packages.sh
. "$here/host-packages.sh"
install_missing qemu-system-x86 busybox-static cpio

# --- kernel ------------------------------------------------------------------
mkdir -p "$cache"

# A previously extracted kernel is reused without asking apt (works offline).
existing=$(ls "$cache"/root/boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "${FAIRSHARE_VM_KERNEL_REFRESH:-}" ] || [ -z "$existing" ]; then
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)
    if [ -z "$pkg" ]; then
        pkg=$(apt-cache search --names-only '^linux-image-[0-9].*-cloud-amd64$' 2>/dev/null \
            | awk '{print $1}' | sort -V | tail -n 1)
    fi
    [ -n "$pkg" ] || { log "cannot resolve a linux-image-*-cloud-amd64 package"; exit 1; }
    ver=${pkg#linux-image-}

    if [ ! -f "$cache/root/boot/vmlinuz-$ver" ]; then
        extract_package "$pkg" "$cache"
    fi
    existing=$cache/root/boot/vmlinuz-$ver
fi

[ -f "$existing" ] || { log "no vmlinuz at $existing"; exit 1; }
echo "$existing"

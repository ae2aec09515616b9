#!/bin/bash
# A Debian release's root for the systemd guest (run-systemd-vm.sh's FAIRSHARE_VM_ROOT):
# `debootstrap --variant=minbase` from Debian's archive with what a systemd machine and the
# scenarios need (systemd, D-Bus for sd-bus's system bus, kmod for modprobe, procps, python3 and
# curl for the service scenario's checks, adduser for node_exporter's package, man-db for
# `systemd-analyze verify`, which runs `man` on the unit's Documentation=), kept as
# a tarball in CACHE_DIR and extracted next to it once. Prints the root's path; with --tarball,
# the tarball's only (Tests/deb/check-deb-release.sh extracts a copy to install into).
#   Tests/vm/systemd/debian-root.sh [--tarball] SUITE CACHE_DIR
# SUITE: trixie (Debian 13, systemd 257) or bookworm. Needs root and debootstrap (installed when
# missing).
set -euo pipefail

only_tarball=no
if [ "${1:-}" = --tarball ]; then
    only_tarball=yes
    shift
fi
suite=${1:?usage: debian-root.sh [--tarball] SUITE CACHE_DIR}
cache=${2:?usage: debian-root.sh [--tarball] SUITE CACHE_DIR}
mirror=${FAIRSHARE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The list is part of the names: another list makes another root.
packages=libsystemd0,systemd,dbus,kmod,procps,python3,curl,adduser,man-db
log() { echo "debian-root: $*" >&2; }

case $suite in bookworm | trixie) ;; *) log "unknown suite '$suite' (bookworm or trixie)"; exit 2 ;; esac
command -v debootstrap >/dev/null || apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends debootstrap >/dev/null; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
tag=$(printf '%s\n' "$packages" | md5sum | cut -c1-8)
tarball=$cache/debian-$suite-guest-$tag.tar
root=$cache/debian-$suite-guest-$tag
# Roots of another package list (an older version of this script) go.
for old in "$cache/debian-$suite-guest-"*; do
    case $old in "$root" | "$tarball") ;; *) [ -e "$old" ] && rm -rf "$old" ;; esac
done
if [ ! -s "$tarball" ]; then
    build=$(mktemp -d "$cache/.debootstrap-$suite.XXXXXX")
    log "debootstrap --variant=minbase --include=$packages $suite (cached as $tarball)"
    if ! debootstrap --variant=minbase --include="$packages" "$suite" "$build/root" "$mirror" >"$build/log" 2>&1; then
        tail -n 20 "$build/log" >&2
        rm -rf "$build"
        log "debootstrap $suite failed"
        exit 1
    fi
    tar -C "$build/root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$build"
fi
if [ $only_tarball = yes ]; then
    echo "$tarball"
    exit 0
fi
if [ ! -f "$root/.extracted" ] || [ "$tarball" -nt "$root/.extracted" ]; then
    rm -rf "$root"
    mkdir -p "$root"
    tar -C "$root" -xf "$tarball"
    touch "$root/.extracted"
fi
echo "$root"

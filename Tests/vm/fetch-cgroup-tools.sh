#!/bin/sh
# libcgroup's rules daemon for the side-by-side measures of issue 10: Debian's cgroup-tools and
# libcgroup2, fetched with `apt-get download` (like fetch-kernel.sh fetches the kernel), cached
# and unpacked in $FAIRSHARE_VM_CACHE/cgroup-tools/root. Nothing is installed on the host.
# Writes $FAIRSHARE_VM_CACHE/cgroup-tools/image-files (what the guest needs) and .../version.
# Prints the unpacked root on stdout (everything else goes to stderr). Idempotent.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${FAIRSHARE_VM_CACHE:-$repo/.build-vm}/cgroup-tools

log() { echo "fetch-cgroup-tools: $*" >&2; }
# shellcheck source=Tests/vm/host-packages.sh
. "$here/host-packages.sh"

mkdir -p "$cache"
root=$cache/root
if [ ! -x "$root/usr/sbin/cgrulesengd" ] || ! ls "$root"/lib/x86_64-linux-gnu/libcgroup.so.2.* >/dev/null 2>&1; then
    extract_package libcgroup2 "$cache"
    extract_package cgroup-tools "$cache"
fi
lib=$(ls "$root"/lib/x86_64-linux-gnu/libcgroup.so.2.* | sort -V | tail -n 1)
# ldconfig would make the soname link; the guest has no ldconfig run.
ln -sf "$(basename "$lib")" "$root/lib/x86_64-linux-gnu/libcgroup.so.2"
# What the guest image needs (SRC:GUEST_PATH lines for build-initramfs.sh): the daemon and every
# library ldd resolves for it with the unpacked libcgroup first in the path (libcgroup pulls
# libpthread and more that the host's ldd can not see from the daemon alone).
# The libraries are staged as plain (mode 644) copies: build-initramfs.sh runs ldd on every
# executable it is given, and the loader of the daemon's own ldd line comes with it.
rm -rf "$cache/guest-libs"
mkdir -p "$cache/guest-libs"
{
    echo "$root/usr/sbin/cgrulesengd:/usr/sbin/cgrulesengd"
    LD_LIBRARY_PATH=$root/lib/x86_64-linux-gnu ldd "$root/usr/sbin/cgrulesengd" | while read -r a b c _; do
        [ "$b" = "=>" ] || continue
        case "$c" in
            /*) cp -L "$c" "$cache/guest-libs/$a"
                chmod 644 "$cache/guest-libs/$a"
                echo "$cache/guest-libs/$a:/lib/x86_64-linux-gnu/$a" ;;
            *) log "cgrulesengd needs $a, not found"; exit 1 ;;
        esac
    done
} >"$cache/image-files"
# The versions, for the report.
for deb in "$cache"/cgroup-tools_*.deb "$cache"/libcgroup2_*.deb; do
    dpkg-deb -W --showformat='${Package}=${Version}\n' "$deb"
done | paste -sd' ' >"$cache/version"
echo "$root"

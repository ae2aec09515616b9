#!/bin/sh
# Issue 11: Debian's prometheus-node-exporter for the systemd guest, which installs it beside
# the fairshare package (scenario-service.sh). The guest's root is the host's (read-only 9p
# under a tmpfs overlay), so the package's dependencies that the host has are there already;
# the others are downloaded too. curl, for fetching /metrics inside the guest, is installed on
# the host for the same reason. Prints the directory of the .deb files.
# Usage: fetch-node-exporter.sh   (cache: $FAIRSHARE_VM_CACHE/node-exporter)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${FAIRSHARE_VM_CACHE:-$repo/.build-vm}/node-exporter

log() { echo "fetch-node-exporter: $*" >&2; }

. "$here/../host-packages.sh"
install_missing curl

mkdir -p "$cache"
download() {
    ls "$cache/$1"_*.deb >/dev/null 2>&1 && return 0
    log "downloading $1"
    (cd "$cache" && apt-get download "$1" >&2) || { apt-get update >&2 && (cd "$cache" && apt-get download "$1" >&2); }
}
download prometheus-node-exporter
# Depends and Pre-Depends (not Recommends: the scenario installs with dpkg -i, as an admin
# would with --no-install-recommends) that the host lacks.
for dep in $(apt-cache depends prometheus-node-exporter 2>/dev/null | sed -n 's/^ *\(Pre\)\{0,1\}Depends: \([a-z0-9.+-]*\)$/\2/p' | sort -u); do
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' || download "$dep"
done
echo "$cache"

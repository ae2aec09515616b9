#!/bin/sh
# Boot the demo guest (scenario-demo.sh) and show only the demo's own output.
# Usage: demo.sh FAIRSHARE_BINARY [CACHE_DIR]
set -eu

[ $# -ge 1 ] || { echo "usage: $0 FAIRSHARE_BINARY [CACHE_DIR]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
cache=${2:-${FAIRSHARE_VM_CACHE:-$here/../../.build-vm}}
mkdir -p "$cache"

"$here/fetch-kernel.sh" >/dev/null
FAIRSHARE_VM_BURNERS="compile-job web-server video-call" FAIRSHARE_VM_JOURNALD=0 \
    "$here/build-initramfs.sh" "$1" "$here/scenario-demo.sh" "$cache/demo.cpio.gz" 2>/dev/null

echo "Booting a 2-CPU virtual machine with a real cgroup v2 kernel (emulated: about 40 s)..."
status=$cache/demo.status
rm -f "$status"
# Console noise (firmware, kernel, FSRESULT lines) stays in the log file.
{ FAIRSHARE_VM_LOG=$cache/demo.log "$here/run-vm.sh" "$cache/demo.cpio.gz" 240 2>/dev/null || echo $? >"$status"; } |
    tr -d '\r' | {
        show=no
        while IFS= read -r line; do
            case "$line" in
                *"=== Fairshare demo"*) show=yes ;;
                FSRESULT* | FSDONE*) continue ;;
            esac
            [ $show = no ] || printf '%s\n' "$line"
            case "$line" in *"=== end of demo"*) show=no ;; esac
        done
    }
if [ -e "$status" ]; then
    echo "demo: the virtual machine failed (exit $(cat "$status")); full console log: $cache/demo.log" >&2
    exit 1
fi

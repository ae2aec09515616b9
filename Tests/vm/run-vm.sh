#!/bin/sh
# Boot a test initramfs under qemu (TCG: KVM hangs on these hosts, -cpu host aborts).
# Usage: run-vm.sh INITRAMFS [TIMEOUT_S]
# Console output goes to stdout and to $FAIRSHARE_VM_LOG (default INITRAMFS%.cpio.gz.log).
# Exit status: qemu's; 124 when the guest had to be killed at the timeout.
# FAIRSHARE_VM_DISK=FILE adds FILE as a raw virtio-blk disk (the guest's vda; its driver
# is a module: FAIRSHARE_VM_MODULES of build-initramfs.sh). cache=none by default
# (FAIRSHARE_VM_DISK_CACHE overrides): the host opens the file O_DIRECT, so the guest's reads
# are not served from the host's page cache at memory speed (the file would sit there after
# the first pass) and the disk keeps a device's pace, and nothing of the guest's IO lingers
# in the host's memory; aio=threads works on every filesystem. FAIRSHARE_VM_DISK_OPTS appends
# virtio-blk-pci options (e.g. num-queues=1,queue-size=128).
set -eu

[ $# -ge 1 ] || { echo "usage: $0 INITRAMFS [TIMEOUT_S]" >&2; exit 2; }
initrd=$1
limit=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
logfile=${FAIRSHARE_VM_LOG:-${initrd%.cpio.gz}.log}

kernel=${FAIRSHARE_VM_KERNEL:-$("$here/fetch-kernel.sh")}
[ -f "$kernel" ] || { echo "run-vm: no kernel $kernel" >&2; exit 1; }
[ -f "$initrd" ] || { echo "run-vm: no initramfs $initrd" >&2; exit 1; }

set --
if [ -n "${FAIRSHARE_VM_DISK:-}" ]; then
    [ -f "$FAIRSHARE_VM_DISK" ] || { echo "run-vm: no disk image $FAIRSHARE_VM_DISK" >&2; exit 1; }
    set -- -drive "file=$FAIRSHARE_VM_DISK,if=none,id=disk0,format=raw,cache=${FAIRSHARE_VM_DISK_CACHE:-none},aio=threads" \
        -device "virtio-blk-pci,drive=disk0${FAIRSHARE_VM_DISK_OPTS:+,$FAIRSHARE_VM_DISK_OPTS}"
fi

status=$(mktemp "${TMPDIR:-/tmp}/fairshare-vm-status.XXXXXX")
trap 'rm -f "$status"' EXIT
start=$(date +%s)

# -serial mon:stdio would make ^C go to the monitor; plain -nographic is enough.
# qemu runs in a subshell writing its exit status to a file, so the pipe to tee
# does not hide it; timeout(1) kills qemu (TERM, then KILL 5 s later).
{
    rc=0
    timeout -k 5 "$limit" qemu-system-x86_64 \
        -accel tcg,thread=multi -cpu max -smp 2 -m 1024 \
        -nographic -no-reboot -nodefaults -serial stdio \
        -kernel "$kernel" -initrd "$initrd" "$@" \
        -append "console=ttyS0 quiet panic=-1" </dev/null || rc=$?
    echo "$rc" >"$status"
} 2>&1 | tee "$logfile"

rc=$(cat "$status")
echo "run-vm: guest ran $(($(date +%s) - start)) s, qemu exit $rc, log $logfile" >&2
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "run-vm: TIMEOUT after ${limit} s: qemu killed" >&2
    exit 124
fi
exit "$rc"

#!/bin/bash
# Boot a full systemd machine under qemu (tier 2) that runs SCENARIO and powers off.
# Usage: run-systemd-vm.sh SCENARIO LOGFILE [TIMEOUT_S] [KEY=VALUE...]
#   SCENARIO  a host path; the guest runs it in place as fairshare-test.service, after boot.
#   LOGFILE   the console (also on stdout); the scenario's results are FSRESULT lines in it.
#             Host-side facts are appended as FSHOST lines (qemu exit, timeout, boot time).
#   KEY=VALUE the scenario's environment (FAIRSHARE_REPO is always set).
# Env: FAIRSHARE_VM_CACHE (default REPO/.build-vm), FAIRSHARE_VM_KERNEL, FAIRSHARE_VM_MASK,
#   FAIRSHARE_VM_MASK_DEFAULT (see build-initramfs.sh),
#   FAIRSHARE_VM_MEM (MiB, default 2048), FAIRSHARE_VM_SMP (default 2),
#   FAIRSHARE_VM_QEMU_ARGS (more qemu arguments, word-split: e.g. a scratch virtio disk),
#   FAIRSHARE_VM_APPEND (more kernel command line, e.g. systemd.log_level=debug),
#   FAIRSHARE_VM_ROOT (the guest's root, default the host's /: a directory such as a Debian 13
#   root from debian-root.sh; the repository is then bound into it at its own path, so the
#   scenario, the package and the cached tools are where they are on the host).
# Exit status: qemu's; 124 when the guest had to be killed at the timeout (default 300 s).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 SCENARIO LOGFILE [TIMEOUT_S] [KEY=VALUE...]" >&2; exit 2; }
scenario=$1 logfile=$2
shift 2
limit=300
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    limit=$1
    shift
fi

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${FAIRSHARE_VM_CACHE:-$repo/.build-vm}
log() { echo "run-systemd-vm: $*" >&2; }

[ -f "$scenario" ] || { log "no scenario $scenario"; exit 1; }
scenario=$(cd "$(dirname "$scenario")" && pwd)/$(basename "$scenario")
kernel=${FAIRSHARE_VM_KERNEL:-$("$here/fetch-generic-kernel.sh")}
[ -f "$kernel" ] || { log "no kernel $kernel"; exit 1; }
export FAIRSHARE_VM_KERNEL=$kernel

guest_root=${FAIRSHARE_VM_ROOT:-/}
[ -d "$guest_root" ] || { log "no guest root $guest_root"; exit 1; }
guest_root=$(cd "$guest_root" && pwd)
bind_args=()
if [ "$guest_root" != / ]; then
    # The host's root as a second export: the repository and the kernel's modules come from it.
    bind_args=(-virtfs "local,path=/,mount_tag=hostfs,security_model=none,readonly=on,multidevs=remap")
    export FAIRSHARE_VM_BIND=$repo
fi

# The initramfs holds no scenario code (the guest reads it from the host), only its path and
# environment: rebuild when those, the kernel or the builder change. Building takes ~1 s, but
# a cached image keeps the run reproducible byte for byte (the machine id stays the same).
mkdir -p "$cache"
initrd=$cache/systemd-$(printf '%s\n' "$scenario" "$guest_root" | md5sum | cut -c1-8).cpio.gz
key=$( {
    printf '%s\n' "$kernel" "$scenario" "${FAIRSHARE_VM_MASK:-}" "${FAIRSHARE_VM_MASK_DEFAULT:-}" \
        "FAIRSHARE_REPO=$repo" "$guest_root" "$@"
    cat "$here/build-initramfs.sh"
} | md5sum | cut -d' ' -f1)
if [ ! -f "$initrd" ] || [ "$(cat "$initrd.key" 2>/dev/null)" != "$key" ]; then
    "$here/build-initramfs.sh" "$initrd" "$scenario" "FAIRSHARE_REPO=$repo" "$@"
    echo "$key" >"$initrd.key"
fi

mkdir -p "$(dirname "$logfile")"
: >"$logfile"
stamp=$(mktemp "${TMPDIR:-/tmp}/fairshare-sysvm.XXXXXX")
trap 'rm -f "$stamp" "$stamp".*' EXIT
start=$(date +%s.%N)

# qemu runs in a group writing its exit status to a file, so the pipe does not hide it;
# timeout(1) kills qemu (TERM, then KILL 5 s later). The read loop notes when the scenario
# starts, for the boot time.
# shellcheck disable=SC2086 # FAIRSHARE_VM_QEMU_ARGS is a list of words
{
    rc=0
    timeout -k 5 "$limit" qemu-system-x86_64 \
        -accel tcg,thread=multi -cpu max -smp "${FAIRSHARE_VM_SMP:-2}" -m "${FAIRSHARE_VM_MEM:-2048}" \
        -nographic -no-reboot -nodefaults -serial stdio \
        -kernel "$kernel" -initrd "$initrd" \
        -virtfs "local,path=$guest_root,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
        "${bind_args[@]}" \
        -append "console=ttyS0 quiet panic=-1 systemd.unified_cgroup_hierarchy=1 ${FAIRSHARE_VM_APPEND:-}" \
        ${FAIRSHARE_VM_QEMU_ARGS:-} </dev/null || rc=$?
    echo "$rc" >"$stamp.rc"
} 2>&1 | tee -a "$logfile" | while IFS= read -r line; do
    printf '%s\n' "$line"
    if [ ! -e "$stamp.boot" ] && [[ $line == *"FSRESULT scenario_start_uptime"* ]]; then
        date +%s.%N >"$stamp.boot"
    fi
done

rc=$(cat "$stamp.rc" 2>/dev/null || echo 1)
end=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
boot=none
[ ! -e "$stamp.boot" ] || boot=$(secs "$start" "$(cat "$stamp.boot")")
{
    echo "FSHOST qemu_exit $rc"
    echo "FSHOST timeout_s $limit"
    echo "FSHOST boot_to_scenario_s $boot"
    echo "FSHOST total_s $(secs "$start" "$end")"
} >>"$logfile"
log "boot to scenario start ${boot} s, total $(secs "$start" "$end") s, qemu exit $rc, log $logfile"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "FSHOST timed_out yes" >>"$logfile"
    log "TIMEOUT after ${limit} s: qemu killed"
    exit 124
fi
exit "$rc"

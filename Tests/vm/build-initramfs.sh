#!/bin/sh
# Build a tier-1 test initramfs (see docs in /work/shared/notes/real-kernel.md):
#   busybox-static, the fairshare binary + its shared libraries, burn_a/b/c,
#   systemd-journald + journalctl (unless FAIRSHARE_VM_JOURNALD=0), the scenario as
#   /scenario.sh, and an /init that prepares cgroup2 and powers off afterwards.
#
# Usage: build-initramfs.sh FAIRSHARE_BINARY|none SCENARIO_SCRIPT OUT.cpio.gz [EXTRA...]
#   EXTRA is SRC or SRC:GUEST_PATH (default guest path /bin/$(basename SRC));
#   executables among them get their ldd libraries too.
# Env: FAIRSHARE_VM_JOURNALD=1 (the default) puts systemd-journald and journalctl in the
# image and fails the build when the host has none (a guest whose journal checks can not run
# must not be built quietly without them); =0 leaves journald out. FAIRSHARE_VM_BURNERS names
# the burner copies (default "burn_a burn_b burn_c"); FAIRSHARE_VM_MODULES="virtio_ring
# virtio ... bfq" copies those kernel modules (names of .ko files of the cached kernel, in
# load order: no modprobe, no dependency resolution) and /init insmods them before the
# scenario, printing FSRESULT module NAME ok|FAIL.
set -eu

[ $# -ge 3 ] || { echo "usage: $0 FAIRSHARE_BINARY|none SCENARIO OUT.cpio.gz [EXTRA...]" >&2; exit 2; }
bin=$1 scenario=$2 out=$3
shift 3

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "build-initramfs: $*" >&2; }

[ -f "$scenario" ] || { log "no scenario $scenario"; exit 1; }
if [ "$bin" != none ] && [ ! -x "$bin" ]; then log "no executable $bin"; exit 1; fi
busybox=/bin/busybox   # from busybox-static: no libraries needed
[ -x "$busybox" ] || { log "busybox-static is not installed (run fetch-kernel.sh)"; exit 1; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/fairshare-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
root=$stage/root
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/etc/fairshare \
    "$root"/lib "$root"/proc "$root"/sys "$root"/dev "$root"/run "$root"/tmp "$root"/var/log "$root"/root
chmod 1777 "$root/tmp"

# put SRC GUEST_PATH: copy one file (following symlinks) to its place in the image.
put() {
    mkdir -p "$root$(dirname "$2")"
    cp -L "$1" "$root$2"
}

# put_libs FILE: copy every library ldd resolves for FILE, at the path ldd shows,
# plus the dynamic loader. Static binaries have none.
put_libs() {
    ldd "$1" 2>/dev/null | while read -r a b c _; do
        case "$a" in
            /*) put "$a" "$a" ;;                           # the loader line
            *) [ "$b" = "=>" ] && case "$c" in /*) put "$c" "$c" ;; esac ;;
        esac
    done
}

# busybox and one symlink per applet; real binaries copied later override them.
put "$busybox" /bin/busybox
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done

# burners: one static binary under several names, so /proc/PID/comm differs.
gcc -O2 -static -o "$stage/burn" "$here/burn.c"
for n in ${FAIRSHARE_VM_BURNERS:-burn_a burn_b burn_c}; do cp "$stage/burn" "$root/bin/$n"; done

if [ "$bin" != none ]; then
    put "$bin" /bin/fairshare
    put_libs "$bin"
fi

# journald: started by hand by the scenario; volatile storage in /run/log/journal.
journald=no
case "${FAIRSHARE_VM_JOURNALD:-1}" in
    0) ;;
    1)
        for f in /lib/systemd/systemd-journald /bin/journalctl; do
            [ -x "$f" ] || { log "FAIRSHARE_VM_JOURNALD=1 but the host has no $f (apt-get install systemd), or set FAIRSHARE_VM_JOURNALD=0 for a guest without a journal"; exit 1; }
        done
        journald=yes
        ;;
    *) log "FAIRSHARE_VM_JOURNALD must be 0 or 1, not '$FAIRSHARE_VM_JOURNALD'"; exit 2 ;;
esac
if [ $journald = yes ]; then
    put /lib/systemd/systemd-journald /lib/systemd/systemd-journald
    put /bin/journalctl /usr/bin/journalctl
    put_libs /lib/systemd/systemd-journald
    put_libs /bin/journalctl
    # journald looks up the systemd-journal group for file ownership.
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nsystemd-journal:x:101:\n' >"$root/etc/group"
else
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
fi
# A machine id is needed by journald (journal directory name) and harmless otherwise.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"

for extra in "$@"; do
    case "$extra" in
        *:*) src=${extra%%:*} dst=${extra#*:} ;;
        *) src=$extra dst=/bin/$(basename "$extra") ;;
    esac
    put "$src" "$dst"
    [ -x "$src" ] && put_libs "$src"
done

# Kernel modules, opt-in: the guest's kernel loads none by itself (no udev, no modprobe).
modules=${FAIRSHARE_VM_MODULES:-}
if [ -n "$modules" ]; then
    moddir=${FAIRSHARE_VM_MODDIR:-$(dirname "$("$here/fetch-kernel.sh")")/../lib/modules}
    mkdir -p "$root/lib/fairshare-modules"
    for m in $modules; do
        ko=$(find "$moddir" -name "$m.ko" | head -n 1)
        [ -n "$ko" ] || { log "no module $m.ko under $moddir"; exit 1; }
        cp "$ko" "$root/lib/fairshare-modules/$m.ko"
    done
fi

# /init's lines that load them, in order (none without FAIRSHARE_VM_MODULES).
insmods=
for m in $modules; do
    insmods="${insmods}if insmod /lib/fairshare-modules/$m.ko; then echo 'FSRESULT module $m ok'; else echo 'FSRESULT module $m FAIL'; fi
"
done

cp "$here/guest-lib.sh" "$root/lib/vm-lib.sh"
cp "$scenario" "$root/scenario.sh"
chmod 755 "$root/scenario.sh"

cat >"$root/init" <<EOF
#!/bin/sh
# PID 1 of the test guest.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The kernel may not have found /dev/console before devtmpfs existed.
exec </dev/console >/dev/console 2>&1
mount -t cgroup2 none /sys/fs/cgroup
mkdir -p /run/fairshare /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
hostname fairshare-vm
echo "FSRESULT boot_uptime \$(cut -d' ' -f1 /proc/uptime)"
echo "FSRESULT kernel \$(uname -r)"
echo "FSRESULT cgroup_controllers \$(cat /sys/fs/cgroup/cgroup.controllers)"
echo "FSRESULT image_journald $journald"
$insmods
rc=0
sh /scenario.sh || rc=\$?
echo "FSRESULT scenario_exit \$rc"
echo "FSRESULT end_uptime \$(cut -d' ' -f1 /proc/uptime)"
echo FSDONE
sync
poweroff -f
EOF
chmod 755 "$root/init"

# The kernel opens /dev/console before /init runs; give it one if we may.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
log "$out ($(du -h "$out" | cut -f1), journald=$journald)"

#!/bin/sh
# Build a tier-2 initramfs (see /work/shared/notes/real-kernel.md, "Tier 2"): busybox-static
# and the generic kernel's virtio/9p/overlay modules. Its /init mounts the host's root
# read-only over 9p, puts a tmpfs-backed overlay on it, adds the test unit, the scenario's
# environment and the unit masks, and hands over to the host's systemd as PID 1.
#
# Usage: build-initramfs.sh OUT.cpio.gz SCENARIO [KEY=VALUE...]
#   SCENARIO is a host path; the guest runs it in place (it sees the host's files at the same
#   paths). KEY=VALUE pairs become the test unit's environment, with FAIRSHARE_SCENARIO.
# Env: FAIRSHARE_VM_KERNEL (a generic vmlinuz; default: fetch-generic-kernel.sh),
#   FAIRSHARE_VM_MASK (extra units to mask, space-separated), FAIRSHARE_VM_MASK_DEFAULT=0
#   (leave the default list of units and generators unmasked, see below), FAIRSHARE_VM_BIND (a
#   host directory bound into the guest at its own path, from the host's root exported as
#   `hostfs`: for a guest whose root is not the host's; the kernel's modules come from there
#   too).
set -eu

[ $# -ge 2 ] || { echo "usage: $0 OUT.cpio.gz SCENARIO [KEY=VALUE...]" >&2; exit 2; }
out=$1 scenario=$2
shift 2

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "build-initramfs(systemd): $*" >&2; }

case "$scenario" in /*) ;; *) scenario=$(pwd)/$scenario ;; esac
[ -f "$scenario" ] || { log "no scenario $scenario"; exit 1; }
busybox=/bin/busybox # busybox-static: no libraries needed
[ -x "$busybox" ] || { log "busybox-static is not installed (run fetch-generic-kernel.sh)"; exit 1; }

kernel=${FAIRSHARE_VM_KERNEL:-$("$here/fetch-generic-kernel.sh")}
[ -f "$kernel" ] || { log "no kernel $kernel"; exit 1; }
kver=$(basename "$kernel")
kver=${kver#vmlinuz-}
[ -d "$(dirname "$kernel")/../lib/modules/$kver/kernel" ] || { log "no modules for $kver next to $kernel"; exit 1; }
kmods=$(cd "$(dirname "$kernel")/../lib/modules/$kver" && pwd) # host path, the guest binds it
moddir=$kmods/kernel

stage=$(mktemp -d "${TMPDIR:-/tmp}/fairshare-sysinitramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
root=$stage/root
mkdir -p "$root"/bin "$root"/dev "$root"/proc "$root"/sys "$root"/modules \
    "$root"/host "$root"/hostfs "$root"/upper "$root"/newroot "$root"/files/etc/systemd/system \
    "$root"/files/etc/fairshare-test

cp "$busybox" "$root/bin/busybox"
for applet in sh mount umount mkdir insmod switch_root cat cp rm poweroff sleep; do
    ln -s busybox "$root/bin/$applet"
done

# --- modules: in dependency order; a version without one (built in) just skips it ---------
: >"$root/modules/order"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
    netfs fscache 9pnet 9pnet_virtio 9p overlay; do
    f=$(find "$moddir" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) | head -n 1)
    case "$f" in
        "") log "module $m not in $kver (built in?), skipped"; continue ;;
        *.xz) xz -dc "$f" >"$root/modules/$m.ko" ;;
        *.zst) zstd -qdc "$f" >"$root/modules/$m.ko" ;;
        *) cp "$f" "$root/modules/$m.ko" ;;
    esac
    echo "$m" >>"$root/modules/order"
done
echo "$kmods" >"$root/modules/hostdir"
[ -z "${FAIRSHARE_VM_BIND:-}" ] || echo "$FAIRSHARE_VM_BIND" >"$root/modules/bind"

# --- files copied over the overlay (they land in the tmpfs upper) ----------------------
files=$root/files
unitdir=$files/etc/systemd/system

# The scenario's environment, in EnvironmentFile= syntax (double quotes, \ and " escaped).
envfile=$files/etc/fairshare-test/env
quote() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }
printf 'FAIRSHARE_SCENARIO="%s"\n' "$(quote "$scenario")" >"$envfile"
for kv in "$@"; do
    case "$kv" in
        [A-Za-z_]*=*) ;;
        *) log "not KEY=VALUE: $kv"; exit 2 ;;
    esac
    printf '%s="%s"\n' "${kv%%=*}" "$(quote "${kv#*=}")" >>"$envfile"
done

# The wrapper prints the harness's FSRESULT lines (tier-1 protocol, Tests/vm/guest-lib.sh)
# around the scenario: boot state first, FSDONE last, so a checker can tell a finished run
# from a crashed or timed-out one.
cat >"$files/etc/fairshare-test/run" <<'EOF'
#!/bin/sh
up() { cut -d' ' -f1 /proc/uptime; }
# PID 1 stops printing job status on the console (SIGRTMIN+21): it would split our lines.
kill -s RTMIN+21 1 2>/dev/null || kill -55 1 2>/dev/null || true
echo "FSRESULT unit_start_uptime $(up)"
# Type=exec: our start job is done already, so this waits for the rest of the boot only.
state=$(timeout 120 systemctl is-system-running --wait 2>/dev/null) || true
echo "FSRESULT system_state ${state:-unknown}"
echo "FSRESULT boot_done_uptime $(up)"
echo "FSRESULT kernel $(uname -r)"
echo "FSRESULT cgroup_controllers $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)"
failed=$(systemctl list-units --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
echo "FSRESULT failed_units ${failed:-none}"
echo "FSRESULT scenario $FAIRSHARE_SCENARIO"
echo "FSRESULT scenario_start_uptime $(up)"
# Not executable: run it with its #! interpreter (arguments allowed) or sh.
rc=0
if [ -x "$FAIRSHARE_SCENARIO" ]; then
    "$FAIRSHARE_SCENARIO" </dev/null || rc=$?
else
    interp='sh'
    first=$(head -n 1 "$FAIRSHARE_SCENARIO")
    case "$first" in "#!"*) interp=${first#??} ;; esac
    # shellcheck disable=SC2086 # the interpreter line may carry arguments
    $interp "$FAIRSHARE_SCENARIO" </dev/null || rc=$?
fi
echo "FSRESULT scenario_exit $rc"
echo "FSRESULT end_uptime $(up)"
echo FSDONE
exit "$rc"
EOF
chmod 755 "$files/etc/fairshare-test/run"

# Type=exec, not oneshot: a oneshot's start job would keep the boot transaction open, and
# `systemctl is-system-running` would say "starting" for as long as the scenario runs.
cat >"$unitdir/fairshare-test.service" <<'EOF'
[Unit]
Description=Fairshare tier-2 test scenario
After=multi-user.target

[Service]
Type=exec
EnvironmentFile=/etc/fairshare-test/env
ExecStart=/etc/fairshare-test/run
# Console output is the result channel; no pager, no colours on it.
Environment=SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0 TERM=dumb HOME=/root
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
TimeoutStartSec=infinity
# Whatever happened, the machine stops: the host waits for qemu to exit. The overlay's
# upper is a tmpfs, so there is nothing to sync and no reason for an orderly shutdown.
ExecStopPost=/bin/systemctl poweroff --force --force

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$unitdir/multi-user.target.wants"
ln -s ../fairshare-test.service "$unitdir/multi-user.target.wants/fairshare-test.service"

# Masks (symlinks to /dev/null in the upper's /etc/systemd/system). Under TCG every process
# costs ~0.5-2 s, so what does not matter to a cgroup agent goes; the rest stays a stock
# Debian boot. Found by booting with `journalctl -b -o short-monotonic` (blame takes minutes).
# FAIRSHARE_VM_MASK adds more; FAIRSHARE_VM_MASK_DEFAULT=0 drops these (a slower, fuller boot).
masks="
systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer
getty@.service serial-getty@.service console-getty.service getty.target
networking.service ifupdown-pre.service systemd-networkd-wait-online.service
systemd-timesyncd.service
apt-daily.timer apt-daily-upgrade.timer man-db.timer dpkg-db-backup.timer
e2scrub_all.timer e2scrub_reap.service fstrim.timer
postgresql.service
systemd-pstore.service systemd-sysusers.service systemd-journal-flush.service
modprobe@drm.service modprobe@dm_mod.service modprobe@loop.service modprobe@fuse.service
sys-fs-fuse-connections.mount systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
"
# Why, in the order above:
# - tmpfiles-setup: tmp.conf says "D /tmp": it would whiteout every file of the host's /tmp
#   (thousands, each a 9p walk) and hide them from the scenario; the clean timer likewise.
# - gettys: the console is the result channel; no logins. Network units: no network.
# - timesyncd: no network. apt/man-db/dpkg/e2scrub/fstrim timers, postgresql: this host's
#   jobs, not the guest's.
# - pstore, sysusers (the host's users exist already), journal-flush (the journal stays in
#   /run/log/journal; journalctl reads it the same): 2-4 s each on the critical chain.
# - modprobe@drm/dm_mod/loop/fuse, fusectl, binfmt: modules and filesystems nobody uses here.
[ "${FAIRSHARE_VM_MASK_DEFAULT:-1}" != 0 ] || masks=""
for u in $masks ${FAIRSHARE_VM_MASK:-}; do
    ln -sf /dev/null "$unitdir/$u"
done

# Generators run at every boot and every daemon-reload (a package's postinst), ~12 s under
# a loaded TCG. None has work here: fstab is empty, no disks (gpt-auto, cryptsetup,
# integrity, verity, hibernate), gettys are masked, the sysv scripts have native units.
# debug-generator stays: it gives `systemd.mask=` and friends on the kernel command line.
gens="
postgresql-generator systemd-cryptsetup-generator systemd-fstab-generator
systemd-getty-generator systemd-gpt-auto-generator systemd-hibernate-resume-generator
systemd-integritysetup-generator systemd-rc-local-generator systemd-run-generator
systemd-system-update-generator systemd-sysv-generator systemd-veritysetup-generator
"
[ "${FAIRSHARE_VM_MASK_DEFAULT:-1}" != 0 ] || gens=""
mkdir -p "$files/etc/systemd/system-generators"
for g in $gens; do
    ln -sf /dev/null "$files/etc/systemd/system-generators/$g"
done

# A machine id of its own: journald names its directory after it, and an empty one would
# make systemd treat this as a first boot (firstboot, preset-all).
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$files/etc/machine-id"
echo >>"$files/etc/machine-id"
echo fairshare-sysvm >"$files/etc/hostname"

# --- /init -------------------------------------------------------------------------------
cat >"$root/init" <<'EOF'
#!/bin/sh
# PID 1 until switch_root: host root over 9p, a tmpfs overlay on it, then systemd.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# The BIOS leaves the console mid-line; results must start their own lines.
echo
die() {
    echo "FSRESULT init_failed $*"
    echo FSDONE
    poweroff -f
    sleep 60
}
while read -r m; do
    insmod "/modules/$m.ko" || die "insmod $m"
done </modules/order
# cache=loose: the host tree is read-only for the guest's lifetime, so the guest may keep
# what it read; under TCG every 9p round trip is expensive (systemd reads thousands of files).
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host ||
    die "mount 9p hostroot"
mount -t tmpfs -o mode=0755 tmpfs /upper || die "mount tmpfs"
mkdir -p /upper/upper /upper/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/upper,workdir=/upper/work /newroot ||
    die "mount overlay"
cp -a /files/. /newroot/ || die "copy files"
# The host's root carries a container marker (/.dockerenv): without it systemd detects
# the VM (qemu) instead of docker, as on a real machine. A whiteout in the upper hides it.
rm -f /newroot/.dockerenv
# man-db's dpkg trigger (every package with a man page: the fairshare and node-exporter .debs)
# rebuilds the index of the host's man pages over 9p: minutes under a loaded TCG, for nothing a
# test reads. Without this flag file (man-db/auto-update false) the trigger skips it.
rm -f /newroot/var/lib/man-db/auto-update
# Another root than the host's (a Debian 13 root): the host's root comes as `hostfs`, and the
# repository is bound in at its own path (the scenario, the package, the cached tools).
hostfs=/host
if [ -f /modules/bind ]; then
    hostfs=/hostfs
    mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostfs /hostfs ||
        die "mount 9p hostfs"
    bind=$(cat /modules/bind)
    mkdir -p "/newroot$bind"
    mount --bind "/hostfs$bind" "/newroot$bind" || die "bind $bind"
fi
# The kernel's own modules at /lib/modules/VERSION, from the host's cache: modprobe works.
kmods=$(cat /modules/hostdir)
mkdir -p "/newroot/lib/modules/${kmods##*/}"
mount --bind "$hostfs$kmods" "/newroot/lib/modules/${kmods##*/}" || die "bind $kmods"
# systemd mounts its own proc, sys and dev; hand the devtmpfs over so /dev/console stays.
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
EOF
chmod 755 "$root/init"
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
log "$out ($(du -h "$out" | cut -f1), kernel $kver)"

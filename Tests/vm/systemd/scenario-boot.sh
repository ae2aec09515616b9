#!/bin/bash
# Tier-2 boot scenario: is this a real systemd machine? PID 1, cgroup v2 with cpu and io,
# journald, D-Bus, a transient unit's cgroup weights, dpkg. It only measures and prints;
# check-systemd.py asserts. Runs as fairshare-test.service, from the host's tree in place.
set -euo pipefail
# shellcheck source=Tests/vm/systemd/guest-lib.sh
. "$(dirname "$0")/guest-lib.sh"
trap_errors

yes_no() { if "$@"; then echo yes; else echo no; fi; }

# --- PID 1 and the cgroup tree -------------------------------------------------------------
r pid1_comm "$(cat /proc/1/comm)"
r pid1_exe "$(readlink /proc/1/exe)"
r virtualization "$(systemd-detect-virt || true)"
r cgroup_fs "$(stat -fc %T "$CG")"
# systemd enables controllers lazily: cpu and io appear once some unit asks for them.
r system_slice_subtree_control_at_boot "$(cat "$CG/system.slice/cgroup.subtree_control")"
r cgroup_top "$(find "$CG" -mindepth 1 -maxdepth 1 -type d -printf '%f ')"
r self_cgroup "$(sed -n 's/^0:://p' /proc/self/cgroup)"
r hostname "$(hostname)"
r machine_id "$(cat /etc/machine-id)"
capture failed_units systemctl list-units --failed --no-legend --plain
capture boot_time systemd-analyze time
# Not blame or critical-chain: one D-Bus call per unit, minutes under a loaded TCG.
check modprobe_bfq modprobe bfq
r io_schedulers_builtin "$(grep -o 'bfq\|mq-deadline\|kyber' /lib/modules/"$(uname -r)"/modules.builtin | tr '\n' ' ')"

mark journal
# --- journald ------------------------------------------------------------------------------
capture_json journal_last journalctl -o json -n 1 --no-pager
echo "fairshare tier-2 journal probe" | systemd-cat -t fairshare-probe -p notice
journalctl --sync
capture_json journal_probe journalctl -o json --no-pager -t fairshare-probe

mark dbus
# --- D-Bus and the manager -----------------------------------------------------------------
r dbus_socket "$(yes_no test -S /run/dbus/system_bus_socket)"
r systemd_private_socket "$(yes_no test -S /run/systemd/private)"
r dbus_active "$(systemctl is-active dbus.service || true)"
r manager_version "$(systemctl show -p Version --value)"
# Through dbus-daemon (busctl --system), not systemd's private socket.
capture busctl_version busctl --system get-property org.freedesktop.systemd1 \
    /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version

mark transient
# --- a transient unit gets its weights ------------------------------------------------------
probe=$CG/system.slice/probe.service
check systemd_run systemd-run --unit=probe --property=CPUWeight=50 --property=IOWeight=200 sleep 60
r probe_control_group "$(systemctl show -p ControlGroup --value probe.service)"
r probe_cpu_weight "$(read_file "$probe/cpu.weight")"
r probe_io_weight "$(read_file "$probe/io.weight")"
r probe_procs "$(wc -l <"$probe/cgroup.procs" 2>/dev/null || echo missing)"
r cgroup_subtree_control "$(cat "$CG/cgroup.subtree_control")"
r system_slice_subtree_control "$(cat "$CG/system.slice/cgroup.subtree_control")"
# A runtime change reaches the file too (what an admin's set-property would do).
check set_property systemctl set-property --runtime probe.service CPUWeight=300
r probe_cpu_weight_after_set "$(read_file "$probe/cpu.weight")"
check stop_probe systemctl stop probe.service
r probe_cgroup_after_stop "$(yes_no test -e "$probe")"

mark dpkg
# --- dpkg: a small local package with a unit, installed and started -------------------------
pkg=/tmp/fairshare-probe
rm -rf "$pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/lib/systemd/system" "$pkg/usr/share/fairshare-probe"
cat >"$pkg/DEBIAN/control" <<'EOF'
Package: fairshare-probe
Version: 1.0
Architecture: all
Maintainer: Fairshare tests <tests@invalid>
Description: tier-2 harness probe package
EOF
cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
systemctl daemon-reload
systemctl start fairshare-probe.service
EOF
cat >"$pkg/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
systemctl stop fairshare-probe.service
EOF
chmod 755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm"
cat >"$pkg/lib/systemd/system/fairshare-probe.service" <<'EOF'
[Unit]
Description=tier-2 harness probe

[Service]
Type=exec
ExecStart=/bin/sleep infinity
CPUWeight=70
EOF
echo hello >"$pkg/usr/share/fairshare-probe/hello"
check dpkg_build dpkg-deb --root-owner-group --build "$pkg" /tmp/fairshare-probe.deb
t0=$(now)
capture dpkg_install dpkg -i /tmp/fairshare-probe.deb
r dpkg_install_s "$(elapsed "$t0")"
r dpkg_status "$(dpkg-query -W -f='${Status}' fairshare-probe 2>/dev/null || echo missing)"
r dpkg_file "$(cat /usr/share/fairshare-probe/hello 2>/dev/null || echo missing)"
r deb_unit_active "$(systemctl is-active fairshare-probe.service || true)"
r deb_unit_cpu_weight "$(read_file "$CG/system.slice/fairshare-probe.service/cpu.weight")"
# (No purge here: every dpkg run reads all of /var/lib/dpkg/info over 9p, ~10-60 s.)

mark end
r scenario_name boot

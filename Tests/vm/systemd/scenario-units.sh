#!/bin/bash
# Unit-backed groups on a real systemd (252): the sd-bus code of FairshareSystemd, timed, and
# the agent end to end with a unit group: weights set through systemd, the unit's processes
# left alone, a scope that appears later, daemon-reexec, weights given back at SIGTERM, and
# the agent's CPU per pass with and without the unit group. Prints FSRESULT lines.
# Runs on the tier-2 harness (Tests/vm/systemd/run-systemd-vm.sh, guest-lib.sh):
#   run-systemd-vm.sh Tests/vm/systemd/scenario-units.sh LOG 900 FAIRSHARE_BIN=.../fairshare
# Seen under qemu without KVM (TCG, 2 vCPUs), release build, three runs: ListUnitsByPatterns
# median 10-80 ms (with the host's load), its first call with N ControlGroup reads about
# 60-230 ms, 2 Properties.Get 50-95 ms, SetUnitProperties 17-86 ms; the agent's CPU per
# pass 45-49 ms with the unit group against 25-29 ms without.
set -euo pipefail
. "$(dirname "$0")/guest-lib.sh"
trap_errors

bin=${FAIRSHARE_BIN:-$FAIRSHARE_REPO/.build/release/fairshare}
r bin "$bin"
r systemd_private_socket "$(test -S /run/systemd/private && echo yes || echo no)"

# --- 1. the calls, one by one --------------------------------------------------------------
capture list_services "$bin" probe-units --pattern '*.service' --repeat-count 50
capture list_all "$bin" probe-units --pattern '*.service' --pattern '*.scope' --pattern '*.slice' --repeat-count 50
check run_probe systemd-run --unit=probe sleep 100
capture set_probe "$bin" probe-units --unit probe.service --cpu-weight 250 --io-weight 250 --repeat-count 0
r probe_cpu_weight_file "$(read_file "$CG/system.slice/probe.service/cpu.weight")"
r probe_systemctl_cpu_weight "$(systemctl show -p CPUWeight --value probe.service)"
capture restore_probe "$bin" probe-units --unit probe.service --cpu-weight 400 --io-weight 400 --restore --repeat-count 0
r probe_cpu_weight_file_after_restore "$(read_file "$CG/system.slice/probe.service/cpu.weight")"
r probe_systemctl_cpu_weight_after_restore "$(systemctl show -p CPUWeight --value probe.service)"
capture share "$bin" probe-units --share /system.slice/probe.service --share /system.slice --share /user.slice --repeat-count 50
r system_slice_children "$(find "$CG/system.slice" -mindepth 1 -maxdepth 1 -type d | wc -l)"
r units_loaded "$(systemctl list-units --all --no-legend --plain | wc -l)"

# --- 2. the agent with a unit group --------------------------------------------------------
cat >/tmp/units-policy.toml <<'EOF'
[agent]
interval = "500ms"
report_interval = "5s"

[[group]]
name = "sleepers"
shares = 1
[group.match]
comm = ["sleep"]

[[group]]
name = "probes"
shares = 2
[group.match]
units = ["probe.service", "probe-*.scope"]
EOF
capture check_policy "$bin" check /tmp/units-policy.toml
sleep 1000 &
outside=$!
"$bin" run --policy /tmp/units-policy.toml --cgroup-root /sys/fs/cgroup/fairshare-vm --log-target console \
    --socket /tmp/fs.sock >/tmp/agent.log 2>&1 &
agent=$!
sleep 4
probe_pid=$(systemctl show -p MainPID --value probe.service)
r probe_main_pid "$probe_pid"
r probe_sleep_cgroup "$(cgroup_of "$probe_pid")"
r outside_sleep_cgroup "$(cgroup_of "$outside")"
r agent_probe_cpu_weight_file "$(read_file "$CG/system.slice/probe.service/cpu.weight")"
r agent_probe_io_weight_file "$(read_file "$CG/system.slice/probe.service/io.weight" | tr '\n' ' ')"
r agent_probe_systemctl "$(systemctl show -p CPUWeight -p IOWeight probe.service | tr '\n' ' ')"
# A unit that appears later: a transient scope.
systemd-run --scope --unit=probe-late sleep 1000 >/dev/null 2>&1 &
sleep 3
r late_scope_active "$(systemctl is-active probe-late.scope || true)"
r late_scope_cpu_weight_file "$(read_file "$CG/system.slice/probe-late.scope/cpu.weight")"
late_pid=$(cat "$CG/system.slice/probe-late.scope/cgroup.procs" 2>/dev/null | head -1 || true)
r late_scope_sleep_cgroup "$(cgroup_of "${late_pid:-0}")"
capture_json status_json "$bin" status --json --socket /tmp/fs.sock
capture status_table "$bin" status --socket /tmp/fs.sock
capture explain_probe "$bin" explain "$probe_pid" --socket /tmp/fs.sock
# systemd re-executes: the agent's connection breaks and must be re-opened.
check daemon_reexec systemctl daemon-reexec
sleep 2
systemd-run --scope --unit=probe-after-reexec sleep 1000 >/dev/null 2>&1 &
sleep 3
r after_reexec_scope_cpu_weight_file "$(read_file "$CG/system.slice/probe-after-reexec.scope/cpu.weight")"
# The agent's cost per pass: CPU time (clock ticks of 10 ms) over passes, between two points.
cost() {
    local t0 c0 t1 c1
    t0=$(ticks) c0=$(awk '{print $14 + $15}' /proc/$agent/stat)
    sleep 15
    t1=$(ticks) c1=$(awk '{print $14 + $15}' /proc/$agent/stat)
    r "$1_passes" "$((t1 - t0))"
    r "$1_cpu_ms_per_pass" "$(awk -v c=$((c1 - c0)) -v p=$((t1 - t0)) 'BEGIN { printf "%.2f", c * 10 / p }')"
}
ticks() { "$bin" status --json --socket /tmp/fs.sock | sed -n 's/.*"ticks" : \([0-9]*\).*/\1/p'; }
cost with_units
kill -TERM "$agent"
wait "$agent" || true
r after_stop_probe_systemctl "$(systemctl show -p CPUWeight -p IOWeight probe.service | tr '\n' ' ')"
r after_stop_probe_cpu_weight_file "$(read_file "$CG/system.slice/probe.service/cpu.weight")"
r after_stop_late_systemctl "$(systemctl show -p CPUWeight probe-late.scope | tr '\n' ' ')"
r after_stop_late_cpu_weight_file "$(read_file "$CG/system.slice/probe-late.scope/cpu.weight")"
r after_stop_outside_sleep_cgroup "$(cgroup_of "$outside")"
r after_stop_reexec_scope_systemctl "$(systemctl show -p CPUWeight probe-after-reexec.scope | tr '\n' ' ')"
block TEXT agent_log /tmp/agent.log
# The same agent without the unit group, for the cost per pass it adds.
sed '/name = "probes"/,$d' /tmp/units-policy.toml | sed '$d' >/tmp/plain-policy.toml
block TEXT plain_policy /tmp/plain-policy.toml
"$bin" run --policy /tmp/plain-policy.toml --cgroup-root /sys/fs/cgroup/fairshare-vm --log-target console \
    --socket /tmp/fs.sock >/tmp/agent2.log 2>&1 &
agent=$!
sleep 4
cost without_units
kill -TERM "$agent"
wait "$agent" || true
kill "$outside" 2>/dev/null || true
systemctl stop probe.service probe-late.scope probe-after-reexec.scope 2>/dev/null || true
r scenario_done yes

#!/usr/bin/env python3
"""Host-side checker for tier-2 runs (run-systemd-vm.sh): a full systemd guest.

Reads the console log, parses the FSRESULT lines and FSJSON/FSTEXT blocks (the tier-1
protocol, parsed by Tests/vm/check-enforce.py's Log) and the FSHOST lines the host appended.

Harness checks, for any scenario: the guest finished (FSDONE), the scenario exited 0, no
`FSRESULT scenario_error`, no `FSRESULT check NAME FAIL`, qemu exited 0 and was not killed
at the timeout. Unless --harness-only, also the boot scenario's facts (scenario-boot.sh):
systemd is PID 1, cgroup v2 offers cpu and io, the system is running (or degraded), journald
and D-Bus answer, a transient unit's CPUWeight/IOWeight reach its cgroup, dpkg -i works.

Usage: check-systemd.py CONSOLE_LOG [--harness-only] [--label NAME]
Exit 1 on any failed check; the last line is `LABEL: N passed, N failed`.
"""

import argparse
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_tier1():
    """The tier-1 checker module: one console parser and one failure report for both tiers."""
    spec = importlib.util.spec_from_file_location("check_enforce", os.path.join(HERE, "..", "check-enforce.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_tier1 = load_tier1()
Log = _tier1.Log


def host_facts(text):
    """FSHOST KEY VALUE lines appended by run-systemd-vm.sh."""
    facts = {}
    for line in text.splitlines():
        m = re.match(r"FSHOST (\S+) ?(.*)$", line.strip())
        if m:
            facts[m.group(1)] = m.group(2).strip()
    return facts


class Checker:
    def __init__(self):
        self.checks = []  # (section, name, ok, measured, expected)

    def check(self, section, name, ok, measured, expected):
        self.checks.append((section, name, bool(ok), str(measured), str(expected)))
        return ok

    @property
    def failed(self):
        return [c for c in self.checks if not c[2]]


def check_harness(c, log, host):
    if host:
        c.check("harness", "no timeout", host.get("timed_out") != "yes",
                f"timed_out={host.get('timed_out', 'no')} after {host.get('total_s')} s",
                f"powered off within {host.get('timeout_s')} s")
        c.check("harness", "qemu exit 0", host.get("qemu_exit") == "0", host.get("qemu_exit"), 0)
    init = log.one("init_failed")
    c.check("harness", "initramfs handed over to systemd", init is None, init or "ok", "no init_failed")
    c.check("harness", "scenario finished (FSDONE)", log.done, f"FSDONE={'yes' if log.done else 'no'}, "
            f"{log.lines} lines", "FSDONE")
    c.check("harness", "scenario exit 0", log.one("scenario_exit") == "0", log.one("scenario_exit"), 0)
    errors = [" ".join(r) for r in log.all("scenario_error")]
    c.check("harness", "no command failed under set -e", not errors, errors or "none", "none")
    failed = [" ".join(r) for r in log.all("check") if len(r) >= 2 and r[1] != "ok"]
    named = len(log.all("check"))
    c.check("harness", f"scenario's own checks ({named})", not failed, failed or "all ok", "all ok")


def check_boot(c, log):
    c.check("pid1", "PID 1 is systemd", log.one("pid1_comm") == "systemd"
            and (log.one("pid1_exe") or "").endswith("/systemd"),
            f"comm {log.one('pid1_comm')}, exe {log.one('pid1_exe')}", "systemd")
    c.check("pid1", "a virtual machine, not a container", log.one("virtualization") in ("qemu", "kvm"),
            log.one("virtualization"), "qemu")
    state = log.one("system_state")
    failed = log.one("failed_units")
    c.check("pid1", "system running or degraded", state in ("running", "degraded"),
            f"{state}; failed units: {failed}", "running|degraded")
    ctl = (log.one("cgroup_controllers") or "").split()
    c.check("cgroup", "cgroup2 at /sys/fs/cgroup", log.one("cgroup_fs") == "cgroup2fs", log.one("cgroup_fs"),
            "cgroup2fs")
    c.check("cgroup", "cgroup.controllers has cpu and io", "cpu" in ctl and "io" in ctl, " ".join(ctl), "cpu io")
    sub = (log.one("system_slice_subtree_control") or "").split()
    c.check("cgroup", "system.slice enables cpu and io once a unit sets weights", "cpu" in sub and "io" in sub,
            f"{' '.join(sub) or 'none'} (at boot: {log.one('system_slice_subtree_control_at_boot')})", "cpu io")
    c.check("cgroup", "the scenario runs in its unit's cgroup",
            log.one("self_cgroup") == "/system.slice/fairshare-test.service", log.one("self_cgroup"),
            "/system.slice/fairshare-test.service")

    last, err = log.json_lines("journal_last")
    c.check("journal", "journalctl -o json -n 1 answers", log.one("journal_last_exit") == "0" and last
            and "__REALTIME_TIMESTAMP" in last[-1],
            err or f"exit {log.one('journal_last_exit')}, {len(last or [])} entries", "one JSON entry")
    probe, err = log.json_lines("journal_probe")
    msgs = [e.get("MESSAGE") for e in probe or []]
    c.check("journal", "a message sent with systemd-cat reads back", "fairshare tier-2 journal probe" in msgs,
            err or msgs, "fairshare tier-2 journal probe")

    c.check("dbus", "dbus-daemon socket /run/dbus/system_bus_socket", log.one("dbus_socket") == "yes"
            and log.one("dbus_active") == "active",
            f"socket {log.one('dbus_socket')}, dbus.service {log.one('dbus_active')}", "yes, active")
    version = log.one("manager_version") or ""
    c.check("dbus", "systemctl show -p Version", re.match(r"\d{3}", version), version or "empty", "252...")
    bus = (log.text("busctl_version") or "").strip()
    c.check("dbus", "busctl --system reads the manager's Version", log.one("busctl_version_exit") == "0"
            and version and version in bus, f"exit {log.one('busctl_version_exit')}: {bus[:120]!r}",
            f's "{version}"')

    c.check("transient", "systemd-run probe.service in system.slice",
            log.one("probe_control_group") == "/system.slice/probe.service"
            and (log.one("probe_procs") or "0") != "0",
            f"{log.one('probe_control_group')}, {log.one('probe_procs')} procs", "/system.slice/probe.service")
    c.check("transient", "CPUWeight=50 -> cpu.weight 50", log.one("probe_cpu_weight") == "50",
            log.one("probe_cpu_weight"), 50)
    c.check("transient", "IOWeight=200 -> io.weight default 200", log.one("probe_io_weight") == "default 200",
            log.one("probe_io_weight"), "default 200")
    c.check("transient", "set-property CPUWeight=300 -> cpu.weight 300",
            log.one("probe_cpu_weight_after_set") == "300", log.one("probe_cpu_weight_after_set"), 300)
    c.check("transient", "stopped unit's cgroup removed", log.one("probe_cgroup_after_stop") == "no",
            log.one("probe_cgroup_after_stop"), "no")

    out = (log.text("dpkg_install") or "").strip().splitlines()
    c.check("dpkg", "dpkg -i a local .deb", log.one("dpkg_install_exit") == "0"
            and log.one("dpkg_status") == "install ok installed" and log.one("dpkg_file") == "hello",
            f"exit {log.one('dpkg_install_exit')} in {log.one('dpkg_install_s')} s, "
            f"status {log.one('dpkg_status')!r}, file {log.one('dpkg_file')!r}; {out[-3:]}",
            "exit 0, install ok installed, file present")
    c.check("dpkg", "its postinst started its unit (cpu.weight 70)", log.one("deb_unit_active") == "active"
            and log.one("deb_unit_cpu_weight") == "70",
            f"{log.one('deb_unit_active')}, cpu.weight {log.one('deb_unit_cpu_weight')}", "active, 70")


def timing_lines(log, host):
    out = [f"kernel {log.one('kernel')}; systemd {log.one('manager_version', '?')}; "
           f"state {log.one('system_state')}; failed units: {log.one('failed_units')}"]
    out.append(f"boot: qemu start to scenario start {host.get('boot_to_scenario_s', '?')} s (host clock); "
               f"guest uptime: test unit started {log.one('unit_start_uptime')} s, boot done "
               f"{log.one('boot_done_uptime')} s, scenario {log.one('scenario_start_uptime')} to "
               f"{log.one('end_uptime')} s; whole run {host.get('total_s', '?')} s")
    marks = [(r[0], float(r[1])) for r in log.all("mark") if len(r) >= 2 and re.match(r"[\d.]+$", r[1])]
    start = log.num("scenario_start_uptime")
    if marks and start is not None:
        steps, prev = [], ("setup", start)
        for name, t in marks:
            steps.append(f"{prev[0]} {t - prev[1]:.1f}")
            prev = (name, t)
        out.append("scenario phases (s): " + ", ".join(steps))
    t = (log.text("boot_time") or "").strip().splitlines()
    if t:
        out.append(f"systemd-analyze: {t[0]}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--harness-only", action="store_true", help="only the harness checks (other scenarios)")
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    label = args.label or ("vm-systemd" if args.harness_only else "vm-systemd-boot")

    try:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        print(f"{label}: cannot read {args.log}: {e}")
        print(f"{label}: 0 passed, 1 failed")
        return 1
    log, host = Log(text), host_facts(text)

    c = Checker()
    check_harness(c, log, host)
    if not args.harness_only:
        check_boot(c, log)

    if c.failed:
        # Every JSON block stays in the console log; 40 lines of each text block suffice here.
        _tier1.print_failure(c, log, args.log, skip_block=lambda name, kind: kind == "JSON", tail=40)
    for line in timing_lines(log, host):
        print(line)
    print(f"{label}: {len(c.checks) - len(c.failed)} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Host-side checker for scenario-service.sh (issue 4 on a systemd machine).

Reads the guest's console log: every FSCHECK line must say PASS, every required check must
be there (a check that never ran is a failure, not a pass), and FSSERVICE-DONE (the scenario's
own last line) must appear.
Issue 11: node_exporter's /metrics page (FSTEXT node-metrics) must carry the fairshare_ series
with the values of `fairshare status --json` taken right after it (FSTEXT metrics-status):
members and weights exactly, cpu usage within what the group can have used in between.
Prints each check, the FSRESULT measurements, and `vm-systemd: N passed, M failed`.
Usage: check-service.py CONSOLE_LOG
"""
import json
import re
import sys

REQUIRED = [
    "installed", "not-started-by-install", "group-created", "catalog-installed", "unit-verify", "unit-exposure",
    "sandbox-hears-exec", "sandbox-needs-initial-netns", "sandbox-needs-af-netlink",
    "sandbox-needs-cap-net-admin", "sandbox-old-hardening-deaf", "ipdeny-would-cut-groups",
    "enable-now", "status-text", "unit-type", "enabled",
    "observe-changes-nothing", "observe-agent-not-moved", "observe-would", "observe-metrics", "observe-journal", "observe-to-enforce",
    "agent-in-leaf",
    "weights-agent", "unit-weight", "unit-not-moved",
    "share-agent-groups", "share-unit-group",
    "events-source", "events-short-lived", "events-exec-received", "group-keeps-ip",
    "status-root", "status-group-member", "reload-needs-root", "status-other-user",
    "mine-own", "mine-nothing-of-others", "mine-refuses-the-rest", "mine-socket-mode",
    "reload-applied", "reload-broken-fails", "reload-broken-keeps",
    "observe-again-gives-back", "enforce-again",
    "journal-started", "journal-policy_loaded", "journal-policy_rejected", "journal-moved", "journal-weights",
    "journal-fields", "journal-catalog",
    "restarted", "restart-nothing-lost", "restart-adopted-in-place", "restart-weights", "restart-no-strays",
    "watchdog-pings", "watchdog-restart", "watchdog-nothing-lost",
    "stop-clean", "stop-nothing-lost", "stop-given-back", "stop-groups-removed", "stop-unit-weight-restored",
    "stop-db-alive",
    "node-exporter-running", "node-exporter-textfile-dir", "metrics-curl", "metrics-textfile-mode",
    "metrics-readable-by-prometheus", "metrics-no-temporary", "metrics-promtool",
    "metrics-series", "metrics-members", "metrics-weights", "metrics-cpu-usage",
]
# Every group's series that status has a figure for, on node_exporter's page.
GROUP_FAMILIES = [
    "fairshare_group_cpu_usage_seconds_total", "fairshare_group_cpu_cfs_throttled_periods_total",
    "fairshare_group_cpu_cfs_throttled_seconds_total", "fairshare_group_cpu_weight", "fairshare_group_io_weight",
    "fairshare_group_members", "fairshare_group_idle",
]
AGENT_FAMILIES = [
    "fairshare_passes_total", "fairshare_pass_duration_seconds_count", "fairshare_process_moves_total",
    "fairshare_policy_reloads_total", "fairshare_policy_loaded_timestamp_seconds", "fairshare_process_events_total",
    "fairshare_classification_latency_seconds_count", "fairshare_agent_info",
]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def texts(lines):
    """FSTEXT-BEGIN NAME ... FSTEXT-END blocks, by name."""
    blocks, name = {}, None
    for line in lines:
        if line.startswith("FSTEXT-BEGIN "):
            name = line.split(None, 1)[1].strip()
            blocks[name] = []
        elif line.startswith("FSTEXT-END"):
            name = None
        elif name is not None:
            blocks[name].append(line)
    return blocks


def metric_checks(blocks, results):
    """The metrics on node_exporter's page against status, as (name, verdict, detail)."""
    page, status_lines = blocks.get("node-metrics"), blocks.get("metrics-status")
    if not page or not status_lines:
        return [("metrics-series", "FAIL", "no node-metrics or metrics-status text in the log")]
    try:
        status = json.loads("".join(status_lines))
    except ValueError as e:
        return [("metrics-series", "FAIL", f"metrics-status is not JSON: {e}")]
    samples = {}
    for line in page:
        m = SAMPLE.match(line.strip())
        if m and not line.startswith("#"):
            samples[(m.group(1), tuple(sorted(LABEL.findall(m.group(2) or ""))))] = float(m.group(3))

    def value(family, group):
        return samples.get((family, (("group", group),)))

    groups = status["groups"]
    missing = [f for f in AGENT_FAMILIES if not any(k[0] == f for k in samples)]
    for g in groups:
        for f in GROUP_FAMILIES:
            wanted = {"fairshare_group_cpu_usage_seconds_total": g.get("usage_usec"),
                      "fairshare_group_cpu_weight": g.get("cpu_weight"), "fairshare_group_io_weight": g.get("io_weight")}
            if wanted.get(f, 0) is not None and value(f, g["name"]) is None:
                missing.append(f"{f}{{group={g['name']}}}")
    helped = [f for f in GROUP_FAMILIES + ["fairshare_passes_total"] if not any(l.startswith(f"# TYPE {f} ") for l in page)]
    out = [("metrics-series", "FAIL" if missing or helped else "PASS",
            f"{len(samples)} fairshare_ samples for {len(groups)} groups; missing: {missing or 'none'}; without TYPE: {helped or 'none'}")]
    bad = [f"{g['name']}: {value('fairshare_group_members', g['name'])} vs {g['members']}" for g in groups
           if value("fairshare_group_members", g["name"]) != g["members"]]
    out.append(("metrics-members", "FAIL" if bad else "PASS",
                "members equal status: " + ", ".join(f"{g['name']} {g['members']}" for g in groups) + (f"; differ: {bad}" if bad else "")))
    bad = []
    for g in groups:
        for key, f in (("cpu_weight", "fairshare_group_cpu_weight"), ("io_weight", "fairshare_group_io_weight")):
            if g.get(key) is not None and value(f, g["name"]) != g[key]:
                bad.append(f"{g['name']} {key}: {value(f, g['name'])} vs {g[key]}")
    out.append(("metrics-weights", "FAIL" if bad else "PASS",
                "cpu/io weights equal status: " + ", ".join(f"{g['name']} {g.get('cpu_weight')}/{g.get('io_weight')}" for g in groups)
                + (f"; differ: {bad}" if bad else "")))
    # The textfile's counter is the kernel's usage_usec at the pass that wrote it; status's is
    # the same counter at a later pass. So status - metric is >= 0 (the exported counter is never
    # ahead, and equal to the kernel's while the cgroup was not made again) and at most what the
    # machine's CPUs can run between the two reads: the scrape-to-status time, plus up to one
    # interval for each read's pass to be older than its request.
    gap = next((float(r.split()[1]) for r in results if r.startswith("metrics_scrape_to_status_seconds ")), None)
    cpus, interval = status["agent"]["cpus"], status["agent"]["interval_seconds"]
    if gap is None:
        out.append(("metrics-cpu-usage", "FAIL", "no metrics_scrape_to_status_seconds result"))
        return out
    allowed = cpus * (gap + 2 * interval)
    bad, shown = [], []
    for g in groups:
        if g.get("usage_usec") is None:
            continue
        m, st = value("fairshare_group_cpu_usage_seconds_total", g["name"]), g["usage_usec"] / 1e6
        d = None if m is None else st - m
        shown.append(f"{g['name']} {m} vs {st:.3f}")
        if d is None or d < -1e-6 or d > allowed:
            bad.append(g["name"])
    out.append(("metrics-cpu-usage", "FAIL" if bad or not shown else "PASS",
                f"cpu seconds, metrics vs status {gap:.2f} s later (status ahead by 0..{allowed:.1f} s = {cpus:g} CPUs x "
                f"({gap:.2f} + 2 x {interval:g}) s): " + ", ".join(shown) + (f"; out of range: {bad}" if bad else "")))
    return out

REQUIRED_PREFIXES = {"moved-batch-": 2, "moved-inter-": 2}

ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[a-zA-Z])")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    text = open(sys.argv[1], errors="replace").read()
    checks, results, done = [], [], False
    for raw in text.splitlines():
        line = ANSI.sub("", raw).replace("\r", "")
        i = line.find("FSCHECK ")
        if i >= 0:
            # FSCHECK VERDICT NAME DETAIL...
            parts = line[i:].split(None, 3)
            if len(parts) >= 3:
                checks.append((parts[2], parts[1], parts[3] if len(parts) > 3 else ""))
            continue
        i = line.find("FSRESULT ")
        if i >= 0:
            results.append(line[i + len("FSRESULT "):])
        if line.strip().endswith("FSSERVICE-DONE"):
            done = True
    lines = [ANSI.sub("", raw).replace("\r", "") for raw in text.splitlines()]
    checks += metric_checks(texts(lines), results)
    failed = [c for c in checks if c[1] != "PASS"]
    names = [c[0] for c in checks]
    missing = [n for n in REQUIRED if n not in names]
    for prefix, count in REQUIRED_PREFIXES.items():
        if sum(n.startswith(prefix) for n in names) < count:
            missing.append(prefix + "*")
    for name, verdict, detail in checks:
        print(f"  {verdict:4} {name}: {detail}")
    for r in results:
        print(f"  result {r}")
    for m in missing:
        print(f"  MISSING {m}: the check never ran")
    if not done:
        print("  MISSING FSSERVICE-DONE: the scenario did not finish (timeout or crash; see the console log)")
    bad = len(failed) + len(missing) + (0 if done else 1)
    print(f"vm-systemd: {len(checks) - len(failed)} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

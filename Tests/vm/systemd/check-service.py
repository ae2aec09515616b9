#!/usr/bin/env python3
"""Host-side checker for scenario-service.sh (issue 4 on a systemd machine).

Reads the guest's console log: every FSCHECK line must say PASS, every required check must
be there (a check that never ran is a failure, not a pass), and FSSERVICE-DONE (the scenario's
own last line) must appear.
Prints each check, the FSRESULT measurements, and `vm-systemd: N passed, M failed`.
Usage: check-service.py CONSOLE_LOG
"""
import re
import sys

REQUIRED = [
    "installed", "not-started-by-install", "group-created", "catalog-installed",
    "sandbox-hears-exec", "sandbox-needs-initial-netns", "sandbox-needs-af-netlink",
    "sandbox-needs-cap-net-admin", "sandbox-old-hardening-deaf", "ipdeny-would-cut-groups",
    "enable-now", "status-text", "enabled", "agent-in-leaf",
    "weights-agent", "unit-weight", "unit-not-moved",
    "share-agent-groups", "share-unit-group",
    "events-source", "events-short-lived", "events-exec-received", "group-keeps-ip",
    "status-root", "status-group-member", "reload-needs-root", "status-other-user",
    "reload-applied", "reload-broken-fails", "reload-broken-keeps",
    "journal-started", "journal-policy_loaded", "journal-policy_rejected", "journal-moved", "journal-weights",
    "journal-fields", "journal-catalog",
    "restarted", "restart-nothing-lost", "restart-adopted-in-place", "restart-weights", "restart-no-strays",
    "watchdog-pings", "watchdog-restart", "watchdog-nothing-lost",
    "stop-clean", "stop-nothing-lost", "stop-given-back", "stop-groups-removed", "stop-unit-weight-restored",
    "stop-db-alive",
]
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

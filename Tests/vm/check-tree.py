#!/usr/bin/env python3
"""Host-side checker for per-user subgroups and nested groups (scenario-tree.sh, issue 20).

Reads the guest's console log: FSRESULT lines (marks on the guest's /proc/uptime clock), the
sampler's blocks (every 0.5 s: usage_usec, cpu.max and cpu.weight of each cgroup under the
root, two levels), status JSON snapshots and the journal. Usage over a window comes from the
cumulative usage_usec, interpolated between samples (check-fairness.py's Samples).

Checks (margins for a noisy emulated 2-vCPU machine; goals from the issue):
  users      alice, bob, carol (4, 1, 2 burners) in one per_user group: each within
             USERS_PTS points of a third of what the three got over the 20-s window (per
             process it would be 57/14/29%); every burner of a user in ROOT/logins/user-UID,
             one cgroup per user; the cgroups under the root are logins and the three users';
             cpu and io in logins' cgroup.subtree_control, no process in logins itself
  cap        user_max 0.5, user_borrow, user_burst 75%, the group's max 1.5: all three busy:
             each <= 0.5 CPU + CAP_TOL and every sampled cpu.max 50000/100000; bob and carol
             STOPped: alice's cpu.max 150000/100000 and 1.2..1.5 (+5%) CPUs; CONTinued: back
             to 50000 within two intervals; reloaded without user_borrow, alone: <= 0.5 +
             CAP_TOL and 50000 throughout. The policy as the issue writes it (no group max) is
             run first and only reported (see scenario-tree.sh)
  nested     research (3) = lab-a (1) + lab-b (2), teaching (1): 25/50/25 within NESTED_PTS
             points of what the three leaves got; the cgroups ROOT/research/lab-a, .../lab-b,
             ROOT/teaching; cpu and io in research's cgroup.subtree_control
  removal    bob's subgroup gone within two intervals of his last process's death (measured
             by a 50-ms poll: the change happened between the last read that still saw it and
             the first that did not)
  many       20 then 200 users with one idle process each: 20 then 200 subgroups, every
             process in its own; the agent's CPU ticks (utime+stime of /proc/PID/stat) over
             windows of the same length (60 s, one report each) with 200 users <= MANY_RATIO x those with 20;
             printed beside them: ticks per second in each third of a window, the agent's read
             and write calls a second (/proc/PID/io), its pass median (status) and VmRSS
  guarantees after each phase's SIGTERM every process is back in its origin cgroup and no cgroup
             is left under the root; a SIGHUP with a `parent` cycle is rejected (fairshare
             check exits 1 naming the cycle; policy_rejected in the journal; status says not
             applied) and the subgroups, placements and cpu files stay as they were
  agent      ready in every phase, alive at every phase's end, stopped cleanly (exit 0);
             no failure in any status snapshot; no journal entry at warning level or worse
             but the expected policy_rejected and io_shares' (the guest has no disk)
  journal    the guest runs journald and the agent logs to it (FAIRSHARE_VM_JOURNALD=1)

Usage: check-tree.py CONSOLE_LOG [--results FILE] [--verbose]
  --results FILE  write KEY VALUE lines (figures for docs/benchmarks.md)
Last line: `vm-tree: N passed, M failed`. Python 3 standard library only.
"""

import argparse
import importlib.util
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_ce = _load("check_enforce", "check-enforce.py")
_cf = _load("check_fairness", "check-fairness.py")
Log, Checker, field, status_groups = _ce.Log, _ce.Checker, _ce.field, _ce.status_groups
Samples, fmt = _cf.Samples, _cf.fmt

LABEL = "vm-tree"
PHASES = ("users", "cap", "nested", "many")
USERS = {"1001": ("alice", 4), "1002": ("bob", 1), "1003": ("carol", 2)}
USERS_PTS = 3.0
NESTED = {"research/lab-a": 25.0, "research/lab-b": 50.0, "teaching": 25.0}
NESTED_PTS = 3.0
NESTED_CGROUPS = "research research/lab-a research/lab-b teaching"
CAP_CPUS = 0.5
CAP_TOL = 0.05  # CPUs: cpu.max holds per 100-ms period; this is sampling alignment
BURST_CPUS = 1.5
BORROW_MIN_CPUS = 1.2  # as check-fairness.py's BORROW_TAKE_CPUS: a loaded host delivers ~1.9 of 2
BURST_TOL = 0.05  # relative
POLL_SLACK_S = 0.5  # the most a poll's gap may add to a delay that is otherwise over the bound
# Issue 20 asks the agent's CPU with 200 users to be within 1.5 x of its CPU with 20: 4.26 x
# on 2026-12-04; 1.29, 1.41 and 1.46 x (median 1.41) on 2026-12-05 once a pass read a quiet
# user every few passes, listed the users' subgroups only when their count changed and redid no
# per-user work that had not changed, and the second window began after the new users' first
# report (docs/benchmarks.md). One run scatters by +-15%, so the goal is a figure of several
# runs, printed beside each; MANY_RATIO is the check a run must pass (a regression shows as 2 x
# and more: 3.87 x before the quiet users' schedule).
MANY_RATIO_GOAL = 1.5
MANY_RATIO = 2.0
MANY_USERS = (20, 200)
# Warning-level entries the guest causes by itself: io_shares has no disk to act on.
EXPECTED_WARNINGS = {"io_shares"}


def journal_entries(log):
    entries, _ = log.json_lines("journal")
    out = []
    for e in entries or []:
        try:
            t = int(field(e, "__MONOTONIC_TIMESTAMP")) / 1e6
        except (TypeError, ValueError):
            t = None
        out.append({"t": t, "event": field(e, "FAIRSHARE_EVENT"), "group": field(e, "FAIRSHARE_GROUP"),
                    "priority": field(e, "PRIORITY"), "message": field(e, "MESSAGE") or ""})
    return out


def words(log, key):
    v = log.one(key)
    return v.split() if v is not None else None


def prio(e):
    try:
        return int(e["priority"])
    except (TypeError, ValueError):
        return 6


class Run:
    def __init__(self, log):
        self.log = log
        self.s = Samples(log)
        self.c = Checker()
        self.marks = {r[0]: float(r[1]) for r in log.all("mark") if len(r) >= 2}
        self.interval = log.num("interval_s") or 1.0
        self.results = {}
        self.figures = []
        self.timelines = []
        self.journal = journal_entries(log)

    def fig(self, section, text):
        self.figures.append((section, text))

    def missing(self, section, *names):
        gone = [n for n in names if n not in self.marks]
        if gone:
            self.c.check(section, "phase measured", False, f"missing marks {gone}", ", ".join(names))
        return bool(gone)

    def timeline(self, title, groups, t0, t1):
        lines = [f"{title} (1-s windows from t0 = {t0:.2f}; CPUs per cgroup, [cpu.max quota/weight])"]
        k = 0
        while t0 + k + 1 <= t1 + 1e-6:
            a, b = t0 + k, t0 + k + 1
            vals = "  ".join(f"{g} {fmt(self.s.cpus(g, a, b))}" for g in groups + ["_machine"])
            qs = []
            for g in groups:
                last = self.s.last_before(g, b)
                if last:
                    qs.append(f"{g.split('/')[-1]}:{last[2].split()[0]}/w{last[3]}")
            lines.append(f"  +{k:2d}s  {vals}   [{' '.join(qs)}]")
            k += 1
        self.timelines.append(lines)

    def placement(self, key):
        """(total, placed, [bad rows], [proc rows]) of a report_placement KEY."""
        row = words(self.log, key)
        try:
            total, placed = int(row[0]), int(row[1])
        except (TypeError, ValueError, IndexError):
            total = placed = None
        return total, placed, self.log.all(f"{key}_bad"), self.log.all(f"{key}_proc")

    def within(self, event, hit, prev, bound):
        """Whether a change seen by a poll at `hit` (last unchanged read at `prev`) happened
        within `bound` seconds of `event`."""
        if hit is None:
            return False
        if hit - event <= bound:
            return True
        return prev is not None and prev - event < bound and hit - prev <= POLL_SLACK_S

    def poll(self, key):
        row = words(self.log, key) or []
        try:
            hit = float(row[0])
        except (ValueError, IndexError):
            hit = None
        try:
            prev = float(row[1])
        except (ValueError, IndexError):
            prev = None
        return hit, prev

    # boot, journal, per phase: ready, stopped cleanly, everything given back
    def check_boot(self):
        log = self.log
        self.c.check("boot", "guest ran to completion", log.done and log.one("scenario_exit") == "0",
                     f"FSDONE={'yes' if log.done else 'no'} scenario_exit={log.one('scenario_exit')} lines={log.lines}",
                     "FSDONE, scenario_exit 0")
        ctl = (log.one("cgroup_controllers") or "").split()
        self.c.check("boot", "cgroup2 offers cpu and io", "cpu" in ctl and "io" in ctl, " ".join(ctl) or "none", "cpu io")
        skipped = [r[0] for r in log.all("phase_skipped") if r]
        self.c.check("boot", "every phase ran", not skipped, f"skipped: {skipped}" if skipped else "all", "users cap nested many")
        self.c.check("journal", "journald ran in the guest and the agent logged to it",
                     log.one("image_journald") == "yes" and log.one("journald") == "yes" and log.one("log_target") == "journal",
                     f"in the image: {log.one('image_journald')}, started: {log.one('journald')}, log target: {log.one('log_target')}",
                     "yes, yes, journal (FAIRSHARE_VM_JOURNALD=1)")
        entries, err = log.json_lines("journal")
        self.c.check("journal", "the journal's fairshare entries were dumped", bool(entries) and not err,
                     f"{len(entries or [])} entries" + (f", {err}" if err else ""), "> 0 entries, all JSON")
        for p in PHASES:
            died = log.one(f"agent_died_{p}")
            total, placed, bad, _ = self.placement(f"unplaced_{p}")
            where = sorted({f"uid {r[2]} in {r[3]} ({r[4]})" for r in bad if len(r) >= 5})
            self.c.check(p, "agent ready (every process in its cgroup)", log.one(f"ready_{p}") == "yes",
                         f"ready={log.one(f'ready_{p}')} after {log.one(f'ready_s_{p}')} s"
                         + (f", agent died (exit {log.one(f'agent_exit_{p}')})" if died else "")
                         + (f"; {placed} of {total} placed, the others: {', '.join(where[:4])}" if total is not None else ""),
                         "yes within 60 s")

    def check_agent(self):
        log = self.log
        for p in PHASES:
            stop = log.one(f"stop_{p}") or ""
            self.c.check("agent", f"{p}: alive at the phase's end, SIGTERM: exit 0",
                         log.one(f"alive_at_end_{p}") == "yes" and "stop_exit 0" in stop and "stop_killed no" in stop,
                         f"alive {log.one(f'alive_at_end_{p}')}; {stop or 'no stop'}", "alive; stop_exit 0, not killed")
        failures, seen = [], []
        for name, (kind, _) in log.blocks.items():
            if kind != "JSON" or not name.startswith("status_"):
                continue
            doc, err = log.json(name)
            seen.append(name)
            if doc is None:
                failures.append(f"{name}: {err}")
                continue
            failures += [f"{name}: {f.get('target')}: {f.get('cause')}" for f in ((doc.get("agent") or {}).get("failures") or [])]
        for key in ("many_status_a0", "many_status_a1", "many_status_b0", "many_status_b1"):
            v = log.one(f"{key}_failures")
            if v is not None:
                seen.append(key)
                if v != '"failures":[]':
                    failures.append(f"{key}: {v[:160]}")
        self.c.check("agent", "no failure in any status snapshot", seen and not failures,
                     "; ".join(failures) or f"none in {len(seen)} snapshots", "none")
        hup = self.marks.get("cycle_hup")
        unexpected, rejected = [], []
        for e in self.journal:
            if e["event"] == "policy_rejected":
                rejected.append(e)
                continue
            if prio(e) <= 4 and e["event"] not in EXPECTED_WARNINGS:
                unexpected.append(e)
        if len(rejected) != 1 or hup is None or rejected[0]["t"] is None or rejected[0]["t"] < hup:
            unexpected += rejected
        self.c.check("agent", "journal: nothing at warning level or worse but the cycle's rejection and io_shares",
                     not unexpected,
                     "; ".join(f"[{e['priority']}] {e['event']} {e['group'] or ''}: {e['message'][:120]}" for e in unexpected[:6])
                     or "none", "none")
        outs = []
        for p in PHASES:
            for line in (log.text(f"agent_output_{p}") or "").splitlines():
                if line.strip():
                    outs.append(f"{p}: {line.strip()[:120]}")
        self.c.check("agent", "nothing on the agent's stdout/stderr (it logs to the journal)", not outs,
                     "; ".join(outs[:5]) or "empty", "empty")

    def check_given_back(self):
        log = self.log
        for p in PHASES:
            total, placed, bad, _ = self.placement(f"back_{p}")
            self.c.check("guarantees", f"{p}: after the stop every process is back in its origin",
                         total is not None and total > 0 and placed == total and not bad,
                         f"{placed} of {total}" + (": " + ", ".join(" ".join(r) for r in bad[:5]) if bad else ""),
                         "all, none elsewhere")
            left = log.one(f"leftover_{p}")
            self.c.check("guarantees", f"{p}: no cgroup left under the root", left == "none", left, "none")

    # 1
    def check_users(self):
        log = self.log
        total, placed, bad, procs = self.placement("users_cg")
        by_uid = {}
        for r in procs:
            if len(r) >= 4:
                by_uid.setdefault(r[2], set()).add(r[3])
        counts = {}
        for r in procs:
            if len(r) >= 4:
                counts[r[2]] = counts.get(r[2], 0) + 1
        want = {uid: {f"/fstree/logins/user-{uid}"} for uid in USERS}
        wrong_uid = [f"{r[1]}: uid {r[4]}, not {r[2]}" for r in procs if len(r) < 5 or r[4] != r[2]]
        self.c.check("users", "every burner runs as its user (the real uid in /proc/PID/status)",
                     procs and not wrong_uid, "; ".join(wrong_uid) or f"{len(procs)} burners", "1001, 1002, 1003")
        self.c.check("users", "each user's burners share one cgroup, ROOT/logins/user-UID (/proc/PID/cgroup)",
                     total == 7 and placed == 7 and not bad and by_uid == want
                     and all(counts.get(u) == n for u, (_, n) in USERS.items()),
                     "; ".join(f"uid {u}: {counts.get(u)} in {sorted(v)}" for u, v in sorted(by_uid.items()))
                     + (f"; misplaced {bad}" if bad else "") or f"{placed} of {total}",
                     "1001: 4, 1002: 1, 1003: 2, each in its user-UID")
        subs = log.one("users_subgroups")
        self.c.check("users", "the cgroups under the root: logins and one per user",
                     subs == "logins logins/user-1001 logins/user-1002 logins/user-1003", subs,
                     "logins logins/user-1001 logins/user-1002 logins/user-1003")
        stc = (log.one("logins_subtree_control") or "").split()
        self.c.check("users", "logins: cpu and io in cgroup.subtree_control, no process of its own",
                     "cpu" in stc and "io" in stc and log.one("logins_procs") == "0",
                     f"subtree_control {' '.join(stc) or '?'}; {log.one('logins_procs')} processes", "cpu io; 0")
        for r in log.all("users_files"):
            if len(r) >= 3:
                self.fig("users", f"kernel: {r[0]} cpu.max {r[1]} cpu.weight {r[2]}")
        if self.missing("users", "users_start", "users_end"):
            return
        a, b = self.marks["users_start"], self.marks["users_end"]
        use = {u: self.s.cpus(f"logins/user-{u}", a, b) for u in USERS}
        if any(v is None for v in use.values()):
            self.c.check("users", "usage sampled for the three users", False, use, "numbers")
            return
        tot = sum(use.values())
        pct = {u: 100 * use[u] / tot for u in USERS}
        err = max(abs(pct[u] - 100 / 3) for u in USERS)
        nproc = sum(n for _, n in USERS.values())
        for u, (name, n) in USERS.items():
            self.results[f"users_{name}_percent"] = f"{pct[u]:.1f}"
        self.results["users_max_error_points"] = f"{err:.2f}"
        detail = ", ".join(f"{USERS[u][0]} ({USERS[u][1]} burners) {pct[u]:.1f}% = {use[u]:.3f} CPUs" for u in USERS)
        self.fig("users", f"window {b - a:.1f} s: {detail}; the three {tot:.3f} CPUs (machine, tick-based: "
                 f"{fmt(self.s.cpus('_machine', a, b), 3)})")
        self.fig("users", "per process it would be " + ", ".join(
            f"{USERS[u][0]} {100 * USERS[u][1] / nproc:.0f}%" for u in USERS) + f"; max error {err:.2f} points")
        self.c.check("users", f"each user within {USERS_PTS:g} points of a third", err <= USERS_PTS,
                     f"{err:.2f} points ({detail})", f"<= {USERS_PTS:g}")
        self.c.check("users", "window >= 15 s", b - a >= 15, f"{b - a:.1f} s", ">= 15 s")
        self.timeline("users: alice 4, bob 1, carol 2 burners", [f"logins/user-{u}" for u in USERS], a, b)

    # 4
    def check_removal(self):
        log = self.log
        if self.missing("removal", "removal_kill"):
            return
        t = self.marks["removal_kill"]
        hit, prev = self.poll("removal_gone")
        bound = 2 * self.interval
        delay = None if hit is None else hit - t
        if delay is not None:
            self.results["removal_delay_s"] = f"{delay:.2f}"
        decided = [e["t"] for e in self.journal if e["event"] == "group_removed" and (e["group"] or "").endswith("user-1002")
                   and e["t"] is not None and e["t"] >= t]
        jd = min(decided) - t if decided else None
        self.fig("removal", f"bob's subgroup gone {fmt(delay)} s after his burner was killed (poll: last seen "
                 f"{fmt(None if prev is None else prev - t)} s); journal group_removed after {fmt(jd)} s; "
                 f"his process: {log.one('removal_bob_proc')}")
        self.c.check("removal", f"bob's subgroup gone within two intervals ({bound:g} s)", self.within(t, hit, prev, bound),
                     f"{fmt(delay)} s (last seen at {fmt(None if prev is None else prev - t)} s)", f"<= {bound:g} s")
        after = log.one("removal_after")
        self.c.check("removal", "alice's and carol's subgroups stay", after == "logins logins/user-1001 logins/user-1003",
                     after, "logins logins/user-1001 logins/user-1003")

    # 6 (the reload half)
    def check_cycle(self):
        log = self.log
        out = (log.text("cycle_check") or "").strip()
        self.c.check("guarantees", "`fairshare check` on the parent cycle: exit 1, names the cycle",
                     log.one("cycle_check_exit") == "1" and "cycle" in out.lower(),
                     f"exit {log.one('cycle_check_exit')}: {out[:200]!r}", "exit 1, 'cycle'")
        if self.missing("guarantees", "cycle_hup", "cycle_after"):
            return
        t0, t1 = self.marks["cycle_hup"], self.marks["cycle_after"]
        rej = [e for e in self.journal if e["event"] == "policy_rejected" and e["t"] is not None and t0 <= e["t"] <= t1 + 5]
        self.fig("cycle", "journal: " + ("; ".join(f"+{e['t'] - t0:.2f} s [{e['priority']}] {e['message'][:300]}" for e in rej)
                                         or "no policy_rejected"))
        self.c.check("guarantees", "SIGHUP with the cycle: policy_rejected in the journal, naming the cycle",
                     len(rej) == 1 and "cycle" in rej[0]["message"].lower(),
                     f"{len(rej)} entries" + (f": {rej[0]['message'][:160]!r}" if rej else ""), "1, 'cycle'")
        doc, err = log.json("status_cycle")
        lr = ((doc or {}).get("policy") or {}).get("last_reload") or {}
        self.c.check("guarantees", "status after the cycle: last_reload not applied, with an error",
                     lr.get("applied") is False and bool(str(lr.get("error") or "").strip()),
                     err or f"last_reload {lr}", "applied false, error")
        self.c.check("guarantees", "agent alive after the rejected reload", log.one("cycle_agent_alive") == "yes",
                     log.one("cycle_agent_alive"), "yes")
        before, after = log.one("cycle_before"), log.one("cycle_after")
        pb = sorted(" ".join(r) for r in log.all("cycle_before_cg_proc"))
        pa = sorted(" ".join(r) for r in log.all("cycle_after_cg_proc"))
        fb = sorted(" ".join(r) for r in log.all("cycle_before_files"))
        fa = sorted(" ".join(r) for r in log.all("cycle_after_files"))
        self.c.check("guarantees", "after the rejected reload: the same cgroups, placements and cpu files",
                     before is not None and before == after and pb and pb == pa and fb and fb == fa,
                     f"cgroups {before} -> {after}; {len(pb)} -> {len(pa)} placements"
                     + ("" if pb == pa else f" {sorted(set(pb) ^ set(pa))}") + ("" if fb == fa else f"; files {fb} -> {fa}"),
                     "unchanged")

    # 2
    def samples_read(self, g, a, b, want):
        """(all sampled cpu.max in [a, b] read `want`, the values seen)."""
        vals = [q for _, q, _ in self.s.values_between(g, a, b)]
        return bool(vals) and all(q == want for q in vals), sorted(set(vals))

    def check_cap(self):
        log = self.log
        users = [f"logins/user-{u}" for u in USERS]
        if not self.missing("cap", "cap_literal_start", "cap_literal_end"):
            a, b = self.marks["cap_literal_start"], self.marks["cap_literal_end"]
            files = {r[0]: r[1] for r in log.all("cap_literal_files") if len(r) >= 2}
            self.results["cap_literal_user_cpu_max"] = files.get("logins/user-1001", "?").split("/")[0]
            self.fig("cap", "a. the issue's policy (no group max), all busy, not asserted: " + ", ".join(
                f"{USERS[u][0]} {fmt(self.s.cpus(f'logins/user-{u}', a, b))} CPUs cpu.max {files.get(f'logins/user-{u}', '?')}"
                for u in USERS) + f"; logins cpu.max {files.get('logins', '?')}")
        if self.missing("cap", "cap_busy_start", "cap_busy_end", "cap_stop", "cap_borrow_start", "cap_borrow_end", "cap_cont",
                        "cap_hup_e", "cap_nob_stop", "cap_nob_start", "cap_nob_end"):
            return
        self.c.check("cap", "reload with the group's max 1.5 applied (logins cpu.max 150000)",
                     (log.one("cap_group_max_seen") or "none") != "none", log.one("cap_group_max_seen"), "an uptime")
        # b. all busy
        a, b = self.marks["cap_busy_start"], self.marks["cap_busy_end"]
        use = {g: self.s.cpus(g, a, b) for g in users}
        files = {r[0]: r[1] for r in log.all("cap_busy_files") if len(r) >= 2}
        worst = max((v for v in use.values() if v is not None), default=None)
        if worst is not None:
            self.results["cap_busy_max_cpus"] = f"{worst:.3f}"
        self.fig("cap", f"b. all busy {b - a:.1f} s: " + ", ".join(
            f"{USERS[g[-4:]][0]} {fmt(use[g], 3)} CPUs cpu.max {files.get(g, '?')}" for g in users)
            + f"; logins cpu.max {files.get('logins', '?')}")
        self.c.check("cap", f"all busy: each user <= {CAP_CPUS:g} + {CAP_TOL:g} CPUs",
                     all(v is not None and v <= CAP_CPUS + CAP_TOL for v in use.values()),
                     ", ".join(f"{g[-9:]} {fmt(v, 3)}" for g, v in use.items()), f"<= {CAP_CPUS + CAP_TOL:g}")
        seen = {g: self.samples_read(g, a, b, "50000 100000") for g in users}
        self.c.check("cap", "all busy: every user's cpu.max reads 50000 100000 (kernel and every sample)",
                     all(files.get(g) == "50000/100000" for g in users) and all(ok for ok, _ in seen.values()),
                     "; ".join(f"{g[-9:]} {files.get(g)} sampled {v}" for g, (_, v) in seen.items()), "50000 100000")
        # c. bob and carol STOPped: alice borrows up to the burst
        t = self.marks["cap_stop"]
        hit, prev = self.poll("cap_borrow_seen")
        a, b = self.marks["cap_borrow_start"], self.marks["cap_borrow_end"]
        alice = self.s.cpus("logins/user-1001", a, b)
        files = {r[0]: r[1] for r in log.all("cap_borrow_files") if len(r) >= 2}
        ok_q, vals = self.samples_read("logins/user-1001", a, b, "150000 100000")
        if hit is not None:
            self.results["cap_borrow_delay_s"] = f"{hit - t:.2f}"
        if alice is not None:
            self.results["cap_borrow_cpus"] = f"{alice:.3f}"
        self.fig("cap", f"c. bob and carol STOPped: alice's cpu.max 150000 after {fmt(None if hit is None else hit - t)} s; "
                 f"alice {fmt(alice, 3)} CPUs over {b - a:.1f} s (cpu.max sampled {vals})")
        self.c.check("cap", "alone: alice's cpu.max reads 150000 100000 (75% of the machine)",
                     hit is not None and files.get("logins/user-1001") == "150000/100000" and ok_q,
                     f"seen after {fmt(None if hit is None else hit - t)} s; file {files.get('logins/user-1001')}; sampled {vals}",
                     "150000 100000")
        self.c.check("cap", f"alone: alice borrows {BORROW_MIN_CPUS:g}..{BURST_CPUS:g} (+{BURST_TOL:.0%}) CPUs",
                     alice is not None and BORROW_MIN_CPUS <= alice <= BURST_CPUS * (1 + BURST_TOL),
                     f"{fmt(alice, 3)} CPUs", f"{BORROW_MIN_CPUS:g}..{BURST_CPUS * (1 + BURST_TOL):g}")
        # d. CONTinued: back to the cap
        t = self.marks["cap_cont"]
        hit, prev = self.poll("cap_giveback_seen")
        bound = 2 * self.interval
        if hit is not None:
            self.results["cap_giveback_delay_s"] = f"{hit - t:.2f}"
        self.fig("cap", f"d. bob and carol CONTinued: alice's cpu.max back to 50000 after {fmt(None if hit is None else hit - t)} s "
                 f"(last read still borrowing at {fmt(None if prev is None else prev - t)} s)")
        self.c.check("cap", f"CONT: alice's cpu.max back to 50000 within two intervals ({bound:g} s)",
                     self.within(t, hit, prev, bound), f"{fmt(None if hit is None else hit - t)} s", f"<= {bound:g} s")
        # e. no user_borrow
        t0, t1 = self.marks["cap_hup_e"], self.marks["cap_nob_stop"]
        loaded = [e["t"] - t0 for e in self.journal if e["event"] == "policy_loaded" and e["t"] is not None and t0 <= e["t"] <= t1]
        self.c.check("cap", "reload without user_borrow applied before bob and carol stop (journal policy_loaded)",
                     bool(loaded), f"after {fmt(loaded[0])} s" if loaded else "no policy_loaded in between", "one")
        a, b = self.marks["cap_nob_start"], self.marks["cap_nob_end"]
        alice = self.s.cpus("logins/user-1001", a, b)
        ok_q, vals = self.samples_read("logins/user-1001", self.marks["cap_nob_stop"], b, "50000 100000")
        files = {r[0]: r[1] for r in log.all("cap_nob_files") if len(r) >= 2}
        if alice is not None:
            self.results["cap_noborrow_cpus"] = f"{alice:.3f}"
        self.fig("cap", f"e. without user_borrow, alice alone: {fmt(alice, 3)} CPUs over {b - a:.1f} s, cpu.max sampled {vals}")
        self.c.check("cap", f"without user_borrow, alone: alice <= {CAP_CPUS:g} + {CAP_TOL:g} CPUs",
                     alice is not None and alice <= CAP_CPUS + CAP_TOL, f"{fmt(alice, 3)} CPUs", f"<= {CAP_CPUS + CAP_TOL:g}")
        self.c.check("cap", "without user_borrow, alone: cpu.max 50000 100000 throughout",
                     ok_q and files.get("logins/user-1001") == "50000/100000", f"sampled {vals}; file {files.get('logins/user-1001')}",
                     "50000 100000")
        self.timeline("cap: all busy, then bob and carol STOPped at +" + fmt(self.marks["cap_stop"] - self.marks["cap_busy_start"], 1)
                      + " s, CONTinued at +" + fmt(self.marks["cap_cont"] - self.marks["cap_busy_start"], 1) + " s",
                      ["logins"] + users, self.marks["cap_busy_start"], self.marks["cap_nob_end"])

    # 3
    def check_nested(self):
        log = self.log
        total, placed, bad, procs = self.placement("nested_cg")
        where = sorted({(r[0], r[3]) for r in procs if len(r) >= 4})
        self.c.check("nested", "burn_a in ROOT/research/lab-a, burn_b in .../lab-b, burn_t in ROOT/teaching",
                     total == 6 and placed == 6 and not bad, f"{placed} of {total}: {where}" + (f"; {bad}" if bad else ""),
                     "6 of 6")
        cg = log.one("nested_cgroups")
        self.c.check("nested", "the cgroups under the root", cg == NESTED_CGROUPS, cg, NESTED_CGROUPS)
        stc = (log.one("research_subtree_control") or "").split()
        self.c.check("nested", "research: cpu and io in cgroup.subtree_control, no process of its own",
                     "cpu" in stc and "io" in stc and log.one("research_procs") == "0",
                     f"subtree_control {' '.join(stc) or '?'}; {log.one('research_procs')} processes", "cpu io; 0")
        for r in log.all("nested_files"):
            if len(r) >= 3:
                self.fig("nested", f"kernel: {r[0]} cpu.max {r[1]} cpu.weight {r[2]}")
        if self.missing("nested", "nested_start", "nested_end"):
            return
        a, b = self.marks["nested_start"], self.marks["nested_end"]
        use = {g: self.s.cpus(g, a, b) for g in NESTED}
        if any(v is None for v in use.values()):
            self.c.check("nested", "usage sampled for lab-a, lab-b, teaching", False, use, "numbers")
            return
        tot = sum(use.values())
        pct = {g: 100 * use[g] / tot for g in NESTED}
        err = max(abs(pct[g] - NESTED[g]) for g in NESTED)
        for g in NESTED:
            self.results[f"nested_{g.split('/')[-1].replace('-', '_')}_percent"] = f"{pct[g]:.1f}"
        self.results["nested_max_error_points"] = f"{err:.2f}"
        research = self.s.cpus("research", a, b)
        detail = ", ".join(f"{g} {pct[g]:.1f}% (target {NESTED[g]:g}%, {use[g]:.3f} CPUs)" for g in NESTED)
        self.fig("nested", f"window {b - a:.1f} s: {detail}; research as a whole {fmt(research, 3)} CPUs "
                 f"= {fmt(None if research is None else 100 * research / tot, 1)}%; max error {err:.2f} points")
        self.c.check("nested", f"lab-a 25%, lab-b 50%, teaching 25% within {NESTED_PTS:g} points", err <= NESTED_PTS,
                     f"{err:.2f} points ({detail})", f"<= {NESTED_PTS:g}")
        self.timeline("nested: research (3) = lab-a (1) + lab-b (2), teaching (1)", ["research"] + list(NESTED), a, b)

    # 5
    def check_many(self):
        log = self.log
        # The user counts the guest was given (TREE_MANY_USERS), the by default.
        try:
            first, users = (int(x) for x in words(log, "many_plan"))
        except (TypeError, ValueError):
            first, users = MANY_USERS
        n1, n2 = log.num("many_users_1"), log.num("many_users_2")
        self.c.check("many", f"{first} then {users} subgroups",
                     n1 == first and n2 == users, f"{fmt(n1)}, {fmt(n2)}", f"{first}, {users}")
        total, placed, bad, _ = self.placement("many_cg")
        self.c.check("many", f"every one of the {users} processes in its own ROOT/many/user-UID",
                     total == users and placed == total and not bad,
                     f"{placed} of {total} (placed {log.one('many_placed_s')} s after the start)"
                     + (": " + ", ".join(" ".join(r) for r in bad[:5]) if bad else ""), f"{users}")

        def sample(key):
            """(uptime, ticks, VmRSS kB, read calls, write calls) of an agent_cpu line."""
            try:
                r = words(log, key)
                return float(r[0]), int(r[1]) + int(r[2]), r[3], int(r[4]), int(r[5])
            except (TypeError, ValueError, IndexError):
                return None

        def window(name):
            """(seconds, ticks, VmRSS at the end, reads/s, writes/s, [ticks per second in each third])."""
            pts = [sample(f"{name}_{i}") for i in range(4)]
            if pts[0] is None or pts[3] is None:
                return None, None, None, None, None, []
            (t0, k0, _, r0, w0), (t3, k3, rss, r3, w3) = pts[0], pts[3]
            thirds = [None if x is None or y is None else (y[1] - x[1]) / (y[0] - x[0]) for x, y in zip(pts, pts[1:])]
            return t3 - t0, k3 - k0, rss, (r3 - r0) / (t3 - t0), (w3 - w0) / (t3 - t0), thirds

        def status(key):
            row = dict(x.split(":", 1) for x in (words(log, key) or []) if ":" in x)
            return row.get("pass_seconds_median"), row.get("ticks")

        w1, t1, rss1, rd1, wr1, th1 = window("many_cpu_a")
        w2, t2, rss2, rd2, wr2, th2 = window("many_cpu_b")
        ratio = t2 / t1 if t1 and t2 is not None else None
        if t1 is not None and t2 is not None:
            self.results["many_window_s"] = log.one("many_window_s")
            self.results["agent_ticks_20_users"] = f"{t1:.0f}"
            self.results["agent_ticks_200_users"] = f"{t2:.0f}"
            self.results["agent_cpu_ratio_200_to_20"] = fmt(ratio)
            self.results["agent_vmrss_kb_200_users"] = rss2
        pct = lambda t, w: None if t is None or not w else t / w  # ticks per second = % of one CPU at USER_HZ 100
        (m1, _), (m2, _) = status("many_status_a1"), status("many_status_b1")
        for n, w, t, rss, rd, wr, th, med in ((first, w1, t1, rss1, rd1, wr1, th1, m1), (users, w2, t2, rss2, rd2, wr2, th2, m2)):
            self.fig("many", f"{n} users: agent {fmt(t, 0)} ticks over {fmt(w, 1)} s = {fmt(pct(t, w), 2)}% of a CPU "
                     f"(thirds: {' '.join(fmt(x, 1) for x in th)} ticks/s); {fmt(rd, 0)} reads/s, {fmt(wr, 0)} writes/s; "
                     f"pass median {med} s; VmRSS {rss} kB")
        arrival = [sample(f"many_arrival_{i}") for i in range(2)]
        if None not in arrival:
            (u0, k0, *_), (u1, k1, *_) = arrival
            self.results["agent_ticks_arrival"] = f"{k1 - k0}"
            self.fig("many", f"the arrival of {users - first} users (moves, subgroups, their first report and metric series): "
                     f"{k1 - k0} ticks over {u1 - u0:.1f} s, before the second window")
        self.fig("many", f"ratio {fmt(ratio)} ({users} users to {first}); issue 20's goal {MANY_RATIO_GOAL:g}"
                 + ("" if ratio is not None and ratio <= MANY_RATIO_GOAL else ", over it in this run (the check holds the regression bound)"))
        self.c.check("many", "windows of the same length", w1 is not None and w2 is not None and abs(w1 - w2) <= 0.1 * w1,
                     f"{fmt(w1)} s, {fmt(w2)} s", "equal within 10%")
        self.c.check("many", f"agent CPU with {users} users <= {MANY_RATIO:g} x with {first} (regression bound; goal {MANY_RATIO_GOAL:g})",
                     ratio is not None and t1 > 0 and ratio <= MANY_RATIO,
                     f"{fmt(t2, 0)} / {fmt(t1, 0)} ticks = {fmt(ratio)}", f"<= {MANY_RATIO:g}")

    def run(self):
        self.check_boot()
        for f in (self.check_users, self.check_removal, self.check_cycle, self.check_cap, self.check_nested,
                  self.check_many, self.check_given_back, self.check_agent):
            try:
                f()
            except Exception as e:  # a checker bug must not hide the other figures
                self.c.check(f.__name__, "checker ran", False, f"{type(e).__name__}: {e}", "no exception")


RESULT_KEYS = ["users_alice_percent", "users_bob_percent", "users_carol_percent", "users_max_error_points",
               "removal_delay_s", "cap_literal_user_cpu_max", "cap_busy_max_cpus", "cap_borrow_delay_s", "cap_borrow_cpus",
               "cap_giveback_delay_s", "cap_noborrow_cpus", "nested_lab_a_percent", "nested_lab_b_percent",
               "nested_teaching_percent", "nested_max_error_points", "many_window_s", "agent_ticks_arrival", "agent_ticks_20_users",
               "agent_ticks_200_users", "agent_cpu_ratio_200_to_20", "agent_vmrss_kb_200_users"]


def print_report(run, path, verbose):
    c, log = run.c, run.log
    print(f"boot: kernel {log.one('kernel')}, /init at {log.one('boot_uptime')} s, scenario ended at "
          f"{log.one('end_uptime')} s; log target {log.one('log_target')}")
    print("agent ready after: " + ", ".join(f"{p} {log.one(f'ready_s_{p}')} s" for p in PHASES))
    section = None
    for sec, text in run.figures:
        if sec != section:
            print(f"--- {sec}")
            section = sec
        print(f"  {text}")
    if c.failed or verbose:
        print(f"=== checks ({len(c.failed)} of {len(c.checks)} failed); console log: {path}")
        w = max(len(x[1]) for x in c.checks)
        for sec, name, ok, measured, expected in c.checks:
            print(f"  {'ok  ' if ok else 'FAIL'} [{sec}] {name:<{w}}  measured: {measured}  expected: {expected}")
        print("=== timelines")
        for lines in run.timelines:
            for line in lines:
                print(f"  {line}")
    if c.failed:
        print("=== every FSRESULT")
        for key, rows in log.results.items():
            for r in rows:
                print(f"  {key} {' '.join(r)}")
        for name, (kind, body) in log.blocks.items():
            if name.startswith("samples_") or kind == "JSON":
                continue
            print(f"=== {kind.lower()} {name}")
            for line in body[-40:]:
                print(f"  {line}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--results", default=None, help="write KEY VALUE lines here")
    ap.add_argument("--verbose", action="store_true", help="print every check and the timelines")
    args = ap.parse_args()
    try:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            log = Log(f.read())
    except OSError as e:
        print(f"{LABEL}: cannot read {args.log}: {e}")
        print(f"{LABEL}: 0 passed, 1 failed")
        return 1
    run = Run(log)
    if not log.results:
        run.c.check("boot", "guest printed results", False, f"no FSRESULT lines in {log.lines} lines", "FSRESULT lines")
    else:
        run.run()
    print_report(run, args.log, args.verbose)
    if args.results:
        # make bench-fairness's kernel column (its keys: Sources/fairshare-fairness-bench/main.swift).
        bench = {"tree_users_max_error_points": "users_max_error_points", "tree_nested_max_error_points": "nested_max_error_points"}
        with open(args.results, "w") as f:
            for k in RESULT_KEYS:
                if k in run.results:
                    f.write(f"{k} {run.results[k]}\n")
            for k, src in bench.items():
                if src in run.results:
                    f.write(f"{k} {run.results[src]}\n")
            if "cap_giveback_delay_s" in run.results:
                # The agent's interval in the tier is 1 s: whole intervals until the cap was back.
                f.write(f"tree_user_cap_return_intervals {math.ceil(float(run.results['cap_giveback_delay_s']))}\n")
        print(f"{LABEL}: results in {args.results}")
    passed = len(run.c.checks) - len(run.c.failed)
    print(f"{LABEL}: {passed} passed, {len(run.c.failed)} failed")
    return 1 if run.c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Host-side checker for the redistribution scenarios (scenario-fairness.sh, issue 3).

Reads the guest's console log: FSRESULT lines (marks on the guest's /proc/uptime clock),
the sampler's blocks (every 0.5 s: usage_usec, cpu.max and cpu.weight of each group), status
JSON snapshots and the journal. Usage over any time window comes from the cumulative
usage_usec, linearly interpolated between samples, so timelines are aligned to the events.

Figures and assertions (margins for a noisy emulated 2-vCPU machine; goals from the issue):
  share     1:2:5 all hungry, 20 s: max |achieved - target| <= 2 points, weighted Jain >= 0.99
  redist    high STOPped: in the 1-s window starting one interval later, low+mid >= 85% of the
            capacity and mid/low within 15% of 2; delay = offset of the first 1-s window
            (0.25 s steps) in which the split holds
            borrow delays: from one source, the journal: the time of borrow_started /
            borrow_stopped after the event (the agent's decision, cpu.max written just before);
            a missing entry fails the delay's check (the usage-based delay is printed beside it)
  borrow    owner idle: capped > 1.2 CPUs and cpu.max quota > 50000; owner CONT: capped
            <= 0.65 CPUs in every 1-s window from the 3rd second on, cpu.max back to 50000;
            owner STOP: capped > 1.2 CPUs from the window starting 2 intervals later;
            borrow_started / borrow_stopped logged for capped
  floor     small (min 1) among 3 x shares 10: >= 0.95 CPU over 10 s (the issue's goal),
            floor_hit logged, status limit == "floor"
  starve    decayed, max_boost 4: b's share of the first 5 s after its return > 55%,
            a's minimum 1-s share >= 15% (goal 20%), effective weight ratio <= max_boost,
            5-s split back within 5 points of 50/50 within 40 s
  absent    decayed, half_life 4 s, max_boost 4: b had NO processes while a was busy 8 s;
            b's share of the first 2 s after its burners started > 55% and <= 80% + 3 points,
            weight ratio <= max_boost,
            status shows b's entitlement accrued without processes
  idle      work (shares 1) and scav (idle = true) busy: scav < 5% of 2 CPUs; work STOPped:
            scav >= 90% of what both ran while busy; cpu.idle 1; no write failure; the kernel
            probe: cpu.weight refused (EINVAL) while cpu.idle = 1 and reset to 100 after
  journal   the guest runs journald (FAIRSHARE_VM_JOURNALD=1 in mk/vm.mk) and the agent logs to
            it: without it the journal checks and the borrow delays FAIL, they are not skipped

Usage: check-fairness.py CONSOLE_LOG [--results FILE] [--verbose]
  --results FILE  write KEY VALUE lines (the benchmark table's VM column)
Last line: `vm-fairness: N passed, M failed`. Python 3 standard library only.
"""

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_enforce", os.path.join(HERE, "check-enforce.py"))
_ce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ce)
Log, Checker, field, status_groups = _ce.Log, _ce.Checker, _ce.field, _ce.status_groups

LABEL = "vm-fairness"
SHARES = {"low": 1, "mid": 2, "high": 5}
SHARE_GOAL_PTS = 2.0
JAIN_GOAL = 0.99
# 85% of the nominal 2 CPUs: on a loaded host the emulated machine as a whole ran only 1.85-1.90
# CPUs in that second (CI, 2026-11-25: low+mid 1.767 = 95% of it, split 1.88:1).
REDIST_SUM_FRACTION = 0.85
REDIST_RATIO_TOLERANCE = 0.15
BORROW_TAKE_CPUS = 1.2
BORROW_GIVEBACK_CPUS = 0.65  # 0.5 ceiling + 0.15 tolerance
FLOOR_GOAL_CPUS = 0.95  # the goal
# Asserted at the goal: a weight of exactly the floor's ratio (3000 against 3 x 1000) bought only
# 0.84-0.94 CPU here (the kernel's per-CPU split, and the groups get ~1.93 of the 2 vCPUs), so the
# agent now corrects a floor's weight from what it delivers: measured 1.00.
FLOOR_ASSERT_CPUS = FLOOR_GOAL_CPUS
STARVE_B_FIRST5_PCT = 55.0
STARVE_A_MIN_GOAL_PCT = 20.0
STARVE_A_MIN_ASSERT_PCT = 15.0  # 1/(1+4) = 20% is the bound; 5 points for per-second noise
STARVE_RETURN_PTS = 5.0
STEP = 0.25  # offsets of the sliding 1-s windows (s)
# Where the borrow delays come from (the only source: a missing entry fails the check).
BORROW_DELAY_SOURCE = "journal"
PHASES = ("1", "3", "4", "5", "6", "7")
ABSENT_B_FIRST2_PCT = 55.0  # fair share 50%; the old rule gave 58% then 50%
ABSENT_BOUND_SLACK_PTS = 3.0
# An idle group's kernel weight is 3 against 1024 for weight 100 (0.3%); 5% is the bar.
IDLE_CONTENDED_PCT = 5.0
# Of what the guest delivered to the two busy groups just before (see check_idle).
IDLE_ALONE_PCT = 90.0


# --- samples ----------------------------------------------------------------------------

class Samples:
    """Per group: [(t, usage_usec, cpu_max, weight)] from every samples_* block."""

    def __init__(self, log):
        self.series = {}
        names = [n for n in log.blocks if n.startswith("samples_")]
        for name in names:
            for line in log.blocks[name][1]:
                parts = line.split()
                if len(parts) < 2 or parts[0] != "S":
                    continue
                try:
                    t = float(parts[1])
                except ValueError:
                    continue
                for item in parts[2:]:
                    f = item.split(":")
                    if len(f) != 4:
                        continue
                    try:
                        u = int(f[1])
                    except ValueError:
                        continue
                    w = int(f[3]) if f[3].isdigit() else None
                    self.series.setdefault(f[0], []).append((t, u, f[2].replace("/", " "), w))
        for s in self.series.values():
            s.sort()

    def usage_at(self, g, t):
        s = self.series.get(g)
        if not s or t < s[0][0] or t > s[-1][0]:
            return None
        lo, hi = 0, len(s) - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if s[mid][0] <= t:
                lo = mid
            else:
                hi = mid
        (t0, u0, _, _), (t1, u1, _, _) = s[lo], s[hi]
        if t1 == t0:
            return float(u0)
        return u0 + (u1 - u0) * (t - t0) / (t1 - t0)

    def cpus(self, g, a, b):
        """Average CPUs used by group g over [a, b] (None if not covered). A window edge up to
        one sampling period past the group's first or last sample is moved onto it: the phase's
        marks and the sampler's ticks are not taken at the same instant. The period is the
        sampler's own median gap (0.5 s asked; 1.1-1.6 s seen on a loaded host, where a fixed
        0.6 s slack lost the floor phase's last window in CI)."""
        s = self.series.get(g)
        if s:
            gaps = sorted(y[0] - x[0] for x, y in zip(s, s[1:]))
            slack = max(0.6, 1.2 * gaps[len(gaps) // 2]) if gaps else 0.6
            if s[0][0] - slack <= a < s[0][0]:
                a = s[0][0]
            if s[-1][0] < b <= s[-1][0] + slack:
                b = s[-1][0]
        ua, ub = self.usage_at(g, a), self.usage_at(g, b)
        if ua is None or ub is None or b <= a:
            return None
        return (ub - ua) / (b - a) / 1e6

    def values_between(self, g, a, b):
        """[(t, cpu_max, weight)] sampled in [a, b]."""
        return [(t, q, w) for t, _, q, w in self.series.get(g, []) if a <= t <= b]

    def last_before(self, g, t):
        v = [x for x in self.series.get(g, []) if x[0] <= t]
        return v[-1] if v else None


def fmt(x, nd=2):
    return "?" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def quota(cpu_max):
    try:
        return int(cpu_max.split()[0])
    except (AttributeError, ValueError, IndexError):
        return None  # "max" or unknown


def first_stable(offsets, ok):
    """Smallest offset from which ok(offset) holds for every later measured offset (None if
    never). ok returns None for a window the samples do not cover: skipped."""
    found = None
    for d in reversed(offsets):
        v = ok(d)
        if v is None:
            continue
        if v:
            found = d
        else:
            break
    return found


def first_true(offsets, ok):
    return next((d for d in offsets if ok(d)), None)


def frange(a, b, step):
    out, x = [], a
    while x <= b + 1e-9:
        out.append(round(x, 6))
        x += step
    return out


def journal_events(log):
    entries, _ = log.json_lines("journal")
    out = {}
    for e in entries or []:
        out.setdefault(field(e, "FAIRSHARE_EVENT"), []).append(field(e, "FAIRSHARE_GROUP"))
    return out


def journal_times(log, event, group):
    """Monotonic times (s, the guest's /proc/uptime clock) of EVENT entries for GROUP."""
    entries, _ = log.json_lines("journal")
    out = []
    for e in entries or []:
        if field(e, "FAIRSHARE_EVENT") == event and field(e, "FAIRSHARE_GROUP") == group:
            try:
                out.append(int(field(e, "__MONOTONIC_TIMESTAMP")) / 1e6)
            except (TypeError, ValueError):
                pass
    return sorted(out)


# --- the scenarios ------------------------------------------------------------------------

class Run:
    def __init__(self, log):
        self.log = log
        self.s = Samples(log)
        self.c = Checker()
        self.marks = {r[0]: float(r[1]) for r in log.all("mark") if len(r) >= 2}
        self.capacity = log.num("capacity_cpus") or 2.0
        self.results = {}  # benchmark keys
        self.figures = []  # (section, text) always printed
        self.timelines = []  # printed on failure or with --verbose
        self.events = journal_events(log)

    def fig(self, section, text):
        self.figures.append((section, text))

    def timeline(self, title, groups, t0, t1, extra=None):
        lines = [f"{title} (1-s windows from t0 = {t0:.2f}; CPUs per group" + (", " + extra if extra else "") + ")"]
        k = 0
        while t0 + k + 1 <= t1 + 1e-6:
            a, b = t0 + k, t0 + k + 1
            vals = {g: self.s.cpus(g, a, b) for g in groups + ["_machine"]}
            qs = []
            for g in groups:
                last = self.s.last_before(g, b)
                if last:
                    qs.append(f"{g}:{last[2].split()[0]}/w{last[3]}")
            lines.append(f"  +{k:2d}s  " + "  ".join(f"{g} {fmt(v)}" for g, v in vals.items())
                         + "   [cpu.max/weight " + " ".join(qs) + "]")
            k += 1
        self.timelines.append(lines)

    def need(self, *names):  # noqa: D401
        missing = [n for n in names if n not in self.marks]
        return missing

    # boot and phases
    def check_boot(self):
        log = self.log
        self.c.check("boot", "guest ran to completion", log.done and log.one("scenario_exit") == "0",
                     f"FSDONE={'yes' if log.done else 'no'} scenario_exit={log.one('scenario_exit')} lines={log.lines}",
                     "FSDONE, scenario_exit 0")
        ctl = (log.one("cgroup_controllers") or "").split()
        self.c.check("boot", "cgroup2 offers cpu", "cpu" in ctl, " ".join(ctl) or "none", "cpu")
        # The journal checks (borrow, floor) and the borrow delays read the journal: a guest
        # without journald fails here rather than skipping them.
        self.c.check("journal", "journald ran in the guest and the agent logged to it",
                     log.one("image_journald") == "yes" and log.one("journald") == "yes" and log.one("log_target") == "journal",
                     f"in the image: {log.one('image_journald')}, started: {log.one('journald')}, log target: {log.one('log_target')}",
                     "yes, yes, journal (FAIRSHARE_VM_JOURNALD=1)")
        entries, err = log.json_lines("journal")
        self.c.check("journal", "the journal's fairshare entries were dumped", bool(entries) and not err,
                     f"{len(entries or [])} entries" + (f", {err}" if err else ""), "> 0 entries, all JSON")
        for p in PHASES:
            self.c.check("boot", f"phase {p}: agent ready (every burner placed)", log.one(f"ready_{p}") == "yes",
                         f"ready={log.one(f'ready_{p}')} after {log.one(f'ready_s_{p}')} s"
                         + (f", agent died (exit {log.one(f'agent_exit_{p}')})" if log.one(f"agent_died_{p}") else ""),
                         "yes within 30 s")
            stop = log.one(f"stop_{p}") or ""
            self.c.check("boot", f"phase {p}: agent stops cleanly", "stop_exit 0" in stop and "stop_killed no" in stop,
                         stop or ("agent already dead" if log.one(f"agent_dead_at_end_{p}") else "no record"),
                         "stop_exit 0, not killed")

    # 1
    def check_share(self):
        if self.need("share_start", "share_end"):
            self.c.check("share", "share window measured", False, f"missing marks {self.need('share_start', 'share_end')}", "marks")
            return
        a, b = self.marks["share_start"], self.marks["share_end"]
        use = {g: self.s.cpus(g, a, b) for g in SHARES}
        if any(v is None for v in use.values()):
            self.c.check("share", "usage sampled for low/mid/high", False, use, "numbers")
            return
        total = sum(use.values())
        sb = sum(SHARES.values())
        ach = {g: 100 * use[g] / total for g in SHARES}
        tgt = {g: 100 * SHARES[g] / sb for g in SHARES}
        err = max(abs(ach[g] - tgt[g]) for g in SHARES)
        x = [ach[g] / tgt[g] for g in SHARES]
        jain = sum(x) ** 2 / (len(x) * sum(v * v for v in x))
        self.results["share_max_error_points"] = f"{err:.2f}"
        self.results["share_jain"] = f"{jain:.4f}"
        detail = ", ".join(f"{g} {ach[g]:.2f}% (target {tgt[g]:.1f}%, {use[g]:.3f} CPUs)" for g in SHARES)
        self.fig("share", f"window {b - a:.1f} s: {detail}; sum {total:.3f} CPUs "
                 f"(whole machine, tick-based: {fmt(self.s.cpus('_machine', a, b), 3)})")
        self.fig("share", f"max error {err:.2f} points, weighted Jain {jain:.4f}")
        self.c.check("share", f"max |achieved - target| <= {SHARE_GOAL_PTS} points", err <= SHARE_GOAL_PTS,
                     f"{err:.2f} points ({detail})", f"<= {SHARE_GOAL_PTS}")
        self.c.check("share", f"weighted Jain's index >= {JAIN_GOAL}", jain >= JAIN_GOAL, f"{jain:.4f}", f">= {JAIN_GOAL}")
        self.timeline("share: 1:2:5 all hungry", list(SHARES), a, b)

    # 2
    def check_redist(self):
        if self.need("redist_stop", "redist_end"):
            self.c.check("redistribution", "phase measured", False, "missing marks", "redist_stop, redist_end")
            return
        t, end = self.marks["redist_stop"], self.marks["redist_end"]
        interval = self.log.num("interval_s_1") or 1.0

        def split(a):
            lo, mi = self.s.cpus("low", a, a + 1), self.s.cpus("mid", a, a + 1)
            return lo, mi

        def ok(d):
            lo, mi = split(t + d)
            if lo is None or mi is None:
                return None
            return (lo > 0 and lo + mi >= REDIST_SUM_FRACTION * self.capacity
                    and abs(mi / lo / 2 - 1) <= REDIST_RATIO_TOLERANCE)

        lo, mi = split(t + interval)
        ratio = mi / lo if lo else None
        self.c.check("redistribution", f"low+mid >= {REDIST_SUM_FRACTION:.0%} of {self.capacity:g} CPUs in the 1-s window from +1 interval",
                     lo is not None and mi is not None and lo + mi >= REDIST_SUM_FRACTION * self.capacity,
                     f"low {fmt(lo, 3)} + mid {fmt(mi, 3)} = {fmt((lo or 0) + (mi or 0), 3)} CPUs",
                     f">= {REDIST_SUM_FRACTION * self.capacity:.2f}")
        self.c.check("redistribution", f"mid/low within {REDIST_RATIO_TOLERANCE:.0%} of 2 in that window",
                     ratio is not None and abs(ratio / 2 - 1) <= REDIST_RATIO_TOLERANCE, fmt(ratio, 3),
                     f"{2 * (1 - REDIST_RATIO_TOLERANCE):.2f}..{2 * (1 + REDIST_RATIO_TOLERANCE):.2f}")
        offs = frange(0, end - t - 1, STEP)
        d = first_true(offs, ok)
        stays = first_stable(offs, ok)
        if d is not None:
            self.results["redistribution_intervals"] = f"{d / interval:.2f}"
        later = [split(t + k) for k in range(1, int(end - t - 1 + 1e-6) + 1)]
        rs = [m / lo for lo, m in later if lo and m is not None]
        sums = [lo + m for lo, m in later if lo is not None and m is not None]
        self.fig("redistribution", f"high STOPped: in [+1, +2] s low {fmt(lo, 3)}, mid {fmt(mi, 3)} CPUs "
                 f"(ratio {fmt(ratio, 3)}); the split first holds in the window from +{fmt(d)} s = "
                 f"{fmt(None if d is None else d / interval)} intervals (1-s windows, {STEP} s steps), and holds for good from +{fmt(stays)} s")
        if rs:
            self.fig("redistribution", f"1-s windows +1..: mid/low ratio min {min(rs):.2f} mean {sum(rs) / len(rs):.2f} max {max(rs):.2f}; "
                     f"low+mid min {min(sums):.2f} CPUs")
        self.c.check("redistribution", "split holds within one interval", d is not None and d <= interval,
                     f"from +{fmt(d)} s", f"<= {interval:g} s")
        self.timeline("redistribution: high STOPped at t0", ["low", "mid", "high"], t, end)

    # 3
    def check_borrow(self):
        need = self.need("ready_3", "borrow_idle_end", "borrow_cont", "borrow_cont_end", "borrow_stop", "borrow_stop_end")
        if need:
            self.c.check("borrow", "phase measured", False, f"missing marks {need}", "all marks")
            return
        m = self.marks
        interval = self.log.num("interval_s_3") or 1.0
        cap = lambda a, b: self.s.cpus("capped", a, b)  # noqa: E731

        # a. owner idle from the start
        r0, r1 = m["ready_3"], m["borrow_idle_end"]
        late = cap(r1 - 2, r1)
        qa = [quota(q) for _, q, _ in self.s.values_between("capped", r0, r1)]
        qmax = max([q for q in qa if q is not None], default=None)
        first = next((t for t, q, _ in self.s.values_between("capped", r0, r1) if (quota(q) or 0) > 50000), None)
        self.fig("borrow", f"owner idle from the start: capped {fmt(late, 3)} CPUs over the last 2 s; "
                 f"cpu.max quota > 50000 from +{fmt(None if first is None else first - r0)} s after ready (max {qmax})")
        self.c.check("borrow", f"owner idle: capped > {BORROW_TAKE_CPUS} CPUs", late is not None and late > BORROW_TAKE_CPUS,
                     fmt(late, 3), f"> {BORROW_TAKE_CPUS}")
        self.c.check("borrow", "owner idle: cpu.max quota > 50000", qmax is not None and qmax > 50000,
                     qa, "> 50000")
        self.timeline("borrow a: owner STOPped, from agent ready", ["capped", "owner"], r0, r1)

        # b. owner CONT: give back
        t, end = m["borrow_cont"], m["borrow_cont_end"]
        wins = {k: cap(t + k, t + k + 1) for k in range(2, int(end - t - 1 + 1e-6) + 1)}
        worst = max([v for v in wins.values() if v is not None], default=None)
        self.c.check("borrow", f"owner CONT: capped <= {BORROW_GIVEBACK_CPUS} CPUs in every 1-s window from +2 s",
                     wins and all(v is not None and v <= BORROW_GIVEBACK_CPUS for v in wins.values()),
                     " ".join(f"+{k}:{fmt(v)}" for k, v in wins.items()), f"<= {BORROW_GIVEBACK_CPUS}")
        last = self.s.last_before("capped", end)
        self.c.check("borrow", "owner CONT: cpu.max back to '50000 100000'", last is not None and last[2] == "50000 100000",
                     last[2] if last else None, "50000 100000")
        d = first_stable(frange(0, end - t - 1, STEP),
                         lambda d: (lambda v: None if v is None else v <= BORROW_GIVEBACK_CPUS)(cap(t + d, t + d + 1)))
        back = next((x for x, q, _ in self.s.values_between("capped", t, end) if q == "50000 100000"), None)
        jt = next((x for x in journal_times(self.log, "borrow_stopped", "capped") if t <= x <= end), None)
        jd = None if jt is None else jt - t
        # The delay and the benchmark figure: when the agent decided, from the journal only.
        if jd is not None:
            self.results["borrow_giveback_intervals"] = f"{jd / interval:.2f}"
        self.fig("borrow", f"owner CONT: borrow_stopped logged at +{fmt(jd)} s = {fmt(None if jd is None else jd / interval)} intervals")
        self.c.check("borrow", f"owner CONT: capped gives back within 2 intervals ({BORROW_DELAY_SOURCE}: borrow_stopped)",
                     jd is not None and jd <= 2 * interval,
                     f"+{fmt(jd)} s" if jd is not None else
                     f"no borrow_stopped entry for capped in the journal between +0 and +{end - t:.1f} s (usage says +{fmt(d)} s)",
                     f"<= {2 * interval:g} s")
        owner_after = self.s.cpus("owner", t + 2, end)
        self.fig("borrow", f"owner CONT: capped <= {BORROW_GIVEBACK_CPUS} from +{fmt(d)} s = {fmt(None if d is None else d / interval)} intervals; "
                 f"cpu.max read back as 50000 at +{fmt(None if back is None else back - t)} s (0.5 s sampling); "
                 f"worst capped 1-s window from +2 s {fmt(worst, 3)}; owner {fmt(owner_after, 3)} CPUs from +2 s")
        self.timeline("borrow b: owner CONT at t0 (give back)", ["capped", "owner"], t, end)

        # c. owner STOP again: take
        t, end = m["borrow_stop"], m["borrow_stop_end"]
        k2 = 2 * interval
        v = cap(t + k2, t + k2 + 1)
        self.c.check("borrow", f"owner STOP: capped > {BORROW_TAKE_CPUS} CPUs in the window from +2 intervals",
                     v is not None and v > BORROW_TAKE_CPUS, fmt(v, 3), f"> {BORROW_TAKE_CPUS}")
        qc = [quota(q) for _, q, _ in self.s.values_between("capped", t, end)]
        self.c.check("borrow", "owner STOP: cpu.max quota raised above 50000", any((q or 0) > 50000 for q in qc),
                     qc, "> 50000")
        d = first_stable(frange(0, end - t - 1, STEP),
                         lambda d: (lambda v: None if v is None else v > BORROW_TAKE_CPUS)(cap(t + d, t + d + 1)))
        jt = next((x for x in journal_times(self.log, "borrow_started", "capped") if t <= x <= end), None)
        jd = None if jt is None else jt - t
        if jd is not None:
            self.results["borrow_take_intervals"] = f"{jd / interval:.2f}"
        self.fig("borrow", f"owner STOP: borrow_started logged at +{fmt(jd)} s = {fmt(None if jd is None else jd / interval)} intervals")
        self.c.check("borrow", f"owner STOP: capped takes idle capacity within 2 intervals ({BORROW_DELAY_SOURCE}: borrow_started)",
                     jd is not None and jd <= 2 * interval,
                     f"+{fmt(jd)} s" if jd is not None else
                     f"no borrow_started entry for capped in the journal between +0 and +{end - t:.1f} s (usage says +{fmt(d)} s)",
                     f"<= {2 * interval:g} s")
        raised = next((x for x, q, _ in self.s.values_between("capped", t, end) if (quota(q) or 0) > 50000), None)
        self.fig("borrow", f"owner STOP: capped > {BORROW_TAKE_CPUS} from +{fmt(d)} s = {fmt(None if d is None else d / interval)} intervals; "
                 f"cpu.max raised at +{fmt(None if raised is None else raised - t)} s; capped {fmt(v, 3)} CPUs in [+2, +3] s")
        self.timeline("borrow c: owner STOPped at t0 (take)", ["capped", "owner"], t, end)

        for ev in ("borrow_started", "borrow_stopped"):
            groups = self.events.get(ev, [])
            self.c.check("borrow", f"journal: {ev} for capped", "capped" in groups, groups, "capped")
        doc, err = self.log.json("status_borrowing")
        red = (status_groups(doc).get("capped") or {}).get("redistribution") or {}
        self.fig("borrow", f"status while borrowing: capped {red if red else err}")
        self.c.check("borrow", "status while borrowing: capped limit borrowing/burst, borrowed > 0",
                     red.get("limit") in ("borrowing", "burst") and (red.get("borrowed_cpus") or 0) > 0,
                     {k: red.get(k) for k in ("limit", "borrowed_cpus", "cpu_max", "allocation_cpus")} if red else err,
                     "limit borrowing|burst, borrowed_cpus > 0")
        doc, err = self.log.json("status_gaveback")
        red = (status_groups(doc).get("capped") or {}).get("redistribution") or {}
        self.fig("borrow", f"status after give-back: capped {red if red else err}")

    # 4
    def check_floor(self):
        if self.need("floor_start", "floor_end"):
            self.c.check("floor", "phase measured", False, "missing marks", "floor_start, floor_end")
            return
        a, b = self.marks["floor_start"], self.marks["floor_end"]
        groups = ["small", "heavy1", "heavy2", "heavy3"]
        use = {g: self.s.cpus(g, a, b) for g in groups}
        small = use["small"]
        total = sum(v for v in use.values() if v is not None)
        w = {g: (self.s.last_before(g, b) or (0, 0, None, None))[3] for g in groups}
        if small is not None:
            self.results["floor_cpus"] = f"{small:.3f}"
        self.fig("floor", f"small {fmt(small, 3)} CPUs over {b - a:.1f} s (goal {FLOOR_GOAL_CPUS}); "
                 + ", ".join(f"{g} {fmt(use[g], 3)}" for g in groups[1:]) + f"; sum {total:.3f} (whole machine, tick-based: {fmt(self.s.cpus('_machine', a, b), 3)}); "
                 f"small's fraction of the groups' usage {fmt(None if small is None or not total else small / total, 3)}; cpu.weight {w}")
        if FLOOR_ASSERT_CPUS < FLOOR_GOAL_CPUS:
            met = "met" if small is not None and small >= FLOOR_GOAL_CPUS else "NOT met"
            self.fig("floor", f"NOTE: the issue's goal is >= {FLOOR_GOAL_CPUS} CPU ({met} here); this emulated "
                     f"machine is asserted at >= {FLOOR_ASSERT_CPUS}")
        self.c.check("floor", f"small >= {FLOOR_ASSERT_CPUS} CPU (min = 1) averaged over 10 s",
                     small is not None and small >= FLOOR_ASSERT_CPUS, fmt(small, 3), f">= {FLOOR_ASSERT_CPUS} (goal {FLOOR_GOAL_CPUS})")
        groups_hit = self.events.get("floor_hit", [])
        self.c.check("floor", "journal: floor_hit for small", "small" in groups_hit, groups_hit, "small")
        doc, err = self.log.json("status_floor")
        red = (status_groups(doc).get("small") or {}).get("redistribution") or {}
        self.fig("floor", f"status: small {red if red else err}")
        self.c.check("floor", "status: small redistribution.limit == floor", red.get("limit") == "floor",
                     red.get("limit") if red else err, "floor")
        self.timeline("floor: small (min 1) among heavy1..3", groups, a, b)

    # 5
    def check_starve(self):
        if self.need("starve_idle_start", "starve_return", "starve_end"):
            self.c.check("starvation", "phase measured", False, "missing marks", "starve_idle_start, starve_return, starve_end")
            return
        t, end = self.marks["starve_return"], self.marks["starve_end"]
        interval = self.log.num("interval_s_5") or 1.0
        max_boost = self.log.num("max_boost_5") or 4.0

        def share_a(a, b):
            ua, ub = self.s.cpus("a", a, b), self.s.cpus("b", a, b)
            if ua is None or ub is None or ua + ub <= 0:
                return None
            return 100 * ua / (ua + ub)

        a5 = share_a(t, t + 5)
        b5 = None if a5 is None else 100 - a5
        per = {k: share_a(t + k, t + k + 1) for k in range(0, int(end - t - 1 + 1e-6) + 1)}
        vals = [v for v in per.values() if v is not None]
        amin = min(vals) if vals else None
        kmin = min(per, key=lambda k: per[k] if per[k] is not None else 999) if vals else None
        if amin is not None:
            self.results["starvation_a_min_percent"] = f"{amin:.1f}"
        if b5 is not None:
            self.results["starvation_b_first_percent"] = f"{b5:.1f}"
        # The last 2 s before the end mark are left out of the settle windows: the phase stops
        # the burners right after the mark, and usage between samples (about a second apart
        # under load) is interpolated, so a window ending at the mark can see the teardown
        # (CI f076d3b: a at 0.59 CPUs in its last 5-s window, 1.0 before; the split "failed").
        offs = list(range(0, int(end - t - 5 - 2 + 1e-6) + 1))
        ret = first_stable(offs, lambda k: (lambda v: None if v is None else abs(v - 50) <= STARVE_RETURN_PTS)(share_a(t + k, t + k + 5)))
        ret_end = None if ret is None else ret + 5
        if ret_end is not None:
            self.results["starvation_settle_intervals"] = f"{ret_end / interval:.1f}"
        # The anti-starvation bound on the effective weights (sampled cpu.weight).
        ratios = []
        for (ta, _, _, wa) in self.s.series.get("a", []):
            if t <= ta <= end:
                lb = self.s.last_before("b", ta)
                if lb and wa and lb[3]:
                    ratios.append(max(wa / lb[3], lb[3] / wa))
        rmax = max(ratios) if ratios else None
        alone = self.s.cpus("a", self.marks["starve_idle_start"] + 2, t)
        self.fig("starvation", f"a alone for {t - self.marks['starve_idle_start']:.0f} s: {fmt(alone, 3)} CPUs")
        self.fig("starvation", f"after b returns: b {fmt(b5, 1)}% over the first 5 s; a's minimum 1-s share "
                 f"{fmt(amin, 1)}% (at +{kmin} s; goal >= {STARVE_A_MIN_GOAL_PCT:.0f}%); "
                 f"5-s split within {STARVE_RETURN_PTS:g} points of 50/50 from the window ending at +{fmt(ret_end)} s "
                 f"= {fmt(None if ret_end is None else ret_end / interval, 1)} intervals; max effective weight ratio {fmt(rmax, 2)}")
        self.fig("starvation", "a's 1-s share: " + " ".join(f"{fmt(per[k], 0)}" for k in sorted(per)))
        for name in ("status_starve_idle", "status_starve_end"):
            doc, err = self.log.json(name)
            gs = status_groups(doc)
            self.fig("starvation", f"{name}: " + (", ".join(
                f"{g} factor {((gs[g].get('redistribution') or {}).get('fairness_factor'))} weight {gs[g].get('cpu_weight')}"
                for g in ("a", "b") if g in gs) or str(err)))
        self.c.check("starvation", f"b favoured after its return: > {STARVE_B_FIRST5_PCT:.0f}% of the first 5 s",
                     b5 is not None and b5 > STARVE_B_FIRST5_PCT, f"{fmt(b5, 1)}%", f"> {STARVE_B_FIRST5_PCT:.0f}%")
        self.c.check("starvation", f"a's minimum 1-s share >= {STARVE_A_MIN_ASSERT_PCT:.0f}% (goal {STARVE_A_MIN_GOAL_PCT:.0f}%)",
                     amin is not None and amin >= STARVE_A_MIN_ASSERT_PCT, f"{fmt(amin, 1)}% at +{kmin} s",
                     f">= {STARVE_A_MIN_ASSERT_PCT:.0f}%")
        self.c.check("starvation", f"effective weight ratio <= max_boost {max_boost:g} (+1% rounding)",
                     rmax is not None and rmax <= max_boost * 1.01, fmt(rmax, 3), f"<= {max_boost:g}")
        self.c.check("starvation", f"split back within {STARVE_RETURN_PTS:g} points of 50/50 within 40 s (5-s windows)",
                     ret_end is not None and ret_end <= 40, f"from +{fmt(ret_end)} s", "<= 40 s")
        self.timeline("starvation: b CONTinued at t0", ["a", "b"], t, end)

    # 6
    def check_absent(self):
        """Issue 11: b had no processes while a was busy alone for two half-lives; on its
        return it is favoured as a group whose processes slept would be, within max_boost."""
        if self.need("absent_alone_start", "absent_burners_started", "absent_return", "absent_end"):
            self.c.check("absent", "phase measured", False, "missing marks", "absent_alone_start, absent_burners_started, absent_return, absent_end")
            return
        # From the moment b's burners were started: the agent places them within milliseconds
        # (kernel events), while the guest's poll that confirms it takes up to a second of TCG
        # forks, the very second in which b's boost is largest.
        t, end = self.marks["absent_burners_started"], self.marks["absent_end"]
        placed = self.marks["absent_return"] - t
        max_boost = self.log.num("max_boost_6") or 4.0
        bound = 100 * max_boost / (1 + max_boost)

        def share_b(a, b):
            ua, ub = self.s.cpus("a", a, b), self.s.cpus("b", a, b)
            if ua is None or ub is None or ua + ub <= 0:
                return None
            return 100 * ub / (ua + ub)

        first2, next2, late = share_b(t, t + 2), share_b(t + 2, t + 4), share_b(t + 8, end)
        per = [share_b(t + k, t + k + 1) for k in range(0, int(end - t + 1e-6))]
        ratios = []
        for (tb, _, _, wb) in self.s.series.get("b", []):
            if t - 1 <= tb <= end:
                la = self.s.last_before("a", tb)
                if la and wb and la[3]:
                    ratios.append(max(wb / la[3], la[3] / wb))
        rmax = max(ratios) if ratios else None
        if first2 is not None:
            self.results["absent_b_first2_percent"] = f"{first2:.1f}"
        if next2 is not None:
            self.results["absent_b_next2_percent"] = f"{next2:.1f}"
        alone = self.s.cpus("a", self.marks["absent_alone_start"], t)
        self.fig("absent", f"a alone {t - self.marks['absent_alone_start']:.1f} s at {fmt(alone, 3)} CPUs while b had no processes "
                 f"(b's burners all seen in b: {self.log.one('absent_b_placed')}, {placed:.2f} s after their start)")
        self.fig("absent", f"b's share after its burners started: {fmt(first2, 1)}% (first 2 s), {fmt(next2, 1)}% (next 2 s), "
                 f"{fmt(late, 1)}% (+8 s to the end); bound {bound:.0f}% (max_boost {max_boost:g}); max effective weight ratio {fmt(rmax, 2)}")
        self.fig("absent", "b's 1-s share: " + " ".join(fmt(v, 0) for v in per))
        doc, err = self.log.json("status_absent_alone")
        gs = status_groups(doc)
        red = {g: (gs.get(g) or {}).get("redistribution") or {} for g in ("a", "b")}
        self.fig("absent", "status before b's return: " + (", ".join(
            f"{g} factor {red[g].get('fairness_factor')} decayed_usage {red[g].get('decayed_usage_cpus')} entitlement {red[g].get('entitlement_cpus')}"
            for g in ("a", "b")) if gs else str(err)))
        self.c.check("absent", "status: b, without processes, accrued entitlement (decayed_usage_cpus ~0)",
                     (red["b"].get("entitlement_cpus") or 0) > 0.3 and (red["b"].get("decayed_usage_cpus") or 0) < 0.05,
                     f"entitlement {red['b'].get('entitlement_cpus')} usage {red['b'].get('decayed_usage_cpus')}", "> 0.3, < 0.05")
        # Favoured: clearly above its fair 50% (the old rule measured 58% here, then 50%: the
        # 5-point margin is the per-second noise seen on this loaded 2-vCPU machine).
        self.c.check("absent", f"b favoured in its first 2 s: > {ABSENT_B_FIRST2_PCT:.0f}%",
                     first2 is not None and first2 > ABSENT_B_FIRST2_PCT, f"{fmt(first2, 1)}%", f"> {ABSENT_B_FIRST2_PCT:.0f}%")
        # Bounded: at most max_boost / (1 + max_boost) of the pair, plus the kernel's per-CPU
        # placement error (<= 2 points in the share phase) and a point of sampling alignment.
        self.c.check("absent", f"b bounded in its first 2 s: <= {bound:.0f}% + {ABSENT_BOUND_SLACK_PTS:g}",
                     first2 is not None and first2 <= bound + ABSENT_BOUND_SLACK_PTS, f"{fmt(first2, 1)}%", f"<= {bound + ABSENT_BOUND_SLACK_PTS:.0f}%")
        self.c.check("absent", f"effective weight ratio <= max_boost {max_boost:g} (+1% rounding)",
                     rmax is not None and rmax <= max_boost * 1.01, fmt(rmax, 3), f"<= {max_boost:g}")
        self.timeline("absent: b's burners placed at t0", ["a", "b"], t - 2, end)

    # 7
    def check_idle(self):
        """idle = true: < 5% of the machine while an ordinary group is hungry, nearly all of
        it once that group stops; cpu.idle reads 1, no cpu.weight write failed."""
        if self.need("idle_contended_start", "idle_contended_end", "idle_alone_start", "idle_alone_end"):
            self.c.check("idle", "phase measured", False, "missing marks", "idle_* marks")
            return
        log = self.log
        a, b = self.marks["idle_contended_start"], self.marks["idle_contended_end"]
        scav_c, work_c, mach_c = self.s.cpus("scav", a, b), self.s.cpus("work", a, b), self.s.cpus("_machine", a, b)
        a2, b2 = self.marks["idle_alone_start"], self.marks["idle_alone_end"]
        scav_a, mach_a = self.s.cpus("scav", a2, b2), self.s.cpus("_machine", a2, b2)
        contended = None if scav_c is None else 100 * scav_c / self.capacity
        # "Nearly all" against what this guest delivers to busy burners: both groups' usage in
        # the contended window just before. Not the nominal 2 CPUs (a loaded host runs the
        # vCPUs at ~1.85-1.90), nor the root's usage_usec (tick-based: 155% seen here).
        delivered = None if scav_c is None or work_c is None else scav_c + work_c
        alone = None if scav_a is None or not delivered else 100 * scav_a / delivered
        alone_cap = None if scav_a is None else 100 * scav_a / self.capacity
        if contended is not None:
            self.results["idle_contended_percent"] = f"{contended:.2f}"
        if alone is not None:
            self.results["idle_alone_percent"] = f"{alone:.1f}"
        self.fig("idle", f"both busy {b - a:.1f} s: scav {fmt(scav_c, 3)} CPUs = {fmt(contended, 2)}% of {self.capacity:g}; "
                 f"work {fmt(work_c, 3)}; machine {fmt(mach_c, 3)}")
        self.fig("idle", f"work STOPped, {b2 - a2:.1f} s: scav {fmt(scav_a, 3)} CPUs = {fmt(alone, 1)}% of what both groups ran "
                 f"while busy ({fmt(delivered, 3)} CPUs), {fmt(alone_cap, 1)}% of {self.capacity:g} (root, tick-based: {fmt(mach_a, 3)})")
        self.fig("idle", f"kernel: scav cpu.idle {log.one('idle_scav_cpu_idle')}, cpu.weight {log.one('idle_scav_cpu_weight')}; "
                 f"work cpu.idle {log.one('idle_work_cpu_idle')}")
        self.fig("idle", f"kernel probe: cpu.idle {log.one('probe_cpu_idle')}; cpu.weight 300 then cpu.idle 1 reads "
                 f"{log.one('probe_weight_while_idle')}; writing cpu.weight while idle: {log.one('probe_weight_write_while_idle')}; "
                 f"after cpu.idle 0 it reads {log.one('probe_weight_after_idle')}")
        self.c.check("idle", "scav cpu.idle reads 1, work 0", log.one("idle_scav_cpu_idle") == "1" and log.one("idle_work_cpu_idle") == "0",
                     f"scav {log.one('idle_scav_cpu_idle')} work {log.one('idle_work_cpu_idle')}", "1, 0")
        self.c.check("idle", f"scav < {IDLE_CONTENDED_PCT:g}% of the machine while work is hungry",
                     contended is not None and contended < IDLE_CONTENDED_PCT, f"{fmt(contended, 2)}%", f"< {IDLE_CONTENDED_PCT:g}%")
        self.c.check("idle", f"scav >= {IDLE_ALONE_PCT:g}% of what the guest delivered to busy groups once work stopped",
                     alone is not None and alone >= IDLE_ALONE_PCT, f"{fmt(alone, 1)}%", f">= {IDLE_ALONE_PCT:g}%")
        failures = []
        status = {}
        for name in ("status_idle_contended", "status_idle_alone"):
            doc, err = log.json(name)
            if doc is None:
                failures.append(f"{name}: {err}")
                continue
            failures += [f"{f.get('target')}: {f.get('cause')}" for f in ((doc.get("agent") or {}).get("failures") or [])]
            status[name] = status_groups(doc).get("scav") or {}
        sc = status.get("status_idle_contended") or {}
        red = sc.get("redistribution") or {}
        self.fig("idle", f"status: scav idle {sc.get('idle')} cpu_weight {sc.get('cpu_weight')} "
                 f"({(sc.get('unavailable') or {}).get('cpu_weight')}); limit {red.get('limit')}; allocation {red.get('allocation_cpus')}; "
                 f"machine share {sc.get('machine_share_pct')}%")
        self.c.check("idle", "no write failed (no cpu.weight refused on the idle group)", not failures, failures or "none", "none")
        self.c.check("idle", "status: scav idle, cpu_weight null, limit idle while work is hungry",
                     sc.get("idle") is True and sc.get("cpu_weight") is None and red.get("limit") == "idle",
                     f"idle {sc.get('idle')} cpu_weight {sc.get('cpu_weight')} limit {red.get('limit')}", "true, null, idle")
        self.c.check("idle", "kernel: cpu.weight refused while cpu.idle = 1, reset to 100 after",
                     "Invalid argument" in (log.one("probe_weight_write_while_idle") or "") and log.one("probe_weight_after_idle") == "100",
                     f"{log.one('probe_weight_write_while_idle')}; after {log.one('probe_weight_after_idle')}", "EINVAL; 100")
        self.timeline("idle: work and scav busy, work STOPped at +" + fmt(self.marks.get("idle_work_stopped", a) - a, 1) + " s",
                      ["work", "scav"], a, b2)

    def run(self):
        self.check_boot()
        for f in (self.check_share, self.check_redist, self.check_borrow, self.check_floor, self.check_starve,
                  self.check_absent, self.check_idle):
            try:
                f()
            except Exception as e:  # a checker bug must not hide the other figures
                self.c.check(f.__name__, "checker ran", False, f"{type(e).__name__}: {e}", "no exception")


def print_report(run, path, verbose):
    c, log = run.c, run.log
    print(f"boot: kernel {log.one('kernel')}, /init at {log.one('boot_uptime')} s, scenario ended at "
          f"{log.one('end_uptime')} s; log target {log.one('log_target')}; PSI {log.one('psi')}")
    ready = ", ".join(f"phase {p} {log.one(f'ready_s_{p}')} s" for p in PHASES)
    print(f"agent ready after: {ready}")
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
            if name.startswith("samples_") or (name.startswith("journal") and kind == "JSON"):
                continue
            print(f"=== {kind.lower()} {name}")
            for line in body[-60:]:
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
        keys = ["share_max_error_points", "share_jain", "redistribution_intervals", "borrow_take_intervals",
                "borrow_giveback_intervals", "floor_cpus", "starvation_a_min_percent", "starvation_b_first_percent",
                "starvation_settle_intervals", "absent_b_first2_percent", "absent_b_next2_percent",
                "idle_contended_percent", "idle_alone_percent"]
        with open(args.results, "w") as f:
            for k in keys:
                if k in run.results:
                    f.write(f"{k} {run.results[k]}\n")
        print(f"{LABEL}: results in {args.results}")
    passed = len(run.c.checks) - len(run.c.failed)
    print(f"{LABEL}: {passed} passed, {len(run.c.failed)} failed")
    return 1 if run.c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Host-side checker for the io tier (scenario-io.sh, issue 12): io shares dividing a disk.

Reads the guest's console log: FSRESULT lines (`run SETUP N light=B heavy=B ratio=R ...`, the
groups' weight files, the disk's queue settings), `fairshare status --json` snapshots per setup.
Bytes are each group's io.stat rbytes delta over the window (the kernel's own count).

Checks (groups light and heavy, io shares 1 : 4, two O_DIRECT readers each, same region):
  guest    finished, scenario exit 0, every module loaded, the disk present, the agent
           started, ran to the end and stopped cleanly, every reader placed by the agent
  none     io.cost off, scheduler none: status says not in force through "none" for the disk;
           io.bfq.weight not written while no disk uses BFQ; the split is recorded only
  iocost   model and qos read back as written (enable=1, ctrl=user, vrate pinned at 100%);
           io.weight "default 100" / "default 400"; status in force through "io.cost" (model
           linear, ctrl user); heavy/light within 20% of 4 (3.2 .. 4.8)
  bfq      scheduler bfq with the admin's tuning (rotational 0, low_latency 0) in place;
           io.bfq.weight "default 100" / "default 400", also in the status; status in force
           through "bfq"; three windows, the median heavy/light within BFQ_RATIO_RANGE
           (see the constant for why that band)

Usage: check-io.py CONSOLE_LOG [--results FILE] [--verbose]
  --results FILE  write KEY VALUE lines (docs/benchmarks.md's figures)
Last line: `vm-io: N passed, M failed`. Python 3 standard library only.
"""

import argparse
import importlib.util
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_enforce", os.path.join(HERE, "check-enforce.py"))
_ce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ce)
Log, Checker, status_groups, fmt = _ce.Log, _ce.Checker, _ce.status_groups, _ce.fmt

LABEL = "vm-io"
DISK = "vda"
MODULES = ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "virtio_blk", "bfq"]
IO_SHARES = {"light": 1, "heavy": 4}
TARGET_RATIO = IO_SHARES["heavy"] / IO_SHARES["light"]
# The goal for io.cost: within 20% of 1 : 4.
IOCOST_RATIO_RANGE = (TARGET_RATIO * 0.8, TARGET_RATIO * 1.2)
IO_WEIGHTS = {"light": "default 100", "heavy": "default 400"}
BFQ_WEIGHTS = {"light": "default 100", "heavy": "default 400"}
BFQ_RUNS = 3
# The issue asks that BFQ's split favour the heavier group (median of three runs above 1). With
# the tuning in scenario-io.sh (rotational 0, low_latency 0, random 256 KiB readers) 13 windows
# in four guests measured 1:3.6 .. 1:5.1 (docs/benchmarks.md), untuned (rotational 1) 1:3.7 ..
# 1:495 with the same readers; a band of 2 .. 6 on the median fails on a lost tuning or lost
# weights yet leaves room for a loaded host.
BFQ_RATIO_RANGE = (2.0, 6.0)
BFQ_TUNING = {"rotational": "0", "low_latency": "0"}


def parse_run(row):
    """`SETUP N key=value...` -> (setup, n, {key: value}) with numbers converted."""
    if len(row) < 2:
        return None
    vals = {}
    for kv in row[2:]:
        k, _, v = kv.partition("=")
        try:
            vals[k] = float(v) if "." in v or v == "inf" else int(v)
        except ValueError:
            vals[k] = v
    # The ratio from the bytes, not the guest's rounded one.
    light, heavy = vals.get("light"), vals.get("heavy")
    if isinstance(light, int) and isinstance(heavy, int):
        vals["ratio"] = heavy / light if light > 0 else float("inf")
    else:
        vals["ratio"] = None
    return row[0], row[1], vals


def disk_entry(doc):
    """The status's io_devices entry for the test disk, or None."""
    try:
        return next((d for d in doc["io_devices"] if d.get("name") == DISK), None)
    except (TypeError, KeyError):
        return None


class Run:
    def __init__(self, log):
        self.log = log
        self.c = Checker()
        self.figures = []  # (section, text)
        self.results = {}
        self.runs = {}  # setup -> [vals]
        for row in log.all("run"):
            p = parse_run(row)
            if p:
                self.runs.setdefault(p[0], []).append(p[2])

    def fig(self, section, text):
        self.figures.append((section, text))

    def weight(self, setup, group, file):
        for row in self.log.all("weight"):
            if row[:3] == [setup, group, file]:
                return " ".join(row[3:])
        return None

    def queue(self, setup, key, kind="queue"):
        for row in self.log.all(kind):
            if row[:2] == [setup, key]:
                return " ".join(row[2:])
        return None

    def record_run(self, key, vals):
        self.results[f"{key}_light_bytes"] = vals.get("light")
        self.results[f"{key}_heavy_bytes"] = vals.get("heavy")
        self.results[f"{key}_ratio"] = fmt(vals.get("ratio"))
        self.results[f"{key}_seconds"] = vals.get("seconds")

    def run_text(self, vals):
        mb = lambda b: f"{b / 1048576:.1f}" if isinstance(b, int) else "?"
        return (f"light {mb(vals.get('light'))} MiB, heavy {mb(vals.get('heavy'))} MiB in {vals.get('seconds')} s: "
                f"1 : {fmt(vals.get('ratio'))}")

    def check_status(self, setup, in_force, through, extra=None):
        doc, err = self.log.json(f"status_{setup}")
        d = disk_entry(doc)
        self.c.check(setup, f"status: {DISK} in_force {str(in_force).lower()} through {through!r}",
                     d is not None and d.get("in_force") is in_force and d.get("through") == through,
                     {k: d.get(k) for k in ("in_force", "through", "scheduler", "io_cost", "why")} if d
                     else (err or f"no io_devices entry {DISK!r}: {list((doc or {}).keys())}"),
                     {"in_force": in_force, "through": through})
        if extra:
            self.c.check(setup, f"status: {DISK} " + ", ".join(f"{k} {v!r}" for k, v in extra.items()),
                         d is not None and all(d.get(k) == v for k, v in extra.items()),
                         {k: d.get(k) for k in extra} if d else "no entry", extra)
        waits = [r for r in self.log.all("disk_state_wait") if r and r[0] == setup]
        if waits:
            self.fig(setup, f"status showed {through!r} after {waits[-1][1]} s")
        return doc

    # --- sections ------------------------------------------------------------------------

    def check_guest(self):
        log, c = self.log, self.c
        c.check("guest", "guest finished (FSDONE)", log.done, log.done, True)
        c.check("guest", "scenario exit 0", log.one("scenario_exit") == "0", log.one("scenario_exit"), "0")
        mods = {r[0]: r[1] for r in log.all("module") if len(r) >= 2}
        c.check("guest", "modules loaded", all(mods.get(m) == "ok" for m in MODULES), mods or "none loaded",
                {m: "ok" for m in MODULES})
        disk = log.one("disk")
        c.check("guest", f"disk {DISK} present", disk is not None and disk.startswith(DISK + " "),
                disk or log.one("disk") or "no disk line", f"{DISK} MAJ:MIN SIZE")
        c.check("guest", "agent started", log.one("agent_ready_s") is not None and log.one("agent_failed_to_start") is None,
                f"ready after {log.one('agent_ready_s')} s, failed {log.one('agent_failed_to_start')}", "its groups made")
        stop = log.one("agent_stop") or ""
        c.check("guest", "agent alive to the end, stopped cleanly",
                log.one("agent_dead_at_end") is None and "stop_exit 0" in stop and "stop_killed no" in stop,
                stop or f"dead at end: {log.one('agent_dead_at_end')}", "stop_exit 0, stop_killed no")
        c.check("guest", "every reader placed by the agent", not log.all("placement_timeout"),
                log.all("placement_timeout") or "all placed", "all placed within 20 s")
        self.fig("guest", f"kernel {log.one('kernel')}, disk {disk}, readers {log.one('readers')}, "
                          f"agent ready after {log.one('agent_ready_s')} s, scenario ended at {log.one('end_uptime')} s")
        self.results["readers"] = log.one("readers")

    def check_none(self):
        s = "none"
        self.c.check(s, "scheduler none", (self.queue(s, "scheduler") or "").find("[none]") >= 0,
                     self.queue(s, "scheduler"), "[none] ...")
        self.check_status(s, False, "none")
        bfq = {g: self.weight(s, g, "io.bfq.weight") for g in IO_SHARES}
        self.c.check(s, "io.bfq.weight not written while no disk uses BFQ",
                     all(v == "default 100" for v in bfq.values()), bfq, "default 100 (the kernel's) for both")
        runs = self.runs.get(s, [])
        ok = self.c.check(s, "one window measured, both groups read", len(runs) == 1 and all(
            isinstance(runs[0].get(g), int) and runs[0][g] > 0 for g in IO_SHARES),
            runs or "no run line", "light > 0, heavy > 0 bytes")
        if runs:
            self.record_run("none", runs[0])
            self.fig(s, "split (recorded, not asserted): " + self.run_text(runs[0]))
        self.results["unthrottled_bps"] = self.log.one("unthrottled_bps")
        self.results["none_scheduler"] = "none"
        return ok

    def check_iocost(self):
        s, log = "iocost", self.log
        model, qos = log.one("iocost_model") or "", log.one("iocost_qos") or ""
        self.c.check(s, "io.cost.model read back: linear, ctrl=user",
                     "model=linear" in model and "ctrl=user" in model, model or "no line", "ctrl=user model=linear ...")
        self.c.check(s, "io.cost.qos read back: enabled, ctrl=user, vrate pinned at 100%",
                     all(x in qos.split() for x in ("enable=1", "ctrl=user", "min=100.00", "max=100.00")),
                     qos or "no line", "enable=1 ctrl=user ... min=100.00 max=100.00")
        self.results["iocost_model"] = " ".join(model.split()[1:])
        self.results["iocost_qos"] = " ".join(qos.split()[1:])
        w = {g: self.weight(s, g, "io.weight") for g in IO_SHARES}
        self.c.check(s, "io.weight default 100 / default 400", w == IO_WEIGHTS, w, IO_WEIGHTS)
        self.check_status(s, True, "io.cost", {"io_cost": True, "io_cost_model": "linear", "io_cost_ctrl": "user"})
        runs = self.runs.get(s, [])
        ratio = runs[0].get("ratio") if len(runs) == 1 else None
        lo, hi = IOCOST_RATIO_RANGE
        self.c.check(s, f"heavy/light within 20% of {TARGET_RATIO:g}",
                     isinstance(ratio, float) and lo <= ratio <= hi,
                     self.run_text(runs[0]) if len(runs) == 1 else f"{len(runs)} run lines", f"{lo:.1f} .. {hi:.1f}")
        if runs:
            self.record_run("iocost", runs[0])
            self.fig(s, f"model {self.results['iocost_model']}; qos {self.results['iocost_qos']}")
            self.fig(s, "split: " + self.run_text(runs[0]))

    def check_bfq(self):
        s = "bfq"
        self.c.check(s, "scheduler bfq", (self.queue(s, "scheduler") or "").find("[bfq]") >= 0,
                     self.queue(s, "scheduler"), "... [bfq] ...")
        tuning = {"rotational": self.queue(s, "rotational"), "low_latency": self.queue(s, "low_latency", "iosched")}
        self.c.check(s, "the admin's tuning in place (rotational 0, low_latency 0)", tuning == BFQ_TUNING,
                     tuning, BFQ_TUNING)
        tunables = {k: self.queue(s, k, "iosched") for k in ("low_latency", "slice_idle_us", "strict_guarantees")}
        self.results["bfq_tunables"] = " ".join(f"{k}={v}" for k, v in
                                                [("rotational", tuning["rotational"])] + list(tunables.items()))
        self.results["bfq_scheduler"] = "bfq"
        w = {g: self.weight(s, g, "io.bfq.weight") for g in IO_SHARES}
        self.c.check(s, "io.bfq.weight default 100 / default 400", w == BFQ_WEIGHTS, w, BFQ_WEIGHTS)
        wait = self.log.one("bfq_weight_wait")
        self.fig(s, f"io.bfq.weight written {wait} s after the switch to bfq; tunables {self.results['bfq_tunables']}")
        doc = self.check_status(s, True, "bfq")
        groups = status_groups(doc)
        sw = {g: groups.get(g, {}).get("io_bfq_weight") for g in IO_SHARES}
        self.c.check(s, "status: io_bfq_weight 100 / 400", sw == {"light": 100, "heavy": 400}, sw,
                     {"light": 100, "heavy": 400})
        runs = self.runs.get(s, [])
        ratios = [r.get("ratio") for r in runs]
        ok = self.c.check(s, f"{BFQ_RUNS} windows, both groups read in each",
                          len(runs) == BFQ_RUNS and all(isinstance(r.get("light"), int) and r["light"] > 0 and
                                                        isinstance(r.get("heavy"), int) and r["heavy"] > 0 for r in runs),
                          [self.run_text(r) for r in runs] or "no run lines", f"{BFQ_RUNS} runs, > 0 bytes each")
        for i, r in enumerate(runs, 1):
            self.record_run(f"bfq_run{i}", r)
            self.fig(s, f"run {i}: " + self.run_text(r))
        median = statistics.median(ratios) if ok and all(isinstance(x, float) for x in ratios) else None
        self.c.check(s, "median heavy/light > 1 (favours the heavier group)", median is not None and median > 1,
                     median if median is not None else ratios, "> 1")
        lo, hi = BFQ_RATIO_RANGE
        self.c.check(s, f"median heavy/light in {lo:g} .. {hi:g} (the tuned setup's split)",
                     median is not None and lo <= median <= hi, median if median is not None else ratios,
                     f"{lo:g} .. {hi:g} (weights 1 : {TARGET_RATIO:g})")
        if median is not None:
            self.results["bfq_median_ratio"] = f"{median:.3f}"
            self.fig(s, f"median 1 : {median:.3f}")

    def run(self):
        self.check_guest()
        self.check_none()
        self.check_iocost()
        self.check_bfq()


def print_report(run, path, verbose):
    c, log = run.c, run.log
    section = None
    for sec, text in run.figures:
        if sec != section:
            print(f"--- {sec}")
            section = sec
        print(f"  {text}")
    print(f"=== checks ({len(c.failed)} of {len(c.checks)} failed); console log: {path}")
    w = max(len(x[1]) for x in c.checks)
    for sec, name, ok, measured, expected in c.checks:
        if ok and not verbose:
            print(f"  ok   [{sec}] {name}")
        else:
            print(f"  {'ok  ' if ok else 'FAIL'} [{sec}] {name:<{w}}  measured: {measured}  expected: {expected}")
    if c.failed:
        print("=== every FSRESULT")
        for key, rows in log.results.items():
            for r in rows:
                print(f"  {key} {' '.join(r)}")
        for name, (kind, body) in log.blocks.items():
            print(f"=== {kind.lower()} {name}")
            for line in body[-40:]:
                print(f"  {line}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--results", default=None, help="write KEY VALUE lines here")
    ap.add_argument("--verbose", action="store_true", help="print every check with its figures")
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
        run.c.check("guest", "guest printed results", False, f"no FSRESULT lines in {log.lines} lines", "FSRESULT lines")
    else:
        run.run()
    print_report(run, args.log, args.verbose)
    if args.results:
        with open(args.results, "w") as f:
            for k, v in run.results.items():
                if v is not None:
                    f.write(f"{k} {v}\n")
        print(f"{LABEL}: results in {args.results}")
    passed = len(run.c.checks) - len(run.c.failed)
    print(f"{LABEL}: {passed} passed, {len(run.c.failed)} failed")
    return 1 if run.c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Mutation check: the fairness scenarios (FairshareSimulationTests), the process-event tests
(ProcessEventTests, ProcessEventBookTests) and the fairness-rule and idle-group tests
(FairnessRuleTests, FairnessStatusTests, IdleGroupAgentTests) and the io-share tests (BFQWeight*,
IOSharesAgentTests, IODevicesTests) must test the shipping decide stage. Each mutant below breaks one rule of the shipping reconciler (Sources/FairshareCore)
by an exact-text replacement in a copy of the working tree; `swift test --filter TEST_FILTER`
must then FAIL (the mutant is killed). The unmutated copy must pass
first, so a broken build can never count as a kill.

The check fails when the unmutated copy fails, when a mutation no longer applies (its text is
not found exactly once: a refactor moved it, so update the table), when a mutant does not build
(a build error is no kill), or when a mutant survives (a gap in the scenario tests).

The copy lives at a fixed path (MUTATION_DIR, default <repo>/.build-mutation/src) with its own
.build, so later runs rebuild incrementally: SwiftPM's module cache records absolute paths, so a
.build copied to a new temporary directory each run would rebuild from scratch. Files are synced
by content: only the ones that differ are rewritten (with a fresh mtime).

--selftest runs three mutants made to trip each of those (a text that is gone, one that does not
compile, a changed comment) and requires that each is reported and fails the check.

Usage: run-mutations.py [--only NAME ...] [--list] [--selftest]
Environment: SWIFT (default swift), MUTATION_DIR, MUTATION_TIMEOUT (seconds per run, 1200).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

CORE = "Sources/FairshareCore"
TEST_FILTER = "FairshareSimulationTests|ProcessEvent|FairnessRule|IdleGroup|BFQWeight|IOSharesAgent|IODevices"


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    breaks: str


MUTANTS = [
    Mutant("floor-weight-not-raised", f"{CORE}/Decide/Controller.swift",
           "w = share.allocation / result.level * gain",
           "_ = gain",
           "a floor-held group keeps its shares' weight (floors ignored by the weights)"),
    Mutant("floor-not-claimed", f"{CORE}/Decide/Controller.swift",
           "floor: g.floor?.cpus(capacity: capacity) ?? 0,",
           "floor: 0,",
           "the allocator is never told a group's floor"),
    Mutant("ceiling-not-claimed", f"{CORE}/Decide/Controller.swift",
           "let ceiling = g.ceiling?.cpus(capacity: capacity) ?? .infinity",
           "let ceiling: Double = .infinity",
           "the controller ignores max (ceilings)"),
    Mutant("cpu-max-never-written", f"{CORE}/Decide/Reconciler.swift",
           "if inForce != want.cpuMax { limits.append(.setCPUMax(g.name, want.cpuMax)) }",
           "_ = (inForce, want.cpuMax)",
           "the reconciler's plan never sets cpu.max"),
    Mutant("borrowing-ignored", f"{CORE}/Decide/Controller.swift",
           "let burst = g.borrow ? (g.burst?.cpus(capacity: capacity) ?? capacity) : ceiling",
           "let burst = ceiling",
           "borrow = true is treated as false"),
    Mutant("cpu-max-not-raised-while-borrowing", f"{CORE}/Decide/Controller.swift",
           "quota = max(claims[i].ceiling, share.borrowed > 0 ? share.allocation : 0)",
           "quota = claims[i].ceiling",
           "a borrower's cpu.max stays at its ceiling"),
    Mutant("max-boost-clamp-removed", f"{CORE}/Decide/Controller.swift",
           "return min(max(e / u, 1 / bound), bound)",
           "return e / u",
           "the fairness factor is not clamped by max_boost: credit is unbounded"),
    Mutant("fairness-factor-ignored", f"{CORE}/Decide/Controller.swift",
           "weight: Double(g.shares.value) * factor,",
           "weight: Double(g.shares.value),",
           "fairness = decayed has no effect on cpu.weight"),
    Mutant("io-weight-ignores-fairness", f"{CORE}/Decide/Controller.swift",
           "Double(ioBase[g.name]?.value ?? g.ioShares.value) * factor",
           "Double(ioBase[g.name]?.value ?? g.ioShares.value)",
           "io.weight does not follow the fairness factor"),
    Mutant("controller-decision-unused", f"{CORE}/Decide/Reconciler.swift",
           "let want = Self.wanted(g, decision: lastDecision?.decision(for: g.name),",
           "let want = Self.wanted(g, decision: nil,",
           "the reconciler writes the shares' weights and max, never the controller's decision"),
    Mutant("entitlement-only-with-members", f"{CORE}/Decide/Controller.swift",
           "let entitled = groups.filter { !$0.idle }",
           "let entitled = groups.filter { !$0.idle && obs[$0.name]?.hasMembers == true }",
           "decayed fairness: a group without processes earns no entitlement (issue 11's old rule)"),
    Mutant("idle-groups-not-last", f"{CORE}/Decide/Controller.swift",
           "let result = Self.allocate(claims, idle: groups.map(\\.idle), capacity: capacity)",
           "let result = Allocator.allocate(claims, capacity: capacity)",
           "idle groups compete for the capacity like ordinary groups"),
    Mutant("cpu-idle-never-written", f"{CORE}/Decide/Reconciler.swift",
           "weights.append(.setCPUIdle(g.name, g.idle))",
           "_ = g.idle",
           "idle = true never reaches cpu.idle"),
    Mutant("cpu-weight-written-while-idle", f"{CORE}/Decide/Reconciler.swift",
           "return WantedValues(cpuWeight: idleInKernel ? nil : (d?.cpuWeight ?? CPUWeight(own)!),",
           "return WantedValues(cpuWeight: d?.cpuWeight ?? CPUWeight(own)!,",
           "cpu.weight is written on an idle group (the kernel refuses it: EINVAL)"),
    Mutant("pressure-not-hunger", f"{CORE}/Decide/Controller.swift",
           "if let p = o.pressure, p > Self.pressureThreshold",
           "if let p = o.pressure, p > 1",
           "waiting for CPU (cpu.pressure) no longer makes a group hungry"),
    Mutant("member-fork-not-followed", f"{CORE}/Observe/ProcessEventBook.swift",
           "guard child == childTGID, isMember(parent) || reread[parent] != nil else { return }",
           "guard child == childTGID, reread[parent] != nil else { return }",
           "a member's child born after the scan is never recorded (events path)"),
    Mutant("no-periodic-rescan", f"{CORE}/Observe/ProcessEventBook.swift",
           "return now &- last >= period ? (true, .periodic) : (false, nil)",
           "return (false, nil)",
           "the rescan safety net never runs: what events missed stays missed"),
    Mutant("event-move-without-ledger", f"{CORE}/Decide/Reconciler.swift",
           "if steps.contains(where: \\.isMove) {",
           "if false {",
           "an event pass moves processes before their origin is on disk"),
    Mutant("bfq-weight-without-bfq", f"{CORE}/Decide/Reconciler.swift",
           "if bfqActive, applied.bfqWeight[g.name] != want.bfqWeight {",
           "if applied.bfqWeight[g.name] != want.bfqWeight {",
           "io.bfq.weight is written on a machine where no disk uses BFQ"),
    Mutant("bfq-weights-kept-after-bfq-left", f"{CORE}/Decide/Reconciler.swift",
           "if !reading.bfqActive { applied.bfqWeight = [:] }",
           "_ = reading.bfqActive",
           "a disk switched back to BFQ keeps BFQ's default weights (nothing written again)"),
    Mutant("bfq-ratio-not-kept", f"{CORE}/Decide/WeightMapping.swift",
           "? Double(max(1, min((BFQWeight.kernelDefault.value + smallest - 1) / smallest, top / largest)))",
           "? Double(max(1, (BFQWeight.kernelDefault.value + smallest - 1) / smallest))",
           "io shares whose scaled weights exceed 1000 are pinned there, ratios lost"),
    Mutant("io-cost-not-seen", f"{CORE}/Kernel/IODevices.swift",
           "settings[device, default: IOCostSetting(enabled: false)].enabled = fields[\"enable\"] == \"1\"",
           "settings[device, default: IOCostSetting(enabled: false)].enabled = false",
           "status says io shares are not in force on a disk where io.cost is enabled"),
]


@dataclasses.dataclass
class Outcome:
    name: str
    applied: str  # "yes", or why not
    result: str  # passed, killed, survived, build error, timed out, not run
    failed_tests: int | None
    seconds: float
    log: Path | None


def repo_root() -> Path:
    here = Path(__file__).resolve().parent
    out = subprocess.run(["git", "-C", str(here), "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def tracked_files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         check=True, capture_output=True)
    return [f for f in out.stdout.decode().split("\0") if f and (repo / f).is_file()]


def sync(repo: Path, src: Path) -> None:
    """Makes src's files equal to the working tree's (tracked and untracked, not ignored),
    rewriting only those whose bytes differ, and removes the ones the tree no longer has."""
    files = tracked_files(repo)
    if (repo / "Package.resolved").is_file():
        files.append("Package.resolved")  # the same dependency versions as the tree
    wanted = set(files)
    for f in files:
        data = (repo / f).read_bytes()
        dest = src / f
        if dest.is_file() and dest.read_bytes() == data:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        shutil.copymode(repo / f, dest)
    for top in ("Sources", "Tests"):
        for p in (src / top).rglob("*"):
            if p.is_file() and str(p.relative_to(src)) not in wanted:
                p.unlink()
    if not (src / ".build").exists() and (repo / ".build").is_dir():
        # Seed with the tree's dependency checkouts and products; the module cache holds the
        # tree's absolute path and must be rebuilt here.
        shutil.copytree(repo / ".build", src / ".build", symlinks=True,
                        ignore=lambda d, names: [n for n in names if n in ("ModuleCache", "fuzz-crashes")])


def check_applies(src: Path, m: Mutant) -> str:
    path = src / m.path
    if not path.is_file():
        return f"no {m.path}"
    n = path.read_text().count(m.old)
    return "yes" if n == 1 else (f"text not found in {m.path}" if n == 0 else f"text found {n} times in {m.path}")


# "✘ Test name() failed after 1.2 seconds with 1 issue." / "... with 3 test cases failed after ..."
FAILED_TEST = re.compile(r"^✘ Test (?!run with )\S.*? failed after ", re.M)
RUN_SUMMARY = re.compile(r"^[✔✘] Test run with \d+ tests?", re.M)
# The test binary ran and trapped (a force unwrap or precondition met the mutant): the tests
# noticed, but a test should fail cleanly, so it is shown apart.
TEST_CRASH = re.compile(r"error: Process '.*\.xctest.*' exited with unexpected signal code \d+", re.M)


def run_tests(swift: str, src: Path, log: Path, timeout: float) -> tuple[str, int | None, float]:
    """Builds and runs the simulation tests in src: (passed | failed | build error | timed out,
    failed test count, seconds)."""
    start = time.monotonic()
    with log.open("w") as out:
        try:
            rc = subprocess.run([swift, "test", "--filter", TEST_FILTER], cwd=src, stdout=out, stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return "timed out", None, time.monotonic() - start
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace")
    if not RUN_SUMMARY.search(text):
        return ("crashed" if TEST_CRASH.search(text) else "build error"), None, seconds
    failed = len(FAILED_TEST.findall(text))
    if rc == 0 and failed == 0:
        return "passed", 0, seconds
    return "failed", failed, seconds


def table(outcomes: list[Outcome]) -> str:
    rows = [("mutant", "applied", "tests failed", "result", "time")]
    for o in outcomes:
        rows.append((o.name, o.applied, "-" if o.failed_tests is None else str(o.failed_tests), o.result,
                     f"{o.seconds:.0f} s" if o.seconds else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def check(mutants: list[Mutant]) -> list[str]:
    """Runs the unmutated copy and each mutant; prints the table; returns the problems."""
    repo = repo_root()
    src = Path(os.environ.get("MUTATION_DIR") or repo / ".build-mutation" / "src").resolve()
    logs = src.parent / "logs"
    swift = os.environ.get("SWIFT", "swift")
    timeout = float(os.environ.get("MUTATION_TIMEOUT", "1200"))
    src.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    print(f"mutation check: copying the working tree to {src}", flush=True)
    sync(repo, src)
    applies = {m.name: check_applies(src, m) for m in mutants}

    print(f"unmutated: swift test --filter {TEST_FILTER} (log {logs}/unmutated.log)", flush=True)
    status, failed, seconds = run_tests(swift, src, logs / "unmutated.log", timeout)
    baseline_ok = status == "passed"
    outcomes = [Outcome("(unmutated)", "-", "passed" if baseline_ok else "FAILED" if status == "failed" else status.upper(),
                        failed, seconds, logs / "unmutated.log")]

    for m in mutants:
        if applies[m.name] != "yes" or not baseline_ok:
            outcomes.append(Outcome(m.name, "yes" if applies[m.name] == "yes" else "no", "not run", None, 0, None))
            continue
        path = src / m.path
        original = path.read_text()
        path.write_text(original.replace(m.old, m.new, 1))
        print(f"{m.name}: {m.breaks}", flush=True)
        log = logs / f"{m.name}.log"
        try:
            status, failed, seconds = run_tests(swift, src, log, timeout)
        finally:
            path.write_text(original)
        result = {"failed": "killed", "passed": "SURVIVED", "timed out": "killed (timed out)",
                  "crashed": "killed (a test trapped)"}.get(status, status.upper())
        outcomes.append(Outcome(m.name, "yes", result, failed, seconds, log))

    print()
    print(table(outcomes))
    problems = []
    if not baseline_ok:
        problems.append(f"the unmutated copy did not pass ({outcomes[0].result}): see {outcomes[0].log}")
    for m, o in zip(mutants, outcomes[1:]):
        if o.applied != "yes":
            problems.append(f"mutant {o.name} no longer applies ({applies[m.name]}): update it in {Path(__file__).name}")
        elif o.result == "SURVIVED":
            problems.append(f"mutant {o.name} SURVIVED: no scenario test notices that {m.breaks} (see {o.log})")
        elif o.result == "BUILD ERROR":
            problems.append(f"mutant {o.name} does not build, which is no kill: fix its replacement (see {o.log})")
    killed = sum(o.result.startswith("killed") for o in outcomes)
    print(f"\n{len(mutants)} mutants, {killed} killed, total {time.monotonic() - began:.0f} s")
    return problems


# The check's own failure modes: each of these must be reported, and fail the check.
SELFTEST_MUTANTS = [
    Mutant("selftest-stale", f"{CORE}/Decide/Controller.swift", "text no refactor leaves behind", "x",
           "(self-test) a mutation whose text is gone"),
    Mutant("selftest-no-build", f"{CORE}/Decide/Controller.swift", "let burst = ", "let burst: Int = ",
           "(self-test) a mutant that does not compile"),
    Mutant("selftest-survivor", f"{CORE}/Decide/Controller.swift", "/// Hungry when some task waited for a CPU",
           "/// (changed) Hungry when some task waited for a CPU", "(self-test) a comment changed"),
]
SELFTEST_EXPECTED = {
    "selftest-stale": "no longer applies (text not found",
    "selftest-no-build": "does not build",
    "selftest-survivor": "SURVIVED",
}


def selftest() -> int:
    problems = check(SELFTEST_MUTANTS)
    missing = [f"{name}: expected a problem saying '{words}'" for name, words in SELFTEST_EXPECTED.items()
               if not any(f"mutant {name} " in p and words in p for p in problems)]
    unexpected = [p for p in problems if not any(f"mutant {name} " in p for name in SELFTEST_EXPECTED)]
    for p in problems:
        print(f"  reported: {p}")
    if missing or unexpected or len(problems) != len(SELFTEST_EXPECTED):
        for p in missing + [f"unexpected: {u}" for u in unexpected]:
            print(f"mutation self-test: {p}", file=sys.stderr)
        print("mutation self-test: FAILED")
        return 1
    print("mutation self-test: a stale mutation, a mutant that does not build and a survivor each fail the check")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--selftest", action="store_true", help="check that the check's failure modes are reported")
    args = parser.parse_args()
    if args.list:
        for m in MUTANTS:
            print(f"{m.name}: {m.breaks} ({m.path})")
        return 0
    if args.selftest:
        return selftest()
    mutants = MUTANTS
    if args.only:
        unknown = set(args.only) - {m.name for m in MUTANTS}
        if unknown:
            print(f"mutation check: no mutant named {', '.join(sorted(unknown))} (--list names them)", file=sys.stderr)
            return 2
        mutants = [m for m in MUTANTS if m.name in args.only]
    problems = check(mutants)
    for p in problems:
        print(f"mutation check: {p}", file=sys.stderr)
    print("mutation check: " + ("FAILED" if problems else "every mutant killed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

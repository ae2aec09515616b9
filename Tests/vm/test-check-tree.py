#!/usr/bin/env python3
"""check-tree.py on a recorded console log (host only, seconds): the good log passes every check
and yields every figure, and each doctored copy fails the check named for it: a user's share
off a third or split per process, a user's burners in two cgroups or one in the wrong one, a
cgroup too many, a controller missing in a parent's subtree_control, a subgroup removed late
or never (or a neighbour's removed with it), a cycle accepted or changing anything, a cap not
held or not written, a borrower that does not take or takes too much or gives back late, a
reload not applied, a nested split off, a subgroup missing among 200, the agent's CPU growing
with the users, a process not given back or a cgroup left at the stop, an agent that died, was
killed or told of a failure, a guest without journald. Usage is doctored in the sampler's
cumulative usage_usec (check-fairness's self-test doctors), so only the named window changes.
Run: python3 test-check-tree.py (make tree-checker-test)

RECORDED (recorded-tree.log beside this file) is a vm-tree guest's console log; its header says
which run and how it differs from a plain `make vm-tree`. The good log must pass every check but
AGENT_FAILURES (the agent's, not the checker's: each must fail, and nothing else). Condensed by `recorded-log.py LOG --text samples_users samples_cap samples_nested samples_end
cycle_check agent_output_users agent_output_cap agent_output_nested agent_output_many
--journal-fields __MONOTONIC_TIMESTAMP PRIORITY FAIRSHARE_EVENT FAIRSHARE_GROUP MESSAGE`. Refresh it
the same way when scenario-tree.sh changes what it prints; the doctors' factors may need a look
then (each must still fail its check).
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-tree.py")
RECORDED_FILE = os.path.join(HERE, "recorded-tree.log")
sys.path.insert(0, HERE)
from logdoctor import (drop_lines, edit_json, edit_json_lines, replace_block_lines, set_result,  # noqa: E402
                       sub)

_spec = importlib.util.spec_from_file_location("test_check_fairness", os.path.join(HERE, "test-check-fairness.py"))
_tf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tf)
scale_usage, set_sampled, marks, chain = _tf.scale_usage, _tf.set_sampled, _tf.marks, _tf.chain


def _recorded():
    with open(RECORDED_FILE, encoding="utf-8") as f:
        lines = f.read().splitlines()
    # The header (lines starting with '#') says where the log comes from; the checker skips it anyway.
    return "\n".join(line for line in lines if not line.startswith("#")) + "\n"


GOOD = _recorded()
M = marks(GOOD)
RESULT_KEYS = ["users_alice_percent", "users_bob_percent", "users_carol_percent", "users_max_error_points",
               "removal_delay_s", "cap_literal_user_cpu_max", "cap_busy_max_cpus", "cap_borrow_delay_s", "cap_borrow_cpus",
               "cap_giveback_delay_s", "cap_noborrow_cpus", "nested_lab_a_percent", "nested_lab_b_percent",
               "nested_teaching_percent", "nested_max_error_points", "many_window_s", "agent_ticks_20_users",
               "agent_ticks_200_users", "agent_cpu_ratio_200_to_20", "agent_vmrss_kb_200_users"]
U1, U2, U3 = "logins/user-1001", "logins/user-1002", "logins/user-1003"


def result(text, key):
    """The values of the one `FSRESULT KEY ...` line."""
    rows = [line.split()[2:] for line in text.splitlines() if line.split()[:2] == ["FSRESULT", key]]
    assert len(rows) == 1, f"{len(rows)} lines of {key}"
    return rows[0]


def scale(group, a_mark, b_mark, factor, da=0.0, db=0.0):
    return scale_usage(group, M[a_mark] + da, M[b_mark] + db, factor)


def sampled(group, a_mark, b_mark, value, index=2):
    return set_sampled(group, M[a_mark] - 0.5, M[b_mark] + 0.5, index, value)


def poll_at(key, mark, hit, prev):
    return lambda t: set_result(t, key, f"{M[mark] + hit:.2f} {M[mark] + prev:.2f}")


def journal(fn):
    return lambda text: edit_json_lines(text, "journal", fn)


def drop_event(event, a_mark=None, b_mark=None):
    def fn(e):
        t = int(e["__MONOTONIC_TIMESTAMP"]) / 1e6
        inside = a_mark is None or M[a_mark] <= t <= M[b_mark]
        return None if e.get("FAIRSHARE_EVENT") == event and inside else e
    return journal(fn)


def add_journal_entry(entry):
    def run(text):
        lines = text.splitlines()
        i = lines.index("FSJSON-BEGIN journal")
        lines.insert(i + 1, json.dumps(entry, separators=(",", ":")))
        return "\n".join(lines) + "\n"
    return run


def proc_line(key, uid, new_cgroup, nth=0):
    """The nth `KEY_proc` line of UID with its cgroup replaced."""
    def run(text):
        rows = [line for line in text.splitlines() if line.split()[:2] == ["FSRESULT", f"{key}_proc"] and line.split()[4] == uid]
        old = rows[nth]
        parts = old.split()
        parts[5] = new_cgroup
        return text.replace(old + "\n", " ".join(parts) + "\n", 1)
    return run


def ticks_times(factor):
    """The agent's CPU ticks in the 200-user window set to FACTOR x those of the 20-user window
    (the window's last sample moved, utime only)."""
    def run(text):
        a0, a3, b0, b3 = (result(text, f"many_cpu_{k}") for k in ("a_0", "a_3", "b_0", "b_3"))
        t1 = (int(a3[1]) + int(a3[2])) - (int(a0[1]) + int(a0[2]))
        ut = int(b0[1]) + int(b0[2]) + round(factor * t1) - int(b3[2])
        return set_result(text, "many_cpu_b_3", " ".join([b3[0], str(ut)] + b3[2:]))
    return run


def status_failure(block):
    return lambda t: edit_json(t, block, lambda d: d["agent"].update(
        failures=[{"target": "logins/user-1001 cpu.max", "cause": "EINVAL", "count": 1}]))


def agent_output(phase, line):
    return lambda t: replace_block_lines(t, "TEXT", f"agent_output_{phase}", [line])


def no_journald(text):
    text = set_result(text, "image_journald", "no")
    text = set_result(text, "journald", "no")
    text = set_result(text, "log_target", "console")
    return replace_block_lines(text, "JSON", "journal", [])


def with_line(line):
    return lambda t: t.replace("FSDONE\n", line + "\nFSDONE\n", 1)


# Checks the recorded log fails because of the agent, not the checker (see recorded-tree.log's
# header): the good log must fail exactly these. Empty it when the log is refreshed from an agent
# that passes them.
AGENT_FAILURES: dict[tuple[str, str], str] = {}

# (name, doctor, (section, the start of the check's name) that must fail)
BAD = [
    ("empty log", lambda t: "", ("boot", "guest printed results")),
    ("guest did not finish", lambda t: drop_lines(drop_lines(t, "FSDONE"), "FSRESULT scenario_exit"),
     ("boot", "guest ran to completion")),
    ("a phase skipped", with_line("FSRESULT phase_skipped many"), ("boot", "every phase ran")),
    ("no journald in the guest", no_journald, ("journal", "journald ran in the guest")),
    ("nested's agent never ready", lambda t: set_result(t, "ready_nested", "no"), ("nested", "agent ready")),
    # 1. users
    ("users: bob at half again his third", scale(U2, "users_start", "users_end", 1.5),
     ("users", "each user within 3 points of a third")),
    ("users: split per process (57/14/29)",
     chain(scale(U1, "users_start", "users_end", 1.71), scale(U2, "users_start", "users_end", 0.43),
           scale(U3, "users_start", "users_end", 0.86)),
     ("users", "each user within 3 points of a third")),
    ("users: window not marked", lambda t: drop_lines(t, "FSRESULT mark users_end"), ("users", "phase measured")),
    ("users: one of alice's burners in a cgroup of its own", proc_line("users_cg", "1001", "/fstree/logins/user-1001b", 2),
     ("users", "each user's burners share one cgroup")),
    ("users: carol's burner left in logins itself",
     chain(proc_line("users_cg", "1003", "/fstree/logins"),
           lambda t: set_result(t, "users_cg", "7 6")),
     ("users", "each user's burners share one cgroup")),
    ("users: a cgroup too many under the root",
     lambda t: set_result(t, "users_subgroups", "logins logins/overflow logins/user-1001 logins/user-1002 logins/user-1003"),
     ("users", "the cgroups under the root")),
    ("users: io not enabled for the users' subgroups", lambda t: set_result(t, "logins_subtree_control", "cpu"),
     ("users", "logins: cpu and io")),
    # 4. removal
    ("removal: bob's subgroup gone after 3.5 s", poll_at("removal_gone", "removal_kill", 3.5, 3.45),
     ("removal", "bob's subgroup gone within two intervals")),
    ("removal: bob's subgroup never gone", lambda t: set_result(t, "removal_gone", f"none {M['removal_kill'] + 10:.2f}"),
     ("removal", "bob's subgroup gone within two intervals")),
    ("removal: alice's subgroup removed too", lambda t: set_result(t, "removal_after", "logins logins/user-1003"),
     ("removal", "alice's and carol's subgroups stay")),
    # 6. the rejected reload
    ("cycle: fairshare check accepts it", lambda t: set_result(t, "cycle_check_exit", "0"),
     ("guarantees", "`fairshare check` on the parent cycle")),
    ("cycle: no policy_rejected in the journal", drop_event("policy_rejected"),
     ("guarantees", "SIGHUP with the cycle: policy_rejected")),
    ("cycle: status says it was applied",
     lambda t: edit_json(t, "status_cycle", lambda d: d["policy"]["last_reload"].update(applied=True, error=None)),
     ("guarantees", "status after the cycle")),
    ("cycle: the agent died", lambda t: set_result(t, "cycle_agent_alive", "no"), ("guarantees", "agent alive after the rejected reload")),
    ("cycle: a subgroup removed", lambda t: set_result(t, "cycle_after", "logins logins/user-1001"),
     ("guarantees", "after the rejected reload")),
    ("cycle: a burner moved", proc_line("cycle_after_cg", "1001", "/origin/users"), ("guarantees", "after the rejected reload")),
    ("cycle: a weight changed",
     lambda t: sub(t, r"^FSRESULT cycle_after_files logins/user-1003 (\S+) \d+$", r"FSRESULT cycle_after_files logins/user-1003 \1 250"),
     ("guarantees", "after the rejected reload")),
    # 2. cap
    ("cap: reload with the group max not applied", lambda t: set_result(t, "cap_group_max_seen", "none"),
     ("cap", "reload with the group's max 1.5 applied")),
    ("cap: alice above 0.5 while all are busy", scale(U1, "cap_busy_start", "cap_busy_end", 1.3),
     ("cap", "all busy: each user <= 0.5")),
    ("cap: carol's cpu.max not the cap while all are busy", sampled(U3, "cap_busy_start", "cap_busy_end", "66666/100000"),
     ("cap", "all busy: every user's cpu.max reads 50000")),
    ("cap: alice does not borrow (cpu.max stays 50000)",
     chain(sampled(U1, "cap_stop", "cap_borrow_end", "50000/100000"), lambda t: set_result(t, "cap_borrow_files", "logins/user-1001 50000/100000 100")),
     ("cap", "alone: alice's cpu.max reads 150000")),
    ("cap: alice takes little", scale(U1, "cap_borrow_start", "cap_borrow_end", 0.6), ("cap", "alone: alice borrows")),
    ("cap: alice beyond the burst", scale(U1, "cap_borrow_start", "cap_borrow_end", 1.25), ("cap", "alone: alice borrows")),
    ("cap: give-back after 3 s", poll_at("cap_giveback_seen", "cap_cont", 3.0, 2.95),
     ("cap", "CONT: alice's cpu.max back to 50000 within two intervals")),
    ("cap: no give-back", lambda t: set_result(t, "cap_giveback_seen", f"none {M['cap_cont'] + 10:.2f}"),
     ("cap", "CONT: alice's cpu.max back to 50000 within two intervals")),
    ("cap: the reload without user_borrow not applied", drop_event("policy_loaded", "cap_hup_e", "cap_nob_stop"),
     ("cap", "reload without user_borrow applied")),
    ("cap: without user_borrow alice still borrows", scale(U1, "cap_nob_start", "cap_nob_end", 1.6),
     ("cap", "without user_borrow, alone: alice <= 0.5")),
    ("cap: without user_borrow cpu.max raised", sampled(U1, "cap_nob_start", "cap_nob_end", "150000/100000"),
     ("cap", "without user_borrow, alone: cpu.max 50000")),
    # 3. nested
    ("nested: lab-b short of its half", scale("research/lab-b", "nested_start", "nested_end", 0.8),
     ("nested", "lab-a 25%, lab-b 50%, teaching 25%")),
    ("nested: lab-a and lab-b equal (weights not among siblings)",
     chain(scale("research/lab-a", "nested_start", "nested_end", 1.5), scale("research/lab-b", "nested_start", "nested_end", 0.75)),
     ("nested", "lab-a 25%, lab-b 50%, teaching 25%")),
    ("nested: flat cgroups", lambda t: set_result(t, "nested_cgroups", "lab-a lab-b teaching"), ("nested", "the cgroups under the root")),
    ("nested: io missing in research's subtree_control", lambda t: set_result(t, "research_subtree_control", "cpu"),
     ("nested", "research: cpu and io")),
    ("nested: a process left in research itself", lambda t: set_result(t, "research_procs", "1"), ("nested", "research: cpu and io")),
    # 5. many
    ("many: 199 subgroups", lambda t: set_result(t, "many_users_2", "199"), ("many", "20 then 200 subgroups")),
    ("many: one process not placed",
     chain(lambda t: set_result(t, "many_cg", "200 199"), with_line("FSRESULT many_cg_bad hold_u 999 2150 /origin/many want=/fstree/many/user-2150")),
     ("many", "every one of the 200 processes")),
    ("many: the agent's CPU grows sevenfold with 200 users", ticks_times(7.0), ("many", "agent CPU with 200 users")),
    ("many: the 200-user window 20 s long", lambda t: set_result(t, "many_cpu_b_3", " ".join(
        [f"{float(result(t, 'many_cpu_b_0')[0]) + 20:.2f}"] + result(t, "many_cpu_b_3")[1:])), ("many", "windows of the same length")),
    ("many: a failure in the status at 200 users",
     lambda t: set_result(t, "many_status_b1_failures", '"failures":[{"target":"many/user-2150","cause":"EBUSY"}]'),
     ("agent", "no failure in any status snapshot")),
    # 6. guarantees at the stop
    ("stop: a burner left in its subgroup",
     chain(lambda t: set_result(t, "back_users", " ".join(str(int(x) - (i == 1)) for i, x in enumerate(result(t, "back_users")))),
           with_line("FSRESULT back_users_bad burn_u 999 1001 /fstree/logins/user-1001 want=/origin/users")),
     ("guarantees", "users: after the stop every process is back")),
    ("stop: research left behind", lambda t: set_result(t, "leftover_nested", "research"), ("guarantees", "nested: no cgroup left")),
    ("stop: a user's subgroup left behind", lambda t: set_result(t, "leftover_many", "many many/user-2000"),
     ("guarantees", "many: no cgroup left")),
    # agent health
    ("users: the burners run as root", lambda t: sub(t, r"^(FSRESULT users_cg_proc burn_u \d+ 1001 \S+) 1001$", r"\1 0", count=4),
     ("users", "every burner runs as its user")),
    ("users: every burner in the subgroup of uid 0 (the agent read no uid)",
     chain(lambda t: set_result(t, "ready_users", "no"),
           with_line("FSRESULT unplaced_users_bad burn_u 118 1001 /fstree/logins/user-0 want=/fstree/logins/user-1001"),
           with_line("FSRESULT unplaced_users 7 0")),
     ("users", "agent ready")),
    ("agent: dead at the end of cap", lambda t: set_result(t, "alive_at_end_cap", "no"), ("agent", "cap: alive at the phase's end")),
    ("agent: killed at the stop", lambda t: sub(t, r"^(FSRESULT stop_many .*)stop_killed no", r"\1stop_killed yes"),
     ("agent", "many: alive at the phase's end")),
    ("agent: a failure in the status", status_failure("status_nested"), ("agent", "no failure in any status snapshot")),
    ("agent: an error in the journal",
     add_journal_entry({"__MONOTONIC_TIMESTAMP": str(int(M["users_start"] * 1e6)), "PRIORITY": "3", "FAIRSHARE_EVENT": "error",
                        "FAIRSHARE_GROUP": "logins/user-1001", "MESSAGE": "cannot write cpu.weight of group logins/user-1001"}),
     ("agent", "journal: nothing at warning level")),
    ("agent: an incomplete stop", add_journal_entry({"__MONOTONIC_TIMESTAMP": str(int(M["users_end"] * 1e6)), "PRIORITY": "4",
                                                     "FAIRSHARE_EVENT": "stopping", "MESSAGE": "fairshare stopping: 1 process left"}),
     ("agent", "journal: nothing at warning level")),
    ("agent: something on stderr", agent_output("cap", "fatal error: Unexpectedly found nil"), ("agent", "nothing on the agent's stdout")),
]


def run_checker(text, results=False):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tree.log")
        with open(path, "w") as f:
            f.write(text)
        args = [sys.executable, CHECK, path] + (["--results", os.path.join(d, "results.txt")] if results else [])
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        figures = {}
        if results and os.path.exists(os.path.join(d, "results.txt")):
            with open(os.path.join(d, "results.txt")) as f:
                figures = dict(line.split(None, 1) for line in f.read().splitlines() if line.strip())
    return p.returncode, p.stdout + p.stderr, figures


def failed_checks(out):
    """(section, check) of every FAIL line of check-tree.py's report: `FAIL [section] name`."""
    failed = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("FAIL [") and "] " in line:
            sec, rest = line[6:].split("] ", 1)
            failed.append((sec, rest))
    return failed


def main():
    failures = []
    rc, out, figures = run_checker(GOOD, results=True)
    passed = next((line for line in out.splitlines() if line.startswith("vm-tree: ") and "passed" in line), "")
    failed = set(failed_checks(out))
    known = {(sec, name) for sec, name in failed for ksec, kname in AGENT_FAILURES if sec == ksec and name.startswith(kname)}
    if failed != known or len(known) != len(AGENT_FAILURES) or not passed:
        failures.append(f"the recorded good log: exit {rc}; failed {sorted(failed)}, expected exactly the agent's "
                        f"{sorted(AGENT_FAILURES)}\n{out}")
    else:
        print(f"ok   the recorded good log passes ({passed[len('vm-tree: '):]}: "
              + (f"the agent's known {sorted(AGENT_FAILURES)}" if AGENT_FAILURES else "none") + ")")
    missing = [k for k in RESULT_KEYS if k not in figures]
    if missing:
        failures.append(f"the good log's figures: missing {missing}")
    else:
        print(f"ok   the good log yields all {len(RESULT_KEYS)} figures")
    for name, fn, (section, check) in BAD:
        try:
            text = fn(GOOD)
        except (AssertionError, KeyError, StopIteration, IndexError, ValueError) as e:
            failures.append(f"{name}: the doctor does not apply to the recorded log: {e!r}")
            continue
        rc, out, _ = run_checker(text)
        failed = failed_checks(out)
        if rc == 0:
            failures.append(f"{name}: the checker passed it")
        elif not any(sec == section and line.startswith(check) for sec, line in failed):
            failures.append(f"{name}: exit {rc}, but [{section}] {check!r} did not fail; failed: "
                            + "; ".join(f"[{s}] {ln[:80]}" for s, ln in failed))
        else:
            print(f"ok   {name}: fails [{section}] {check}")
    # The ratio check itself passes a budget kept (the recorded agent does not keep it).
    rc, out, _ = run_checker(ticks_times(1.2)(GOOD))
    if any(sec == "many" and name.startswith("agent CPU with 200 users") for sec, name in failed_checks(out)):
        failures.append("many: 1.2 x the 20-user CPU still fails the ratio check")
    else:
        print("ok   many: 1.2 x the 20-user CPU passes the ratio check")
    for f in failures:
        print(f"FAIL {f}")
    total = len(BAD) + 3
    print(f"tree-checker-test: {total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

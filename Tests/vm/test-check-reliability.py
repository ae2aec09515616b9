#!/usr/bin/env python3
"""Tests of check-reliability.py on synthetic console logs: a log where every goal is met
passes, and each defect the suites exist to catch (one per case) fails the check named for
it, as does a phase that never ran. Also --craft: a regex without a crafted argument is an
error. Run: python3 Tests/vm/test-check-reliability.py (make reliability-checker-test)."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check-reliability.py")


def good_log():
    """FSRESULT lines of a run where every goal is met (shape as scenario-reliability.sh prints)."""
    L = ["FSRESULT boot_uptime 5.1"]
    for k, v in [("PHASES", "crash reload hostile socket"), ("KILLS", "3"), ("RELOADS", "6"),
                 ("HOSTILE_PROCS", "100"), ("SOCKET_CONNS", "1000"), ("SOCKET_WINDOW_S", "6")]:
        L.append(f"FSRESULT param {k} {v}")
    L += ["FSRESULT phase_start crash 5.3",
          "FSRESULT p1_kill 1 at-start 0 ledger_lines=0 in_groups=0 result=signal recover_exit=0 ok=3 lost=0 wrong=0 gone=0 ingroup=0",
          "FSRESULT p1_kill 2 random 2000 ledger_lines=9 in_groups=8 result=exit-code recover_exit=0 ok=9 lost=0 wrong=0 gone=0 ingroup=0",
          "FSRESULT p1_kill 3 first-move:fired 1100 ledger_lines=2 in_groups=1 result=signal recover_exit=0 ok=10 lost=0 wrong=0 gone=0 ingroup=1",
          "FSRESULT p1_stop 0 0.4 no", "FSRESULT p1_spawned 12",
          "FSRESULT p1_after_stop ok=12 lost=0 wrong=0 gone=0 ingroup=0", "FSRESULT p1_leftover_groups 0",
          "FSRESULT phase_end crash 60", "FSRESULT phase_start reload 60",
          "FSRESULT p2_rss_before_kb 21000"]
    shares = {1: "1:3", 2: "3:1", 4: "1:3", 5: "3:1"}
    weights = {"1:3": "100,300", "3:1": "300,100"}
    last, loaded = "3:1", 100.0
    for i in range(1, 7):
        if i in shares:
            before = weights[last]
            last, loaded0 = shares[i], loaded
            loaded += 1
            L.append(f"FSRESULT p2_reload {i} valid expect={last} seen=yes latency=0.3 applied=true "
                     f"loaded_before={loaded0} loaded_after={loaded} before={before},2,2 after={weights[last]},2,2 "
                     f"alive=yes rss_kb=21000")
        else:
            kind = "crash-brackets" if i == 3 else "fifo"
            L.append(f"FSRESULT p2_reload {i} {kind} expect={last} seen=yes latency=0.3 applied=false "
                     f"loaded_before={loaded} loaded_after={loaded} before={weights[last]},2,2 "
                     f"after={weights[last]},2,2 alive=yes rss_kb=21000")
    L += ["FSRESULT p2_restarts 0", "FSRESULT p2_rss_after_kb 22000", "FSRESULT p2_stop 0 0.4 no",
          "FSRESULT phase_end reload 100", "FSRESULT phase_start hostile 100",
          "FSRESULT p3_procs multi-user-server benign count=100 cmdline_min=21 cmdline_max=25 uids=65534,",
          "FSRESULT p3_window multi-user-server:benign window_s=12 ticks_before=10 ticks_after=22 cpu_ticks=120 "
          "clk_tck=100 pass_seconds_median=- last_pass_median=- status_ms_median=30 status_ms_max=60 status_n=11 "
          "status_failed=0 status_ok=yes,yes",
          "FSRESULT p3_crafted multi-user-server batch-never-followed-by-space argv0=job unit=-batch-- procs=50",
          "FSRESULT p3_crafted multi-user-server train-run-without-py argv0=python3 unit=train procs=50",
          "FSRESULT p3_procs multi-user-server hostile count=100 cmdline_min=131076 cmdline_max=131080 uids=65534,",
          "FSRESULT p3_window multi-user-server:hostile window_s=12 ticks_before=30 ticks_after=42 cpu_ticks=130 "
          "clk_tck=100 pass_seconds_median=- last_pass_median=- status_ms_median=30 status_ms_max=70 status_n=11 "
          "status_failed=0 status_ok=yes,yes",
          "FSRESULT p3_alive multi-user-server yes", "FSRESULT phase_end hostile 160",
          "FSRESULT phase_start socket 160", "FSRESULT p4_socket 660 root:fairshare dir=755 root:root",
          "FSRESULT p4_fds_before 11"]
    for t in range(6):
        L.append(f"FSRESULT p4_sample t={t}.1 {20 + t} ok fds=20 threads=9")
    L += ["FSRESULT p4_slowclients_final t=6 open=16 connects=5000 closed_by_peer=4984 backlog_full=0 refused=0 denied=0 errors=0 bytes=9000",
          "FSRESULT p4_fds_after 11", "FSRESULT p4_status_after 9 ok", "FSRESULT p4_alive yes",
          "FSRESULT phase_end socket 170", "FSRESULT scenario_exit 0", "FSDONE"]
    return L


def replace(lines, prefix, new):
    """lines with the first line starting with `prefix` replaced by `new` (None: removed)."""
    out, done = [], False
    for ln in lines:
        if not done and ln.startswith(prefix):
            done = True
            if new is not None:
                out.append(new)
            continue
        out.append(ln)
    assert done, f"no line starts with {prefix!r}"
    return out


class CheckReliabilityTests(unittest.TestCase):
    def run_checker(self, lines, *extra):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "reliability.log")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            p = subprocess.run([sys.executable, CHECKER, path, *extra], capture_output=True, text=True)
        return p.returncode, p.stdout

    def failed_checks(self, out):
        return [ln.split("FAIL", 1)[1].split("measured:")[0].strip() for ln in out.splitlines() if ln.startswith("  FAIL")]

    def test_every_goal_met_passes(self):
        rc, out = self.run_checker(good_log(), "--table")
        self.assertEqual(rc, 0, out)
        self.assertIn(", 0 failed", out.splitlines()[-1])
        self.assertIn("| Crash safety", out)
        self.assertIn("not run", out)  # no fuzz results file given

    def test_each_defect_fails_its_check(self):
        cases = [
            # (what, prefix of the line to replace, new line, the check that must fail)
            ("a process handed to /", "FSRESULT p1_after_stop",
             "FSRESULT p1_after_stop ok=11 lost=1 wrong=0 gone=0 ingroup=0", "0 processes lost (handed to /)"),
            ("a process killed", "FSRESULT p1_after_stop",
             "FSRESULT p1_after_stop ok=11 lost=0 wrong=0 gone=1 ingroup=0", "0 processes killed"),
            ("a process left in a group", "FSRESULT p1_after_stop",
             "FSRESULT p1_after_stop ok=11 lost=0 wrong=0 gone=0 ingroup=1", "0 processes in a cgroup other than their origin"),
            ("a leftover group", "FSRESULT p1_leftover_groups", "FSRESULT p1_leftover_groups 1 /sys/fs/cgroup/fsrel1/ga",
             "0 leftover group cgroups"),
            ("the first-move kill never fired", "FSRESULT p1_kill 3",
             "FSRESULT p1_kill 3 first-move:timeout 30000 ledger_lines=2 in_groups=1 result=signal recover_exit=0 ok=10 lost=0 wrong=0 gone=0 ingroup=1",
             "kills the instant a process lands in a group"),
            ("an invalid policy applied", "FSRESULT p2_reload 6",
             "FSRESULT p2_reload 6 group-writable expect=3:1 seen=yes latency=0.3 applied=true loaded_before=104.0 "
             "loaded_after=105.0 before=300,100,2,2 after=700,100,2,2 alive=yes rss_kb=21000",
             "old policy kept on every invalid one"),
            ("RSS grown by 6 MB", "FSRESULT p2_rss_after_kb", "FSRESULT p2_rss_after_kb 27200", "RSS after <= before + 5 MB"),
            ("the agent died on a reload", "FSRESULT p2_restarts", "FSRESULT p2_agent_died 3 crash-brackets exit=139",
             "agent alive and answering throughout"),
            ("hostile passes 2x slower", "FSRESULT p3_window multi-user-server:hostile",
             "FSRESULT p3_window multi-user-server:hostile window_s=12 ticks_before=30 ticks_after=42 cpu_ticks=240 "
             "clk_tck=100 pass_seconds_median=- last_pass_median=- status_ms_median=30 status_ms_max=70 status_n=11 "
             "status_failed=0 status_ok=yes,yes",
             "multi-user-server: pass time with hostile command lines <= 1.5 x"),
            ("no pass in the hostile window", "FSRESULT p3_window multi-user-server:hostile",
             "FSRESULT p3_window multi-user-server:hostile window_s=12 ticks_before=- ticks_after=- cpu_ticks=1200 "
             "clk_tck=100 pass_seconds_median=- last_pass_median=- status_ms_median=3000 status_ms_max=3000 status_n=3 "
             "status_failed=3 status_ok=no,no",
             "multi-user-server: pass time with hostile command lines <= 1.5 x"),
            ("status slow once under abuse", "FSRESULT p4_sample t=3.1", "FSRESULT p4_sample t=3.1 2002 timeout fds=20 threads=9",
             "root's status ok in <= 1 s every time"),
            ("fds unbounded", "FSRESULT p4_sample t=4.1", "FSRESULT p4_sample t=4.1 30 ok fds=1017 threads=9",
             "agent fds <= 100 throughout"),
            ("the user could not connect", "FSRESULT p4_slowclients_final",
             "FSRESULT p4_slowclients_final t=6 open=0 connects=0 closed_by_peer=0 backlog_full=0 refused=0 denied=6000 errors=0 bytes=0",
             "1000 slow connections attempted by uid 65534 through the socket's group"),
            ("the socket phase never ended", "FSRESULT phase_end socket", None, "phase ran to its end"),
        ]
        for what, prefix, new, check in cases:
            with self.subTest(what):
                rc, out = self.run_checker(replace(good_log(), prefix, new))
                self.assertEqual(rc, 1, out)
                self.assertIn(check, self.failed_checks(out))

    def test_pass_time_prefers_the_windows_own_samples(self):
        """last_pass_seconds sampled in the window decides over CPU per pass and over the
        32-pass median (which may still hold passes from before the window)."""
        def window(mode, last, median):
            return (f"FSRESULT p3_window multi-user-server:{mode} window_s=12 ticks_before=10 ticks_after=22 "
                    f"cpu_ticks=120 clk_tck=100 pass_seconds_median={median} last_pass_median={last} last_pass_max={last} "
                    "status_ms_median=30 status_ms_max=60 status_n=11 status_failed=0 status_ok=yes,yes")
        check = "multi-user-server: pass time with hostile command lines <= 1.5 x"
        for last_h, median_h, fails in [("0.014", "0.04", False), ("0.04", "0.01", True), ("-", "0.04", True), ("-", "0.01", False)]:
            with self.subTest(last=last_h, median=median_h):
                lines = replace(good_log(), "FSRESULT p3_window multi-user-server:benign",
                                window("benign", "0.01" if last_h != "-" else "-", "0.01"))
                lines = replace(lines, "FSRESULT p3_window multi-user-server:hostile", window("hostile", last_h, median_h))
                rc, out = self.run_checker(lines)
                self.assertEqual(check in self.failed_checks(out), fails, out)

    def test_a_phase_without_data_fails(self):
        lines = [ln for ln in good_log() if not ln.startswith("FSRESULT p1_")]
        rc, out = self.run_checker(lines)
        self.assertEqual(rc, 1)
        self.assertIn("0 processes killed", self.failed_checks(out))
        self.assertIn("kill -9 cycles done", self.failed_checks(out))

    def test_craft_refuses_a_regex_without_a_crafted_argument(self):
        with tempfile.TemporaryDirectory() as d:
            pol = os.path.join(d, "p.toml")
            with open(pol, "w") as f:
                f.write('[[group]]\nname = "g"\nshares = 1\n[group.match]\ncmdline = ["(a+)+$"]\n')
            p = subprocess.run([sys.executable, CHECKER, "--craft", os.path.join(d, "out"), pol],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("(a+)+$", p.stdout)
            self.assertFalse(os.path.exists(os.path.join(d, "out")))


if __name__ == "__main__":
    unittest.main()

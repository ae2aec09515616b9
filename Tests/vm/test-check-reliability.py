#!/usr/bin/env python3
"""Tests of check-reliability.py on synthetic console logs: a log where every goal is met
passes, and each defect the suites exist to catch (one per case) fails the check named for
it, as does a phase that never ran. Also --craft: a regex without a crafted argument is an
error. Run: python3 Tests/vm/test-check-reliability.py (make reliability-checker-test).

RECORDED_FDLIMIT is the fdlimit phase (issue 19) of a real `make vm-reliability` run on
2026-12-04 (main with the descriptor reserve, 61 of 61 checks passed): its FSRESULT lines and
text blocks as the guest printed them (tabs of the ledger written as \\t). The doctored copies
put back the behaviour issue 19 removed, one defect each."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check-reliability.py")

RECORDED_FDLIMIT = """
FSRESULT phase_start fdlimit 167.05
FSRESULT p5_prlimit /usr/bin/prlimit
FSRESULT p5_procs 20 origins=/fdo/x,/fdo/y/deep
FSRESULT p5_ready 0.60
FSRESULT p5_ingroup_s 0.05
FSRESULT p5_ledger_s 0.04
FSRESULT p5_state before t=169.80 ok=0 lost=0 wrong=0 gone=0 ingroup=20 procs=20 ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8 groups=fa,fb, fa=10 fb=10 alive=yes fds=36
FSTEXT-BEGIN p5_ledger_before
fairshare-origins 1
5276\t16708\tmatched\tfa\t/fdo/x
5277\t16708\tmatched\tfb\t/fdo/x
5278\t16708\tmatched\tfa\t/fdo/x
5279\t16708\tmatched\tfb\t/fdo/x
5280\t16709\tmatched\tfa\t/fdo/x
5281\t16709\tmatched\tfb\t/fdo/x
5282\t16709\tmatched\tfa\t/fdo/x
5283\t16709\tmatched\tfb\t/fdo/x
5284\t16709\tmatched\tfa\t/fdo/x
5285\t16709\tmatched\tfb\t/fdo/x
5288\t16712\tmatched\tfa\t/fdo/y/deep
5289\t16712\tmatched\tfb\t/fdo/y/deep
5290\t16712\tmatched\tfa\t/fdo/y/deep
5291\t16712\tmatched\tfb\t/fdo/y/deep
5292\t16712\tmatched\tfa\t/fdo/y/deep
5293\t16713\tmatched\tfb\t/fdo/y/deep
5294\t16713\tmatched\tfa\t/fdo/y/deep
5295\t16713\tmatched\tfb\t/fdo/y/deep
5296\t16713\tmatched\tfa\t/fdo/y/deep
5297\t16713\tmatched\tfb\t/fdo/y/deep
FSTEXT-END
FSRESULT p5_mark limited 31 t=171.03
FSRESULT p5_reserve limited fds=0,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,
FSRESULT p5_limit limited rc=0 nofile=35 now=35:35 fds=20 held=0,1,2,3,4,5,22,23,24,25,26,27,28,29,30,31,32,33,34,36, err=
FSRESULT p5_reserve_given_up limited fd=6 t=172.03
FSRESULT p5_status_limited 5 ok
FSRESULT p5_state limited t=173.13 ok=0 lost=0 wrong=0 gone=0 ingroup=20 procs=20 ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8 groups=fa,fb, fa=10 fb=10 alive=yes fds=20
FSRESULT p5_state limited t=174.28 ok=0 lost=0 wrong=0 gone=0 ingroup=20 procs=20 ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8 groups=fa,fb, fa=10 fb=10 alive=yes fds=20
FSRESULT p5_state limited t=175.41 ok=0 lost=0 wrong=0 gone=0 ingroup=20 procs=20 ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8 groups=fa,fb, fa=10 fb=10 alive=yes fds=20
FSRESULT p5_state limited t=176.56 ok=0 lost=0 wrong=0 gone=0 ingroup=20 procs=20 ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8 groups=fa,fb, fa=10 fb=10 alive=yes fds=20
FSRESULT p5_state limited t=177.69 ok=0 lost=0 wrong=0 gone=0 ingroup=20 procs=20 ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8 groups=fa,fb, fa=10 fb=10 alive=yes fds=20
FSRESULT p5_limited_cpu ticks=73 window_s=5.83 clk_tck=100 busiest=oot.default-qos:26
FSRESULT p5_mark raised 32 t=177.88
FSRESULT p5_raise rc=0 nofile=1024:4096 now=1024:4096
FSRESULT p5_late pid=5831 moved_s=0.06 recovered_s=0.84 now=/fsrel5/fa
FSRESULT p5_status_raised 6 ok
FSRESULT p5_ledger_late_s 0.04
FSRESULT p5_state raised t=180.80 ok=0 lost=0 wrong=0 gone=0 ingroup=21 procs=21 ledger_lines=22 ledger_entries=21 ledger_origins=21 ledger_cksum=c7e7cd0fe4b4 groups=fa,fb, fa=11 fb=10 alive=yes fds=36
FSRESULT p5_mark stop_limited 34 t=180.86
FSRESULT p5_limit stop rc=0 nofile=3 now=3:3 fds=20 held=0,1,2,3,4,5,22,23,24,25,26,27,28,29,30,31,32,33,34,36, err=
FSRESULT p5_state stop_limited t=181.50 ok=0 lost=0 wrong=0 gone=0 ingroup=21 procs=21 ledger_lines=22 ledger_entries=21 ledger_origins=21 ledger_cksum=c7e7cd0fe4b4 groups=fa,fb, fa=11 fb=10 alive=yes fds=20
FSRESULT p5_mark stop 34 t=181.55
FSRESULT p5_stop 0 0.26 no
FSRESULT p5_state after_stop t=181.88 ok=0 lost=0 wrong=0 gone=0 ingroup=21 procs=21 ledger_lines=22 ledger_entries=21 ledger_origins=21 ledger_cksum=c7e7cd0fe4b4 groups=fa,fb, fa=11 fb=10 alive=no fds=0
FSTEXT-BEGIN p5_ledger_after_stop
fairshare-origins 1
5276\t16708\tmatched\tfa\t/fdo/x
5277\t16708\tmatched\tfb\t/fdo/x
5278\t16708\tmatched\tfa\t/fdo/x
5279\t16708\tmatched\tfb\t/fdo/x
5280\t16709\tmatched\tfa\t/fdo/x
5281\t16709\tmatched\tfb\t/fdo/x
5282\t16709\tmatched\tfa\t/fdo/x
5283\t16709\tmatched\tfb\t/fdo/x
5284\t16709\tmatched\tfa\t/fdo/x
5285\t16709\tmatched\tfb\t/fdo/x
5288\t16712\tmatched\tfa\t/fdo/y/deep
5289\t16712\tmatched\tfb\t/fdo/y/deep
5290\t16712\tmatched\tfa\t/fdo/y/deep
5291\t16712\tmatched\tfb\t/fdo/y/deep
5292\t16712\tmatched\tfa\t/fdo/y/deep
5293\t16713\tmatched\tfb\t/fdo/y/deep
5294\t16713\tmatched\tfa\t/fdo/y/deep
5295\t16713\tmatched\tfb\t/fdo/y/deep
5296\t16713\tmatched\tfa\t/fdo/y/deep
5297\t16713\tmatched\tfb\t/fdo/y/deep
5831\t17795\tmatched\tfa\t/fdo/x
FSTEXT-END
FSRESULT p5_mark recover 46 t=181.94
FSRESULT p5_recover_exit 0
FSTEXT-BEGIN p5_recover_output
info [restored] gave hold_a[5276] back from group fa to /fdo/x group=fa origin=/fdo/x pid=5276
info [restored] gave hold_b[5277] back from group fb to /fdo/x group=fb origin=/fdo/x pid=5277
info [restored] gave hold_a[5278] back from group fa to /fdo/x group=fa origin=/fdo/x pid=5278
info [restored] gave hold_b[5279] back from group fb to /fdo/x group=fb origin=/fdo/x pid=5279
info [restored] gave hold_a[5280] back from group fa to /fdo/x group=fa origin=/fdo/x pid=5280
info [restored] gave hold_b[5281] back from group fb to /fdo/x group=fb origin=/fdo/x pid=5281
info [restored] gave hold_a[5282] back from group fa to /fdo/x group=fa origin=/fdo/x pid=5282
info [restored] gave hold_b[5283] back from group fb to /fdo/x group=fb origin=/fdo/x pid=5283
info [restored] gave hold_a[5284] back from group fa to /fdo/x group=fa origin=/fdo/x pid=5284
info [restored] gave hold_b[5285] back from group fb to /fdo/x group=fb origin=/fdo/x pid=5285
info [restored] gave hold_a[5288] back from group fa to /fdo/y/deep group=fa origin=/fdo/y/deep pid=5288
info [restored] gave hold_b[5289] back from group fb to /fdo/y/deep group=fb origin=/fdo/y/deep pid=5289
info [restored] gave hold_a[5290] back from group fa to /fdo/y/deep group=fa origin=/fdo/y/deep pid=5290
info [restored] gave hold_b[5291] back from group fb to /fdo/y/deep group=fb origin=/fdo/y/deep pid=5291
info [restored] gave hold_a[5292] back from group fa to /fdo/y/deep group=fa origin=/fdo/y/deep pid=5292
info [restored] gave hold_b[5293] back from group fb to /fdo/y/deep group=fb origin=/fdo/y/deep pid=5293
info [restored] gave hold_a[5294] back from group fa to /fdo/y/deep group=fa origin=/fdo/y/deep pid=5294
info [restored] gave hold_b[5295] back from group fb to /fdo/y/deep group=fb origin=/fdo/y/deep pid=5295
info [restored] gave hold_a[5296] back from group fa to /fdo/y/deep group=fa origin=/fdo/y/deep pid=5296
info [restored] gave hold_b[5297] back from group fb to /fdo/y/deep group=fb origin=/fdo/y/deep pid=5297
info [restored] gave hold_a[5831] back from group fa to /fdo/x group=fa origin=/fdo/x pid=5831
info [group_removed] removed group fa group=fa
info [group_removed] removed group fb group=fb
notice [stopping] fairshare stopping: every process given back (21), groups removed
every process given back (21), groups removed
FSTEXT-END
/scenario.sh: line 615: can't open /sys/fs/cgroup/fsrel5/fa/cgroup.procs: no such file
/scenario.sh: line 616: can't open /sys/fs/cgroup/fsrel5/fb/cgroup.procs: no such file
FSRESULT p5_state after_recover t=182.26 ok=21 lost=0 wrong=0 gone=0 ingroup=0 procs=21 ledger_lines=1 ledger_entries=0 ledger_origins=0 ledger_cksum=49d8870aad69 groups=none fa=-1 fb=-1 alive=no fds=0
FSRESULT p5_leftover_groups 0 
FSTEXT-BEGIN p5_agent_output
info [setup] created /sys/fs/cgroup/fsrel5
info [setup] enabled +cpu +io in /sys/fs/cgroup/fsrel5/cgroup.subtree_control
info [setup] listening to the kernel's process events (proc connector), receive buffer 32768 KiB
info [started] fairshare started: managing /sys/fs/cgroup/fsrel5 with 2 group(s) from /etc/fairshare/p5.toml policy=/etc/fairshare/p5.toml root=/sys/fs/cgroup/fsrel5
info [policy_loaded] policy /etc/fairshare/p5.toml loaded: 2 group(s) fa=100 fb=200 group=["fa", "fb"] policy=/etc/fairshare/p5.toml shares=["100", "200"]
warning [io_shares] io_shares have no effect: no disk found under /sys/block; CPU shares are enforced as usual disks=0
info [group_created] created group fa (/sys/fs/cgroup/fsrel5/fa) group=fa shares=100
info [group_created] created group fb (/sys/fs/cgroup/fsrel5/fb) group=fb shares=200
info [moved] moved hold_a[5276] from /fdo/x to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/x pid=5276
info [moved] moved hold_b[5277] from /fdo/x to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/x pid=5277
info [moved] moved hold_a[5278] from /fdo/x to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/x pid=5278
info [moved] moved hold_b[5279] from /fdo/x to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/x pid=5279
info [moved] moved hold_a[5280] from /fdo/x to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/x pid=5280
info [moved] moved hold_b[5281] from /fdo/x to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/x pid=5281
info [moved] moved hold_a[5282] from /fdo/x to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/x pid=5282
info [moved] moved hold_b[5283] from /fdo/x to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/x pid=5283
info [moved] moved hold_a[5284] from /fdo/x to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/x pid=5284
info [moved] moved hold_b[5285] from /fdo/x to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/x pid=5285
info [moved] moved hold_a[5288] from /fdo/y/deep to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/y/deep pid=5288
info [moved] moved hold_b[5289] from /fdo/y/deep to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/y/deep pid=5289
info [moved] moved hold_a[5290] from /fdo/y/deep to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/y/deep pid=5290
info [moved] moved hold_b[5291] from /fdo/y/deep to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/y/deep pid=5291
info [moved] moved hold_a[5292] from /fdo/y/deep to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/y/deep pid=5292
info [moved] moved hold_b[5293] from /fdo/y/deep to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/y/deep pid=5293
info [moved] moved hold_a[5294] from /fdo/y/deep to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/y/deep pid=5294
info [moved] moved hold_b[5295] from /fdo/y/deep to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/y/deep pid=5295
info [moved] moved hold_a[5296] from /fdo/y/deep to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/y/deep pid=5296
info [moved] moved hold_b[5297] from /fdo/y/deep to group fb (comm hold_b ~ hold_b) group=fb origin=/fdo/y/deep pid=5297
info [weights] group fa: cpu.weight 100, io.weight 100 (shares 100) cpu_weight=100 group=fa io_shares=100 io_weight=100 shares=100
info [weights] group fb: cpu.weight 200, io.weight 200 (shares 200) cpu_weight=200 group=fb io_shares=200 io_weight=200 shares=200
info [setup] metrics textfile not written: /var/lib/prometheus/node-exporter does not exist (node_exporter's textfile collector is not installed); written once it exists path=/var/lib/prometheus/node-exporter/fairshare.prom
error [error] the descriptor table is full: the descriptor table is full (EMFILE (Too many open files) opening /proc/5585/stat); the agent gave up its reserve of 16 descriptors and works on them; it takes them back once 32 can be opened (raise LimitNOFILE=, or find what holds the descriptors: ls /proc/PID/fd) cause=the descriptor table is full (EMFILE (Too many open files) opening /proc/5585/stat) count=1 target=the agent's descriptors
info [moved] moved hold_a[5831] from /fdo/x to group fa (comm hold_a ~ hold_a) group=fa origin=/fdo/x pid=5831
info [recovered] the agent's descriptors works again after 6 failed attempt(s) cause=the descriptor table is full (EMFILE (Too many open files) opening /proc/5585/stat) count=6 target=the agent's descriptors
error [error] cannot list the groups under /sys/fs/cgroup/fsrel5: opening /sys/fs/cgroup/fsrel5: Too many open files (errno 24); no group is created or removed until it can be listed cause=opening /sys/fs/cgroup/fsrel5: Too many open files (errno 24) count=1 target=listing the groups under /sys/fs/cgroup/fsrel5
error [error] cannot scan /proc: cannot read /proc: Too many open files (errno 24); every process stays where it is, every membership and the origin ledger are kept; scanned again next pass cause=cannot read /proc: Too many open files (errno 24) count=1 target=scanning /proc
error [error] the descriptor table is full: the descriptor table is full (EMFILE (Too many open files) opening /proc/6000/stat); the agent gave up its reserve of 16 descriptors and works on them; it takes them back once 32 can be opened (raise LimitNOFILE=, or find what holds the descriptors: ls /proc/PID/fd) cause=the descriptor table is full (EMFILE (Too many open files) opening /proc/6000/stat) count=1 target=the agent's descriptors
warning [error] cannot read cpu.stat of group fa: reading /sys/fs/cgroup/fsrel5/fa/cpu.stat: Too many open files (errno 24); its usage is shown as unavailable and, until it can be read, it is taken to want its whole share (no group borrows it) cause=reading /sys/fs/cgroup/fsrel5/fa/cpu.stat: Too many open files (errno 24) count=1 group=fa target=cpu.stat of group fa
warning [error] cannot read io.stat of group fa: reading /sys/fs/cgroup/fsrel5/fa/io.stat: Too many open files (errno 24); its io rates are shown as unavailable cause=reading /sys/fs/cgroup/fsrel5/fa/io.stat: Too many open files (errno 24) count=1 group=fa target=io.stat of group fa
notice [error] cannot read cpu.pressure of group fa: reading /sys/fs/cgroup/fsrel5/fa/cpu.pressure: Too many open files (errno 24); its demand goes by throttling and allowance alone cause=reading /sys/fs/cgroup/fsrel5/fa/cpu.pressure: Too many open files (errno 24) count=1 group=fa target=cpu.pressure of group fa
warning [error] cannot read cpu.stat of group fb: reading /sys/fs/cgroup/fsrel5/fb/cpu.stat: Too many open files (errno 24); its usage is shown as unavailable and, until it can be read, it is taken to want its whole share (no group borrows it) cause=reading /sys/fs/cgroup/fsrel5/fb/cpu.stat: Too many open files (errno 24) count=1 group=fb target=cpu.stat of group fb
warning [error] cannot read io.stat of group fb: reading /sys/fs/cgroup/fsrel5/fb/io.stat: Too many open files (errno 24); its io rates are shown as unavailable cause=reading /sys/fs/cgroup/fsrel5/fb/io.stat: Too many open files (errno 24) count=1 group=fb target=io.stat of group fb
notice [error] cannot read cpu.pressure of group fb: reading /sys/fs/cgroup/fsrel5/fb/cpu.pressure: Too many open files (errno 24); its demand goes by throttling and allowance alone cause=reading /sys/fs/cgroup/fsrel5/fb/cpu.pressure: Too many open files (errno 24) count=1 group=fb target=cpu.pressure of group fb
warning [error] removing group fa failed: removing cgroup /sys/fs/cgroup/fsrel5/fa: Device or resource busy (errno 16); tried again next pass cause=EBUSY count=1 group=fa target=removing group fa
warning [error] removing group fb failed: removing cgroup /sys/fs/cgroup/fsrel5/fb: Device or resource busy (errno 16); tried again next pass cause=EBUSY count=1 group=fb target=removing group fb
warning [stopping] fairshare stopping: 0 process(es) given back; groups fa, fb could not be removed (fa: removing cgroup /sys/fs/cgroup/fsrel5/fa: Device or resource busy (errno 16); fb: removing cgroup /sys/fs/cgroup/fsrel5/fb: Device or resource busy (errno 16)); /proc could not be read, so no process was given back: cannot read /proc: Too many open files (errno 24); their origins stay in the ledger: run fairshare recover once /proc can be read; cannot confirm that no group is left: opening /sys/fs/cgroup/fsrel5: Too many open files (errno 24) group=["fa", "fb"]
FSTEXT-END
FSRESULT phase_end fdlimit 182.35
"""


def fdlimit_log():
    """A good log of every phase: good_log() with the recorded fdlimit phase before the end."""
    lines = good_log()
    lines = replace(lines, "FSRESULT param PHASES", "FSRESULT param PHASES crash reload hostile socket fdlimit")
    i = lines.index("FSRESULT scenario_exit 0")
    return (lines[:i] + ["FSRESULT param FDLIMIT_PROCS 20", "FSRESULT param FDLIMIT_WINDOW_S 5"]
            + RECORDED_FDLIMIT.strip("\n").split("\n") + lines[i:])


def edit(lines, match, new):
    """lines with every line for which match(line) holds replaced by new(line) (None: removed);
    fails if none matched."""
    out, hits = [], 0
    for ln in lines:
        if match(ln):
            hits += 1
            n = new(ln)
            if n is not None:
                out.append(n)
            continue
        out.append(ln)
    assert hits, "nothing matched"
    return out


def sub_in(prefix, old, new):
    """An edit of the lines starting with prefix: old replaced by new."""
    def change(lines):
        return edit(lines, lambda ln: ln.startswith(prefix), lambda ln: ln.replace(old, new) if old in ln else ln)
    return change


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

    def test_the_recorded_fdlimit_run_passes(self):
        rc, out = self.run_checker(fdlimit_log(), "--table")
        self.assertEqual(rc, 0, out)
        self.assertIn("Descriptor limit", out)
        for name in ["every member stays in its group under the limit", "origin ledger unchanged under the limit",
                     "the full descriptor table told once, naming EMFILE", "status answers under the limit",
                     "the reserve taken back once raised (a 'recovered' line for the agent's descriptors)",
                     "nobody given back blind at the stop", "every process back in its origin after recover"]:
            self.assertIn(f"ok   fdlimit  {name}:", out)

    def test_each_fdlimit_defect_fails_its_check(self):
        reserve_line = lambda ln: "[error] the descriptor table is full" in ln
        reserve_back = lambda ln: "the agent's descriptors works again" in ln

        def told_twice(lines):
            """The reserve's line told again on the next pass (inside the limited stretch)."""
            i = next(k for k, ln in enumerate(lines) if reserve_line(ln))
            lines = lines[:i + 1] + [lines[i]] + lines[i + 1:]
            return sub_in("FSRESULT p5_mark raised 32", "raised 32", "raised 33")(
                sub_in("FSRESULT p5_mark stop_limited 34", "stop_limited 34", "stop_limited 35")(
                    sub_in("FSRESULT p5_mark stop 34", "stop 34", "stop 35")(sub_in("FSRESULT p5_mark recover 46", "recover 46", "recover 47")(lines))))
        cases = [
            # (what, the edit, the check that must fail)
            ("members given back to / under the limit (an empty scan forgot them)",
             sub_in("FSRESULT p5_state limited t=175.41", "ok=0 lost=0 wrong=0 gone=0 ingroup=20", "ok=0 lost=20 wrong=0 gone=0 ingroup=0"),
             "every member stays in its group under the limit"),
            ("an empty ledger written under the limit",
             sub_in("FSRESULT p5_state limited", "ledger_lines=21 ledger_entries=20 ledger_origins=20 ledger_cksum=3a6063b4b4b8",
                    "ledger_lines=1 ledger_entries=0 ledger_origins=0 ledger_cksum=49d8870aad69"),
             "origin ledger unchanged under the limit"),
            ("the groups removed under the limit", sub_in("FSRESULT p5_state limited t=176.56", "groups=fa,fb,", "groups=none"),
             "groups kept under the limit"),
            ("the agent died under the limit (SIGILL)",
             lambda L: sub_in("FSRESULT p5_stop", "FSRESULT p5_stop 0 0.26 no", "FSRESULT p5_stop dead-before-stop:exit=132 0 no")(
                 sub_in("FSRESULT p5_state limited", "alive=yes", "alive=no")(L)),
             "agent alive under the limit"),
            ("the agent dead before the stop (not the runtime's abort)",
             sub_in("FSRESULT p5_stop", "FSRESULT p5_stop 0 0.26 no", "FSRESULT p5_stop dead-before-stop:exit=1 0 no"),
             "stopped by SIGTERM under the limit (or aborted by the runtime, losing nothing)"),
            ("no reserve held", sub_in("FSRESULT p5_reserve limited", "fds=0,6,", "fds=0,"),
             "the agent holds its descriptor reserve before the limit (16 on /dev/null)"),
            ("the reserve never given up", lambda L: edit(L, lambda ln: ln.startswith("FSRESULT p5_reserve_given_up"), lambda ln: None),
             "the reserve given up at the limit (its descriptors free again)"),
            ("the full table not told", lambda L: edit(L, reserve_line, lambda ln: "info [summary] usage/target: fa 0.0%/33.3% (10 proc)"),
             "the full descriptor table told once, naming EMFILE"),
            ("the full table told every pass", told_twice, "no failure told pass after pass under the limit"),
            ("status not answered under the limit (accept spinning)",
             sub_in("FSRESULT p5_status_limited", "FSRESULT p5_status_limited 5 ok", "FSRESULT p5_status_limited 2002 timeout"),
             "status answers under the limit"),
            ("the reserve not taken back once raised",
             lambda L: edit(L, reserve_back, lambda ln: "info [summary] usage/target: no groups"),
             "the reserve taken back once raised (a 'recovered' line for the agent's descriptors)"),
            ("a process born after the raise left where it was",
             sub_in("FSRESULT p5_late", "moved_s=0.06", "moved_s=never"), "acts again: a process born after the raise moved into its group"),
            ("prlimit missing in the guest",
             lambda L: sub_in("FSRESULT p5_limit limited", "rc=0", "rc=127")(sub_in("FSRESULT p5_prlimit", "/usr/bin/prlimit", "missing")(L)),
             "prlimit in the guest"),
            ("the limit not in force", sub_in("FSRESULT p5_limit limited", "now=35:35", "now=1024:4096"),
             "RLIMIT_NOFILE lowered to the descriptors the agent holds"),
            ("everyone given back to / at the stop",
             sub_in("FSRESULT p5_state after_stop", "ok=0 lost=0 wrong=0 gone=0 ingroup=21", "ok=0 lost=21 wrong=0 gone=0 ingroup=0"),
             "nobody given back blind at the stop"),
            ("the ledger wiped at the stop (the old behaviour)",
             sub_in("FSRESULT p5_state after_stop", "ledger_lines=22 ledger_entries=21 ledger_origins=21",
                    "ledger_lines=1 ledger_entries=0 ledger_origins=0"),
             "the ledger names every origin after the stop"),
            ("the stopping line without the hint",
             lambda L: edit(L, lambda ln: "fairshare stopping:" in ln,
                            lambda ln: "notice [stopping] fairshare stopping: every process given back (0), groups removed"),
             "the stopping line names the problem and fairshare recover"),
            ("recover handed everyone to / (the old behaviour)",
             sub_in("FSRESULT p5_state after_recover", "ok=21 lost=0", "ok=0 lost=21"), "0 processes handed to / by recover"),
            ("recover left them in the groups",
             sub_in("FSRESULT p5_state after_recover", "ok=21 lost=0 wrong=0 gone=0 ingroup=0", "ok=0 lost=0 wrong=0 gone=0 ingroup=21"),
             "every process back in its origin after recover"),
            ("a group left after recover",
             sub_in("FSRESULT p5_leftover_groups", "FSRESULT p5_leftover_groups 0", "FSRESULT p5_leftover_groups 1 /sys/fs/cgroup/fsrel5/fa"),
             "0 leftover group cgroups"),
        ]
        for what, change, check in cases:
            with self.subTest(what):
                rc, out = self.run_checker(change(fdlimit_log()))
                self.assertEqual(rc, 1, out)
                self.assertIn(check, self.failed_checks(out))

    def test_an_fdlimit_phase_that_never_ran_fails(self):
        lines = [ln for ln in fdlimit_log() if not ln.startswith("FSRESULT p5_") and not ln.startswith("FSRESULT phase_end fdlimit")]
        rc, out = self.run_checker(lines)
        self.assertEqual(rc, 1)
        for check in ["phase ran to its end", "prlimit in the guest", "every member stays in its group under the limit",
                      "nobody given back blind at the stop", "every process back in its origin after recover"]:
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

#!/usr/bin/env python3
"""check-io.py on a recorded console log (host only, seconds): the good log passes, and each
doctored copy (a wrong split, a missing window, a guest that did not finish, weights not
written, a status through the wrong mechanism, the BFQ tuning missing, ...) fails the check
named for it. Run: python3 test-check-io.py

RECORDED is the FSRESULT lines and status blocks (JSON compacted, text blocks left out) of a
`make vm-io` run on 2026-11-27 (iovm branch with main's io.bfq.weight agent, 25/25 passed):
io.cost 1 : 4.00, BFQ 3.99 / 4.68 / 3.92."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-io.py")

RECORDED = r"""
FSRESULT boot_uptime 3.76
FSRESULT kernel 6.1.0-56-cloud-amd64
FSRESULT cgroup_controllers cpuset cpu io memory hugetlb pids rdma misc
FSRESULT image_journald no
FSRESULT module virtio_ring ok
FSRESULT module virtio ok
FSRESULT module virtio_pci_legacy_dev ok
FSRESULT module virtio_pci_modern_dev ok
FSRESULT module virtio_pci ok
FSRESULT module virtio_blk ok
FSRESULT module bfq ok
FSRESULT mark scenario_start 4.14
FSRESULT disk vda 254:0 1024MiB
FSRESULT readers per_group=2 block_kb=256 region_mb=256 mode=rand window_s=8
FSRESULT check_policy_exit 0
FSRESULT agent_pid 120
FSRESULT agent_ready_s 1.17
FSRESULT mark none 5.83
FSRESULT queue none scheduler [none] mq-deadline bfq
FSRESULT queue none rotational 1
FSRESULT queue none nr_requests 256
FSRESULT queue none max_sectors_kb 1280
FSRESULT disk_state_wait none 0.52
FSJSON-BEGIN status_none
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":1,"received":{"comm":32,"exec":11,"exit":36,"fork":36,"gid":0,"other":0,"thread":15,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.0492819,"pass_seconds_median":0.092029855,"pid":120,"started_at":1795750496.5815732,"ticks":2,"uptime_seconds":1.576756238937378},"groups":[{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":100,"members":0,"name":"light","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":0},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":4,"io_weight":400,"io_write_bps":0,"machine_share_pct":100,"members":0,"name":"heavy","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":0}],"io_devices":[{"device":"254:0","in_force":false,"io_cost":false,"name":"vda","rotational":true,"scheduler":"none","through":"none","why":"the scheduler is none and io.cost is not enabled for 254:0 (io.cost.qos): io shares have no effect on this disk (README, io shares)"}],"policy":{"loaded_at":1795750496.5815732,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_none_exit 0
FSRESULT status_table_none_exit 0
FSRESULT weight none light io.weight default 100
FSRESULT weight none light io.bfq.weight default 100
FSRESULT weight none heavy io.weight default 400
FSRESULT weight none heavy io.bfq.weight default 100
FSRESULT run none 1 light=2621440000 heavy=2835349504 ratio=1.082 seconds=8.11 placed_s=0.15
FSRESULT unthrottled_bps 672847041
FSRESULT mark iocost 16.81
FSRESULT iocost_model 254:0 ctrl=user model=linear rbps=168211760 rseqiops=1000000 rrandiops=1000000 wbps=168211760 wseqiops=1000000 wrandiops=1000000
FSRESULT iocost_qos 254:0 enable=1 ctrl=user rpct=0.00 rlat=50000 wpct=0.00 wlat=50000 min=100.00 max=100.00
FSRESULT queue iocost scheduler [none] mq-deadline bfq
FSRESULT queue iocost rotational 1
FSRESULT queue iocost nr_requests 256
FSRESULT queue iocost max_sectors_kb 1280
FSRESULT disk_state_wait iocost 3.68
FSJSON-BEGIN status_iocost
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":4,"fallback_reason":null,"latency_ms":{"p50":90.21254,"p99":93.29713,"samples":4},"malformed":0,"overflows":0,"races":3,"received":{"comm":114,"exec":54,"exit":141,"fork":141,"gid":0,"other":0,"thread":56,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.02119528,"pass_seconds_median":0.018970745,"pid":120,"started_at":1795750496.5815732,"ticks":16,"uptime_seconds":15.839597702026367},"groups":[{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":100,"members":0,"name":"light","nr_throttled":0,"pressure_total_usec":1955231,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":5701458},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":4,"io_weight":400,"io_write_bps":0,"machine_share_pct":100,"members":0,"name":"heavy","nr_throttled":0,"pressure_total_usec":1868862,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":5678092}],"io_devices":[{"device":"254:0","in_force":true,"io_cost":true,"io_cost_ctrl":"user","io_cost_model":"linear","name":"vda","rotational":true,"scheduler":"none","through":"io.cost","why":"io.cost is enabled with a linear model set by the machine's owner (ctrl=user); it divides the disk by io.weight"}],"policy":{"loaded_at":1795750496.5815732,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_iocost_exit 0
FSRESULT status_table_iocost_exit 0
FSRESULT weight iocost light io.weight default 100
FSRESULT weight iocost light io.bfq.weight default 100
FSRESULT weight iocost heavy io.weight default 400
FSRESULT weight iocost heavy io.bfq.weight default 100
FSRESULT run iocost 1 light=271056896 heavy=1084227584 ratio=4.000 seconds=8.06 placed_s=0.13
FSRESULT iocost_qos_after 254:0 enable=0 ctrl=user rpct=0.00 rlat=50000 wpct=0.00 wlat=50000 min=100.00 max=100.00
FSRESULT mark bfq 30.86
FSRESULT queue bfq scheduler mq-deadline [bfq] none
FSRESULT queue bfq rotational 0
FSRESULT queue bfq nr_requests 256
FSRESULT queue bfq max_sectors_kb 1280
FSRESULT iosched bfq back_seek_max 16384
FSRESULT iosched bfq back_seek_penalty 2
FSRESULT iosched bfq fifo_expire_async 250
FSRESULT iosched bfq fifo_expire_sync 125
FSRESULT iosched bfq low_latency 0
FSRESULT iosched bfq max_budget 0
FSRESULT iosched bfq slice_idle 8
FSRESULT iosched bfq slice_idle_us 8000
FSRESULT iosched bfq strict_guarantees 0
FSRESULT iosched bfq timeout_sync 124
FSRESULT bfq_weight_wait 4.58
FSRESULT disk_state_wait bfq 0.43
FSJSON-BEGIN status_bfq
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":8,"fallback_reason":null,"latency_ms":{"p50":33.98324,"p99":93.29713,"samples":8},"malformed":0,"overflows":0,"races":5,"received":{"comm":237,"exec":102,"exit":335,"fork":335,"gid":0,"other":0,"thread":80,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.02902973,"pass_seconds_median":0.01474789,"pid":120,"started_at":1795750496.5815732,"ticks":31,"uptime_seconds":31.22992968559265},"groups":[{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":100,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":100,"members":0,"name":"light","nr_throttled":0,"pressure_total_usec":2134859,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":6442890},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":400,"io_read_bps":0,"io_shares":4,"io_weight":400,"io_write_bps":0,"machine_share_pct":100,"members":0,"name":"heavy","nr_throttled":0,"pressure_total_usec":2430058,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":8285764}],"io_devices":[{"device":"254:0","in_force":true,"io_cost":false,"io_cost_ctrl":"user","io_cost_model":"linear","name":"vda","rotational":false,"scheduler":"bfq","through":"bfq","why":"the BFQ scheduler divides the disk by io.bfq.weight"}],"policy":{"loaded_at":1795750496.5815732,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_bfq_exit 0
FSRESULT status_table_bfq_exit 0
FSRESULT weight bfq light io.weight default 100
FSRESULT weight bfq light io.bfq.weight default 100
FSRESULT weight bfq heavy io.weight default 400
FSRESULT weight bfq heavy io.bfq.weight default 400
FSRESULT run bfq 1 light=739246080 heavy=2946498560 ratio=3.986 seconds=8.06 placed_s=0.09
FSRESULT run bfq 2 light=707264512 heavy=3308519424 ratio=4.678 seconds=8.08 placed_s=0.12
FSRESULT run bfq 3 light=720633856 heavy=2827485184 ratio=3.924 seconds=8.10 placed_s=0.14
FSRESULT agent_stop stop_exit 0 stop_s 0.12 stop_killed no
FSRESULT mark end 65.40
FSRESULT scenario_exit 0
FSRESULT end_uptime 65.41
FSDONE
"""


def doctor(text, old, new, count=1):
    """text with `old` replaced by `new`; fails the test if `old` is not there `count` times (a
    doctor that changes nothing would let a broken checker pass)."""
    n = text.count(old)
    if n != count:
        raise AssertionError(f"doctor: {old!r} occurs {n} times in the recorded log, expected {count}")
    return text.replace(old, new)


def drop_line(text, start):
    lines = text.splitlines()
    kept = [line for line in lines if not line.startswith(start)]
    if len(kept) != len(lines) - 1:
        raise AssertionError(f"drop_line: {len(lines) - len(kept)} lines start with {start!r}, expected 1")
    return "\n".join(kept) + "\n"


def bfq_runs_swapped(text):
    """Every BFQ window with light and heavy swapped: the split favours the lighter group."""
    out = []
    for line in text.splitlines():
        if line.startswith("FSRESULT run bfq "):
            parts = dict(kv.split("=", 1) for kv in line.split()[4:])
            parts["light"], parts["heavy"] = parts["heavy"], parts["light"]
            line = " ".join(line.split()[:4] + [f"{k}={v}" for k, v in parts.items()])
        out.append(line)
    return "\n".join(out) + "\n"


def set_ratio(text, setup, ratio):
    """Every window of SETUP with heavy's bytes set to `ratio` times light's."""
    out, n = [], 0
    for line in text.splitlines():
        if line.startswith(f"FSRESULT run {setup} "):
            parts = dict(kv.split("=", 1) for kv in line.split()[4:])
            parts["heavy"] = str(int(int(parts["light"]) * ratio))
            line = " ".join(line.split()[:4] + [f"{k}={v}" for k, v in parts.items()])
            n += 1
        out.append(line)
    if n == 0:
        raise AssertionError(f"set_ratio: no window of {setup!r} in the recorded log")
    return "\n".join(out) + "\n"


GOOD = RECORDED.lstrip("\n")

# (name, log, the check that must fail)
BAD = [
    ("io.cost split 1:2", set_ratio(GOOD, "iocost", 2.0), "[iocost] heavy/light within 20% of 4"),
    ("io.cost split 1:5", set_ratio(GOOD, "iocost", 5.0), "[iocost] heavy/light within 20% of 4"),
    ("BFQ split 1:1.5 (favours heavy, but not by its weight)", set_ratio(GOOD, "bfq", 1.5),
     "[bfq] median heavy/light in 2 .. 6 (the tuned setup's split)"),
    ("a BFQ window missing", drop_line(GOOD, "FSRESULT run bfq 3 "), "[bfq] 3 windows, both groups read in each"),
    ("the io.cost window missing", drop_line(GOOD, "FSRESULT run iocost 1 "), "[iocost] heavy/light within 20% of 4"),
    ("guest did not finish", drop_line(drop_line(GOOD, "FSDONE"), "FSRESULT scenario_exit"),
     "[guest] guest finished (FSDONE)"),
    ("BFQ favours the lighter group", bfq_runs_swapped(GOOD), "[bfq] median heavy/light > 1 (favours the heavier group)"),
    ("io.bfq.weight not written", doctor(GOOD, "weight bfq heavy io.bfq.weight default 400", "weight bfq heavy io.bfq.weight default 100"),
     "[bfq] io.bfq.weight default 100 / default 400"),
    ("io.bfq.weight written without BFQ", doctor(GOOD, "weight none heavy io.bfq.weight default 100",
                                                 "weight none heavy io.bfq.weight default 400"),
     "[none] io.bfq.weight not written while no disk uses BFQ"),
    ("io.weight not written", doctor(GOOD, "weight iocost heavy io.weight default 400", "weight iocost heavy io.weight default 100"),
     "[iocost] io.weight default 100 / default 400"),
    ("status not through bfq", doctor(GOOD, '"through":"bfq"', '"through":"none"'), "[bfq] status: vda in_force true through 'bfq'"),
    ("status in force without anything", doctor(GOOD, '"in_force":false', '"in_force":true'),
     "[none] status: vda in_force false through 'none'"),
    ("BFQ untuned", doctor(GOOD, "queue bfq rotational 0", "queue bfq rotational 1"),
     "[bfq] the admin's tuning in place (rotational 0, low_latency 0)"),
    ("bfq module not loaded", doctor(GOOD, "module bfq ok", "module bfq FAIL"), "[guest] modules loaded"),
    ("agent killed at stop", doctor(GOOD, "stop_killed no", "stop_killed yes"), "[guest] agent alive to the end, stopped cleanly"),
    ("a reader not placed", GOOD + "FSRESULT placement_timeout bfq 2\n", "[guest] every reader placed by the agent"),
    ("empty log", "", "[guest] guest printed results"),
]


def run_checker(text):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        p = subprocess.run([sys.executable, CHECK, path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    return p.returncode, p.stdout + p.stderr


def main():
    failures = []
    rc, out = run_checker(GOOD)
    if rc != 0 or "vm-io: 25 passed, 0 failed" not in out:
        failures.append(f"the recorded good log: exit {rc}, expected 0 and 25 passed\n{out}")
    else:
        print("ok   the recorded good log passes (25 checks)")
    for name, text, check in BAD:
        rc, out = run_checker(text)
        failed_lines = [line for line in out.splitlines() if line.lstrip().startswith("FAIL")]
        if rc == 0:
            failures.append(f"{name}: the checker passed it")
        elif not any(check in line for line in failed_lines):
            failures.append(f"{name}: exit {rc}, but {check!r} did not fail; failed: {failed_lines}")
        else:
            print(f"ok   {name}: fails {check}")
    for f in failures:
        print(f"FAIL {f}")
    print(f"io-checker-test: {len(BAD) + 1 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

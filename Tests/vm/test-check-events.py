#!/usr/bin/env python3
"""check-events.py on synthetic console logs (host only, seconds): a good log passes, and each
defect (a missed process, a probe that reported nothing, a broken control, a scanning agent,
a rescan that found something, a goal over its bound) fails. Run: python3 test-check-events.py"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-events.py")

EVENTS = {"source": "netlink", "fallback_reason": None,
          "received": {"fork": 400, "exec": 210, "uid": 0, "gid": 0, "comm": 0, "exit": 400, "thread": 3, "other": 0},
          "overflows": 0, "rescans": 1, "rescan_found": 0, "races": 2, "event_moves": 200,
          "latency_ms": {"p50": 0.8, "p99": 2.1, "samples": 200}}


def status(events):
    agent = {"interval_seconds": 2}
    if events is not None:
        agent["events"] = events
    return json.dumps({"agent": agent, "groups": []})


def vm_log(short="n=200 samples=200 caught=200 missed=0 lost=0 bad=0",
           pos="n=20 samples=20 caught=20 missed=0", neg="n=20 samples=20 caught=0 missed=20",
           events=EVENTS, done=True):
    lines = ["FSRESULT kernel 6.1.0-56-cloud-amd64", "FSRESULT param PHASES controls short",
             "FSRESULT param SHORT_PAR 20", "FSRESULT param SHORT_N 200",
             f"FSRESULT evp control_pos short {pos} p50_us=30000 p99_us=90000 max_us=90000",
             f"FSRESULT evp control_neg short {neg} p50_us=-1 p99_us=-1 max_us=-1",
             "FSRESULT evp control_lat latency n=20 samples=20 caught=20 missed=0 p50_us=2600 p99_us=3000 max_us=3000",
             "FSRESULT subject_begin fairshare 7.0", "FSRESULT ready fairshare yes 2.6",
             f"FSRESULT evp fairshare short {short} p50_us=30000 p99_us=40000 max_us=50000 elapsed_s=2.0",
             "FSJSON-BEGIN status_short", status(events), "FSJSON-END", "FSRESULT subject_end fairshare 20.0"]
    if done:
        lines += ["FSRESULT scenario_exit 0", "FSDONE"]
    return "\n".join(lines) + "\n"


def bench_log(p99_us=3000, max_us=9000, idle_small=(30, 60.0), idle_large=(40, 60.0), rss_kb=20000,
              latency="n=1000 samples=1000 caught=1000 missed=0", churn_missed=0, phases="controls latency churn idle"):
    lines = ["FSRESULT kernel 6.1.0-56-cloud-amd64", "FSRESULT clk_tck 100", f"FSRESULT param PHASES {phases}",
             "FSRESULT param LAT_N 1000", "FSRESULT param IDLE_SMALL 50", "FSRESULT param IDLE_LARGE 5000",
             "FSRESULT param SHORT_PAR 20",
             "FSRESULT evp control_pos short n=20 samples=20 caught=20 missed=0 p50_us=30000 p99_us=90000 max_us=90000",
             "FSRESULT evp control_neg short n=20 samples=20 caught=0 missed=20 p50_us=-1 p99_us=-1 max_us=-1",
             "FSRESULT evp control_lat latency n=20 samples=20 caught=20 missed=0 p50_us=2600 p99_us=3000 max_us=3000",
             "FSRESULT subject_begin fairshare 1", "FSRESULT ready fairshare yes 2",
             f"FSRESULT evp fairshare latency {latency} p50_us=1000 p99_us={p99_us} max_us={max_us}",
             f"FSRESULT evp fairshare churn n=4000 samples=4000 caught={4000 - churn_missed} missed={churn_missed} "
             "p50_us=2000 p99_us=4000 max_us=9000 asked=15000 rate_asked=500 rate_achieved=133.3",
             "FSRESULT cpu fairshare churn 300 30.0",
             f"FSRESULT cpu fairshare idle_small {idle_small[0]} {idle_small[1]}",
             f"FSRESULT cpu fairshare idle_large {idle_large[0]} {idle_large[1]}",
             f"FSRESULT rss fairshare rss {rss_kb} {rss_kb}",
             "FSJSON-BEGIN status_end", status(EVENTS), "FSJSON-END",
             "FSRESULT subject_begin cgrulesengd 100", "FSRESULT ready cgrulesengd yes 1",
             "FSRESULT evp cgrulesengd latency n=1000 samples=1000 caught=800 missed=200 p50_us=2000 p99_us=27000 max_us=90000",
             "FSRESULT scenario_exit 0", "FSDONE"]
    return "\n".join(lines) + "\n"


def run(text, *args):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        p = subprocess.run([sys.executable, CHECK, *args, path], capture_output=True, text=True)
        return p.returncode, p.stdout
    finally:
        os.unlink(path)


CASES = [
    # (name, log, args, expected exit, text the output must contain)
    ("all caught, netlink", vm_log(), ["--short-n", "200"], 0, "0 failed"),
    ("one missed", vm_log(short="n=200 samples=200 caught=199 missed=1 lost=0 bad=0"), ["--short-n", "200"], 1,
     "1 of 200 exited before"),
    ("probe reported nothing", vm_log(short="n=200 samples=0 caught=0 missed=0 lost=200 bad=0"), ["--short-n", "200"], 1,
     "reported 0"),
    ("fewer started than asked", vm_log(short="n=150 samples=150 caught=150 missed=0 lost=0 bad=0"), ["--short-n", "200"], 1,
     "started 150"),
    ("no probe line at all", vm_log(short="").replace("FSRESULT evp fairshare short", "FSRESULT other"),
     ["--short-n", "200"], 1, "no result line"),
    ("positive control broken", vm_log(pos="n=20 samples=20 caught=0 missed=20"), ["--short-n", "200"], 1,
     "FAIL control: probes born"),
    ("negative control broken", vm_log(neg="n=20 samples=20 caught=20 missed=0"), ["--short-n", "200"], 1,
     "FAIL control: probes never"),
    ("scan agent (no events in status)", vm_log(events=None), ["--short-n", "200"], 1, "has no agent.events"),
    ("fallback to scan", vm_log(events=dict(EVENTS, source="scan", fallback_reason="no CAP_NET_ADMIN")),
     ["--short-n", "200"], 1, "no CAP_NET_ADMIN"),
    ("no events received", vm_log(events=dict(EVENTS, received={k: 0 for k in EVENTS["received"]})),
     ["--short-n", "200"], 1, "FAIL events received"),
    ("rescan found a process", vm_log(events=dict(EVENTS, rescan_found=1)), ["--short-n", "200"], 1,
     "FAIL rescans found nothing"),
    ("guest did not finish", vm_log(done=False), ["--short-n", "200"], 1, "FSDONE=no"),
    # The controls left out of a measuring run: a failure, not a quiet skip.
    ("controls not run", vm_log().replace("PHASES controls short", "PHASES short"), ["--short-n", "200"], 1,
     "FAIL the probe's controls ran"),
    ("no PHASES line", vm_log().replace("FSRESULT param PHASES controls short\n", ""), ["--short-n", "200"], 1,
     "FAIL the guest names the phases"),
    ("bench: controls not run", bench_log(phases="latency churn idle"), ["--table"], 1, "FAIL the probe's controls ran"),
    ("bench: goals met", bench_log(), ["--table"], 0, "0 goals missed"),
    ("bench: p99 over 5 ms", bench_log(p99_us=6000), ["--table"], 1, "1 goals missed"),
    ("bench: max over 20 ms", bench_log(max_us=25000), ["--table"], 1, "1 goals missed"),
    ("bench: idle grows with processes", bench_log(idle_large=(60, 60.0)), ["--table"], 1, "1 goals missed"),
    ("bench: idle over 1% of a vCPU", bench_log(idle_small=(70, 60.0), idle_large=(70, 60.0)), ["--table"], 1,
     "1 goals missed"),
    ("bench: RSS over 25 MB", bench_log(rss_kb=30000), ["--table"], 1, "1 goals missed"),
    ("bench: churn missed one", bench_log(churn_missed=1), ["--table"], 1, "1 goals missed"),
    # 10 probes never reported: the latency figures of the 990 others prove nothing (p99 and missed rows).
    ("bench: latency results lost", bench_log(latency="n=1000 samples=990 caught=990 missed=0"), ["--table"], 1,
     "2 goals missed"),
]


def main():
    failed = 0
    for name, text, args, want_rc, want_text in CASES:
        rc, out = run(text, *args)
        ok = rc == want_rc and want_text in out
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {rc} (want {want_rc})"
              + ("" if want_text in out else f", output lacks {want_text!r}"))
        if not ok:
            print("    " + out.replace("\n", "\n    ")[-3000:])
    print(f"events-checker-test: {len(CASES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

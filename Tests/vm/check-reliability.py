#!/usr/bin/env python3
"""Host-side checker for issue 8's real-kernel suites (scenario-reliability.sh).

Reads the guest's console log and asserts the issue's measures:
  crash    after KILLS x kill -9 at random points (every third the instant a process lands in
           a group), each followed by `recover` (keep / hand-back alternating) and a restart,
           then a clean stop: 0 processes killed, 0 lost (handed to /), 0 in another cgroup
           than the one they were born in, 0 leftover groups
  reload   every reload answered, the old policy kept on every invalid one (kernel weights,
           members, loaded_at, applied=false), every valid one applied, the agent alive
           throughout, VmRSS after <= before + 5 MB
  hostile  the agent's pass time with 100 uid-65534 processes whose 128 KB arguments are
           crafted against each shipped cmdline regex <= 1.5 x its pass time with the same
           processes and short arguments; root's status answered in <= 1 s meanwhile
  socket   SOCKET_CONNS slow connections from uid 65534 (in the socket's group): root's
           status ok in <= 1 s at every 1-s sample, the agent's fds <= 100
  fdlimit  (issue 19) the agent's RLIMIT_NOFILE lowered to the descriptors it holds: every
           member stays in its group, the origin ledger unchanged (cksum), the groups kept,
           "cannot scan /proc" with EMFILE told once; once raised a "recovered" line for
           scanning /proc after >= 3 failed scans and a process born then moved into its
           group; lowered again and stopped: nobody given back blind, the ledger names every
           origin, the stopping line says to run fairshare recover, and recover --mode
           hand-back gives each process back to its origin (none to /), no group left
A check whose data is missing fails ("never ran"). Last line: `vm-reliability: N passed, M
failed`; exit 1 on any failure.

Usage: check-reliability.py CONSOLE_LOG [--results FILE] [--table] [--fuzz FILE]
       check-reliability.py --craft OUT POLICY.toml...
  --results FILE  write the figures as KEY VALUE lines
  --table         print the benchmark table (measure | goal | figure | met?)
  --fuzz FILE     the fuzz driver's KEY VALUE results for the table's fuzz row
  --craft OUT     write the hostile argument list for the guest: one line per cmdline regex
                  of the given policies, "POLICY ARGV0 UNIT LABEL"; fails for a regex that
                  has no crafted argument in CRAFTED (add one when a policy gains a regex)
Python 3.11 standard library only.
"""

import argparse
import importlib.util
import os
import re
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_enforce", os.path.join(HERE, "check-enforce.py"))
_ce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ce)
Log, Checker, print_failure = _ce.Log, _ce.Checker, _ce.print_failure

LABEL = "vm-reliability"
RSS_GROWTH_LIMIT_KB = 5 * 1024
PASS_RATIO_GOAL = 1.5
STATUS_LATENCY_GOAL_MS = 1000
FD_LIMIT = 100
CMDLINE_ARG_BYTES = 128 * 1024  # one argument of MAX_ARG_STRLEN (131072 with its NUL)
PATHOLOGICAL = {"crash-brackets", "nested-class", "dotted-20k", "fifo", "group-writable", "foreign-owner"}

# For each shipped cmdline regex: the command line that makes it work hardest without
# matching. ARGV0 starts the joined command line; UNIT is repeated to 128 KB.
CRAFTED = {
    # ^python3? \S*train\S*\.py: after "python3 ", \S* takes the whole run of "train", then
    # gives it back one byte at a time looking for "train" and again for "\.py", which never
    # comes: quadratic (or worse) in a backtracking engine.
    r"^python3? \S*train\S*\.py": ("python3", "train", "train-run-without-py"),
    # --batch( |$): the literal at every one of the 16K places it starts, each followed by
    # neither a space nor the end ("-batch--" cut at any length never ends in "--batch").
    r"--batch( |$)": ("job", "-batch--", "batch-never-followed-by-space"),
}


# --- --craft ---------------------------------------------------------------------------------

def cmdline_regexes(path):
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    out = []
    for g in doc.get("group", []):
        v = (g.get("match") or {}).get("cmdline")
        if v is None:
            continue
        out.extend([v] if isinstance(v, str) else v)
    return out


def craft(out_path, policies):
    lines, missing = [], []
    for p in policies:
        for rx in cmdline_regexes(p):
            if rx not in CRAFTED:
                missing.append(f"{p}: cmdline regex {rx!r}")
                continue
            argv0, unit, label = CRAFTED[rx]
            lines.append(f"{os.path.basename(p)} {argv0} {unit} {label}")
    if missing:
        for m in missing:
            print(f"check-reliability: no hostile argument crafted for {m}; add one to CRAFTED in {__file__}")
        return 1
    with open(out_path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    print(f"check-reliability: {len(lines)} crafted hostile command line(s) -> {out_path}")
    return 0


# --- parsing helpers ---------------------------------------------------------------------------

def kv(row):
    """key=value tokens of a FSRESULT row as a dict (plain tokens under their position)."""
    d = {}
    for i, tok in enumerate(row):
        if "=" in tok:
            k, v = tok.split("=", 1)
            d[k] = v
        else:
            d[i] = tok
    return d


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def params(log):
    return {r[0]: " ".join(r[1:]) for r in log.all("param") if r}


def phases_run(log):
    return {r[0] for r in log.all("phase_end") if r}


def median(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if xs else None


# --- checks ------------------------------------------------------------------------------------

def check_boot(c, log):
    c.check("boot", "guest ran to completion", log.done and log.one("scenario_exit") == "0",
            f"FSDONE={'yes' if log.done else 'no'} scenario_exit={log.one('scenario_exit')} lines={log.lines}",
            "FSDONE, scenario_exit 0")


def check_crash(c, log, res):
    S = "crash"
    kills = [kv(r) for r in log.all("p1_kill")]
    want = int(num(params(log).get("KILLS")) or 0)
    c.check(S, "kill -9 cycles done", want and len(kills) == want, f"{len(kills)} of {want}", "all")
    first = [k for k in kills if str(k.get(1, "")).startswith("first-move")]
    fired = [k for k in first if k.get(1) == "first-move:fired"]
    c.check(S, "kills the instant a process lands in a group", fired,
            f"{len(fired)} of {len(first)} fired ({', '.join(str(k.get(2)) + ' ms' for k in fired[:8])})",
            ">= 1 fired (killwhen on the groups' cgroup.procs)")
    in_groups = [int(num(k.get("in_groups")) or 0) for k in kills]
    c.check(S, "processes were in groups at the kills", any(in_groups),
            f"max {max(in_groups) if in_groups else 'n/a'}, total {sum(in_groups)} over {len(kills)} kills",
            "> 0 (the agent was moving processes)")
    results = {k.get("result") for k in kills}
    bad_rc = [f"kill {k.get(0)}: exit {k.get('recover_exit')}" for k in kills if k.get("recover_exit") != "0"]
    c.check(S, "recover ran after every kill, both modes, exit 0",
            kills and {"signal", "exit-code"} <= results and not bad_rc,
            f"results {sorted(r for r in results if r)}; {', '.join(bad_rc[:5]) or 'all exit 0'}",
            "SERVICE_RESULT signal (keep) and exit-code (hand-back)")
    stop = log.all("p1_stop")
    c.check(S, "clean stop after the last restart", stop and stop[-1][0] == "0" and stop[-1][2] == "no",
            " ".join(stop[-1]) if stop else "never ran", "exit 0, not killed")
    after = kv(log.all("p1_after_stop")[-1]) if log.all("p1_after_stop") else {}
    spawned = int(num(log.one("p1_spawned")) or 0)
    leftovers = log.all("p1_leftover_groups")
    figures = {k: int(num(after.get(k)) or 0) for k in ("ok", "lost", "wrong", "gone", "ingroup")}
    ran = bool(after) and spawned > 0
    never = "never ran"
    c.check(S, "processes born in the origins", spawned >= 3, f"{spawned}", ">= 3 (3 origins)")
    c.check(S, "0 processes killed", ran and figures["gone"] == 0,
            f"{figures['gone']} of {spawned} gone" if ran else never, "0")
    c.check(S, "0 processes lost (handed to /)", ran and figures["lost"] == 0,
            f"{figures['lost']} of {spawned}" if ran else never, "0")
    misplaced = figures["wrong"] + figures["ingroup"]
    c.check(S, "0 processes in a cgroup other than their origin", ran and misplaced == 0,
            f"{misplaced} of {spawned} ({figures['ingroup']} still in a group)" if ran else never, "0")
    c.check(S, "every process back in its origin", ran and figures["ok"] == spawned,
            f"{figures['ok']} of {spawned}" if ran else never, "all")
    nleft = int(num(leftovers[-1][0])) if leftovers else None
    c.check(S, "0 leftover group cgroups", nleft == 0,
            f"{nleft} {' '.join(leftovers[-1][1:])}" if leftovers else never, "0")
    if ran:
        res.update(crash_kills=len(kills), crash_processes=spawned, crash_killed=figures["gone"],
                   crash_lost=figures["lost"], crash_misplaced=misplaced, crash_leftover_groups=nleft,
                   crash_first_move_fired=len(fired))


def check_reload(c, log, res):
    S = "reload"
    rows = [kv(r) for r in log.all("p2_reload")]
    want = int(num(params(log).get("RELOADS")) or 0)
    c.check(S, "reloads done", want and len(rows) == want, f"{len(rows)} of {want}", "all")
    unseen = [f"#{r.get(0)} {r.get(1)}" for r in rows if r.get("seen") != "yes"]
    c.check(S, "every reload answered (reload counter grew)", rows and not unseen,
            f"{len(unseen)} unanswered: {', '.join(unseen[:8])}" if unseen else f"{len(rows)} answered",
            "all, within the wait")
    died = log.all("p2_agent_died")
    hung = log.all("p2_reload_hung")
    deaths = died + hung
    dead = [f"#{r.get(0)} {r.get(1)}" for r in rows if r.get("alive") != "yes"]
    c.check(S, "agent alive and answering throughout", rows and not deaths and not dead,
            f"died {len(died)}x ({', '.join(' '.join(d[:3]) for d in died[:6])}), stuck {len(hung)}x "
            f"({', '.join(' '.join(h) for h in hung[:6])})" if deaths or dead else "alive",
            "never died or stuck (stuck: reload unanswered, killed and restarted)")

    def weights(r, key):
        parts = (r.get(key) or "").split(",")
        return parts + ["?"] * (4 - len(parts))

    kept_bad, applied_bad, members_bad = [], [], []
    invalid = [r for r in rows if r.get(1) != "valid"]
    valid = [r for r in rows if r.get(1) == "valid"]
    for r in invalid:
        b, a = weights(r, "before"), weights(r, "after")
        why = []
        if r.get("applied") != "false":
            why.append(f"applied={r.get('applied')}")
        if r.get("loaded_after") != r.get("loaded_before"):
            why.append(f"loaded_at {r.get('loaded_before')}->{r.get('loaded_after')}")
        if a[:2] != b[:2]:
            why.append(f"weights {b[0]}:{b[1]}->{a[0]}:{a[1]}")
        if why:
            kept_bad.append(f"#{r.get(0)} {r.get(1)}: {', '.join(why)}")
    for r in valid:
        a = weights(r, "after")
        ea, eb = (r.get("expect") or "0:0").split(":")
        why = []
        if r.get("applied") != "true":
            why.append(f"applied={r.get('applied')}")
        if r.get("loaded_after") == r.get("loaded_before"):
            why.append("loaded_at unchanged")
        try:
            if int(a[0]) * int(eb) != int(a[1]) * int(ea):
                why.append(f"weights {a[0]}:{a[1]}, shares {ea}:{eb}")
        except ValueError:
            why.append(f"weights {a[0]}:{a[1]}")
        if why:
            applied_bad.append(f"#{r.get(0)}: {', '.join(why)}")
    for r in rows:
        if weights(r, "after")[2:] != ["2", "2"]:
            members_bad.append(f"#{r.get(0)} {r.get(1)}: members {','.join(weights(r, 'after')[2:])}")
    c.check(S, "old policy kept on every invalid one", invalid and not kept_bad,
            f"{len(kept_bad)} of {len(invalid)} broke it: {'; '.join(kept_bad[:6])}" if kept_bad
            else f"{len(invalid)} invalid, all kept", "weights, loaded_at unchanged, applied=false")
    c.check(S, "every valid one applied", valid and not applied_bad,
            f"{len(applied_bad)} of {len(valid)}: {'; '.join(applied_bad[:6])}" if applied_bad
            else f"{len(valid)} valid, all applied", "weights follow the shares, loaded_at moves")
    c.check(S, "memberships unchanged (2 per group)", rows and not members_bad,
            f"{len(members_bad)} differ: {'; '.join(members_bad[:6])}" if members_bad else "2,2 throughout", "2,2")
    kinds = {r.get(1) for r in invalid}
    c.check(S, "pathological policies among them", PATHOLOGICAL & kinds,
            ", ".join(sorted(PATHOLOGICAL & kinds)) or "none", "some of " + ", ".join(sorted(PATHOLOGICAL)))
    before, after = num(log.one("p2_rss_before_kb")), num(log.one("p2_rss_after_kb"))
    if before is None or after is None or not rows:
        c.check(S, "RSS after <= before + 5 MB", False, "never ran", "<= +5120 kB")
    elif deaths:
        c.check(S, "RSS after <= before + 5 MB", False,
                f"not measurable: the agent died or hung {len(deaths)}x (first incarnation {before:.0f} kB; "
                f"last {after:.0f} kB; {'; '.join('stuck #' + ' '.join(h[:3]) for h in hung[:3])})",
                "<= +5120 kB, one agent")
    else:
        c.check(S, "RSS after <= before + 5 MB", after - before <= RSS_GROWTH_LIMIT_KB,
                f"{before:.0f} -> {after:.0f} kB ({(after - before) / 1024:+.1f} MB)", "<= +5 MB")
    if rows:
        res.update(reload_count=len(rows), reload_invalid=len(invalid),
                   reload_pathological=sum(1 for r in invalid if r.get(1) in PATHOLOGICAL),
                   reload_violations=len(kept_bad) + len(applied_bad), reload_deaths=len(died), reload_hangs=len(hung),
                   reload_unanswered=len(unseen),
                   reload_rss_growth_kb=(after - before) if before is not None and after is not None and not deaths else "n/a")


def pass_time(w):
    """(seconds, source) of one p3_window row; seconds None when no pass completed. The
    window's own samples of last_pass_seconds come first: pass_seconds_median covers the last
    32 passes, more than a short window, so it would still hold passes from before it."""
    last = num(w.get("last_pass_median"))
    if last is not None:
        return last, f"status agent.last_pass_seconds (median of 1-s samples in the window, max {w.get('last_pass_max')})"
    med = num(w.get("pass_seconds_median"))
    if med is not None:
        return med, "status agent.pass_seconds_median"
    t0, t1, cpu = num(w.get("ticks_before")), num(w.get("ticks_after")), num(w.get("cpu_ticks"))
    if t0 is None or t1 is None or cpu is None or t1 <= t0:
        return None, "agent CPU time per pass (/proc/PID/stat over status ticks)"
    return cpu / float(w.get("clk_tck") or 100) / (t1 - t0), "agent CPU time per pass (/proc/PID/stat over status ticks)"


def expected_crafted():
    shipped = [os.path.join(HERE, "..", "..", "config", "policy.toml")]
    ex = os.path.join(HERE, "..", "..", "config", "examples")
    shipped += [os.path.join(ex, f) for f in sorted(os.listdir(ex)) if f.endswith(".toml")] if os.path.isdir(ex) else []
    want = set()
    for p in shipped:
        for rx in cmdline_regexes(p):
            want.add((os.path.basename(p)[:-5], CRAFTED.get(rx, (None, None, f"uncrafted:{rx}"))[2]))
    return want


def check_hostile(c, log, res):
    S = "hostile"
    want = expected_crafted()
    got = {(r[0], r[1]) for r in log.all("p3_crafted") if len(r) >= 2}
    c.check(S, "every shipped cmdline regex attacked", want and want <= got,
            ", ".join(f"{p}:{l}" for p, l in sorted(got)) or "none",
            ", ".join(f"{p}:{l}" for p, l in sorted(want)))
    procs = [(r[0], r[1], kv(r)) for r in log.all("p3_procs") if len(r) >= 2]
    nwant = int(num(params(log).get("HOSTILE_PROCS")) or 0)
    for name, mode, d in procs:
        if mode != "hostile":
            continue
        n, cmin = int(num(d.get("count")) or 0), int(num(d.get("cmdline_min")) or 0)
        kinds = max(1, sum(1 for p, _ in want if p == name))
        c.check(S, f"{name}: {nwant} uid-65534 processes with 128 KB arguments",
                n == nwant // kinds * kinds and cmdline_min_ok(cmin) and d.get("uids") == "65534,",
                f"{n} processes, cmdline {cmin}..{d.get('cmdline_max')} bytes, uids {d.get('uids')}",
                f"{nwant // kinds * kinds}, >= {CMDLINE_ARG_BYTES} bytes each, uid 65534")
    windows = {}
    for r in log.all("p3_window"):
        if r:
            windows[r[0]] = kv(r)
    names = sorted({k.split(":")[0] for k in windows}) or sorted({p for p, _ in want})
    for name in names:
        b, h = windows.get(f"{name}:benign"), windows.get(f"{name}:hostile")
        if b is None or h is None:
            c.check(S, f"{name}: pass time with hostile command lines <= {PASS_RATIO_GOAL} x", False,
                    "never ran", f"<= {PASS_RATIO_GOAL} x")
            continue
        tb, src = pass_time(b)
        th, srch = pass_time(h)
        wsec = h.get("window_s")
        if tb is None:
            fig, ok = f"no pass completed in the {b.get('window_s')} s benign window", False
        elif th is None:
            cpu = (num(h.get("cpu_ticks")) or 0) / float(h.get("clk_tck") or 100)
            fig, ok = (f"no pass completed in the {wsec} s hostile window (status ticks {h.get('ticks_before')}->"
                       f"{h.get('ticks_after')}, agent CPU {cpu:.1f} s in it); benign {tb:.4f} s/pass"), False
        else:
            ratio = th / tb if tb > 0 else float("inf")
            fig, ok = f"{ratio:.2f} x (benign {tb:.4f} s, hostile {th:.4f} s per pass)", ratio <= PASS_RATIO_GOAL
            res.update(hostile_ratio=f"{ratio:.2f}")
        c.check(S, f"{name}: pass time with hostile command lines <= {PASS_RATIO_GOAL} x", ok,
                f"{fig}; source: {srch if th is not None else src}", f"<= {PASS_RATIO_GOAL} x the benign pass")
        res.update(hostile_benign_s=f"{tb:.4f}" if tb is not None else "none",
                   hostile_hostile_s=f"{th:.4f}" if th is not None else f">{wsec}",
                   hostile_source=(srch if th is not None else src).replace(" ", "_"))
        if "hostile_ratio" not in res:
            res["hostile_ratio"] = "inf"
        lat = h.get("status_ms_median"), h.get("status_ms_max"), h.get("status_failed")
        mx = num(lat[1])
        c.check(S, f"{name}: root's status answered in <= 1 s meanwhile",
                mx is not None and mx <= STATUS_LATENCY_GOAL_MS and lat[2] == "0",
                f"median {lat[0]} ms, max {lat[1]} ms, {lat[2]} failed of {h.get('status_n')}", "every answer ok, <= 1000 ms")
    alive = log.all("p3_alive")
    c.check(S, "agent alive after the hostile processes", alive and all(r[1] == "yes" for r in alive),
            " ".join(" ".join(r) for r in alive) or "never ran", "yes")


def cmdline_min_ok(cmin):
    return cmin >= CMDLINE_ARG_BYTES


def check_socket(c, log, res):
    S = "socket"
    p = params(log)
    conns, window = int(num(p.get("SOCKET_CONNS")) or 0), num(p.get("SOCKET_WINDOW_S")) or 0
    final = kv((log.one("p4_slowclients_final") or "").split())
    sock = log.one("p4_socket") or "never ran"
    c.check(S, f"{conns} slow connections attempted by uid 65534 through the socket's group",
            final and int(num(final.get("connects")) or 0) >= 1 and final.get("denied") == "0",
            f"socket {sock}; {log.one('p4_slowclients_final') or 'no report'}",
            "connects >= 1, denied 0 (the user may use the socket)")
    samples = []
    for r in log.all("p4_sample"):
        d = kv(r)
        ms = num(d.get(1))
        samples.append((ms, d.get(2), int(num(d.get("fds")) or 0), d.get("t")))
    # One sample a second, or one per 2-s timeout when the agent does not answer.
    c.check(S, "root's status sampled through the window", len(samples) >= window / 3,
            f"{len(samples)} samples over {window:.0f} s", f">= {window / 3:.0f}")
    bad = [f"t={t}: {ms:.0f} ms {rv}" if ms is not None else f"t={t}: {rv}" for ms, rv, _, t in samples
           if rv != "ok" or ms is None or ms > STATUS_LATENCY_GOAL_MS]
    # Latencies of the answers only: a "noagent" in 0 ms is no fast answer.
    lat = [ms for ms, rv, _, _ in samples if ms is not None and rv == "ok"]
    kinds = {}
    for _, rv, _, _ in samples:
        if rv != "ok":
            kinds[rv] = kinds.get(rv, 0) + 1
    failures = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
    c.check(S, "root's status ok in <= 1 s every time", samples and not bad,
            f"answers: median {median(lat) if lat else 'none'} ms, max {max(lat) if lat else 'none'} ms; failures: {failures}; "
            f"{len(bad)} of {len(samples)} bad" + (f": {', '.join(bad[:6])}" if bad else ""), "all ok, <= 1000 ms")
    fds = [f for _, _, f, _ in samples]
    c.check(S, f"agent fds <= {FD_LIMIT} throughout", fds and max(fds) <= FD_LIMIT,
            f"max {max(fds) if fds else 'n/a'} (before {log.one('p4_fds_before')}, after {log.one('p4_fds_after')})",
            f"<= {FD_LIMIT}")
    after = (log.one("p4_status_after") or "").split()
    c.check(S, "agent alive and answering afterwards", log.one("p4_alive") == "yes" and after[-1:] == ["ok"],
            f"alive={log.one('p4_alive')} status {' '.join(after) or 'none'}", "alive, ok")
    if samples:
        res.update(socket_connections=conns, socket_status_median_ms=median(lat) if lat else "none",
                   socket_status_max_ms=max(lat) if lat else "none", socket_status_failures=failures.replace(" ", "_"),
                   socket_status_bad=len(bad), socket_samples=len(samples), socket_fds_max=max(fds),
                   socket_agent_alive=log.one("p4_alive"))


def p5_states(log):
    """{label: [kv rows]} of the p5_state lines, in order."""
    out = {}
    for r in log.all("p5_state"):
        if r:
            out.setdefault(r[0], []).append(kv(r))
    return out


def p5_slices(log):
    """The agent's log of the fdlimit phase cut at the scenario's marks: {mark: [lines from it
    to the next mark]} (the last mark's stretch runs to the end of the log)."""
    body = (log.blocks.get("p5_agent_output") or ("TEXT", []))[1]
    marks = []
    for r in log.all("p5_mark"):
        n = num(r[1]) if len(r) >= 2 else None
        if n is not None:
            marks.append((r[0], int(n)))
    out = {}
    for i, (name, start) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else len(body)
        out[name] = body[start:end]
    return out


def tallied(d, *keys):
    return {k: int(num(d.get(k)) or 0) for k in keys}


SCAN_HEADLINE = "cannot scan /proc"
SCAN_RECOVERED = "scanning /proc works again"
RESERVE_HEADLINE = "the descriptor table is full"
RESERVE_RECOVERED = "the agent's descriptors works again"
EMFILE_WORDS = ("EMFILE", "Too many open files", "errno 24")


def check_fdlimit(c, log, res):
    S = "fdlimit"
    never = "never ran"
    want = int(num(params(log).get("FDLIMIT_PROCS")) or 0)
    prl = log.one("p5_prlimit")
    c.check(S, "prlimit in the guest", prl and prl != "missing", prl or never, "/usr/bin/prlimit")
    states = p5_states(log)
    slices = p5_slices(log)
    before = (states.get("before") or [{}])[-1]
    procs = int(num(before.get("procs")) or 0)
    b = tallied(before, "ingroup", "ledger_origins")
    c.check(S, "every process in a group and in the ledger before the limit",
            before and want and procs == want and b["ingroup"] == want and b["ledger_origins"] == want,
            f"{b['ingroup']} of {procs} in groups, ledger names {b['ledger_origins']} origins (groups {before.get('groups')})"
            if before else never, f"{want} of {want}, {want}")

    limit_rows = [kv(r) for r in log.all("p5_limit") if r]

    def limit_ok(name):
        """The limit set at `name` (and lowered again after it, "NAME-again"): prlimit exit 0
        every time and soft = hard = the value asked for, in /proc/PID/limits."""
        rows = [d for d in limit_rows if d.get(0) == name or d.get(0) == f"{name}-again"]
        if not rows:
            return False, never
        ok = all(d.get("rc") == "0" and d.get("nofile") not in (None, "") and d.get("now") == f"{d.get('nofile')}:{d.get('nofile')}"
                 for d in rows)
        d = rows[-1]
        fig = (f"prlimit exit {', '.join(str(x.get('rc')) for x in rows)}, RLIMIT_NOFILE {d.get('now')} "
               f"with {d.get('fds')} open ({d.get('held')})")
        if len(rows) > 1:
            fig += f"; lowered {len(rows) - 1}x after a descriptor closed ({', '.join(str(x.get('nofile')) for x in rows)})"
        bad = [x.get("err") for x in rows if x.get("rc") != "0"]
        return ok, fig + (f"; {bad[0]}" if bad else "")

    reserve = [kv(r) for r in log.all("p5_reserve") if r and r[0] == "limited"]
    # stdin, stdout and stderr may be /dev/null too: the reserve is what lies above them.
    held = [f for f in (reserve[-1].get("fds") or "").split(",") if f and int(f) > 2] if reserve else []
    c.check(S, "the agent holds its descriptor reserve before the limit (16 on /dev/null)", len(held) == 16,
            f"{len(held)} descriptors on /dev/null: {','.join(held)}" if reserve else never, "16")
    ok, fig = limit_ok("limited")
    c.check(S, "RLIMIT_NOFILE lowered to the descriptors the agent holds", ok, fig, "prlimit exit 0, soft = hard = lowest free fd")

    limited = states.get("limited") or []
    cpu = kv(log.all("p5_limited_cpu")[-1]) if log.all("p5_limited_cpu") else {}
    c.check(S, "sampled under the limit", len(limited) >= 3,
            f"{len(limited)} samples in {cpu.get('window_s', '?')} s", ">= 3 (a second apart)")
    moved = [f"t={d.get('t')}: ingroup={d.get('ingroup')} lost={d.get('lost')} ok={d.get('ok')} gone={d.get('gone')}"
             for d in limited if tallied(d, "ingroup")["ingroup"] != procs or d.get("lost") != "0" or d.get("gone") != "0"]
    c.check(S, "every member stays in its group under the limit", limited and procs and not moved,
            f"{len(moved)} of {len(limited)} samples differ: {'; '.join(moved[:4])}" if moved
            else f"{procs} of {procs} in groups in all {len(limited)} samples" if limited else never, f"{procs} in groups, 0 moved")
    changed = [f"t={d.get('t')}: cksum {d.get('ledger_cksum')}, {d.get('ledger_entries')} entries, {d.get('ledger_origins')} origins"
               for d in limited if d.get("ledger_cksum") != before.get("ledger_cksum") or d.get("ledger_origins") != before.get("ledger_origins")]
    c.check(S, "origin ledger unchanged under the limit", limited and before and not changed,
            f"{len(changed)} of {len(limited)} samples differ from cksum {before.get('ledger_cksum')}: {'; '.join(changed[:4])}" if changed
            else f"cksum {before.get('ledger_cksum')} ({before.get('ledger_entries')} entries) in all {len(limited)} samples" if limited else never,
            "the file as before the limit")
    gone_groups = [f"t={d.get('t')}: {d.get('groups')}" for d in limited if d.get("groups") != before.get("groups")]
    c.check(S, "groups kept under the limit", limited and before.get("groups") == "fa,fb," and not gone_groups,
            "; ".join(gone_groups[:4]) if gone_groups else f"{before.get('groups')} throughout" if limited else never, "fa,fb,")
    dead = [d.get("t") for d in limited if d.get("alive") != "yes"]
    stop = log.all("p5_stop")
    ticks, win = num(cpu.get("ticks")), num(cpu.get("window_s"))
    busy = (f"; CPU {ticks / float(cpu.get('clk_tck') or 100):.1f} s in {win:.1f} s, busiest thread {cpu.get('busiest') or '?'} ticks"
            if ticks is not None and win and not dead else "")
    exit_note = ""
    if dead and stop and stop[-1][0].startswith("dead-before-stop:exit="):
        code = int(num(stop[-1][0].split("=", 1)[1]) or 0)
        exit_note = f"; exit status {code}" + (f" (signal {code - 128})" if code > 128 else "")
    c.check(S, "agent alive under the limit", limited and not dead,
            f"dead at t={', '.join(dead[:4])}{exit_note}" if dead else f"alive{busy}" if limited else never, "alive")

    # The descriptor reserve: given up at the first EMFILE, whichever open met it (told once),
    # the agent works on it under the limit (it answers, no failure is told pass after pass),
    # and takes it back once the limit is raised.
    lim_lines = slices.get("limited", [])
    given_up = log.all("p5_reserve_given_up")
    c.check(S, "the reserve given up at the limit (its descriptors free again)", given_up,
            " ".join(given_up[-1]) if given_up else "the agent held every descriptor under the limit", "fd=... given up")
    full = [ln for ln in lim_lines if RESERVE_HEADLINE in ln]
    told = full
    c.check(S, "the full descriptor table told once, naming EMFILE", len(full) == 1 and any(w in full[0] for w in EMFILE_WORDS),
            full[0][:300] if full else f"no '{RESERVE_HEADLINE}' in the {len(lim_lines)} lines logged under the limit",
            f"one '{RESERVE_HEADLINE}' naming EMFILE")
    errors = [re.sub(r"^\S+ \[error\] ([^:]*):.*$", r"\1", ln) for ln in lim_lines if "[error]" in ln]
    repeated = sorted({e for e in errors if errors.count(e) > 1})
    c.check(S, "no failure told pass after pass under the limit", errors and not repeated,
            f"told more than once: {', '.join(repeated)}" if repeated else f"{len(errors)} told once each ({cpu.get('window_s', '?')} s)",
            "each failure once")
    st_lim = (log.one("p5_status_limited") or "").split()
    c.check(S, "status answers under the limit", st_lim[-1:] == ["ok"], " ".join(st_lim) or never, "ok (accept(2) works on the reserve)")

    raised_lines = slices.get("raised", [])
    rec = [ln for ln in raised_lines if RESERVE_RECOVERED in ln]
    late = kv(log.all("p5_late")[-1]) if log.all("p5_late") else {}
    raise_row = kv(log.all("p5_raise")[-1]) if log.all("p5_raise") else {}
    c.check(S, "limit raised again", raise_row.get("rc") == "0" and raise_row.get("now") == raise_row.get("nofile"),
            f"prlimit exit {raise_row.get('rc')}, RLIMIT_NOFILE {raise_row.get('now')}" if raise_row else never, "the limit it had")
    c.check(S, "the reserve taken back once raised (a 'recovered' line for the agent's descriptors)", rec,
            f"{rec[0][:300]} ({late.get('recovered_s')} s after the raise)" if rec else f"no '{RESERVE_RECOVERED}' in {len(raised_lines)} lines",
            f"'{RESERVE_RECOVERED}'")
    failed_scans = None
    mv = num(late.get("moved_s"))
    c.check(S, "acts again: a process born after the raise moved into its group", mv is not None,
            f"pid {late.get('pid')} in {late.get('now')} {mv} s after the raise" if mv is not None
            else f"pid {late.get('pid')} still in {late.get('now')}" if late else never, "moved to /fsrel5/fa")
    st = (log.one("p5_status_raised") or "").split()
    c.check(S, "status answers once raised", st[-1:] == ["ok"], " ".join(st) or never, "ok")

    ok, fig = limit_ok("stop")
    c.check(S, "RLIMIT_NOFILE lowered again before the stop", ok, fig, "prlimit exit 0, soft = hard = 3 (stdin, stdout, stderr)")
    died_before = bool(stop) and stop[-1][0].startswith("dead-before-stop")
    # With no descriptor at all (limit 3), the Swift runtime's libdispatch may abort the
    # process (SIGILL, exit 132) when its worker monitor can not open /proc/TID/stat: the
    # reserve can not help below it. Accepted here only as an abort (never another exit), and
    # only because what follows must hold all the same: nothing given back blind, every origin
    # in the ledger, recover gives every one back.
    runtime_abort = died_before and stop[-1][0].split("=", 1)[-1] == "132"
    c.check(S, "stopped by SIGTERM under the limit (or aborted by the runtime, losing nothing)",
            stop and (runtime_abort or (not died_before and stop[-1][2:3] == ["no"])),
            (f"the agent had exited before the stop ({stop[-1][0].split(':', 1)[1]})" + (": libdispatch's abort (SIGILL)" if runtime_abort else "")
             if died_before else f"exit {stop[-1][0]} in {stop[-1][1]} s, killed {stop[-1][2]}") if stop else never,
            "alive until SIGTERM, then exits, not killed")
    res.update(fdlimit_stop_exit=stop[-1][0] if stop else "n/a")
    after = (states.get("after_stop") or [{}])[-1]
    n_all = int(num(after.get("procs")) or 0)
    a = tallied(after, "ingroup", "lost", "ok", "gone", "wrong", "ledger_origins")
    c.check(S, "nobody given back blind at the stop", after and n_all and a["ingroup"] == n_all and a["lost"] == 0 and a["gone"] == 0,
            f"{a['ingroup']} of {n_all} still in groups, {a['lost']} in /, {a['ok']} in their origin, {a['gone']} gone" if after else never,
            f"all {n_all or want + 1} in their groups, 0 in /")
    c.check(S, "the ledger names every origin after the stop", after and n_all and a["ledger_origins"] == n_all,
            f"{a['ledger_origins']} of {n_all} origins ({after.get('ledger_entries')} entries)" if after else never, f"{n_all or want + 1}")
    stop_lines = slices.get("stop", [])
    says = [ln for ln in stop_lines if "fairshare stopping" in ln]
    c.check(S, "the stopping line names the problem and fairshare recover",
            runtime_abort or (says and "/proc could not be read" in says[-1] and "fairshare recover" in says[-1]),
            says[-1][:400] if says else f"no 'fairshare stopping' in {len(stop_lines)} lines", "'/proc could not be read', 'fairshare recover'")

    rc = log.one("p5_recover_exit")
    c.check(S, "recover --mode hand-back exit 0", rc == "0", rc or never, "0")
    rec_state = (states.get("after_recover") or [{}])[-1]
    r_ = tallied(rec_state, "ok", "lost", "wrong", "gone", "ingroup")
    n_rec = int(num(rec_state.get("procs")) or 0)
    ran = bool(rec_state) and n_rec > 0
    c.check(S, "0 processes handed to / by recover", ran and r_["lost"] == 0, f"{r_['lost']} of {n_rec}" if ran else never, "0")
    c.check(S, "every process back in its origin after recover", ran and r_["ok"] == n_rec,
            f"{r_['ok']} of {n_rec} ({r_['ingroup']} in a group, {r_['wrong']} elsewhere, {r_['gone']} gone)" if ran else never, "all")
    left = log.all("p5_leftover_groups")
    nleft = int(num(left[-1][0])) if left and left[-1] else None
    c.check(S, "0 leftover group cgroups", nleft == 0, f"{nleft} {' '.join(left[-1][1:])}" if left else never, "0")
    if before:
        res.update(fdlimit_processes=procs, fdlimit_samples=len(limited), fdlimit_failed_scans=failed_scans,
                   fdlimit_told=len(told), fdlimit_late_moved_s=late.get("moved_s"),
                   fdlimit_after_stop_ingroup=a["ingroup"], fdlimit_after_recover_ok=r_["ok"], fdlimit_after_recover_lost=r_["lost"])


# --- table -----------------------------------------------------------------------------------

def read_kv(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split(None, 1)
                if len(parts) == 2:
                    d[parts[0].strip().lower()] = parts[1].strip()
    except OSError:
        return None
    return d


def fuzz_row(path):
    d = read_kv(path) if path else None
    if not d:
        return "not run", "-"
    def get(*names):
        for n in names:
            if n in d:
                return num(d[n].split()[0])
        return None
    inputs, crashes = get("inputs"), get("crashes")
    slow, rss = get("slowest_ms", "slowest"), get("peak_rss_mb", "peak_rss")
    fig = f"inputs {d.get('inputs', '?')}, crashes {d.get('crashes', '?')}, slowest {slow} ms, peak RSS {rss} MB"
    if None in (inputs, crashes, slow, rss):
        return fig + " (incomplete)", "no"
    met = crashes == 0 and slow <= 1000 and rss <= 64
    return fig, ("yes" if met and inputs >= 1e6 else "yes (CI budget)" if met else "no")


def table(res, fuzz_path, c):
    failed_sections = {sec for sec, _, ok, _, _ in c.checks if not ok}

    def met(sec):
        return "no" if sec in failed_sections else "yes" if any(s == sec for s, *_ in c.checks) else "not run"

    g = res.get
    rows = [("Fuzz (policy front end)", "0 crashes; each input <= 1 s, <= 64 MB", *fuzz_row(fuzz_path))]
    rows.append(("Crash safety", "0 killed, lost, misplaced, leftover",
                 f"{g('crash_kills', '?')} kills, {g('crash_processes', '?')} processes: {g('crash_killed', '?')} killed, "
                 f"{g('crash_lost', '?')} lost, {g('crash_misplaced', '?')} misplaced, {g('crash_leftover_groups', '?')} leftover groups",
                 met("crash")))
    rows.append(("Reloads", "old policy kept on every invalid; RSS <= +5 MB",
                 f"{g('reload_count', '?')} reloads ({g('reload_invalid', '?')} invalid, {g('reload_pathological', '?')} pathological): "
                 f"{g('reload_violations', '?')} violations, {g('reload_deaths', '?')} deaths, {g('reload_hangs', '?')} hangs, "
                 f"RSS {g('reload_rss_growth_kb', '?')} kB",
                 met("reload")))
    rows.append(("Hostile command lines", f"pass <= {PASS_RATIO_GOAL} x without",
                 f"{g('hostile_ratio', '?')} x (benign {g('hostile_benign_s', '?')} s, hostile {g('hostile_hostile_s', '?')} s; "
                 f"{str(g('hostile_source', '?')).replace('_', ' ')})", met("hostile")))
    rows.append(("Socket abuse", "status <= 1 s throughout; fds bounded",
                 f"{g('socket_connections', '?')} slow conns: answers median {g('socket_status_median_ms', '?')} ms, "
                 f"max {g('socket_status_max_ms', '?')} ms; {g('socket_status_bad', '?')} of {g('socket_samples', '?')} samples bad "
                 f"({str(g('socket_status_failures', '?')).replace('_', ' ')}); fds max {g('socket_fds_max', '?')}; "
                 f"agent alive after: {g('socket_agent_alive', '?')}",
                 met("socket")))
    rows.append(("Descriptor limit (issue 19)", "members, ledger kept; recover restores origins",
                 f"{g('fdlimit_processes', '?')} processes, {g('fdlimit_samples', '?')} samples under EMFILE, "
                 f"{g('fdlimit_failed_scans', '?')} failed scans told {g('fdlimit_told', '?')}x; after stop "
                 f"{g('fdlimit_after_stop_ingroup', '?')} kept, after recover {g('fdlimit_after_recover_ok', '?')} in origin, "
                 f"{g('fdlimit_after_recover_lost', '?')} in /", met("fdlimit")))
    heads = ("measure", "goal", "figure", "met?")
    w = [max(len(str(r[i])) for r in rows + [heads]) for i in range(4)]
    print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(heads)) + " |")
    print("|" + "|".join("-" * (w[i] + 2) for i in range(4)) + "|")
    for r in rows:
        print("| " + " | ".join(str(x).ljust(w[i]) for i, x in enumerate(r)) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", nargs="?")
    ap.add_argument("--results")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--fuzz")
    ap.add_argument("--craft", metavar="OUT")
    ap.add_argument("policies", nargs="*")
    args = ap.parse_args()
    if args.craft:
        return craft(args.craft, ([args.log] if args.log else []) + args.policies)
    if not args.log:
        ap.error("CONSOLE_LOG is required")
    try:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            log = Log(f.read())
    except OSError as e:
        print(f"{LABEL}: cannot read {args.log}: {e}")
        print(f"{LABEL}: 0 passed, 1 failed")
        return 1

    c, res = Checker(), {}
    if not log.results:
        c.check("boot", "guest printed results", False, f"no FSRESULT lines in {log.lines} lines", "FSRESULT lines")
    else:
        check_boot(c, log)
        wanted = (params(log).get("PHASES") or "crash reload hostile socket fdlimit").split()
        done = phases_run(log)
        for phase, fn in (("crash", check_crash), ("reload", check_reload), ("hostile", check_hostile),
                          ("socket", check_socket), ("fdlimit", check_fdlimit)):
            if phase in wanted:
                c.check(phase, "phase ran to its end", phase in done, "yes" if phase in done else "no (see the log)", "yes")
                fn(c, log, res)

    passed = len(c.checks) - len(c.failed)
    # The agent may log whole 128 KB command lines: keep the evidence readable.
    for name, (kind, body) in log.blocks.items():
        log.blocks[name] = (kind, [ln if len(ln) <= 600 else ln[:600] + f"... ({len(ln)} chars)" for ln in body])
    if c.failed:
        print_failure(c, log, args.log, tail=40)
    else:
        for sec, name, ok, measured, expected in c.checks:
            print(f"  ok   {sec:<8} {name}: {measured}")
    if args.results:
        with open(args.results, "w") as f:
            for k, v in res.items():
                f.write(f"{k} {v}\n")
    if args.table:
        table(res, args.fuzz, c)
    print(f"{LABEL}: {passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

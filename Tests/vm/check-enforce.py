#!/usr/bin/env python3
"""Host-side checker for the VM enforcement scenario (scenario-enforce.sh).

Reads the guest's console log, parses the FSRESULT lines and the FSJSON/FSTEXT
blocks, and asserts the acceptance criteria of issue 2. On failure it prints
every check and every measurement, then exits 1. On success the last line is
`vm-enforce: N passed, 0 failed`.

Usage: check-enforce.py CONSOLE_LOG [--standin] [--label NAME]
  --standin  the log comes from scenario-standin.sh (no agent): only the
             kernel-side checks (placement, usage, weights, restore, journal).
Python 3 standard library only.
"""

import argparse
import json
import re
import sys

GROUPS = ["low", "mid", "high"]
SHARES = {"low": 1, "mid": 2, "high": 5}
SHARES_RELOADED = {"low": 5, "mid": 2, "high": 1}
BURNER_GROUP = {"burn_a": "low", "burn_b": "mid", "burn_c": "high"}
CGROUP_ROOT = "/sys/fs/cgroup/fairshare"
EVENTS = ["started", "policy_loaded", "group_created", "moved", "summary", "policy_rejected", "stopping"]

USAGE_TOLERANCE = 0.10  # relative, measured cpu.stat fractions vs shares
STATUS_USAGE_TOLERANCE = 0.25  # relative, the agent's own per-interval figures
RELOAD_SLACK_S = 0.5  # emulation slack on top of two intervals

ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[a-zA-Z])")


# --- parsing -------------------------------------------------------------------------------

class Log:
    def __init__(self, text):
        self.results = {}  # key -> [[values...], ...] in order of appearance
        self.blocks = {}  # name -> (kind, [lines])
        self.done = False
        self.lines = 0
        current = None
        for raw in text.splitlines():
            self.lines += 1
            line = ANSI.sub("", raw).replace("\r", "")
            if current is not None:
                kind, name, body = current
                if line.strip() == f"FS{kind}-END":
                    self.blocks[name] = (kind, body)
                    current = None
                else:
                    body.append(line)
                continue
            m = re.search(r"FS(JSON|TEXT)-BEGIN (\S+)\s*$", line)
            if m:
                current = (m.group(1), m.group(2), [])
                continue
            i = line.find("FSRESULT ")
            if i >= 0:
                parts = line[i:].split()
                if len(parts) >= 2:
                    self.results.setdefault(parts[1], []).append(parts[2:])
                continue
            if line.strip() == "FSDONE":
                self.done = True
        if current is not None:  # truncated log: keep what there is
            self.blocks[current[1]] = (current[0], current[2])

    def all(self, key):
        return self.results.get(key, [])

    def one(self, key, default=None):
        """The value(s) of the last KEY line, joined by spaces."""
        rows = self.results.get(key)
        return " ".join(rows[-1]) if rows else default

    def num(self, key):
        try:
            return float(self.one(key))
        except (TypeError, ValueError):
            return None

    def text(self, name):
        b = self.blocks.get(name)
        return "\n".join(b[1]) if b else None

    def json(self, name):
        """(document, error): one JSON document from a FSJSON block."""
        b = self.blocks.get(name)
        if b is None:
            return None, "no output block"
        body = "\n".join(b[1]).strip()
        if not body:
            return None, "empty output"
        try:
            return json.loads(body), None
        except ValueError as e:
            return None, f"not JSON ({e}): {body[:200]!r}"

    def json_lines(self, name):
        b = self.blocks.get(name)
        if b is None:
            return None, "no output block"
        docs, bad = [], 0
        for line in b[1]:
            line = line.strip()
            if not line:
                continue
            try:
                docs.append(json.loads(line))
            except ValueError:
                bad += 1
        return docs, (f"{bad} unparsable lines" if bad else None)


def as_int(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


def field(entry, name):
    """A journal JSON field as a string (binary fields come as byte arrays)."""
    v = entry.get(name)
    if isinstance(v, list):
        if v and all(isinstance(x, int) for x in v):
            return bytes(v).decode("utf-8", "replace")
        return str(v[0]) if v else None
    return v


def weights_match(w, shares):
    """cpu.weight values proportional to the shares, one unit of rounding allowed."""
    if any(w.get(g) is None for g in GROUPS) or not w[GROUPS[0]]:
        return False
    base, sb = w[GROUPS[0]], shares[GROUPS[0]]
    return all(abs(w[g] - base * shares[g] / sb) <= 1 + shares[g] / sb for g in GROUPS)


def fmt(x, nd=3):
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


# --- checks --------------------------------------------------------------------------------

class Checker:
    def __init__(self):
        self.checks = []  # (section, name, ok, measured, expected)

    def check(self, section, name, ok, measured, expected):
        self.checks.append((section, name, bool(ok), str(measured), str(expected)))
        return ok

    @property
    def failed(self):
        return [c for c in self.checks if not c[2]]


def check_boot(c, log):
    c.check("boot", "guest ran to completion", log.done and log.one("scenario_exit") == "0",
            f"FSDONE={'yes' if log.done else 'no'} scenario_exit={log.one('scenario_exit')} lines={log.lines}",
            "FSDONE, scenario_exit 0")
    ctl = (log.one("cgroup_controllers") or "").split()
    c.check("boot", "cgroup2 offers cpu and io", "cpu" in ctl and "io" in ctl, " ".join(ctl) or "none", "cpu io")


def per_group(log):
    """Busy processes per group, as the guest reported (older logs: 3)."""
    return int(log.num("burners_per_group") or 3)


def check_placement(c, log):
    burners = log.all("burner")
    names = sorted(b[0] for b in burners if b)
    start = {r[0]: " ".join(r[1:]) for r in log.all("burner_start_cgroup") if r}
    n = per_group(log)
    c.check("placement", f"{3 * n} burners started in /origin",
            names == sorted(list(BURNER_GROUP) * n) and len(start) == 3 * n
            and all(v == "/origin" for v in start.values()),
            f"{len(burners)} burners, cgroups {sorted(set(start.values()))}", f"{n} each of burn_a/b/c in /origin")
    c.check("placement", "agent ready (status answers, all placed)", log.one("ready") == "yes",
            f"ready={log.one('ready')} after {log.one('ready_s')} s", "ready within 30 s")
    placed = log.all("placed")
    wrong = [f"{r[0]}:{r[1]}->{' '.join(r[2:])}" for r in placed
             if len(r) < 3 or r[2] != f"/fairshare/{BURNER_GROUP.get(r[0])}"]
    c.check("placement", "every burner in its group cgroup", placed and not wrong,
            "all placed" if placed and not wrong else (", ".join(wrong) or "no data"),
            "burn_a->/fairshare/low, burn_b->mid, burn_c->high")


def usage_table(log):
    usage = {r[0]: as_int(r[1]) for r in log.all("usage") if len(r) >= 2}
    weight = {r[0]: as_int(r[1]) for r in log.all("cpu_weight") if len(r) >= 2}
    return usage, weight


def check_usage(c, log):
    usage, weight = usage_table(log)
    total = sum(v for v in usage.values() if v) if usage and all(usage.get(g) is not None for g in GROUPS) else None
    sb = sum(SHARES.values())
    for g in GROUPS:
        want = SHARES[g] / sb
        frac = usage[g] / total if total else None
        c.check("usage", f"{g} CPU fraction ~ {SHARES[g]}/{sb}",
                frac is not None and abs(frac - want) <= USAGE_TOLERANCE * want,
                f"{fmt(frac)} ({usage.get(g)} us)" if frac is not None else f"usage {usage.get(g)}",
                f"{want:.3f} +/-{USAGE_TOLERANCE:.0%}")
    for g in GROUPS[1:]:
        ratio = SHARES[g] / SHARES["low"]
        w, wl = weight.get(g), weight.get("low")
        ok = w is not None and wl and abs(w - wl * ratio) <= 1 + ratio
        c.check("usage", f"cpu.weight {g}/low == {ratio:g}", ok,
                f"{w}/{wl} = {fmt(w / wl) if w is not None and wl else '?'}", f"{ratio:g} (+/- rounding)")


def status_groups(doc):
    try:
        return {g["name"]: g for g in doc["groups"]}
    except (TypeError, KeyError):
        return {}


def check_explain(c, log):
    doc, err = log.json("explain_low")
    doc = doc or {}
    c.check("explain", "explain names group low and the comm key",
            doc.get("group") == "low" and any(k.startswith("comm burn_a") for k in doc.get("matched_keys", []))
            and doc.get("origin_cgroup") == "/origin" and doc.get("cgroup") == "/fairshare/low",
            err or doc, "group low, matched 'comm burn_a ~ burn_a', origin /origin")
    agent, err = log.json("explain_agent")
    agent = agent or {}
    c.check("explain", "explain says the agent is never moved",
            agent.get("group") is None and "the agent itself" in (agent.get("reason") or ""),
            err or agent, "no group, reason 'never moved: the agent itself'")


def check_status(c, log, interval):
    doc, err = log.json("status_1")
    ok = c.check("status", "status --json answers with JSON", doc is not None and log.one("status_1_exit") == "0",
                 err or f"exit {log.one('status_1_exit')}", "exit 0, a JSON object")
    if not ok:
        doc = {}
    c.check("status", "schema_version == 1", doc.get("schema_version") == 1, doc.get("schema_version"), 1)
    groups = status_groups(doc)
    c.check("status", "groups low, mid, high", sorted(groups) == sorted(GROUPS) and len(doc.get("groups", [])) == 3,
            [g.get("name") for g in doc.get("groups", [])], GROUPS)
    c.check("status", "shares 1/2/5", all(groups.get(g, {}).get("shares") == SHARES[g] for g in GROUPS),
            {g: groups.get(g, {}).get("shares") for g in GROUPS}, SHARES)
    n = per_group(log)
    c.check("status", f"{n} members each", all(groups.get(g, {}).get("members") == n for g in GROUPS),
            {g: groups.get(g, {}).get("members") for g in GROUPS}, n)
    sb = sum(SHARES.values())
    targets = {g: groups.get(g, {}).get("cpu_target_pct") for g in GROUPS}
    c.check("status", "cpu_target_pct 12.5/25/62.5",
            all(isinstance(targets[g], (int, float)) and abs(targets[g] - 100 * SHARES[g] / sb) <= 0.5 for g in GROUPS),
            targets, {g: 100 * SHARES[g] / sb for g in GROUPS})
    # Usage per interval is noisy: average the snapshots.
    samples = {g: [] for g in GROUPS}
    for name in ("status_1", "status_2", "status_3"):
        d, _ = log.json(name)
        for g, e in status_groups(d).items():
            if g in samples and isinstance(e.get("cpu_usage_pct"), (int, float)):
                samples[g].append(e["cpu_usage_pct"])
    means = {g: (sum(v) / len(v) if v else None) for g, v in samples.items()}
    # Compared as fractions of the groups' total: under emulation the status CLI
    # itself costs ~0.5 CPU-s while the agent measures, which lowers all absolute
    # figures alike. The absolute sum only has to be sane.
    total = sum(m for m in means.values() if m is not None)
    fracs = {g: (means[g] / total if means[g] is not None and total else None) for g in GROUPS}
    c.check("status", f"cpu_usage_pct split follows target (+/-{STATUS_USAGE_TOLERANCE:.0%}, mean of snapshots)",
            all(fracs[g] is not None and abs(fracs[g] - SHARES[g] / sb) <= STATUS_USAGE_TOLERANCE * SHARES[g] / sb
                for g in GROUPS),
            f"fractions { {g: (round(f, 3) if f is not None else None) for g, f in fracs.items()} } "
            f"from cpu_usage_pct { {g: [round(x, 1) for x in samples[g]] for g in GROUPS} }",
            {g: SHARES[g] / sb for g in GROUPS})
    c.check("status", "cpu_usage_pct sum plausible (burners saturate the machine)", 40 <= total <= 105,
            f"{total:.1f}%", "40..105%")
    _, weight = usage_table(log)
    c.check("status", "cpu_weight in status == cpu.weight files",
            all(groups.get(g, {}).get("cpu_weight") == weight.get(g) for g in GROUPS),
            {g: groups.get(g, {}).get("cpu_weight") for g in GROUPS}, weight)
    agent = doc.get("agent") or {}
    c.check("status", "agent.cgroup_root", agent.get("cgroup_root") == CGROUP_ROOT, agent.get("cgroup_root"), CGROUP_ROOT)
    c.check("status", "agent.interval_seconds", agent.get("interval_seconds") == interval,
            agent.get("interval_seconds"), interval)


def check_reload(c, log, interval, standin):
    c.check("reload", "SIGHUP: cpu.weight follows 5:2:1", log.one("reload_matched") == "yes",
            f"matched={log.one('reload_matched')} weights {log.one('reload_weights', '?')}", "5:2:1")
    lat = log.num("reload_latency_s")
    limit = 2 * interval + RELOAD_SLACK_S
    c.check("reload", "reload latency <= 2 intervals", lat is not None and log.one("reload_matched") == "yes" and lat <= limit,
            f"{lat} s", f"<= {limit} s")
    if standin:
        return
    doc, err = log.json("status_after_reload")
    lr = ((doc or {}).get("policy") or {}).get("last_reload") or {}
    groups = status_groups(doc)
    c.check("reload", "status: last_reload applied, shares 5/2/1",
            lr.get("applied") is True and all(groups.get(g, {}).get("shares") == SHARES_RELOADED[g] for g in GROUPS),
            err or f"last_reload={lr} shares={ {g: groups.get(g, {}).get('shares') for g in GROUPS} }",
            "applied=true, low=5 mid=2 high=1")


def check_bad_reload(c, log):
    before, after = log.one("bad_weights_before"), log.one("bad_weights_after")
    c.check("bad policy", "cpu.weight unchanged after bad SIGHUP", before is not None and before == after,
            f"before {before}, after {after}", "equal")
    c.check("bad policy", "agent alive after bad SIGHUP", log.one("bad_agent_alive") == "yes",
            log.one("bad_agent_alive"), "yes")
    doc, err = log.json("status_after_bad_reload")
    lr = ((doc or {}).get("policy") or {}).get("last_reload") or {}
    groups = status_groups(doc)
    c.check("bad policy", "status: last_reload.applied false with an error",
            lr.get("applied") is False and isinstance(lr.get("error"), str) and lr["error"].strip() != "",
            err or f"last_reload={lr}", "applied=false, error non-empty")
    c.check("bad policy", "old policy kept (shares 5/2/1)",
            all(groups.get(g, {}).get("shares") == SHARES_RELOADED[g] for g in GROUPS),
            {g: groups.get(g, {}).get("shares") for g in GROUPS}, SHARES_RELOADED)
    out = (log.text("bad_reload_cli") or "").strip()
    c.check("bad policy", "`fairshare reload` exits 1 and says why",
            log.one("bad_reload_cli_exit") == "1" and out != "",
            f"exit {log.one('bad_reload_cli_exit')}: {out[:160]!r}", "exit 1, a message")
    for name, path in (("bad_check", "policy.toml"), ("syntax_check", "syntax.toml")):
        out = (log.text(name) or "").strip()
        c.check("bad policy", f"`fairshare check` {path}: exit 1, file:line:column",
                log.one(f"{name}_exit") == "1" and re.search(re.escape(path) + r":\d+:\d+", out),
                f"exit {log.one(f'{name}_exit')}: {out[:160]!r}", f"exit 1, {path}:L:C")


def plan_states(log):
    """phase -> group -> (present, cpu.weight, io.weight, cpu.max, [pids]) from plan_group rows."""
    states = {}
    for r in log.all("plan_group"):
        if len(r) < 3:
            continue
        phase, g, present = r[0], r[1], r[2] == "present"
        states.setdefault(phase, {})[g] = (present, *(r[3:6] if present else (None, None, None)),
                                          sorted(r[6:]) if present else [])
    return states


def kernel_text(f, v):
    """A planned or shown value of file F as the scenario prints the kernel's (spaces as _):
    cgroup.subtree_control reads back the controllers on ("cpu io"), nothing for a leaf ("-cpu
    -io" written, or never written: no row)."""
    if f == "cgroup.subtree_control":
        return "cpu_io" if v.startswith("+") else None
    return v.replace(" ", "_")


def plan_files(log):
    """phase -> group -> file -> the kernel's text (spaces as _) from plan_file rows."""
    files = {}
    for r in log.all("plan_file"):
        if len(r) >= 4:
            files.setdefault(r[0], {}).setdefault(r[1], {})[r[2]] = " ".join(r[3:])
    return files


def check_plan(c, log):
    """`fairshare plan` against the live guest, then the same policy reloaded: the kernel's
    memberships and values must be what the plan said (and the plan itself must change nothing)."""
    doc, err = log.json("plan")
    if not c.check("plan", "`fairshare plan --json` exits 0 with a PlanReport",
                   log.one("plan_exit") == "0" and doc and doc.get("schema_version") == 1,
                   err or f"exit {log.one('plan_exit')}, schema_version {(doc or {}).get('schema_version')}",
                   "exit 0, schema_version 1"):
        return
    states = plan_states(log)
    before, planned, after = states.get("before", {}), states.get("planned", {}), states.get("after", {})
    c.check("plan", "the plan changed nothing (memberships and values as before it)",
            before and before == planned, "same" if before == planned else f"before {before} planned {planned}", "same")
    n = per_group(log)
    pairs = {(m["from"], m["to"]): m["count"] for m in doc.get("moves", [])}
    c.check("plan", "the plan: low -> (origin) and mid -> middle, all of them",
            pairs == {("low", "(origin)"): n, ("mid", "middle"): n}, pairs, {"low->(origin)": n, "mid->middle": n})
    # Observed: each process's group before and after the reload.
    group_before = {pid: g for g, st in before.items() for pid in st[4]}
    group_after = {pid: g for g, st in after.items() for pid in st[4]}
    observed = {}
    for pid, g in group_before.items():
        to = group_after.get(pid, "(origin)")
        if to != g:
            observed[(g, to)] = observed.get((g, to), 0) + 1
    c.check("plan", "observed moves per pair equal the plan's counts", observed == pairs and observed,
            {f"{a}->{b}": k for (a, b), k in observed.items()}, {f"{a}->{b}": k for (a, b), k in pairs.items()})
    burner_after = {r[1]: " ".join(r[2:]) for r in log.all("plan_burner_after") if len(r) >= 3}
    wrong = []
    for m in doc.get("moves", []):
        for p in m.get("processes", []):
            pid = str(p["pid"])
            where = burner_after.get(pid) if m["to"] == "(origin)" else group_after.get(pid)
            want = "/origin" if m["to"] == "(origin)" else m["to"]
            if where != want:
                wrong.append(f"{pid} ({p['comm']}): {where}, plan {want}")
    c.check("plan", "every PID the plan lists is where it said", not wrong and doc.get("moves"),
            ", ".join(wrong) or "all", "in the plan's group (or /origin)")
    mismatch = []
    for g in doc.get("groups", []):
        name, a, b = g["name"], g.get("after"), g.get("before")
        st = after.get(name)
        if a is None:
            if st is None or st[0]:
                mismatch.append(f"{name}: {'present' if st and st[0] else 'no data'} after the reload, plan: removed")
            continue
        got = (st[1], st[2], st[3]) if st and st[0] else None
        want = (str(a["cpu_weight"]), f"default_{a['io_weight']}", a["cpu_max"].replace(" ", "_"))
        if got != want:
            mismatch.append(f"{name}: cpu.weight/io.weight/cpu.max {got}, plan {want}")
        if b is not None:
            was = before.get(name)
            if not was or not was[0] or was[1] != str(b["cpu_weight"]) or was[3] != b["cpu_max"].replace(" ", "_"):
                mismatch.append(f"{name}: before {was}, plan's before {b['cpu_weight']} {b['cpu_max']}")
    c.check("plan", "cpu.weight, io.weight, cpu.max before and after as planned", not mismatch and doc.get("groups"),
            "; ".join(mismatch) or "all equal", "the plan's values")
    high = next((g for g in doc.get("groups", []) if g["name"] == "high"), {})
    c.check("plan", "the plan gives high its ceiling", ((high.get("after") or {}).get("cpu_max")) == "50000 100000",
            (high.get("after") or {}).get("cpu_max"), "50000 100000")
    # Every file of the agent's table the plan names, held against the kernel after the reload:
    # the table's rows, cpu.max.burst (max_burst = "0.2") among them, taken by a real kernel.
    files = plan_files(log).get("after", {})
    wrong, named = [], 0
    for g in doc.get("groups", []):
        for f, v in ((g.get("after") or {}).get("cgroup_files") or {}).items():
            named += 1
            got = files.get(g["name"], {}).get(f)
            if got != kernel_text(f, v):
                wrong.append(f"{g['name']} {f}: kernel {got}, plan {v!r}")
    c.check("plan", "every cgroup file the plan names holds its planned value in the kernel", named and not wrong,
            "; ".join(wrong) or f"{named} files equal", "the plan's cgroup_files")
    c.check("plan", "high's cpu.max.burst: the kernel took 0.2 CPU (20000 us) within its 0.5 CPU quota",
            files.get("high", {}).get("cpu.max.burst") == "20000" and ((high.get("after") or {}).get("cgroup_files") or {}).get("cpu.max.burst") == "20000",
            f"kernel {files.get('high', {}).get('cpu.max.burst')}, plan {((high.get('after') or {}).get('cgroup_files') or {}).get('cpu.max.burst')}", "20000")
    status, err = log.json("status_after_plan")
    groups = status_groups(status)
    diff = [f"{g['name']}: status {groups.get(g['name'], {}).get('cpu_weight')}, plan {g['after']['cpu_weight']}"
            for g in doc.get("groups", []) if g.get("after") and groups.get(g["name"], {}).get("cpu_weight") != g["after"]["cpu_weight"]]
    c.check("plan", "status --json after the reload shows the planned weights", status and not diff,
            err or "; ".join(diff) or "equal", "equal")
    shown = [f"{name} {f}: status {v!r}, kernel {files.get(name, {}).get(f)}" for name, st in groups.items()
             for f, v in (st.get("cgroup_files") or {}).items() if files.get(name, {}).get(f) != kernel_text(f, v)]
    c.check("plan", "status's cgroup_files are the kernel's files", status and any(st.get("cgroup_files") for st in groups.values()) and not shown,
            err or "; ".join(shown) or "equal", "equal")
    table = log.text("plan_table") or ""
    c.check("plan", "the table: the pairs, and that nothing was applied", log.one("plan_table_exit") == "0"
            and re.search(r"^mid +middle +%d " % n, table, re.M) and re.search(r"^low +\(origin\) +%d " % n, table, re.M)
            and "nothing was applied" in table, f"exit {log.one('plan_table_exit')}: {table[:300]!r}", "exit 0, the pairs")
    out = (log.text("plan_invalid") or "").strip()
    c.check("plan", "an invalid policy: exit 1, file:line:column", log.one("plan_invalid_exit") == "1"
            and re.search(r"badplan\.toml:4:1: error", out), f"exit {log.one('plan_invalid_exit')}: {out[:160]!r}",
            "exit 1, badplan.toml:4:1")


def check_stop(c, log, standin):
    stop_exit, stop_s, killed = log.one("stop_exit"), log.num("stop_s"), log.one("stop_killed")
    c.check("stop", "SIGTERM: agent exits 0 within 15 s", stop_exit == "0" and killed == "no",
            f"exit {stop_exit} after {stop_s} s, killed={killed}", "exit 0, not killed")
    rows = log.all("after_stop")
    n = 3 * per_group(log)
    dead = [f"{r[0]}:{r[1]}" for r in rows if len(r) < 3 or r[2] != "alive"]
    c.check("stop", "every burner still alive", len(rows) == n and not dead,
            f"{len(rows)} burners, dead: {dead}" if dead or len(rows) != n else f"{n} alive", f"{n} alive")
    away = [f"{r[0]}:{r[1]}->{' '.join(r[3:])}" for r in rows if len(r) < 4 or r[3] != "/origin"]
    c.check("stop", "every burner back in /origin", len(rows) == n and not away,
            ", ".join(away) or ("all in /origin" if rows else "no data"), "0::/origin")
    dirs = {r[0]: r[1] for r in log.all("group_dir_after_stop") if len(r) >= 2}
    c.check("stop", "group cgroups removed", len(dirs) == 3 and all(v == "gone" for v in dirs.values()),
            dirs or "no data", "low, mid, high gone")


def check_journal(c, log):
    """The agent's journal entries. The guest must run journald (FAIRSHARE_VM_JOURNALD=1 in
    mk/vm.mk): a guest without one fails here, it does not skip the journal."""
    image = log.one("image_journald")
    started = log.one("journald")
    if not c.check("journal", "journald in the image", image == "yes", image,
                   "yes (build-initramfs.sh with FAIRSHARE_VM_JOURNALD=1 and the host's systemd-journald)"):
        return
    if not c.check("journal", "journald started in the guest", started == "yes", started, "yes"):
        return
    c.check("journal", "the agent logged to the journal", log.one("log_target") == "journal",
            log.one("log_target"), "journal")
    entries, err = log.json_lines("journal")
    entries = entries or []
    c.check("journal", "entries with SYSLOG_IDENTIFIER=fairshare", len(entries) > 0 and not err,
            f"{len(entries)} entries" + (f", {err}" if err else ""), "> 0")
    by_event = {}
    for e in entries:
        by_event.setdefault(field(e, "FAIRSHARE_EVENT"), []).append(e)
    counts = {k: len(v) for k, v in by_event.items()}
    for ev in EVENTS:
        c.check("journal", f"event {ev}", ev in by_event, counts.get(ev, 0), ">= 1")
    prios = sorted({field(e, "PRIORITY") for e in by_event.get("policy_rejected", [])})
    c.check("journal", "policy_rejected has PRIORITY 3", prios == ["3"], prios, ["3"])
    ids = {ev: sorted({field(e, "MESSAGE_ID") or "" for e in es}) for ev, es in by_event.items()}
    bad = {ev: v for ev, v in ids.items() if len(v) != 1 or v[0] == ""}
    c.check("journal", "MESSAGE_ID present, one per event type", entries and not bad,
            {ev: (v if v != [""] else "missing") for ev, v in bad.items()} or "consistent",
            "one non-empty MESSAGE_ID per FAIRSHARE_EVENT")
    # Missing IDs are the check above's business; here only the ones given.
    uniq = [v[0] for v in ids.values() if len(v) == 1 and v[0]]
    c.check("journal", "MESSAGE_IDs differ between event types", len(uniq) == len(set(uniq)) and uniq,
            "distinct" if len(uniq) == len(set(uniq)) else ids, "distinct")
    gc = sorted({field(e, "FAIRSHARE_GROUP") or "" for e in by_event.get("group_created", [])})
    c.check("journal", "group_created carries FAIRSHARE_GROUP", set(GROUPS) <= set(gc) and "" not in gc, gc, GROUPS)


# --- report --------------------------------------------------------------------------------

def summary_lines(log):
    out = []
    usage, weight = usage_table(log)
    total = sum(v for v in usage.values() if v) if usage else 0
    out.append(f"boot: kernel {log.one('kernel')}, /init at {log.one('boot_uptime')} s, "
               f"scenario ended at {log.one('end_uptime')} s; agent ready after {log.one('ready_s')} s")
    io = {r[0]: " ".join(r[1:]) for r in log.all("io_weight") if r}
    for g in GROUPS:
        u = usage.get(g)
        frac = f"{u / total:.3f}" if u is not None and total else "?"
        out.append(f"  {g:5} usage {u} us  fraction {frac}  cpu.weight {weight.get(g)}  io.weight {io.get(g, '?')}")
    out.append(f"  window {log.one('usage_window_s')} s, all of {CGROUP_ROOT}: {log.one('usage_root')} us")
    ticks = log.num("agent_cpu_ticks")
    window = log.num("usage_window_s")
    if ticks is not None and window:
        out.append(f"  the agent itself used {ticks / 100:.2f} CPU-s in that window "
                   f"({ticks / 100 / (2 * window):.1%} of the 2 vCPUs)")
    per = {}
    names = {r[1]: r[0] for r in log.all("burner") if len(r) >= 2}
    for r in log.all("burner_cpu_ticks"):
        if len(r) >= 2:
            per.setdefault(names.get(r[0], "?"), []).append(r[1])
    if per:
        out.append("  per burner (ticks): " + ", ".join(f"{n} {' '.join(v)}" for n, v in sorted(per.items())))
    out.append(f"reload: matched={log.one('reload_matched')} in {log.one('reload_latency_s')} s, "
               f"weights {log.one('reload_weights', '?')}")
    out.append(f"stop: exit {log.one('stop_exit')} after {log.one('stop_s')} s")
    return out


def journal_json(name, kind):
    """Raw journal JSON lines stay in the console log; their text form is printed."""
    return name.startswith("journal") and kind == "JSON"


def print_failure(c, log, path, summary=None, skip_block=journal_json, tail=80):
    """Every check by section, the summary lines, every FSRESULT and the last `tail` lines of
    each block that `skip_block(name, kind)` does not leave out. Shared by both tiers."""
    print(f"=== FAILED: {len(c.failed)} of {len(c.checks)} checks; console log: {path}")
    w = max(len(x[1]) for x in c.checks)
    section = None
    for sec, name, ok, measured, expected in c.checks:
        if sec != section:
            print(f"--- {sec}")
            section = sec
        print(f"  {'ok  ' if ok else 'FAIL'} {name:<{w}}  measured: {measured}  expected: {expected}")
    if summary is not None:
        print("=== summary")
        for line in summary:
            print(line)
    print("=== every FSRESULT")
    for key, rows in log.results.items():
        for r in rows:
            print(f"  {key} {' '.join(r)}")
    for name, (kind, body) in log.blocks.items():
        if skip_block(name, kind):
            continue
        print(f"=== {kind.lower()} {name}")
        for line in body[-tail:]:
            print(f"  {line}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--standin", action="store_true")
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    label = args.label or ("vm-standin" if args.standin else "vm-enforce")

    try:
        with open(args.log, encoding="utf-8", errors="replace") as f:
            log = Log(f.read())
    except OSError as e:
        print(f"{label}: cannot read {args.log}: {e}")
        print(f"{label}: 0 passed, 1 failed")
        return 1

    c = Checker()
    if not log.results:
        c.check("boot", "guest printed results", False, f"no FSRESULT lines in {log.lines} lines", "FSRESULT lines")
    else:
        interval = log.num("interval_s") or 1.0
        check_boot(c, log)
        check_placement(c, log)
        check_usage(c, log)
        if not args.standin:
            check_status(c, log, interval)
            check_explain(c, log)
        check_reload(c, log, interval, args.standin)
        if not args.standin:
            check_bad_reload(c, log)
            check_plan(c, log)
        check_stop(c, log, args.standin)
        check_journal(c, log)

    passed = len(c.checks) - len(c.failed)
    if c.failed:
        print_failure(c, log, args.log, summary=summary_lines(log))
    else:
        for line in summary_lines(log):
            print(line)
    print(f"{label}: {passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())

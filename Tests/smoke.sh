#!/usr/bin/env bash
# The CLI on this host, the way an admin first meets it: checking policies, asking a stopped
# agent for status, and starting the agent on a host without cgroup v2 controllers.
set -uo pipefail
bin=${1:?usage: smoke.sh FAIRSHARE_BINARY}
repo=$(cd "$(dirname "$0")/.." && pwd)
# The agent and check trust only a policy that group and others can not write: make sure the
# files below are made that way whatever umask the caller has.
umask 022
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# expect NAME WANT_EXIT PATTERN -- CMD...: the command exits WANT_EXIT and its output matches PATTERN.
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [[ $rc == "$want" ]] && grep -Eq -- "$pattern" <<<"$out"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: exit %s (wanted %s), output:\n%s\n(wanted it to match: %s)\n' "$name" "$rc" "$want" "$out" "$pattern"
    fi
}

for f in "$repo"/config/policy.toml "$repo"/config/examples/*.toml; do
    expect "check $(basename "$f")" 0 'valid' -- "$bin" check "$f"
done

cat >"$tmp/bad.toml" <<'TOML'
[[group]]
name = "batch"
shares = 0
TOML
expect "check rejects shares = 0" 1 "bad.toml:3:[0-9]+: error: .*shares" -- "$bin" check "$tmp/bad.toml"
# Per disk of this host, whether io shares would count (this host has no cgroup v2 io.cost).
expect "check says per disk where io shares count" 0 'io shares (on [a-z0-9]+ \([0-9]+:[0-9]+\): (not in force|in force through)|: no disk found)' -- \
    "$bin" check "$repo/config/policy.toml"
cat >"$tmp/wide.toml" <<'TOML'
[[group]]
name = "tiny"
shares = 1
io_shares = 1
[group.match]
comm = ["t"]
[[group]]
name = "huge"
shares = 1
io_shares = 10000
[group.match]
comm = ["h"]
TOML
expect "check names the groups BFQ's range can not keep" 0 "note: BFQ's io.bfq.weight range \(1..1000\) can not keep .*tiny \(io_shares 1 -> io.bfq.weight 1\)" -- \
    "$bin" check "$tmp/wide.toml"
cat >"$tmp/units.toml" <<'TOML'
[[group]]
name = "db"
shares = 2
[group.match]
units = ["postgresql.service", "docker-*.scope"]
TOML
expect "check shows a unit-backed group" 0 'db +unit +2 +2 +100 .*units=postgresql.service,docker-\*.scope' -- "$bin" check "$tmp/units.toml"
cat >"$tmp/badunits.toml" <<'TOML'
[[group]]
name = "db"
shares = 2
max = "1"
[group.match]
units = ["postgresql.servce"]
TOML
expect "check refuses max on a unit group" 1 "badunits.toml:4:1: error: max can not be set .*cpu.max" -- "$bin" check "$tmp/badunits.toml"
expect "check suggests a unit's type" 1 "badunits.toml:6:10: error: .*did you mean 'postgresql.service'" -- "$bin" check "$tmp/badunits.toml"
expect "check names a missing file" 1 "cannot read $tmp/missing.toml" -- "$bin" check "$tmp/missing.toml"
mkfifo "$tmp/fifo.toml"
expect "check refuses a FIFO at once (0.4.0 blocked)" 1 "fifo.toml is a FIFO, not a regular file" -- \
    timeout 10 "$bin" check "$tmp/fifo.toml"
cp "$repo/config/policy.toml" "$tmp/writable.toml" && chmod 664 "$tmp/writable.toml"
expect "check refuses a group-writable policy, with the fix" 1 \
    "would refuse this file: $tmp/writable.toml is writable by its group .*chmod go-w $tmp/writable.toml" -- "$bin" check "$tmp/writable.toml"
expect "run refuses a group-writable policy" 1 "writable by its group.*not starting" -- \
    "$bin" run --policy "$tmp/writable.toml" --log-target console --socket "$tmp/agent.sock"
python3 -c "print('.'.join(['a'] * 40000) + ' = 1')" >"$tmp/dotted.toml"
expect "check refuses an 80 KB dotted key at once (0.4.0: 13.9 GB, 65 s)" 1 "dotted.toml:1:17: error: .*more than 8 segments" -- \
    timeout 10 "$bin" check "$tmp/dotted.toml"
expect "run refuses an invalid policy" 1 "invalid policy, not starting" -- \
    "$bin" run --policy "$tmp/bad.toml" --log-target console --socket "$tmp/agent.sock"
expect "run names file:line:column of the problem" 1 "bad.toml:3:[0-9]+: error: shares" -- \
    "$bin" run --policy "$tmp/bad.toml" --log-target console --socket "$tmp/agent.sock"
expect "status without an agent" 1 'agent is not running' -- "$bin" status --socket "$tmp/none.sock"
expect "reload without an agent" 1 'agent is not running' -- "$bin" reload --socket "$tmp/none.sock"
# plan checks the file before it asks the agent: an invalid one is refused here (exit 1, with
# its line and column), a valid one then needs the agent (exit 2 when there is none).
expect "plan refuses an invalid policy without the agent" 1 "bad.toml:3:[0-9]+: error: .*shares" -- \
    "$bin" plan "$tmp/bad.toml" --socket "$tmp/none.sock"
expect "plan names a missing file" 1 "cannot read $tmp/missing.toml" -- "$bin" plan "$tmp/missing.toml" --socket "$tmp/none.sock"
expect "plan without an agent" 2 'agent is not running' -- "$bin" plan "$repo/config/policy.toml" --socket "$tmp/none.sock"
expect "plan takes a draft not owned by root" 2 'agent is not running' -- "$bin" plan "$tmp/writable.toml" --socket "$tmp/none.sock"
expect "explain rejects a bad pid" 64 'PID must be a positive number|Error' -- "$bin" explain -- -5
expect "run rejects a bad interval" 64 "interval '5 parsecs'" -- "$bin" run --interval '5 parsecs'

# --- the host's cgroup layout ------------------------------------------------------------
# Said out loud, then the checks of that layout run; a layout this script can not tell fails
# (it never passes by running none). FAIRSHARE_SMOKE_LAYOUT names the layout the caller
# expects (.ci/run: hybrid, this machine kind's): another one fails too.
#   hybrid     cgroup2 at /sys/fs/cgroup/unified, cpu bound to a v1 hierarchy: the agent refuses
#   legacy     cgroup v1 only, no cgroup2 mount: the agent refuses
#   unified    cgroup2 at /sys/fs/cgroup: with cpu and io offered the agent runs on a scratch
#              cgroup (a policy that matches nothing: no process is moved); without them, or on
#              a read-only mount, it refuses
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
# mounts: "FSTYPE MOUNTPOINT SUPEROPTIONS" per line of /proc/self/mountinfo (after its " - ").
mounts() { awk '{ for (i = 7; i < NF; i++) if ($i == "-") { print $(i + 1), $5, $(i + 3); break } }' /proc/self/mountinfo; }
cg2_mounts=$(mounts | awk '$1 == "cgroup2" { print $2 }')
v1_cpu=$(mounts | awk '$1 == "cgroup" && ("," $3 ",") ~ /,cpu,/ { print $2; exit }')
v1_any=$(mounts | awk '$1 == "cgroup" { print $2; exit }')
layout=unknown mount=none
if grep -qx /sys/fs/cgroup <<<"$cg2_mounts"; then
    layout=unified mount=/sys/fs/cgroup
elif [[ $cg2_mounts == /sys/fs/cgroup/unified && -n $v1_cpu ]]; then
    layout=hybrid mount=/sys/fs/cgroup/unified
elif [[ -z $cg2_mounts && -n $v1_any ]]; then
    layout=legacy mount=none
fi
controllers=$( [[ $layout == unknown || $layout == legacy ]] || cat "$mount/cgroup.controllers" 2>/dev/null)
why="cgroup2 mounts: ${cg2_mounts:-none} ($(tr '\n' ' ' <<<"${controllers:-no controllers}" | sed 's/ $//')); v1 cpu: ${v1_cpu:-none}"
echo "smoke: host cgroup layout: $layout ($why)"
if [[ $layout == unknown ]]; then
    fail "can not tell this host's cgroup layout from /proc/self/mountinfo ($why): none of hybrid, legacy, unified; no layout check ran"
elif [[ -n ${FAIRSHARE_SMOKE_LAYOUT:-} && $layout != "$FAIRSHARE_SMOKE_LAYOUT" ]]; then
    fail "the caller expects a $FAIRSHARE_SMOKE_LAYOUT host (FAIRSHARE_SMOKE_LAYOUT), this one is $layout ($why)"
fi
scratch=$mount/fairshare-smoke
# left_behind: the refused agent must not have made its cgroup.
left_behind() {
    [[ $mount == none || ! -e $scratch ]] && passed=$((passed + 1)) || fail "the refused agent left $scratch behind"
}

case $layout in
hybrid)
    expect "run on a cgroup v1 hybrid host" 1 "cgroup v2 with cpu/io controllers not available at $mount.*hybrid" -- \
        "$bin" run --policy "$repo/config/policy.toml" --cgroup-root "$scratch" \
        --log-target console --socket "$tmp/agent.sock"
    expect "run with cgroup_root = auto on a hybrid host" 1 "not available at $mount.*hybrid" -- \
        "$bin" run --policy "$repo/config/policy.toml" --log-target console --socket "$tmp/agent.sock"
    left_behind
    ;;
legacy)
    expect "run on a cgroup v1 host" 1 'no cgroup2 filesystem is mounted' -- \
        "$bin" run --policy "$repo/config/policy.toml" --cgroup-root /sys/fs/cgroup/fairshare-smoke \
        --log-target console --socket "$tmp/agent.sock"
    expect "run with cgroup_root = auto on a cgroup v1 host" 1 'no cgroup2 filesystem is mounted' -- \
        "$bin" run --policy "$repo/config/policy.toml" --log-target console --socket "$tmp/agent.sock"
    ;;
unified)
    if ! grep -qw cpu <<<"$controllers" || ! grep -qw io <<<"$controllers"; then
        expect "run where the unified hierarchy lacks cpu or io" 1 "cgroup v2 with cpu/io controllers not available at $mount: missing" -- \
            "$bin" run --policy "$repo/config/policy.toml" --cgroup-root "$scratch" \
            --log-target console --socket "$tmp/agent.sock"
        left_behind
    elif awk '$5 == "/sys/fs/cgroup" { split($6, o, ","); ro = (o[1] == "ro") } END { exit !ro }' /proc/self/mountinfo; then
        expect "run on a read-only /sys/fs/cgroup" 1 "Read-only file system" -- \
            "$bin" run --policy "$repo/config/policy.toml" --cgroup-root "$scratch" \
            --log-target console --socket "$tmp/agent.sock"
    else
        # The agent itself, on a scratch cgroup, with a policy no process matches.
        [[ ! -e $scratch ]] || fail "$scratch exists before the agent ran (a previous run's?)"
        printf '[agent]\ninterval = "1s"\n\n[[group]]\nname = "smoke"\nshares = 1\n[group.match]\ncomm = ["fs-smoke-none"]\n' >"$tmp/none.toml"
        "$bin" run --policy "$tmp/none.toml" --cgroup-root "$scratch" --log-target console \
            --socket "$tmp/agent.sock" >"$tmp/agent.out" 2>&1 &
        agent=$!
        up=no
        for _ in $(seq 60); do
            if "$bin" status --socket "$tmp/agent.sock" >/dev/null 2>&1; then up=yes; break; fi
            kill -0 "$agent" 2>/dev/null || break
            sleep 0.5
        done
        [[ $up == yes && -d $scratch/smoke ]] && passed=$((passed + 1)) ||
            fail "the agent on $scratch: status answered: $up, group cgroup: $([[ -d $scratch/smoke ]] && echo yes || echo no); output: $(cat "$tmp/agent.out")"
        kill -TERM "$agent" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$agent" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$agent" 2>/dev/null; then
            kill -KILL "$agent"
            fail "the agent on $scratch did not stop within 15 s of SIGTERM"
        fi
        rc=0; wait "$agent" || rc=$?
        [[ $rc == 0 && ! -e $scratch/smoke ]] && passed=$((passed + 1)) ||
            fail "the agent on $scratch stopped with exit $rc (wanted 0), group cgroup left: $([[ -e $scratch/smoke ]] && echo yes || echo no); output: $(cat "$tmp/agent.out")"
        [[ ! -e $scratch ]] || find "$scratch" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    ;;
esac
echo "smoke: $passed passed, $failed failed"
[[ $failed == 0 ]]

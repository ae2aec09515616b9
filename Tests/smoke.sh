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

# This machine kind mounts cgroup v1 hybrid: the agent must refuse at once, and say why.
if [[ -d /sys/fs/cgroup/unified ]] && ! grep -qw cpu /sys/fs/cgroup/unified/cgroup.controllers; then
    expect "run on a cgroup v1 hybrid host" 1 'cgroup v2 with cpu/io controllers not available at /sys/fs/cgroup/unified.*hybrid' -- \
        "$bin" run --policy "$repo/config/policy.toml" --cgroup-root /sys/fs/cgroup/unified/fairshare-smoke \
        --log-target console --socket "$tmp/agent.sock"
    expect "run with cgroup_root = auto on a hybrid host" 1 'not available at /sys/fs/cgroup/unified.*hybrid' -- \
        "$bin" run --policy "$repo/config/policy.toml" --log-target console --socket "$tmp/agent.sock"
    [[ ! -e /sys/fs/cgroup/unified/fairshare-smoke ]] && passed=$((passed + 1)) || {
        failed=$((failed + 1)); echo "FAIL: the refused agent left /sys/fs/cgroup/unified/fairshare-smoke behind"; }
fi

echo "smoke: $passed passed, $failed failed"
[[ $failed == 0 ]]

#!/bin/bash
# Issue 4 acceptance, as an admin would do it, on a machine with systemd as PID 1 (tier 2).
# Runs as root inside the guest (fairshare-test.service). Needs in the environment:
#   FAIRSHARE_DEB   the built package (a host path; the guest sees the host's files)
#   FAIRSHARE_BURN  a static CPU burner (Tests/vm/burn.c)
#   FAIRSHARE_CNLISTEN  a static proc connector listener (cnlisten.c)
#   FAIRSHARE_NODE_EXPORTER_DEBS  a directory with Debian's prometheus-node-exporter .deb (and
#                   any dependency the host lacks): fetch-node-exporter.sh
#   FAIRSHARE_PROMTOOL  Debian's promtool, unpacked (Tests/tools/fetch-promtool.sh)
# Output, parsed by check-service.py:
#   FSCHECK PASS|FAIL NAME DETAIL   one assertion
#   FSRESULT KEY VALUE              one measurement
#   FSTEXT-BEGIN NAME ... FSTEXT-END  evidence kept in the log
#   FSSERVICE-DONE                  the scenario ran to its end
set -u
export SYSTEMD_PAGER= SYSTEMD_COLORS=0 LC_ALL=C.UTF-8
CG=/sys/fs/cgroup
SVC=$CG/fairshare.slice/fairshare.service
POLICY=/etc/fairshare/policy.toml
HERE=$(cd "$(dirname "$0")" && pwd)

check() { # NAME OK(0/1) DETAIL...
    local name=$1 ok=$2; shift 2
    if [ "$ok" = 0 ]; then echo "FSCHECK PASS $name $*"; else echo "FSCHECK FAIL $name $*"; fi
}
expect() { # NAME DETAIL -- CMD...: PASS when CMD succeeds
    local name=$1 detail=$2; shift 3
    if "$@" >/dev/null 2>&1; then check "$name" 0 "$detail"; else check "$name" 1 "$detail"; fi
}
r() { echo "FSRESULT $*"; }
text() { # NAME CMD...
    local name=$1; shift
    echo "FSTEXT-BEGIN $name"; "$@" 2>&1 | sed 's/^FS/fs/'; echo "FSTEXT-END"
}
now() { cut -d' ' -f1 /proc/uptime; }
usage() { sed -n 's/^usage_usec //p' "$1/cpu.stat" 2>/dev/null || echo 0; }
# wait_for SECONDS CMD...: poll every 0.2 s until CMD succeeds.
wait_for() {
    local limit=$1; shift
    local end; end=$(awk -v n="$(now)" -v l="$limit" 'BEGIN { print n + l }')
    until "$@" >/dev/null 2>&1; do
        awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n > e) }' && return 1
        sleep 0.2
    done
}
mainpid() { systemctl show -p MainPID --value fairshare; }
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }
within() { # VALUE EXPECTED REL_TOL
    awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(v != "inf" && d <= e * t) }'
}
write_policy() { # BATCH_SHARES INTERACTIVE_SHARES [MODE]
    cat >"$POLICY" <<EOF
# written by scenario-service.sh
[agent]
# The default: the agent's own passes (with a unit group, ~45 ms of emulated CPU each) are a
# sibling's noise in the measured shares.
interval = "2s"
mode = "${3:-enforce}"

[[group]]
name = "batch"
shares = $1
[group.match]
comm = ["burn_batch"]

[[group]]
name = "interactive"
shares = $2
[group.match]
comm = ["burn_inter"]

[[group]]
name = "database"
shares = 3
[group.match]
units = ["fs-db.service"]
EOF
}

echo "scenario-service: start at $(now) s since boot"
r boot_seconds "$(now)"

# --- install ---------------------------------------------------------------------------------
[ -f "${FAIRSHARE_DEB:-}" ] || { check install 1 "no package at '${FAIRSHARE_DEB:-}'"; echo FSSERVICE-DONE; exit 1; }
text dpkg-install dpkg -i "$FAIRSHARE_DEB"
expect installed "dpkg -s fairshare says installed" -- sh -c 'dpkg -s fairshare | grep -q "Status: install ok installed"'
expect not-started-by-install "the package leaves the service disabled and stopped" -- \
    sh -c '! systemctl is-active -q fairshare && [ "$(systemctl is-enabled fairshare)" = disabled ]'
expect group-created "the fairshare group exists" -- getent group fairshare
expect catalog-installed "journalctl --update-catalog knows our MESSAGE_IDs" -- \
    sh -c 'journalctl --list-catalog | grep -qi 5a1f0c7e2b7d4d8e9a63b0f4c2e81d03'
systemd-analyze verify /lib/systemd/system/fairshare.service /lib/systemd/system/fairshare.slice >/tmp/verify.out 2>&1
rc=$?
text unit-verify cat /tmp/verify.out
check unit-verify "$([ $rc = 0 ] && [ ! -s /tmp/verify.out ]; echo $?)" "systemd-analyze verify exit $rc, $(wc -l </tmp/verify.out) lines of complaints"
# One analysis (D-Bus calls, slow under TCG): the table is kept, the figure taken from it.
systemd-analyze security --no-pager fairshare.service >/tmp/security.out 2>&1
text security cat /tmp/security.out
exposure=$(sed -n 's/.*Overall exposure level for fairshare.service: \([0-9.]*\).*/\1/p' /tmp/security.out)
r exposure "$exposure"
# 3.4 with systemd 252 and 3.2 with 257 on 2026-12-05 (docs/benchmarks.md): a unit change that
# opens the sandbox up fails here (as deb-releases' offline analysis does).
check unit-exposure "$(awk -v s="${exposure:-99}" 'BEGIN { exit !(s + 0 <= 3.5) }'; echo $?)" \
    "systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'): exposure ${exposure:-none} (at most 3.5)"

# --- issue 11: Debian's node_exporter beside the package, installed before the agent starts so
# its textfile directory exists when the unit's ReadWritePaths=- is resolved -------------------
TEXTFILE_DIR=/var/lib/prometheus/node-exporter
TEXTFILE=$TEXTFILE_DIR/fairshare.prom
if ls "${FAIRSHARE_NODE_EXPORTER_DEBS:-/nonexistent}"/*.deb >/dev/null 2>&1; then
    text dpkg-install-node-exporter dpkg -i "$FAIRSHARE_NODE_EXPORTER_DEBS"/*.deb
    # The host's policy-rc.d (a build image's) may keep the postinst from starting it.
    systemctl enable --now prometheus-node-exporter >/dev/null 2>&1
    expect node-exporter-running "prometheus-node-exporter.service is active" -- systemctl is-active -q prometheus-node-exporter
    check node-exporter-textfile-dir "$([ -d $TEXTFILE_DIR ] && [ "$(stat -c %U $TEXTFILE_DIR)" = root ]; echo $?)" \
        "made by the package: $(stat -c '%A %U:%G %n' $TEXTFILE_DIR 2>&1)"
else
    check node-exporter-running 1 "no prometheus-node-exporter .deb in '${FAIRSHARE_NODE_EXPORTER_DEBS:-}' (set FAIRSHARE_NODE_EXPORTER_DEBS)"
fi

for n in burn_batch burn_inter burn_db burn_peer; do install -m 0755 "$FAIRSHARE_BURN" /usr/local/bin/$n; done

# --- issue 10: the unit's sandbox hears the proc connector ---------------------------------------
# A bare listener (cnlisten.c) runs under the sandbox settings of the installed unit, read from
# `systemctl cat` (drop-ins included) so the check follows the unit: every [Service] setting
# but those about starting, stopping, restarting and notifying, which a one-shot probe can not
# honour. Before the service starts: RuntimeDirectory= creates (and removes) /run/fairshare.
# The listener runs from a fixed path in the guest's own /usr (the overlay's tmpfs), never
# from the clone: the sandbox hides /tmp (PrivateTmp=yes) and may hide or narrow other trees,
# so a clone under /tmp made every listener exit 203 (EXEC) before it could listen.
CNLISTEN=/usr/local/libexec/fairshare-test/cnlisten
sandbox_props() {
    systemctl cat fairshare.service | awk '
        /^[ \t]*\[/ { svc = ($1 == "[Service]"); next }
        !svc || /^[ \t]*([#;]|$)/ || !/=/ { next }
        { key = $0; sub(/[ \t]*=.*/, "", key) }
        key ~ /^(Type|NotifyAccess|Exec[A-Za-z]*|ReloadSignal|KillMode|Timeout[A-Za-z]*|WatchdogSec|Restart|RestartSec|Slice|RuntimeDirectoryPreserve)$/ { next }
        { print }'
}
# setting_of KEY: the unit's value for KEY (the last assignment).
setting_of() { sandbox_props | sed -n "s/^$1=//p" | tail -n 1; }
without_word() { # WORD LIST...: LIST without WORD
    local w=$1 out="" x
    shift
    for x in "$@"; do [ "$x" = "$w" ] || out="$out${out:+ }$x"; done
    echo "$out"
}
# in_sandbox NAME [KEY=VALUE...] -- CMD...: CMD as a transient service with the unit's
# sandbox, the given settings replacing the unit's of the same keys; the output goes to
# /tmp/sandbox-NAME.out, the exit status is systemd-run's (the service's, with --wait).
in_sandbox() {
    local name=$1
    shift
    local -a over=() props=() args=()
    while [ "$1" != -- ]; do over+=("$1"); shift; done
    shift
    local drop="" o line
    for o in "${over[@]}"; do drop="$drop ${o%%=*}"; done
    while IFS= read -r line; do
        case " $drop " in *" ${line%%=*} "*) continue ;; esac
        props+=("$line")
    done < <(sandbox_props)
    props+=("${over[@]}")
    for o in "${props[@]}"; do args+=(-p "$o"); done
    printf '%s:' "$name" >>/tmp/sandbox-props.txt
    printf ' %s' "${props[@]}" >>/tmp/sandbox-props.txt
    echo >>/tmp/sandbox-props.txt
    systemd-run --wait --pipe --quiet --collect --unit="fs-sandbox-$name" "${args[@]}" "$@" \
        </dev/null >"/tmp/sandbox-$name.out" 2>&1
}
# expect_listener NAME WANT [KEY=VALUE...]: cnlisten under the sandbox (with the overrides).
# WANT ok: it must see its child's EXEC event. WANT fail: cnlisten itself must report that it
# could not (a sandbox that breaks systemd-run or the exec is not the expected failure).
expect_listener() {
    local name=$1 want=$2 rc=0 out
    shift 2
    in_sandbox "$name" "$@" -- "$CNLISTEN" -t 3000 /bin/true || rc=$?
    out=$(tr '\n' ' ' <"/tmp/sandbox-$name.out")
    if [ "$want" = ok ]; then
        check "$name" "$([ $rc = 0 ] && grep -q '^cnlisten: ok' "/tmp/sandbox-$name.out"; echo $?)" "exit $rc: $out"
    else
        check "$name" "$([ $rc != 0 ] && grep -q '^cnlisten: FAIL' "/tmp/sandbox-$name.out"; echo $?)" "exit $rc: $out"
    fi
}
if [ -x "${FAIRSHARE_CNLISTEN:-}" ]; then
    install -D -m 0755 "$FAIRSHARE_CNLISTEN" "$CNLISTEN"
    : >/tmp/sandbox-props.txt
    # shellcheck disable=SC2046 # word lists
    OLD_CAPS="CapabilityBoundingSet=$(without_word CAP_NET_ADMIN $(setting_of CapabilityBoundingSet))"
    # shellcheck disable=SC2046
    OLD_FAMILIES="RestrictAddressFamilies=$(without_word AF_NETLINK $(setting_of RestrictAddressFamilies))"
    # The unit as installed: the listener hears its child's exec.
    expect_listener sandbox-hears-exec ok
    # Each of the three changes is needed: undo one at a time, then all three (the old unit).
    expect_listener sandbox-needs-initial-netns fail PrivateNetwork=yes
    expect_listener sandbox-needs-af-netlink fail "$OLD_FAMILIES"
    expect_listener sandbox-needs-cap-net-admin fail "$OLD_CAPS"
    expect_listener sandbox-old-hardening-deaf fail PrivateNetwork=yes "$OLD_FAMILIES" "$OLD_CAPS"
    text sandbox-props cat /tmp/sandbox-props.txt
    # Why the unit does not use IPAddressDeny=any to keep the agent off IP: systemd's BPF filter
    # sits on the unit's cgroup, so it covers a delegated child cgroup too, where the agent puts
    # the processes it manages. UDP, since a filtered TCP SYN is retried for minutes while a
    # filtered datagram fails at once (EPERM); the control (no filter) sends it.
    # (No "$$" in it: systemd turns it into "$" in ExecStart=; 0 in cgroup.procs is the writer.)
    # shellcheck disable=SC2016 # expanded by the transient service's shell
    from_child_cgroup='cg=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)
        mkdir "$cg/group" && echo 0 >"$cg/group/cgroup.procs" && sed -n "s/^0:://p" /proc/self/cgroup &&
        echo probe >/dev/udp/127.0.0.1/9 && echo sent'
    systemd-run --wait --pipe --quiet --collect -p Delegate=yes /bin/bash -c "$from_child_cgroup" \
        </dev/null >/tmp/sandbox-ipdeny-control.out 2>&1
    systemd-run --wait --pipe --quiet --collect -p Delegate=yes -p IPAddressDeny=any /bin/bash -c "$from_child_cgroup" \
        </dev/null >/tmp/sandbox-ipdeny-any.out 2>&1
    check ipdeny-would-cut-groups \
        "$(grep -q '/group$' /tmp/sandbox-ipdeny-control.out && grep -q '^sent' /tmp/sandbox-ipdeny-control.out &&
            grep -q '/group$' /tmp/sandbox-ipdeny-any.out &&
            grep -q 'Operation not permitted' /tmp/sandbox-ipdeny-any.out; echo $?)" \
        "a datagram to 127.0.0.1 from a child cgroup of a Delegate=yes unit: $(tr '\n' ' ' </tmp/sandbox-ipdeny-control.out); with IPAddressDeny=any: $(tr '\n' ' ' </tmp/sandbox-ipdeny-any.out)"
else
    check sandbox-hears-exec 1 "no cnlisten binary at '${FAIRSHARE_CNLISTEN:-}' (set FAIRSHARE_CNLISTEN)"
fi
useradd -m -G fairshare alice
useradd -m bob
useradd -m carol

# --- workloads: two burners per group; the unit group's and a peer's as services -------------
# The agent starts observing (issue 21): it must change nothing, and say what enforcing would do.
write_policy 1 3 observe
/usr/local/bin/burn_batch & B1=$!
/usr/local/bin/burn_batch & B2=$!
/usr/local/bin/burn_inter & I1=$!
/usr/local/bin/burn_inter & I2=$!
JOBS="$B1 $B2 $I1 $I2"
HOME_CG=$(cgroup_of "$B1")
systemd-run -q --unit=fs-db -p Type=exec /bin/sh -c '/usr/local/bin/burn_db & /usr/local/bin/burn_db & wait'
systemd-run -q --unit=fs-peer -p Type=exec /bin/sh -c '/usr/local/bin/burn_peer & /usr/local/bin/burn_peer & wait'
# systemd enables cpu in system.slice only once some unit sets a weight: before the agent,
# fs-db has no CPUWeight and possibly no cpu.weight file at all.
DB_WEIGHT_BEFORE=$(systemctl show -p CPUWeight --value fs-db.service)

# What the agent must leave alone while it observes: where every process is, the cgroups (and
# their controllers) below the unit's, the unit group's weights in systemd and in the kernel.
machine_state() {
    for p in $B1 $B2 $I1 $I2 $(pgrep -d ' ' burn_db) $(pgrep -d ' ' burn_peer); do echo "pid $p $(cgroup_of "$p")"; done
    find "$CG/fairshare.slice" -type d | sort | while read -r d; do
        echo "cgroup $d subtree_control=[$(cat "$d/cgroup.subtree_control")] procs=$(wc -l <"$d/cgroup.procs")"
        for f in cpu.weight cpu.max io.weight cpu.idle; do [ -f "$d/$f" ] && echo "  $f $(cat "$d/$f" | tr '\n' ' ')"; done
    done
    echo "fs-db CPUWeight=$(systemctl show -p CPUWeight --value fs-db.service) IOWeight=$(systemctl show -p IOWeight --value fs-db.service)"
    for f in cpu.weight io.weight; do echo "fs-db $f $(cat "$CG/system.slice/fs-db.service/$f" 2>/dev/null | tr '\n' ' ')"; done
}

# --- enable --now ------------------------------------------------------------------------------
T0=$(now)
systemctl enable --now fairshare
rc=$?
r start_seconds "$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
check enable-now "$([ $rc = 0 ] && systemctl is-active -q fairshare; echo $?)" "systemctl enable --now exit $rc, $(systemctl is-active fairshare)"
systemctl is-active -q fairshare || text journal-start journalctl -u fairshare --no-pager -n 40
STATUS_TEXT=$(systemctl show -p StatusText --value fairshare)
check status-text "$([ -n "$STATUS_TEXT" ]; echo $?)" "StatusText=$STATUS_TEXT"
# systemd 253 and later: Type=notify-reload from the package's generator; 252: Type=notify.
SYSTEMD_VERSION=$(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
UNIT_TYPE=$(systemctl show -p Type --value fairshare)
r unit_type "$UNIT_TYPE"
check unit-type "$([ "$UNIT_TYPE" = "$([ "$SYSTEMD_VERSION" -ge 253 ] && echo notify-reload || echo notify)" ]; echo $?)" \
    "systemd $SYSTEMD_VERSION: Type=$UNIT_TYPE, ReloadSignal=$(systemctl show -p ReloadSignal --value fairshare 2>/dev/null)"
r watchdog_usec "$(systemctl show -p WatchdogUSec --value fairshare)"
expect enabled "systemctl is-enabled: enabled" -- sh -c '[ "$(systemctl is-enabled fairshare)" = enabled ]'
PID1=$(mainpid)

# --- observe mode: three passes and more, nothing changed; status and metrics say what would be ---
wait_for 20 sh -c "fairshare status --json | python3 -c 'import json, sys; s = json.load(sys.stdin); sys.exit(0 if s[\"agent\"][\"ticks\"] >= 2 and s.get(\"would\") else 1)'"
machine_state >/tmp/observe-before.txt
sleep 6
machine_state >/tmp/observe-after.txt
text observe-state cat /tmp/observe-after.txt
check observe-changes-nothing "$(cmp -s /tmp/observe-before.txt /tmp/observe-after.txt && ! grep -q "/fairshare.slice/fairshare.service/" /tmp/observe-after.txt; echo $?)" \
    "$(diff /tmp/observe-before.txt /tmp/observe-after.txt | head -5 | tr '\n' ' ')$(grep -c 'fairshare.service/' /tmp/observe-after.txt) lines below the unit's cgroup"
check observe-agent-not-moved "$([ "$(cgroup_of "$PID1")" = /fairshare.slice/fairshare.service ]; echo $?)" "agent pid $PID1 in $(cgroup_of "$PID1")"
fairshare status --json >/tmp/observe-status.json 2>&1
fairshare status >/tmp/observe-status.txt 2>&1
text observe-status cat /tmp/observe-status.txt
text observe-status-json python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' /tmp/observe-status.json
check observe-would "$(python3 - /tmp/observe-status.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
w = s.get("would") or {}
moves = {(m["from"], m["to"]): m["count"] for m in w.get("moves", [])}
after = {g["name"]: g.get("after") or {} for g in w.get("groups", [])}
ok = (s["agent"].get("mode") == "observe"
      and sum(c for (f, t), c in moves.items() if t == "batch") == 2
      and sum(c for (f, t), c in moves.items() if t == "interactive") == 2
      and after.get("batch", {}).get("cpu_weight") == 100 and after.get("interactive", {}).get("cpu_weight") == 300
      and after.get("database", {}).get("cpu_weight") == 300)
sys.exit(0 if ok else 1)
PY
echo $?)" "status --json would: $(python3 -c 'import json, sys; w = json.load(open(sys.argv[1])).get("would") or {}; print([(m["from"], m["to"], m["count"]) for m in w.get("moves", [])], [(g["name"], (g.get("after") or {}).get("cpu_weight")) for g in w.get("groups", [])])' /tmp/observe-status.json 2>&1)"
fairshare metrics >/tmp/observe-metrics.prom 2>&1
check observe-metrics "$(grep -Eqx 'fairshare_agent_observing 1(\.0)?' /tmp/observe-metrics.prom && grep -Eqx 'fairshare_would_move_processes\{from="\(outside\)",to="batch"\} 2(\.0)?' /tmp/observe-metrics.prom && grep -Eqx 'fairshare_would_cpu_weight\{group="interactive"\} 300(\.0)?' /tmp/observe-metrics.prom; echo $?)" \
    "$(grep -E '^fairshare_(agent_observing|would_move_processes|would_cpu_weight)' /tmp/observe-metrics.prom | tr '\n' ' ')"
expect observe-journal "the journal says the agent observes" -- sh -c 'journalctl -u fairshare -o json --no-pager | grep -q "\"FAIRSHARE_MODE\":\"observe\""'

# Enforcing: a reload applies the policy at once (the checks below are enforce mode's).
write_policy 1 3
systemctl reload fairshare; rc=$?
check observe-to-enforce "$([ $rc = 0 ] && [ "$(fairshare status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["agent"].get("mode"))')" = enforce ]; echo $?)" "systemctl reload exit $rc"
check agent-in-leaf "$([ "$(cgroup_of "$PID1")" = /fairshare.slice/fairshare.service/_agent ]; echo $?)" "agent pid $PID1 in $(cgroup_of "$PID1")"

wait_for 10 sh -c "[ \"\$(cgroup_of $B1)\" = /fairshare.slice/fairshare.service/batch ] && grep -qx 300 $CG/system.slice/fs-db.service/cpu.weight"
for p in $B1 $B2; do check "moved-batch-$p" "$([ "$(cgroup_of $p)" = /fairshare.slice/fairshare.service/batch ]; echo $?)" "$(cgroup_of $p)"; done
for p in $I1 $I2; do check "moved-inter-$p" "$([ "$(cgroup_of $p)" = /fairshare.slice/fairshare.service/interactive ]; echo $?)" "$(cgroup_of $p)"; done
check weights-agent "$([ "$(cat $SVC/batch/cpu.weight)" = 100 ] && [ "$(cat $SVC/interactive/cpu.weight)" = 300 ]; echo $?)" \
    "batch $(cat $SVC/batch/cpu.weight) interactive $(cat $SVC/interactive/cpu.weight)"
check unit-weight "$([ "$(systemctl show -p CPUWeight --value fs-db.service)" = 300 ] && [ "$(cat $CG/system.slice/fs-db.service/cpu.weight)" = 300 ]; echo $?)" \
    "CPUWeight=$(systemctl show -p CPUWeight --value fs-db.service) cpu.weight=$(cat $CG/system.slice/fs-db.service/cpu.weight) (CPUWeight was $DB_WEIGHT_BEFORE)"
DBPID=$(systemctl show -p MainPID --value fs-db.service)
check unit-not-moved "$([ "$(cgroup_of "$DBPID")" = /system.slice/fs-db.service ]; echo $?)" "fs-db main $DBPID in $(cgroup_of "$DBPID")"

# --- shares: agent-owned groups among themselves, the unit group against its peer ---------------
# The agent's groups' burners on CPU 0 (pinned once moved: a move into a cgroup with cpuset
# resets the affinity), the units' on CPU 1: on one run queue the kernel's split
# follows the weights closely, while spread over two CPUs it follows the per-CPU load averages,
# which under emulation wandered from 2.33 to 3.21 for shares 3:1 over 15 s (one CI run failed
# on it). Multi-CPU accuracy is measured by make vm-test/vm-fairness.
for p in $B1 $B2 $I1 $I2; do taskset -p -c 0 "$p" >/dev/null; done
for p in $(pgrep -d ' ' burn_db) $(pgrep -d ' ' burn_peer); do taskset -p -c 1 "$p" >/dev/null; done
r affinity "$(for p in $B1 $B2 $I1 $I2 $(pgrep -d ' ' burn_db) $(pgrep -d ' ' burn_peer); do printf '%s:%s ' "$p" "$(taskset -p -c "$p" | sed 's/.*: //')"; done)"
sleep 3
ub0=$(usage $SVC/batch); ui0=$(usage $SVC/interactive)
ud0=$(usage $CG/system.slice/fs-db.service); up0=$(usage $CG/system.slice/fs-peer.service)
sleep 15
ub=$(( $(usage $SVC/batch) - ub0 )); ui=$(( $(usage $SVC/interactive) - ui0 ))
ud=$(( $(usage $CG/system.slice/fs-db.service) - ud0 )); up=$(( $(usage $CG/system.slice/fs-peer.service) - up0 ))
r usage_usec batch $ub interactive $ui database $ud peer $up
R1=$(ratio $ui $ub); R2=$(ratio $ud $up)
r share_ratio interactive_batch "$R1" database_peer "$R2"
# 10%: each pair shares one CPU (above), where the split follows the weights.
check share-agent-groups "$(within "$R1" 3 0.10; echo $?)" "interactive:batch = $R1 (shares 3:1)"
check share-unit-group "$(within "$R2" 3 0.10; echo $?)" "database:peer = $R2 (CPUWeight 300:100)"

# --- issue 11: the metrics through node_exporter, beside status -------------------------------------
# The agent rewrites the textfile every report_interval (60 s here) by rename, so a new inode
# is a fresh write: wait for one, then scrape node_exporter and take the status right away.
# The checker compares the two (check-service.py: metrics-*).
inode_of() { stat -c %i "$1" 2>/dev/null || echo none; }
INODE0=$(inode_of $TEXTFILE)
wait_for 90 sh -c "[ \"\$(stat -c %i $TEXTFILE 2>/dev/null || echo none)\" != \"$INODE0\" ]"
T_SCRAPE=$(now)
curl -s --max-time 30 http://localhost:9100/metrics >/tmp/node-metrics.txt; curl_rc=$?
fairshare status --json >/tmp/metrics-status.json 2>&1
T_STATUS=$(now)
r metrics_textfile_replaced "$([ "$(inode_of $TEXTFILE)" != "$INODE0" ] && echo yes || echo no)"
r metrics_scrape_to_status_seconds "$(awk -v a="$T_SCRAPE" -v b="$T_STATUS" 'BEGIN { printf "%.2f", b - a }')"
r metrics_textfile_bytes "$(stat -c %s $TEXTFILE 2>/dev/null)"
check metrics-curl "$([ $curl_rc = 0 ] && grep -q '^node_textfile_scrape_error 0' /tmp/node-metrics.txt; echo $?)" \
    "curl exit $curl_rc, $(wc -l </tmp/node-metrics.txt) lines; $(grep '^node_textfile_scrape_error' /tmp/node-metrics.txt)"
text node-metrics grep -E '^(# (HELP|TYPE) fairshare_|fairshare_|node_textfile_)' /tmp/node-metrics.txt
text metrics-status python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' /tmp/metrics-status.json
check metrics-textfile-mode "$([ "$(stat -c '%a %U' $TEXTFILE)" = "644 root" ]; echo $?)" "$(stat -c '%a %U:%G %n' $TEXTFILE 2>&1)"
expect metrics-readable-by-prometheus "the prometheus user reads the textfile" -- runuser -u prometheus -- cat $TEXTFILE
check metrics-no-temporary "$([ ! -e $TEXTFILE_DIR/.fairshare.prom.tmp ]; echo $?)" "$(ls -A $TEXTFILE_DIR | tr '\n' ' ')"
fairshare metrics >/tmp/fairshare-metrics.prom 2>&1; metrics_rc=$?
r metrics_cli_bytes "$(stat -c %s /tmp/fairshare-metrics.prom)"
if [ -x "${FAIRSHARE_PROMTOOL:-}" ]; then
    "$FAIRSHARE_PROMTOOL" check metrics </tmp/fairshare-metrics.prom >/tmp/promtool.out 2>&1; promtool_rc=$?
    text promtool cat /tmp/promtool.out
    check metrics-promtool "$([ $metrics_rc = 0 ] && [ $promtool_rc = 0 ] && [ ! -s /tmp/promtool.out ] && grep -q '^fairshare_group_members{group="batch"}' /tmp/fairshare-metrics.prom; echo $?)" \
        "fairshare metrics exit $metrics_rc; promtool check metrics exit $promtool_rc: $(tr '\n' ' ' </tmp/promtool.out)"
else
    check metrics-promtool 1 "no promtool at '${FAIRSHARE_PROMTOOL:-}' (set FAIRSHARE_PROMTOOL)"
fi
text journal-metrics sh -c 'journalctl -u fairshare --no-pager | grep -i "metrics textfile"'

# --- issue 10: the agent under this unit gets proc connector events, not the fallback ------------
# status_events: "SOURCE EXEC_COUNT FALLBACK_REASON" from `fairshare status --json`
# (agent.events), or "none none WHY" when the status has no such field (an agent without
# event support): the checks below then fail and say so.
status_events() {
    fairshare status --json 2>&1 | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError as e:
    print("none none status --json is not JSON:", e); sys.exit()
ev = (s.get("agent") or {}).get("events")
if not isinstance(ev, dict):
    print("none none status --json has no agent.events (an agent without event support)"); sys.exit()
print(ev.get("source"), (ev.get("received") or {}).get("exec"), ev.get("fallback_reason"))
'
}
read -r EV_SOURCE EV_EXEC0 EV_REASON < <(status_events)
check events-source "$([ "$EV_SOURCE" = netlink ]; echo $?)" "agent.events.source=$EV_SOURCE (fallback_reason: $EV_REASON)"
# Probes named like a group's processes (a script's comm is its file name).
mkdir -p /usr/local/lib/fs-probe
cat >/usr/local/lib/fs-probe/burn_inter <<'PROBE'
#!/bin/bash
# Lives ~200 ms, then writes "CGROUP LIFETIME_MS" to $1 just before it exits (its start
# from /proc/self/stat, in clock ticks of 10 ms since boot).
out=$1
read -r -t 0.2 _ <>/usr/local/lib/fs-probe/never  # a builtin sleep: no fork, no exec
read -r line </proc/self/cgroup
read -r stat </proc/self/stat
set -- ${stat##*) }
read -r up _ </proc/uptime
echo "${line#0::} $(( 10#${up/./} * 10 - ${20} * 10 ))" >"$out"
PROBE
cat >/usr/local/lib/fs-probe/burn_batch <<'PROBE'
#!/bin/bash
# Waits (up to 10 s) to be in the batch group, then sends a datagram to 127.0.0.1:
# "sent" means its packets flow, "Operation not permitted" a filter.
for _ in $(seq 50); do
    read -r line </proc/self/cgroup
    [ "${line#0::}" = /fairshare.slice/fairshare.service/batch ] && break
    sleep 0.2
done
echo "in ${line#0::}:"
{ echo probe >/dev/udp/127.0.0.1/9 && echo sent; } 2>&1
PROBE
chmod 0755 /usr/local/lib/fs-probe/burn_inter /usr/local/lib/fs-probe/burn_batch
mkfifo /usr/local/lib/fs-probe/never  # never written: reading it with a timeout sleeps
# Short-lived matching processes, one after another, on a quiet machine (the burners
# paused: under emulation with 8 of them busy a probe lives seconds, not 200 ms, and a
# scan every 2 s would catch most). A scan catches each with a chance of about its lifetime
# over the interval; only events catch all of them.
kill -STOP $JOBS
systemctl kill -s SIGSTOP fs-db.service fs-peer.service
SHORT=10
rm -f /tmp/short.*
for i in $(seq $SHORT); do
    /usr/local/lib/fs-probe/burn_inter /tmp/short.$i
    sleep 0.3
done
kill -CONT $JOBS
systemctl kill -s SIGCONT fs-db.service fs-peer.service
caught=0 where="" lifetimes=""
for i in $(seq $SHORT); do
    read -r w ms <"/tmp/short.$i" || w=none ms=none
    [ "$w" = /fairshare.slice/fairshare.service/interactive ] && caught=$((caught + 1))
    where="$where $w" lifetimes="$lifetimes ${ms:-none}"
done
r short_lived_caught "$caught of $SHORT"
r short_lived_lifetime_ms "$lifetimes"
# shellcheck disable=SC2086 # lists of words
check events-short-lived "$([ $caught = $SHORT ]; echo $?)" \
    "$caught of $SHORT processes were in interactive before they exited; lifetimes (ms):$lifetimes; seen in: $(printf '%s\n' $where | sort | uniq -c | tr -s ' \n' ' ')"
read -r EV_SOURCE EV_EXEC1 EV_REASON < <(status_events)
check events-exec-received "$([ "$EV_EXEC0" != none ] && [ "$EV_EXEC1" != none ] && [ "$((EV_EXEC1 - EV_EXEC0))" -ge $SHORT ] 2>/dev/null; echo $?)" \
    "agent.events.received.exec $EV_EXEC0 -> $EV_EXEC1 across $SHORT matching execs (source $EV_SOURCE, fallback_reason: $EV_REASON)"
# The unit has no IPAddressDeny=: a process in an agent-owned group keeps its network.
NET_OUT=$(timeout 20 /usr/local/lib/fs-probe/burn_batch | tr '\n' ' ')
check group-keeps-ip "$(case $NET_OUT in *"fairshare.service/batch: sent"*) echo 0 ;; *) echo 1 ;; esac)" "$NET_OUT"

fairshare status --json >/tmp/status.json 2>&1
text status-root fairshare status
check status-root "$(python3 - /tmp/status.json <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
g = {x["name"]: x for x in s["groups"]}
ok = g["batch"].get("backing") == "agent" and g["database"].get("backing") == "unit"
ok = ok and all(0 < x.get("machine_share_pct", 0) <= 100 for x in g.values())
print(0 if ok else 1)
EOF
)" "status --json: backing and machine share for every group"
text status-alice runuser -u alice -- fairshare status
expect status-group-member "a member of the fairshare group reads status" -- runuser -u alice -- fairshare status
expect reload-needs-root "a member of the fairshare group may not reload" -- sh -c '! runuser -u alice -- fairshare reload'
expect status-other-user "a user outside the group is refused" -- sh -c '! runuser -u bob -- fairshare status'

# --- issue 21: any user sees their own share, over the user socket, and nothing else ----------
setpriv --reuid=bob --regid=bob --init-groups /usr/local/bin/burn_inter & BOB1=$!
setpriv --reuid=carol --regid=carol --init-groups /usr/local/bin/burn_inter & CAROL1=$!
wait_for 10 sh -c "[ \"\$(cgroup_of $BOB1)\" = /fairshare.slice/fairshare.service/interactive ] && [ \"\$(cgroup_of $CAROL1)\" = /fairshare.slice/fairshare.service/interactive ]"
runuser -u bob -- fairshare status --mine --json >/tmp/mine-bob.json 2>&1; rc=$?
text mine-bob runuser -u bob -- fairshare status --mine
text mine-bob-json cat /tmp/mine-bob.json
check mine-own "$(python3 - /tmp/mine-bob.json "$(id -u bob)" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
g = {x["group"]: x for x in m["groups"]}
ok = m["uid"] == int(sys.argv[2]) and m["user"] == "bob" and m["processes"] == 1 and list(g) == ["interactive"] \
    and g["interactive"]["processes"] == 1 and not g["interactive"]["own"] and m["explanation"]
sys.exit(0 if ok else 1)
PY
echo $?)" "status --mine as bob: exit $rc, $(head -c 300 /tmp/mine-bob.json | tr '\n' ' ')"
check mine-nothing-of-others "$(! grep -Eq "carol|\"$(id -u carol)\"|$CAROL1|\"members\"" /tmp/mine-bob.json; echo $?)" \
    "carol (uid $(id -u carol), pid $CAROL1) appears nowhere in bob's answer"
# Everything else is refused on the user socket (bob can not open the agent's socket at all).
cat >/tmp/user-socket-ask.py <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/fairshare/user.sock")
s.sendall((json.dumps({"command": sys.argv[1], "pid": 1, "policy_text": "", "policy_path": "/p.toml"}) + "\n").encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
r = json.loads(data)
print(sys.argv[1], r.get("ok"), r.get("error"))
sys.exit(0 if r.get("ok") is False and "answers only" in (r.get("error") or "") and not set(r) & {"status", "metrics", "plan", "explain", "reload"} else 1)
PY
refused=0; answers=""
for cmd in status reload metrics plan explain; do
    a=$(runuser -u bob -- python3 /tmp/user-socket-ask.py "$cmd" 2>&1) || refused=1
    answers="$answers; $a"
done
check mine-refuses-the-rest "$refused" "as bob on the user socket:$answers"
check mine-socket-mode "$([ "$(stat -c '%a %U' /run/fairshare/user.sock)" = "666 root" ]; echo $?)" "$(stat -c '%a %U:%G %n' /run/fairshare/user.sock 2>&1)"
kill $BOB1 $CAROL1 2>/dev/null

# --- reload: a changed policy applies; a broken one fails visibly and changes nothing ----------
T0=$(now); fairshare --version >/dev/null
r cli_start_seconds "$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
write_policy 3 1
T0=$(now)
systemctl reload fairshare; rc=$?
r reload_seconds "$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
check reload-applied "$([ $rc = 0 ] && [ "$(cat $SVC/batch/cpu.weight)" = 300 ] && [ "$(cat $SVC/interactive/cpu.weight)" = 100 ]; echo $?)" \
    "exit $rc; batch $(cat $SVC/batch/cpu.weight) interactive $(cat $SVC/interactive/cpu.weight)"
sed -i 's/^shares = 3$/shares = 0/' "$POLICY"
systemctl reload fairshare >/tmp/reload.out 2>&1; rc=$?
text reload-broken cat /tmp/reload.out
check reload-broken-fails "$([ $rc != 0 ]; echo $?)" "systemctl reload exit $rc"
check reload-broken-keeps "$(systemctl is-active -q fairshare && [ "$(cat $SVC/batch/cpu.weight)" = 300 ]; echo $?)" \
    "$(systemctl is-active fairshare); batch weight $(cat $SVC/batch/cpu.weight)"
write_policy 3 1

# --- issue 21: back to observe gives everything back as a stop does; enforcing again retakes it ---
write_policy 3 1 observe
systemctl reload fairshare; rc=$?
away=""
for p in $JOBS; do [ "$(cgroup_of $p)" = "$HOME_CG" ] || away="$away $p:$(cgroup_of $p)"; done
DB_WEIGHT_OBSERVING=$(systemctl show -p CPUWeight --value fs-db.service)
check observe-again-gives-back "$([ $rc = 0 ] && [ -z "$away" ] && [ ! -d $SVC/batch ] && [ ! -d $SVC/interactive ] && [ "$DB_WEIGHT_OBSERVING" = "$DB_WEIGHT_BEFORE" ]; echo $?)" \
    "reload exit $rc; not back in $HOME_CG:${away:- none}; below the unit: $(ls $SVC | tr '\n' ' '); fs-db CPUWeight $DB_WEIGHT_OBSERVING (before $DB_WEIGHT_BEFORE)"
write_policy 3 1
systemctl reload fairshare; rc=$?
wait_for 10 sh -c "[ \"\$(cgroup_of $B1)\" = /fairshare.slice/fairshare.service/batch ] && [ \"\$(cgroup_of $I1)\" = /fairshare.slice/fairshare.service/interactive ]"
check enforce-again "$([ $rc = 0 ] && [ "$(cgroup_of $B1)" = /fairshare.slice/fairshare.service/batch ] && [ "$(cat $SVC/batch/cpu.weight)" = 300 ] && [ "$(systemctl show -p CPUWeight --value fs-db.service)" = 300 ]; echo $?)" \
    "reload exit $rc; $B1 in $(cgroup_of $B1), batch cpu.weight $(cat $SVC/batch/cpu.weight 2>&1), fs-db CPUWeight $(systemctl show -p CPUWeight --value fs-db.service)"

# --- the journal ---------------------------------------------------------------------------------
journalctl -u fairshare -o json --no-pager >/tmp/journal.json
for ev in 01:started 02:policy_loaded 03:policy_rejected 06:moved 0d:weights; do
    id=5a1f0c7e2b7d4d8e9a63b0f4c2e81d${ev%%:*}
    expect "journal-${ev#*:}" "MESSAGE_ID $id in journalctl -u fairshare -o json" -- grep -q "\"MESSAGE_ID\":\"$id\"" /tmp/journal.json
done
expect journal-fields "FAIRSHARE_GROUP and FAIRSHARE_PID fields" -- sh -c 'grep -q "\"FAIRSHARE_GROUP\":\"batch\"" /tmp/journal.json && grep -q "\"FAIRSHARE_PID\"" /tmp/journal.json'
expect journal-catalog "journalctl -x shows the catalog text" -- sh -c 'journalctl -u fairshare -x --no-pager | grep -q "rejected a new policy and keeps the old one"'

# compare_with_before: sets lost (how many of the "PID:CGROUP" entries in $before are gone) and
# moved (those no longer in the cgroup they were in).
compare_with_before() {
    lost=0; moved=""
    for entry in $before; do
        p=${entry%%:*}; was=${entry#*:}
        [ -d /proc/$p ] || lost=$((lost + 1))
        [ "$(cgroup_of $p)" = "$was" ] || moved="$moved $p:$was->$(cgroup_of $p)"
    done
}

# --- kill -9: systemd restarts it, nothing is lost ---------------------------------------------
before=""
for p in $JOBS; do before="$before $p:$(cgroup_of $p)"; done
kill -9 "$PID1"
wait_for 30 sh -c "[ \"\$(systemctl show -p MainPID --value fairshare)\" != $PID1 ] && [ \"\$(systemctl show -p MainPID --value fairshare)\" != 0 ] && systemctl is-active -q fairshare"
PID2=$(mainpid)
check restarted "$([ "$PID2" != "$PID1" ] && [ "$PID2" != 0 ] && systemctl is-active -q fairshare; echo $?)" \
    "pid $PID1 -> $PID2, $(systemctl is-active fairshare), NRestarts=$(systemctl show -p NRestarts --value fairshare)"
sleep 3
compare_with_before
check restart-nothing-lost "$([ $lost = 0 ]; echo $?)" "$lost of 4 burners gone"
check restart-adopted-in-place "$([ -z "$moved" ]; echo $?)" "moved:${moved:- none}"
check restart-weights "$([ "$(cat $SVC/batch/cpu.weight)" = 300 ] && [ "$(cat $SVC/interactive/cpu.weight)" = 100 ]; echo $?)" \
    "batch $(cat $SVC/batch/cpu.weight) interactive $(cat $SVC/interactive/cpu.weight)"
strays=$(for d in "$SVC"/*/; do n=$(basename "$d"); case $n in batch|interactive|_agent|.control) ;; *) [ -s "$d/cgroup.procs" ] && echo "$n";; esac; done)
check restart-no-strays "$([ -z "$strays" ]; echo $?)" "populated cgroups the policy does not name: ${strays:-none}"
text journal-restart journalctl -u fairshare --no-pager -n 30 -o short-monotonic

# --- the watchdog: pings keep a working agent alive; a stuck one is restarted, nothing lost ------
sleep 30  # past WatchdogSec=30 since the restart: a missing ping would show as a second restart
expect watchdog-pings "no restart but the kill -9 (NRestarts=1)" -- sh -c '[ "$(systemctl show -p NRestarts --value fairshare)" = 1 ]'
T0=$(now)
kill -STOP "$PID2"
wait_for 120 sh -c "[ \"\$(systemctl show -p MainPID --value fairshare)\" != $PID2 ] && [ \"\$(systemctl show -p MainPID --value fairshare)\" != 0 ] && systemctl is-active -q fairshare"
r watchdog_restart_seconds "$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
PID3=$(mainpid)
check watchdog-restart "$([ "$(systemctl show -p NRestarts --value fairshare)" = 2 ] && journalctl -u fairshare --no-pager | grep -q 'Watchdog timeout'; echo $?)" \
    "stopped agent $PID2 -> $PID3, NRestarts=$(systemctl show -p NRestarts --value fairshare)"
sleep 3
compare_with_before
check watchdog-nothing-lost "$([ $lost = 0 ] && [ -z "$moved" ]; echo $?)" "$lost of 4 burners gone; moved:${moved:- none}"

# --- stop: every process alive and back where it was --------------------------------------------
systemctl stop fairshare; rc=$?
lost=0; away=""
for p in $JOBS; do
    [ -d /proc/$p ] || lost=$((lost + 1))
    [ "$(cgroup_of $p)" = "$HOME_CG" ] || away="$away $p:$(cgroup_of $p)"
done
check stop-clean "$([ $rc = 0 ] && ! systemctl is-failed -q fairshare; echo $?)" "exit $rc, $(systemctl is-active fairshare)"
check stop-nothing-lost "$([ $lost = 0 ]; echo $?)" "$lost of 4 burners gone"
check stop-given-back "$([ -z "$away" ]; echo $?)" "not back in $HOME_CG:${away:- none}"
check stop-groups-removed "$([ ! -d $SVC/batch ]; echo $?)" "$(ls $SVC 2>&1 | tr '\n' ' ')"
DB_WEIGHT_AFTER=$(systemctl show -p CPUWeight --value fs-db.service)
check stop-unit-weight-restored "$([ "$DB_WEIGHT_AFTER" = "$DB_WEIGHT_BEFORE" ]; echo $?)" \
    "fs-db CPUWeight $DB_WEIGHT_AFTER (cpu.weight $(cat $CG/system.slice/fs-db.service/cpu.weight 2>/dev/null)), before $DB_WEIGHT_BEFORE"
expect stop-db-alive "the unit group's service still runs" -- systemctl is-active -q fs-db.service

text journal-all journalctl -u fairshare --no-pager -o short-monotonic
kill $JOBS 2>/dev/null
systemctl stop fs-db fs-peer 2>/dev/null
echo FSSERVICE-DONE

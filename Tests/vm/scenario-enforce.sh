#!/bin/sh
# Acceptance scenario (issue 2), run as /scenario.sh in the test guest by
# busybox sh. It only measures and prints; Tests/vm/check-enforce.py asserts.
set -u
. /lib/vm-lib.sh

ROOT=$CG/fairshare
POLICY=/etc/fairshare/policy.toml
GROUPS="low mid high"
INTERVAL=2

write_policy() { # write_policy LOW MID HIGH: the shares of each group
    cat >"$POLICY" <<EOF
[agent]
interval = "${INTERVAL}s"
report_interval = "5s"

[[group]]
name = "low"
shares = $1
[group.match]
comm = ["burn_a"]

[[group]]
name = "mid"
shares = $2
[group.match]
comm = ["burn_b"]

[[group]]
name = "high"
shares = $3
[group.match]
comm = ["burn_c"]
EOF
}

weights() { # the three cpu.weight values, low mid high
    echo "$(read_file $ROOT/low/cpu.weight) $(read_file $ROOT/mid/cpu.weight) $(read_file $ROOT/high/cpu.weight)"
}

# ratio_ok "W_LOW W_MID W_HIGH" S_LOW S_MID S_HIGH: weights proportional to the
# shares, allowing one unit of integer rounding on each weight.
ratio_ok() {
    echo "$1" | awk -v a="$2" -v b="$3" -v c="$4" '
        # No ^ here: busybox-static awk is built without math support.
        function near(w, s, base, sb) { d = w - base * s / sb; t = 1 + s / sb; return d * d <= t * t }
        $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && $1 > 0 {
            ok = near($2, b, $1, a) && near($3, c, $1, a)
        }
        END { exit ok ? 0 : 1 }'
}

agent_alive() { [ -n "${AGENT:-}" ] && alive "$AGENT"; }

finish() { # print what the agent and journald said, then leave
    [ -z "${AGENT:-}" ] || ! alive "$AGENT" || kill -KILL "$AGENT" 2>/dev/null
    block TEXT agent_output /tmp/agent.out
    [ -z "${JPID:-}" ] || block TEXT journald_output /tmp/journald.out
    exit 0
}

# --- a. burners in /sys/fs/cgroup/origin --------------------------------------
: >/tmp/burners
r burners_per_group $BURNERS_PER_GROUP
start_burners $CG/origin burn_a burn_b burn_c
while read -r name pid; do
    r burner "$name" "$pid"
    r burner_start_cgroup "$pid" "$(cgroup_of "$pid")"
done </tmp/burners

# --- b. journald ---------------------------------------------------------------
start_journald
if [ -n "$JPID" ]; then TARGET=journal; else TARGET=console; fi
r log_target $TARGET

# --- c. policy and agent -------------------------------------------------------
mkdir -p /etc/fairshare
write_policy 1 2 5
r interval_s $INTERVAL
T0=$(now)
fairshare run --policy $POLICY --cgroup-root $ROOT --log-target $TARGET >/tmp/agent.out 2>&1 &
AGENT=$!
r agent_pid $AGENT

# --- d. wait until the agent answers and every burner is placed ----------------
expected() { case $1 in burn_a) echo /fairshare/low ;; burn_b) echo /fairshare/mid ;; burn_c) echo /fairshare/high ;; esac; }
all_placed() {
    while read -r name pid; do
        [ "$(cgroup_of "$pid")" = "$(expected "$name")" ] || return 1
    done </tmp/burners
}
ready=no
while [ "$(elapsed "$T0" | cut -d. -f1)" -lt 30 ] && agent_alive; do
    if fairshare status --json >/dev/null 2>&1 && all_placed; then
        ready=yes
        break
    fi
    sleep 0.5
done
r ready $ready
r ready_s "$(elapsed "$T0")"
while read -r name pid; do
    r placed "$name" "$pid" "$(cgroup_of "$pid")"
done </tmp/burners
if ! agent_alive; then
    r agent_died_early yes
    wait "$AGENT"
    r agent_early_exit $?
    finish
fi
sleep 2

# --- e. CPU use over 10 s --------------------------------------------------------
for g in $GROUPS; do eval "u0_$g=\$(usage_of $ROOT/$g)"; done
ur0=$(usage_of $ROOT)
# Per process too (diagnostics): how each burner and the agent fared.
while read -r name pid; do echo "$pid $(ticks_of "$pid")"; done </tmp/burners >/tmp/ticks0
ta0=$(ticks_of "$AGENT")
t0=$(now)
sleep 10
for g in $GROUPS; do eval "u1_$g=\$(usage_of $ROOT/$g)"; done
ur1=$(usage_of $ROOT)
r usage_window_s "$(elapsed "$t0")"
r agent_cpu_ticks $(($(ticks_of "$AGENT") - ta0))
while read -r pid t; do
    r burner_cpu_ticks "$pid" $(($(ticks_of "$pid") - t))
done </tmp/ticks0
for g in $GROUPS; do
    eval "a=\$u0_$g b=\$u1_$g"
    if [ "$a" = missing ] || [ "$b" = missing ]; then r usage "$g" missing; else r usage "$g" $((b - a)); fi
    r cpu_weight "$g" "$(read_file $ROOT/$g/cpu.weight)"
    r io_weight "$g" "$(read_file $ROOT/$g/io.weight)"
done
if [ "$ur0" != missing ] && [ "$ur1" != missing ]; then r usage_root $((ur1 - ur0)); fi
r subtree_control_root "$(read_file $CG/cgroup.subtree_control)"
r subtree_control_fairshare "$(read_file $ROOT/cgroup.subtree_control)"

# --- f. status ------------------------------------------------------------------
# Three snapshots a second apart: the usage figures are per interval, so noisy.
for i in 1 2 3; do
    capture_json "status_$i" fairshare status --json
    [ $i = 3 ] || sleep 1
done
capture status_table fairshare status
# explain: one burner of each group, and the agent itself.
while read -r name pid; do
    case "$name" in burn_a) capture_json "explain_low" fairshare explain --json "$pid" ;; esac
done </tmp/burners
capture_json "explain_agent" fairshare explain --json "$AGENT"

# --- g. reload with inverted shares ----------------------------------------------
write_policy 5 2 1
kill -HUP "$AGENT"
t0=$(now)
matched=no
# Poll past the 2-interval limit so the log shows the real latency.
while [ "$(elapsed "$t0" | cut -d. -f1)" -lt 6 ]; do
    if ratio_ok "$(weights)" 5 2 1; then
        matched=yes
        break
    fi
    sleep 0.2
done
r reload_matched $matched
r reload_latency_s "$(elapsed "$t0")"
r reload_weights "$(weights)"
sleep 0.5
capture_json status_after_reload fairshare status --json

# --- h. a broken policy is rejected, the old one stays ---------------------------
before=$(weights)
r bad_weights_before "$before"
write_policy 5 0 1
kill -HUP "$AGENT"
sleep 2
r bad_weights_after "$(weights)"
if agent_alive; then r bad_agent_alive yes; else r bad_agent_alive no; fi
capture_json status_after_bad_reload fairshare status --json
capture bad_reload_cli fairshare reload
capture bad_check fairshare check $POLICY
printf '[agent]\ninterval = "1s"\n\n[[group]\nname = "x"\n' >/tmp/syntax.toml
capture syntax_check fairshare check /tmp/syntax.toml
capture status_table_end fairshare status

# --- h2. fairshare plan, then the same policy reloaded: the plan must predict it --------
# "low" removed (burn_a matches nothing: given back), "mid" renamed "middle", "high" with 3
# shares, a ceiling of 0.5 CPU and a burst of 0.2 CPU (cpu.max.burst), "spare" added (nothing
# matches it).
cat >/tmp/plan.toml <<EOF
[agent]
interval = "${INTERVAL}s"
report_interval = "5s"

[[group]]
name = "middle"
shares = 2
[group.match]
comm = ["burn_b"]

[[group]]
name = "high"
shares = 3
max = "0.5"
max_burst = "0.2"
[group.match]
comm = ["burn_c"]

[[group]]
name = "spare"
shares = 1
[group.match]
comm = ["nobody_runs"]
EOF
PLAN_GROUPS="low mid high middle spare"
# Every file the agent writes in its groups (the table's rows, GroupFiles): the kernel's text of
# each, so the plan's cgroup_files can be held against what the kernel took.
PLAN_FILES="cgroup.subtree_control cpu.idle cpu.weight io.weight cpu.max cpu.max.burst"
plan_state() { # plan_state PHASE: every group's members and values as the kernel has them
    for g in $PLAN_GROUPS; do
        if [ -d $ROOT/$g ]; then
            r plan_group "$1" "$g" present "$(read_file $ROOT/$g/cpu.weight)" "$(read_file $ROOT/$g/io.weight | tr ' ' _)" \
                "$(read_file $ROOT/$g/cpu.max | tr ' ' _)" $(cat $ROOT/$g/cgroup.procs 2>/dev/null)
            for f in $PLAN_FILES; do r plan_file "$1" "$g" "$f" "$(read_file $ROOT/$g/$f | tr ' ' _)"; done
        else
            r plan_group "$1" "$g" gone
        fi
    done
}
plan_state before
capture_json plan fairshare plan /tmp/plan.toml --json
capture plan_table fairshare plan /tmp/plan.toml
plan_state planned
cp /tmp/plan.toml $POLICY
capture plan_reload fairshare reload
# The reload enforces at once; two more passes for anything that follows.
sleep $((2 * INTERVAL + 1))
plan_state after
while read -r name pid; do
    r plan_burner_after "$name" "$pid" "$(cgroup_of "$pid")"
done </tmp/burners
capture_json status_after_plan fairshare status --json
printf '[[group]]\nname = "x"\nshares = 1\nmax = "0"\n' >/tmp/badplan.toml
capture plan_invalid fairshare plan /tmp/badplan.toml

# --- i. SIGTERM: everything back where it was --------------------------------------
if agent_alive; then
    stop_with_timeout "$AGENT" 15
else
    r stop_exit "dead-before-stop"
fi
while read -r name pid; do
    if alive "$pid"; then s=alive; else s=dead; fi
    r after_stop "$name" "$pid" "$s" "$(cgroup_of "$pid")"
done </tmp/burners
for g in $GROUPS; do
    if [ -d $ROOT/$g ]; then r group_dir_after_stop "$g" present; else r group_dir_after_stop "$g" gone; fi
done
if [ -d $ROOT ]; then r root_dir_after_stop present; else r root_dir_after_stop gone; fi

# --- j. the journal -----------------------------------------------------------------
dump_journal journal fairshare
AGENT=
finish

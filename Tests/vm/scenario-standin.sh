#!/bin/sh
# Stand-in for scenario-enforce.sh that does the agent's cgroup work by hand
# (cpu.weight 100/200/500, moves, reload, restore) and logs agent-like journal
# events with journal-send. It proves the harness itself: boot, cgroup2,
# burners, timing, journald and check-enforce.py --standin. No fairshare binary.
set -u
. /lib/vm-lib.sh

ROOT=$CG/fairshare
GROUPS="low mid high"

ev() { # ev EVENT PRIORITY MESSAGE [FIELD=VALUE...]: one journal entry like the agent's
    _e=$1 _p=$2 _m=$3
    shift 3
    # Stable per-event MESSAGE_ID, as a real catalog would have.
    _id=$(echo "$_e" | md5sum | cut -c1-32)
    [ -z "$JPID" ] || journal-send "MESSAGE=$_m" "FAIRSHARE_EVENT=$_e" "MESSAGE_ID=$_id" \
        SYSLOG_IDENTIFIER=fairshare "PRIORITY=$_p" "$@"
}
group_of() { case $1 in burn_a) echo low ;; burn_b) echo mid ;; burn_c) echo high ;; esac; }

: >/tmp/burners
start_burners $CG/origin burn_a burn_b burn_c
while read -r name pid; do
    r burner "$name" "$pid"
    r burner_start_cgroup "$pid" "$(cgroup_of "$pid")"
done </tmp/burners

start_journald
r log_target journal
r interval_s 1
T0=$(now)
ev started 6 "fairshare started"
ev policy_loaded 6 "policy loaded"
echo "+cpu +io" >$CG/cgroup.subtree_control
mkdir -p $ROOT
echo "+cpu +io" >$ROOT/cgroup.subtree_control
set -- 100 200 500
for g in $GROUPS; do
    mkdir -p $ROOT/$g
    echo "$1" >$ROOT/$g/cpu.weight
    shift
    ev group_created 6 "group $g created" "FAIRSHARE_GROUP=$g"
done
while read -r name pid; do
    echo "$pid" >"$ROOT/$(group_of "$name")/cgroup.procs"
    ev moved 6 "moved $pid" "FAIRSHARE_GROUP=$(group_of "$name")" "FAIRSHARE_PID=$pid"
done </tmp/burners
r ready yes
r ready_s "$(elapsed "$T0")"
while read -r name pid; do r placed "$name" "$pid" "$(cgroup_of "$pid")"; done </tmp/burners
sleep 2

for g in $GROUPS; do eval "u0_$g=\$(usage_of $ROOT/$g)"; done
ur0=$(usage_of $ROOT)
t0=$(now)
sleep 10
for g in $GROUPS; do eval "u1_$g=\$(usage_of $ROOT/$g)"; done
ur1=$(usage_of $ROOT)
r usage_window_s "$(elapsed "$t0")"
for g in $GROUPS; do
    eval "a=\$u0_$g b=\$u1_$g"
    r usage "$g" $((b - a))
    r cpu_weight "$g" "$(read_file $ROOT/$g/cpu.weight)"
    r io_weight "$g" "$(read_file $ROOT/$g/io.weight)"
done
r usage_root $((ur1 - ur0))
ev summary 6 "summary"

# "Reload": invert the weights and time until the files show it.
t0=$(now)
echo 500 >$ROOT/low/cpu.weight
echo 200 >$ROOT/mid/cpu.weight
echo 100 >$ROOT/high/cpu.weight
r reload_matched yes
r reload_latency_s "$(elapsed "$t0")"
r reload_weights "$(read_file $ROOT/low/cpu.weight) $(read_file $ROOT/mid/cpu.weight) $(read_file $ROOT/high/cpu.weight)"
ev policy_loaded 6 "policy loaded"
ev policy_rejected 3 "policy rejected"
ev stopping 6 "stopping"

# "Stop": everybody back to origin, group cgroups removed.
while read -r name pid; do echo "$pid" >$CG/origin/cgroup.procs; done </tmp/burners
for g in $GROUPS; do rmdir $ROOT/$g; done
r stop_exit 0
r stop_s 0.00
r stop_killed no
while read -r name pid; do
    if alive "$pid"; then s=alive; else s=dead; fi
    r after_stop "$name" "$pid" "$s" "$(cgroup_of "$pid")"
done </tmp/burners
for g in $GROUPS; do
    if [ -d $ROOT/$g ]; then r group_dir_after_stop "$g" present; else r group_dir_after_stop "$g" gone; fi
done
dump_journal journal fairshare

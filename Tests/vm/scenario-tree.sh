#!/bin/sh
# Per-user subgroups and nested groups (issue 20), run as /scenario.sh in the test guest by
# busybox sh. It only measures and prints; Tests/vm/check-tree.py asserts and computes the
# figures. Needs the burner copies burn_u burn_a burn_b burn_t (FAIRSHARE_VM_BURNERS), asuid
# (run a program as another uid) and hold_u (an idle process) in /bin.
#
# Phases, each with a fresh agent (interval 1 s) and its own origin cgroup (/origin/PHASE):
#   users   one per_user group; alice, bob, carol (uids 1001-1003) run 4, 1 and 2 burners:
#           a third each over 20 s, all of a user's burners in ROOT/logins/user-UID; then bob's
#           burner is killed (his subgroup must go, delay measured); then a SIGHUP with a
#           `parent` cycle (rejected, nothing changes)
#   cap     user_max 0.5, user_borrow, user_burst 75%, two burners per user:
#           a. the policy as the issue writes it, all three busy (observed, not asserted)
#           b. the same with the group's max = 1.5 (= 3 x 0.5: nothing idle to lend), all busy
#           c. bob and carol STOPped: alice borrows up to 1.5 CPUs (cpu.max 150000)
#           d. bob and carol CONTinued: alice's cpu.max back to 50000 (delay measured)
#           e. reloaded without user_borrow, bob and carol STOPped again: alice stays at 0.5
#   nested  research (3) = lab-a (1) + lab-b (2), teaching (1), two burners each: 25/50/25
#   many    one per_user group, an idle hold_u per user: the agent's CPU time (utime+stime,
#           clock ticks) over MANY_WINDOW_S with 20 users, then with 200 (uids 2000-2199);
#           rescan_interval 1h, so that no periodic /proc rescan falls in one window only
# At the end of every phase the agent gets SIGTERM: each process must be back in its origin
# and no cgroup left under ROOT.
# A background sampler records every 0.5 s each cgroup under ROOT (two levels): usage_usec,
# cpu.max and cpu.weight (builtins only); it is off in the many phase (200 subgroups). Events
# are FSRESULT mark NAME UPTIME lines on the same clock (/proc/uptime).
set -u
. /lib/vm-lib.sh

ROOT=$CG/fstree
RROOT=/fstree
POLICY=/etc/fairshare/policy.toml
SAMPLES=/tmp/samples
PROCS=/tmp/procs
INTERVAL=1
PHASES="users cap nested many"
MANY_FIRST=20
MANY_USERS=200
MANY_WINDOW_S=60
# make's TREE_* variables (mk/vm.mk), when the image has them.
[ ! -f /etc/fairshare/tree.env ] || . /etc/fairshare/tree.env
PHASE=none

# phase NAME: whether NAME is among $PHASES (prints FSRESULT phase_skipped NAME otherwise).
phase() {
    case " $PHASES " in *" $1 "*) return 0 ;; esac
    r phase_skipped "$1"
    return 1
}

# centi UPTIME: sets _cs to UPTIME in centiseconds (no fork).
centi() {
    _i=${1%.*}
    _f=${1#*.}
    _f=${_f#0}
    _cs=$((_i * 100 + _f))
}
uptime_now() { read -r _up _rest </proc/uptime; }
mark() { uptime_now; r mark "$1" "$_up"; }

# sampler PERIOD: append "S UPTIME name:usage_usec:quota/period:weight ..." lines to $SAMPLES,
# name the cgroup's path below ROOT (logins/user-1001); paused while /tmp/sampler.off exists.
sampler() {
    while :; do
        if [ -e /tmp/sampler.off ]; then
            sleep 0.5
            continue
        fi
        read -r _up _rest </proc/uptime
        _line="S $_up"
        for _d in "$ROOT"/*/ "$ROOT"/*/*/; do
            [ -f "${_d}cpu.stat" ] || continue
            _n=${_d%/}
            _n=${_n#"$ROOT"/}
            _u=x _q=x _p=x _w=x
            read -r _k _u _rest 2>/dev/null <"${_d}cpu.stat"
            read -r _q _p 2>/dev/null <"${_d}cpu.max"
            read -r _w 2>/dev/null <"${_d}cpu.weight"
            _line="$_line $_n:$_u:$_q/$_p:$_w"
        done
        _u=x
        read -r _k _u _rest 2>/dev/null <$CG/cpu.stat
        _line="$_line _machine:$_u:x/x:x"
        echo "$_line" >>"$SAMPLES"
        sleep "$1"
    done
}

flush_samples() {
    rm -f $SAMPLES.out
    [ ! -f $SAMPLES ] || mv $SAMPLES $SAMPLES.out
    block TEXT "$1" $SAMPLES.out
}

# spawn ORIGIN PROG COUNT UID...: COUNT copies of /bin/PROG per UID (0: root, else through
# asuid), born in ORIGIN; appends "PROG PID UID ORIGIN" lines to $PROCS.
spawn() {
    _cg=$1
    shift
    mkdir -p "$_cg"
    # A child shell moves itself first, so the processes are born in the cgroup; its children
    # are reparented to PID 1 when it exits, which reaps them as soon as they die.
    sh -c '
        echo $$ >"$0/cgroup.procs" || exit 1
        origin=$1 prog=$2 n=$3
        shift 3
        for uid in "$@"; do
            i=0
            while [ $i -lt $n ]; do
                i=$((i + 1))
                if [ "$uid" = 0 ]; then
                    "/bin/$prog" </dev/null >/dev/null 2>&1 &
                else
                    asuid "$uid" "/bin/$prog" </dev/null >/dev/null 2>&1 &
                fi
                echo "$prog $! $uid $origin"
            done
        done' "$_cg" "${_cg#"$CG"}" "$@" >>$PROCS
}

# cg_of PID: sets _cg to its cgroup v2 path ("gone" once it has exited; no fork).
cg_of() {
    _cg=gone
    read -r _cg 2>/dev/null <"/proc/$1/cgroup" || _cg=gone
    _cg=${_cg#0::}
}

# signal SIGNAL UID...: signal every process of those uids in $PROCS.
signal() {
    _sig=$1
    shift
    for _su in "$@"; do
        while read -r _n _p _u _o; do
            [ "$_u" = "$_su" ] && kill "-$_sig" "$_p" 2>/dev/null
        done <$PROCS
    done
    return 0
}

# wait_exec: every process in $PROCS runs under its own name (a process STOPped between fork
# and exec would keep asuid's comm and never match).
wait_exec() {
    _i=0
    while [ $_i -lt 100 ]; do
        _ok=yes
        while read -r _n _p _u _o; do
            _c=
            read -r _c 2>/dev/null <"/proc/$_p/comm"
            [ "$_c" = "$_n" ] || { _ok=no; break; }
        done <$PROCS
        [ $_ok = yes ] && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    r "wait_exec_timeout_$PHASE" yes
}

# count_placed: _placed and _wrong (counts) against want PROG UID (which sets _want).
count_placed() {
    _placed=0 _wrong=0
    while read -r _n _p _u _o; do
        want "$_n" "$_u"
        cg_of "$_p"
        if [ "$_cg" = "$_want" ]; then _placed=$((_placed + 1)); else _wrong=$((_wrong + 1)); fi
    done <$PROCS
}

# report_placement KEY: FSRESULT KEY total placed, and one KEY_bad line per process not where
# want puts it; with up to 12 processes also one KEY_proc line each (PROG PID UID CGROUP and the
# real uid from /proc/PID/status).
report_placement() {
    _all=0 _placed=0
    _few=no
    [ "$(wc -l <$PROCS)" -le 12 ] && _few=yes
    while read -r _n _p _u _o; do
        want "$_n" "$_u"
        cg_of "$_p"
        _all=$((_all + 1))
        if [ "$_cg" = "$_want" ]; then _placed=$((_placed + 1)); else r "${1}_bad" "$_n" "$_p" "$_u" "$_cg" "want=$_want"; fi
        if [ $_few = yes ]; then
            # The uid the process really runs as (asuid's work), beside the one it was given.
            _ru=gone
            while read -r _k _a _rest; do [ "$_k" = Uid: ] && { _ru=$_a; break; }; done 2>/dev/null <"/proc/$_p/status"
            r "${1}_proc" "$_n" "$_p" "$_u" "$_cg" "$_ru"
        fi
    done <$PROCS
    r "$1" "$_all" "$_placed"
}

agent_alive() { [ -n "${AGENT:-}" ] && alive "$AGENT"; }

# start_agent PHASE: fairshare on $POLICY; waits (up to 60 s) until every process in $PROCS
# sits where want puts it; prints ready_PHASE.
start_agent() {
    PHASE=$1
    block TEXT "policy_$PHASE" $POLICY
    capture "check_$PHASE" fairshare check $POLICY
    _t0=$(now)
    fairshare run --policy $POLICY --cgroup-root $ROOT --log-target $TARGET >/tmp/agent-$PHASE.out 2>&1 &
    AGENT=$!
    r "agent_pid_$PHASE" $AGENT
    _ready=no
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt 60 ] && agent_alive; do
        count_placed
        if [ $_wrong = 0 ]; then
            _ready=yes
            break
        fi
        sleep 0.5
    done
    r "ready_$PHASE" $_ready
    r "ready_s_$PHASE" "$(elapsed "$_t0")"
    # Where they are when the agent did not place them all: the checker shows it.
    [ $_ready = yes ] || report_placement "unplaced_$PHASE"
    mark "ready_$PHASE"
    if ! agent_alive; then
        r "agent_died_$PHASE" yes
        wait "$AGENT"
        r "agent_exit_$PHASE" $?
        block TEXT "agent_output_$PHASE" /tmp/agent-$PHASE.out
        AGENT=
        return 1
    fi
    [ $_ready = yes ]
}

# cgroups_under DIR: the cgroup directories below DIR, space-separated ("none").
cgroups_under() {
    _l=$(find "$1" -mindepth 1 -type d 2>/dev/null | sed "s|^$ROOT/||" | sort | tr '\n' ' ')
    echo "${_l:-none}"
}

# end_phase: SIGTERM the agent; then every process must be back in its origin and no cgroup
# left under ROOT; then the processes are killed.
end_phase() {
    if agent_alive; then
        r "alive_at_end_$PHASE" yes
        stop_with_timeout "$AGENT" 30 >/tmp/stop.out
        r "stop_$PHASE" $(sed 's/^FSRESULT //' /tmp/stop.out | tr '\n' ' ')
    else
        r "alive_at_end_$PHASE" no
    fi
    AGENT=
    # Where each process should be now: the origin column of its line in $PROCS.
    want() { _want=$_o; }
    report_placement "back_$PHASE"
    r "leftover_$PHASE" "$(cgroups_under $ROOT)"
    block TEXT "agent_output_$PHASE" /tmp/agent-$PHASE.out
    while read -r _n _p _u _o; do kill -KILL "$_p" 2>/dev/null; done <$PROCS
    : >$PROCS
    [ -e /tmp/sampler.off ] || flush_samples "samples_$PHASE"
    sleep 1
}

# poll_until FILE WORD TIMEOUT_S: until the first word of FILE is WORD (every ~50 ms); sets
# _hit (uptime when seen, or none) and _prev (uptime of the read before it).
poll_until() {
    _pf=$1 _pw=$2 _plim=$(($3 * 100))
    uptime_now
    centi "$_up"
    _pstart=$_cs
    _hit=none _prev=$_up
    while :; do
        uptime_now
        _pv=missing
        read -r _pv _x 2>/dev/null <"$_pf"
        if [ "$_pv" = "$_pw" ]; then
            _hit=$_up
            return 0
        fi
        _prev=$_up
        centi "$_up"
        [ $((_cs - _pstart)) -lt "$_plim" ] || return 1
        sleep 0.05
    done
}

# poll_gone DIR TIMEOUT_S: until DIR is gone; sets _hit and _prev like poll_until.
poll_gone() {
    _plim=$(($2 * 100))
    uptime_now
    centi "$_up"
    _pstart=$_cs
    _hit=none _prev=$_up
    while :; do
        uptime_now
        if [ ! -d "$1" ]; then
            _hit=$_up
            return 0
        fi
        _prev=$_up
        centi "$_up"
        [ $((_cs - _pstart)) -lt "$_plim" ] || return 1
        sleep 0.05
    done
}

# kernel_files KEY DIR...: FSRESULT KEY name cpu.max cpu.weight for each DIR under ROOT.
kernel_files() {
    _k=$1
    shift
    for _d in "$@"; do
        r "$_k" "${_d#"$ROOT"/}" "$(read_file "$_d/cpu.max" | tr ' ' /)" "$(read_file "$_d/cpu.weight")"
    done
}

# agent_cpu KEY: FSRESULT KEY UPTIME UTIME STIME VMRSS_KB SYSCR SYSCW of the agent (ticks:
# USER_HZ; syscr/syscw: its read and write system calls so far, /proc/PID/io).
agent_cpu() {
    _key=$1
    uptime_now
    _st=
    read -r _st 2>/dev/null <"/proc/$AGENT/stat"
    # Fields 14 and 15 (utime, stime); comm is "(fairshare)": no spaces.
    set -- $_st
    _ut=${14:-x} _sy=${15:-x}
    _rss=x _scr=x _scw=x
    while read -r _k _v _rest; do [ "$_k" = VmRSS: ] && _rss=$_v; done <"/proc/$AGENT/status"
    while read -r _k _v; do
        case $_k in syscr:) _scr=$_v ;; syscw:) _scw=$_v ;; esac
    done <"/proc/$AGENT/io"
    r "$_key" "$_up" "$_ut" "$_sy" "$_rss" "$_scr" "$_scw"
}

# cpu_window NAME: the agent's CPU over MANY_WINDOW_S, sampled at its start, every third of it
# and its end (NAME_0 .. NAME_3).
cpu_window() {
    agent_cpu "${1}_0"
    _third=$((MANY_WINDOW_S / 3))
    sleep "$_third"
    agent_cpu "${1}_1"
    sleep "$_third"
    agent_cpu "${1}_2"
    sleep $((MANY_WINDOW_S - 2 * _third))
    agent_cpu "${1}_3"
}

# summaries: sets _n to the agent's periodic reports in the journal so far (every phase's).
summaries() {
    journalctl --sync >/dev/null 2>&1 || true
    _n=$(journalctl -o cat --no-pager FAIRSHARE_EVENT=summary 2>/dev/null | wc -l)
}

# after_report N: waits (up to 90 s) until the journal holds more than N reports, then 2 s more
# (the report's metrics are written after its pass).
after_report() {
    _t1=$(now)
    while [ "$(elapsed "$_t1" | cut -d. -f1)" -lt 90 ] && agent_alive; do
        summaries
        [ "$_n" -gt "$1" ] && break
        sleep 1
    done
    sleep 2
}

# agent_status KEY: a few numbers of the agent's status (passes so far, pass times, failures),
# not the whole document (200 groups).
agent_status() {
    fairshare status --json >/tmp/status.json 2>/tmp/status.err
    r "${1}_exit" $?
    r "$1" $(tr -d ' \n' </tmp/status.json | grep -oE '"(ticks|pass_seconds_median|last_pass_seconds|rescans)":[0-9.e-]+' | tr -d '"' | tr '\n' ' ')
    r "${1}_failures" "$(tr -d ' \n' </tmp/status.json | grep -o '"failures":\[[^]]*\]' | head -n 1)"
}

finish() {
    [ -z "${AGENT:-}" ] || ! alive "$AGENT" || kill -KILL "$AGENT" 2>/dev/null
    [ ! -s $PROCS ] || while read -r _n _p _u _o; do kill -KILL "$_p" 2>/dev/null; done <$PROCS
    rm -f /tmp/sampler.off
    flush_samples samples_end
    [ -z "${SAMPLER:-}" ] || kill "$SAMPLER" 2>/dev/null
    if [ -n "${JPID:-}" ]; then
        journalctl --sync >/dev/null 2>&1 || true
        # The many phase's routine entries (a move, a created or removed subgroup, its weights:
        # 5 per user, info or debug) are counted, not printed; everything else is.
        journalctl -o json --no-pager --output-fields=PRIORITY,MESSAGE,MESSAGE_ID,FAIRSHARE_EVENT,FAIRSHARE_GROUP \
            SYSLOG_IDENTIFIER=fairshare >/tmp/journal.all 2>/tmp/journal.err
        r journal_entries "$(wc -l </tmp/journal.all)"
        awk '/"FAIRSHARE_GROUP":"many\/user-/ && /"PRIORITY":"[67]"/ { n++; next } { print } END { print n + 0 >"/tmp/journal.routine" }' \
            /tmp/journal.all >/tmp/journal.kept
        r journal_many_routine "$(cat /tmp/journal.routine)"
        block JSON journal /tmp/journal.kept
        [ ! -s /tmp/journal.err ] || block TEXT journal_stderr /tmp/journal.err
        block TEXT journald_output /tmp/journald.out
    fi
    exit 0
}

# --- setup ----------------------------------------------------------------------------
start_journald
if [ -n "$JPID" ]; then TARGET=journal; else TARGET=console; fi
r log_target $TARGET
r capacity_cpus "$(nproc)"
r interval_s $INTERVAL
mkdir -p /etc/fairshare
# The users: alice, bob, carol and u2000..u2199, so names resolve (user_shares, status).
printf 'passwd: files\ngroup: files\n' >/etc/nsswitch.conf
printf '%s\n' alice:x:1001:1001::/nonexistent:/bin/sh bob:x:1002:1002::/nonexistent:/bin/sh \
    carol:x:1003:1003::/nonexistent:/bin/sh >>/etc/passwd
printf '%s\n' alice:x:1001: bob:x:1002: carol:x:1003: >>/etc/group
awk 'BEGIN { for (i = 2000; i < 2200; i++) printf "u%d:x:%d:%d::/nonexistent:/bin/false\n", i, i, i }' >>/etc/passwd
awk 'BEGIN { for (i = 2000; i < 2200; i++) printf "u%d:x:%d:\n", i, i }' >>/etc/group
r users_in_passwd "$(grep -c '' /etc/passwd)"
: >$PROCS
sampler 0.5 2>/dev/null &
SAMPLER=$!
mark scenario_start

# --- 1. users: a third each, one cgroup per user; 4. removal; 6. a rejected reload -----------
phase_users() {
    cat >$POLICY <<'EOF'
[agent]
interval = "1s"

[[group]]
name = "logins"
shares = 1
per_user = true
[group.match]
comm = ["burn_u"]
EOF
    want() { _want=$RROOT/logins/user-$2; }
    spawn $CG/origin/users burn_u 4 1001
    spawn $CG/origin/users burn_u 1 1002
    spawn $CG/origin/users burn_u 2 1003
    wait_exec
    if start_agent users; then
        sleep 5
        # Share accuracy compares the users with each other: the sampler at nice 19 does not
        # preempt the burners (see scenario-fairness.sh).
        renice -n 19 -p $SAMPLER >/dev/null 2>&1 || true
        mark users_start
        sleep 20
        mark users_end
        renice -n 0 -p $SAMPLER >/dev/null 2>&1 || true
        report_placement users_cg
        r users_subgroups "$(cgroups_under $ROOT)"
        r logins_subtree_control "$(read_file $ROOT/logins/cgroup.subtree_control)"
        r logins_procs "$(wc -l <$ROOT/logins/cgroup.procs)"
        kernel_files users_files $ROOT/logins $ROOT/logins/user-*
        capture_json status_users fairshare status --json
        # 4. removal: bob's only process exits.
        _bob=$(awk '$3 == 1002 { print $2 }' $PROCS)
        mark removal_kill
        kill -KILL "$_bob"
        poll_gone $ROOT/logins/user-1002 10
        r removal_gone "$_hit" "$_prev"
        [ -e "/proc/$_bob" ] && r removal_bob_proc present || r removal_bob_proc reaped
        grep -v ' 1002 ' $PROCS >$PROCS.new
        mv $PROCS.new $PROCS
        r removal_after "$(cgroups_under $ROOT)"
        # 6. a reload with a `parent` cycle is rejected and changes nothing.
        cp $POLICY /tmp/policy-users.toml
        cat >/tmp/cycle.toml <<'EOF'
[agent]
interval = "1s"

[[group]]
name = "logins"
shares = 1
per_user = true
[group.match]
comm = ["burn_u"]

[[group]]
name = "outer"
parent = "inner"
shares = 1

[[group]]
name = "inner"
parent = "outer"
shares = 1
EOF
        capture cycle_check fairshare check /tmp/cycle.toml
        r cycle_before "$(cgroups_under $ROOT)"
        report_placement cycle_before_cg
        kernel_files cycle_before_files $ROOT/logins/user-*
        cp /tmp/cycle.toml $POLICY
        mark cycle_hup
        kill -HUP "$AGENT"
        sleep 3
        mark cycle_after
        agent_alive && r cycle_agent_alive yes || r cycle_agent_alive no
        r cycle_after "$(cgroups_under $ROOT)"
        report_placement cycle_after_cg
        kernel_files cycle_after_files $ROOT/logins/user-*
        capture_json status_cycle fairshare status --json
        cp /tmp/policy-users.toml $POLICY
    fi
    end_phase
}

# --- 2. cap: user_max, user_borrow, user_burst ------------------------------------------------
cap_policy() { # cap_policy GROUP_MAX_LINE USER_BORROW_LINES
    cat >$POLICY <<EOF
[agent]
interval = "1s"

[[group]]
name = "logins"
shares = 1
$1
per_user = true
user_max = "0.5"
$2
[group.match]
comm = ["burn_u"]
EOF
}
BORROW='user_borrow = true
user_burst = "75%"'
U=$ROOT/logins/user
phase_cap() {
    want() { _want=$RROOT/logins/user-$2; }
    spawn $CG/origin/cap burn_u 2 1001 1002 1003
    wait_exec
    # a. As the issue writes it. On 2 CPUs the three caps leave 0.5 CPU that nobody else wants,
    #    and user_borrow lets a user above user_max "while capacity is idle"
    #    (docs/policy-tree.md): the agent lends it to the three (cpu.max 66667 each). Reported
    #    by the checker, not asserted.
    cap_policy "" "$BORROW"
    if start_agent cap; then
        sleep 3
        mark cap_literal_start
        sleep 4
        mark cap_literal_end
        kernel_files cap_literal_files $ROOT/logins $U-1001 $U-1002 $U-1003
        # b. The group's max = 3 x user_max: nothing idle to lend while all three are busy.
        cap_policy 'max = "1.5"' "$BORROW"
        mark cap_hup_b
        kill -HUP "$AGENT"
        poll_until $ROOT/logins/cpu.max 150000 10
        r cap_group_max_seen "$_hit"
        for _uid in 1001 1002 1003; do poll_until $U-$_uid/cpu.max 50000 5; done
        sleep 2
        mark cap_busy_start
        sleep 6
        mark cap_busy_end
        kernel_files cap_busy_files $ROOT/logins $U-1001 $U-1002 $U-1003
        # c. bob and carol STOPped: alice borrows.
        mark cap_stop
        signal STOP 1002 1003
        poll_until $U-1001/cpu.max 150000 10
        r cap_borrow_seen "$_hit" "$_prev"
        sleep 2
        mark cap_borrow_start
        sleep 5
        mark cap_borrow_end
        kernel_files cap_borrow_files $U-1001
        capture_json status_cap_borrow fairshare status --json
        # d. bob and carol back: alice's cap returns.
        mark cap_cont
        signal CONT 1002 1003
        poll_until $U-1001/cpu.max 50000 10
        r cap_giveback_seen "$_hit" "$_prev"
        sleep 2
        mark cap_back_end
        # e. Without user_borrow: alice alone stays at 0.5.
        cap_policy 'max = "1.5"' ""
        mark cap_hup_e
        kill -HUP "$AGENT"
        sleep 3
        mark cap_nob_stop
        signal STOP 1002 1003
        sleep 2
        mark cap_nob_start
        sleep 6
        mark cap_nob_end
        kernel_files cap_nob_files $U-1001
        signal CONT 1002 1003
        capture_json status_cap_nob fairshare status --json
    fi
    end_phase
}

# --- 3. nested groups ----------------------------------------------------------------------
phase_nested() {
    cat >$POLICY <<'EOF'
[agent]
interval = "1s"

[[group]]
name = "research"
shares = 3

[[group]]
name = "lab-a"
parent = "research"
shares = 1
[group.match]
comm = ["burn_a"]

[[group]]
name = "lab-b"
parent = "research"
shares = 2
[group.match]
comm = ["burn_b"]

[[group]]
name = "teaching"
shares = 1
[group.match]
comm = ["burn_t"]
EOF
    want() {
        case $1 in
            burn_a) _want=$RROOT/research/lab-a ;;
            burn_b) _want=$RROOT/research/lab-b ;;
            *) _want=$RROOT/teaching ;;
        esac
}
spawn $CG/origin/nested burn_a 2 0
spawn $CG/origin/nested burn_b 2 0
spawn $CG/origin/nested burn_t 2 0
wait_exec
if start_agent nested; then
    sleep 5
    renice -n 19 -p $SAMPLER >/dev/null 2>&1 || true
    mark nested_start
    sleep 20
    mark nested_end
    renice -n 0 -p $SAMPLER >/dev/null 2>&1 || true
    report_placement nested_cg
    r nested_cgroups "$(cgroups_under $ROOT)"
    r root_subtree_control "$(read_file $ROOT/cgroup.subtree_control)"
    r research_subtree_control "$(read_file $ROOT/research/cgroup.subtree_control)"
    r research_procs "$(wc -l <$ROOT/research/cgroup.procs)"
    kernel_files nested_files $ROOT/research $ROOT/research/lab-a $ROOT/research/lab-b $ROOT/teaching
    capture_json status_nested fairshare status --json
fi
end_phase
}

# --- 5. many users: the agent's CPU time with 20 and with 200 ---------------------------------
phase_many() {
    # No periodic /proc rescan in either window (one fell in the second window only, 60 s after
    # the start: a cost per process, measured by the events tier, not per user's subgroup).
    # Windows of the report interval (60 s, the default): each holds one report (status and
    # metrics for every user); with 30-s windows the report at 60 s fell in the second only.
    # The second begins after the new users' first report (their arrival is counted apart).
    cat >$POLICY <<'EOF'
[agent]
interval = "1s"
rescan_interval = "1h"

[[group]]
name = "many"
shares = 1
per_user = true
[group.match]
comm = ["hold_u"]
EOF
    want() { _want=$RROOT/many/user-$2; }
    touch /tmp/sampler.off
    r many_window_s $MANY_WINDOW_S
    r many_plan $MANY_FIRST $MANY_USERS
    spawn $CG/origin/many hold_u 1 $(seq 2000 $((2000 + MANY_FIRST - 1)))
    wait_exec
    if start_agent many; then
        sleep 3
        r many_users_1 "$(ls -d $ROOT/many/user-* | wc -l)"
        agent_status many_status_a0
        cpu_window many_cpu_a
        agent_status many_status_a1
        mark many_spawn
        summaries
        _before=$_n
        agent_cpu many_arrival_0
        spawn $CG/origin/many hold_u 1 $(seq $((2000 + MANY_FIRST)) $((2000 + MANY_USERS - 1)))
        wait_exec
        _t0=$(now)
        while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt 60 ] && agent_alive; do
            count_placed
            [ $_wrong = 0 ] && break
            sleep 1
        done
        r many_placed_s "$(elapsed "$_t0")"
        report_placement many_cg
        r many_users_2 "$(ls -d $ROOT/many/user-* | wc -l)"
        # The first report with the new users (status, and the metrics' new series) is part of
        # their arrival: the window starts after it, so that it holds one report, as the
        # first window does (that one the report 60 s after the start; the series of the first
        # users were made at the start).
        after_report "$_before"
        agent_cpu many_arrival_1
        mark many_settled
        agent_status many_status_b0
        cpu_window many_cpu_b
        agent_status many_status_b1
    fi
    end_phase
    rm -f /tmp/sampler.off
}

for _phase in users cap nested many; do
    if phase $_phase; then phase_$_phase; fi
done
finish

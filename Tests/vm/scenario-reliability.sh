#!/bin/sh
# Issue 8's real-kernel suites, run as /scenario.sh in the tier-1 guest (busybox sh). It only
# measures and prints FSRESULT lines; Tests/vm/check-reliability.py asserts.
#   1 crash   kill -9 the agent at random points (and the instant the first process lands
#             in a group) while processes are born in several origins; recover (keep and
#             hand-back alternating), restart; after a clean stop every process must be
#             alive and back in the cgroup it was born in, no group left
#   2 reload  a reload storm by SIGHUP, a third invalid, some pathological: the old policy
#             stays on every invalid one, the agent lives, RSS grows <= 5 MB
#   3 hostile uid 65534 processes with 128 KB arguments crafted against each shipped
#             policy's cmdline regexes: pass time against the same processes with short ones
#   4 socket  slow connections from uid 65534 (a member of the socket's group): root's status
#             every second, the agent's descriptors
#   5 fdlimit the agent's RLIMIT_NOFILE lowered (prlimit) to the descriptors it holds, so every
#             open fails with EMFILE: members, ledger and groups kept, the failure told once,
#             acting again once raised; then stopped under the limit: nobody given back blind,
#             the ledger keeps every origin, and `fairshare recover` gives each process back
# Parameters come from /etc/fairshare/reliability.env (mk/reliability.mk writes it).
set -u
. /lib/vm-lib.sh
. /etc/fairshare/reliability.env

: "${PHASES:=crash reload hostile socket fdlimit}" "${SEED:=1}"
: "${KILLS:=20}" "${KILL_SPREAD_MS:=8000}" "${SPAWN_S:=2}"
: "${RELOADS:=30}" "${RELOAD_WAIT_S:=10}" "${PATHOLOGICAL_WAIT_S:=15}" "${RELOAD_SETTLE_S:=1}"
: "${HOSTILE_PROCS:=100}" "${HOSTILE_WINDOW_S:=15}"
: "${SOCKET_CONNS:=1000}" "${SOCKET_WINDOW_S:=30}"
: "${FDLIMIT_PROCS:=20}" "${FDLIMIT_WINDOW_S:=5}"
RUN=/run/fsrel
NOBODY=65534
FS_GID=990
mkdir -p $RUN

for k in PHASES SEED KILLS KILL_SPREAD_MS SPAWN_S RELOADS RELOAD_WAIT_S PATHOLOGICAL_WAIT_S \
    RELOAD_SETTLE_S HOSTILE_PROCS HOSTILE_WINDOW_S SOCKET_CONNS SOCKET_WINDOW_S FDLIMIT_PROCS FDLIMIT_WINDOW_S; do
    eval "r param $k \"\$$k\""
done

# The users and groups an admin would have: nobody, the socket's group `fairshare` with nobody
# in it (a user granted status access), and the groups the shipped policies name.
echo "nobody:x:$NOBODY:$NOBODY:nobody:/nonexistent:/bin/false" >>/etc/passwd
cat >>/etc/group <<EOF
nogroup:x:$NOBODY:
fairshare:x:$FS_GID:nobody
sudo:x:27:
staff:x:50:
students:x:1001:
EOF

# --- helpers -------------------------------------------------------------------------------

# rand_below N: sets RAND to a pseudo-random integer in [0, N), reproducible from SEED
# (Park-Miller: the products stay below 2^53, exact in awk's doubles). Not in a $(...):
# the state must survive the call.
RAND_STATE=$((SEED % 2147483646 + 1))
rand_below() {
    RAND_STATE=$(awk -v s="$RAND_STATE" 'BEGIN { printf "%d", (s * 16807) % 2147483647 }')
    RAND=$((RAND_STATE % $1))
}

# json_value FILE KEY: the first scalar value of "KEY": in a compact JSON document.
json_value() {
    grep -o "\"$2\":[^,}]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '"'
}

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# agent_start NAME POLICY ROOT SOCKET [ARGS...]: sets AGENT; the log goes to /tmp/NAME.agent.out.
agent_start() {
    _n=$1 _p=$2 _r=$3 _s=$4
    shift 4
    fairshare run --policy "$_p" --cgroup-root "$_r" --socket "$_s" --log-target console "$@" \
        >>"/tmp/$_n.agent.out" 2>&1 &
    AGENT=$!
}

# wait_ready SOCKET SECONDS: until status answers ok; prints the seconds waited or "never".
wait_ready() {
    _t0=$(now)
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt "$2" ]; do
        if fsctl -s "$1" -t 2000 >/dev/null 2>&1; then
            elapsed "$_t0"
            return 0
        fi
        alive "$AGENT" || break
        sleep 0.2
    done
    echo never
    return 1
}

# status_to SOCKET FILE [TIMEOUT_MS]: the raw status response in FILE; fails without one.
status_to() { fsctl -s "$1" -t "${3:-5000}" >"$2" 2>/dev/null; }

# wait_ticks SOCKET N SECONDS: until the agent has done N more passes.
wait_ticks() {
    status_to "$1" /tmp/wt.json 3000 || return 1
    _tk=$(json_value /tmp/wt.json ticks)
    _goal=$((${_tk:-0} + $2))
    _t0=$(now)
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt "$3" ]; do
        sleep 0.3
        status_to "$1" /tmp/wt.json 3000 || continue
        [ "$(json_value /tmp/wt.json ticks)" -ge "$_goal" ] 2>/dev/null && return 0
    done
    return 1
}

# agent_stop PREFIX SECONDS: SIGTERM, SIGKILL after SECONDS; FSRESULT PREFIX_stop EXIT S KILLED
# (EXIT is dead-before-stop:exit=N when it had already exited, N its status, 128+signal).
agent_stop() {
    if ! alive "$AGENT"; then
        _rc=0
        wait "$AGENT" 2>/dev/null || _rc=$?
        r "$1_stop" "dead-before-stop:exit=$_rc" 0 no
        return 0
    fi
    _t0=$(now)
    kill -TERM "$AGENT"
    _killed=no
    while alive "$AGENT"; do
        if [ "$(elapsed "$_t0" | cut -d. -f1)" -ge "$2" ]; then
            kill -KILL "$AGENT"
            _killed=yes
            break
        fi
        sleep 0.2
    done
    _rc=0
    wait "$AGENT" || _rc=$?
    r "$1_stop" "$_rc" "$(elapsed "$_t0")" "$_killed"
}

# kill_list FILE: SIGKILL every pid in the first column of FILE.
kill_list() {
    [ -s "$1" ] || return 0
    # shellcheck disable=SC2046
    kill -KILL $(cut -d' ' -f1 "$1") 2>/dev/null || true
}

# tally SPAWNED: "ok=N lost=N wrong=N gone=N ingroup=N" for "PID ORIGIN" lines, where a
# process is ok in its origin, lost in / (its origin forgotten), ingroup under ROOT_REL,
# wrong elsewhere, gone when dead. With DETAIL=1 also one "PID ORIGIN NOW STATE" per line.
tally() {
    awk -v root="$ROOT_REL" -v detail="${DETAIL:-0}" '
        {
            pid = $1; origin = $2; now = "gone"
            f = "/proc/" pid "/cgroup"
            while ((getline line < f) > 0) if (line ~ /^0::/) now = substr(line, 4)
            close(f)
            st = "/proc/" pid "/stat"; state = ""
            if ((getline line < st) > 0) { split(line, a, " "); state = a[3] }
            close(st)
            if (now == "gone" || state == "Z") k = "gone"
            else if (now == origin) k = "ok"
            else if (now == "/") k = "lost"
            else if (index(now, root "/") == 1 || now == root) k = "ingroup"
            else k = "wrong"
            n[k]++
            if (detail) print pid, origin, now, k
        }
        END { printf "ok=%d lost=%d wrong=%d gone=%d ingroup=%d\n", n["ok"], n["lost"], n["wrong"], n["gone"], n["ingroup"] }
    ' "$1"
}

finish_phase() { # finish_phase NAME: the agent's log as evidence
    block TEXT "$1_agent_output" "/tmp/$1.agent.out"
}

# --- 1. crash safety -----------------------------------------------------------------------
phase_crash() {
    R=$CG/fsrel1 ROOT_REL=/fsrel1 S=$RUN/p1/fairshare.sock P=/etc/fairshare/p1.toml
    cat >$P <<'EOF'
[agent]
interval = "500ms"
report_interval = "60s"

[[group]]
name = "ga"
shares = 100
[group.match]
comm = ["hold_a"]

[[group]]
name = "gb"
shares = 300
[group.match]
comm = ["hold_b", "hold_c"]
EOF
    : >/tmp/p1.spawned
    rm -f /tmp/p1.stop
    # Spawners: each sits in its origin so its children are born there; one new process
    # per origin every SPAWN_S seconds for the whole phase (the agent never matches `sh`).
    SPAWNERS=
    for spec in /origA:hold_a /origB:hold_b /origC/deep:hold_c; do
        o=${spec%%:*} b=${spec#*:}
        mkdir -p "$CG$o"
        sh -c '
            echo $$ >"/sys/fs/cgroup$0/cgroup.procs" || exit 1
            while [ ! -e /tmp/p1.stop ]; do
                "$1" </dev/null >/dev/null 2>&1 &
                echo "$! $0" >>/tmp/p1.spawned
                sleep "$2"
            done' "$o" "$b" "$SPAWN_S" &
        SPAWNERS="$SPAWNERS $!"
    done
    sleep 1
    GROUP_PROCS="$R/ga/cgroup.procs $R/gb/cgroup.procs"
    : >/tmp/p1.recover.out
    i=0
    while [ $i -lt "$KILLS" ]; do
        i=$((i + 1))
        agent_start p1 $P $R $S
        # Every third kill the instant a process lands in a group (between the moves of a
        # pass and the ledger write, the issue's reproduction); every fifth right at start;
        # the rest at a random delay spread over startup and many passes.
        if [ $((i % 3)) = 0 ]; then
            how=first-move
            # shellcheck disable=SC2086
            fired=$(killwhen -p "$AGENT" -t 30000 $GROUP_PROCS)
            [ "${fired%% *}" = fired ] || kill -KILL "$AGENT" 2>/dev/null
            delay=$(echo "$fired" | cut -d' ' -f2)
            how="$how:${fired%% *}"
        elif [ $((i % 5)) = 1 ]; then
            how=at-start delay=0
            kill -KILL "$AGENT"
        else
            rand_below "$KILL_SPREAD_MS"
            how=random delay=$RAND
            sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
            kill -KILL "$AGENT" 2>/dev/null
        fi
        wait "$AGENT" 2>/dev/null
        ledger=$(wc -l <$RUN/p1/origins 2>/dev/null || echo 0)
        ingroups=$(cat $GROUP_PROCS 2>/dev/null | wc -l)
        if [ $((i % 2)) = 1 ]; then result=signal; else result=exit-code; fi
        rc=0
        echo "--- kill $i SERVICE_RESULT=$result" >>/tmp/p1.recover.out
        SERVICE_RESULT=$result fairshare recover --mode auto --cgroup-root $R --socket $S \
            >>/tmp/p1.recover.out 2>&1 || rc=$?
        r p1_kill "$i" "$how" "$delay" "ledger_lines=$ledger" "in_groups=$ingroups" \
            "result=$result" "recover_exit=$rc" "$(tally /tmp/p1.spawned)"
    done
    # The last start: a few passes, no more births, then a clean stop.
    agent_start p1 $P $R $S
    r p1_final_ready "$(wait_ready $S 60)"
    wait_ticks $S 3 30 || r p1_final_ticks_timeout yes
    touch /tmp/p1.stop
    # shellcheck disable=SC2086
    wait $SPAWNERS 2>/dev/null
    wait_ticks $S 2 30 || r p1_final_ticks_timeout yes
    r p1_before_stop "$(tally /tmp/p1.spawned)"
    agent_stop p1 30
    r p1_spawned "$(wc -l </tmp/p1.spawned)"
    DETAIL=1 tally /tmp/p1.spawned >/tmp/p1.final
    r p1_after_stop "$(tail -n 1 /tmp/p1.final)"
    # Every process not back in its origin, by pid, as evidence.
    awk 'NF == 4 && $4 != "ok" { print "FSRESULT p1_misplaced", $0 }' /tmp/p1.final
    r p1_leftover_groups "$(find $R -mindepth 1 -type d 2>/dev/null | wc -l)" \
        "$(find $R -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')"
    block TEXT p1_recover_output /tmp/p1.recover.out
    finish_phase p1
    kill_list /tmp/p1.spawned
}

# --- 2. reload storm -----------------------------------------------------------------------
p2_policy() { # p2_policy SHARES_A SHARES_B: a valid policy
    cat <<EOF
[agent]
interval = "250ms"
report_interval = "60s"

[[group]]
name = "ra"
shares = $1
[group.match]
comm = ["hold_d"]

[[group]]
name = "rb"
shares = $2
[group.match]
comm = ["hold_e"]
EOF
}

# p2_write KIND: the policy file for one reload (valid ones alternate the shares 1:3, 3:1).
P2_VALID_A=1 P2_VALID_B=3
p2_write() {
    P=/etc/fairshare/p2.toml
    rm -f $P
    case $1 in
    valid)
        # Alternate the shares so every valid reload changes the weights.
        if [ "$P2_VALID_A" = 1 ]; then P2_VALID_A=3 P2_VALID_B=1; else P2_VALID_A=1 P2_VALID_B=3; fi
        p2_policy $P2_VALID_A $P2_VALID_B >$P
        ;;
    syntax) printf '[agent]\ninterval = "1s"\n\n[[group]\nname = "x"\n' >$P ;;
    zero-shares) p2_policy 0 5 >$P ;;
    unknown-key) p2_policy 2 5 | sed 's/^shares = 5$/shares = 5\nsharez = 5/' >$P ;;
    crash-brackets) # issue 8's crash.toml: 2117 x [ in a cmdline pattern
        awk 'BEGIN { s = ""; for (i = 0; i < 2117; i++) s = s "["; printf "[[group]]\nmatch.cmdline = \"%s\"\n", s }' >$P ;;
    nested-class) # a valid nested class: 3000 x [, a, 3000 x ]
        awk 'BEGIN { o = ""; c = ""; for (i = 0; i < 3000; i++) { o = o "["; c = c "]" }
                     printf "[[group]]\nname = \"n\"\nshares = 1\nmatch.cmdline = \"%sa%s\"\n", o, c }' >$P ;;
    dotted-20k) # a 20 KB dotted key: '.'.join(['a'] * 10000) + ' = 1'
        awk 'BEGIN { s = "a"; for (i = 1; i < 10000; i++) s = s ".a"; print s " = 1" }' >$P ;;
    fifo) mkfifo $P ;;
    group-writable) # a valid policy with other shares, but writable by the group
        p2_policy 7 1 >$P
        chmod 664 $P ;;
    foreign-owner) # a valid policy with other shares, owned by nobody
        p2_policy 7 1 >$P
        chown $NOBODY:$NOBODY $P ;;
    esac
    chmod go-w $P 2>/dev/null
    [ "$1" = group-writable ] && chmod 664 $P
    return 0
}

P2_INVALID_KINDS="syntax crash-brackets zero-shares dotted-20k fifo group-writable unknown-key nested-class foreign-owner"
p2_kind() { # p2_kind I: valid, or the (I/3)th invalid kind in turn
    if [ $(($1 % 3)) != 0 ]; then echo valid; return; fi
    set -- $(($1 / 3 - 1)) $P2_INVALID_KINDS
    _k=$(($1 % ($# - 1) + 2))
    eval "echo \${$_k}"
}

p2_weights() { # "W_A W_B M_A M_B": cpu.weight and member counts from the kernel
    echo "$(read_file $R/ra/cpu.weight) $(read_file $R/rb/cpu.weight)" \
        "$(wc -l <$R/ra/cgroup.procs 2>/dev/null || echo -1) $(wc -l <$R/rb/cgroup.procs 2>/dev/null || echo -1)"
}

phase_reload() {
    R=$CG/fsrel2 S=$RUN/p2/fairshare.sock P=/etc/fairshare/p2.toml
    mkdir -p $CG/orig2
    : >/tmp/p2.members
    sh -c 'echo $$ >/sys/fs/cgroup/orig2/cgroup.procs
        for b in hold_d hold_d hold_e hold_e; do "$b" </dev/null >/dev/null 2>&1 & echo "$! /orig2"; done' >/tmp/p2.members
    p2_write valid >/dev/null
    agent_start p2 $P $R $S
    r p2_ready "$(wait_ready $S 60)"
    wait_ticks $S 4 30
    # Two valid reloads to warm up (not counted), then the baseline.
    for w in 1 2; do
        p2_write valid
        status_to $S /tmp/p2.st
        n0=$(json_value /tmp/p2.st reloads)
        kill -HUP $AGENT
        t0=$(now)
        while [ "$(elapsed "$t0" | cut -d. -f1)" -lt "$RELOAD_WAIT_S" ]; do
            status_to $S /tmp/p2.st 3000 && [ "$(json_value /tmp/p2.st reloads)" -gt "${n0:-0}" ] 2>/dev/null && break
            sleep 0.1
        done
    done
    sleep 1
    r p2_rss_before_kb "$(rss_kb $AGENT)"
    status_to $S /tmp/p2.st
    block JSON p2_status_before /tmp/p2.st
    restarts=0
    i=0
    while [ $i -lt "$RELOADS" ]; do
        i=$((i + 1))
        kind=$(p2_kind $i)
        status_to $S /tmp/p2.st 3000
        n0=$(json_value /tmp/p2.st reloads)
        loaded0=$(json_value /tmp/p2.st loaded_at)
        before=$(p2_weights)
        p2_write "$kind"
        case $kind in valid | syntax | zero-shares | unknown-key) wait_s=$RELOAD_WAIT_S ;; *) wait_s=$PATHOLOGICAL_WAIT_S ;; esac
        kill -HUP $AGENT
        t0=$(now)
        seen=no
        while [ "$(elapsed "$t0" | cut -d. -f1)" -lt "$wait_s" ] && alive $AGENT; do
            if status_to $S /tmp/p2.st 2000 && [ "$(json_value /tmp/p2.st reloads)" -gt "${n0:-0}" ] 2>/dev/null; then
                seen=yes
                break
            fi
            sleep 0.1
        done
        latency=$(elapsed "$t0")
        if [ $kind = fifo ]; then
            # A reader blocked on the FIFO (the defect) gets an invalid text, so nothing hangs.
            (echo 'not a policy [' >$P) 2>/dev/null &
            fifo_writer=$!
            sleep 1
            kill -KILL $fifo_writer 2>/dev/null
            wait $fifo_writer 2>/dev/null
        fi
        stuck=no
        if [ $seen = no ] && alive $AGENT; then
            # Unanswered: give it 3 s more (a fed FIFO), else it is stuck, as a watchdog would see.
            stuck=yes
            t1=$(now)
            while [ "$(elapsed "$t1" | cut -d. -f1)" -lt 3 ]; do
                if status_to $S /tmp/p2.st 1000 && [ "$(json_value /tmp/p2.st reloads)" -gt "${n0:-0}" ] 2>/dev/null; then
                    stuck=no
                    break
                fi
                sleep 0.2
            done
        fi
        # Let a wrongly applied policy reach the cgroups before looking (4 intervals).
        sleep "$RELOAD_SETTLE_S"
        if [ "${kind}" = valid ]; then # a valid one: wait for its weights (up to 3 s more)
            t1=$(now)
            while [ "$(elapsed "$t1" | cut -d. -f1)" -lt 3 ]; do
                set -- $(p2_weights)
                [ "$1" != missing ] && [ "$2" != missing ] &&
                    [ $(($1 * P2_VALID_B)) = $(($2 * P2_VALID_A)) ] 2>/dev/null && break
                sleep 0.2
            done
        fi
        after=$(p2_weights)
        if alive $AGENT; then al=yes; else al=no; fi
        applied=-
        loaded1=-
        if status_to $S /tmp/p2.st 3000; then
            applied=$(grep -o '"last_reload":{[^}]*' /tmp/p2.st | grep -o '"applied":[a-z]*' | cut -d: -f2)
            loaded1=$(json_value /tmp/p2.st loaded_at)
        fi
        r p2_reload "$i" "$kind" "expect=$P2_VALID_A:$P2_VALID_B" "seen=$seen" "latency=$latency" \
            "applied=${applied:--}" "loaded_before=${loaded0:--}" "loaded_after=${loaded1:--}" \
            "before=$(echo $before | tr ' ' ,)" "after=$(echo $after | tr ' ' ,)" "alive=$al" "rss_kb=$(rss_kb $AGENT)"
        if [ $al = no ] || [ $stuck = yes ]; then
            # The storm goes on with a new agent on the last valid policy; the death (or the
            # hang, ended by SIGKILL as the unit's watchdog would) is counted.
            if [ $al = no ]; then
                wait $AGENT 2>/dev/null
                r p2_agent_died "$i" "$kind" "exit=$?"
            else
                r p2_reload_hung "$i" "$kind" "rss_kb=$(rss_kb $AGENT)" "cpu_ticks=$(cpu_ticks $AGENT)"
                kill -KILL $AGENT
                wait $AGENT 2>/dev/null
            fi
            restarts=$((restarts + 1))
            rm -f $P
            p2_policy $P2_VALID_A $P2_VALID_B >$P
            fairshare recover --mode keep --cgroup-root $R --socket $S >>/tmp/p2.agent.out 2>&1
            agent_start p2 $P $R $S
            r p2_restart_ready "$(wait_ready $S 60)"
            wait_ticks $S 2 30
        fi
        if [ $kind != valid ]; then # back to the last valid policy, a regular file, unsent
            rm -f $P
            p2_policy $P2_VALID_A $P2_VALID_B >$P
        fi
    done
    r p2_restarts $restarts
    r p2_rss_after_kb "$(rss_kb $AGENT)"
    status_to $S /tmp/p2.st
    block JSON p2_status_after /tmp/p2.st
    agent_stop p2 15
    finish_phase p2
    kill_list /tmp/p2.members
}

# --- 3. hostile command lines --------------------------------------------------------------
# p3_window NAME SOCKET SECONDS: sample every second; FSRESULT p3_window NAME ... with the
# passes done, the agent's CPU, the median and max of the last_pass_seconds samples and the
# final pass_seconds_median (when the agent reports them), and the status latencies.
p3_window() {
    _name=$1 _s=$2 _w=$3
    _ok0=no
    status_to "$_s" /tmp/p3.st 5000 && _ok0=yes
    _t0=$(json_value /tmp/p3.st ticks)
    _c0=$(cpu_ticks $AGENT)
    _start=$(now)
    : >/tmp/p3.samples
    while [ "$(elapsed "$_start" | cut -d. -f1)" -lt "$_w" ]; do
        : >/tmp/p3.sample
        _m=$(fsctl -s "$_s" -t 3000 -m -o /tmp/p3.sample 2>/dev/null)
        _last=$(json_value /tmp/p3.sample last_pass_seconds)
        echo "$_m ${_last:--}" >>/tmp/p3.samples
        sleep 1
    done
    _ok1=no
    status_to "$_s" /tmp/p3.st 5000 && _ok1=yes
    _t1=$(json_value /tmp/p3.st ticks)
    _c1=$(cpu_ticks $AGENT)
    _median=$(json_value /tmp/p3.st pass_seconds_median)
    _lat=$(awk '{ print $1 }' /tmp/p3.samples | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "status_ms_median=%s status_ms_max=%s status_n=%d", a[int((NR + 1) / 2)], a[NR], NR }')
    _bad=$(awk '$2 != "ok"' /tmp/p3.samples | wc -l)
    _lastmed=$(awk '$3 != "-" { print $3 }' /tmp/p3.samples | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }')
    _lastmax=$(awk '$3 != "-" { print $3 }' /tmp/p3.samples | sort -n | tail -n 1)
    r p3_window "$_name" "window_s=$(elapsed "$_start")" "ticks_before=${_t0:--}" "ticks_after=${_t1:--}" \
        "cpu_ticks=$((_c1 - _c0))" "clk_tck=100" "pass_seconds_median=${_median:--}" \
        "last_pass_median=$_lastmed" "last_pass_max=${_lastmax:--}" $_lat "status_failed=$_bad" "status_ok=$_ok0,$_ok1"
}

phase_hostile() {
    R=$CG/fsrel3 S=$RUN/p3/fairshare.sock
    if [ ! -s /etc/fairshare/hostile.list ]; then
        r p3_no_hostile_list yes
        return 0
    fi
    r p3_uid "$NOBODY"
    for policy in $(cut -d' ' -f1 /etc/fairshare/hostile.list | sort -u); do
        name=$(basename "$policy" .toml)
        grep "^$policy " /etc/fairshare/hostile.list >/tmp/p3.list
        kinds=$(wc -l </tmp/p3.list)
        per=$((HOSTILE_PROCS / kinds))
        r p3_policy "$name" "kinds=$kinds" "per_kind=$per"
        rm -rf $RUN/p3
        agent_start p3 "/etc/fairshare/shipped/$policy" $R $S --interval 1s
        r p3_ready "$name" "$(wait_ready $S 60)"
        wait_ticks $S 3 30
        for mode in benign hostile; do
            : >/tmp/p3.pids
            while read -r _pol argv0 unit label; do
                if [ $mode = benign ]; then
                    argbomb -u $NOBODY -g $NOBODY -n $per -0 "$argv0" -p ok -b 16 >>/tmp/p3.pids
                else
                    argbomb -u $NOBODY -g $NOBODY -n $per -0 "$argv0" -p "$unit" >>/tmp/p3.pids
                    r p3_crafted "$name" "$label" "argv0=$argv0" "unit=$unit" "procs=$per"
                fi
            done </tmp/p3.list
            sleep 1
            # The real size of what the agent reads: each process's /proc/PID/cmdline.
            # shellcheck disable=SC2046
            r p3_procs "$name" "$mode" "count=$(wc -l </tmp/p3.pids)" \
                "$(for p in $(cat /tmp/p3.pids); do wc -c <"/proc/$p/cmdline"; done | sort -n |
                    awk '{ a[NR] = $1 } END { printf "cmdline_min=%d cmdline_max=%d", a[1], a[NR] }')" \
                "uids=$(for p in $(cat /tmp/p3.pids); do awk '$1 == "Uid:" { print $2 }' /proc/$p/status; done | sort -u | tr '\n' ,)"
            # Measure from here: the window holds the passes that first see them (classified
            # once, when they appear) and the steady ones after.
            p3_window "$name:$mode" $S "$HOSTILE_WINDOW_S"
            [ $mode = hostile ] || { kill_list /tmp/p3.pids; sleep 1; wait_ticks $S 2 20; }
        done
        if alive $AGENT; then r p3_alive "$name" yes; else r p3_alive "$name" no; fi
        agent_stop p3 15
        kill_list /tmp/p3.pids
    done
    finish_phase p3
}

# --- 4. socket abuse -----------------------------------------------------------------------
phase_socket() {
    R=$CG/fsrel4 S=$RUN/p4/fairshare.sock P=/etc/fairshare/p4.toml
    p2_policy 1 2 >$P
    agent_start p4 $P $R $S
    r p4_ready "$(wait_ready $S 60)"
    wait_ticks $S 2 30
    r p4_socket "$(stat -c '%a %U:%G' $S)" "dir=$(stat -c '%a %U:%G' $RUN/p4)"
    r p4_client "uid=$NOBODY" "gids=$NOBODY,$FS_GID" "group_line=$(grep '^fairshare:' /etc/group)"
    r p4_fds_before "$(fd_count $AGENT)"
    slowclients -s $S -n "$SOCKET_CONNS" -d "$SOCKET_WINDOW_S" -u $NOBODY -g $NOBODY -G $FS_GID -r 5 \
        >/tmp/p4.slow 2>&1 &
    slow=$!
    sleep 1
    start=$(now)
    # Root's status every second while the connections hold (until slowclients ends); an
    # answer slower than 2 s counts as a timeout, so the sampling goes on.
    while alive $slow && [ "$(elapsed "$start" | cut -d. -f1)" -lt "$SOCKET_WINDOW_S" ]; do
        t=$(elapsed "$start")
        m=$(fsctl -s $S -t 2000 -m 2>/dev/null || true)
        r p4_sample "t=$t" "$m" "fds=$(fd_count $AGENT)" \
            "threads=$(awk '$1 == "Threads:" { print $2 }' /proc/$AGENT/status 2>/dev/null)"
        # The next sample a second after this one started (at once after a timeout).
        [ "${m#* }" = timeout ] || sleep 1
    done
    wait $slow
    r p4_slowclients_exit $?
    block TEXT p4_slowclients /tmp/p4.slow
    r p4_slowclients_final "$(grep '^final' /tmp/p4.slow | cut -d' ' -f3-)"
    sleep 3
    r p4_fds_after "$(fd_count $AGENT)"
    r p4_status_after "$(fsctl -s $S -t 5000 -m 2>/dev/null || true)"
    if alive $AGENT; then r p4_alive yes; else r p4_alive no; fi
    agent_stop p4 15
    finish_phase p4
}

# --- 5. descriptor limit (issue 19) -------------------------------------------------------
# p5_lowest_free PID: the lowest descriptor number PID does not hold. With RLIMIT_NOFILE set
# to it, every open(2), socket(2), accept(2) ... of PID fails with EMFILE (the kernel hands
# out the lowest free number). The least of a few looks, so a descriptor open only for the
# length of one read is not taken for a held one.
p5_lowest_free() {
    _min=
    for _i in 1 2 3 4 5; do
        _n=$(ls "/proc/$1/fd" 2>/dev/null | sort -n | awk 'BEGIN { n = 0 } $1 == n { n++ } END { print n }')
        if [ -z "$_min" ] || [ "$_n" -lt "$_min" ]; then _min=$_n; fi
        sleep 0.05
    done
    echo "$_min"
}

# p5_nofile PID: "SOFT:HARD" of Max open files in /proc/PID/limits.
p5_nofile() { awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$1/limits" 2>/dev/null; }

# p5_origins_named: how many processes of /tmp/p5.procs the ledger names with the cgroup they
# were born in (entries are "PID START REASON GROUP ORIGIN", tab-separated, after a header).
p5_origins_named() {
    awk -F'\t' 'NR == FNR { if (NF == 5) o[$1] = $5; next } ($1 in o) && o[$1] == $2 { n++ } END { print n + 0 }' \
        $L FS=' ' /tmp/p5.procs 2>/dev/null || echo 0
}

# p5_state LABEL: where the processes of /tmp/p5.procs are, what the ledger says of them,
# which groups exist: one FSRESULT p5_state line.
p5_state() {
    _lines=0 _entries=0 _origins=0 _sum=none
    if [ -f $L ]; then
        _lines=$(wc -l <$L)
        _sum=$(md5sum <$L | cut -c1-12)
        _entries=$(awk -F'\t' 'NF == 5' $L | wc -l)
        _origins=$(p5_origins_named)
    fi
    _groups=$(for g in fa fb; do [ -d "$R/$g" ] && printf '%s,' "$g"; done)
    if alive "$AGENT"; then _al=yes; else _al=no; fi
    r p5_state "$1" "t=$(now)" "$(tally /tmp/p5.procs)" "procs=$(wc -l </tmp/p5.procs)" \
        "ledger_lines=$_lines" "ledger_entries=$_entries" "ledger_origins=$_origins" "ledger_cksum=$_sum" \
        "groups=${_groups:-none}" "fa=$(wc -l <$R/fa/cgroup.procs 2>/dev/null || echo -1)" \
        "fb=$(wc -l <$R/fb/cgroup.procs 2>/dev/null || echo -1)" "alive=$_al" "fds=$(fd_count "$AGENT")"
}

# p5_mark NAME: the agent's log so far, in lines (the checker reads each stretch by them).
p5_mark() { r p5_mark "$1" "$(wc -l </tmp/p5.agent.out)" "t=$(now)"; }

# p5_set LABEL N: soft = hard RLIMIT_NOFILE of the agent to N (prlimit(1), as root).
p5_set() {
    _rc=0
    prlimit --pid "$AGENT" "--nofile=$2:$2" >/tmp/p5.prlimit 2>&1 || _rc=$?
    r p5_limit "$1" "rc=$_rc" "nofile=$2" "now=$(p5_nofile "$AGENT")" "fds=$(fd_count "$AGENT")" \
        "held=$(ls /proc/$AGENT/fd 2>/dev/null | sort -n | tr '\n' ,)" "err=$(head -c 200 /tmp/p5.prlimit | tr ' \n' '_ ')"
}

# p5_reserve_fds PID: the descriptors PID holds open on /dev/null (the agent's descriptor
# reserve), comma-separated.
p5_reserve_fds() {
    for _f in /proc/$1/fd/*; do
        [ "$(readlink "$_f" 2>/dev/null)" = /dev/null ] && basename "$_f"
    done | sort -n | tr '\n' ,
}

# p5_limit LABEL: RLIMIT_NOFILE down to the lowest descriptor the agent does not hold, so every
# new descriptor fails with EMFILE. A descriptor it held only for a moment (the answer to the
# last status request, a file being read) may close after the look: the limit follows it down
# for a second. The agent's reserve, given up at the first EMFILE, is not followed: working
# on it is what the agent does under a full table (a limit below it is the stop's case, B).
p5_limit() {
    _reserve=$(p5_reserve_fds "$AGENT")
    r p5_reserve "$1" "fds=$_reserve"
    _n=$(p5_lowest_free "$AGENT")
    p5_set "$1" "$_n"
    _t=$(now)
    while [ "$(elapsed "$_t" | cut -d. -f1)" -lt 1 ] && alive "$AGENT"; do
        _m=$(p5_lowest_free "$AGENT")
        if alive "$AGENT" && [ "$_m" -lt "$_n" ]; then
            case ",$_reserve" in
            *",$_m,"*) r p5_reserve_given_up "$1" "fd=$_m" "t=$(now)"; break ;;
            esac
            _n=$_m
            p5_set "$1-again" "$_n"
        fi
    done
}

# p5_threads FILE: "TID NAME TICKS" of each thread of the agent.
p5_threads() {
    for _t in /proc/$AGENT/task/*; do
        [ -r "$_t/stat" ] && echo "$(basename "$_t") $(tr ' ' _ <"$_t/comm") $(awk '{ print $14 + $15 }' "$_t/stat")"
    done >"$1" 2>/dev/null
}

# p5_wait_ingroup SECONDS: until every process of /tmp/p5.procs is in a group; prints the
# seconds waited or "never".
p5_wait_ingroup() {
    _t0=$(now)
    _want=$(wc -l </tmp/p5.procs)
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt "$1" ]; do
        if [ "$(tally /tmp/p5.procs | sed 's/.*ingroup=//')" = "$_want" ]; then elapsed "$_t0"; return 0; fi
        sleep 0.2
    done
    echo never
    return 1
}

# p5_wait_ledger SECONDS: until the ledger names every process of /tmp/p5.procs with its origin.
p5_wait_ledger() {
    _t0=$(now)
    _want=$(wc -l </tmp/p5.procs)
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt "$1" ]; do
        if [ "$(p5_origins_named)" = "$_want" ]; then elapsed "$_t0"; return 0; fi
        sleep 0.2
    done
    echo never
    return 1
}

phase_fdlimit() {
    R=$CG/fsrel5 ROOT_REL=/fsrel5 S=$RUN/p5/fairshare.sock P=/etc/fairshare/p5.toml L=$RUN/p5/origins
    # Every pass scans /proc (rescan_interval = interval): the kernel's process events would
    # otherwise keep the memberships between rescans, and the scan is what the limit breaks.
    cat >$P <<'EOF'
[agent]
interval = "1s"
rescan_interval = "1s"
report_interval = "60s"

[[group]]
name = "fa"
shares = 100
[group.match]
comm = ["hold_a"]

[[group]]
name = "fb"
shares = 200
[group.match]
comm = ["hold_b"]
EOF
    # No prlimit in the image: the limit checks fail (the phase goes on, so the rest shows).
    if command -v prlimit >/dev/null 2>&1; then r p5_prlimit "$(command -v prlimit)"; else r p5_prlimit missing; fi
    # FDLIMIT_PROCS processes, hold_a and hold_b in turn, born in two origins (each origin has
    # both kinds, so a process's group does not tell where it came from).
    : >/tmp/p5.procs
    for o in /fdo/x /fdo/y/deep; do
        mkdir -p "$CG$o"
        sh -c 'echo $$ >"/sys/fs/cgroup$0/cgroup.procs" || exit 1
            i=0
            while [ $i -lt "$1" ]; do
                i=$((i + 1))
                if [ $((i % 2)) = 1 ]; then b=hold_a; else b=hold_b; fi
                "$b" </dev/null >/dev/null 2>&1 &
                echo "$! $0"
            done' "$o" $((FDLIMIT_PROCS / 2)) >>/tmp/p5.procs
    done
    r p5_procs "$(wc -l </tmp/p5.procs)" "origins=/fdo/x,/fdo/y/deep"
    : >/tmp/p5.agent.out
    agent_start p5 $P $R $S
    r p5_ready "$(wait_ready $S 60)"
    r p5_ingroup_s "$(p5_wait_ingroup 30)"
    r p5_ledger_s "$(p5_wait_ledger 30)"
    wait_ticks $S 2 30 || r p5_ticks_timeout before
    p5_state before
    block TEXT p5_ledger_before $L

    # A. Under the limit for FDLIMIT_WINDOW_S seconds (a pass a second), then raised again.
    ORIG_NOFILE=$(p5_nofile $AGENT)
    sleep 1 # the last status answer's descriptor closed
    cpu0=$(cpu_ticks $AGENT)
    p5_threads /tmp/p5.threads0
    p5_mark limited
    p5_limit limited
    t0=$(now)
    # The control socket meanwhile, as an admin's `fairshare status` would: accept(2) needs a
    # descriptor too, which the agent's reserve gives it once the first open failed.
    r p5_status_limited "$(fsctl -s $S -t 2000 -m 2>/dev/null || true)"
    n=0
    while [ "$(elapsed "$t0" | cut -d. -f1)" -lt "$FDLIMIT_WINDOW_S" ] || [ $n -lt 3 ]; do
        sleep 1
        p5_state limited
        n=$((n + 1))
    done
    p5_threads /tmp/p5.threads1
    # The agent's CPU under the limit, and its busiest thread's.
    r p5_limited_cpu "ticks=$(($(cpu_ticks $AGENT) - cpu0))" "window_s=$(elapsed "$t0")" "clk_tck=100" \
        "busiest=$(awk 'NR == FNR { t[$1] = $3; next } { d = $3 - t[$1]; if (d > m) { m = d; b = $2 ":" d } } END { print b }' \
            /tmp/p5.threads0 /tmp/p5.threads1 2>/dev/null)"
    p5_mark raised
    rc=0
    prlimit --pid "$AGENT" "--nofile=$ORIG_NOFILE" >/tmp/p5.prlimit 2>&1 || rc=$?
    r p5_raise "rc=$rc" "nofile=$ORIG_NOFILE" "now=$(p5_nofile $AGENT)"
    t1=$(now)
    # A process born after the raise: moved into its group once the agent acts again.
    sh -c 'echo $$ >/sys/fs/cgroup/fdo/x/cgroup.procs || exit 1
        hold_a </dev/null >/dev/null 2>&1 &
        echo "$! /fdo/x"' >/tmp/p5.late
    late=$(cut -d' ' -f1 /tmp/p5.late)
    moved=never recovered=never
    while [ "$(elapsed "$t1" | cut -d. -f1)" -lt 15 ] && alive $AGENT; do
        [ $moved = never ] && [ "$(cgroup_of "$late")" = "$ROOT_REL/fa" ] && moved=$(elapsed "$t1")
        [ $recovered = never ] && grep -q "the agent's descriptors works again" /tmp/p5.agent.out && recovered=$(elapsed "$t1")
        [ $moved != never ] && [ $recovered != never ] && break
        sleep 0.2
    done
    r p5_late "pid=$late" "moved_s=$moved" "recovered_s=$recovered" "now=$(cgroup_of "$late")"
    r p5_status_raised "$(fsctl -s $S -t 5000 -m 2>/dev/null || true)"
    cat /tmp/p5.late >>/tmp/p5.procs
    # A dead agent (see the README) is not waited for.
    if alive $AGENT; then
        r p5_ledger_late_s "$(p5_wait_ledger 10)"
        wait_ticks $S 2 30 || r p5_ticks_timeout raised
    fi
    p5_state raised

    # B. Under the limit again, half a second, then SIGTERM (as systemd would stop it); then
    # `fairshare recover --mode hand-back` with the normal limit. The limit is 3 here (only
    # stdin, stdout and stderr fit under it): stopping closes descriptors of the agent's own
    # (the process events' netlink socket at the start of the release, the control socket's
    # listener), and under a limit of the descriptors held the release's read of /proc would
    # get their slots, or not, as the timing goes.
    p5_mark stop_limited
    p5_set stop 3
    sleep 0.5
    p5_state stop_limited
    p5_mark stop
    agent_stop p5 30
    p5_state after_stop
    block TEXT p5_ledger_after_stop $L
    p5_mark recover
    rc=0
    fairshare recover --mode hand-back --cgroup-root $R --socket $S >/tmp/p5.recover.out 2>&1 || rc=$?
    r p5_recover_exit "$rc"
    block TEXT p5_recover_output /tmp/p5.recover.out
    p5_state after_recover
    DETAIL=1 tally /tmp/p5.procs | awk 'NF == 4 && $4 != "ok" { print "FSRESULT p5_misplaced", $0 }'
    r p5_leftover_groups "$(find $R -mindepth 1 -type d 2>/dev/null | wc -l)" \
        "$(find $R -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')"
    finish_phase p5
    kill_list /tmp/p5.procs
}

for phase in $PHASES; do
    r phase_start "$phase" "$(now)"
    "phase_$phase"
    r phase_end "$phase" "$(now)"
done
exit 0

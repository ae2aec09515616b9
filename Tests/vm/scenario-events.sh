#!/bin/sh
# Issue 10 in the real-kernel guest: how soon new processes land in their group, measured
# from outside by evprobe, for the fairshare agent and for libcgroup's cgrulesengd side by
# side. Run as /scenario.sh by busybox sh; it only measures and prints (FSRESULT lines, see
# guest-lib.sh); Tests/vm/check-events.py asserts and makes the table.
#
# Parameters come from /etc/fairshare/events.env (written by mk/events.mk):
#   SUBJECTS   any of: fairshare cgrulesengd (in this order)
#   PHASES     any of: controls latency short churn burst idle
#   LAT_N LAT_PAR  SHORT_N SHORT_PAR SHORT_LIFE_MS  CHURN_RATE CHURN_S  BURST_N BURST_EVERY
#   BURST_WAIT_S  IDLE_S IDLE_SMALL IDLE_LARGE RSS_N  INTERVAL (the agent's, seconds)
# Every process a probe starts is born in /origin; the agent's group for comm evp_match is
# /fairshare/evp, cgrulesengd's is /bench/grp.
set -u
. /lib/vm-lib.sh

SUBJECTS="fairshare cgrulesengd"
PHASES="controls latency short churn burst idle"
LAT_N=1000 LAT_PAR=4 SHORT_N=1000 SHORT_PAR=20 SHORT_LIFE_MS=10 CHURN_RATE=500 CHURN_S=30
BURST_N=20000 BURST_EVERY=20 BURST_WAIT_S=15 IDLE_S=60 IDLE_SMALL=50 IDLE_LARGE=5000 RSS_N=10000
INTERVAL=2
# 1: remount cgroup2 with favordynmods (6.0+): a move into a cgroup (a write to cgroup.procs)
# then no longer waits for an RCU grace period, which under emulation is most of its cost.
FAVORDYNMODS=0
# The agent's safety-net rescan (a full /proc walk) period.
RESCAN_INTERVAL=60s
[ ! -r /etc/fairshare/events.env ] || . /etc/fairshare/events.env
for k in SUBJECTS PHASES LAT_N LAT_PAR SHORT_N SHORT_PAR SHORT_LIFE_MS CHURN_RATE CHURN_S BURST_N \
    BURST_EVERY BURST_WAIT_S IDLE_S IDLE_SMALL IDLE_LARGE RSS_N INTERVAL FAVORDYNMODS RESCAN_INTERVAL; do
    eval "r param $k \"\$$k\""
done

# The 10 groups of the policy: evp_match plus nine more (the idle sleepers use all ten names).
NAMES="evp_match evp_g1 evp_g2 evp_g3 evp_g4 evp_g5 evp_g6 evp_g7 evp_g8 evp_g9"
ROOT=$CG/fairshare
POLICY=/etc/fairshare/policy.toml
# Room for the idle phase's 10,000 sleepers (1 GiB guests default to about 7,800 tasks).
echo 40000 >/proc/sys/kernel/threads-max
r clk_tck 100

has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "$FAVORDYNMODS" = 1 ]; then
    mount -o remount,favordynmods $CG && r favordynmods yes || r favordynmods failed
else
    r favordynmods no
fi
# The probes start in /origin: this shell moves there, so every child is born in it.
mkdir -p $CG/origin
echo $$ >$CG/origin/cgroup.procs
r scenario_cgroup "$(cgroup_of $$)"

# --- controls: the probe itself, with no agent --------------------------------------------
# A group the probes are born in must read as caught, one they never reach as missed: a
# broken probe (no samples, wrong path parsing) fails here, not as a pass.
if has_phase controls; then
    evprobe short control_pos "$SHORT_PAR" "$SHORT_PAR" "$SHORT_LIFE_MS" /origin
    evprobe short control_neg "$SHORT_PAR" "$SHORT_PAR" "$SHORT_LIFE_MS" /never
    evprobe latency control_lat 20 1 /origin
fi

SUBJECT_PID=
subject_alive() { [ -n "$SUBJECT_PID" ] && alive "$SUBJECT_PID"; }

# wait_caught SUBJECT EXPECTED: run single probes until one is caught (the subject is up and
# classifies), at most 30 tries of 3 s.
wait_caught() {
    _t0=$(now)
    _i=0
    while [ $_i -lt 30 ] && subject_alive; do
        _i=$((_i + 1))
        if evprobe latency ready 1 1 "$2" | grep -q ' caught=1 '; then
            r ready "$1" yes "$(elapsed "$_t0")"
            return 0
        fi
    done
    r ready "$1" no "$(elapsed "$_t0")"
    return 1
}

# measured SUBJECT PHASE CMD...: run CMD; its FSRESULT lines pass through, and the subject's
# CPU ticks over CMD's run become "FSRESULT cpu SUBJECT PHASE TICKS SECONDS".
measured() {
    _s=$1 _p=$2
    shift 2
    _k0=$(ticks_of "$SUBJECT_PID")
    _t0=$(now)
    "$@"
    r cpu "$_s" "$_p" $(($(ticks_of "$SUBJECT_PID") - _k0)) "$(elapsed "$_t0")"
}

rss_of() { # rss_of SUBJECT LABEL: VmRSS and VmHWM in kB
    r rss "$1" "$2" "$(awk '$1 == "VmRSS:" { print $2 }' /proc/$SUBJECT_PID/status)" \
        "$(awk '$1 == "VmHWM:" { print $2 }' /proc/$SUBJECT_PID/status)"
}

status_json() { # status_json NAME: fairshare's status (only while it runs)
    [ "$SUBJECT" = fairshare ] || return 0
    capture_json "$1" fairshare status --json
}

# idle SUBJECT EXPECTED: sleepers (half of them named after the ten groups), the subject's CPU
# over IDLE_S with IDLE_SMALL and with IDLE_LARGE of them, its RSS with RSS_N.
idle_phase() {
    : >/tmp/idle.keepers
    _have=0
    for _step in small:$IDLE_SMALL large:$IDLE_LARGE rss:$RSS_N; do
        _label=${_step%%:*} _want=${_step#*:}
        _add=$((_want - _have))
        if [ $_add -gt 0 ]; then
            evprobe idle "idle_$_label" "$_add" "/tmp/idle.$_label.pids" $NAMES >/tmp/idle.$_label.out &
            echo $! >>/tmp/idle.keepers
            # The keeper prints its line once every sleeper exists.
            _i=0
            while ! grep -q FSRESULT /tmp/idle.$_label.out 2>/dev/null && [ $_i -lt 600 ]; do
                sleep 0.5
                _i=$((_i + 1))
            done
            cat /tmp/idle.$_label.out
            _have=$_want
        fi
        r procs "$1" "$_label" "$(ls -d /proc/[0-9]* | wc -l)"
        # Let the subject sort the newcomers (a scan needs up to an interval, then a pass).
        sleep $((3 * INTERVAL + 4))
        r idle_members "$1" "$_label" "$(wc -l <"$CG$2/cgroup.procs" 2>/dev/null || echo 0)"
        if [ "$_label" = rss ]; then
            rss_of "$1" rss
        else
            measured "$1" "idle_$_label" sleep "$IDLE_S"
        fi
    done
    while read -r _k; do kill -TERM "$_k"; wait "$_k" 2>/dev/null; done </tmp/idle.keepers
    r procs "$1" after_idle "$(ls -d /proc/[0-9]* | wc -l)"
}

# run_phases SUBJECT EXPECTED: every phase that needs a subject.
run_phases() {
    _s=$1 _g=$2
    if has_phase latency; then
        measured "$_s" latency evprobe latency "$_s" "$LAT_N" "$LAT_PAR" "$_g"
        status_json "status_latency"
    fi
    if has_phase short; then
        measured "$_s" short evprobe short "$_s" "$SHORT_N" "$SHORT_PAR" "$SHORT_LIFE_MS" "$_g"
        status_json "status_short"
    fi
    if has_phase churn; then
        measured "$_s" churn evprobe churn "$_s" "$CHURN_RATE" "$CHURN_S" "$_g"
        status_json "status_churn"
    fi
    if has_phase burst; then
        status_json "status_before_burst"
        measured "$_s" burst evprobe burst "$_s" "$BURST_N" "$BURST_EVERY" "$_g" "$BURST_WAIT_S"
        status_json "status_burst"
    fi
    if has_phase idle; then
        idle_phase "$_s" "$_g"
        status_json "status_idle"
    fi
    rss_of "$_s" end
}

# --- fairshare ------------------------------------------------------------------------------
start_fairshare() {
    {
        printf '[agent]\ninterval = "%ss"\nreport_interval = "60s"\nrescan_interval = "%s"\n' "$INTERVAL" "$RESCAN_INTERVAL"
        g=0
        for n in $NAMES; do
            if [ $n = evp_match ]; then name=evp; else name=g$g; fi
            printf '\n[[group]]\nname = "%s"\nshares = %d\n[group.match]\ncomm = ["%s"]\n' "$name" $((100 + g)) "$n"
            g=$((g + 1))
        done
    } >$POLICY
    fairshare run --policy $POLICY --cgroup-root $ROOT --log-target console >/tmp/fairshare.out 2>&1 &
    SUBJECT_PID=$!
    r subject_pid fairshare "$SUBJECT_PID"
}

stop_subject() {
    if subject_alive; then
        kill -TERM "$SUBJECT_PID"
        _i=0
        while alive "$SUBJECT_PID" && [ $_i -lt 60 ]; do sleep 0.5; _i=$((_i + 1)); done
        alive "$SUBJECT_PID" && kill -KILL "$SUBJECT_PID"
        wait "$SUBJECT_PID" 2>/dev/null
        r stopped "$SUBJECT" "$?"
    else
        r died "$SUBJECT" yes
    fi
}

# --- cgrulesengd ----------------------------------------------------------------------------
start_cgrulesengd() {
    if [ ! -x /usr/sbin/cgrulesengd ]; then
        r cgrulesengd_missing yes
        return 1
    fi
    mkdir -p $CG/bench/grp
    # The same controllers as the agent's groups (libcgroup looks the rule's up in the mount).
    echo "+cpu +io" >$CG/cgroup.subtree_control 2>/dev/null
    echo "+cpu +io" >$CG/bench/cgroup.subtree_control 2>/dev/null
    r bench_controllers "$(read_file $CG/bench/grp/cgroup.controllers)"
    printf '# issue 10: the rule equivalent to the agent group "evp"\n*:evp_match\tcpu,io\tbench/grp\n' >/etc/cgrules.conf
    block TEXT cgrules_conf /etc/cgrules.conf
    # It refuses to start without these (Debian's package ships the directories empty; the
    # groups themselves are made above, so cgconfig.conf defines nothing).
    mkdir -p /var/run /etc/cgconfig.d /etc/cgrules.d
    echo '# the groups are created by the scenario' >/etc/cgconfig.conf
    # -n: stay in the foreground; the default log level (warnings) to a file.
    /usr/sbin/cgrulesengd -n -f /tmp/cgrulesengd.log >/tmp/cgrulesengd.out 2>&1 &
    SUBJECT_PID=$!
    r subject_pid cgrulesengd "$SUBJECT_PID"
    r cgrulesengd_version "$(cat /etc/cgroup-tools.version 2>/dev/null || echo unknown)"
}

for SUBJECT in $SUBJECTS; do
    r subject_begin "$SUBJECT" "$(now)"
    case $SUBJECT in
        fairshare) start_fairshare; GROUP=/fairshare/evp ;;
        cgrulesengd) start_cgrulesengd || continue; GROUP=/bench/grp ;;
        *) r unknown_subject "$SUBJECT"; continue ;;
    esac
    sleep 1
    if wait_caught "$SUBJECT" "$GROUP"; then
        status_json status_start
        run_phases "$SUBJECT" "$GROUP"
        status_json status_end
        [ "$SUBJECT" != fairshare ] || capture status_text fairshare status
    fi
    stop_subject
    case $SUBJECT in
        fairshare) f=/tmp/fairshare.out ;;
        cgrulesengd) cat /tmp/cgrulesengd.out >>/tmp/cgrulesengd.log 2>/dev/null; f=/tmp/cgrulesengd.log ;;
    esac
    r output_lines "$SUBJECT" "$(wc -l <$f 2>/dev/null || echo 0)"
    tail -n 40 "$f" >/tmp/tail.out 2>/dev/null
    block TEXT "output_$SUBJECT" /tmp/tail.out
    r subject_end "$SUBJECT" "$(now)"
    SUBJECT_PID=
done
exit 0

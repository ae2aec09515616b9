# Helpers shared by the guest scenarios (busybox sh). Installed as /lib/vm-lib.sh.
# Output protocol, parsed by check-enforce.py:
#   FSRESULT KEY VALUE...              one measurement per line
#   FSJSON-BEGIN NAME ... FSJSON-END   a JSON document (or JSON lines)
#   FSTEXT-BEGIN NAME ... FSTEXT-END   free text kept for the report

CG=/sys/fs/cgroup

r() { echo "FSRESULT $*"; }

# Seconds since boot with 10 ms resolution (busybox date has no %N).
now() { cut -d' ' -f1 /proc/uptime; }

# elapsed T0: seconds since T0 (a value of now), two decimals.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# block KIND NAME FILE: print FILE between markers (KIND is JSON or TEXT).
block() {
    echo "FS$1-BEGIN $2"
    if [ -s "$3" ]; then
        cat "$3"
        # A last line without newline would swallow the end marker.
        [ -z "$(tail -c 1 "$3")" ] || echo
    fi
    echo "FS$1-END"
}

# capture NAME CMD...: run CMD, print its stdout+stderr as text block NAME and
# its exit status as FSRESULT NAME_exit.
capture() {
    _name=$1
    shift
    _rc=0
    "$@" >/tmp/capture.out 2>&1 || _rc=$?
    block TEXT "$_name" /tmp/capture.out
    r "${_name}_exit" "$_rc"
    return 0
}

# capture_json NAME CMD...: stdout as JSON block NAME, stderr as text block
# NAME_stderr (only if non-empty), exit status as FSRESULT NAME_exit.
capture_json() {
    _name=$1
    shift
    _rc=0
    "$@" >/tmp/capture.out 2>/tmp/capture.err || _rc=$?
    block JSON "$_name" /tmp/capture.out
    [ ! -s /tmp/capture.err ] || block TEXT "${_name}_stderr" /tmp/capture.err
    r "${_name}_exit" "$_rc"
    return 0
}

# Busy processes per group: more than the 2 vCPUs, and an even number so each group's tasks
# can spread evenly over both CPUs (with 3, one CPU always holds two of a group's tasks and
# the kernel's per-CPU split of group weights makes the result depend on task placement).
BURNERS_PER_GROUP=${BURNERS_PER_GROUP:-3}

# start_burners CGROUP NAME...: start BURNERS_PER_GROUP copies of each burner NAME inside
# CGROUP (created if needed); appends "NAME PID" lines to /tmp/burners.
start_burners() {
    _cg=$1
    shift
    mkdir -p "$_cg"
    # A child shell moves itself first, so the burners are born in the cgroup.
    sh -c '
        echo $$ >"$0/cgroup.procs" || exit 1
        for n in "$@"; do
            i=0
            while [ $i -lt '"$BURNERS_PER_GROUP"' ]; do
                i=$((i + 1))
                "$n" </dev/null >/dev/null 2>&1 &
                echo "$n $!"
            done
        done' "$_cg" "$@" >>/tmp/burners
}

# cgroup_of PID: the cgroup v2 path of PID ("gone" if it has exited).
cgroup_of() {
    sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null || true
    [ -e "/proc/$1" ] || echo gone
}

# usage_of CGROUP_DIR: usage_usec from its cpu.stat ("missing" if unreadable).
usage_of() {
    awk '$1 == "usage_usec" { print $2; f = 1 } END { if (!f) print "missing" }' "$1/cpu.stat" 2>/dev/null ||
        echo missing
}

# ticks_of PID: CPU time used so far by PID, in clock ticks (utime + stime).
ticks_of() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# read_file FILE: its first line, "missing" when absent.
read_file() {
    head -n 1 "$1" 2>/dev/null || echo missing
}

# alive PID: running and not a zombie.
alive() {
    [ -r "/proc/$1/stat" ] || return 1
    # Field 3 of /proc/PID/stat is the state; comm (field 2) has no spaces here.
    [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]
}

# start_journald: start systemd-journald by hand if the image has it. Sets JPID.
start_journald() {
    JPID=
    if [ ! -x /lib/systemd/systemd-journald ]; then
        r journald no
        return 0
    fi
    /lib/systemd/systemd-journald </dev/null >/tmp/journald.out 2>&1 &
    JPID=$!
    _t0=$(now)
    _i=0
    while [ ! -S /run/systemd/journal/socket ] && [ $_i -lt 50 ]; do
        sleep 0.2
        _i=$((_i + 1))
    done
    # systemd normally adds this link (systemd-journald-dev-log.socket): syslog(3) users need it.
    ln -sf /run/systemd/journal/dev-log /dev/log
    if [ -S /run/systemd/journal/socket ]; then
        r journald yes
        r journald_start_s "$(elapsed "$_t0")"
    else
        r journald no
        block TEXT journald_output /tmp/journald.out
        JPID=
    fi
}

# dump_journal NAME IDENTIFIER: the entries of IDENTIFIER as JSON lines.
dump_journal() {
    [ -n "${JPID:-}" ] || return 0
    journalctl --sync >/dev/null 2>&1 || true
    capture_json "$1" journalctl -o json --no-pager "SYSLOG_IDENTIFIER=$2"
    capture "$1_text" journalctl -o short-monotonic --no-pager "SYSLOG_IDENTIFIER=$2"
}

# stop_with_timeout PID SECONDS: SIGTERM a child of this shell and wait for it,
# SIGKILL after SECONDS. Prints FSRESULT stop_exit / stop_s / stop_killed.
stop_with_timeout() {
    _pid=$1
    _t0=$(now)
    rm -f /tmp/watchdog.fired
    (sleep "$2" && touch /tmp/watchdog.fired && kill -KILL "$_pid") 2>/dev/null &
    _wd=$!
    kill -TERM "$_pid" 2>/dev/null || true
    _rc=0
    wait "$_pid" || _rc=$?
    kill "$_wd" 2>/dev/null || true
    r stop_exit "$_rc"
    r stop_s "$(elapsed "$_t0")"
    if [ -e /tmp/watchdog.fired ]; then r stop_killed yes; else r stop_killed no; fi
}

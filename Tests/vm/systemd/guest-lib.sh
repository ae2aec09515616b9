# shellcheck shell=bash
# Helpers for tier-2 scenarios (run by the guest's systemd from the host's tree, in place).
# Source it as `. "$(dirname "$0")/guest-lib.sh"`. It brings the tier-1 output protocol
# (../guest-lib.sh: r, block, capture, capture_json, now, elapsed, read_file, ...) and adds:
#   check NAME CMD...   FSRESULT check NAME ok|FAIL; a failure's output as FSTEXT NAME_output
#   trap_errors         (bash) a failing command under set -e is reported before the exit
#   mark NAME           FSRESULT mark NAME UPTIME: the checker prints the time between marks
# check-systemd.py fails a run on any `check ... FAIL` or `scenario_error` line.

# shellcheck source=Tests/vm/guest-lib.sh
. "$(dirname "${BASH_SOURCE:-$0}")/../guest-lib.sh"

# The wrapper sets these for the unit; set them again for scenarios started by hand.
export SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0

check() {
    _name=$1
    shift
    _rc=0
    "$@" >/tmp/check.out 2>&1 || _rc=$?
    if [ "$_rc" = 0 ]; then
        r check "$_name" ok
    else
        r check "$_name" FAIL "exit $_rc: $*"
        block TEXT "${_name}_output" /tmp/check.out
    fi
    return 0
}

# trap_errors: with set -e a failing command ends the scenario; say which one and where.
# Functions inherit the trap (set -E); subshells such as $(...) stay quiet, since their
# failure is the caller's business (and their stdout is captured, not the console).
trap_errors() {
    [ -n "${BASH_VERSION:-}" ] || return 0
    set -E
    # shellcheck disable=SC2154 # _fs_rc is set inside the trap string
    trap '_fs_rc=$?; [ "$BASHPID" != "$$" ] ||
        echo "FSRESULT scenario_error exit $_fs_rc at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
}

mark() { r mark "$1" "$(now)"; }

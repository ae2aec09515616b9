#!/bin/sh
# IO shares on a real disk (issue 12), run as /scenario.sh in the test guest by busybox sh.
# It only measures and prints; Tests/vm/check-io.py asserts. Needs: the virtio-blk disk
# (run-vm.sh FAIRSHARE_VM_DISK, the guest's /dev/vda), the modules virtio_ring ... virtio_blk
# bfq (FAIRSHARE_VM_MODULES), ioread copied as ioread_l and ioread_h, the fairshare binary.
#
# One agent for the whole boot: groups light (io_shares 1) and heavy (io_shares 4), equal cpu
# shares, matched by comm. Each run starts READERS_PER_GROUP O_DIRECT readers per group, all in
# the same region of the disk, waits until the agent has placed them, lets them warm up, and
# takes each group's rbytes from its io.stat (the kernel's own count) over a fixed window.
# Setups, in this order:
#   none    neither io.cost nor BFQ (scheduler none, the kernel's default for virtio): the
#           agent must say io shares are not in force; the split is recorded, and its total
#           rate is the unthrottled rate the io.cost model is set below
#   iocost  a linear model and qos written by hand (as the machine's owner would): one window
#   bfq     io.cost off, scheduler bfq, tuned as an admin would (see tune_bfq): three windows
# Output: FSRESULT lines (run SETUP N light=B heavy=B ratio=R seconds=S), status snapshots
# as FSJSON blocks, the agent's output as a text block.
set -u
. /lib/vm-lib.sh

DISK=vda
DEV=/dev/$DISK
Q=/sys/block/$DISK/queue
ROOT=$CG/fairshare
POLICY=/etc/fairshare/policy.toml
# Readers: random 256 KiB reads, one at a time each, over the first 256 MiB (the part of the
# image filled with data). Measured under tuned BFQ (issue 12's table in docs/benchmarks.md):
# 256 KiB reads gave 1:3.6 .. 1:4.4 in every window; 64 KiB reads mostly 1:4 but 2 of 7
# windows on a loaded host went to 1:21 .. 1:24 (four times the requests per byte through the
# emulated CPU; likely a reader's pause between requests then outlasts BFQ's 8 ms idling).
# Sequential 256 KiB reads split as well (1:3.8 .. 1:4.0); random ones keep BFQ's merging of
# queues that read the same sectors one after the other out of the measurement.
READERS_PER_GROUP=2
BLOCK_KB=256
REGION_MB=256
READ_MODE=rand
WINDOW_S=${IO_WINDOW_S:-8}
WARMUP_S=1
BFQ_RUNS=3

uptime_now() { read -r _up _rest </proc/uptime; echo "$_up"; }
mark() { r mark "$1" "$(uptime_now)"; }

# rbytes GROUP_DIR: the group's bytes read from the disk so far (0 before its first IO).
rbytes() {
    awk -v d="$MAJMIN" '$1 == d { for (i = 2; i <= NF; i++) if ($i ~ /^rbytes=/) { sub("rbytes=", "", $i); print $i; f = 1 } }
        END { if (!f) print 0 }' "$1/io.stat" 2>/dev/null || echo 0
}

agent_alive() { [ -n "${AGENT:-}" ] && alive "$AGENT"; }

# start_readers: READERS_PER_GROUP readers of each kind, born in the root cgroup (the agent
# moves them); their pids go to /tmp/readers as "COMM PID".
start_readers() {
    : >/tmp/readers
    for _n in ioread_l ioread_h; do
        _i=0
        while [ $_i -lt $READERS_PER_GROUP ]; do
            _i=$((_i + 1))
            "$_n" $DEV $BLOCK_KB $REGION_MB $READ_MODE </dev/null >>/tmp/readers.err 2>&1 &
            echo "$_n $!" >>/tmp/readers
        done
    done
}

stop_readers() {
    while read -r _n _p; do kill -KILL "$_p" 2>/dev/null; done </tmp/readers
    while read -r _n _p; do wait "$_p" 2>/dev/null; done </tmp/readers
    return 0
}

# placed: every reader sits in the group its name maps to.
placed() {
    while read -r _n _p; do
        case $_n in ioread_l) _want=/fairshare/light ;; *) _want=/fairshare/heavy ;; esac
        [ "$(cgroup_of "$_p")" = "$_want" ] || return 1
    done </tmp/readers
}

# run SETUP N: one measured window. Prints FSRESULT run SETUP N light=.. heavy=.. ratio=..
# seconds=.. placed_s=..; sets RUN_BPS to the total bytes per second.
run() {
    start_readers
    _t0=$(now)
    while ! placed && [ "$(elapsed "$_t0" | cut -d. -f1)" -lt 20 ]; do sleep 0.2; done
    _ps=$(elapsed "$_t0")
    if ! placed; then
        r placement_timeout "$1" "$2"
        capture "placement_$1_$2" sh -c 'while read -r n p; do echo "$n $p $(cat /proc/$p/cgroup)"; done </tmp/readers'
    fi
    sleep $WARMUP_S
    _l0=$(rbytes $ROOT/light) _h0=$(rbytes $ROOT/heavy) _s0=$(now)
    sleep "$WINDOW_S"
    _l1=$(rbytes $ROOT/light) _h1=$(rbytes $ROOT/heavy) _s1=$(now)
    stop_readers
    _l=$((_l1 - _l0)) _h=$((_h1 - _h0))
    _s=$(awk -v a="$_s0" -v b="$_s1" 'BEGIN { printf "%.2f", b - a }')
    RUN_BPS=$(awk -v b=$((_l + _h)) -v s="$_s" 'BEGIN { printf "%d", b / s }')
    r run "$1" "$2" light=$_l heavy=$_h ratio=$(awk -v l=$_l -v h=$_h 'BEGIN { if (l > 0) printf "%.3f", h / l; else print "inf" }') \
        seconds=$_s placed_s=$_ps
}

# weights SETUP: both groups' io.weight and io.bfq.weight as the kernel shows them.
weights() {
    for _g in light heavy; do
        r weight "$1" $_g io.weight "$(read_file $ROOT/$_g/io.weight)"
        r weight "$1" $_g io.bfq.weight "$(read_file $ROOT/$_g/io.bfq.weight)"
    done
}

# queue_facts SETUP: the disk's queue settings and the scheduler's tunables.
queue_facts() {
    r queue "$1" scheduler "$(cat $Q/scheduler)"
    for _f in rotational nr_requests max_sectors_kb; do r queue "$1" $_f "$(cat $Q/$_f)"; done
    for _f in $Q/iosched/*; do [ -f "$_f" ] && r iosched "$1" "${_f##*/}" "$(cat "$_f")"; done
    return 0
}

# wait_disk_state SETUP THROUGH: until the agent's status says THROUGH for the disk (it re-reads
# the disks every fifth pass), at most 15 s; the status is printed as status_SETUP.
wait_disk_state() {
    _t0=$(now)
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt 15 ]; do
        fairshare status --json >/tmp/status.json 2>/dev/null &&
            tr -d ' \n' </tmp/status.json | tr '}' '\n' | grep "\"name\":\"$DISK\"" | grep -q "\"through\":\"$2\"" && break
        sleep 1
    done
    r disk_state_wait "$1" "$(elapsed "$_t0")"
    capture_json "status_$1" fairshare status --json
    capture "status_table_$1" fairshare status
}

# wait_bfq_weights: until the agent has written io.bfq.weight 100 : 400 (at most 15 s).
wait_bfq_weights() {
    _t0=$(now)
    while [ "$(elapsed "$_t0" | cut -d. -f1)" -lt 15 ]; do
        [ "$(read_file $ROOT/light/io.bfq.weight)" = "default 100" ] &&
            [ "$(read_file $ROOT/heavy/io.bfq.weight)" = "default 400" ] && break
        sleep 0.5
    done
    r bfq_weight_wait "$(elapsed "$_t0")"
}

# tune_bfq: what an admin applies so BFQ honours cgroup weights on this virtual disk
# (measured in issue 12; the table is in docs/benchmarks.md):
# - rotational 0, the one that matters: virtio-blk reports a spinning disk (qemu 7.2's
#   virtio-blk has no rotation_rate property; scsi-hd and ide-hd have), and on a "rotational"
#   disk BFQ plans for seeks; there 1:4 weights gave 1:3.7 .. 1:495 with these readers (light
#   starved in 5 of 6 windows), 1:0.8 .. 1:574 with 64 KiB ones. The file-backed disk has no
#   seeks, so 0 is the truth, as an admin's udev rule would set it.
# - low_latency 0: weight raising multiplies the weight of newly started and "interactive"
#   queues for a while, which overrides cgroup weights exactly when readers start. With
#   rotational 0 it made no measurable difference here (1:4.05, 4.06, 3.98 with it on), but
#   off, only the weights decide.
# slice_idle stays at its default 8 ms: BFQ guarantees a group its share by idling on its queue
# while its reader prepares the next request; with 0 the split was 1:1 whatever the weights.
# strict_guarantees stays 0: it did not help (1:3.7 .. 1:7.5 with 256 KiB reads).
tune_bfq() {
    echo 0 >$Q/rotational
    echo 0 >$Q/iosched/low_latency
}

finish() {
    [ ! -f /tmp/readers ] || stop_readers
    if agent_alive; then
        stop_with_timeout "$AGENT" 15 >/tmp/stop.out
        r agent_stop $(sed 's/^FSRESULT //' /tmp/stop.out | tr '\n' ' ')
    else
        r agent_dead_at_end yes
    fi
    block TEXT agent_output /tmp/agent.out
    [ ! -s /tmp/readers.err ] || block TEXT readers_stderr /tmp/readers.err
    mark end
}

# --- setup -----------------------------------------------------------------------------------
mark scenario_start
if [ ! -b $DEV ]; then
    r disk missing
    capture block_devices ls -l /sys/block
    exit 1
fi
MAJMIN=$(cat /sys/block/$DISK/dev)
r disk $DISK $MAJMIN "$(($(cat /sys/block/$DISK/size) / 2048))MiB"
r readers per_group=$READERS_PER_GROUP block_kb=$BLOCK_KB region_mb=$REGION_MB mode=$READ_MODE window_s=$WINDOW_S

mkdir -p /etc/fairshare
cat >$POLICY <<'EOF'
[agent]
interval = "1s"
# The agent re-reads the disks every fifth pass: 1 s passes, so a switch is seen within 5 s.
report_interval = "1s"

[[group]]
name = "light"
shares = 1
io_shares = 1
[group.match]
comm = ["ioread_l"]

[[group]]
name = "heavy"
shares = 1
io_shares = 4
[group.match]
comm = ["ioread_h"]
EOF
block TEXT policy $POLICY
capture check_policy fairshare check $POLICY
echo none >$Q/scheduler
fairshare run --policy $POLICY --cgroup-root $ROOT --log-target console >/tmp/agent.out 2>&1 &
AGENT=$!
r agent_pid $AGENT
_t0=$(now)
while [ ! -d $ROOT/heavy ] && agent_alive && [ "$(elapsed "$_t0" | cut -d. -f1)" -lt 60 ]; do sleep 0.5; done
r agent_ready_s "$(elapsed "$_t0")"
if ! agent_alive || [ ! -d $ROOT/heavy ]; then
    r agent_failed_to_start yes
    finish
    exit 1
fi

# --- none: neither io.cost nor BFQ ------------------------------------------------------------
mark none
queue_facts none
wait_disk_state none none
weights none
run none 1
UNTHROTTLED_BPS=$RUN_BPS
r unthrottled_bps $UNTHROTTLED_BPS

# --- iocost: a linear model and qos by hand ----------------------------------------------------
# The model says what the disk can do; io.cost then issues IO at that modelled rate (times
# vrate) and divides it by io.weight. For the weights to decide, io.cost must be the
# bottleneck: the modelled capacity is a quarter of the rate just measured, a margin for a host
# whose load slows the emulated disk during the window (the rate varied 1.5x between guests).
# - rbps = that quarter (bytes/s); rseqiops = rrandiops = 1000000 (4 KiB requests/s): the
#   kernel's per-request base cost is max(1 s / iops - the 4 KiB's size cost, 0) = 0, so a
#   request costs its size / rbps and groups are charged by bytes. w* the same (nothing writes).
# - qos rpct=0 wpct=0: no latency target, vrate is not adjusted from latencies;
#   min=max=100: vrate pinned at 100%, the device is always "this fast".
# - rlat=wlat=50000 (microseconds: 50 ms): no target with pct 0, but io.cost's planning period
#   is twice the larger latency (clamped to 1 ms .. 1 s): with 0 it is 1 ms, and under
#   emulation the split was 1:2.4 .. 1:2.9 (groups seen idle in such short periods lose their
#   weight to the others, as far as we can tell); with 100 ms periods it is 1:3.8 .. 1:4.0.
mark iocost
IOC_RBPS=$((UNTHROTTLED_BPS / 4))
echo "$MAJMIN ctrl=user model=linear rbps=$IOC_RBPS rseqiops=1000000 rrandiops=1000000 wbps=$IOC_RBPS wseqiops=1000000 wrandiops=1000000" \
    >$CG/io.cost.model
echo "$MAJMIN enable=1 ctrl=user rpct=0 rlat=50000 wpct=0 wlat=50000 min=100 max=100" >$CG/io.cost.qos
r iocost_model "$(grep "^$MAJMIN " $CG/io.cost.model)"
r iocost_qos "$(grep "^$MAJMIN " $CG/io.cost.qos)"
queue_facts iocost
wait_disk_state iocost io.cost
weights iocost
run iocost 1
echo "$MAJMIN enable=0" >$CG/io.cost.qos
r iocost_qos_after "$(grep "^$MAJMIN " $CG/io.cost.qos)"

# --- bfq -------------------------------------------------------------------------------------
mark bfq
echo bfq >$Q/scheduler
tune_bfq
queue_facts bfq
wait_bfq_weights
wait_disk_state bfq bfq
weights bfq
i=0
while [ $i -lt $BFQ_RUNS ]; do
    i=$((i + 1))
    run bfq $i
done

finish

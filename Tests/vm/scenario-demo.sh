#!/bin/sh
# Demo, run as /scenario.sh in the guest: three kinds of CPU-hungry programs,
# first without Fairshare, then with it, showing `fairshare status`.
# Needs the burner copies compile-job, web-server and video-call in the image.
set -u
. /lib/vm-lib.sh

POLICY=/etc/fairshare/policy.toml
KINDS="compile-job web-server video-call"

# cpu_ticks NAME: CPU time (clock ticks) used so far by all processes named NAME.
cpu_ticks() {
    _t=0
    while read -r n p; do
        [ "$n" = "$1" ] || continue
        _t=$((_t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done </tmp/burners
    echo $_t
}

# show_split SECONDS: measure and print how the CPU is split between the kinds.
show_split() {
    for k in $KINDS; do eval "t0_$(echo $k | tr - _)=$(cpu_ticks $k)"; done
    sleep "$1"
    total=0
    for k in $KINDS; do
        v=$(echo $k | tr - _)
        eval "d_$v=\$(( \$(cpu_ticks $k) - t0_$v ))"
        eval "total=\$((total + d_$v))"
    done
    for k in $KINDS; do
        eval "d=\$d_$(echo $k | tr - _)"
        awk -v k="$k" -v d="$d" -v t="$total" 'BEGIN { printf "    %-12s %5.1f%% of the CPU time\n", k, t ? 100 * d / t : 0 }'
    done
}

echo
echo "=== Fairshare demo ==================================================="
echo "A virtual machine with 2 CPUs runs 9 programs that each want a whole CPU:"
echo "3 x compile-job (batch work), 3 x web-server, 3 x video-call (interactive),"
echo "all started in the cgroup /apps."
echo
: >/tmp/burners
start_burners $CG/apps compile-job web-server video-call

echo "1) Without Fairshare the kernel splits the CPU evenly between the 9 processes,"
echo "   so each kind gets about a third, whatever its importance:"
show_split 4
echo

mkdir -p /etc/fairshare
cat >$POLICY <<'EOF'
[agent]
interval = "1s"

[[group]]
name = "batch"
shares = 1
[group.match]
comm = ["compile-job"]

[[group]]
name = "web"
shares = 2
[group.match]
comm = ["web-server"]

[[group]]
name = "interactive"
shares = 5
[group.match]
comm = ["video-call"]
EOF
echo "2) Now Fairshare starts with this policy ($POLICY):"
sed 's/^/     | /' $POLICY
echo "   Shares are relative: 1 + 2 + 5 = 8, so when all three groups are busy"
echo "   batch should get 1/8 (12.5%), web 2/8 (25%) and interactive 5/8 (62.5%)."
echo "   It puts each group in its own cgroup and sets cpu.weight from the shares."
echo
fairshare run --policy $POLICY --cgroup-root $CG/fairshare --log-target console >/tmp/agent.out 2>&1 &
AGENT=$!
i=0
until fairshare status >/dev/null 2>&1 || [ $i -ge 60 ]; do
    sleep 0.5
    i=$((i + 1))
done
sleep 3

echo "3) 'fairshare status' a few seconds apart (usage = CPU used in the last"
echo "   interval, target = what the shares promise):"
for n in 1 2 3; do
    echo
    echo "--- fairshare status ($n of 3)"
    fairshare status 2>&1 | sed 's/^/    /'
    [ $n = 3 ] || sleep 4
done
echo
echo "   CPU% is of the whole machine; the groups do not reach 100% together because"
echo "   the agent and the status command also need CPU, a lot of it under emulation."
echo
echo "   Measured from /proc over 4 s, with Fairshare:"
show_split 4
echo

echo "4) Stopping Fairshare (SIGTERM): it moves every process back where it was"
echo "   and removes its cgroups."
kill -TERM $AGENT
rc=0
wait $AGENT || rc=$?
echo "   fairshare exited with status $rc; the programs are now in:"
while read -r n p; do
    echo "$n $(cgroup_of "$p")"
done </tmp/burners | sort | uniq -c | sed 's/^/    /'
echo
echo "--- what the agent logged (first 20 lines)"
head -n 20 /tmp/agent.out | sed 's/^/    /'
echo "=== end of demo ======================================================"

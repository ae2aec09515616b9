#!/usr/bin/env python3
"""check-fairness.py on a recorded console log (host only, seconds): the good log passes every
check and yields every benchmark figure, and each doctored copy fails the check named for it:
a share split or redistribution out of bounds, a borrower that does not take or give back, a
cpu.max not raised or not restored, a floor not held, a starved group or an unbounded boost,
an idle group that takes CPU from a busy one, a phase not measured, an agent not ready or not
stopped cleanly, a guest without journald, a journal entry missing (borrow_started/stopped:
the delays' only source), a status that says the wrong thing, a kernel probe that did not
refuse. Usage is doctored in the sampler's cumulative usage_usec, so the counters stay
consistent and only the named window changes. Run: python3 test-check-fairness.py
(make fairness-checker-test)

RECORDED is a `make vm-fairness` run of 2026-12-04 on this machine kind (branch h-tests-b at
5fb6586; the static release agent built from main 5591c6f; kernel 6.1.0-57-cloud-amd64; host
load about 14 on its 2 cores, so the sampler's steps are 0.7-5 s apart), 49/49 checks passed:
share max error 1.01 points (Jain 0.9993), borrow_started 1.29 and borrow_stopped 0.93
intervals after the owner's STOP and CONT, floor 1.036 CPUs, starvation a's minimum 19.6%,
absent b 55.3% of its first 2 s, idle scav 1.22% contended. Condensed by `recorded-log.py LOG
--text samples_1 samples_3 samples_4 samples_5 samples_6 samples_7 samples_end --drop
status_share status_redist status_absent_end --journal-fields __MONOTONIC_TIMESTAMP
FAIRSHARE_EVENT FAIRSHARE_GROUP` (the sampler's blocks and the JSON the checker reads; the
journal cut to the fields it reads). Refresh it the same way when scenario-fairness.sh changes
what it prints; the doctors' factors may need a look then (each must still fail its check).
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-fairness.py")
sys.path.insert(0, HERE)
from logdoctor import (drop_lines, edit_json, edit_json_lines, replace_block_lines, set_result,  # noqa: E402
                       sub)

RECORDED = r"""
FSRESULT boot_uptime 8.01
FSRESULT kernel 6.1.0-57-cloud-amd64
FSRESULT cgroup_controllers cpuset cpu io memory hugetlb pids rdma misc
FSRESULT image_journald yes
FSRESULT journald yes
FSRESULT journald_start_s 0.25
FSRESULT log_target journal
FSRESULT burners_per_group 3
FSRESULT capacity_cpus 2
FSRESULT psi some avg10=1.88 avg60=0.43 avg300=0.09 total=561326
FSRESULT mark scenario_start 8.51
FSRESULT interval_s_1 2
FSRESULT check_1_exit 0
FSRESULT agent_pid_1 145
FSRESULT ready_1 yes
FSRESULT ready_s_1 5.47
FSRESULT mark ready_1 18.48
FSRESULT mark share_start 23.53
FSRESULT mark share_end 43.58
FSRESULT status_share_exit 0
FSRESULT mark redist_stop 47.29
FSRESULT mark redist_end 55.31
FSRESULT status_redist_exit 0
FSRESULT stop_1 stop_exit 0 stop_s 0.12 stop_killed no
FSTEXT-BEGIN samples_1
S 8.51 _machine:6780000:x/x:x
S 9.05 _machine:7812000:x/x:x
S 9.67 _machine:8408000:x/x:x
S 10.31 _machine:8960000:x/x:x
S 10.85 _machine:9660000:x/x:x
S 11.47 _machine:10232000:x/x:x
S 12.02 _machine:10756000:x/x:x
S 12.57 _machine:11024000:x/x:x
S 13.09 _machine:11956000:x/x:x
S 13.63 _machine:12688000:x/x:x
S 14.34 _machine:13208000:x/x:x
S 14.98 _machine:14232000:x/x:x
S 15.51 _machine:15028000:x/x:x
S 16.08 _machine:15804000:x/x:x
S 16.74 _machine:16876000:x/x:x
S 17.25 _machine:17888000:x/x:x
S 17.76 _machine:18828000:x/x:x _fairshare:0:x/x:x
S 18.30 high:119138:max/100000:500 low:42179:max/100000:100 mid:66926:max/100000:200 _machine:19892000:x/x:x _fairshare:236282:x/x:x
S 18.91 high:664831:max/100000:500 low:202131:max/100000:100 mid:335131:max/100000:200 _machine:21040000:x/x:x _fairshare:1216688:x/x:x
S 19.50 high:1335376:max/100000:500 low:368405:max/100000:100 mid:644463:max/100000:200 _machine:21440000:x/x:x _fairshare:2348244:x/x:x
S 20.06 high:2008804:max/100000:500 low:460888:max/100000:100 mid:948975:max/100000:200 _machine:22424000:x/x:x _fairshare:3484625:x/x:x
S 20.75 high:2560604:max/100000:500 low:673828:max/100000:100 mid:1200211:max/100000:200 _machine:22684000:x/x:x _fairshare:4512660:x/x:x
S 21.42 high:3316293:max/100000:500 low:802187:max/100000:100 mid:1507831:max/100000:200 _machine:23648000:x/x:x _fairshare:5632255:x/x:x
S 21.97 high:3976128:max/100000:500 low:952675:max/100000:100 mid:1766031:max/100000:200 _machine:24728000:x/x:x _fairshare:6700949:x/x:x
S 22.50 high:4628928:max/100000:500 low:1094064:max/100000:100 mid:2004560:max/100000:200 _machine:25600000:x/x:x _fairshare:7760121:x/x:x
S 23.08 high:5301574:max/100000:500 low:1239660:max/100000:100 mid:2286170:max/100000:200 _machine:26560000:x/x:x _fairshare:8833170:x/x:x
S 23.60 high:5922987:max/100000:500 low:1374989:max/100000:100 mid:2602219:max/100000:200 _machine:27768000:x/x:x _fairshare:10023360:x/x:x
S 24.80 high:7376892:max/100000:500 low:1666619:max/100000:100 mid:3277462:max/100000:200 _machine:30296000:x/x:x _fairshare:12683424:x/x:x
S 25.87 high:8629334:max/100000:500 low:2041053:max/100000:100 mid:3857609:max/100000:200 _machine:31360000:x/x:x _fairshare:14825474:x/x:x
S 26.75 high:9595864:max/100000:500 low:2448727:max/100000:100 mid:4631267:max/100000:200 _machine:32548000:x/x:x _fairshare:18094358:x/x:x
S 29.46 high:12937892:max/100000:500 low:2926541:max/100000:100 mid:5649768:max/100000:200 _machine:34268000:x/x:x _fairshare:21987155:x/x:x
S 31.29 high:15155874:max/100000:500 low:3527569:max/100000:100 mid:7033684:max/100000:200 _machine:36332000:x/x:x _fairshare:27321070:x/x:x
S 34.80 high:19243415:max/100000:500 low:4211969:max/100000:100 mid:7999788:max/100000:200 _machine:38664000:x/x:x _fairshare:34273520:x/x:x
S 38.09 high:23270055:max/100000:500 low:5102046:max/100000:100 mid:9837458:max/100000:200 _machine:40392000:x/x:x _fairshare:38845935:x/x:x
S 39.85 high:25424201:max/100000:500 low:5584096:max/100000:100 mid:10731206:max/100000:200 _machine:42096000:x/x:x _fairshare:42229012:x/x:x
S 41.21 high:26736080:max/100000:500 low:6069026:max/100000:100 mid:11745874:max/100000:200 _machine:43104000:x/x:x _fairshare:45839867:x/x:x
S 43.64 high:29675429:max/100000:500 low:6439046:max/100000:100 mid:12382363:max/100000:200 _machine:44576000:x/x:x _fairshare:48496839:x/x:x
S 44.97 high:30547331:max/100000:500 low:6661093:max/100000:100 mid:12813974:max/100000:200 _machine:48704000:x/x:x _fairshare:54369820:x/x:x
S 48.33 high:33267249:max/100000:500 low:8192596:max/100000:100 mid:15655045:max/100000:200 _machine:51152000:x/x:x _fairshare:57114891:x/x:x
S 49.48 high:33267249:max/100000:500 low:9689260:max/100000:100 mid:18896731:max/100000:200 _machine:54168000:x/x:x _fairshare:62117125:x/x:x
S 52.01 high:33267249:max/100000:500 low:10889635:max/100000:100 mid:20644018:max/100000:200 _machine:55900000:x/x:x _fairshare:64800902:x/x:x
S 53.44 high:33267249:max/100000:500 low:11428026:max/100000:100 mid:21983549:max/100000:200 _machine:57488000:x/x:x _fairshare:66828985:x/x:x
S 54.49 high:33267249:max/100000:500 low:12786780:max/100000:100 mid:23818905:max/100000:200 _machine:59308000:x/x:x _fairshare:69872935:x/x:x
FSTEXT-END
FSRESULT interval_s_3 1
FSRESULT check_3_exit 0
FSRESULT agent_pid_3 338
FSRESULT ready_3 yes
FSRESULT ready_s_3 3.32
FSRESULT mark ready_3 62.76
FSRESULT mark borrow_idle_end 67.81
FSJSON-BEGIN status_borrowing
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":1,"received":{"comm":44,"exec":24,"exit":59,"fork":60,"gid":0,"other":0,"thread":8,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.08002074,"pass_seconds_median":0.02111815,"pid":338,"started_at":1796411429.0502794,"ticks":7,"uptime_seconds":8.765630960464478},"groups":[{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":1.4479603503033844,"cpu_usage_pct":72.39801751516922,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":50,"members":3,"name":"capped","nr_throttled":55,"pressure_total_usec":4187238,"redistribution":{"allocation_cpus":1.5,"allocation_pct":75,"borrow":true,"borrowed_cpus":1,"burst":"1.5","cpu_max":"150000 100000","demand":"throttled by cpu.max","fairness_factor":1,"hungry":true,"limit":"burst","max":"0.5","pressure_pct":64.45228922248,"weight_reason":"shares"},"shares":1,"throttled_usec":3589582,"usage_usec":8055542},{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":50,"members":3,"name":"owner","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"uses 0.00 CPUs, wants no more","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":0}],"io_devices":[],"policy":{"loaded_at":1796411429.0502794,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_borrowing_exit 0
FSRESULT mark borrow_cont 70.23
FSRESULT mark borrow_cont_end 78.36
FSJSON-BEGIN status_gaveback
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":1,"received":{"comm":59,"exec":36,"exit":74,"fork":74,"gid":0,"other":0,"thread":16,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.00360216,"pass_seconds_median":0.017796575000000002,"pid":338,"started_at":1796411429.0502794,"ticks":18,"uptime_seconds":19.562530279159546},"groups":[{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":0.3838306270604958,"cpu_usage_pct":19.19153135302479,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":50,"members":3,"name":"capped","nr_throttled":145,"pressure_total_usec":13574383,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":true,"borrowed_cpus":0,"burst":"1.5","cpu_max":"50000 100000","demand":"throttled by cpu.max","fairness_factor":1,"hungry":true,"limit":"ceiling","max":"0.5","pressure_pct":88.89037372089261,"weight_reason":"shares"},"shares":1,"throttled_usec":12484695,"usage_usec":15506878},{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":0.7392308729183041,"cpu_usage_pct":36.96154364591521,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":50,"members":3,"name":"owner","nr_throttled":0,"pressure_total_usec":6357378,"redistribution":{"allocation_cpus":1.5,"allocation_pct":75,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 87% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":86.78414574002655,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":12287870}],"io_devices":[],"policy":{"loaded_at":1796411429.0502794,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_gaveback_exit 0
FSRESULT mark borrow_stop 81.23
FSRESULT mark borrow_stop_end 88.44
FSRESULT stop_3 stop_exit 0 stop_s 0.54 stop_killed no
FSTEXT-BEGIN samples_3
S 56.53 _machine:60856000:x/x:x _fairshare:70754565:x/x:x
S 57.11 _machine:60888000:x/x:x _fairshare:70754565:x/x:x
S 57.64 _machine:60924000:x/x:x _fairshare:70754565:x/x:x
S 58.18 _machine:61152000:x/x:x _fairshare:70754565:x/x:x
S 59.92 _machine:63188000:x/x:x _fairshare:70754565:x/x:x
S 60.64 _machine:64172000:x/x:x _fairshare:70754565:x/x:x
S 62.47 capped:414057:50000/100000:100 owner:0:max/100000:100 _machine:65124000:x/x:x _fairshare:71168623:x/x:x
S 63.05 capped:671078:150000/100000:100 owner:0:max/100000:100 _machine:65956000:x/x:x _fairshare:71655328:x/x:x
S 63.69 capped:1655047:150000/100000:100 owner:0:max/100000:100 _machine:66552000:x/x:x _fairshare:72553059:x/x:x
S 64.33 capped:2573721:150000/100000:100 owner:0:max/100000:100 _machine:67280000:x/x:x _fairshare:73749434:x/x:x
S 65.09 capped:3750040:150000/100000:100 owner:0:max/100000:100 _machine:68016000:x/x:x _fairshare:74504605:x/x:x
S 65.68 capped:4650758:150000/100000:100 owner:0:max/100000:100 _machine:68764000:x/x:x _fairshare:75405324:x/x:x
S 66.31 capped:5588684:150000/100000:100 owner:0:max/100000:100 _machine:69244000:x/x:x _fairshare:76452633:x/x:x
S 66.88 capped:6450879:150000/100000:100 owner:0:max/100000:100 _machine:69808000:x/x:x _fairshare:77205445:x/x:x
S 67.49 capped:7371834:150000/100000:100 owner:0:max/100000:100 _machine:70364000:x/x:x _fairshare:78126399:x/x:x
S 68.16 capped:8203289:150000/100000:100 owner:0:max/100000:100 _machine:71364000:x/x:x _fairshare:79429482:x/x:x
S 69.41 capped:9672975:150000/100000:100 owner:0:max/100000:100 _machine:72788000:x/x:x _fairshare:80551037:x/x:x
S 70.01 capped:10592690:150000/100000:100 owner:0:max/100000:100 _machine:73248000:x/x:x _fairshare:81461730:x/x:x
S 70.98 capped:11564538:150000/100000:100 owner:881746:max/100000:100 _machine:74108000:x/x:x _fairshare:83283179:x/x:x
S 71.93 capped:12132212:50000/100000:100 owner:1918963:max/100000:100 _machine:74888000:x/x:x _fairshare:85052121:x/x:x
S 72.87 capped:12606098:50000/100000:100 owner:3295809:max/100000:100 _machine:75864000:x/x:x _fairshare:87479964:x/x:x
S 75.57 capped:14210560:50000/100000:100 owner:8020767:max/100000:100 _machine:78008000:x/x:x _fairshare:92985894:x/x:x
S 76.97 capped:14696427:50000/100000:100 owner:11849429:max/100000:100 _machine:79744000:x/x:x _fairshare:97882131:x/x:x
S 79.74 capped:15772685:50000/100000:100 owner:12542016:max/100000:100 _machine:80628000:x/x:x _fairshare:99069267:x/x:x
S 80.61 capped:16118132:50000/100000:100 owner:14248943:max/100000:100 _machine:81532000:x/x:x _fairshare:101483730:x/x:x
S 82.15 capped:16876584:50000/100000:100 owner:14249118:max/100000:100 _machine:81704000:x/x:x _fairshare:101918115:x/x:x
S 82.73 capped:17367424:150000/100000:100 owner:14249118:max/100000:100 _machine:81996000:x/x:x _fairshare:102628712:x/x:x
S 83.60 capped:18688126:150000/100000:100 owner:14249118:max/100000:100 _machine:82460000:x/x:x _fairshare:103972377:x/x:x
S 84.33 capped:19759611:150000/100000:100 owner:14249118:max/100000:100 _machine:82732000:x/x:x _fairshare:105168118:x/x:x
S 85.19 capped:21080400:150000/100000:100 owner:14249118:max/100000:100 _machine:83108000:x/x:x _fairshare:106084085:x/x:x
S 85.99 capped:22250291:150000/100000:100 owner:14249118:max/100000:100 _machine:83548000:x/x:x _fairshare:107409639:x/x:x
S 86.71 capped:23418011:150000/100000:100 owner:14249118:max/100000:100 _machine:84040000:x/x:x _fairshare:108446410:x/x:x
S 87.39 capped:24349562:150000/100000:100 owner:14249118:max/100000:100 _machine:84356000:x/x:x _fairshare:109353247:x/x:x
S 87.91 capped:25023895:150000/100000:100 owner:14249118:max/100000:100 _machine:84740000:x/x:x _fairshare:110318889:x/x:x
S 88.84 capped:25879116:50000/100000:100 owner:14251241:max/100000:100 _machine:85140000:x/x:x _fairshare:110884924:x/x:x
FSTEXT-END
FSRESULT interval_s_4 1
FSRESULT check_4_exit 0
FSRESULT agent_pid_4 505
FSRESULT ready_4 yes
FSRESULT ready_s_4 6.92
FSRESULT mark ready_4 99.68
FSRESULT mark floor_start 107.96
FSRESULT mark floor_end 118.07
FSJSON-BEGIN status_floor
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":1,"received":{"comm":49,"exec":28,"exit":73,"fork":70,"gid":0,"other":0,"thread":8,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.05852449,"pass_seconds_median":0.07413591,"pid":505,"started_at":1796411463.7927663,"ticks":23,"uptime_seconds":25.448553800582886},"groups":[{"backing":"agent","cpu_target_pct":3.225806451612903,"cpu_usage_cpus":0.5966429418937603,"cpu_usage_pct":29.832147094688015,"cpu_weight":5809,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":55.34385233700506,"members":3,"name":"small","nr_throttled":0,"pressure_total_usec":17857931,"redistribution":{"allocation_cpus":1,"allocation_pct":50,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 85% of the time","fairness_factor":1,"hungry":true,"limit":"floor","min":"1","pressure_pct":84.63830046075071,"weight_reason":"raised to hold its floor (1.00 CPUs), x1.94 for what the kernel delivers"},"shares":1,"throttled_usec":0,"usage_usec":19989847},{"backing":"agent","cpu_target_pct":32.25806451612903,"cpu_usage_cpus":0.1273255550671742,"cpu_usage_pct":6.36627775335871,"cpu_weight":1000,"io_bfq_weight":null,"io_read_bps":0,"io_shares":10,"io_weight":1000,"io_write_bps":0,"machine_share_pct":14.885382554331647,"members":3,"name":"heavy1","nr_throttled":0,"pressure_total_usec":19075385,"redistribution":{"allocation_cpus":0.3333333333333333,"allocation_pct":16.666666666666664,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 82% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":82.18556655219015,"weight_reason":"shares"},"shares":10,"throttled_usec":0,"usage_usec":6383003},{"backing":"agent","cpu_target_pct":32.25806451612903,"cpu_usage_cpus":0.1927583621691725,"cpu_usage_pct":9.637918108458624,"cpu_weight":1000,"io_bfq_weight":null,"io_read_bps":0,"io_shares":10,"io_weight":1000,"io_write_bps":0,"machine_share_pct":14.885382554331647,"members":3,"name":"heavy2","nr_throttled":0,"pressure_total_usec":18704305,"redistribution":{"allocation_cpus":0.3333333333333333,"allocation_pct":16.666666666666664,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 82% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":82.28809176614428,"weight_reason":"shares"},"shares":10,"throttled_usec":0,"usage_usec":6475885},{"backing":"agent","cpu_target_pct":32.25806451612903,"cpu_usage_cpus":0.1311695033221308,"cpu_usage_pct":6.55847516610654,"cpu_weight":1000,"io_bfq_weight":null,"io_read_bps":0,"io_shares":10,"io_weight":1000,"io_write_bps":0,"machine_share_pct":14.885382554331647,"members":3,"name":"heavy3","nr_throttled":0,"pressure_total_usec":18755562,"redistribution":{"allocation_cpus":0.3333333333333333,"allocation_pct":16.666666666666664,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 92% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":92.27438636691642,"weight_reason":"shares"},"shares":10,"throttled_usec":0,"usage_usec":6463402}],"io_devices":[],"policy":{"loaded_at":1796411463.7927663,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_floor_exit 0
FSRESULT stop_4 stop_exit 0 stop_s 0.34 stop_killed no
FSTEXT-BEGIN samples_4
S 89.50 _machine:85388000:x/x:x _fairshare:110884924:x/x:x
S 90.08 _machine:85444000:x/x:x _fairshare:110884924:x/x:x
S 90.68 _machine:85528000:x/x:x _fairshare:110884924:x/x:x
S 91.22 _machine:85924000:x/x:x _fairshare:110884924:x/x:x
S 95.34 _machine:90084000:x/x:x _fairshare:110884924:x/x:x
S 100.02 heavy1:839913:max/100000:1000 heavy2:989175:max/100000:1000 heavy3:995436:max/100000:1000 small:1413531:max/100000:4688 _machine:92148000:x/x:x _fairshare:115302002:x/x:x
S 103.51 heavy1:1755080:max/100000:1000 heavy2:2215893:max/100000:1000 heavy3:2064470:max/100000:1000 small:5399472:max/100000:3728 _machine:94708000:x/x:x _fairshare:122563215:x/x:x
S 107.13 heavy1:2759161:max/100000:1000 heavy2:2939542:max/100000:1000 heavy3:2875956:max/100000:1000 small:8064045:max/100000:3820 _machine:96132000:x/x:x _fairshare:127523631:x/x:x
S 109.29 heavy1:3504939:max/100000:1000 heavy2:3828953:max/100000:1000 heavy3:3806644:max/100000:1000 small:11101604:max/100000:4020 _machine:97500000:x/x:x _fairshare:133414590:x/x:x
S 113.68 heavy1:4801387:max/100000:1000 heavy2:4959497:max/100000:1000 heavy3:4914338:max/100000:1000 small:14844909:max/100000:3432 _machine:99820000:x/x:x _fairshare:140524159:x/x:x
S 115.88 heavy1:5581293:max/100000:1000 heavy2:5846774:max/100000:1000 heavy3:5782799:max/100000:1000 small:17502183:max/100000:3959 _machine:101336000:x/x:x _fairshare:145824376:x/x:x
S 118.74 heavy1:6195441:max/100000:1000 heavy2:6512155:max/100000:1000 heavy3:6521005:max/100000:1000 small:20373543:max/100000:5809 _machine:103108000:x/x:x _fairshare:150752565:x/x:x
S 122.02 _machine:103976000:x/x:x _fairshare:151876493:x/x:x
FSTEXT-END
FSRESULT interval_s_5 1
FSRESULT half_life_s_5 10
FSRESULT max_boost_5 4
FSRESULT check_5_exit 0
FSRESULT agent_pid_5 664
FSRESULT ready_5 yes
FSRESULT ready_s_5 5.09
FSRESULT mark ready_5 129.99
FSRESULT mark starve_idle_start 130.01
FSJSON-BEGIN status_starve_idle
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":0,"received":{"comm":57,"exec":37,"exit":74,"fork":73,"gid":0,"other":0,"thread":8,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.06917994,"pass_seconds_median":0.04300861,"pid":664,"started_at":1796411495.9968357,"ticks":41,"uptime_seconds":43.61119079589844},"groups":[{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":1.0771024542206264,"cpu_usage_pct":53.85512271103132,"cpu_weight":58,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":58,"io_write_bps":0,"machine_share_pct":22.48062015503876,"members":3,"name":"a","nr_throttled":0,"pressure_total_usec":23280214,"redistribution":{"allocation_cpus":2,"allocation_pct":100,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","decayed_usage_cpus":1.6407524466300603,"demand":"waiting for CPU 81% of the time","entitlement_cpus":0.9469323087795152,"fairness_factor":0.579694617889588,"hungry":true,"limit":"share","pressure_pct":80.71347656466834,"weight_reason":"shares x fairness factor 0.58"},"shares":1,"throttled_usec":0,"usage_usec":75945808},{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":200,"io_write_bps":0,"machine_share_pct":77.51937984496125,"members":3,"name":"b","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","decayed_usage_cpus":0,"demand":"uses 0.00 CPUs, wants no more","entitlement_cpus":0.9469323087795152,"fairness_factor":2,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares x fairness factor 2.00"},"shares":1,"throttled_usec":0,"usage_usec":0}],"io_devices":[],"policy":{"loaded_at":1796411495.9968357,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_starve_idle_exit 0
FSRESULT mark starve_return 173.23
FSRESULT mark starve_end 213.30
FSJSON-BEGIN status_starve_end
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":0,"received":{"comm":88,"exec":65,"exit":103,"fork":103,"gid":0,"other":0,"thread":16,"uid":0},"rescan_found":0,"rescans":2,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.04896793,"pass_seconds_median":0.038464115,"pid":664,"started_at":1796411495.9968357,"ticks":83,"uptime_seconds":87.8120379447937},"groups":[{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":0.7334235227572206,"cpu_usage_pct":36.671176137861025,"cpu_weight":107,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":107,"io_write_bps":0,"machine_share_pct":49.763033175355446,"members":3,"name":"a","nr_throttled":0,"pressure_total_usec":56886017,"redistribution":{"allocation_cpus":0.9963577592190469,"allocation_pct":49.81788796095235,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","decayed_usage_cpus":0.9346526271387235,"demand":"waiting for CPU 75% of the time","entitlement_cpus":0.9973621170556081,"fairness_factor":1.0663836505772777,"hungry":true,"limit":"share","pressure_pct":75.48782495464013,"weight_reason":"shares x fairness factor 1.07"},"shares":1,"throttled_usec":0,"usage_usec":112405395},{"backing":"agent","cpu_target_pct":50,"cpu_usage_cpus":0.7571028996802835,"cpu_usage_pct":37.855144984014174,"cpu_weight":107,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":107,"io_write_bps":0,"machine_share_pct":50.23696682464455,"members":3,"name":"b","nr_throttled":0,"pressure_total_usec":31633311,"redistribution":{"allocation_cpus":1.003642240780953,"allocation_pct":50.18211203904765,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","decayed_usage_cpus":0.9277962949067883,"demand":"waiting for CPU 87% of the time","entitlement_cpus":0.9973621170556081,"fairness_factor":1.0741800991608035,"hungry":true,"limit":"share","pressure_pct":87.3154004473152,"weight_reason":"shares x fairness factor 1.07"},"shares":1,"throttled_usec":0,"usage_usec":43941923}],"io_devices":[],"policy":{"loaded_at":1796411495.9968357,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_starve_end_exit 0
FSRESULT stop_5 stop_exit 0 stop_s 0.15 stop_killed no
FSTEXT-BEGIN samples_5
S 122.73 _machine:104068000:x/x:x _fairshare:151876493:x/x:x
S 123.26 _machine:104088000:x/x:x _fairshare:151876493:x/x:x
S 123.81 _machine:104948000:x/x:x _fairshare:151876493:x/x:x
S 124.99 _machine:105952000:x/x:x _fairshare:151876493:x/x:x
S 127.16 _machine:107384000:x/x:x _fairshare:151876493:x/x:x
S 129.57 a:1103499:max/100000:100 b:0:max/100000:200 _machine:109916000:x/x:x _fairshare:153834192:x/x:x
S 131.38 a:3995048:max/100000:83 b:0:max/100000:200 _machine:111056000:x/x:x _fairshare:156037048:x/x:x
S 132.51 a:6160994:max/100000:72 b:0:max/100000:200 _machine:112164000:x/x:x _fairshare:159550081:x/x:x
S 134.12 a:9261440:max/100000:63 b:0:max/100000:200 _machine:113128000:x/x:x _fairshare:162303670:x/x:x
S 135.49 a:11851647:max/100000:60 b:0:max/100000:200 _machine:113744000:x/x:x _fairshare:163728140:x/x:x
S 136.25 a:13285547:max/100000:60 b:0:max/100000:200 _machine:115024000:x/x:x _fairshare:166979700:x/x:x
S 138.36 a:17336806:max/100000:57 b:0:max/100000:200 _machine:115920000:x/x:x _fairshare:170357064:x/x:x
S 139.88 a:20317073:max/100000:56 b:0:max/100000:200 _machine:117060000:x/x:x _fairshare:173503892:x/x:x
S 141.29 a:24110531:max/100000:55 b:0:max/100000:200 _machine:117924000:x/x:x _fairshare:175987024:x/x:x
S 143.32 a:26930681:max/100000:55 b:0:max/100000:200 _machine:118724000:x/x:x _fairshare:178807175:x/x:x
S 144.34 a:28897874:max/100000:55 b:0:max/100000:200 _machine:119548000:x/x:x _fairshare:180975821:x/x:x
S 145.19 a:31398718:max/100000:55 b:0:max/100000:200 _machine:120980000:x/x:x _fairshare:183765804:x/x:x
S 147.34 a:34430018:max/100000:55 b:0:max/100000:200 _machine:122116000:x/x:x _fairshare:186306511:x/x:x
S 148.77 a:36980701:max/100000:55 b:0:max/100000:200 _machine:123688000:x/x:x _fairshare:189665663:x/x:x
S 150.19 a:39697002:max/100000:55 b:0:max/100000:200 _machine:125280000:x/x:x _fairshare:193917472:x/x:x
S 152.08 a:43398048:max/100000:54 b:0:max/100000:200 _machine:126172000:x/x:x _fairshare:196976449:x/x:x
S 154.45 a:47923738:max/100000:54 b:0:max/100000:200 _machine:127224000:x/x:x _fairshare:200415372:x/x:x
S 155.35 a:49370749:max/100000:54 b:0:max/100000:200 _machine:127540000:x/x:x _fairshare:202454257:x/x:x
S 156.55 a:51930168:max/100000:54 b:0:max/100000:200 _machine:128160000:x/x:x _fairshare:205414463:x/x:x
S 158.42 a:57600148:max/100000:54 b:0:max/100000:200 _machine:129416000:x/x:x _fairshare:209476641:x/x:x
S 163.21 a:65713373:max/100000:54 b:0:max/100000:200 _machine:131948000:x/x:x _fairshare:217589866:x/x:x
S 165.74 a:68934231:max/100000:54 b:0:max/100000:200 _machine:134192000:x/x:x _fairshare:223630042:x/x:x
S 168.29 a:73662268:max/100000:54 b:0:max/100000:200 _machine:134972000:x/x:x _fairshare:225538761:x/x:x
S 170.22 a:75569547:max/100000:56 b:0:max/100000:200 _machine:136368000:x/x:x _fairshare:228520861:x/x:x
S 172.08 a:77590586:max/100000:59 b:0:max/100000:200 _machine:137056000:x/x:x _fairshare:229483474:x/x:x
S 172.65 a:78604987:max/100000:60 b:0:max/100000:200 _machine:137676000:x/x:x _fairshare:230481480:x/x:x
S 173.84 a:80090024:max/100000:61 b:737735:max/100000:200 _machine:140156000:x/x:x _fairshare:235379208:x/x:x
S 175.96 a:81041804:max/100000:67 b:4018706:max/100000:200 _machine:141268000:x/x:x _fairshare:237000721:x/x:x
S 176.84 a:81482477:max/100000:71 b:6302684:max/100000:200 _machine:143252000:x/x:x _fairshare:240082876:x/x:x
S 178.58 a:82300168:max/100000:74 b:7675289:max/100000:200 _machine:144304000:x/x:x _fairshare:241851950:x/x:x
S 179.62 a:82853827:max/100000:84 b:10594075:max/100000:175 _machine:145728000:x/x:x _fairshare:246080002:x/x:x
S 182.55 a:84599481:max/100000:88 b:12799470:max/100000:158 _machine:147692000:x/x:x _fairshare:249374807:x/x:x
S 183.49 a:85246931:max/100000:92 b:15229956:max/100000:143 _machine:149900000:x/x:x _fairshare:253414674:x/x:x
S 185.76 a:87050044:max/100000:94 b:16320766:max/100000:131 _machine:150876000:x/x:x _fairshare:257554521:x/x:x
S 188.33 a:89955696:max/100000:100 b:20205359:max/100000:121 _machine:152808000:x/x:x _fairshare:262037549:x/x:x
S 190.34 a:90745356:max/100000:102 b:21306518:max/100000:121 _machine:153612000:x/x:x _fairshare:263928368:x/x:x
S 193.66 a:93504166:max/100000:105 b:25141976:max/100000:113 _machine:156504000:x/x:x _fairshare:271041119:x/x:x
S 195.00 a:94759700:max/100000:105 b:26085075:max/100000:112 _machine:157388000:x/x:x _fairshare:272866231:x/x:x
S 195.86 a:95574275:max/100000:105 b:27445559:max/100000:111 _machine:158408000:x/x:x _fairshare:275281177:x/x:x
S 198.50 a:98072798:max/100000:105 b:29161903:max/100000:113 _machine:159360000:x/x:x _fairshare:279111195:x/x:x
S 199.53 a:98900695:max/100000:106 b:31247950:max/100000:109 _machine:161004000:x/x:x _fairshare:283333814:x/x:x
S 202.63 a:101797773:max/100000:105 b:34350256:max/100000:108 _machine:162592000:x/x:x _fairshare:289252831:x/x:x
S 205.17 a:104349678:max/100000:105 b:35752519:max/100000:107 _machine:165564000:x/x:x _fairshare:294313958:x/x:x
S 208.48 a:107523320:max/100000:105 b:39022727:max/100000:107 _machine:166992000:x/x:x _fairshare:298668458:x/x:x
S 209.90 a:108771995:max/100000:106 b:41306231:max/100000:106 _machine:168836000:x/x:x _fairshare:302924375:x/x:x
S 213.11 a:111919190:max/100000:105 b:43438637:max/100000:107 _machine:170844000:x/x:x _fairshare:308873764:x/x:x
S 215.27 _machine:171492000:x/x:x _fairshare:309796643:x/x:x
FSTEXT-END
FSRESULT probe_cpu_idle present
FSRESULT probe_weight_while_idle 0
FSRESULT probe_weight_write_while_idle refused: sh: write error: Invalid argument
FSRESULT probe_weight_after_idle 100
FSRESULT interval_s_6 1
FSRESULT half_life_s_6 4
FSRESULT max_boost_6 4
FSRESULT check_6_exit 0
FSRESULT agent_pid_6 864
FSRESULT ready_6 yes
FSRESULT ready_s_6 2.96
FSRESULT mark ready_6 221.41
FSRESULT mark absent_alone_start 221.59
FSJSON-BEGIN status_absent_alone
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":0,"received":{"comm":33,"exec":18,"exit":44,"fork":43,"gid":0,"other":0,"thread":8,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.21869278,"pass_seconds_median":0.03996526,"pid":864,"started_at":1796411588.0236065,"ticks":12,"uptime_seconds":13.899444103240967},"groups":[{"backing":"agent","cpu_target_pct":100,"cpu_usage_cpus":1.1390951220688514,"cpu_usage_pct":56.95475610344257,"cpu_weight":64,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":64,"io_write_bps":0,"machine_share_pct":100,"members":3,"name":"a","nr_throttled":0,"pressure_total_usec":7118227,"redistribution":{"allocation_cpus":2,"allocation_pct":100,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","decayed_usage_cpus":1.3472863725831332,"demand":"waiting for CPU 100% of the time","entitlement_cpus":0.8649134924957361,"fairness_factor":0.6446049339098835,"hungry":true,"limit":"share","pressure_pct":100,"weight_reason":"shares x fairness factor 0.64"},"shares":1,"throttled_usec":0,"usage_usec":19046460},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":200,"io_write_bps":0,"machine_share_pct":76.62835249042146,"members":0,"name":"b","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","decayed_usage_cpus":0,"demand":"no members","entitlement_cpus":0.8649134924957361,"fairness_factor":2,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares x fairness factor 2.00"},"shares":1,"throttled_usec":0,"usage_usec":0}],"io_devices":[],"policy":{"loaded_at":1796411588.0236065,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_absent_alone_exit 0
FSRESULT mark absent_burners_started 233.63
FSRESULT absent_b_placed yes
FSRESULT mark absent_return 234.58
FSRESULT mark absent_end 246.66
FSRESULT status_absent_end_exit 0
FSRESULT stop_6 stop_exit 0 stop_s 0.12 stop_killed no
FSTEXT-BEGIN samples_6
S 215.82 _machine:171708000:x/x:x _fairshare:309796643:x/x:x
S 216.41 _machine:171724000:x/x:x _fairshare:309796643:x/x:x
S 216.94 _machine:172140000:x/x:x _fairshare:309796643:x/x:x
S 218.60 _machine:173940000:x/x:x _fairshare:309796643:x/x:x
S 220.71 a:195789:max/100000:100 b:0:max/100000:100 _machine:175996000:x/x:x _fairshare:310394673:x/x:x
S 221.73 a:1505827:max/100000:100 b:0:max/100000:200 _machine:176780000:x/x:x _fairshare:311535612:x/x:x
S 222.50 a:2955376:max/100000:87 b:0:max/100000:200 _machine:177600000:x/x:x _fairshare:312752019:x/x:x
S 223.33 a:4565043:max/100000:66 b:0:max/100000:200 _machine:178716000:x/x:x _fairshare:314480548:x/x:x
S 224.33 a:6421767:max/100000:62 b:0:max/100000:200 _machine:179712000:x/x:x _fairshare:316717048:x/x:x
S 225.48 a:8634014:max/100000:58 b:0:max/100000:200 _machine:180700000:x/x:x _fairshare:319012694:x/x:x
S 227.20 a:11892078:max/100000:56 b:0:max/100000:200 _machine:181692000:x/x:x _fairshare:323486509:x/x:x
S 228.83 a:15047405:max/100000:55 b:0:max/100000:200 _machine:183528000:x/x:x _fairshare:326366337:x/x:x
S 233.65 a:20653398:max/100000:70 b:0:max/100000:200 _machine:186096000:x/x:x _fairshare:330724250:x/x:x
S 235.00 a:21684930:max/100000:74 b:884965:max/100000:200 _machine:187272000:x/x:x _fairshare:332366539:x/x:x
S 236.47 a:22588016:max/100000:90 b:2985854:max/100000:200 _machine:188472000:x/x:x _fairshare:335370514:x/x:x
S 238.22 a:23667521:max/100000:98 b:5145484:max/100000:178 _machine:189756000:x/x:x _fairshare:338609649:x/x:x
S 244.74 a:29472773:max/100000:107 b:11762616:max/100000:111 _machine:195924000:x/x:x _fairshare:352734883:x/x:x
S 247.67 a:31907283:max/100000:113 b:14173320:max/100000:117 _machine:198740000:x/x:x _fairshare:355877247:x/x:x
FSTEXT-END
FSRESULT interval_s_7 1
FSRESULT check_7_exit 0
FSRESULT agent_pid_7 999
FSRESULT ready_7 yes
FSRESULT ready_s_7 1.88
FSRESULT mark ready_7 251.77
FSRESULT idle_scav_cpu_idle 1
FSRESULT idle_scav_cpu_weight 0
FSRESULT idle_work_cpu_idle 0
FSRESULT mark idle_contended_start 254.20
FSRESULT mark idle_contended_end 262.26
FSJSON-BEGIN status_idle_contended
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":1,"received":{"comm":31,"exec":16,"exit":44,"fork":44,"gid":0,"other":0,"thread":8,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.08004276,"pass_seconds_median":0.04038029,"pid":999,"started_at":1796411619.097941,"ticks":11,"uptime_seconds":12.537928819656372},"groups":[{"backing":"agent","cpu_target_pct":100,"cpu_usage_cpus":1.9319728825596703,"cpu_usage_pct":96.59864412798352,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":99.70089730807578,"members":3,"name":"work","nr_throttled":0,"pressure_total_usec":5577278,"redistribution":{"allocation_cpus":2,"allocation_pct":100,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 56% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":56.46418279049586,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":19166490},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0.05451423342796726,"cpu_usage_pct":2.725711671398363,"cpu_weight":null,"idle":true,"io_bfq_weight":null,"io_read_bps":0,"io_shares":100,"io_weight":10000,"io_write_bps":0,"machine_share_pct":0.2991026919242273,"members":3,"name":"scav","nr_throttled":0,"pressure_total_usec":5964402,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 55% of the time","fairness_factor":1,"hungry":true,"limit":"idle","pressure_pct":55.25515406676802,"weight_reason":"idle group: cpu.idle = 1, no CPU weight"},"shares":100,"throttled_usec":0,"unavailable":{"cpu_weight":"idle group: cpu.idle = 1, no CPU weight"},"usage_usec":360294}],"io_devices":[],"policy":{"loaded_at":1796411619.097941,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_idle_contended_exit 0
FSRESULT idle_status_table_exit 0
FSRESULT mark idle_work_stopped 266.31
FSRESULT mark idle_alone_start 268.44
FSRESULT mark idle_alone_end 274.56
FSJSON-BEGIN status_idle_alone
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":2,"received":{"comm":52,"exec":32,"exit":63,"fork":62,"gid":0,"other":0,"thread":24,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":1,"last_pass_seconds":0.07141186,"pass_seconds_median":0.058897160000000004,"pid":999,"started_at":1796411619.097941,"ticks":24,"uptime_seconds":25.78029775619507},"groups":[{"backing":"agent","cpu_target_pct":100,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":99.70089730807578,"members":3,"name":"work","nr_throttled":0,"pressure_total_usec":9373893,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"uses 0.00 CPUs, wants no more","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":23508612},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":1.439696830529513,"cpu_usage_pct":71.98484152647565,"cpu_weight":null,"idle":true,"io_bfq_weight":null,"io_read_bps":0,"io_shares":100,"io_weight":10000,"io_write_bps":0,"machine_share_pct":0.2991026919242273,"members":3,"name":"scav","nr_throttled":0,"pressure_total_usec":13525495,"redistribution":{"allocation_cpus":2,"allocation_pct":100,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 62% of the time","fairness_factor":1,"hungry":true,"limit":"idle","pressure_pct":61.859269570189525,"weight_reason":"idle group: cpu.idle = 1, no CPU weight"},"shares":100,"throttled_usec":0,"unavailable":{"cpu_weight":"idle group: cpu.idle = 1, no CPU weight"},"usage_usec":16996232}],"io_devices":[],"policy":{"loaded_at":1796411619.097941,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_idle_alone_exit 0
FSRESULT stop_7 stop_exit 0 stop_s 0.18 stop_killed no
FSTEXT-BEGIN samples_7
S 248.23 _machine:198968000:x/x:x _fairshare:355887860:x/x:x
S 248.75 _machine:198984000:x/x:x _fairshare:355887860:x/x:x
S 249.27 _machine:199280000:x/x:x _fairshare:355887860:x/x:x
S 250.24 _machine:200412000:x/x:x _fairshare:355887860:x/x:x
S 250.97 _machine:201028000:x/x:x _fairshare:355887860:x/x:x
S 253.11 scav:238892:max/100000:0 work:2575689:max/100000:100 _machine:202736000:x/x:x _fairshare:358702442:x/x:x
S 254.95 scav:246950:max/100000:0 work:7296880:max/100000:100 _machine:204736000:x/x:x _fairshare:363431692:x/x:x
S 256.31 scav:259063:max/100000:0 work:8965180:max/100000:100 _machine:205448000:x/x:x _fairshare:365112105:x/x:x
S 257.28 scav:259063:max/100000:0 work:11388828:max/100000:100 _machine:206544000:x/x:x _fairshare:368205898:x/x:x
S 258.87 scav:274853:max/100000:0 work:14980652:max/100000:100 _machine:207456000:x/x:x _fairshare:371168960:x/x:x
S 261.50 scav:411961:max/100000:0 work:19207298:max/100000:100 _machine:208936000:x/x:x _fairshare:375507120:x/x:x
S 263.50 scav:487924:max/100000:0 work:21151366:max/100000:100 _machine:210968000:x/x:x _fairshare:377527152:x/x:x
S 265.94 scav:513577:max/100000:0 work:23209315:max/100000:100 _machine:212308000:x/x:x _fairshare:379733511:x/x:x
S 266.90 scav:1633433:max/100000:0 work:23508612:max/100000:100 _machine:213232000:x/x:x _fairshare:381529247:x/x:x
S 268.79 scav:5284039:max/100000:0 work:23508612:max/100000:100 _machine:215176000:x/x:x _fairshare:384680512:x/x:x
S 270.58 scav:8608165:max/100000:0 work:23508612:max/100000:100 _machine:217180000:x/x:x _fairshare:389237975:x/x:x
S 271.95 scav:11243245:max/100000:0 work:23508612:max/100000:100 _machine:218256000:x/x:x _fairshare:392669270:x/x:x
S 275.08 scav:17220143:max/100000:0 work:23508612:max/100000:100 _machine:220308000:x/x:x _fairshare:396958817:x/x:x
S 276.58 scav:18398738:max/100000:0 work:23508612:max/100000:100 _machine:221052000:x/x:x _fairshare:397795211:x/x:x
FSTEXT-END
FSTEXT-BEGIN samples_end
S 277.30 _machine:221648000:x/x:x _fairshare:397951703:x/x:x
S 277.82 _machine:221680000:x/x:x _fairshare:397951703:x/x:x
FSTEXT-END
FSJSON-BEGIN journal
{"__MONOTONIC_TIMESTAMP":"17412338","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"17431528","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"17436538","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"17449895","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"17786735","FAIRSHARE_EVENT":"started"}
{"__MONOTONIC_TIMESTAMP":"17793962","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["low","mid","high"]}
{"__MONOTONIC_TIMESTAMP":"18174783","FAIRSHARE_EVENT":"io_shares"}
{"__MONOTONIC_TIMESTAMP":"18182432","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"low"}
{"__MONOTONIC_TIMESTAMP":"18198331","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"mid"}
{"__MONOTONIC_TIMESTAMP":"18199607","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"high"}
{"__MONOTONIC_TIMESTAMP":"18207517","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low"}
{"__MONOTONIC_TIMESTAMP":"18209742","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low"}
{"__MONOTONIC_TIMESTAMP":"18210722","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low"}
{"__MONOTONIC_TIMESTAMP":"18211566","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid"}
{"__MONOTONIC_TIMESTAMP":"18228746","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid"}
{"__MONOTONIC_TIMESTAMP":"18229376","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid"}
{"__MONOTONIC_TIMESTAMP":"18229659","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high"}
{"__MONOTONIC_TIMESTAMP":"18229900","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high"}
{"__MONOTONIC_TIMESTAMP":"18230120","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high"}
{"__MONOTONIC_TIMESTAMP":"18230336","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"low"}
{"__MONOTONIC_TIMESTAMP":"18230661","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"mid"}
{"__MONOTONIC_TIMESTAMP":"18230988","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high"}
{"__MONOTONIC_TIMESTAMP":"18361306","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"56136369","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"high"}
{"__MONOTONIC_TIMESTAMP":"56140792","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"low"}
{"__MONOTONIC_TIMESTAMP":"56141176","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"mid"}
{"__MONOTONIC_TIMESTAMP":"56141434","FAIRSHARE_EVENT":"stopping"}
{"__MONOTONIC_TIMESTAMP":"60031336","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"60657867","FAIRSHARE_EVENT":"started"}
{"__MONOTONIC_TIMESTAMP":"60668746","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["capped","owner"]}
{"__MONOTONIC_TIMESTAMP":"61926833","FAIRSHARE_EVENT":"io_shares"}
{"__MONOTONIC_TIMESTAMP":"61939509","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"61948167","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"owner"}
{"__MONOTONIC_TIMESTAMP":"61948981","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"61949292","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"61949665","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"61949930","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"owner"}
{"__MONOTONIC_TIMESTAMP":"61950170","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"owner"}
{"__MONOTONIC_TIMESTAMP":"61950462","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"owner"}
{"__MONOTONIC_TIMESTAMP":"61956185","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"61957118","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"owner"}
{"__MONOTONIC_TIMESTAMP":"61988112","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"63061022","FAIRSHARE_EVENT":"borrow_started","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"71160591","FAIRSHARE_EVENT":"borrow_stopped","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"82515014","FAIRSHARE_EVENT":"borrow_started","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"88759179","FAIRSHARE_EVENT":"borrow_stopped","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"88956449","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"capped"}
{"__MONOTONIC_TIMESTAMP":"88957567","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"owner"}
{"__MONOTONIC_TIMESTAMP":"88957955","FAIRSHARE_EVENT":"stopping"}
{"__MONOTONIC_TIMESTAMP":"94644237","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"96166385","FAIRSHARE_EVENT":"started"}
{"__MONOTONIC_TIMESTAMP":"96168940","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["small","heavy1","heavy2","heavy3"]}
{"__MONOTONIC_TIMESTAMP":"97787416","FAIRSHARE_EVENT":"io_shares"}
{"__MONOTONIC_TIMESTAMP":"97866969","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"97867331","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"heavy1"}
{"__MONOTONIC_TIMESTAMP":"97867739","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"heavy2"}
{"__MONOTONIC_TIMESTAMP":"97933362","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"heavy3"}
{"__MONOTONIC_TIMESTAMP":"97933811","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"97934062","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"97934299","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"97934569","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy1"}
{"__MONOTONIC_TIMESTAMP":"97934805","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy1"}
{"__MONOTONIC_TIMESTAMP":"97935022","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy1"}
{"__MONOTONIC_TIMESTAMP":"97935374","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy2"}
{"__MONOTONIC_TIMESTAMP":"97935614","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy2"}
{"__MONOTONIC_TIMESTAMP":"97963168","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy2"}
{"__MONOTONIC_TIMESTAMP":"98073223","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy3"}
{"__MONOTONIC_TIMESTAMP":"98073996","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy3"}
{"__MONOTONIC_TIMESTAMP":"98074254","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"heavy3"}
{"__MONOTONIC_TIMESTAMP":"98074480","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"98074730","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"heavy1"}
{"__MONOTONIC_TIMESTAMP":"98075093","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"heavy2"}
{"__MONOTONIC_TIMESTAMP":"98075346","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"heavy3"}
{"__MONOTONIC_TIMESTAMP":"98445748","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"98479581","FAIRSHARE_EVENT":"floor_hit","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"121617372","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"heavy1"}
{"__MONOTONIC_TIMESTAMP":"121649127","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"heavy2"}
{"__MONOTONIC_TIMESTAMP":"121650434","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"heavy3"}
{"__MONOTONIC_TIMESTAMP":"121651197","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"small"}
{"__MONOTONIC_TIMESTAMP":"121705728","FAIRSHARE_EVENT":"stopping"}
{"__MONOTONIC_TIMESTAMP":"126882323","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"128097354","FAIRSHARE_EVENT":"started"}
{"__MONOTONIC_TIMESTAMP":"128166597","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["a","b"]}
{"__MONOTONIC_TIMESTAMP":"129017997","FAIRSHARE_EVENT":"io_shares"}
{"__MONOTONIC_TIMESTAMP":"129019171","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"129019630","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"129022169","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"129022746","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"129023023","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"129023390","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"129023666","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"129049886","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"129050574","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"129050890","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"129060252","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"189304227","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"189337124","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["a","b"]}
{"__MONOTONIC_TIMESTAMP":"215270558","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"215277031","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"215281055","FAIRSHARE_EVENT":"stopping"}
{"__MONOTONIC_TIMESTAMP":"219032867","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"220409579","FAIRSHARE_EVENT":"started"}
{"__MONOTONIC_TIMESTAMP":"220417960","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["a","b"]}
{"__MONOTONIC_TIMESTAMP":"220698917","FAIRSHARE_EVENT":"io_shares"}
{"__MONOTONIC_TIMESTAMP":"220720640","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"220721473","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"220724948","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"220726529","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"220727588","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"220730257","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"220731374","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"220761927","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"234218527","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"234282094","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"234352435","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"247735052","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"a"}
{"__MONOTONIC_TIMESTAMP":"247739478","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"b"}
{"__MONOTONIC_TIMESTAMP":"247742993","FAIRSHARE_EVENT":"stopping"}
{"__MONOTONIC_TIMESTAMP":"250105024","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"250808766","FAIRSHARE_EVENT":"started"}
{"__MONOTONIC_TIMESTAMP":"250811956","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["work","scav"]}
{"__MONOTONIC_TIMESTAMP":"251455097","FAIRSHARE_EVENT":"io_shares"}
{"__MONOTONIC_TIMESTAMP":"251460676","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"work"}
{"__MONOTONIC_TIMESTAMP":"251465119","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"251468600","FAIRSHARE_EVENT":"cpu_idle","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"251471038","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"work"}
{"__MONOTONIC_TIMESTAMP":"251477612","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"work"}
{"__MONOTONIC_TIMESTAMP":"251479260","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"work"}
{"__MONOTONIC_TIMESTAMP":"251493170","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"251494773","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"251496205","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"251498593","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"work"}
{"__MONOTONIC_TIMESTAMP":"251499878","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"251526953","FAIRSHARE_EVENT":"setup"}
{"__MONOTONIC_TIMESTAMP":"276886912","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"scav"}
{"__MONOTONIC_TIMESTAMP":"276894958","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"work"}
{"__MONOTONIC_TIMESTAMP":"276895393","FAIRSHARE_EVENT":"stopping"}
FSJSON-END
FSRESULT journal_exit 0
FSRESULT journal_text_exit 0
FSRESULT scenario_exit 0
FSRESULT end_uptime 280.20
FSDONE
"""
GOOD = RECORDED.lstrip("\n")
GOOD_CHECKS = 49
RESULT_KEYS = ["share_max_error_points", "share_jain", "redistribution_intervals", "borrow_take_intervals",
               "borrow_giveback_intervals", "floor_cpus", "starvation_a_min_percent", "starvation_b_first_percent",
               "starvation_settle_intervals", "absent_b_first2_percent", "absent_b_next2_percent",
               "idle_contended_percent", "idle_alone_percent"]


def marks(text):
    return {p[2]: float(p[3]) for p in (line.split() for line in text.splitlines())
            if len(p) >= 4 and p[0] == "FSRESULT" and p[1] == "mark"}


def _samples(text, fn):
    """Every samples_* text block's `S T name:usage:quota/period:weight ...` lines rewritten by
    fn(block_lines) -> new block_lines; fn must change something."""
    lines = text.splitlines()
    out, i, changed = [], 0, False
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if line.startswith("FSTEXT-BEGIN samples_"):
            body = []
            while lines[i] != "FSTEXT-END":
                body.append(lines[i])
                i += 1
            new = fn(body)
            changed |= new != body
            out += new
    if not changed:
        raise AssertionError("the sample doctor changed nothing")
    return "\n".join(out) + "\n"


def _parse(line):
    parts = line.split()
    return float(parts[1]), [p.split(":") for p in parts[2:]]


def _unparse(t_text, items):
    return " ".join(["S", t_text] + [":".join(f) for f in items])


def scale_usage(group, a, b, factor):
    """GROUP's CPU use between A and B (marks: uptime) multiplied by FACTOR, as the checker
    sees it (usage interpolated linearly between samples): the part of each sampling step that
    overlaps [A, B] counts FACTOR times; later counters shift along."""
    def fn(body):
        out, prev_old, prev_new, prev_t = [], None, None, None
        for line in body:
            if not line.startswith("S "):
                out.append(line)
                continue
            t, items = _parse(line)
            for f in items:
                if f[0] == group and f[1].isdigit():
                    u = int(f[1])
                    if prev_old is None:
                        new = u
                    else:
                        step = u - prev_old
                        inside = max(0.0, min(t, b) - max(prev_t, a)) / (t - prev_t) if t > prev_t else 0.0
                        new = prev_new + round(step * (1 - inside + inside * factor))
                    prev_old, prev_new, prev_t = u, new, t
                    f[1] = str(new)
            out.append(_unparse(line.split()[1], items))
        # A group's counter restarts in the next phase's block (a new cgroup of the same name).
        return out
    return lambda text: _samples(text, fn)


def set_sampled(group, a, b, index, value):
    """GROUP's sampled field INDEX (2: cpu.max as quota/period, 3: cpu.weight) set to VALUE in
    every sample taken in [A, B]."""
    def fn(body):
        out = []
        for line in body:
            if line.startswith("S "):
                t, items = _parse(line)
                if a <= t <= b:
                    for f in items:
                        if f[0] == group:
                            f[index] = value
                    line = _unparse(line.split()[1], items)
            out.append(line)
        return out
    return lambda text: _samples(text, fn)


def at(mark_a, da, mark_b=None, db=0.0):
    """A window from marks: (mark_a + da, mark_b + db) of the recorded log."""
    m = marks(GOOD)
    return m[mark_a] + da, m[mark_b or mark_a] + db


def journal(fn):
    return lambda text: edit_json_lines(text, "journal", fn)


def drop_event(event, group):
    return journal(lambda e: None if e.get("FAIRSHARE_EVENT") == event and e.get("FAIRSHARE_GROUP") == group else e)


def move_event(event, group, to_mark, offset):
    """EVENT's entries for GROUP logged at TO_MARK + OFFSET seconds instead (all of them)."""
    when = str(int((marks(GOOD)[to_mark] + offset) * 1e6))

    def fn(e):
        if e.get("FAIRSHARE_EVENT") == event and e.get("FAIRSHARE_GROUP") == group:
            e["__MONOTONIC_TIMESTAMP"] = when
        return e
    return journal(fn)


def status_group(block, group, fn):
    def edit(doc):
        for g in doc["groups"]:
            if g["name"] == group:
                fn(g)
    return lambda text: edit_json(text, block, edit)


def redistribution(block, group, **kv):
    return status_group(block, group, lambda g: g["redistribution"].update(kv))


def chain(*fns):
    def run(text):
        for f in fns:
            text = f(text)
        return text
    return run


def scale(group, window, factor):
    a, b = window
    return scale_usage(group, a, b, factor)


def no_journald(text):
    text = set_result(text, "image_journald", "no")
    text = set_result(text, "journald", "no")
    text = set_result(text, "log_target", "console")
    return replace_block_lines(text, "JSON", "journal", [])


# (name, doctor, (section, the start of the check's name) that must fail)
BAD = [
    ("empty log", lambda t: "", ("boot", "guest printed results")),
    ("guest did not finish", lambda t: drop_lines(drop_lines(t, "FSDONE"), "FSRESULT scenario_exit"),
     ("boot", "guest ran to completion")),
    ("phase 4's agent never ready", lambda t: set_result(t, "ready_4", "no"), ("boot", "phase 4: agent ready")),
    ("phase 1's agent killed at stop", lambda t: sub(t, r"^(FSRESULT stop_1 .*)stop_killed no", r"\1stop_killed yes"),
     ("boot", "phase 1: agent stops cleanly")),
    # Once skipped when the guest had no journald: now failures, the borrow delays included.
    ("no journald in the guest", no_journald, ("journal", "journald ran in the guest and the agent logged to it")),
    ("no journald: the take delay has no source", no_journald,
     ("borrow", "owner STOP: capped takes idle capacity within 2 intervals (journal")),
    ("no journald: floor_hit not seen", no_journald, ("floor", "journal: floor_hit for small")),
    ("journal not dumped", lambda t: replace_block_lines(t, "JSON", "journal", []),
     ("journal", "the journal's fairshare entries were dumped")),
    ("share: high short of its 5/8", scale("high", at("share_start", 0, "share_end"), 0.8),
     ("share", "max |achieved - target|")),
    ("share: low at twice its 1/8", scale("low", at("share_start", 0, "share_end"), 2.0),
     ("share", "weighted Jain's index")),
    ("share: window not marked", lambda t: drop_lines(t, "FSRESULT mark share_end"), ("share", "share window measured")),
    ("redistribution: the idle CPU left unused",
     chain(scale("low", at("redist_stop", 0, "redist_end"), 0.6), scale("mid", at("redist_stop", 0, "redist_end"), 0.6)),
     ("redistribution", "low+mid >= 85%")),
    ("redistribution: mid/low 1.3", scale("low", at("redist_stop", 0, "redist_end"), 1.5),
     ("redistribution", "mid/low within 15% of 2")),
    ("redistribution: the split holds late", scale("low", at("redist_stop", 0, "redist_stop", 2.5), 1.6),
     ("redistribution", "split holds within one interval")),
    ("redistribution: not marked", lambda t: drop_lines(t, "FSRESULT mark redist_end"), ("redistribution", "phase measured")),
    ("borrow: capped does not take idle capacity", scale("capped", at("ready_3", 0, "borrow_idle_end"), 0.5),
     ("borrow", "owner idle: capped > 1.2 CPUs")),
    ("borrow: cpu.max never raised", set_sampled("capped", *at("ready_3", -1, "borrow_idle_end"), 2, "50000/100000"),
     ("borrow", "owner idle: cpu.max quota > 50000")),
    ("borrow: capped keeps what it borrowed", scale("capped", at("borrow_cont", 2, "borrow_cont_end"), 3.0),
     ("borrow", "owner CONT: capped <= 0.65 CPUs in every 1-s window")),
    ("borrow: cpu.max not restored", set_sampled("capped", *at("borrow_cont", 0, "borrow_cont_end"), 2, "150000/100000"),
     ("borrow", "owner CONT: cpu.max back to '50000 100000'")),
    ("borrow: borrow_stopped missing (the give-back delay's source)", drop_event("borrow_stopped", "capped"),
     ("borrow", "owner CONT: capped gives back within 2 intervals (journal: borrow_stopped)")),
    ("borrow: borrow_stopped missing from the journal", drop_event("borrow_stopped", "capped"),
     ("borrow", "journal: borrow_stopped for capped")),
    ("borrow: borrow_started 3 s late", move_event("borrow_started", "capped", "borrow_stop", 3.0),
     ("borrow", "owner STOP: capped takes idle capacity within 2 intervals (journal: borrow_started)")),
    ("borrow: borrow_started missing from the journal", drop_event("borrow_started", "capped"),
     ("borrow", "journal: borrow_started for capped")),
    ("borrow: capped does not take again", scale("capped", at("borrow_stop", 0, "borrow_stop_end"), 0.5),
     ("borrow", "owner STOP: capped > 1.2 CPUs")),
    ("borrow: cpu.max not raised again", set_sampled("capped", *at("borrow_stop", 0, "borrow_stop_end"), 2, "50000/100000"),
     ("borrow", "owner STOP: cpu.max quota raised above 50000")),
    ("borrow: status not borrowing", redistribution("status_borrowing", "capped", limit="ceiling", borrowed_cpus=0),
     ("borrow", "status while borrowing")),
    ("borrow: not marked", lambda t: drop_lines(t, "FSRESULT mark borrow_cont_end"), ("borrow", "phase measured")),
    ("floor: small below its floor", scale("small", at("floor_start", 0, "floor_end"), 0.8),
     ("floor", "small >= 0.95 CPU")),
    ("floor: floor_hit missing from the journal", drop_event("floor_hit", "small"), ("floor", "journal: floor_hit for small")),
    ("floor: status limit share", redistribution("status_floor", "small", limit="share"),
     ("floor", "status: small redistribution.limit == floor")),
    ("starvation: b not favoured on its return", scale("b", at("starve_return", 0, "starve_return", 5), 0.25),
     ("starvation", "b favoured after its return")),
    ("starvation: a starved for 3 s", scale("a", at("starve_return", 0, "starve_return", 3), 0.1),
     ("starvation", "a's minimum 1-s share >= 15%")),
    ("starvation: boost beyond max_boost", set_sampled("b", *at("starve_return", 0, "starve_end"), 3, "10000"),
     ("starvation", "effective weight ratio <= max_boost")),
    ("starvation: never back to 50/50", scale("b", at("starve_return", 5, "starve_end"), 1.6),
     ("starvation", "split back within 5 points of 50/50")),
    ("absent: b accrued no entitlement", redistribution("status_absent_alone", "b", entitlement_cpus=0),
     ("absent", "status: b, without processes, accrued entitlement")),
    ("absent: b not favoured", scale("b", at("absent_burners_started", 0, "absent_burners_started", 2), 0.3),
     ("absent", "b favoured in its first 2 s")),
    ("absent: b unbounded", chain(scale("a", at("absent_burners_started", 0, "absent_burners_started", 2), 0.3),
                                   scale("b", at("absent_burners_started", 0, "absent_burners_started", 2), 2.0)),
     ("absent", "b bounded in its first 2 s")),
    ("absent: boost beyond max_boost", set_sampled("b", *at("absent_burners_started", -1, "absent_end"), 3, "10000"),
     ("absent", "effective weight ratio <= max_boost")),
    ("idle: scav's cpu.idle 0", lambda t: set_result(t, "idle_scav_cpu_idle", "0"), ("idle", "scav cpu.idle reads 1, work 0")),
    ("idle: scav takes from a busy group", scale("scav", at("idle_contended_start", 0, "idle_contended_end"), 40.0),
     ("idle", "scav < 5% of the machine")),
    ("idle: scav leaves idle CPU unused", scale("scav", at("idle_alone_start", 0, "idle_alone_end"), 0.7),
     ("idle", "scav >= 90% of what the guest delivered")),
    ("idle: a write failed", lambda t: edit_json(t, "status_idle_contended", lambda d: d["agent"].update(
        failures=[{"target": "/sys/fs/cgroup/fairshare/scav/cpu.weight", "cause": "Invalid argument (errno 22)"}])),
     ("idle", "no write failed")),
    ("idle: status shows a weight for scav", status_group("status_idle_contended", "scav", lambda g: g.update(cpu_weight=100)),
     ("idle", "status: scav idle, cpu_weight null, limit idle")),
    ("idle: the kernel took cpu.weight while idle", lambda t: set_result(t, "probe_weight_write_while_idle", "accepted"),
     ("idle", "kernel: cpu.weight refused while cpu.idle = 1")),
    ("idle: not marked", lambda t: drop_lines(t, "FSRESULT mark idle_alone_end"), ("idle", "phase measured")),
]


def run_checker(text, results=False):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fairness.log")
        with open(path, "w") as f:
            f.write(text)
        args = [sys.executable, CHECK, path] + (["--results", os.path.join(d, "results.txt")] if results else [])
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        figures = {}
        if results and os.path.exists(os.path.join(d, "results.txt")):
            with open(os.path.join(d, "results.txt")) as f:
                figures = dict(line.split(None, 1) for line in f.read().splitlines() if line.strip())
    return p.returncode, p.stdout + p.stderr, figures


def failed_checks(out):
    """(section, check) of every FAIL line of check-fairness.py's report: `FAIL [section] name`."""
    failed = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("FAIL [") and "] " in line:
            sec, rest = line[6:].split("] ", 1)
            failed.append((sec, rest))
    return failed


def journal_delays(text):
    """The borrow delays as the journal gives them (intervals of 1 s), for the figure check."""
    m = marks(text)
    times = {}
    for line in text.splitlines():
        if line.startswith("{") and '"FAIRSHARE_EVENT":"borrow_' in line:
            e = json.loads(line)
            times.setdefault(e["FAIRSHARE_EVENT"], []).append(int(e["__MONOTONIC_TIMESTAMP"]) / 1e6)
    take = next(x for x in sorted(times["borrow_started"]) if m["borrow_stop"] <= x <= m["borrow_stop_end"])
    back = next(x for x in sorted(times["borrow_stopped"]) if m["borrow_cont"] <= x <= m["borrow_cont_end"])
    return f"{take - m['borrow_stop']:.2f}", f"{back - m['borrow_cont']:.2f}"


def main():
    failures = []
    rc, out, figures = run_checker(GOOD, results=True)
    if rc != 0 or f"vm-fairness: {GOOD_CHECKS} passed, 0 failed" not in out:
        failures.append(f"the recorded good log: exit {rc}, expected 0 and {GOOD_CHECKS} passed\n{out}")
    else:
        print(f"ok   the recorded good log passes ({GOOD_CHECKS} checks)")
    missing = [k for k in RESULT_KEYS if k not in figures]
    take, back = journal_delays(GOOD)
    if missing or figures.get("borrow_take_intervals") != take or figures.get("borrow_giveback_intervals") != back:
        failures.append(f"the good log's figures: missing {missing}; borrow take/give-back "
                        f"{figures.get('borrow_take_intervals')}/{figures.get('borrow_giveback_intervals')}, "
                        f"the journal says {take}/{back}")
    else:
        print(f"ok   the good log yields all {len(RESULT_KEYS)} figures, the borrow delays from the journal ({take}, {back})")
    # Without the journal there is no borrow figure at all (none quietly taken from usage).
    _, _, figures = run_checker(no_journald(GOOD), results=True)
    leaked = [k for k in ("borrow_take_intervals", "borrow_giveback_intervals") if k in figures]
    if leaked:
        failures.append(f"without the journal the checker still wrote {leaked} (from another source)")
    else:
        print("ok   without the journal no borrow delay figure is written")
    for name, fn, (section, check) in BAD:
        try:
            text = fn(GOOD)
        except (AssertionError, KeyError, StopIteration) as e:
            failures.append(f"{name}: the doctor does not apply to the recorded log: {e!r}")
            continue
        rc, out, _ = run_checker(text)
        failed = failed_checks(out)
        if rc == 0:
            failures.append(f"{name}: the checker passed it")
        elif not any(sec == section and line.startswith(check) for sec, line in failed):
            failures.append(f"{name}: exit {rc}, but [{section}] {check!r} did not fail; failed: "
                            + "; ".join(f"[{s}] {ln[:80]}" for s, ln in failed))
        else:
            print(f"ok   {name}: fails [{section}] {check}")
    for f in failures:
        print(f"FAIL {f}")
    total = len(BAD) + 3
    print(f"fairness-checker-test: {total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

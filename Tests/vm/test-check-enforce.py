#!/usr/bin/env python3
"""check-enforce.py on a recorded console log (host only, seconds): the good log passes every
check, and each doctored copy (a wrong split or weight, a burner not placed, a status that
says the wrong thing, a reload not followed, a bad policy taken, a plan the kernel did not
follow, a stop that loses a process, a guest without journald, a journal event missing, ...)
fails the check named for it. Run: python3 test-check-enforce.py (make enforce-checker-test)

RECORDED is a `make vm-test` run of 2026-12-04 on this machine kind (branch h-tests-b at
06075a6; the static release agent built from main 5591c6f; kernel 6.1.0-57-cloud-amd64; host
load about 13 on its 2 cores), 62/62 checks passed: split 0.127 / 0.246 / 0.626, reload
followed in 0.97 s. Condensed by `recorded-log.py LOG --text bad_reload_cli bad_check
syntax_check plan_table plan_invalid`: FSRESULT lines, JSON blocks on one line each, the
journal's entries cut to the fields the checker reads, other text blocks left out. Refresh it
the same way when scenario-enforce.sh changes what it prints.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-enforce.py")
sys.path.insert(0, HERE)
from logdoctor import (doctor, drop_lines, edit_json, edit_json_lines, replace_block_lines,  # noqa: E402
                       set_result, sub)

RECORDED = r"""
FSRESULT boot_uptime 9.17
FSRESULT kernel 6.1.0-57-cloud-amd64
FSRESULT cgroup_controllers cpuset cpu io memory hugetlb pids rdma misc
FSRESULT image_journald yes
FSRESULT burners_per_group 3
FSRESULT burner burn_a 101
FSRESULT burner_start_cgroup 101 /origin
FSRESULT burner burn_a 102
FSRESULT burner_start_cgroup 102 /origin
FSRESULT burner burn_a 103
FSRESULT burner_start_cgroup 103 /origin
FSRESULT burner burn_b 104
FSRESULT burner_start_cgroup 104 /origin
FSRESULT burner burn_b 105
FSRESULT burner_start_cgroup 105 /origin
FSRESULT burner burn_b 106
FSRESULT burner_start_cgroup 106 /origin
FSRESULT burner burn_c 107
FSRESULT burner_start_cgroup 107 /origin
FSRESULT burner burn_c 108
FSRESULT burner_start_cgroup 108 /origin
FSRESULT burner burn_c 109
FSRESULT burner_start_cgroup 109 /origin
FSRESULT journald yes
FSRESULT journald_start_s 2.27
FSRESULT log_target journal
FSRESULT interval_s 2
FSRESULT agent_pid 145
FSRESULT ready yes
FSRESULT ready_s 14.44
FSRESULT placed burn_a 101 /fairshare/low
FSRESULT placed burn_a 102 /fairshare/low
FSRESULT placed burn_a 103 /fairshare/low
FSRESULT placed burn_b 104 /fairshare/mid
FSRESULT placed burn_b 105 /fairshare/mid
FSRESULT placed burn_b 106 /fairshare/mid
FSRESULT placed burn_c 107 /fairshare/high
FSRESULT placed burn_c 108 /fairshare/high
FSRESULT placed burn_c 109 /fairshare/high
FSRESULT usage_window_s 10.57
FSRESULT agent_cpu_ticks 37
FSRESULT burner_cpu_ticks 101 84
FSRESULT burner_cpu_ticks 102 91
FSRESULT burner_cpu_ticks 103 99
FSRESULT burner_cpu_ticks 104 181
FSRESULT burner_cpu_ticks 105 180
FSRESULT burner_cpu_ticks 106 183
FSRESULT burner_cpu_ticks 107 421
FSRESULT burner_cpu_ticks 108 486
FSRESULT burner_cpu_ticks 109 430
FSRESULT usage low 2640477
FSRESULT cpu_weight low 100
FSRESULT io_weight low default 100
FSRESULT usage mid 5103073
FSRESULT cpu_weight mid 200
FSRESULT io_weight mid default 200
FSRESULT usage high 12985521
FSRESULT cpu_weight high 500
FSRESULT io_weight high default 500
FSRESULT usage_root 20848786
FSRESULT subtree_control_root cpu io
FSRESULT subtree_control_fairshare cpu io
FSJSON-BEGIN status_1
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":1,"received":{"comm":78,"exec":23,"exit":140,"fork":140,"gid":0,"other":0,"thread":20,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.02117635,"pass_seconds_median":0.04043543,"pid":145,"started_at":1796410934.8955705,"ticks":9,"uptime_seconds":19.831593990325928},"groups":[{"backing":"agent","cpu_target_pct":12.5,"cpu_usage_cpus":0.23611581724713648,"cpu_usage_pct":11.805790862356824,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":13458938,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 80% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":80.42943127527002,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":3746788},{"backing":"agent","cpu_target_pct":25,"cpu_usage_cpus":0.46827686131994145,"cpu_usage_pct":23.41384306599707,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":13645710,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 85% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":85.20722347348779,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":7252895},{"backing":"agent","cpu_target_pct":62.5,"cpu_usage_cpus":1.0957224400232877,"cpu_usage_pct":54.78612200116439,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":12597752,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 78% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":77.77170476157266,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":17835109}],"io_devices":[],"policy":{"loaded_at":1796410934.8955705,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_1_exit 0
FSJSON-BEGIN status_2
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":2,"received":{"comm":85,"exec":27,"exit":144,"fork":144,"gid":0,"other":0,"thread":28,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.16060086,"pass_seconds_median":0.05361633,"pid":145,"started_at":1796410934.8955705,"ticks":11,"uptime_seconds":23.02748703956604},"groups":[{"backing":"agent","cpu_target_pct":12.5,"cpu_usage_cpus":0.2189175573310234,"cpu_usage_pct":10.94587786655117,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":16184592,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 62% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":61.95315244102677,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":4547275},{"backing":"agent","cpu_target_pct":25,"cpu_usage_cpus":0.3811994377616882,"cpu_usage_pct":19.05997188808441,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":16870418,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 78% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":78.10411941151678,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":8684934},{"backing":"agent","cpu_target_pct":62.5,"cpu_usage_cpus":0.9536708951380605,"cpu_usage_pct":47.683544756903025,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":15623396,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 74% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":73.92158200572025,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":21327018}],"io_devices":[],"policy":{"loaded_at":1796410934.8955705,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_2_exit 0
FSJSON-BEGIN status_3
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":2,"received":{"comm":92,"exec":31,"exit":148,"fork":148,"gid":0,"other":0,"thread":36,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.0046813,"pass_seconds_median":0.04702588,"pid":145,"started_at":1796410934.8955705,"ticks":12,"uptime_seconds":25.165675401687622},"groups":[{"backing":"agent","cpu_target_pct":12.5,"cpu_usage_cpus":0.23206978935775976,"cpu_usage_pct":11.603489467887988,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":17574335,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 69% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":68.92280319515774,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":5015215},{"backing":"agent","cpu_target_pct":25,"cpu_usage_cpus":0.3629124366772431,"cpu_usage_pct":18.145621833862155,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":18310346,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 71% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":71.41167407153488,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":9416702},{"backing":"agent","cpu_target_pct":62.5,"cpu_usage_cpus":0.7444042436128735,"cpu_usage_pct":37.22021218064368,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":17266818,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 82% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":81.503739232788,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":22828017}],"io_devices":[],"policy":{"loaded_at":1796410934.8955705,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_3_exit 0
FSRESULT status_table_exit 0
FSJSON-BEGIN explain_low
{"cgroup":"/fairshare/low","comm":"burn_a","exe":"/bin/burn_a","gid":0,"group":"low","matched_keys":["comm burn_a ~ burn_a"],"origin_cgroup":"/origin","pid":101,"reason":"matches group low","uid":0}
FSJSON-END
FSRESULT explain_low_exit 0
FSJSON-BEGIN explain_low
{"cgroup":"/fairshare/low","comm":"burn_a","exe":"/bin/burn_a","gid":0,"group":"low","matched_keys":["comm burn_a ~ burn_a"],"origin_cgroup":"/origin","pid":102,"reason":"matches group low","uid":0}
FSJSON-END
FSRESULT explain_low_exit 0
FSJSON-BEGIN explain_low
{"cgroup":"/fairshare/low","comm":"burn_a","exe":"/bin/burn_a","gid":0,"group":"low","matched_keys":["comm burn_a ~ burn_a"],"origin_cgroup":"/origin","pid":103,"reason":"matches group low","uid":0}
FSJSON-END
FSRESULT explain_low_exit 0
FSJSON-BEGIN explain_agent
{"cgroup":"/","comm":"fairshare","exe":"/bin/fairshare","gid":0,"matched_keys":[],"pid":145,"reason":"never moved: the agent itself","uid":0}
FSJSON-END
FSRESULT explain_agent_exit 0
FSRESULT reload_matched yes
FSRESULT reload_latency_s 0.97
FSRESULT reload_weights 500 200 100
FSJSON-BEGIN status_after_reload
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":5,"received":{"comm":152,"exec":52,"exit":212,"fork":212,"gid":0,"other":0,"thread":85,"uid":0},"rescan_found":0,"rescans":2,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.04956888,"pass_seconds_median":0.04956888,"pid":145,"started_at":1796410934.8955705,"ticks":19,"uptime_seconds":37.46329402923584},"groups":[{"backing":"agent","cpu_target_pct":62.5,"cpu_usage_cpus":0.7579772406951926,"cpu_usage_pct":37.89886203475963,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":26918706,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 74% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":73.68294867724256,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":8190007},{"backing":"agent","cpu_target_pct":25,"cpu_usage_cpus":0.3952561425407972,"cpu_usage_pct":19.76280712703986,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":27639080,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 63% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":62.797915499643885,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":13192410},{"backing":"agent","cpu_target_pct":12.5,"cpu_usage_cpus":0.2646039357786333,"cpu_usage_pct":13.230196788931664,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":26431061,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 63% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":62.80933270418054,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":30153090}],"io_devices":[],"policy":{"last_reload":{"applied":true,"at":1796410968.7792368},"loaded_at":1796410968.7792368,"path":"/etc/fairshare/policy.toml","reloads":1},"schema_version":1}
FSJSON-END
FSRESULT status_after_reload_exit 0
FSRESULT bad_weights_before 500 200 100
FSRESULT bad_weights_after 500 200 100
FSRESULT bad_agent_alive yes
FSJSON-BEGIN status_after_bad_reload
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":5,"received":{"comm":167,"exec":57,"exit":232,"fork":232,"gid":0,"other":0,"thread":93,"uid":0},"rescan_found":0,"rescans":2,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.02477605,"pass_seconds_median":0.04956888,"pid":145,"started_at":1796410934.8955705,"ticks":21,"uptime_seconds":42.16560697555542},"groups":[{"backing":"agent","cpu_target_pct":62.5,"cpu_usage_cpus":1.171820725949763,"cpu_usage_pct":58.59103629748815,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":30252999,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 78% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":78.08953232623256,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":11994689},{"backing":"agent","cpu_target_pct":25,"cpu_usage_cpus":0.4890571577432762,"cpu_usage_pct":24.45285788716381,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":30995792,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 88% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":87.7742790611793,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":14702134},{"backing":"agent","cpu_target_pct":12.5,"cpu_usage_cpus":0.2911231755100245,"cpu_usage_pct":14.556158775501224,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":29745492,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 90% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":89.7198202629875,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":31019082}],"io_devices":[],"policy":{"last_reload":{"applied":false,"at":1796410973.310038,"error":"/etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0"},"loaded_at":1796410968.7792368,"path":"/etc/fairshare/policy.toml","reloads":2},"schema_version":1}
FSJSON-END
FSRESULT status_after_bad_reload_exit 0
FSTEXT-BEGIN bad_reload_cli
policy rejected; the agent keeps the policy it had:
/etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0
FSTEXT-END
FSRESULT bad_reload_cli_exit 1
FSTEXT-BEGIN bad_check
/etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0
/etc/fairshare/policy.toml: 1 error; the policy is not valid
FSTEXT-END
FSRESULT bad_check_exit 1
FSTEXT-BEGIN syntax_check
/tmp/syntax.toml:4:9: error: invalid TOML: Error while parsing table header: expected ']', saw '\n'
/tmp/syntax.toml: 1 error; the policy is not valid
FSTEXT-END
FSRESULT syntax_check_exit 1
FSRESULT status_table_end_exit 0
FSRESULT plan_group before low present 500 default_500 max_100000 101 102 103
FSRESULT plan_group before mid present 200 default_200 max_100000 104 105 106
FSRESULT plan_group before high present 100 default_100 max_100000 107 108 109
FSRESULT plan_group before middle gone
FSRESULT plan_group before spare gone
FSJSON-BEGIN plan
{"cpus":2,"current_policy_path":"/etc/fairshare/policy.toml","demand_estimate":"demand under the new policy is estimated from where each group's processes are now: each current group's last measured CPU usage is split evenly over its processes and follows them; a process from a hungry group makes its new group hungry; processes from outside any group bring no measured usage (a group with only such processes is assumed to want its share, as the controller assumes for a new group)","groups":[{"before":{"allocation_cpus":1.25,"backing":"agent","cpu_max":"max 100000","cpu_weight":500,"demand":"waiting for CPU 89% of the time","hungry":true,"io_weight":500,"members":3,"shares":5,"usage_cpus":0.6248879283067506},"change":"removed","name":"low"},{"before":{"allocation_cpus":0.5,"backing":"agent","cpu_max":"max 100000","cpu_weight":200,"demand":"waiting for CPU 77% of the time","hungry":true,"io_weight":200,"members":3,"shares":2,"usage_cpus":0.307621279584007},"change":"removed","name":"mid"},{"after":{"allocation_cpus":0.5,"backing":"agent","cpu_max":"50000 100000","cpu_weight":300,"demand":"estimated 0.14 CPUs from high, hungry","hungry":true,"io_weight":300,"members":3,"shares":3,"usage_cpus":0.13805703494797908},"before":{"allocation_cpus":0.25,"backing":"agent","cpu_max":"max 100000","cpu_weight":100,"demand":"waiting for CPU 76% of the time","hungry":true,"io_weight":100,"members":3,"shares":1,"usage_cpus":0.13805703494797908},"change":"kept","name":"high"},{"after":{"allocation_cpus":1.5,"backing":"agent","cpu_max":"max 100000","cpu_weight":200,"demand":"estimated 0.31 CPUs from mid, hungry","hungry":true,"io_weight":200,"members":3,"shares":2,"usage_cpus":0.307621279584007},"change":"added","name":"middle"},{"after":{"allocation_cpus":0,"backing":"agent","cpu_max":"max 100000","cpu_weight":100,"demand":"no members","hungry":false,"io_weight":100,"members":0,"shares":1},"change":"added","name":"spare"}],"moves":[{"count":3,"from":"low","processes":[{"comm":"burn_a","pid":101},{"comm":"burn_a","pid":102},{"comm":"burn_a","pid":103}],"to":"(origin)"},{"count":3,"from":"mid","processes":[{"comm":"burn_b","pid":104},{"comm":"burn_b","pid":105},{"comm":"burn_b","pid":106}],"to":"middle"}],"notes":[],"policy_path":"/tmp/plan.toml","schema_version":1}
FSJSON-END
FSRESULT plan_exit 0
FSTEXT-BEGIN plan_table
plan for /tmp/plan.toml (in force: /etc/fairshare/policy.toml), 2 CPUs; nothing was applied

processes that would move:
FROM  TO        COUNT  FIRST PIDS
low   (origin)  3      101 (burn_a), 102 (burn_a), 103 (burn_a)
mid   middle    3      104 (burn_b), 105 (burn_b), 106 (burn_b)

groups (before -> after):
GROUP   CHANGE   BACKING     SHARES  CPU.W       IO.W        CPU.MAX                     PROCS   ALLOC CPUS    DEMAND AFTER
low     removed  agent -> -  5 -> -  500 -> -    500 -> -    max 100000 -> -             3 -> -  1.25 -> -     -
mid     removed  agent -> -  2 -> -  200 -> -    200 -> -    max 100000 -> -             3 -> -  0.50 -> -     -
high    kept     agent       1 -> 3  100 -> 300  100 -> 300  max 100000 -> 50000 100000  3       0.25 -> 0.50  estimated 0.16 CPUs from high, hungry
middle  added    - -> agent  - -> 2  - -> 200    - -> 200    - -> max 100000             - -> 3  - -> 1.50     estimated 0.28 CPUs from mid, hungry
spare   added    - -> agent  - -> 1  - -> 100    - -> 100    - -> max 100000             - -> 0  - -> 0.00     no members

demand under the new policy is estimated from where each group's processes are now: each current group's last measured CPU usage is split evenly over its processes and follows them; a process from a hungry group makes its new group hungry; processes from outside any group bring no measured usage (a group with only such processes is assumed to want its share, as the controller assumes for a new group).
apply it: install the file as the agent's policy and run systemctl reload fairshare
FSTEXT-END
FSRESULT plan_table_exit 0
FSRESULT plan_group planned low present 500 default_500 max_100000 101 102 103
FSRESULT plan_group planned mid present 200 default_200 max_100000 104 105 106
FSRESULT plan_group planned high present 100 default_100 max_100000 107 108 109
FSRESULT plan_group planned middle gone
FSRESULT plan_group planned spare gone
FSRESULT plan_reload_exit 0
FSRESULT plan_group after low gone
FSRESULT plan_group after mid gone
FSRESULT plan_group after high present 300 default_300 50000_100000 107 108 109
FSRESULT plan_group after middle present 200 default_200 max_100000 104 105 106
FSRESULT plan_group after spare present 100 default_100 max_100000
FSRESULT plan_burner_after burn_a 101 /origin
FSRESULT plan_burner_after burn_a 102 /origin
FSRESULT plan_burner_after burn_a 103 /origin
FSRESULT plan_burner_after burn_b 104 /fairshare/middle
FSRESULT plan_burner_after burn_b 105 /fairshare/middle
FSRESULT plan_burner_after burn_b 106 /fairshare/middle
FSRESULT plan_burner_after burn_c 107 /fairshare/high
FSRESULT plan_burner_after burn_c 108 /fairshare/high
FSRESULT plan_burner_after burn_c 109 /fairshare/high
FSJSON-BEGIN status_after_plan
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":10,"received":{"comm":278,"exec":119,"exit":376,"fork":376,"gid":0,"other":0,"thread":152,"uid":0},"rescan_found":0,"rescans":3,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.15065572,"pass_seconds_median":0.053692384999999995,"pid":145,"started_at":1796410934.8955705,"ticks":34,"uptime_seconds":65.60376310348511},"groups":[{"backing":"agent","cpu_target_pct":40,"cpu_usage_cpus":0.28361076192715945,"cpu_usage_pct":14.180538096357973,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":20,"members":3,"name":"middle","nr_throttled":0,"pressure_total_usec":7647969,"redistribution":{"allocation_cpus":1.5,"allocation_pct":75,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 80% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":79.58132302921895,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":3764086},{"backing":"agent","cpu_target_pct":60,"cpu_usage_cpus":0.4081150513069809,"cpu_usage_pct":20.405752565349044,"cpu_weight":300,"io_bfq_weight":null,"io_read_bps":0,"io_shares":3,"io_weight":300,"io_write_bps":0,"machine_share_pct":30,"members":3,"name":"high","nr_throttled":48,"pressure_total_usec":49056227,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"50000 100000","demand":"throttled by cpu.max","fairness_factor":1,"hungry":true,"limit":"ceiling","max":"0.5","pressure_pct":81.90212864172834,"weight_reason":"shares"},"shares":3,"throttled_usec":2535232,"usage_usec":37542200},{"backing":"agent","cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":8.333333333333332,"members":0,"name":"spare","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":0}],"io_devices":[],"policy":{"last_reload":{"applied":true,"at":1796410989.6933808},"loaded_at":1796410989.6933808,"path":"/etc/fairshare/policy.toml","reloads":4},"schema_version":1}
FSJSON-END
FSRESULT status_after_plan_exit 0
FSTEXT-BEGIN plan_invalid
/tmp/badplan.toml:4:1: error: max must be more than zero, got '0'; expected a number of CPUs like "1.5" (or 1.5) or a percentage of the root's capacity like "25%"
/tmp/badplan.toml: 1 error; the policy is not valid
FSTEXT-END
FSRESULT plan_invalid_exit 1
FSRESULT stop_exit 0
FSRESULT stop_s 0.52
FSRESULT stop_killed no
FSRESULT after_stop burn_a 101 alive /origin
FSRESULT after_stop burn_a 102 alive /origin
FSRESULT after_stop burn_a 103 alive /origin
FSRESULT after_stop burn_b 104 alive /origin
FSRESULT after_stop burn_b 105 alive /origin
FSRESULT after_stop burn_b 106 alive /origin
FSRESULT after_stop burn_c 107 alive /origin
FSRESULT after_stop burn_c 108 alive /origin
FSRESULT after_stop burn_c 109 alive /origin
FSRESULT group_dir_after_stop low gone
FSRESULT group_dir_after_stop mid gone
FSRESULT group_dir_after_stop high gone
FSRESULT root_dir_after_stop present
FSJSON-BEGIN journal
{"__MONOTONIC_TIMESTAMP":"25868463","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"enabled +cpu +io in /sys/fs/cgroup/cgroup.subtree_control"}
{"__MONOTONIC_TIMESTAMP":"25938444","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"created /sys/fs/cgroup/fairshare"}
{"__MONOTONIC_TIMESTAMP":"26045919","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"enabled +cpu +io in /sys/fs/cgroup/fairshare/cgroup.subtree_control"}
{"__MONOTONIC_TIMESTAMP":"26255828","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"listening to the kernel's process events (proc connector), receive buffer 32768 KiB"}
{"__MONOTONIC_TIMESTAMP":"26898541","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d01","FAIRSHARE_EVENT":"started","MESSAGE":"fairshare started: managing /sys/fs/cgroup/fairshare with 3 group(s) from /etc/fairshare/policy.toml"}
{"__MONOTONIC_TIMESTAMP":"26928873","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d02","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"policy /etc/fairshare/policy.toml loaded: 3 group(s) low=1 mid=2 high=5"}
{"__MONOTONIC_TIMESTAMP":"27820766","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"4","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d19","FAIRSHARE_EVENT":"io_shares","MESSAGE":"io_shares have no effect: no disk found under /sys/block; CPU shares are enforced as usual"}
{"__MONOTONIC_TIMESTAMP":"27821844","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"low","MESSAGE":"created group low (/sys/fs/cgroup/fairshare/low)"}
{"__MONOTONIC_TIMESTAMP":"27822195","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"mid","MESSAGE":"created group mid (/sys/fs/cgroup/fairshare/mid)"}
{"__MONOTONIC_TIMESTAMP":"27822449","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"high","MESSAGE":"created group high (/sys/fs/cgroup/fairshare/high)"}
{"__MONOTONIC_TIMESTAMP":"27871461","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low","MESSAGE":"moved burn_a[101] from /origin to group low (comm burn_a ~ burn_a)"}
{"__MONOTONIC_TIMESTAMP":"27941636","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low","MESSAGE":"moved burn_a[102] from /origin to group low (comm burn_a ~ burn_a)"}
{"__MONOTONIC_TIMESTAMP":"27961116","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low","MESSAGE":"moved burn_a[103] from /origin to group low (comm burn_a ~ burn_a)"}
{"__MONOTONIC_TIMESTAMP":"27961796","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid","MESSAGE":"moved burn_b[104] from /origin to group mid (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"27962086","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid","MESSAGE":"moved burn_b[105] from /origin to group mid (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"27962320","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid","MESSAGE":"moved burn_b[106] from /origin to group mid (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"27962560","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high","MESSAGE":"moved burn_c[107] from /origin to group high (comm burn_c ~ burn_c)"}
{"__MONOTONIC_TIMESTAMP":"27962844","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high","MESSAGE":"moved burn_c[108] from /origin to group high (comm burn_c ~ burn_c)"}
{"__MONOTONIC_TIMESTAMP":"27963131","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high","MESSAGE":"moved burn_c[109] from /origin to group high (comm burn_c ~ burn_c)"}
{"__MONOTONIC_TIMESTAMP":"27963350","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"low","MESSAGE":"group low: cpu.weight 100, io.weight 100 (shares 1)"}
{"__MONOTONIC_TIMESTAMP":"27963668","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"mid","MESSAGE":"group mid: cpu.weight 200, io.weight 200 (shares 2)"}
{"__MONOTONIC_TIMESTAMP":"27963906","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high","MESSAGE":"group high: cpu.weight 500, io.weight 500 (shares 5)"}
{"__MONOTONIC_TIMESTAMP":"28091790","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"metrics textfile not written: /var/lib/prometheus/node-exporter does not exist (node_exporter's textfile collector is not installed); written once it exists"}
{"__MONOTONIC_TIMESTAMP":"34144372","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 11.7%/12.5% (3 proc), mid 20.7%/25.0% (3 proc), high 55.1%/62.5% (3 proc); events: 272 received, 0 overflows, 1 rescans (0 found), 1 races"}
{"__MONOTONIC_TIMESTAMP":"40280880","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 11.6%/12.5% (3 proc), mid 25.9%/25.0% (3 proc), high 60.1%/62.5% (3 proc); events: 272 received, 0 overflows, 1 rescans (0 found), 1 races"}
{"__MONOTONIC_TIMESTAMP":"46359136","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 8.8%/12.5% (3 proc), mid 16.2%/25.0% (3 proc), high 38.3%/62.5% (3 proc); events: 401 received, 0 overflows, 1 rescans (0 found), 1 races"}
{"__MONOTONIC_TIMESTAMP":"52438354","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 9.4%/12.5% (3 proc), mid 15.9%/25.0% (3 proc), high 36.9%/62.5% (3 proc); events: 478 received, 0 overflows, 1 rescans (0 found), 2 races"}
{"__MONOTONIC_TIMESTAMP":"58404682","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 7.7%/12.5% (3 proc), mid 12.9%/25.0% (3 proc), high 32.8%/62.5% (3 proc); events: 547 received, 0 overflows, 1 rescans (0 found), 2 races"}
{"__MONOTONIC_TIMESTAMP":"60337504","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d02","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"policy /etc/fairshare/policy.toml loaded: 3 group(s) low=5 mid=2 high=1"}
{"__MONOTONIC_TIMESTAMP":"60627765","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"low","MESSAGE":"group low: cpu.weight 500, io.weight 500 (shares 5)"}
{"__MONOTONIC_TIMESTAMP":"60701408","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high","MESSAGE":"group high: cpu.weight 100, io.weight 100 (shares 1)"}
{"__MONOTONIC_TIMESTAMP":"64815220","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"3","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d03","FAIRSHARE_EVENT":"policy_rejected","MESSAGE":"new policy rejected, keeping the one loaded before: /etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0"}
{"__MONOTONIC_TIMESTAMP":"64922903","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 34.6%/62.5% (3 proc), mid 12.6%/25.0% (3 proc), high 6.7%/12.5% (3 proc); events: 751 received, 0 overflows, 2 rescans (0 found), 5 races"}
{"__MONOTONIC_TIMESTAMP":"70755660","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"3","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d03","FAIRSHARE_EVENT":"policy_rejected","MESSAGE":"new policy rejected, keeping the one loaded before: /etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0"}
{"__MONOTONIC_TIMESTAMP":"70891102","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 32.0%/62.5% (3 proc), mid 11.7%/25.0% (3 proc), high 9.9%/12.5% (3 proc); events: 808 received, 0 overflows, 2 rescans (0 found), 5 races"}
{"__MONOTONIC_TIMESTAMP":"76994266","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 33.9%/62.5% (3 proc), mid 13.9%/25.0% (3 proc), high 7.9%/12.5% (3 proc); events: 1002 received, 0 overflows, 2 rescans (0 found), 8 races"}
{"__MONOTONIC_TIMESTAMP":"81191624","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d02","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["high","middle","spare"],"MESSAGE":"policy /etc/fairshare/policy.toml loaded: 3 group(s) middle=2 high=3 spare=1"}
{"__MONOTONIC_TIMESTAMP":"81665161","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"middle","MESSAGE":"created group middle (/sys/fs/cgroup/fairshare/middle)"}
{"__MONOTONIC_TIMESTAMP":"81666239","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"spare","MESSAGE":"created group spare (/sys/fs/cgroup/fairshare/spare)"}
{"__MONOTONIC_TIMESTAMP":"81666620","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"low","MESSAGE":"gave burn_a[101] back from group low to /origin"}
{"__MONOTONIC_TIMESTAMP":"81666952","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"low","MESSAGE":"gave burn_a[102] back from group low to /origin"}
{"__MONOTONIC_TIMESTAMP":"81667240","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"low","MESSAGE":"gave burn_a[103] back from group low to /origin"}
{"__MONOTONIC_TIMESTAMP":"81693415","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"middle","MESSAGE":"moved burn_b[104] from /origin to group middle (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"81694334","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"middle","MESSAGE":"moved burn_b[105] from /origin to group middle (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"81694675","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"middle","MESSAGE":"moved burn_b[106] from /origin to group middle (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"81694934","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"low","MESSAGE":"removed group low"}
{"__MONOTONIC_TIMESTAMP":"81695199","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"mid","MESSAGE":"removed group mid"}
{"__MONOTONIC_TIMESTAMP":"81695441","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"middle","MESSAGE":"group middle: cpu.weight 200, io.weight 200 (shares 2)"}
{"__MONOTONIC_TIMESTAMP":"81699753","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high","MESSAGE":"group high: cpu.weight 300, io.weight 300 (shares 3)"}
{"__MONOTONIC_TIMESTAMP":"81700175","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"spare","MESSAGE":"group spare: cpu.weight 100, io.weight 100 (shares 1)"}
{"__MONOTONIC_TIMESTAMP":"83118394","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["high","middle","spare"],"MESSAGE":"usage/target: middle 20.3%/40.0% (3 proc), high 18.8%/60.0% (3 proc), spare 0.0%/0.0% (0 proc); events: 1145 received, 0 overflows, 3 rescans (0 found), 9 races"}
{"__MONOTONIC_TIMESTAMP":"89030923","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["high","middle","spare"],"MESSAGE":"usage/target: middle 12.7%/40.0% (3 proc), high 20.5%/60.0% (3 proc), spare 0.0%/0.0% (0 proc); events: 1253 received, 0 overflows, 3 rescans (0 found), 10 races"}
{"__MONOTONIC_TIMESTAMP":"94242585","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"middle","MESSAGE":"gave burn_b[104] back from group middle to /origin"}
{"__MONOTONIC_TIMESTAMP":"94302306","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"middle","MESSAGE":"gave burn_b[105] back from group middle to /origin"}
{"__MONOTONIC_TIMESTAMP":"94302877","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"middle","MESSAGE":"gave burn_b[106] back from group middle to /origin"}
{"__MONOTONIC_TIMESTAMP":"94303173","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"high","MESSAGE":"gave burn_c[107] back from group high to /origin"}
{"__MONOTONIC_TIMESTAMP":"94303422","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"high","MESSAGE":"gave burn_c[108] back from group high to /origin"}
{"__MONOTONIC_TIMESTAMP":"94303647","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"high","MESSAGE":"gave burn_c[109] back from group high to /origin"}
{"__MONOTONIC_TIMESTAMP":"94303859","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"high","MESSAGE":"removed group high"}
{"__MONOTONIC_TIMESTAMP":"94304058","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"middle","MESSAGE":"removed group middle"}
{"__MONOTONIC_TIMESTAMP":"94304262","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"spare","MESSAGE":"removed group spare"}
{"__MONOTONIC_TIMESTAMP":"94337825","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"5","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d08","FAIRSHARE_EVENT":"stopping","MESSAGE":"fairshare stopping: every process given back (6), groups removed"}
FSJSON-END
FSRESULT journal_exit 0
FSRESULT journal_text_exit 0
FSRESULT scenario_exit 0
FSRESULT end_uptime 99.58
FSDONE
"""
GOOD = RECORDED.lstrip("\n")
GOOD_CHECKS = 62


def groups(doc):
    return {g["name"]: g for g in doc["groups"]}


def set_group(block, group, key, value):
    """The status block with one group's field set."""
    def fn(doc):
        groups(doc)[group][key] = value
    return lambda text: edit_json(text, block, fn)


def journal(fn):
    return lambda text: edit_json_lines(text, "journal", fn)


def drop_event(event):
    return journal(lambda e: None if e.get("FAIRSHARE_EVENT") == event else e)


def event_field(event, key, value):
    """Every entry of EVENT with KEY set to VALUE (None: the field removed)."""
    def fn(e):
        if e.get("FAIRSHARE_EVENT") == event:
            if value is None:
                e.pop(key, None)
            else:
                e[key] = value
        return e
    return journal(fn)


def message_id(text, event):
    for line in text.splitlines():
        if line.startswith("{") and f'"FAIRSHARE_EVENT":"{event}"' in line:
            return json.loads(line)["MESSAGE_ID"]
    raise AssertionError(f"no {event} entry in the recorded journal")


def plan_moves(fn):
    def edit(doc):
        for m in doc["moves"]:
            fn(m)
    return lambda text: edit_json(text, "plan", edit)


def plan_group_after(name, key, value):
    def edit(doc):
        for g in doc["groups"]:
            if g["name"] == name:
                g["after"][key] = value
    return lambda text: edit_json(text, "plan", edit)


def status_usage_equal(text):
    """Every status snapshot with the three groups' cpu_usage_pct equal: no split at all."""
    for block in ("status_1", "status_2", "status_3"):
        def fn(doc):
            for g in doc["groups"]:
                g["cpu_usage_pct"] = 30.0
        text = edit_json(text, block, fn)
    return text


def edit_json_last(text, name, fn):
    """Like edit_json, on the last block called NAME (the checker reads the last one)."""
    lines = text.splitlines()
    begin = max(i for i, line in enumerate(lines) if line == f"FSJSON-BEGIN {name}")
    head, tail = "\n".join(lines[:begin]), "\n".join(lines[begin:]) + "\n"
    return head + "\n" + edit_json(tail, name, fn)


def chain(*fns):
    def run(text):
        for f in fns:
            text = f(text)
        return text
    return run


# (name, doctor, (section, the start of the check's name) that must fail)
BAD = [
    ("empty log", lambda t: "", ("boot", "guest printed results")),
    ("guest did not finish", lambda t: drop_lines(drop_lines(t, "FSDONE"), "FSRESULT scenario_exit"),
     ("boot", "guest ran to completion")),
    ("no io controller", lambda t: set_result(t, "cgroup_controllers", "cpuset cpu memory hugetlb pids"),
     ("boot", "cgroup2 offers cpu and io")),
    ("a burner born outside /origin", lambda t: sub(t, r"^FSRESULT burner_start_cgroup (\d+) /origin$",
                                                      r"FSRESULT burner_start_cgroup \1 /"),
     ("placement", "9 burners started in /origin")),
    ("agent never ready", lambda t: set_result(t, "ready", "no"), ("placement", "agent ready")),
    ("a burner left in /origin", lambda t: sub(t, r"^FSRESULT placed burn_b (\d+) /fairshare/mid$",
                                                 r"FSRESULT placed burn_b \1 /origin"),
     ("placement", "every burner in its group cgroup")),
    ("split 1:1:1 (weights not in force)",
     chain(lambda t: sub(t, r"^FSRESULT usage low \d+$", "FSRESULT usage low 6900000"),
           lambda t: sub(t, r"^FSRESULT usage mid \d+$", "FSRESULT usage mid 6900000"),
           lambda t: sub(t, r"^FSRESULT usage high \d+$", "FSRESULT usage high 6900000")),
     ("usage", "low CPU fraction ~ 1/8")),
    ("high gets half its share", lambda t: sub(t, r"^FSRESULT usage high \d+$", "FSRESULT usage high 6000000"),
     ("usage", "high CPU fraction ~ 5/8")),
    ("cpu.weight mid as low's", lambda t: set_result(t, "cpu_weight", "mid 100", where="mid"),
     ("usage", "cpu.weight mid/low == 2")),
    ("status --json not JSON", lambda t: replace_block_lines(t, "JSON", "status_1", ["Error: connection refused"]),
     ("status", "status --json answers with JSON")),
    ("status: wrong shares", set_group("status_1", "mid", "shares", 3), ("status", "shares 1/2/5")),
    ("status: a member missing", set_group("status_1", "low", "members", 2), ("status", "3 members each")),
    ("status: wrong target", set_group("status_1", "high", "cpu_target_pct", 50.0), ("status", "cpu_target_pct 12.5/25/62.5")),
    ("status: usage split flat", status_usage_equal, ("status", "cpu_usage_pct split follows target")),
    ("status: weight not the file's", set_group("status_1", "high", "cpu_weight", 400),
     ("status", "cpu_weight in status == cpu.weight files")),
    ("status: wrong cgroup root", lambda t: edit_json(t, "status_1", lambda d: d["agent"].update(cgroup_root="/sys/fs/cgroup")),
     ("status", "agent.cgroup_root")),
    ("status: wrong interval", lambda t: edit_json(t, "status_1", lambda d: d["agent"].update(interval_seconds=1)),
     ("status", "agent.interval_seconds")),
    ("explain names the wrong group", lambda t: edit_json_last(t, "explain_low", lambda d: d.update(group="mid")),
     ("explain", "explain names group low")),
    ("explain would move the agent", lambda t: edit_json(t, "explain_agent", lambda d: d.update(group="low", reason="matched")),
     ("explain", "explain says the agent is never moved")),
    ("SIGHUP not followed", lambda t: set_result(t, "reload_matched", "no"), ("reload", "SIGHUP: cpu.weight follows 5:2:1")),
    ("reload slower than 2 intervals", lambda t: set_result(t, "reload_latency_s", "4.70"),
     ("reload", "reload latency <= 2 intervals")),
    ("status after reload: old shares", set_group("status_after_reload", "low", "shares", 1),
     ("reload", "status: last_reload applied, shares 5/2/1")),
    ("bad policy changed the weights", lambda t: set_result(t, "bad_weights_after", "500 100 100"),
     ("bad policy", "cpu.weight unchanged after bad SIGHUP")),
    ("agent died of a bad policy", lambda t: set_result(t, "bad_agent_alive", "no"),
     ("bad policy", "agent alive after bad SIGHUP")),
    ("bad policy reported applied", lambda t: edit_json(t, "status_after_bad_reload",
                                                        lambda d: d["policy"].update(last_reload={"applied": True})),
     ("bad policy", "status: last_reload.applied false with an error")),
    ("bad policy's shares taken", set_group("status_after_bad_reload", "mid", "shares", 1),
     ("bad policy", "old policy kept (shares 5/2/1)")),
    ("`fairshare reload` exits 0 on a bad policy", lambda t: set_result(t, "bad_reload_cli_exit", "0"),
     ("bad policy", "`fairshare reload` exits 1 and says why")),
    ("`fairshare check` without line:column",
     lambda t: replace_block_lines(t, "TEXT", "bad_check", ["/etc/fairshare/policy.toml: error: shares must be an integer 1..10000, got 0"]),
     ("bad policy", "`fairshare check` policy.toml: exit 1, file:line:column")),
    ("`fairshare plan` fails", lambda t: set_result(t, "plan_exit", "1"), ("plan", "`fairshare plan --json` exits 0")),
    ("the plan changed a weight", lambda t: sub(t, r"^FSRESULT plan_group planned high present 100 ",
                                                 "FSRESULT plan_group planned high present 300 "),
     ("plan", "the plan changed nothing")),
    ("the plan's pairs wrong", plan_moves(lambda m: m.update(count=2) if m["to"] == "middle" else None),
     ("plan", "the plan: low -> (origin) and mid -> middle")),
    ("a process the plan moves to middle not there", lambda t: sub(
        t, r"^(FSRESULT plan_group after middle present \S+ \S+ \S+ \d+ \d+) \d+$", r"\1"),
     ("plan", "observed moves per pair equal the plan's counts")),
    ("a planned weight not applied", lambda t: sub(t, r"^FSRESULT plan_group after high present 300 ",
                                                    "FSRESULT plan_group after high present 100 "),
     ("plan", "cpu.weight, io.weight, cpu.max before and after as planned")),
    ("the plan without high's ceiling", plan_group_after("high", "cpu_max", "max 100000"),
     ("plan", "the plan gives high its ceiling")),
    ("status after the plan differs", set_group("status_after_plan", "high", "cpu_weight", 100),
     ("plan", "status --json after the reload shows the planned weights")),
    ("the plan's table claims it applied", lambda t: doctor(t, "nothing was applied", "applied"),
     ("plan", "the table: the pairs, and that nothing was applied")),
    ("an invalid plan accepted", lambda t: set_result(t, "plan_invalid_exit", "0"),
     ("plan", "an invalid policy: exit 1, file:line:column")),
    ("agent killed at stop", lambda t: set_result(t, "stop_killed", "yes"), ("stop", "SIGTERM: agent exits 0 within 15 s")),
    ("a burner died", lambda t: sub(t, r"^FSRESULT after_stop (\S+) (\d+) alive ", r"FSRESULT after_stop \1 \2 dead "),
     ("stop", "every burner still alive")),
    ("a burner not given back", lambda t: sub(t, r"^FSRESULT after_stop (\S+) (\d+) alive /origin$",
                                                r"FSRESULT after_stop \1 \2 alive /fairshare/low"),
     ("stop", "every burner back in /origin")),
    ("a group cgroup left", lambda t: set_result(t, "group_dir_after_stop", "mid present", where="mid"),
     ("stop", "group cgroups removed")),
    # Once a note and a pass: a guest without journald now fails.
    ("journald not in the image", lambda t: set_result(t, "image_journald", "no"), ("journal", "journald in the image")),
    ("journald did not start", lambda t: set_result(t, "journald", "no"), ("journal", "journald started in the guest")),
    ("the agent logged to the console", lambda t: set_result(t, "log_target", "console"),
     ("journal", "the agent logged to the journal")),
    ("no journal entries", lambda t: replace_block_lines(t, "JSON", "journal", []),
     ("journal", "entries with SYSLOG_IDENTIFIER=fairshare")),
    ("policy_rejected not logged", drop_event("policy_rejected"), ("journal", "event policy_rejected")),
    ("stopping not logged", drop_event("stopping"), ("journal", "event stopping")),
    ("moved not logged", drop_event("moved"), ("journal", "event moved")),
    ("policy_rejected at PRIORITY 6", event_field("policy_rejected", "PRIORITY", "6"),
     ("journal", "policy_rejected has PRIORITY 3")),
    ("moved without MESSAGE_ID", event_field("moved", "MESSAGE_ID", None), ("journal", "MESSAGE_ID present, one per event type")),
    ("summary with moved's MESSAGE_ID", lambda t: event_field("summary", "MESSAGE_ID", message_id(t, "moved"))(t),
     ("journal", "MESSAGE_IDs differ between event types")),
    ("group_created without FAIRSHARE_GROUP", event_field("group_created", "FAIRSHARE_GROUP", None),
     ("journal", "group_created carries FAIRSHARE_GROUP")),
]


def run_checker(text):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        p = subprocess.run([sys.executable, CHECK, path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    return p.returncode, p.stdout + p.stderr


def failed_checks(out):
    """(section, check line) of every FAIL in check-enforce.py's report."""
    section, failed = None, []
    for line in out.splitlines():
        if line.startswith("--- "):
            section = line[4:].strip()
        elif line.lstrip().startswith("FAIL "):
            failed.append((section, line.lstrip()[5:].strip()))
    return failed


def main():
    failures = []
    rc, out = run_checker(GOOD)
    if rc != 0 or f"vm-enforce: {GOOD_CHECKS} passed, 0 failed" not in out:
        failures.append(f"the recorded good log: exit {rc}, expected 0 and {GOOD_CHECKS} passed\n{out}")
    else:
        print(f"ok   the recorded good log passes ({GOOD_CHECKS} checks)")
    for name, fn, (section, check) in BAD:
        try:
            text = fn(GOOD)
        except AssertionError as e:
            failures.append(f"{name}: the doctor does not apply to the recorded log: {e}")
            continue
        rc, out = run_checker(text)
        failed = failed_checks(out)
        if rc == 0:
            failures.append(f"{name}: the checker passed it")
        elif not any(sec == section and line.startswith(check) for sec, line in failed):
            failures.append(f"{name}: exit {rc}, but [{section}] {check!r} did not fail; failed: "
                            + "; ".join(f"[{s}] {ln[:70]}" for s, ln in failed))
        else:
            print(f"ok   {name}: fails [{section}] {check}")
    for f in failures:
        print(f"FAIL {f}")
    print(f"enforce-checker-test: {len(BAD) + 1 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""check-enforce.py on a recorded console log (host only, seconds): the good log passes every
check, and each doctored copy (a wrong split or weight, a burner not placed, a status that
says the wrong thing, a reload not followed, a bad policy taken, a plan the kernel did not
follow, a stop that loses a process, a guest without journald, a journal event missing, ...)
fails the check named for it. Run: python3 test-check-enforce.py (make enforce-checker-test)

RECORDED is a `make vm-test` run of 2026-12-04 on this machine kind (main after issue 19's
table of group files and max_burst; kernel 6.1.0-57-cloud-amd64; host load about 4 on its 2
cores), 65/65 checks passed: split 0.129 / 0.250 / 0.621, reload followed in 0.28 s. Condensed by `recorded-log.py LOG --text bad_reload_cli bad_check
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
FSRESULT boot_uptime 4.11
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
FSRESULT journald_start_s 0.81
FSRESULT log_target journal
FSRESULT interval_s 2
FSRESULT agent_pid 143
FSRESULT ready yes
FSRESULT ready_s 3.84
FSRESULT placed burn_a 101 /fairshare/low
FSRESULT placed burn_a 102 /fairshare/low
FSRESULT placed burn_a 103 /fairshare/low
FSRESULT placed burn_b 104 /fairshare/mid
FSRESULT placed burn_b 105 /fairshare/mid
FSRESULT placed burn_b 106 /fairshare/mid
FSRESULT placed burn_c 107 /fairshare/high
FSRESULT placed burn_c 108 /fairshare/high
FSRESULT placed burn_c 109 /fairshare/high
FSRESULT usage_window_s 10.13
FSRESULT agent_cpu_ticks 14
FSRESULT burner_cpu_ticks 101 92
FSRESULT burner_cpu_ticks 102 85
FSRESULT burner_cpu_ticks 103 87
FSRESULT burner_cpu_ticks 104 169
FSRESULT burner_cpu_ticks 105 171
FSRESULT burner_cpu_ticks 106 170
FSRESULT burner_cpu_ticks 107 421
FSRESULT burner_cpu_ticks 108 434
FSRESULT burner_cpu_ticks 109 418
FSRESULT usage low 2630827
FSRESULT cpu_weight low 100
FSRESULT io_weight low default 100
FSRESULT usage mid 5117977
FSRESULT cpu_weight mid 200
FSRESULT io_weight mid default 200
FSRESULT usage high 12720952
FSRESULT cpu_weight high 500
FSRESULT io_weight high default 500
FSRESULT usage_root 20442338
FSRESULT subtree_control_root cpu io
FSRESULT subtree_control_fairshare cpu io
FSJSON-BEGIN status_1
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":4,"received":{"comm":72,"exec":21,"exit":131,"fork":131,"gid":0,"other":0,"thread":16,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.00537773,"pass_seconds_median":0.022716970000000003,"pid":143,"started_at":1796416568.1494894,"ticks":8,"uptime_seconds":15.333171844482422},"cgroup_file_defaults":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.bfq.weight":"default 100","io.weight":"default 100"},"groups":[{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_target_pct":12.5,"cpu_usage_cpus":0.24533387210340638,"cpu_usage_pct":12.26669360517032,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":11874304,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 78% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":77.621994793763,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":3455426},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_target_pct":25,"cpu_usage_cpus":0.4725135424682247,"cpu_usage_pct":23.625677123411233,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":12947623,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 91% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":90.808343683714,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":6562408},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"500","io.weight":"default 500"},"cpu_target_pct":62.5,"cpu_usage_cpus":1.1699976433973898,"cpu_usage_pct":58.49988216986949,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":11084294,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 79% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":78.61749458791326,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":16415135}],"io_devices":[],"policy":{"loaded_at":1796416568.1494894,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_1_exit 0
FSJSON-BEGIN status_2
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":4,"received":{"comm":79,"exec":25,"exit":135,"fork":135,"gid":0,"other":0,"thread":24,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.01656046,"pass_seconds_median":0.01923713,"pid":143,"started_at":1796416568.1494894,"ticks":9,"uptime_seconds":16.90800976753235},"cgroup_file_defaults":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.bfq.weight":"default 100","io.weight":"default 100"},"groups":[{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_target_pct":12.5,"cpu_usage_cpus":0.21557228625469843,"cpu_usage_pct":10.778614312734922,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":13472601,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 80% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":79.7815378426188,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":3887291},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_target_pct":25,"cpu_usage_cpus":0.4159469671759928,"cpu_usage_pct":20.79734835879964,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":14419665,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 73% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":73.47931863034485,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":7395692},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"500","io.weight":"default 500"},"cpu_target_pct":62.5,"cpu_usage_cpus":0.9885711322380198,"cpu_usage_pct":49.428556611900994,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":12619287,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 77% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":76.62161795814856,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":18395581}],"io_devices":[],"policy":{"loaded_at":1796416568.1494894,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
FSJSON-END
FSRESULT status_2_exit 0
FSJSON-BEGIN status_3
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":4,"received":{"comm":86,"exec":29,"exit":139,"fork":139,"gid":0,"other":0,"thread":32,"uid":0},"rescan_found":0,"rescans":1,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.01656046,"pass_seconds_median":0.01923713,"pid":143,"started_at":1796416568.1494894,"ticks":9,"uptime_seconds":18.31886625289917},"cgroup_file_defaults":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.bfq.weight":"default 100","io.weight":"default 100"},"groups":[{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_target_pct":12.5,"cpu_usage_cpus":0.21557228625469843,"cpu_usage_pct":10.778614312734922,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":13472601,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 80% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":79.7815378426188,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":3887291},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_target_pct":25,"cpu_usage_cpus":0.4159469671759928,"cpu_usage_pct":20.79734835879964,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":14419665,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 73% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":73.47931863034485,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":7395692},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"500","io.weight":"default 500"},"cpu_target_pct":62.5,"cpu_usage_cpus":0.9885711322380198,"cpu_usage_pct":49.428556611900994,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":12619287,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 77% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":76.62161795814856,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":18395581}],"io_devices":[],"policy":{"loaded_at":1796416568.1494894,"path":"/etc/fairshare/policy.toml","reloads":0},"schema_version":1}
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
{"cgroup":"/","comm":"fairshare","exe":"/bin/fairshare","gid":0,"matched_keys":[],"pid":143,"reason":"never moved: the agent itself","uid":0}
FSJSON-END
FSRESULT explain_agent_exit 0
FSRESULT reload_matched yes
FSRESULT reload_latency_s 0.28
FSRESULT reload_weights 500 200 100
FSJSON-BEGIN status_after_reload
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":7,"received":{"comm":138,"exec":49,"exit":187,"fork":187,"gid":0,"other":0,"thread":81,"uid":0},"rescan_found":0,"rescans":2,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.00493296,"pass_seconds_median":0.017898795000000002,"pid":143,"started_at":1796416568.1494894,"ticks":12,"uptime_seconds":21.252268314361572},"cgroup_file_defaults":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.bfq.weight":"default 100","io.weight":"default 100"},"groups":[{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"500","io.weight":"default 500"},"cpu_target_pct":62.5,"cpu_usage_cpus":0.9778203267253024,"cpu_usage_pct":48.89101633626512,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":16693736,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 72% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":71.78583328633916,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":5341307},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_target_pct":25,"cpu_usage_cpus":0.3742890881338343,"cpu_usage_pct":18.714454406691715,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":17578920,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 84% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":84.3803507888104,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":8863027},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_target_pct":12.5,"cpu_usage_cpus":0.2338163541559656,"cpu_usage_pct":11.69081770779828,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":15930475,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 77% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":77.03304338955937,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":21106069}],"io_devices":[],"policy":{"last_reload":{"applied":true,"at":1796416588.1626446},"loaded_at":1796416588.1626446,"path":"/etc/fairshare/policy.toml","reloads":1},"schema_version":1}
FSJSON-END
FSRESULT status_after_reload_exit 0
FSRESULT bad_weights_before 500 200 100
FSRESULT bad_weights_after 500 200 100
FSRESULT bad_agent_alive yes
FSJSON-BEGIN status_after_bad_reload
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":8,"received":{"comm":153,"exec":54,"exit":207,"fork":207,"gid":0,"other":0,"thread":89,"uid":0},"rescan_found":0,"rescans":2,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.0049994,"pass_seconds_median":0.01656046,"pid":143,"started_at":1796416568.1494894,"ticks":13,"uptime_seconds":23.965237855911255},"cgroup_file_defaults":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.bfq.weight":"default 100","io.weight":"default 100"},"groups":[{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"500","io.weight":"default 500"},"cpu_target_pct":62.5,"cpu_usage_cpus":1.0568791497654648,"cpu_usage_pct":52.84395748827324,"cpu_weight":500,"io_bfq_weight":null,"io_read_bps":0,"io_shares":5,"io_weight":500,"io_write_bps":0,"machine_share_pct":62.5,"members":3,"name":"low","nr_throttled":0,"pressure_total_usec":18211900,"redistribution":{"allocation_cpus":1.25,"allocation_pct":62.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 76% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":75.87637062128807,"weight_reason":"shares"},"shares":5,"throttled_usec":0,"usage_usec":7455952},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_target_pct":25,"cpu_usage_cpus":0.4534772708196638,"cpu_usage_pct":22.67386354098319,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":25,"members":3,"name":"mid","nr_throttled":0,"pressure_total_usec":19236130,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 83% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":82.82575542385725,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":9770362},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_target_pct":12.5,"cpu_usage_cpus":0.22849564836046926,"cpu_usage_pct":11.424782418023463,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":12.5,"members":3,"name":"high","nr_throttled":0,"pressure_total_usec":17318616,"redistribution":{"allocation_cpus":0.25,"allocation_pct":12.5,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 69% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":69.37794664516181,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":21563252}],"io_devices":[],"policy":{"last_reload":{"applied":false,"at":1796416589.64498,"error":"/etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0"},"loaded_at":1796416588.1626446,"path":"/etc/fairshare/policy.toml","reloads":2},"schema_version":1}
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
FSRESULT plan_file before low cpu.idle 0
FSRESULT plan_file before low cpu.weight 500
FSRESULT plan_file before low io.weight default_500
FSRESULT plan_file before low cpu.max max_100000
FSRESULT plan_file before low cpu.max.burst 0
FSRESULT plan_group before mid present 200 default_200 max_100000 104 105 106
FSRESULT plan_file before mid cpu.idle 0
FSRESULT plan_file before mid cpu.weight 200
FSRESULT plan_file before mid io.weight default_200
FSRESULT plan_file before mid cpu.max max_100000
FSRESULT plan_file before mid cpu.max.burst 0
FSRESULT plan_group before high present 100 default_100 max_100000 107 108 109
FSRESULT plan_file before high cpu.idle 0
FSRESULT plan_file before high cpu.weight 100
FSRESULT plan_file before high io.weight default_100
FSRESULT plan_file before high cpu.max max_100000
FSRESULT plan_file before high cpu.max.burst 0
FSRESULT plan_group before middle gone
FSRESULT plan_group before spare gone
FSJSON-BEGIN plan
{"cpus":2,"current_policy_path":"/etc/fairshare/policy.toml","demand_estimate":"demand under the new policy is estimated from where each group's processes are now: each current group's last measured CPU usage is split evenly over its processes and follows them; a process from a hungry group makes its new group hungry; processes from outside any group bring no measured usage (a group with only such processes is assumed to want its share, as the controller assumes for a new group)","groups":[{"before":{"allocation_cpus":1.25,"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"500","io.weight":"default 500"},"cpu_max":"max 100000","cpu_weight":500,"demand":"waiting for CPU 63% of the time","hungry":true,"io_weight":500,"members":3,"shares":5,"usage_cpus":0.6276683069090555},"change":"removed","name":"low"},{"before":{"allocation_cpus":0.5,"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_max":"max 100000","cpu_weight":200,"demand":"waiting for CPU 60% of the time","hungry":true,"io_weight":200,"members":3,"shares":2,"usage_cpus":0.27634024740340035},"change":"removed","name":"mid"},{"after":{"allocation_cpus":0.5,"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"50000 100000","cpu.max.burst":"20000","cpu.weight":"300","io.weight":"default 300"},"cpu_max":"50000 100000","cpu_weight":300,"demand":"estimated 0.17 CPUs from high, hungry","hungry":true,"io_weight":300,"members":3,"shares":3,"usage_cpus":0.1705399316728662},"before":{"allocation_cpus":0.25,"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_max":"max 100000","cpu_weight":100,"demand":"waiting for CPU 70% of the time","hungry":true,"io_weight":100,"members":3,"shares":1,"usage_cpus":0.1705399316728662},"change":"kept","name":"high"},{"after":{"allocation_cpus":1.5,"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_max":"max 100000","cpu_weight":200,"demand":"estimated 0.28 CPUs from mid, hungry","hungry":true,"io_weight":200,"members":3,"shares":2,"usage_cpus":0.27634024740340035},"change":"added","name":"middle"},{"after":{"allocation_cpus":0,"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_max":"max 100000","cpu_weight":100,"demand":"no members","hungry":false,"io_weight":100,"members":0,"shares":1},"change":"added","name":"spare"}],"moves":[{"count":3,"from":"low","processes":[{"comm":"burn_a","pid":101},{"comm":"burn_a","pid":102},{"comm":"burn_a","pid":103}],"to":"(origin)"},{"count":3,"from":"mid","processes":[{"comm":"burn_b","pid":104},{"comm":"burn_b","pid":105},{"comm":"burn_b","pid":106}],"to":"middle"}],"notes":[],"policy_path":"/tmp/plan.toml","schema_version":1}
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
high    kept     agent       1 -> 3  100 -> 300  100 -> 300  max 100000 -> 50000 100000  3       0.25 -> 0.50  estimated 0.17 CPUs from high, hungry
middle  added    - -> agent  - -> 2  - -> 200    - -> 200    - -> max 100000             - -> 3  - -> 1.50     estimated 0.28 CPUs from mid, hungry
spare   added    - -> agent  - -> 1  - -> 100    - -> 100    - -> max 100000             - -> 0  - -> 0.00     no members

demand under the new policy is estimated from where each group's processes are now: each current group's last measured CPU usage is split evenly over its processes and follows them; a process from a hungry group makes its new group hungry; processes from outside any group bring no measured usage (a group with only such processes is assumed to want its share, as the controller assumes for a new group).
apply it: install the file as the agent's policy and run systemctl reload fairshare
FSTEXT-END
FSRESULT plan_table_exit 0
FSRESULT plan_group planned low present 500 default_500 max_100000 101 102 103
FSRESULT plan_file planned low cpu.idle 0
FSRESULT plan_file planned low cpu.weight 500
FSRESULT plan_file planned low io.weight default_500
FSRESULT plan_file planned low cpu.max max_100000
FSRESULT plan_file planned low cpu.max.burst 0
FSRESULT plan_group planned mid present 200 default_200 max_100000 104 105 106
FSRESULT plan_file planned mid cpu.idle 0
FSRESULT plan_file planned mid cpu.weight 200
FSRESULT plan_file planned mid io.weight default_200
FSRESULT plan_file planned mid cpu.max max_100000
FSRESULT plan_file planned mid cpu.max.burst 0
FSRESULT plan_group planned high present 100 default_100 max_100000 107 108 109
FSRESULT plan_file planned high cpu.idle 0
FSRESULT plan_file planned high cpu.weight 100
FSRESULT plan_file planned high io.weight default_100
FSRESULT plan_file planned high cpu.max max_100000
FSRESULT plan_file planned high cpu.max.burst 0
FSRESULT plan_group planned middle gone
FSRESULT plan_group planned spare gone
FSRESULT plan_reload_exit 0
FSRESULT plan_group after low gone
FSRESULT plan_group after mid gone
FSRESULT plan_group after high present 300 default_300 50000_100000 107 108 109
FSRESULT plan_file after high cpu.idle 0
FSRESULT plan_file after high cpu.weight 300
FSRESULT plan_file after high io.weight default_300
FSRESULT plan_file after high cpu.max 50000_100000
FSRESULT plan_file after high cpu.max.burst 20000
FSRESULT plan_group after middle present 200 default_200 max_100000 104 105 106
FSRESULT plan_file after middle cpu.idle 0
FSRESULT plan_file after middle cpu.weight 200
FSRESULT plan_file after middle io.weight default_200
FSRESULT plan_file after middle cpu.max max_100000
FSRESULT plan_file after middle cpu.max.burst 0
FSRESULT plan_group after spare present 100 default_100 max_100000
FSRESULT plan_file after spare cpu.idle 0
FSRESULT plan_file after spare cpu.weight 100
FSRESULT plan_file after spare io.weight default_100
FSRESULT plan_file after spare cpu.max max_100000
FSRESULT plan_file after spare cpu.max.burst 0
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
{"agent":{"cgroup_root":"/sys/fs/cgroup/fairshare","cpus":2,"events":{"event_moves":0,"fallback_reason":null,"latency_ms":{"p50":null,"p99":null,"samples":0},"malformed":0,"overflows":0,"races":17,"received":{"comm":354,"exec":161,"exit":531,"fork":531,"gid":0,"other":0,"thread":148,"uid":0},"rescan_found":0,"rescans":3,"source":"netlink"},"failures":[],"interval_seconds":2,"last_pass_seconds":0.01284661,"pass_seconds_median":0.01656046,"pid":143,"started_at":1796416568.1494894,"ticks":21,"uptime_seconds":37.54795956611633},"cgroup_file_defaults":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.bfq.weight":"default 100","io.weight":"default 100"},"groups":[{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"200","io.weight":"default 200"},"cpu_target_pct":40,"cpu_usage_cpus":0.2585638340282544,"cpu_usage_pct":12.92819170141272,"cpu_weight":200,"io_bfq_weight":null,"io_read_bps":0,"io_shares":2,"io_weight":200,"io_write_bps":0,"machine_share_pct":20,"members":3,"name":"middle","nr_throttled":0,"pressure_total_usec":5707604,"redistribution":{"allocation_cpus":1.5,"allocation_pct":75,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"waiting for CPU 75% of the time","fairness_factor":1,"hungry":true,"limit":"share","pressure_pct":74.63614419898016,"weight_reason":"shares"},"shares":2,"throttled_usec":0,"usage_usec":3008473},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"50000 100000","cpu.max.burst":"20000","cpu.weight":"300","io.weight":"default 300"},"cpu_target_pct":60,"cpu_usage_cpus":0.36854818581520926,"cpu_usage_pct":18.427409290760462,"cpu_weight":300,"io_bfq_weight":null,"io_read_bps":0,"io_shares":3,"io_weight":300,"io_write_bps":0,"machine_share_pct":30,"members":3,"name":"high","nr_throttled":47,"pressure_total_usec":28334191,"redistribution":{"allocation_cpus":0.5,"allocation_pct":25,"borrow":false,"borrowed_cpus":0,"cpu_max":"50000 100000","demand":"waiting for CPU 76% of the time","fairness_factor":1,"hungry":true,"limit":"ceiling","max":"0.5","pressure_pct":75.59038947016207,"weight_reason":"shares"},"shares":3,"throttled_usec":2879499,"usage_usec":25909090},{"backing":"agent","cgroup_files":{"cpu.idle":"0","cpu.max":"max 100000","cpu.max.burst":"0","cpu.weight":"100","io.weight":"default 100"},"cpu_target_pct":0,"cpu_usage_cpus":0,"cpu_usage_pct":0,"cpu_weight":100,"io_bfq_weight":null,"io_read_bps":0,"io_shares":1,"io_weight":100,"io_write_bps":0,"machine_share_pct":8.333333333333332,"members":0,"name":"spare","nr_throttled":0,"pressure_total_usec":0,"redistribution":{"allocation_cpus":0,"allocation_pct":0,"borrow":false,"borrowed_cpus":0,"cpu_max":"max 100000","demand":"no members","fairness_factor":1,"hungry":false,"limit":"demand","pressure_pct":0,"weight_reason":"shares"},"shares":1,"throttled_usec":0,"usage_usec":0}],"io_devices":[],"policy":{"last_reload":{"applied":true,"at":1796416598.1311412},"loaded_at":1796416598.1311412,"path":"/etc/fairshare/policy.toml","reloads":4},"schema_version":1}
FSJSON-END
FSRESULT status_after_plan_exit 0
FSTEXT-BEGIN plan_invalid
/tmp/badplan.toml:4:1: error: max must be more than zero, got '0'; expected a number of CPUs like "1.5" (or 1.5) or a percentage of the root's capacity like "25%"
/tmp/badplan.toml: 1 error; the policy is not valid
FSTEXT-END
FSRESULT plan_invalid_exit 1
FSRESULT stop_exit 0
FSRESULT stop_s 0.18
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
{"__MONOTONIC_TIMESTAMP":"7992581","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"enabled +cpu +io in /sys/fs/cgroup/cgroup.subtree_control"}
{"__MONOTONIC_TIMESTAMP":"8022104","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"created /sys/fs/cgroup/fairshare"}
{"__MONOTONIC_TIMESTAMP":"8035410","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"enabled +cpu +io in /sys/fs/cgroup/fairshare/cgroup.subtree_control"}
{"__MONOTONIC_TIMESTAMP":"8036221","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"listening to the kernel's process events (proc connector), receive buffer 32768 KiB"}
{"__MONOTONIC_TIMESTAMP":"8409665","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d01","FAIRSHARE_EVENT":"started","MESSAGE":"fairshare started: managing /sys/fs/cgroup/fairshare with 3 group(s) from /etc/fairshare/policy.toml"}
{"__MONOTONIC_TIMESTAMP":"8410587","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d02","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"policy /etc/fairshare/policy.toml loaded: 3 group(s) low=1 mid=2 high=5"}
{"__MONOTONIC_TIMESTAMP":"8728512","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"4","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d19","FAIRSHARE_EVENT":"io_shares","MESSAGE":"io_shares have no effect: no disk found under /sys/block; CPU shares are enforced as usual"}
{"__MONOTONIC_TIMESTAMP":"8742805","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"low","MESSAGE":"created group low (/sys/fs/cgroup/fairshare/low)"}
{"__MONOTONIC_TIMESTAMP":"8743574","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"mid","MESSAGE":"created group mid (/sys/fs/cgroup/fairshare/mid)"}
{"__MONOTONIC_TIMESTAMP":"8743841","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"high","MESSAGE":"created group high (/sys/fs/cgroup/fairshare/high)"}
{"__MONOTONIC_TIMESTAMP":"8751128","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low","MESSAGE":"moved burn_a[101] from /origin to group low (comm burn_a ~ burn_a)"}
{"__MONOTONIC_TIMESTAMP":"8751902","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low","MESSAGE":"moved burn_a[102] from /origin to group low (comm burn_a ~ burn_a)"}
{"__MONOTONIC_TIMESTAMP":"8755174","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"low","MESSAGE":"moved burn_a[103] from /origin to group low (comm burn_a ~ burn_a)"}
{"__MONOTONIC_TIMESTAMP":"8755480","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid","MESSAGE":"moved burn_b[104] from /origin to group mid (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"8755743","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid","MESSAGE":"moved burn_b[105] from /origin to group mid (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"8755979","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"mid","MESSAGE":"moved burn_b[106] from /origin to group mid (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"8767746","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high","MESSAGE":"moved burn_c[107] from /origin to group high (comm burn_c ~ burn_c)"}
{"__MONOTONIC_TIMESTAMP":"8771000","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high","MESSAGE":"moved burn_c[108] from /origin to group high (comm burn_c ~ burn_c)"}
{"__MONOTONIC_TIMESTAMP":"8771355","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"high","MESSAGE":"moved burn_c[109] from /origin to group high (comm burn_c ~ burn_c)"}
{"__MONOTONIC_TIMESTAMP":"8771607","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"low","MESSAGE":"group low: cpu.weight 100, io.weight 100 (shares 1)"}
{"__MONOTONIC_TIMESTAMP":"8771962","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"mid","MESSAGE":"group mid: cpu.weight 200, io.weight 200 (shares 2)"}
{"__MONOTONIC_TIMESTAMP":"8787805","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high","MESSAGE":"group high: cpu.weight 500, io.weight 500 (shares 5)"}
{"__MONOTONIC_TIMESTAMP":"8856253","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0c","FAIRSHARE_EVENT":"setup","MESSAGE":"metrics textfile not written: /var/lib/prometheus/node-exporter does not exist (node_exporter's textfile collector is not installed); written once it exists"}
{"__MONOTONIC_TIMESTAMP":"14912426","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 12.3%/12.5% (3 proc), mid 24.6%/25.0% (3 proc), high 62.7%/62.5% (3 proc); events: 242 received, 0 overflows, 1 rescans (0 found), 4 races"}
{"__MONOTONIC_TIMESTAMP":"20921820","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 12.3%/12.5% (3 proc), mid 25.0%/25.0% (3 proc), high 61.8%/62.5% (3 proc); events: 242 received, 0 overflows, 1 rescans (0 found), 4 races"}
{"__MONOTONIC_TIMESTAMP":"26915547","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 11.0%/12.5% (3 proc), mid 20.9%/25.0% (3 proc), high 45.5%/62.5% (3 proc); events: 471 received, 0 overflows, 1 rescans (0 found), 5 races"}
{"__MONOTONIC_TIMESTAMP":"28049919","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d02","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"policy /etc/fairshare/policy.toml loaded: 3 group(s) low=5 mid=2 high=1"}
{"__MONOTONIC_TIMESTAMP":"28207219","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"low","MESSAGE":"group low: cpu.weight 500, io.weight 500 (shares 5)"}
{"__MONOTONIC_TIMESTAMP":"28210570","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high","MESSAGE":"group high: cpu.weight 100, io.weight 100 (shares 1)"}
{"__MONOTONIC_TIMESTAMP":"29543189","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"3","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d03","FAIRSHARE_EVENT":"policy_rejected","MESSAGE":"new policy rejected, keeping the one loaded before: /etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0"}
{"__MONOTONIC_TIMESTAMP":"32363793","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"3","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d03","FAIRSHARE_EVENT":"policy_rejected","MESSAGE":"new policy rejected, keeping the one loaded before: /etc/fairshare/policy.toml:13:1: error: shares must be an integer 1..10000, got 0"}
{"__MONOTONIC_TIMESTAMP":"32934546","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["low","mid","high"],"MESSAGE":"usage/target: low 44.0%/62.5% (3 proc), mid 20.4%/25.0% (3 proc), high 9.8%/12.5% (3 proc); events: 767 received, 0 overflows, 2 rescans (0 found), 8 races"}
{"__MONOTONIC_TIMESTAMP":"38026098","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d02","FAIRSHARE_EVENT":"policy_loaded","FAIRSHARE_GROUP":["high","middle","spare"],"MESSAGE":"policy /etc/fairshare/policy.toml loaded: 3 group(s) middle=2 high=3 spare=1"}
{"__MONOTONIC_TIMESTAMP":"38147371","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"middle","MESSAGE":"created group middle (/sys/fs/cgroup/fairshare/middle)"}
{"__MONOTONIC_TIMESTAMP":"38149068","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d04","FAIRSHARE_EVENT":"group_created","FAIRSHARE_GROUP":"spare","MESSAGE":"created group spare (/sys/fs/cgroup/fairshare/spare)"}
{"__MONOTONIC_TIMESTAMP":"38150465","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"low","MESSAGE":"gave burn_a[101] back from group low to /origin"}
{"__MONOTONIC_TIMESTAMP":"38151735","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"low","MESSAGE":"gave burn_a[102] back from group low to /origin"}
{"__MONOTONIC_TIMESTAMP":"38152946","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"low","MESSAGE":"gave burn_a[103] back from group low to /origin"}
{"__MONOTONIC_TIMESTAMP":"38153803","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"middle","MESSAGE":"moved burn_b[104] from /origin to group middle (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"38154586","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"middle","MESSAGE":"moved burn_b[105] from /origin to group middle (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"38155513","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d06","FAIRSHARE_EVENT":"moved","FAIRSHARE_GROUP":"middle","MESSAGE":"moved burn_b[106] from /origin to group middle (comm burn_b ~ burn_b)"}
{"__MONOTONIC_TIMESTAMP":"38159708","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"low","MESSAGE":"removed group low"}
{"__MONOTONIC_TIMESTAMP":"38160971","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"mid","MESSAGE":"removed group mid"}
{"__MONOTONIC_TIMESTAMP":"38162046","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"middle","MESSAGE":"group middle: cpu.weight 200, io.weight 200 (shares 2)"}
{"__MONOTONIC_TIMESTAMP":"38163126","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"high","MESSAGE":"group high: cpu.weight 300, io.weight 300 (shares 3)"}
{"__MONOTONIC_TIMESTAMP":"38166031","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0d","FAIRSHARE_EVENT":"weights","FAIRSHARE_GROUP":"spare","MESSAGE":"group spare: cpu.weight 100, io.weight 100 (shares 1)"}
{"__MONOTONIC_TIMESTAMP":"38169589","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["high","middle","spare"],"MESSAGE":"usage/target: middle n/a%/40.0% (3 proc), high 8.0%/60.0% (3 proc), spare n/a%/0.0% (0 proc); events: 1386 received, 0 overflows, 3 rescans (0 found), 17 races"}
{"__MONOTONIC_TIMESTAMP":"45046079","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d07","FAIRSHARE_EVENT":"summary","FAIRSHARE_GROUP":["high","middle","spare"],"MESSAGE":"usage/target: middle 12.9%/40.0% (3 proc), high 18.4%/60.0% (3 proc), spare 0.0%/0.0% (0 proc); events: 1683 received, 0 overflows, 3 rescans (0 found), 17 races"}
{"__MONOTONIC_TIMESTAMP":"46345304","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"middle","MESSAGE":"gave burn_b[104] back from group middle to /origin"}
{"__MONOTONIC_TIMESTAMP":"46348480","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"middle","MESSAGE":"gave burn_b[105] back from group middle to /origin"}
{"__MONOTONIC_TIMESTAMP":"46349599","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"middle","MESSAGE":"gave burn_b[106] back from group middle to /origin"}
{"__MONOTONIC_TIMESTAMP":"46350526","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"high","MESSAGE":"gave burn_c[107] back from group high to /origin"}
{"__MONOTONIC_TIMESTAMP":"46351429","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"high","MESSAGE":"gave burn_c[108] back from group high to /origin"}
{"__MONOTONIC_TIMESTAMP":"46352486","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d0a","FAIRSHARE_EVENT":"restored","FAIRSHARE_GROUP":"high","MESSAGE":"gave burn_c[109] back from group high to /origin"}
{"__MONOTONIC_TIMESTAMP":"46353252","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"high","MESSAGE":"removed group high"}
{"__MONOTONIC_TIMESTAMP":"46357296","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"middle","MESSAGE":"removed group middle"}
{"__MONOTONIC_TIMESTAMP":"46362540","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"6","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d05","FAIRSHARE_EVENT":"group_removed","FAIRSHARE_GROUP":"spare","MESSAGE":"removed group spare"}
{"__MONOTONIC_TIMESTAMP":"46363156","SYSLOG_IDENTIFIER":"fairshare","PRIORITY":"5","MESSAGE_ID":"5a1f0c7e2b7d4d8e9a63b0f4c2e81d08","FAIRSHARE_EVENT":"stopping","MESSAGE":"fairshare stopping: every process given back (6), groups removed"}
FSJSON-END
FSRESULT journal_exit 0
FSRESULT journal_text_exit 0
FSRESULT scenario_exit 0
FSRESULT end_uptime 47.43
FSDONE
"""
GOOD = RECORDED.lstrip("\n")
GOOD_CHECKS = 65


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
    ("the kernel did not take high's planned burst", lambda t: sub(t, r"^FSRESULT plan_file after high cpu.max.burst 20000$",
                                                                  "FSRESULT plan_file after high cpu.max.burst 0"),
     ("plan", "every cgroup file the plan names holds its planned value in the kernel")),
    ("no cpu.max.burst planned for high", plan_group_after("high", "cgroup_files", {"cpu.max": "50000 100000"}),
     ("plan", "high's cpu.max.burst: the kernel took 0.2 CPU (20000 us) within its 0.5 CPU quota")),
    ("the kernel's files never read", lambda t: drop_lines(t, "FSRESULT plan_file ", count=45),
     ("plan", "every cgroup file the plan names holds its planned value in the kernel")),
    ("status's cgroup_files differ from the kernel", set_group("status_after_plan", "high", "cgroup_files",
                                                                 {"cpu.max": "max 100000", "cpu.max.burst": "20000"}),
     ("plan", "status's cgroup_files are the kernel's files")),
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

host_tests += sched_policy
host_srcs_sched_policy := kernel/vm/sched_policy.c

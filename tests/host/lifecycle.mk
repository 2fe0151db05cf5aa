host_tests += lifecycle
host_srcs_lifecycle := kernel/vm/lifecycle.c

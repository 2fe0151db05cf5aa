host_tests += backtrace
host_srcs_backtrace := kernel/backtrace.c

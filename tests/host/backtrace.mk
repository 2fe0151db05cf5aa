host_tests += backtrace
host_srcs_backtrace := lib/backtrace.c

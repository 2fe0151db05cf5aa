host_tests += shell
host_srcs_shell := kernel/console/shell.c

host_tests += memrange
host_srcs_memrange := kernel/memrange.c

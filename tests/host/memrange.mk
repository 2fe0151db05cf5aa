host_tests += memrange
host_srcs_memrange := lib/memrange.c

host_tests += libgcc
host_srcs_libgcc := lib/libgcc.c

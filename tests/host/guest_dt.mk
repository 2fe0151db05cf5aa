host_tests += guest_dt
host_srcs_guest_dt := kernel/vm/guest_dt.c
host_libs_guest_dt := -lfdt

host_tests += sched
host_srcs_sched = $(vm_host_srcs)
host_libs_sched = -lfdt $(HOST_ZSTD_LIBS)

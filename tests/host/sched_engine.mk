host_tests += sched_engine
host_srcs_sched_engine = $(vm_host_srcs)
host_libs_sched_engine = -lfdt $(HOST_ZSTD_LIBS)

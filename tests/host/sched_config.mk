host_tests += sched_config
host_srcs_sched_config := kernel/vm/sched_config.c kernel/vm/part_config.c lib/memrange.c \
	snapshot/util.c
host_libs_sched_config = -lfdt $(HOST_ZSTD_LIBS)

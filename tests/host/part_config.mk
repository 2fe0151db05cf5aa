host_tests += part_config
host_srcs_part_config := kernel/vm/part_config.c lib/memrange.c snapshot/util.c
host_libs_part_config = -lfdt $(HOST_ZSTD_LIBS)

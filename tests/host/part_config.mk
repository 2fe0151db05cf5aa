host_tests += part_config
host_srcs_part_config := kernel/vm/part_config.c lib/memrange.c
host_libs_part_config := -lfdt

host_tests += part_config
host_srcs_part_config := kernel/part_config.c kernel/memrange.c
host_libs_part_config := -lfdt

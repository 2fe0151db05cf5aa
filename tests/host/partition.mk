host_tests += partition
host_srcs_partition = $(vm_host_srcs)
host_libs_partition = -lfdt $(HOST_ZSTD_LIBS)

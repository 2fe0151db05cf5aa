host_tests += snapshot_vm
host_srcs_snapshot_vm = $(vm_host_srcs)
host_libs_snapshot_vm = -lfdt $(HOST_ZSTD_LIBS)

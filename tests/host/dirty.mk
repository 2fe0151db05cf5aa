host_tests += dirty
host_srcs_dirty = $(vm_host_srcs)
host_libs_dirty = -lfdt $(HOST_ZSTD_LIBS)

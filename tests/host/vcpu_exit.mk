host_tests += vcpu_exit
host_srcs_vcpu_exit = $(vm_host_srcs)
host_libs_vcpu_exit = -lfdt $(HOST_ZSTD_LIBS)

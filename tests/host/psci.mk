host_tests += psci
host_srcs_psci = $(vm_host_srcs)
host_libs_psci = -lfdt $(HOST_ZSTD_LIBS)

host_tests += hw_fdt
host_srcs_hw_fdt := boot/hw_fdt.c boot/hw_common.c kernel/machine/devtree.c smmu/ridmap.c \
	tests/host/hw_testdata.c
host_libs_hw_fdt := -lfdt

host_tests += hw_acpi
host_srcs_hw_acpi := boot/hw_acpi.c boot/hw_fdt.c boot/hw_common.c kernel/machine/devtree.c \
	smmu/ridmap.c tests/host/hw_testdata.c
host_libs_hw_acpi := -lfdt

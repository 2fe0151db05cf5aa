host_tests += msi
host_srcs_msi := kernel/vm/msi.c kernel/vgic/vgic.c kernel/vgic/inject.c kernel/vgic/mmio.c \
	kernel/vgic/regs.c kernel/vgic/dist.c kernel/vgic/redist.c kernel/vgic/lr.c kernel/vgic/lpi.c \
	kernel/vgic/its.c kernel/vgic/its_cmd.c

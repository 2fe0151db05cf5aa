host_tests += vgic
host_srcs_vgic := kernel/vgic/vgic.c kernel/vgic/inject.c kernel/vgic/mmio.c kernel/vgic/regs.c \
	kernel/vgic/dist.c kernel/vgic/redist.c kernel/vgic/lr.c kernel/vgic/lpi.c

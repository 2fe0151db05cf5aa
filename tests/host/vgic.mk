host_tests += vgic
host_srcs_vgic := kernel/vgic.c kernel/vgic_inject.c kernel/vgic_mmio.c kernel/vgic_regs.c \
	kernel/vgic_dist.c kernel/vgic_redist.c kernel/vgic_lr.c

host_tests += vgic_save
host_srcs_vgic_save := kernel/vgic/vgic.c kernel/vgic/inject.c kernel/vgic/mmio.c \
	kernel/vgic/regs.c kernel/vgic/dist.c kernel/vgic/redist.c kernel/vgic/lr.c kernel/vgic/lpi.c \
	kernel/vgic/save.c

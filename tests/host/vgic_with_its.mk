host_tests += vgic_with_its
host_srcs_vgic_with_its := kernel/vgic/vgic.c kernel/vgic/inject.c kernel/vgic/mmio.c \
	kernel/vgic/regs.c kernel/vgic/dist.c kernel/vgic/redist.c kernel/vgic/lr.c kernel/vgic/lpi.c \
	kernel/vgic/its.c kernel/vgic/its_cmd.c
# it includes test_vgic.c: rebuild when that changes
$(B)/host/test_vgic_with_its: tests/host/test_vgic.c

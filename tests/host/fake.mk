# The sources of kernel/vm with what they link against, over the fake arch
# and machine (tests/host/fake_arch.c, fake_machine.c): the tests of
# psci_server.c, vcpu_exit.c + mmio_emul.c, sched.c and partition.c use it.
# Recursive (=): the .mk files are read in any order.
vm_host_srcs = kernel/vm/partition.c kernel/vm/lifecycle.c kernel/vm/sched.c \
	kernel/vm/psci_server.c kernel/vm/vcpu_exit.c kernel/vm/mmio_emul.c \
	kernel/vm/image_load.c kernel/vm/guest_dt.c kernel/vm/part_config.c kernel/vm/vlines.c \
	kernel/vm/dirty.c \
	kernel/vm/pdev.c kernel/vm/vpci.c kernel/vm/vpci_msix.c kernel/vm/vpci_msi.c drivers/pci_names.c \
	kernel/vm/sched_config.c kernel/vm/sched_policy.c \
	kernel/vgic/vgic.c kernel/vgic/inject.c kernel/vgic/mmio.c kernel/vgic/regs.c \
	kernel/vgic/dist.c kernel/vgic/redist.c kernel/vgic/lr.c kernel/vgic/lpi.c kernel/vgic/its.c kernel/vgic/its_cmd.c kernel/vdev/vuart.c \
	kernel/vm/snap_state.c kernel/vm/snap_engine.c kernel/vm/snap_cmds.c kernel/vm/snap_par.c kernel/vm/snap_live.c \
	$(wildcard snapshot/*.c) kernel/vgic/save.c kernel/vdev/vuart_save.c \
	kernel/machine/mem.c lib/memrange.c lib/log.c \
	arch/arm64/pt.c arch/arm64/esr.c arch/arm64/vcpu_inject.c \
	tests/host/fake_arch.c tests/host/fake_machine.c

/*
 * kernel/init/: the composition root. The boot CPU's path from the EFI stub
 * to the shell (take over EL2, bring up the interrupt controller, timer and
 * secondary CPUs, probe devices, print the boot report), each secondary
 * CPU's path into the scheduler, and the physical IRQ dispatch. It is the
 * only place that wires the kernel's folders together, so it may use all
 * of them; nothing includes it.
 */
#include "kernel/console/console.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"
#include <libfdt.h>

const struct boot_info *boot_info;

static unsigned find_boot_cpu(void)
{
	uint64_t me = read_sysreg(mpidr_el1) & 0xff00ffffffull;
	for (unsigned i = 0; i < hw.ncpus; i++)
		if (hw.mpidr[i] == me)
			return i;
	panic("boot CPU MPIDR 0x%llx is not in the device tree", (unsigned long long)me);
}

static void setup_percpu(void)
{
	for (unsigned i = 0; i < hw.ncpus; i++) {
		percpu_data[i].id = i;
		percpu_data[i].mpidr = hw.mpidr[i];
		percpu_data[i].acked_irq = GIC_NO_IRQ;
	}
	boot_cpu = find_boot_cpu();
	write_sysreg(tpidr_el2, &percpu_data[boot_cpu]);
}

static void *early_page(void)
{
	return pool_alloc(PAGE_SIZE);
}

static void take_over_mmu(const struct boot_info *bi)
{
	int e = el2_mmu_init(early_page);
	if (!e)
		e = mem_map_ram(bi);
	if (!e)
		cpu_setup_stack(boot_cpu);
	if (!e)
		e = el2_mmu_switch(bi->image_base, bi->image_size);
	if (e)
		panic("cannot build the EL2 page tables (%d)", e);
}

/* A guest's timer fired or its PMU overflowed: it becomes a HW-linked
 * virtual interrupt of the vCPU loaded here, deactivated by the guest's
 * own EOI (or by kernel/vm/vlines.c once the line drops). */
static bool forward_ppi(unsigned intid)
{
	struct vcpu *v = this_cpu()->loaded;
	if (!v)
		return false;
	vgic_inject_hw(&v->part->vgic, v->idx, intid, intid);
	return true;
}

static bool irq_route(unsigned intid)
{
	if (intid == SGI_STOP)
		crash_stop_handler();
	else if (intid == PPI_VTIMER || intid == PPI_PTIMER || intid == PPI_PMU)
		return forward_ppi(intid);
	else if (smmu_handle_irq(intid))
		return false;
	else if (pdev_irq(intid))
		return true;
	else if (intid == hw.uart_intid)
		console_rx_irq();
	else if (intid == PPI_HYP_TIMER)
		timer_hyp_irq();
	else if (intid >= GITS_LPI_MIN)
		vm_msi_irq(intid); /* an assigned device's MSI */
	/* SGI_KICK and the maintenance interrupt only need the exit they cause */
	return false;
}

/* Every interrupt also gives the disk driver its chance to advance (it
 * asks for the EL2 timer, which the scheduler may reprogram). */
static bool irq_dispatch(unsigned intid)
{
	bool forwarded = irq_route(intid);

	disk_service();
	return forwarded;
}

static void cpu_enable_local_irqs(void)
{
	gic_enable_irq(PPI_HYP_TIMER, false, this_cpu()->id);
	gic_enable_irq(PPI_VTIMER, false, this_cpu()->id);
	gic_enable_irq(PPI_PTIMER, false, this_cpu()->id);
	gic_enable_irq(PPI_MAINT, false, this_cpu()->id);
	if (pmu_guest_available())
		gic_enable_irq(PPI_PMU, false, this_cpu()->id);
}

static void __attribute__((noreturn)) secondary_main(unsigned cpu)
{
	struct percpu *c = this_cpu();
	el2_cpu_init();
	int e = gic_init_cpu();
	if (e)
		panic("cpu%u: GIC redistributor init failed (%d)", cpu, e);
	timer_init_cpu();
	cpu_enable_local_irqs();
	kprintf("cpu%u: online (MPIDR 0x%llx)\n", cpu, (unsigned long long)c->mpidr);
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	dsb(ish);
	sev();
	sched_loop();
}

static void autostart(void)
{
	for (unsigned i = 0; i < npartitions; i++)
		if (partition_state(&partitions[i]) == PART_STOPPED &&
		    partitions[i].cfg.autostart) {
			if (partitions[i].cfg.restore[0])
				snapshot_boot_restore(&partitions[i]);
			else
				partition_start(&partitions[i]);
		}
}

static void main_on_own_stack(void *arg)
{
	const struct boot_info *bi = arg;
	heap_init();
	config_load(bi);
	psci_set_conduit(hw.psci);
	if (gic_init_dist(&hw.gic) || gic_init_cpu())
		panic("GICv3 initialisation failed");
	timer_init_cpu();
	cpu_enable_local_irqs();
	arch_set_irq_handler(irq_dispatch);
	if (hw.uart_intid) {
		gic_enable_irq(hw.uart_intid, false, boot_cpu);
		pl011_enable_rx_irq(console_base());
	}
	percpu_data[boot_cpu].online = 1;
	irq_enable();
	arch_set_secondary_main(secondary_main);
	smp_boot();
	devices_probe();
	iommu_init();
	disk_init();
	report_print();
	console_attach_partitions();
	partitions_init(bi);
	shell_start();
	irq_disable();
	autostart();
	sched_loop();
}

void kernel_main(struct boot_info *bi)
{
	irq_disable();
	write_sysreg(tpidr_el2, 0);
	vectors_install();
	crash_init();
	boot_info = bi;
	if (bi->magic != BOOT_INFO_MAGIC || hw_discover(bi))
		cpu_halt(); /* no console to say why: the stub checked the description */
	console_init(el2_map_device(hw.uart_base, PAGE_SIZE));
	kprintf("\ntessera %s: taking over EL2\n", TESSERA_VERSION);
	setup_percpu();
	el2_cpu_init();
	mem_init(bi);
	take_over_mmu(bi);
	call_on_stack(percpu_data[boot_cpu].stack_hi, main_on_own_stack, bi);
}

/* The machine as the EFI stub described it, in the shape the kernel uses. */
#include "kernel/machine/machine.h"
#include <errno.h>
#include <string.h>

/* boot/ cannot see arch/arm64 (same layer); its copies must agree. */
_Static_assert(HW_MAX_CPUS == MAX_CPUS, "boot/boot.h HW_MAX_CPUS");
_Static_assert(HW_PPI_MAINT == PPI_MAINT && HW_PPI_HYP_TIMER == PPI_HYP_TIMER &&
		   HW_PPI_VTIMER == PPI_VTIMER && HW_PPI_PTIMER == PPI_PTIMER,
	       "boot/boot.h HW_PPI_*");

struct hw hw;

int hw_discover(const struct boot_info *bi)
{
	const struct hw_desc *d = &bi->hw;
	if (d->source == HW_FROM_NONE || !d->ncpus || d->ncpus > MAX_CPUS || !d->uart.base)
		return -ENODEV;
	hw.desc = d;
	hw.ncpus = d->ncpus;
	memcpy(hw.mpidr, d->mpidr, sizeof(hw.mpidr));
	hw.dt_cpus = d->cpus_described;
	hw.psci = d->psci == HW_PSCI_HVC ? PSCI_HVC : d->psci == HW_PSCI_SMC ? PSCI_SMC : PSCI_NONE;
	hw.gic.gicd_base = d->gic.gicd_base;
	hw.gic.gicd_size = d->gic.gicd_size;
	hw.gic.gicr_base = d->gic.gicr_base;
	hw.gic.gicr_size = d->gic.gicr_size;
	hw.gic.has_its = d->gic.its_base != 0;
	hw.gic.its_base = d->gic.its_base;
	hw.uart_base = d->uart.base;
	hw.uart_intid = d->uart.intid;
	return 0;
}

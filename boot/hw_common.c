/* What the DT and ACPI paths share, and the check of the result against
 * what tessera needs whatever described the machine. Portable. */
#include "boot/hw_int.h"
#include <stdarg.h>
#include <stdio.h>

int hw_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int hw_has_cpu(const struct hw_desc *hw, uint64_t mpidr)
{
	for (uint32_t i = 0; i < hw->ncpus; i++)
		if (hw->mpidr[i] == mpidr)
			return 1;
	return 0;
}

void hw_add_cpu(struct hw_desc *hw, uint64_t mpidr)
{
	if (hw->ncpus < HW_MAX_CPUS)
		hw->mpidr[hw->ncpus++] = mpidr;
	hw->cpus_described++;
}

const char *hw_source_name(uint32_t source)
{
	return source == HW_FROM_DT ? "device tree" : source == HW_FROM_ACPI ? "ACPI" : "nothing";
}

/* An interrupt the firmware put elsewhere than arch/arm64 expects it. */
static int check_ppi(const struct hw_desc *hw, const char *what, uint32_t got, uint32_t want,
		     char *err, size_t errlen)
{
	if (got == want)
		return 0;
	return hw_fail(err, errlen,
		       "%s: the %s interrupt is INTID %u; tessera needs the SBSA one, INTID %u",
		       hw_source_name(hw->source), what, got, want);
}

int hw_check(const struct hw_desc *hw, char *err, size_t errlen)
{
	const char *src = hw_source_name(hw->source);
	if (!hw->ncpus)
		return hw_fail(err, errlen, "%s: no CPUs described", src);
	if (!hw->gic.gicd_base || !hw->gic.gicr_base || !hw->gic.gicr_size)
		return hw_fail(err, errlen, "%s: no GICv3 distributor and redistributors", src);
	if (hw->gic.version && hw->gic.version != 3 && hw->gic.version != 4)
		return hw_fail(err, errlen, "%s: GIC version %u; tessera needs a GICv3 or GICv4",
			       src, hw->gic.version);
	if (!hw->uart.base)
		return hw_fail(err, errlen, "%s: no PL011 console UART", src);
	if (check_ppi(hw, "EL2 physical timer", hw->timer.el2_phys, HW_PPI_HYP_TIMER, err,
		      errlen) ||
	    check_ppi(hw, "virtual timer", hw->timer.virt, HW_PPI_VTIMER, err, errlen) ||
	    check_ppi(hw, "EL1 physical timer", hw->timer.el1_phys, HW_PPI_PTIMER, err, errlen))
		return -1;
	if (hw->gic.maint_intid &&
	    check_ppi(hw, "GIC maintenance", hw->gic.maint_intid, HW_PPI_MAINT, err, errlen))
		return -1;
	return 0;
}

/*
 * The guest's EL1 virtual and physical timers and its PMU overflow: the
 * hardware the guest programs directly (nothing traps), whose interrupts
 * reach EL2 and become HW-linked virtual PPIs (kernel/init forwards them),
 * the physical interrupt staying active until the guest's EOI deactivates
 * it. What the guest does to the source meanwhile (disable or mask a timer,
 * move CVAL, clear an overflow flag) is only seen here: at each exit the
 * sources' outputs are sampled, so the vGIC's pending state follows the
 * line (as kvm-unit-tests' timer test checks through GICR_ISPENDR0), and a
 * physical interrupt whose line dropped before the guest took it is
 * deactivated so the next expiry or overflow fires again.
 */
#include "kernel/vm/vm.h"

/* In the order of the GUEST_LINE_* bits. */
static const uint8_t ppis[3] = {PPI_VTIMER, PPI_PTIMER, PPI_PMU};

void vlines_sync(struct vcpu *v)
{
	uint32_t release =
	    vgic_hw_lines(&v->part->vgic, v->idx, ppis, ARRAY_SIZE(ppis), guest_ppi_lines());
	for (unsigned i = 0; release && i < ARRAY_SIZE(ppis); i++)
		if (release & BIT(i))
			gic_deactivate(ppis[i]);
	if (v->part->npdevs && v->idx == 0)
		pdev_resample(v);
}

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

static void sync_line(struct vcpu *v, unsigned ppi, bool level)
{
	if (vgic_hw_level(&v->part->vgic, v->idx, ppi, ppi, level))
		gic_deactivate(ppi);
}

void vlines_sync(struct vcpu *v)
{
	unsigned lines = timer_guest_lines();
	sync_line(v, PPI_VTIMER, lines & TIMER_LINE_VIRT);
	sync_line(v, PPI_PTIMER, lines & TIMER_LINE_PHYS);
	if (pmu_guest_available())
		sync_line(v, PPI_PMU, pmu_guest_line());
}

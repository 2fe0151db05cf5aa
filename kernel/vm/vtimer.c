/*
 * The guest's EL1 virtual and physical timers. The guest programs them
 * directly (nothing traps); their interrupts reach EL2, where each becomes
 * a HW-linked virtual PPI (kernel/init forwards them) and the physical one
 * stays active until the guest's EOI deactivates it. What the guest does to
 * the timer meanwhile (disable, mask, move CVAL) is only seen here: at each
 * exit the timers' outputs are sampled, so the vGIC's pending state follows
 * the line (as kvm-unit-tests' timer test checks through GICR_ISPENDR0),
 * and a physical interrupt whose line dropped before the guest took it is
 * deactivated so the next expiry fires again.
 */
#include "kernel/vm/vm.h"

static void sync_line(struct vcpu *v, unsigned ppi, bool level)
{
	if (vgic_hw_level(&v->part->vgic, v->idx, ppi, ppi, level))
		gic_deactivate(ppi);
}

void vtimer_sync(struct vcpu *v)
{
	unsigned lines = timer_guest_lines();
	sync_line(v, PPI_VTIMER, lines & TIMER_LINE_VIRT);
	sync_line(v, PPI_PTIMER, lines & TIMER_LINE_PHYS);
}

/*
 * Interrupt sources: device lines, edge injections, HW-linked (forwarded
 * physical) interrupts and SGIs a vCPU sends. Each makes the interrupt
 * pending in the model and kicks the target if it can now be delivered;
 * the target picks it up at its next vgic_flush().
 */
#include "kernel/vgic/internal.h"

/* A new line level: level-triggered inputs are pending while it is high;
 * an edge-configured one latches on the rising edge only. */
static void set_line(struct vgic_irq *irq, bool level)
{
	if (irq->edge && level && !irq->level)
		irq->latch = true;
	irq->level = level;
}

void vgic_set_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level)
{
	uint32_t kick = 0;
	vgic_enter(g);
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, intid);
	if (irq) {
		set_line(irq, level);
		vgic_note(g, irq, VGIC_NO_VCPU, &kick);
	}
	vgic_leave(g, kick);
}

void vgic_inject(struct vgic *g, unsigned vcpu, unsigned intid)
{
	uint32_t kick = 0;
	vgic_enter(g);
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, intid);
	if (irq) {
		irq->latch = true;
		vgic_note(g, irq, VGIC_NO_VCPU, &kick);
	}
	vgic_leave(g, kick);
}

/* The link stays once made: the physical interrupt is the only source of
 * that INTID (the timer PPIs), and a guest-side ISPENDR then merely EOIs an
 * inactive physical interrupt, which has no effect. */
void vgic_inject_hw(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid)
{
	uint32_t kick = 0;
	vgic_enter(g);
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, intid);
	if (irq) {
		irq->hw = true;
		irq->pintid = (uint16_t)pintid;
		irq->phys_active = true;
		set_line(irq, true);
		vgic_note(g, irq, VGIC_NO_VCPU, &kick);
	}
	vgic_leave(g, kick);
}

/* Active in the guest: in an LR as active (the guest's EOI will
 * deactivate the physical interrupt) or set active through ISACTIVER. */
static bool guest_holds(const struct vgic_irq *irq)
{
	return irq->active || (irq->lr_state & VGIC_LR_ACTIVE);
}

bool vgic_hw_level(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid, bool level)
{
	uint32_t kick = 0;
	bool release = false;
	vgic_enter(g);
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, intid);
	if (irq) {
		irq->hw = true; /* a line seen high before its interrupt was taken */
		irq->pintid = (uint16_t)pintid;
		set_line(irq, level);
		vgic_note(g, irq, vcpu, &kick);
		release = irq->phys_active && !level && !guest_holds(irq);
		if (release)
			irq->phys_active = false;
	}
	vgic_leave(g, kick);
	return release;
}

/* The vCPUs an ICC_SGI1R_EL1 value names, as a mask. Ours have Aff3..1 = 0
 * and Aff0 = index < 16, so a non-zero Aff1..3 or RS (TargetList covering
 * Aff0 16 * RS..) names nobody. */
static uint32_t sgi_targets(const struct vgic *g, unsigned self, uint64_t sgi1r)
{
	uint32_t all = (uint32_t)BIT(g->nvcpus) - 1;
	if (sgi1r & BIT(40)) /* IRM: every PE but self */
		return all & ~(uint32_t)BIT(self);
	uint64_t aff321 = ((sgi1r >> 16) & 0xff) | (sgi1r >> 32 & 0xff) | (sgi1r >> 48 & 0xff);
	unsigned rs = (sgi1r >> 44) & 0xf;
	if (aff321 || rs)
		return 0;
	return (uint32_t)(sgi1r & 0xffff) & all;
}

void vgic_sgi(struct vgic *g, unsigned vcpu, uint64_t sgi1r)
{
	unsigned intid = (sgi1r >> 24) & 0xf;
	uint32_t kick = 0;
	vgic_enter(g);
	uint32_t t = sgi_targets(g, vcpu, sgi1r);
	for (unsigned c = 0; c < g->nvcpus; c++) {
		/* with GICD_CTLR.DS = 1, SGI1R raises the SGI in whichever
		 * group the target configured it (as KVM reads the spec) */
		struct vgic_irq *irq = &g->cpu[c].priv[intid];
		if (!(t & BIT(c)))
			continue;
		irq->latch = true;
		vgic_note(g, irq, vcpu, &kick);
	}
	vgic_leave(g, kick);
}

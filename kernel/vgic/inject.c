/*
 * Interrupt sources: device lines, edge injections, HW-linked (forwarded
 * physical) interrupts and SGIs a vCPU sends. Each makes the interrupt
 * pending in the model and kicks the target if it can now be delivered;
 * the target picks it up at its next vgic_flush().
 */
#include "kernel/vgic/internal.h"

void vgic_set_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level)
{
	uint32_t kick = 0;
	vgic_enter(g);
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, intid);
	if (irq) {
		vgic_set_line(g, irq, level);
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
		vgic_mark(g, irq);
		vgic_note(g, irq, VGIC_NO_VCPU, &kick);
	}
	vgic_leave(g, kick);
}

/* The link stays once made: the physical interrupt is the only source of
 * that INTID (the timer PPIs), and a guest-side ISPENDR then merely EOIs an
 * inactive physical interrupt, which has no effect. */
static struct vgic_irq *raise_hw(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid,
				 unsigned self, uint32_t *kick)
{
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, intid);
	if (!irq)
		return NULL;
	irq->hw = true;
	irq->pintid = (uint16_t)pintid;
	irq->phys_active = true;
	vgic_set_line(g, irq, true);
	if (intid < 32)
		g->cpu[vcpu].hw_busy = true;
	vgic_note(g, irq, self, kick);
	return irq;
}

void vgic_inject_hw(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid)
{
	uint32_t kick = 0;
	vgic_enter(g);
	raise_hw(g, vcpu, intid, pintid, VGIC_NO_VCPU, &kick);
	vgic_leave(g, kick);
}

/* What changed for vcpu itself is in an LR, or nothing did. */
static bool settled(struct vgic *g, unsigned vcpu, struct vgic_irq *irq, uint32_t *kick)
{
	if (!irq || irq->target != vcpu || !vgic_deliverable(g, irq))
		return true;
	return vgic_place(g, vcpu, irq, kick);
}

bool vgic_inject_hw_fast(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid)
{
	uint32_t kick = 0;
	if (vcpu >= g->nvcpus)
		return false;
	vgic_enter(g);
	if (g->cpu[vcpu].fresh) /* the lock-free path's LRs first */
		vgic_adopt(g, vcpu, NULL, &kick);
	struct vgic_irq *irq = raise_hw(g, vcpu, intid, pintid, vcpu, &kick);
	bool ok = settled(g, vcpu, irq, &kick);
	vgic_leave(g, kick);
	return ok;
}

/* Active in the guest: in an LR as active (the guest's EOI will
 * deactivate the physical interrupt) or set active through ISACTIVER. */
static bool guest_holds(const struct vgic_irq *irq)
{
	return irq->active || (irq->lr_state & VGIC_LR_ACTIVE);
}

/* Runs at every exit, so the usual case (every line as it was, nothing to
 * release) is decided without the lock: level and phys_active of a PPI
 * change only on its vCPU's own CPU, the one calling (see vgic.h). */
static bool hw_level_unchanged(const struct vgic_irq *irq, bool level)
{
	return irq->level == level && !(irq->phys_active && !level);
}

static bool hw_level_update(struct vgic *g, unsigned vcpu, struct vgic_irq *irq, bool level,
			    uint32_t *kick)
{
	irq->hw = true; /* a line seen high before its interrupt was taken */
	irq->pintid = irq->intid;
	vgic_set_line(g, irq, level);
	vgic_note(g, irq, vcpu, kick);
	bool release = irq->phys_active && !level && !guest_holds(irq);
	if (release)
		irq->phys_active = false;
	return release;
}

static uint32_t __attribute__((noinline))
hw_lines_look(struct vgic *g, unsigned vcpu, const uint8_t *ppis, unsigned n, uint32_t levels)
{
	uint32_t kick = 0, release = 0, stale = 0;
	bool busy = false;
	struct vgic_irq *priv = g->cpu[vcpu].priv;
	for (unsigned i = 0; i < n && i < 32; i++) {
		struct vgic_irq *irq = &priv[ppis[i] & 31];
		bool level = (levels >> i) & 1;
		if (ppis[i] >= 16 && !hw_level_unchanged(irq, level))
			stale |= (uint32_t)BIT(i);
		busy |= level || irq->phys_active;
	}
	g->cpu[vcpu].hw_busy = busy; /* what the updates below leave */
	if (!stale)
		return 0;
	vgic_enter(g);
	for (unsigned i = 0; i < n && i < 32; i++)
		if ((stale & BIT(i)) &&
		    hw_level_update(g, vcpu, &priv[ppis[i]], (levels >> i) & 1, &kick))
			release |= (uint32_t)BIT(i);
	vgic_leave(g, kick);
	return release;
}

/* The test most exits end at, kept apart so it costs no register saves. */
uint32_t vgic_hw_lines(struct vgic *g, unsigned vcpu, const uint8_t *ppis, unsigned n,
		       uint32_t levels)
{
	if (vcpu >= g->nvcpus || (!levels && !g->cpu[vcpu].hw_busy))
		return 0; /* all low, as they were */
	return hw_lines_look(g, vcpu, ppis, n, levels);
}

bool vgic_hw_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level)
{
	const uint8_t ppi[1] = {intid < 32 ? (uint8_t)intid : 0};
	return vgic_hw_lines(g, vcpu, ppi, 1, level) != 0;
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

/* Latches SGI sgi1r names on every vCPU it targets; returns the sender's
 * own one if it is among them. */
static struct vgic_irq *raise_sgi(struct vgic *g, unsigned vcpu, uint64_t sgi1r, uint32_t *kick)
{
	unsigned intid = (sgi1r >> 24) & 0xf;
	uint32_t t = sgi_targets(g, vcpu, sgi1r);
	struct vgic_irq *self = NULL;
	for (unsigned c = 0; c < g->nvcpus; c++) {
		/* with GICD_CTLR.DS = 1, SGI1R raises the SGI in whichever
		 * group the target configured it (as KVM reads the spec) */
		struct vgic_irq *irq = &g->cpu[c].priv[intid];
		if (!(t & BIT(c)))
			continue;
		irq->latch = true;
		vgic_mark(g, irq);
		vgic_note(g, irq, vcpu, kick);
		if (c == vcpu)
			self = irq;
	}
	return self;
}

void vgic_sgi(struct vgic *g, unsigned vcpu, uint64_t sgi1r)
{
	uint32_t kick = 0;
	vgic_enter(g);
	raise_sgi(g, vcpu, sgi1r, &kick);
	vgic_leave(g, kick);
}

bool vgic_sgi_fast(struct vgic *g, unsigned vcpu, uint64_t sgi1r)
{
	uint32_t kick = 0;
	if (vcpu >= g->nvcpus)
		return false;
	vgic_enter(g);
	if (g->cpu[vcpu].fresh)
		vgic_adopt(g, vcpu, NULL, &kick);
	bool ok = settled(g, vcpu, raise_sgi(g, vcpu, sgi1r, &kick), &kick);
	vgic_leave(g, kick);
	return ok;
}

/* With the lock held. No kick: the sender kicked when it set the bit. */
static void mail_latch(struct vgic *g, unsigned vcpu, uint32_t sgis)
{
	for (sgis &= 0xffff; sgis; sgis &= sgis - 1) {
		struct vgic_irq *irq = &g->cpu[vcpu].priv[__builtin_ctz(sgis)];
		irq->latch = true;
		vgic_mark(g, irq);
	}
}

void vgic_mail_drain(struct vgic *g, unsigned vcpu)
{
	mail_latch(g, vcpu, __atomic_exchange_n(&g->cpu[vcpu].mail, 0, __ATOMIC_ACQUIRE));
}

void vgic_mail_latch(struct vgic *g, unsigned vcpu, uint32_t sgis)
{
	if (vcpu >= g->nvcpus)
		return;
	vgic_enter(g);
	mail_latch(g, vcpu, sgis);
	vgic_leave(g, 0);
}

bool vgic_sgi_mail(struct vgic *g, unsigned vcpu, uint64_t sgi1r)
{
	if (vcpu >= g->nvcpus)
		return false;
	uint32_t t = sgi_targets(g, vcpu, sgi1r), bit = BIT((sgi1r >> 24) & 0xf);
	if (t & BIT(vcpu))
		return false;
	for (; t; t &= t - 1) {
		unsigned c = (unsigned)__builtin_ctz(t);
		uint32_t was = __atomic_fetch_or(&g->cpu[c].mail, bit, __ATOMIC_RELEASE);
		if (!(was & bit) && g->ops.kick)
			g->ops.kick(g->ops.ctx, c);
	}
	return true;
}

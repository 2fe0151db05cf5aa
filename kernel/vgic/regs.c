/*
 * Handlers for the per-INTID register arrays the distributor (SPIs) and the
 * redistributor SGI_base frame (SGIs, PPIs) share: IGROUPR, IS/ICENABLER,
 * IS/ICPENDR, IS/ICACTIVER, IPRIORITYR, ICFGR, and the ID registers. The
 * array offset maps to an INTID the same way in both frames; which INTIDs
 * exist differs (vgic_acc_irq), the rest read as zero and ignore writes,
 * which is what affinity routing asks of the distributor's SGI/PPI slots.
 */
#include "kernel/vgic/internal.h"

struct vgic_irq *vgic_acc_irq(struct vgic_acc *a, unsigned intid)
{
	if (a->cpu)
		return intid < 32 ? &a->cpu->priv[intid] : NULL;
	if (intid >= 32 && intid < VGIC_NR_IRQS)
		return &a->g->spi[intid - 32];
	return NULL;
}

/* Pending and active include what the model last put in / read from an LR,
 * so a guest polling another vCPU's interrupt sees it in flight. */
static bool get_field(const struct vgic_irq *irq, unsigned field)
{
	switch (field) {
	case VGIC_F_GROUP:
		return irq->group1;
	case VGIC_F_ENABLE:
		return irq->enabled;
	case VGIC_F_PEND:
		return vgic_irq_pending(irq) || (irq->lr_state & VGIC_LR_PENDING);
	default:
		return irq->active || (irq->lr_state & VGIC_LR_ACTIVE);
	}
}

/* Clearing pending/active also clears the copy in lr_state, so the next
 * flush rewrites (or frees) the LR instead of trusting it. */
static void set_field(struct vgic_irq *irq, unsigned field, bool v)
{
	switch (field) {
	case VGIC_F_GROUP:
		irq->group1 = v;
		break;
	case VGIC_F_ENABLE:
		irq->enabled = v;
		break;
	case VGIC_F_PEND:
		irq->latch = v;
		if (!v)
			irq->lr_state &= ~VGIC_LR_PENDING;
		break;
	default:
		if (v && !irq->active && !(irq->lr_state & VGIC_LR_ACTIVE))
			irq->act_prio = irq->prio; /* activated at its priority now */
		irq->active = v;
		if (!v)
			irq->lr_state &= ~VGIC_LR_ACTIVE;
	}
}

uint64_t vgic_bits_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned b = 0; b < 32; b++) {
		const struct vgic_irq *irq = vgic_acc_irq(a, off * 8 + b);
		if (irq && get_field(irq, r->arg & 0xf))
			v |= BIT(b);
	}
	return v;
}

void vgic_bits_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		     uint64_t val)
{
	unsigned mode = r->arg & (VGIC_W_SET | VGIC_W_CLEAR);
	for (unsigned b = 0; b < 32; b++) {
		struct vgic_irq *irq = vgic_acc_irq(a, off * 8 + b);
		bool bit = (val >> b) & 1;
		if (!irq || (mode && !bit))
			continue;
		set_field(irq, r->arg & 0xf, mode ? mode == VGIC_W_SET : bit);
		vgic_mark(a->g, irq);
		vgic_note(a->g, irq, a->self, &a->kick);
		vgic_note_held(a->g, irq, a->self, &a->kick);
	}
}

/* Byte-accessible: one byte per INTID, 1- or 4-byte accesses. */
uint64_t vgic_prio_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		const struct vgic_irq *irq = vgic_acc_irq(a, off + i);
		if (irq)
			v |= (uint64_t)irq->prio << (8 * i);
	}
	return v;
}

void vgic_prio_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		     uint64_t val)
{
	for (unsigned i = 0; i < size; i++) {
		struct vgic_irq *irq = vgic_acc_irq(a, off + i);
		if (!irq)
			continue;
		irq->prio = (uint8_t)(val >> (8 * i)) & VGIC_PRIO_MASK;
		vgic_note_held(a->g, irq, a->self, &a->kick);
	}
}

/* ICFGR: two bits per INTID, bit 1 of each = edge. SGIs are always edge
 * (read-only); PPIs and SPIs are programmable. */
uint64_t vgic_cfg_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < 16; k++) {
		const struct vgic_irq *irq = vgic_acc_irq(a, off * 4 + k);
		if (irq && irq->edge)
			v |= BIT(2 * k + 1);
	}
	return v;
}

void vgic_cfg_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		    uint64_t val)
{
	for (unsigned k = 0; k < 16; k++) {
		struct vgic_irq *irq = vgic_acc_irq(a, off * 4 + k);
		if (!irq || irq->intid < 16)
			continue;
		irq->edge = (val >> (2 * k + 1)) & 1;
		vgic_note(a->g, irq, a->self, &a->kick); /* level with the line high */
	}
}

/* 0xFFD0..0xFFFF: PIDR4-7, PIDR0-3, CIDR0-3. Only ArchRev in PIDR2 means
 * anything to guests (Linux checks it to find GICv3 frames); the component
 * IDs are the CoreSight ones every GIC has. */
uint64_t vgic_id_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size)
{
	return vgic_id_reg(off);
}

uint64_t vgic_iidr_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size)
{
	return VGIC_IIDR;
}

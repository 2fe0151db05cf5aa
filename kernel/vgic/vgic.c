/*
 * Virtual GICv3: reset state, locking, and the interrupt-state rules every
 * other vgic_*.c file relies on (what "pending" and "deliverable" mean,
 * where an interrupt goes, whom to kick).
 */
#include "kernel/vgic/internal.h"
#include <string.h>

static void reset_irq(struct vgic_irq *irq, unsigned intid, uint8_t target)
{
	irq->intid = (uint16_t)intid;
	irq->target = target;
	/* group 1 at reset (as KVM's vGICv3): guests that never program
	 * IGROUPR (small RTOSes) still get their interrupts as IRQs */
	irq->group1 = true;
	irq->edge = intid < 16; /* SGIs are always edge; the rest reset level */
}

void vgic_init(struct vgic *g, unsigned nvcpus, const struct vgic_ops *ops)
{
	memset(g, 0, sizeof(*g));
	g->nvcpus = MIN(nvcpus, (unsigned)VGIC_MAX_VCPUS);
	g->ops = *ops;
	g->nr_lrs = MIN(ops->nr_lrs, (unsigned)VGIC_MAX_LRS);
	g->typer = VGIC_DIST_TYPER;
	for (uint64_t rd = 0; rd < g->nvcpus; rd++)
		g->rd_typer[rd] = rd << 32 | rd << 8 | (rd == g->nvcpus - 1 ? BIT(4) : 0);
	for (unsigned i = 0; i < VGIC_NR_SPIS; i++)
		reset_irq(&g->spi[i], 32 + i, 0); /* IROUTER 0: vCPU 0 */
	for (unsigned c = 0; c < VGIC_MAX_VCPUS; c++) {
		struct vgic_cpu *cpu = &g->cpu[c];
		for (unsigned i = 0; i < 32; i++)
			reset_irq(&cpu->priv[i], i, (uint8_t)c);
		for (unsigned i = 0; i < VGIC_MAX_LRS; i++)
			cpu->lr_intid[i] = VGIC_LR_FREE;
		cpu->sleep = true; /* GICR_WAKER reset value on hardware */
		cpu->starved = VGIC_LR_FREE;
	}
}

/* IROUTER: IRM = 1 (any PE) picks vCPU 0; otherwise Aff0 names the vCPU,
 * and an affinity no vCPU has routes the SPI nowhere (never delivered). */
uint8_t vgic_route_target(const struct vgic *g, uint64_t irouter)
{
	if (irouter & BIT(31))
		return 0;
	if ((irouter & ~0xffull) == 0 && (irouter & 0xff) < g->nvcpus)
		return (uint8_t)irouter;
	return VGIC_NO_VCPU;
}

void vgic_route(struct vgic *g, struct vgic_irq *irq, uint64_t irouter)
{
	irq->irouter = irouter & VGIC_IROUTER_VALID;
	irq->target = vgic_route_target(g, irq->irouter);
	vgic_mark(g, irq);
}

/* Every vCPU (but self) with something deliverable: after a change that
 * can release many interrupts at once (GICD_CTLR group enables). */
uint32_t vgic_kick_deliverable(const struct vgic *g, unsigned self)
{
	uint32_t kick = 0;
	for (unsigned i = 0; i < VGIC_NR_SPIS; i++)
		vgic_note(g, &g->spi[i], self, &kick);
	for (unsigned c = 0; c < g->nvcpus; c++)
		for (unsigned i = 0; i < 32; i++)
			vgic_note(g, &g->cpu[c].priv[i], self, &kick);
	return kick;
}

#define REG_PEND_ACTIVE	 0x200u /* IS/ICPENDR, IS/ICACTIVER: 0x200..0x3ff */
#define REGS_PEND_ACTIVE 0x200u

bool vgic_read_needs_sync(bool redist, uint64_t off)
{
	if (redist) {
		off %= VGIC_RD_STRIDE;
		if (off < VGIC_SGI_FRAME)
			return false;
		off -= VGIC_SGI_FRAME;
	}
	return off - REG_PEND_ACTIVE < REGS_PEND_ACTIVE;
}

/*
 * GICv3 distributor (GICD_*, one 64 KiB frame) as Linux's GICv3 driver and
 * small RTOSes use it:
 *   CTLR     EnableGrp0 (bit 0) and EnableGrp1 (bit 1) stored; ARE (bit 4)
 *            and DS (bit 6) read as one, RWP (bit 31) as zero: writes take
 *            effect at once. One security state, as in a guest at EL1.
 *   TYPER    ITLinesNumber for VGIC_NR_SPIS, IDbits 9 (10 INTID bits), no
 *            LPIs (with an ITS: LPIS, IDbits 14, its.h), MBIs, ESPIs, security extension, range
 * selector or Aff3. IIDR     VGIC_IIDR (see fast.h); TYPER2, STATUSR read 0. IGROUPR, IS/ICENABLER,
 * IS/ICPENDR, IS/ICACTIVER, IPRIORITYR (byte accessible), ICFGR for SPIs; their SGI/PPI words are
 * RAZ/WI, those live in the redistributors when ARE = 1. IROUTER  64-bit or 32-bit halves; Aff0
 * picks the vCPU, IRM = 1 vCPU 0. IGRPMODR, NSACR, ITARGETSR, SGIR, C/SPENDSGIR: RAZ/WI (ARE = 1,
 * DS = 1). PIDR2    ArchRev 3; CIDR0-3 the usual 0x0D, 0xF0, 0x05, 0xB1.
 */
#include "kernel/vgic/internal.h"
#include <errno.h>

#define CTLR_ENABLES 0x3u

static uint64_t ctlr_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size)
{
	return a->g->ctlr | VGIC_CTLR_ARE_DS;
}

/* Enabling a group can release interrupts already pending on any vCPU. */
static void ctlr_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		       uint64_t val)
{
	uint32_t old = a->g->ctlr;
	a->g->ctlr = (uint32_t)val & CTLR_ENABLES;
	if (a->g->ctlr & ~old)
		a->kick |= vgic_kick_deliverable(a->g, a->self);
	if (a->g->its && (a->g->ctlr & ~old))
		a->kick |= vgic_lpi_kick_all(a->g, a->self);
}

static uint64_t typer_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			   unsigned size)
{
	return vgic_dist_typer(a->g);
}

/* IROUTER<n> at 0x6000 + 8n; n < 32 are reserved (RAZ/WI). */
static uint64_t irouter_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			     unsigned size)
{
	const struct vgic_irq *irq = vgic_acc_irq(a, off / 8);
	return irq ? vgic_half_read(irq->irouter, off, size) : 0;
}

static void irouter_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
			  uint64_t val)
{
	struct vgic_irq *irq = vgic_acc_irq(a, off / 8);
	if (!irq)
		return;
	vgic_route(a->g, irq, vgic_half_write(irq->irouter, off, size, val));
	vgic_note(a->g, irq, a->self, &a->kick);
	vgic_note_held(a->g, irq, a->self, &a->kick);
}

/* Table shorthands: a bit-per-INTID array, a RAZ/WI range. */
#define BITS(o, arg)                                                                               \
	{                                                                                          \
		o, 0x80, 4, arg, vgic_bits_read, vgic_bits_write, false                            \
	}
#define RAZ(o, len, sizes)                                                                         \
	{                                                                                          \
		o, len, sizes, 0, NULL, NULL, false                                                \
	}

static const struct vgic_reg dist_regs[] = {
    {0x0000, 4, 4, 0, ctlr_read, ctlr_write, false},
    {0x0004, 4, 4, 0, typer_read, NULL, true},
    {0x0008, 4, 4, 0, vgic_iidr_read, NULL, true},
    RAZ(0x000c, 8, 4), /* TYPER2, STATUSR */
    BITS(0x0080, VGIC_F_GROUP),
    BITS(0x0100, VGIC_F_ENABLE | VGIC_W_SET),
    BITS(0x0180, VGIC_F_ENABLE | VGIC_W_CLEAR),
    BITS(0x0200, VGIC_F_PEND | VGIC_W_SET),
    BITS(0x0280, VGIC_F_PEND | VGIC_W_CLEAR),
    BITS(0x0300, VGIC_F_ACTIVE | VGIC_W_SET),
    BITS(0x0380, VGIC_F_ACTIVE | VGIC_W_CLEAR),
    {0x0400, 0x400, 1 | 4, 0, vgic_prio_read, vgic_prio_write, false},
    RAZ(0x0800, 0x400, 1 | 4), /* ITARGETSR */
    {0x0c00, 0x100, 4, 0, vgic_cfg_read, vgic_cfg_write, false},
    RAZ(0x0d00, 0x80, 4),     /* IGRPMODR */
    RAZ(0x0e00, 0x100, 4),    /* NSACR */
    RAZ(0x0f00, 4, 4),	      /* SGIR */
    RAZ(0x0f10, 0x20, 1 | 4), /* CPENDSGIR, SPENDSGIR */
    {0x6000, 0x2000, 4 | 8, 0, irouter_read, irouter_write, false},
    {0xffd0, 0x30, 4, 0, vgic_id_read, NULL, true},
};

int vgic_dist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		     uint64_t *val)
{
	if (off >= VGIC_DIST_SIZE)
		return -EINVAL;
	struct vgic_acc a = {.g = g, .cpu = NULL, .rd = 0, .self = vcpu, .kick = 0};
	return vgic_mmio(&a, dist_regs, ARRAY_SIZE(dist_regs), off, size, write, val);
}

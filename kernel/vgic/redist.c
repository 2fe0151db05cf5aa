/*
 * GICv3 redistributors: vCPU n's two 64 KiB frames at n * 0x20000 of the
 * region, whichever vCPU accesses them (Linux walks all of them at boot,
 * matching GICR_TYPER affinity against its MPIDR).
 *   RD_base   CTLR reads 0 (no LPIs; RWP 0), IIDR as the distributor's,
 *             TYPER (64-bit or halves): Affinity = Aff0 n, Processor_Number
 *             n, Last on the last vCPU, no LPIs. With an ITS: CTLR
 *             EnableLPIs, PROPBASER/PENDBASER and TYPER.PLPIS (lpi.c). STATUSR 0. WAKER:
 *             ProcessorSleep (bit 1) writable, ChildrenAsleep (bit 2)
 *             follows it at once. PROPBASER/PENDBASER RAZ/WI. PIDR2 0x30.
 *   SGI_base  IGROUPR0, IS/ICENABLER0, IS/ICPENDR0, IS/ICACTIVER0,
 *             IPRIORITYR0-7, ICFGR0 (SGIs, always edge, read-only), ICFGR1
 *             (PPIs); IGRPMODR0, NSACR RAZ/WI.
 * Anything past the last vCPU's frames is -EINVAL (the guest gets an
 * external abort), so a guest ignoring Last finds no phantom CPUs.
 */
#include "kernel/vgic/internal.h"
#include <errno.h>

static uint64_t typer_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			   unsigned size)
{
	return vgic_half_read(vgic_redist_typer(a->g, a->rd), off, size);
}

static uint64_t waker_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			   unsigned size)
{
	return a->cpu->sleep ? VGIC_WAKER_SLEEP | VGIC_WAKER_ASLEEP : 0;
}

/* Nothing to quiesce: the "children" are asleep as soon as asked. */
static void waker_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
			uint64_t val)
{
	a->cpu->sleep = val & VGIC_WAKER_SLEEP;
}

#define BITS(o, arg)                                                                               \
	{                                                                                          \
		o, 4, 4, arg, vgic_bits_read, vgic_bits_write, false                               \
	}
#define RAZ(o, len, sizes)                                                                         \
	{                                                                                          \
		o, len, sizes, 0, NULL, NULL, false                                                \
	}

static const struct vgic_reg rd_regs[] = {
    {0x0000, 4, 4, 0, vgic_lpi_ctlr_read, vgic_lpi_ctlr_write, false},
    {0x0004, 4, 4, 0, vgic_iidr_read, NULL, true},
    {0x0008, 8, 4 | 8, 0, typer_read, NULL, true},
    RAZ(0x0010, 4, 4), /* STATUSR */
    {0x0014, 4, 4, 0, waker_read, waker_write, false},
    {0x0070, 0x10, 4 | 8, 0, vgic_lpi_baser_read, vgic_lpi_baser_write, false},
    {0xffd0, 0x30, 4, 0, vgic_id_read, NULL, true},
};

static const struct vgic_reg sgi_regs[] = {
    BITS(0x0080, VGIC_F_GROUP),
    BITS(0x0100, VGIC_F_ENABLE | VGIC_W_SET),
    BITS(0x0180, VGIC_F_ENABLE | VGIC_W_CLEAR),
    BITS(0x0200, VGIC_F_PEND | VGIC_W_SET),
    BITS(0x0280, VGIC_F_PEND | VGIC_W_CLEAR),
    BITS(0x0300, VGIC_F_ACTIVE | VGIC_W_SET),
    BITS(0x0380, VGIC_F_ACTIVE | VGIC_W_CLEAR),
    {0x0400, 0x20, 1 | 4, 0, vgic_prio_read, vgic_prio_write, false},
    {0x0c00, 8, 4, 0, vgic_cfg_read, vgic_cfg_write, false},
    RAZ(0x0d00, 4, 4), /* IGRPMODR0 */
    RAZ(0x0e00, 4, 4), /* NSACR */
};

int vgic_redist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		       uint64_t *val)
{
	uint64_t rd = off / VGIC_RD_STRIDE, frame = off % VGIC_RD_STRIDE;
	if (rd >= g->nvcpus)
		return -EINVAL;
	struct vgic_acc a = {.g = g, .cpu = &g->cpu[rd], .rd = (unsigned)rd, .self = vcpu};
	int e;
	if (frame < VGIC_SGI_FRAME)
		e = vgic_mmio(&a, rd_regs, ARRAY_SIZE(rd_regs), frame, size, write, val);
	else
		e = vgic_mmio(&a, sgi_regs, ARRAY_SIZE(sgi_regs), frame - VGIC_SGI_FRAME, size,
			      write, val);
	return e;
}

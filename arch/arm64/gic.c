/*
 * Physical GICv3: distributor, per-CPU redistributors and the system-register
 * CPU interface. All interrupts are Group 1 Non-secure, routed by affinity.
 */
#include "arch/arm64/arch.h"
#include <errno.h>

#define GICD_CTLR	0x0000
#define GICD_TYPER	0x0004
#define GICD_IGROUPR	0x0080
#define GICD_ISENABLER	0x0100
#define GICD_ICENABLER	0x0180
#define GICD_ICPENDR	0x0280
#define GICD_IPRIORITYR 0x0400
#define GICD_ICFGR	0x0c00
#define GICD_IROUTER	0x6000
#define GICD_PIDR2	0xffe8
#define CTLR_RWP	BIT(31)
#define CTLR_ARE	BIT(4)
#define CTLR_GRP1	BIT(1)

#define GICR_CTLR     0x0000
#define GICR_TYPER    0x0008
#define GICR_WAKER    0x0014
#define GICR_SGI      0x10000 /* SGI_base frame */
#define WAKER_PSLEEP  BIT(1)
#define WAKER_CASLEEP BIT(2)
#define TYPER_LAST    BIT(4)
#define TYPER_VLPIS   BIT(1)

#define PRIO_DEFAULT 0xa0

static struct gic_info gic;
static uintptr_t gicd;

const struct gic_info *gic_get_info(void)
{
	return &gic;
}

static int wait_clear(uintptr_t reg, uint32_t mask)
{
	for (unsigned i = 0; i < 1000000; i++) {
		if (!(mmio_read32(reg) & mask))
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

static void dist_defaults(void)
{
	for (unsigned i = 32; i < gic.spis; i += 32) {
		mmio_write32(gicd + GICD_ICENABLER + i / 8, 0xffffffff);
		mmio_write32(gicd + GICD_ICPENDR + i / 8, 0xffffffff);
		mmio_write32(gicd + GICD_IGROUPR + i / 8, 0xffffffff);
	}
	for (unsigned i = 32; i < gic.spis; i += 4)
		mmio_write32(gicd + GICD_IPRIORITYR + i, PRIO_DEFAULT * 0x01010101u);
}

int gic_init_dist(const struct gic_info *gi)
{
	gic = *gi;
	gicd = el2_map_device(gi->gicd_base, gi->gicd_size);
	if (!gicd || !el2_map_device(gi->gicr_base, gi->gicr_size))
		return -ENOMEM;
	gic.version = (mmio_read32(gicd + GICD_PIDR2) >> 4) & 0xf;
	gic.spis = MIN(((mmio_read32(gicd + GICD_TYPER) & 0x1f) + 1) * 32, 1020u);
	mmio_write32(gicd + GICD_CTLR, 0);
	if (wait_clear(gicd + GICD_CTLR, CTLR_RWP))
		return -ETIMEDOUT;
	dist_defaults();
	mmio_write32(gicd + GICD_CTLR, CTLR_ARE | CTLR_GRP1);
	return wait_clear(gicd + GICD_CTLR, CTLR_RWP);
}

static uint64_t mpidr_to_typer_aff(uint64_t mpidr)
{
	return (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24;
}

static uintptr_t find_redist(uint64_t mpidr)
{
	uintptr_t r = gic.gicr_base;
	while (r < gic.gicr_base + gic.gicr_size) {
		uint64_t typer = mmio_read64(r + GICR_TYPER);
		if ((typer >> 32) == mpidr_to_typer_aff(mpidr))
			return r;
		if (typer & TYPER_LAST)
			break;
		r += (typer & TYPER_VLPIS) ? 0x40000 : 0x20000;
	}
	return 0;
}

static int redist_init(uintptr_t r)
{
	uint32_t w = mmio_read32(r + GICR_WAKER);
	mmio_write32(r + GICR_WAKER, w & ~WAKER_PSLEEP);
	if (wait_clear(r + GICR_WAKER, WAKER_CASLEEP))
		return -ETIMEDOUT;
	uintptr_t sgi = r + GICR_SGI;
	mmio_write32(sgi + GICD_ICENABLER, 0xffff0000); /* PPIs off, SGIs stay */
	mmio_write32(sgi + GICD_IGROUPR, 0xffffffff);
	for (unsigned i = 0; i < 32; i += 4)
		mmio_write32(sgi + GICD_IPRIORITYR + i, PRIO_DEFAULT * 0x01010101u);
	mmio_write32(sgi + GICD_ISENABLER, 0x0000ffff);
	return wait_clear(r + GICR_CTLR, BIT(3)); /* RWP */
}

static void cpuif_init(void)
{
	write_sysreg(S3_4_C12_C9_5, 0xf); /* ICC_SRE_EL2: SRE, DFB, DIB, Enable */
	isb();
	write_sysreg(S3_0_C4_C6_0, 0xf0); /* ICC_PMR_EL1 */
	write_sysreg(S3_0_C12_C12_3, 0);  /* ICC_BPR1_EL1 */
	/* ICC_CTLR_EL1.EOImode = 1: EOIR only drops priority, DIR deactivates,
	 * so a forwarded interrupt can stay active until the guest's EOI. */
	write_sysreg(S3_0_C12_C12_4, 2);
	write_sysreg(S3_0_C12_C12_7, 1); /* ICC_IGRPEN1_EL1 */
	isb();
	gic.lrs = (read_sysreg(S3_4_C12_C11_1) & 0x1f) + 1; /* ICH_VTR_EL2 */
}

int gic_init_cpu(void)
{
	struct percpu *c = this_cpu();
	c->gicr = find_redist(c->mpidr);
	if (!c->gicr)
		return -ENODEV;
	int e = redist_init(c->gicr);
	if (e)
		return e;
	cpuif_init();
	return 0;
}

void gic_enable_irq(unsigned intid, bool edge, unsigned target_cpu)
{
	if (intid < 32) {
		uintptr_t sgi = this_cpu()->gicr + GICR_SGI;
		uint32_t cfg = mmio_read32(sgi + GICD_ICFGR + 4);
		unsigned sh = (intid - 16) * 2 + 1;
		if (intid >= 16)
			mmio_write32(sgi + GICD_ICFGR + 4, edge ? cfg | BIT(sh) : cfg & ~BIT(sh));
		mmio_write32(sgi + GICD_ISENABLER, BIT(intid));
		return;
	}
	uint32_t cfg = mmio_read32(gicd + GICD_ICFGR + intid / 16 * 4);
	unsigned sh = (intid % 16) * 2 + 1;
	mmio_write32(gicd + GICD_ICFGR + intid / 16 * 4, edge ? cfg | BIT(sh) : cfg & ~BIT(sh));
	mmio_write64(gicd + GICD_IROUTER + intid * 8,
		     mpidr_to_typer_aff(percpu_data[target_cpu].mpidr) & 0xffffff);
	mmio_write32(gicd + GICD_ISENABLER + intid / 32 * 4, BIT(intid % 32));
}

void gic_disable_irq(unsigned intid)
{
	if (intid >= 32)
		mmio_write32(gicd + GICD_ICENABLER + intid / 32 * 4, BIT(intid % 32));
}

void gic_send_sgi(unsigned cpu, unsigned sgi)
{
	uint64_t m = percpu_data[cpu].mpidr;
	uint64_t v = ((m >> 32) & 0xff) << 48 | ((m >> 16) & 0xff) << 32 | ((m >> 8) & 0xff) << 16 |
		     (uint64_t)(sgi & 0xf) << 24 | ((m & 0xff) >> 4) << 44 | BIT(m & 0xf);
	dsb(ishst);
	write_sysreg(S3_0_C12_C11_5, v); /* ICC_SGI1R_EL1 */
	isb();
}

void gic_send_sgi_others(unsigned sgi)
{
	dsb(ishst);
	write_sysreg(S3_0_C12_C11_5, BIT(40) | (uint64_t)(sgi & 0xf) << 24); /* IRM=1 */
	isb();
}

unsigned gic_ack(void)
{
	return icc_ack();
}

void gic_priority_drop(unsigned intid)
{
	icc_drop(intid);
}

void gic_deactivate(unsigned intid)
{
	write_sysreg(S3_0_C12_C11_1, intid); /* ICC_DIR_EL1 */
	isb();
}

void gic_eoi(unsigned intid)
{
	gic_priority_drop(intid);
	gic_deactivate(intid);
}

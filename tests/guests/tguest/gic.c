/*
 * Minimal GICv3: distributor with affinity routing and Group 1 on; for each
 * vCPU its own redistributor (found by walking GICR_TYPER affinities, since
 * the frame order need not follow vCPU numbers), woken, with the SGIs and
 * PPIs tguest uses enabled as Group 1; the CPU interface through the ICC_*
 * system registers.
 */
#include "tguest.h"

#define GICD_CTLR	0x0000
#define GICD_CTLR_RWP	(1U << 31)
#define GICD_CTLR_ARE	(1U << 4) /* ARE_NS, or ARE with one security state */
#define GICD_CTLR_GRP1	(1U << 1) /* EnableGrp1A, or EnableGrp1 (DS=1) */
#define GICD_IGROUPR	0x0080
#define GICD_ISENABLER	0x0100
#define GICD_IPRIORITYR 0x0400
#define GICD_IROUTER	0x6000
#define GICR_CTLR	0x0000
#define GICR_CTLR_RWP	(1U << 3)
#define GICR_TYPER	0x0008
#define GICR_TYPER_LAST (1U << 4)
#define GICR_WAKER	0x0014
#define WAKER_PSLEEP	(1U << 1)
#define WAKER_CASLEEP	(1U << 2)
#define GICR_SGI	0x10000 /* SGI/PPI frame after RD_base */
#define GICR_IGROUPR0	0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define GICR_IPRIORITYR 0x0400
#define GICR_MAX_FRAMES 64
#define GIC_POLL_LIMIT	1000000
#define IRQ_PRIO	0x80

static bool poll_clear(uintptr_t reg, uint32_t bits)
{
	for (unsigned i = 0; i < GIC_POLL_LIMIT; i++)
		if (!(mmio_read32(reg) & bits))
			return true;
	return false;
}

void gic_dist_init(void)
{
	/* ARE must be set while the groups are disabled, then enable Group 1. */
	mmio_write32(GICD_BASE + GICD_CTLR, GICD_CTLR_ARE);
	poll_clear(GICD_BASE + GICD_CTLR, GICD_CTLR_RWP);
	mmio_write32(GICD_BASE + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
	poll_clear(GICD_BASE + GICD_CTLR, GICD_CTLR_RWP);
}

static uintptr_t redist_of(uint64_t mpidr)
{
	uint64_t aff = mpidr_aff(mpidr);
	uintptr_t rd = GICR_BASE;

	for (unsigned i = 0; i < GICR_MAX_FRAMES; i++, rd += GICR_STRIDE) {
		uint64_t typer = mmio_read64(rd + GICR_TYPER);

		if ((typer >> 32) == aff)
			return rd;
		if (typer & GICR_TYPER_LAST)
			break;
	}
	return 0;
}

static uintptr_t find_redist(void)
{
	return redist_of(read_sysreg(mpidr_el1));
}

static bool redist_init(uintptr_t rd)
{
	uintptr_t sgi = rd + GICR_SGI;
	uint32_t mask = 1U << SGI_PING | 1U << SGI_PONG | 1U << SGI_KICK | 1U << SGI_FLAG |
			1U << SGI_BURST | 1U << TIMER_PPI;

	mmio_write32(rd + GICR_WAKER, mmio_read32(rd + GICR_WAKER) & ~WAKER_PSLEEP);
	if (!poll_clear(rd + GICR_WAKER, WAKER_CASLEEP))
		return false;
	/* Start from a clean state: on a CPU_ON restart old enables remain. */
	mmio_write32(sgi + GICR_ICENABLER0, ~mask);
	poll_clear(rd + GICR_CTLR, GICR_CTLR_RWP);
	mmio_write32(sgi + GICR_IGROUPR0, 0xffffffffU);
	for (unsigned i = 0; i < 8; i++)
		mmio_write32(sgi + GICR_IPRIORITYR + 4 * i, IRQ_PRIO * 0x01010101U);
	mmio_write32(sgi + GICR_ISENABLER0, mask);
	return true;
}

static void cpu_if_init(void)
{
	write_sysreg(icc_sre_el1, read_sysreg(icc_sre_el1) | 1); /* SRE: system registers */
	isb();
	write_sysreg(icc_pmr_el1, 0xff);
	write_sysreg(icc_bpr1_el1, 0);
	write_sysreg(icc_ctlr_el1, 0); /* EOImode 0: EOIR also deactivates */
	write_sysreg(icc_igrpen1_el1, 1);
	isb();
}

bool gic_cpu_init(void)
{
	uintptr_t rd = find_redist();

	if (!rd || !redist_init(rd))
		return false;
	cpu_if_init();
	return true;
}

uintptr_t gic_redist(void)
{
	return find_redist();
}

void gic_send_sgi(unsigned intid, uint64_t mpidr)
{
	uint64_t v = ((mpidr >> 32) & 0xff) << 48 |				   /* Aff3 */
		     ((mpidr >> 16) & 0xff) << 32 |				   /* Aff2 */
		     (uint64_t)(intid & 0xf) << 24 | ((mpidr >> 8) & 0xff) << 16 | /* Aff1 */
		     (1U << (mpidr & 0xf)); /* target list: Aff0 < 16 */

	dsb(); /* the flags the receiver will read are written first */
	write_sysreg(icc_sgi1r_el1, v);
	isb();
}

uint32_t gic_ack(void)
{
	uint32_t intid = (uint32_t)read_sysreg(icc_iar1_el1) & 0xffffff;

	dsb();
	return intid;
}

void gic_eoi(uint32_t intid)
{
	write_sysreg(icc_eoir1_el1, intid);
	isb();
}

/* An SPI as Group 1, routed to the CPU with this MPIDR, enabled (32-bit
 * accesses only: IROUTER in halves, priority by read-modify-write). */
void gic_enable_spi(unsigned intid, uint64_t mpidr)
{
	uintptr_t word = 4 * (intid / 32), prio = GICD_BASE + GICD_IPRIORITYR + (intid & ~3U);
	uint32_t bit = 1U << (intid % 32), shift = 8 * (intid % 4);
	uint64_t aff = mpidr_aff(mpidr);

	mmio_write32(GICD_BASE + GICD_IGROUPR + word,
		     mmio_read32(GICD_BASE + GICD_IGROUPR + word) | bit);
	mmio_write32(prio, (mmio_read32(prio) & ~(0xffU << shift)) | (uint32_t)IRQ_PRIO << shift);
	mmio_write32(GICD_BASE + GICD_IROUTER + 8 * intid, (uint32_t)aff);
	mmio_write32(GICD_BASE + GICD_IROUTER + 8 * intid + 4, (uint32_t)(aff >> 32));
	mmio_write32(GICD_BASE + GICD_ISENABLER + word, bit);
}

void gic_enable_private(uint32_t mask)
{
	uintptr_t rd = find_redist();

	if (rd)
		mmio_write32(rd + GICR_SGI + GICR_ISENABLER0, mask);
}

/* The priority of SGI/PPI intid of the CPU with this MPIDR (its
 * redistributor, by 32-bit read-modify-write). */
void gic_set_priority_of(unsigned intid, uint64_t mpidr, uint8_t prio)
{
	uintptr_t rd = redist_of(mpidr), reg = rd + GICR_SGI + GICR_IPRIORITYR + (intid & 28);
	unsigned shift = 8 * (intid & 3);

	if (rd && intid < 32)
		mmio_write32(reg, (mmio_read32(reg) & ~(0xffU << shift)) | (uint32_t)prio << shift);
}

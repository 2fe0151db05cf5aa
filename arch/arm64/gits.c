/*
 * The physical GICv3 ITS, for MSIs of devices assigned to partitions
 * (kernel/vm/msi.c): LPIs on in every online CPU's redistributor, one
 * collection per CPU, and events mapped one by one to LPIs tessera takes
 * at EL2. Set up on first use (gits_init), not at boot, so a machine that
 * never assigns a device never touches its ITS.
 *
 * Memory (gits_init's block, zeroed, 64 KiB aligned): the LPI
 * configuration table, one pending table per CPU, the device and
 * collection tables (one 64 KiB page each, flat), the command queue
 * (64 KiB) and the ITTs (GITS_ITT_BYTES per device). Everything is
 * cleaned from the data cache after it is written, so a non-coherent ITS
 * sees it too.
 */
#include "arch/arm64/arch.h"
#include "lib/lock.h"
#include <errno.h>
#include <string.h>

#define GITS_CTLR    0x0000
#define GITS_TYPER   0x0008
#define GITS_CBASER  0x0080
#define GITS_CWRITER 0x0088
#define GITS_CREADR  0x0090
#define GITS_BASER   0x0100
#define GICR_CTLR    0x0000
#define GICR_TYPER   0x0008
#define GICR_PROPB   0x0070
#define GICR_PENDB   0x0078
#define CTLR_LPIS    BIT(0)
#define LPI_IDBITS   14u /* INTIDs below 16384 */
#define LPI_PRIO     0xa0u
#define EVBITS	     5u /* events per device: 32 */
#define SZ_64K	     0x10000ull
#define CMDQ_BYTES   SZ_64K
#define ITT_BYTES    0x1000ull
#define MAX_DEVS     16u
/* InnerShareable, inner write-back read/write-allocate */
#define ATTR_SHARE	(1ull << 10)
#define ATTR_ICACHE	(7ull << 7) /* GICR_PROPBASER/PENDBASER InnerCache [9:7]: RaWaWb */
#define ATTR_ICACHE_ITS (7ull << 59)

enum { OFF_PROP = 0, OFF_PEND = 1, /* then MAX_CPUS pending tables */ };

static struct {
	struct spinlock lock;
	bool ready;
	uintptr_t base, mem;
	uint64_t typer;
	unsigned ite_size, dte_size; /* bytes per ITT / device table entry */
	uintptr_t prop, devt, collt, cmdq, itts;
	uint64_t cwriter;
	uint32_t devs[MAX_DEVS]; /* DeviceIDs mapped (MAPD), in ITT order */
	unsigned ndevs;
	uint8_t lpi_used[(1u << LPI_IDBITS) / 8];
} its;

static void clean(uintptr_t va, size_t n)
{
	dcache_clean_range(va, n);
}

/* Queues one command and waits until the ITS has read it. */
static int cmd(uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
	uint64_t *q = (uint64_t *)(its.cmdq + its.cwriter);
	q[0] = d0, q[1] = d1, q[2] = d2, q[3] = d3;
	clean((uintptr_t)q, 32);
	dsb(ish);
	its.cwriter = (its.cwriter + 32) % CMDQ_BYTES;
	mmio_write64(its.base + GITS_CWRITER, its.cwriter);
	for (unsigned i = 0; i < 10000000; i++) {
		uint64_t r = mmio_read64(its.base + GITS_CREADR);
		if (r & 1)
			return -EIO; /* stalled: a command error */
		if ((r & 0xfffe0) == its.cwriter)
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

/* RDbase of CPU c: its redistributor's address (PTA) or its number */
static uint64_t rdbase(unsigned c)
{
	uintptr_t r = percpu_data[c].gicr;
	if (its.typer & BIT(19))
		return r >> 16;
	return (mmio_read64(r + GICR_TYPER) >> 8) & 0xffff;
}

static int sync_cpu(unsigned c)
{
	return cmd(0x05, 0, rdbase(c) << 16, 0);
}

static int tables(void)
{
	for (unsigned n = 0; n < 8; n++) {
		uintptr_t reg = its.base + GITS_BASER + 8 * n;
		uint64_t b = mmio_read64(reg), type = (b >> 56) & 7;
		if (type != 1 && type != 4)
			continue;
		uint64_t pa = type == 1 ? its.devt : its.collt;
		if (type == 1)
			its.dte_size = (unsigned)((b >> 48) & 0x1f) + 1;
		/* 64 KiB pages (PageSize 2), one of them */
		uint64_t v = BIT(63) | (b & (7ull << 56 | 0x1full << 48)) | ATTR_ICACHE_ITS | pa |
			     ATTR_SHARE | 2ull << 8;
		mmio_write64(reg, v);
		if (!(mmio_read64(reg) & BIT(63)) || ((mmio_read64(reg) >> 8) & 3) != 2)
			return -ENOTSUP;
	}
	mmio_write64(its.base + GITS_CBASER,
		     BIT(63) | ATTR_ICACHE_ITS | its.cmdq | ATTR_SHARE | (CMDQ_BYTES / 0x1000 - 1));
	mmio_write64(its.base + GITS_CWRITER, 0);
	its.cwriter = 0;
	return 0;
}

/* LPIs on in every online CPU's redistributor, from this CPU. */
static int redists(void)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		uintptr_t r = percpu_data[c].gicr;
		if (!percpu_data[c].online || !r)
			continue;
		if (mmio_read32(r + GICR_CTLR) & CTLR_LPIS)
			return -EBUSY; /* firmware left them on: tables fixed */
		uintptr_t pend = its.mem + (OFF_PEND + c) * SZ_64K;
		mmio_write64(r + GICR_PROPB,
			     its.prop | ATTR_SHARE | ATTR_ICACHE | (LPI_IDBITS - 1));
		mmio_write64(r + GICR_PENDB, pend | ATTR_SHARE | ATTR_ICACHE);
		dsb(ish);
		mmio_write32(r + GICR_CTLR, mmio_read32(r + GICR_CTLR) | CTLR_LPIS);
		if (!(mmio_read32(r + GICR_CTLR) & CTLR_LPIS))
			return -EIO;
	}
	return 0;
}

int gits_init(uint64_t its_pa, uintptr_t mem, size_t size)
{
	if (size < GITS_MEM_SIZE || (mem & (SZ_64K - 1)))
		return -EINVAL;
	uint64_t flags = spin_lock_irqsave(&its.lock);
	int e = 0;
	if (its.ready)
		goto out;
	its.base = el2_map_device(its_pa, 0x20000);
	if (!its.base) {
		e = -ENOMEM;
		goto out;
	}
	memset((void *)mem, 0, size);
	its.mem = mem;
	its.prop = mem + OFF_PROP * SZ_64K;
	its.devt = mem + (OFF_PEND + MAX_CPUS) * SZ_64K;
	its.collt = its.devt + SZ_64K;
	its.cmdq = its.collt + SZ_64K;
	its.itts = its.cmdq + CMDQ_BYTES;
	clean(mem, size);
	its.typer = mmio_read64(its.base + GITS_TYPER);
	its.ite_size = (unsigned)((its.typer >> 4) & 0xf) + 1;
	if ((its.ite_size << EVBITS) > ITT_BYTES) {
		e = -ENOTSUP;
		goto out;
	}
	mmio_write32(its.base + GITS_CTLR, 0);
	e = tables();
	if (!e)
		e = redists();
	if (e)
		goto out;
	mmio_write32(its.base + GITS_CTLR, 1);
	for (unsigned c = 0; c < MAX_CPUS && !e; c++)
		if (percpu_data[c].online && percpu_data[c].gicr) {
			e = cmd(0x09, 0, c | rdbase(c) << 16 | BIT(63), 0); /* MAPC icid = c */
			if (!e)
				e = sync_cpu(c);
		}
	its.ready = !e;
out:
	spin_unlock_irqrestore(&its.lock, flags);
	return e;
}

bool gits_ready(void)
{
	return __atomic_load_n(&its.ready, __ATOMIC_ACQUIRE);
}

static int dev_index(uint32_t devid, bool map)
{
	for (unsigned i = 0; i < its.ndevs; i++)
		if (its.devs[i] == devid)
			return (int)i;
	if (!map)
		return -ENOENT;
	if (its.ndevs == MAX_DEVS || !its.dte_size || devid >= SZ_64K / its.dte_size)
		return -ENOSPC;
	uint64_t itt = its.itts + its.ndevs * ITT_BYTES;
	int e = cmd(0x08 | (uint64_t)devid << 32, EVBITS - 1, itt | BIT(63), 0); /* MAPD */
	if (e)
		return e;
	its.devs[its.ndevs] = devid;
	return (int)its.ndevs++;
}

int gits_map(uint32_t devid, uint32_t eventid, unsigned cpu)
{
	if (eventid >> EVBITS || cpu >= MAX_CPUS || !percpu_data[cpu].online)
		return -EINVAL;
	uint64_t flags = spin_lock_irqsave(&its.lock);
	int e = its.ready ? dev_index(devid, true) : -ENODEV;
	unsigned lpi = 0;
	for (unsigned n = 0; e >= 0 && n < (1u << LPI_IDBITS) - 8192u && !lpi; n++)
		if (!(its.lpi_used[n / 8] & BIT(n % 8)))
			lpi = 8192 + n;
	if (e >= 0 && !lpi)
		e = -ENOSPC;
	if (e >= 0) {
		uint8_t *cfg = (uint8_t *)its.prop + (lpi - 8192);
		*cfg = LPI_PRIO | 1;
		clean((uintptr_t)cfg, 1);
		dsb(ish);
		e = cmd(0x0a | (uint64_t)devid << 32, eventid | (uint64_t)lpi << 32, cpu,
			0); /* MAPTI */
		if (!e)
			e = cmd(0x0c | (uint64_t)devid << 32, eventid, 0, 0); /* INV */
		if (!e)
			e = sync_cpu(cpu);
		if (!e)
			its.lpi_used[(lpi - 8192) / 8] |= (uint8_t)BIT((lpi - 8192) % 8);
	}
	spin_unlock_irqrestore(&its.lock, flags);
	return e < 0 ? e : (int)lpi;
}

int gits_unmap(uint32_t devid, uint32_t eventid, unsigned lpi)
{
	uint64_t flags = spin_lock_irqsave(&its.lock);
	int e = its.ready ? dev_index(devid, false) : -ENODEV;
	if (e >= 0)
		e = cmd(0x0f | (uint64_t)devid << 32, eventid, 0, 0); /* DISCARD */
	if (e >= 0 && lpi >= 8192 && lpi < (1u << LPI_IDBITS)) {
		*((uint8_t *)its.prop + (lpi - 8192)) = 0;
		clean(its.prop + (lpi - 8192), 1);
		its.lpi_used[(lpi - 8192) / 8] &= (uint8_t)~BIT((lpi - 8192) % 8);
	}
	spin_unlock_irqrestore(&its.lock, flags);
	return e < 0 ? e : 0;
}

int gits_int(uint32_t devid, uint32_t eventid)
{
	uint64_t flags = spin_lock_irqsave(&its.lock);
	int e = its.ready ? dev_index(devid, false) : -ENODEV;
	if (e >= 0)
		e = cmd(0x03 | (uint64_t)devid << 32, eventid, 0, 0); /* INT */
	spin_unlock_irqrestore(&its.lock, flags);
	return e < 0 ? e : 0;
}

/*
 * mode=its: the GICv3 ITS at 0x08080000 (QEMU virt's, and tessera's with
 * the partition property `its`), checked the way kvm-unit-tests' its tests
 * do. Introspection: GITS_IIDR and GITS_TYPER read-only, ID bits, BASER
 * types. Trigger: MAPD/MAPC/MAPTI, then INT reaches the collection's vCPU
 * and no other, a disabled LPI stays away until INV/INVALL enable it,
 * CLEAR drops a pending one, MOVI moves it, DISCARD unmaps it. Each check
 * prints "TGUEST-ITS ok|FAIL name" and the run ends with
 * "TGUEST-ITS-DONE pass=N fail=M".
 *
 * mode=itsscribble: the same setup, then random writes over its own
 * command queue, ITS tables and LPI tables and random commands (the
 * containment test): it prints TGUEST-ITS-SCRIBBLE rounds=N and keeps going
 * until the host stops it, a heartbeat every 100 rounds.
 *
 * mode=itsbench: what an LPI costs from the INT command to the guest's
 * handler, to vCPU 0 itself and to vCPU 1 (waiting in WFI), 4096 times
 * each: "TGUEST-ITS-BENCH int_self=<ps> int_other=<ps>" per iteration
 * (under -icount shift=0: instructions of all vCPUs times 1000), for
 * bench.py its_latency to compare with bare QEMU's ITS.
 *
 * mode=itswait: the same mappings plus event 3 -> LPI 8195 on vCPU 1,
 * then "TGUEST-ITS-WAIT ready" and one "TGUEST-ITS-WAIT lpi=N cpu=C
 * count=K" per LPI taken, for MSIs the host raises (the msi test command).
 *
 * Tables live at RAM + 32 MiB (the partition needs 64 MiB or more).
 */
#include "tguest.h"

#define GITS_BASE     0x08080000UL
#define GITS_CTLR     0x0000
#define GITS_IIDR     0x0004
#define GITS_TYPER    0x0008
#define GITS_CBASER   0x0080
#define GITS_CWRITER  0x0088
#define GITS_CREADR   0x0090
#define GITS_BASER(n) (0x0100 + 8 * (n))
#define GICD_TYPER    0x0004
#define GICR_CTLR     0x0000
#define GICR_TYPER    0x0008
#define GICR_PROPBASE 0x0070
#define GICR_PENDBASE 0x0078
#define LPI_BASE      8192U
#define LPI_IDBITS    14U /* INTIDs below 16384: an 8 KiB configuration table */
#define NLPIS	      8U
#define DEVID	      2U
#define LPI_PRIO      0xa0U

#define AREA	(RAM_BASE + (32UL << 20))
#define PROP	(AREA + 0x000000)		/* 8 KiB */
#define PEND(c) (AREA + 0x010000 + (c)*0x10000) /* 64 KiB aligned, 2 KiB used */
#define CMDQ	(AREA + 0x100000)		/* 4 KiB: 128 commands */
#define DEVT	(AREA + 0x110000)		/* 64 KiB */
#define COLT	(AREA + 0x120000)		/* 64 KiB */
#define ITT	(AREA + 0x130000)		/* 4 KiB */
#define CMDQ_SZ 0x1000U

static volatile uint32_t lpi_hits[MAX_CPUS][NLPIS];
static unsigned passes, fails, ncmd;
static bool pta; /* GITS_TYPER.PTA: RDbase is an address, not a number */

static inline void mmio_write64(uintptr_t a, uint64_t v)
{
	__asm__ volatile("str %0, [%1]" ::"r"(v), "r"(a) : "memory");
}

bool its_irq(uint32_t intid)
{
	if (intid < LPI_BASE)
		return false;
	if (intid < LPI_BASE + NLPIS)
		lpi_hits[this_cpu()][intid - LPI_BASE]++;
	sev();
	return true;
}

static void check(bool ok, const char *name)
{
	tg_printf("TGUEST-ITS %s %s\n", ok ? "ok" : "FAIL", name);
	if (ok)
		passes++;
	else
		fails++;
}

static void set_prop(unsigned lpi, uint8_t v)
{
	*(volatile uint8_t *)(PROP + lpi - LPI_BASE) = v;
	dsb();
}

/* RDbase of vCPU c as the ITS wants it (bits [51:16] of the command) */
static uint64_t rdbase(unsigned c)
{
	uintptr_t rd = GICR_BASE;
	for (unsigned i = 0; i < 64; i++, rd += GICR_STRIDE) {
		uint64_t t = mmio_read64(rd + GICR_TYPER);
		if ((t >> 32) == mpidr_aff(dt.mpidr[c]))
			return pta ? rd >> 16 : (t >> 8) & 0xffff;
		if (t & (1U << 4))
			break;
	}
	return 0;
}

static uintptr_t redist(unsigned c)
{
	uintptr_t rd = GICR_BASE;
	for (unsigned i = 0; i < 64; i++, rd += GICR_STRIDE) {
		uint64_t t = mmio_read64(rd + GICR_TYPER);
		if ((t >> 32) == mpidr_aff(dt.mpidr[c]))
			return rd;
		if (t & (1U << 4))
			break;
	}
	return 0;
}

/* Queues one command and waits (bounded) for the ITS to read it. */
static bool cmd(uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
	volatile uint64_t *q = (volatile uint64_t *)(CMDQ + (ncmd % (CMDQ_SZ / 32)) * 32);
	q[0] = d0, q[1] = d1, q[2] = d2, q[3] = d3;
	ncmd++;
	dsb();
	uint64_t w = (ncmd % (CMDQ_SZ / 32)) * 32;
	mmio_write64(GITS_BASE + GITS_CWRITER, w);
	for (unsigned i = 0; i < 1000000; i++) {
		uint64_t r = mmio_read64(GITS_BASE + GITS_CREADR);
		if ((r & 0xfffe0) == w)
			return true;
		if (r & 1)
			return false; /* stalled */
	}
	return false;
}
static bool sync_cmd(unsigned c)
{
	return cmd(0x05, 0, rdbase(c) << 16, 0);
}
static bool mapd(unsigned dev, unsigned bits, uint64_t itt)
{
	return cmd(0x08 | (uint64_t)dev << 32, bits - 1, itt | 1UL << 63, 0);
}
static bool mapc(unsigned icid, unsigned c)
{
	return cmd(0x09, 0, icid | rdbase(c) << 16 | 1UL << 63, 0);
}
static bool mapti(unsigned dev, unsigned ev, unsigned lpi, unsigned icid)
{
	return cmd(0x0a | (uint64_t)dev << 32, ev | (uint64_t)lpi << 32, icid, 0);
}
static bool evcmd(unsigned op, unsigned dev, unsigned ev, unsigned icid)
{
	return cmd(op | (uint64_t)dev << 32, ev, icid, 0);
}
#define CMD_MOVI    0x01
#define CMD_INT	    0x03
#define CMD_CLEAR   0x04
#define CMD_INV	    0x0c
#define CMD_INVALL  0x0d
#define CMD_DISCARD 0x0f

static uint32_t hits(unsigned c, unsigned ev)
{
	return lpi_hits[c][ev];
}
/* Waits up to ms for vCPU c's count of LPI ev to reach want. */
static bool arrives(unsigned c, unsigned ev, uint32_t want, unsigned ms)
{
	return wait_until(&lpi_hits[c][ev], want, timer_freq() / 1000 * ms);
}

static bool other_cpu_up(unsigned t)
{
	uint32_t boots = cpus[t].boots;
	return !hvc_call(PSCI_CPU_ON, dt.mpidr[t], (uintptr_t)secondary_entry, t) &&
	       wait_until(&cpus[t].boots, boots + 1, timer_freq());
}

static void introspection(void)
{
	uint32_t dtyper = mmio_read32(GICD_BASE + GICD_TYPER);
	check(dtyper & (1U << 17), "gicd-typer-lpis");
	check(((dtyper >> 19) & 0x1f) + 1 >= LPI_IDBITS, "gicd-typer-idbits");
	check(mmio_read64(redist(0) + GICR_TYPER) & 1, "gicr-typer-plpis");
	uint32_t iidr = mmio_read32(GITS_BASE + GITS_IIDR);
	mmio_write32(GITS_BASE + GITS_IIDR, ~iidr);
	check(mmio_read32(GITS_BASE + GITS_IIDR) == iidr, "iidr-read-only");
	uint64_t typer = mmio_read64(GITS_BASE + GITS_TYPER);
	mmio_write64(GITS_BASE + GITS_TYPER, ~typer);
	check(mmio_read64(GITS_BASE + GITS_TYPER) == typer, "typer-read-only");
	unsigned evbits = ((typer >> 8) & 0x1f) + 1, devbits = ((typer >> 13) & 0x1f) + 1;
	unsigned ite = ((typer >> 4) & 0xf) + 1;
	pta = typer & (1U << 19);
	tg_printf("TGUEST-ITS typer=0x%lx iidr=0x%x evbits=%u devbits=%u ite=%u pta=%u\n", typer,
		  iidr, evbits, devbits, ite, pta);
	check((typer & 1) && evbits >= 4 && devbits >= 4 && ite >= 4, "typer-id-bits");
	bool dev = false, coll = false;
	for (unsigned n = 0; n < 8; n++) {
		unsigned type = (unsigned)(mmio_read64(GITS_BASE + GITS_BASER(n)) >> 56) & 7;
		dev |= type == 1;
		coll |= type == 4;
	}
	check(dev && coll, "baser-types");
}

/* Tables, LPIs on in every redistributor, the ITS on. */
static bool setup(void)
{
	for (uint64_t *p = (uint64_t *)AREA; p < (uint64_t *)(ITT + 0x1000); p++)
		*p = 0;
	for (unsigned i = 0; i < NLPIS; i++)
		set_prop(LPI_BASE + i, LPI_PRIO | 1);
	for (unsigned n = 0; n < 8; n++) {
		uint64_t b = mmio_read64(GITS_BASE + GITS_BASER(n)), type = (b >> 56) & 7;
		if (type == 1 || type == 4) /* 4 KiB pages, 16 of them */
			mmio_write64(GITS_BASE + GITS_BASER(n),
				     1UL << 63 | (b & (7UL << 56 | 0x1fUL << 48)) |
					 (type == 1 ? DEVT : COLT) | 15);
	}
	mmio_write64(GITS_BASE + GITS_CBASER, 1UL << 63 | CMDQ);
	mmio_write64(GITS_BASE + GITS_CWRITER, 0);
	for (unsigned c = 0; c < dt.ncpus && c < 2; c++) {
		uintptr_t rd = redist(c);
		mmio_write64(rd + GICR_PROPBASE, PROP | (LPI_IDBITS - 1));
		mmio_write64(rd + GICR_PENDBASE, PEND(c));
		mmio_write32(rd + GICR_CTLR, 1);
		if (!(mmio_read32(rd + GICR_CTLR) & 1))
			return false;
	}
	mmio_write32(GITS_BASE + GITS_CTLR, 1);
	return (mmio_read32(GITS_BASE + GITS_CTLR) & 1) && mapd(DEVID, 4, ITT) && mapc(0, 0) &&
	       mapc(1, 1) && mapti(DEVID, 0, LPI_BASE, 0) && mapti(DEVID, 1, LPI_BASE + 1, 1) &&
	       mapti(DEVID, 2, LPI_BASE + 2, 0) && cmd(CMD_INVALL, 0, 0, 0) &&
	       cmd(CMD_INVALL, 0, 1, 0) && sync_cmd(0) && sync_cmd(1);
}

static void trigger(void)
{
	/* INT reaches the collection's vCPU, and only it */
	evcmd(CMD_INT, DEVID, 0, 0);
	check(arrives(0, 0, 1, 500) && hits(1, 0) == 0, "int-cpu0");
	evcmd(CMD_INT, DEVID, 1, 0);
	check(arrives(1, 1, 1, 500) && hits(0, 1) == 0, "int-cpu1");
	/* disabled: pending but not delivered until INV enables it */
	set_prop(LPI_BASE, LPI_PRIO);
	evcmd(CMD_INV, DEVID, 0, 0);
	evcmd(CMD_INT, DEVID, 0, 0);
	check(!arrives(0, 0, 2, 100) && hits(1, 0) == 0, "disabled-not-delivered");
	set_prop(LPI_BASE, LPI_PRIO | 1);
	evcmd(CMD_INV, DEVID, 0, 0);
	check(arrives(0, 0, 2, 500), "inv-enables");
	/* the same through INVALL on vCPU 1's collection */
	set_prop(LPI_BASE + 1, LPI_PRIO);
	cmd(CMD_INVALL, 0, 1, 0);
	evcmd(CMD_INT, DEVID, 1, 0);
	check(!arrives(1, 1, 2, 100), "invall-disables");
	set_prop(LPI_BASE + 1, LPI_PRIO | 1);
	cmd(CMD_INVALL, 0, 1, 0);
	check(arrives(1, 1, 2, 500) && hits(0, 1) == 0, "invall-enables");
	/* CLEAR drops a pending (disabled) one */
	set_prop(LPI_BASE + 2, LPI_PRIO);
	evcmd(CMD_INV, DEVID, 2, 0);
	evcmd(CMD_INT, DEVID, 2, 0);
	evcmd(CMD_CLEAR, DEVID, 2, 0);
	set_prop(LPI_BASE + 2, LPI_PRIO | 1);
	evcmd(CMD_INV, DEVID, 2, 0);
	check(!arrives(0, 2, 1, 100) && hits(1, 2) == 0, "clear");
	/* MOVI: event 0 to collection 1 (vCPU 1) */
	evcmd(CMD_MOVI, DEVID, 0, 1);
	sync_cmd(0);
	uint32_t before0 = hits(0, 0);
	evcmd(CMD_INT, DEVID, 0, 0);
	check(arrives(1, 0, 1, 500) && hits(0, 0) == before0, "movi");
	/* DISCARD: unmapped, INT raises nothing */
	evcmd(CMD_DISCARD, DEVID, 1, 0);
	uint32_t before1 = hits(1, 1);
	evcmd(CMD_INT, DEVID, 1, 0);
	check(!arrives(1, 1, before1 + 1, 100) && hits(0, 1) == 0, "discard");
}

void run_its(void)
{
	unsigned t = boot_cpu == 0 ? 1 : 0;
	if (boot_cpu != 0 || dt.ncpus < 2 || !other_cpu_up(t)) {
		tg_printf("TGUEST-ITS-DONE pass=0 fail=1 (needs 2 vCPUs, booted on vCPU0)\n");
		return;
	}
	introspection();
	bool ok = setup();
	check(ok, "setup");
	if (ok)
		trigger();
	tg_printf("TGUEST-ITS-DONE pass=%u fail=%u\n", passes, fails);
}

static uint64_t rnd(void)
{
	static uint64_t s = 0x2545f4914f6cdd1dUL;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

/* Random words over the queue, the ITS and LPI tables, random commands,
 * random CWRITER and BASER values; between rounds a real INT to check
 * that this guest still runs. Never returns. */
void __attribute__((noreturn)) run_its_scribble(void)
{
	unsigned t = boot_cpu == 0 ? 1 : 0;
	if (dt.ncpus >= 2)
		other_cpu_up(t);
	bool ok = setup();
	tg_printf("TGUEST-ITS-SCRIBBLE setup=%s\n", ok ? "ok" : "failed");
	static const uintptr_t areas[] = {CMDQ, DEVT, COLT, ITT, PROP, PEND(0)};
	for (unsigned round = 0;; round++) {
		for (unsigned i = 0; i < 64; i++) {
			uintptr_t a = areas[rnd() % 6] + (rnd() % 0x1000 & ~7UL);
			*(volatile uint64_t *)a = rnd();
		}
		dsb();
		/* a plausible command (a real opcode, small IDs) among the noise */
		static const uint8_t ops[] = {1, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};
		volatile uint64_t *q = (volatile uint64_t *)(CMDQ + (rnd() % (CMDQ_SZ / 32)) * 32);
		q[0] = ops[rnd() % sizeof(ops)] | (rnd() % 4) << 32;
		q[1] = (rnd() % 16) | (uint64_t)(LPI_BASE + rnd() % 64) << 32;
		q[2] = rnd() % 2 ? rnd() : (rnd() % 4) | (rnd() % 3) << 16 | 1UL << 63;
		dsb();
		switch (rnd() % 4) {
		case 0:
			mmio_write64(GITS_BASE + GITS_CWRITER, rnd() & 0xfffe1);
			break;
		case 1:
			mmio_write64(GITS_BASE + GITS_BASER(rnd() % 2), rnd());
			break;
		case 2: /* half the time a good queue, so the random commands run */
			mmio_write32(GITS_BASE + GITS_CTLR, 0);
			mmio_write64(GITS_BASE + GITS_CBASER,
				     rnd() % 2 ? rnd() : 1UL << 63 | CMDQ | rnd() % 2);
			mmio_write32(GITS_BASE + GITS_CTLR, 1);
			break;
		default:
			mmio_write64(redist(0) + GICR_PROPBASE, rnd());
			mmio_write32(redist(0) + GICR_CTLR, (uint32_t)rnd() & 1);
			break;
		}
		if (round % 100 == 0)
			tg_printf("TGUEST-ITS-SCRIBBLE rounds=%u\n", round);
	}
}

#define BENCH_ITERS 4096U

/* INT for event ev, then wait for vCPU c's handler; the queue is not
 * polled (CWRITER alone hands the command over). */
static uint64_t bench_row(unsigned c, unsigned ev)
{
	uint64_t t0 = now();
	for (unsigned i = 0; i < BENCH_ITERS; i++) {
		uint32_t was = lpi_hits[c][ev];
		volatile uint64_t *q = (volatile uint64_t *)(CMDQ + (ncmd % (CMDQ_SZ / 32)) * 32);
		q[0] = CMD_INT | (uint64_t)DEVID << 32, q[1] = ev, q[2] = 0, q[3] = 0;
		ncmd++;
		dsb();
		mmio_write64(GITS_BASE + GITS_CWRITER, (ncmd % (CMDQ_SZ / 32)) * 32);
		while (lpi_hits[c][ev] == was)
			__asm__ volatile("yield" ::: "memory");
	}
	return now() - t0;
}

void run_its_bench(void)
{
	unsigned t = boot_cpu == 0 ? 1 : 0;
	if (boot_cpu != 0 || dt.ncpus < 2 || !other_cpu_up(t) || !setup()) {
		tg_printf("TGUEST-ITS-BENCH FAIL: setup\n");
		return;
	}
	uint64_t self = bench_row(0, 0), other = bench_row(1, 1);
	uint64_t f = timer_freq();
	tg_printf("TGUEST-ITS-BENCH int_self=%lu int_other=%lu\n",
		  self * 1000000 / BENCH_ITERS * 1000000 / f,
		  other * 1000000 / BENCH_ITERS * 1000000 / f);
}

/* For mode=edumsi (edu.c): the ITS set up as above, plus guest DeviceID
 * dev's event 0 -> LPI 8196 on vCPU 0 (its own ITT after DEVID's). */
bool its_msi_setup(unsigned dev)
{
	return setup() && mapd(dev, 4, ITT + 0x800) && mapti(dev, 0, LPI_BASE + 4, 0) &&
	       sync_cmd(0);
}

uint32_t its_lpi_hits(unsigned c, unsigned lpi)
{
	return lpi >= LPI_BASE && lpi < LPI_BASE + NLPIS ? lpi_hits[c][lpi - LPI_BASE] : 0;
}

void __attribute__((noreturn)) run_its_wait(void)
{
	static uint32_t seen[MAX_CPUS][NLPIS];
	unsigned t = boot_cpu == 0 ? 1 : 0;
	bool ok = boot_cpu == 0 && dt.ncpus >= 2 && other_cpu_up(t) && setup() &&
		  mapti(DEVID, 3, LPI_BASE + 3, 1) && sync_cmd(1);
	tg_printf("TGUEST-ITS-WAIT %s\n", ok ? "ready" : "setup failed");
	for (;;) {
		for (unsigned c = 0; c < 2; c++)
			for (unsigned ev = 0; ev < NLPIS; ev++)
				if (lpi_hits[c][ev] != seen[c][ev]) {
					seen[c][ev] = lpi_hits[c][ev];
					tg_printf("TGUEST-ITS-WAIT lpi=%u cpu=%u count=%u\n",
						  LPI_BASE + ev, c, seen[c][ev]);
				}
		wfe();
	}
}

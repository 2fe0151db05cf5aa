/*
 * mode=storm and mode=probe: an interrupt storm beside a periodic timer
 * (issue 8: a flood may delay another vCPU's timer by one slice at most,
 * and another partition not at all). tests/qemu/run_tests.py irq_storm
 * reads the lines both print.
 *
 * mode=storm, 2 vCPUs. vCPU1 arms its virtual timer every tguest.tick_us
 * (default 1000) and records how late each expiry is taken (CNTVCT in the
 * handler minus CVAL), spinning with IRQs on in between. vCPU0 runs five
 * phases of tguest.phase_ms (default 300) each:
 *   quiet:    it spins reading the counter (busy, nothing sent);
 *   flood_hi: it sends SGIs 8-15 to vCPU1 through ICC_SGI1R_EL1 and pends
 *             SPIs 40-47 (routed to vCPU1) through GICD_ISPENDR, as fast as
 *             it can, with vCPU1's timer one priority step above them
 *             (tguest.sgis=N and tguest.spis=N flood with fewer);
 *   flood:    the same with the timer at the flood's priority (a tie);
 *   after:    quiet again (the flood's aftermath);
 *   reprio:   it rewrites the priority of vCPU1's timer (GICR_IPRIORITYR)
 *             back and forth between two values above the flood's and
 *             sends one flood SGI each time, while vCPU1 may be in the
 *             timer's handler (a guest may reconfigure another CPU's
 *             interrupts at any time).
 * tguest.skip=<mask> leaves phase n out for bit n. Elsewhere vCPU1 sets
 * its timer's priority itself, from another interrupt's handler or its
 * loop, so the timer is never active while it changes. Each phase ends
 * with a TGUEST-STORM line: what was sent, what vCPU1 took, its timer's
 * worst and mean lateness (an expiry still not taken counts as late as it
 * is by then) and the most flood interrupts it took while its timer was
 * overdue. Then TGUEST-STORM-DONE and SYSTEM_OFF. (GICD_SETSPI_NSR is not
 * used: tessera's distributor has no message-based SPIs, GICD_TYPER.MBIS
 * is 0.)
 *
 * mode=probe, 1 vCPU: windows of tguest.window_ms (default 20), each
 * timing a fixed loop over and over with CNTVCT while its own timer ticks
 * every tguest.tick_us, and counting its own instructions with the PMU;
 * one TGUEST-PROBE line per window (steal_ns: see insns_start). It never
 * ends.
 *
 * Every loop yields: under -icount QEMU runs one vCPU at a time until it
 * yields (or an icount budget ends), so yielding interleaves the vCPUs
 * about as finely as parallel hardware runs them.
 */
#include "tguest.h"

#define FLOOD_SGI0  8 /* SGIs 8..15 */
#define FLOOD_NSGI  8
#define FLOOD_SPI0  40 /* SPIs 40..47: GICD_ISPENDR1 bits 8..15 */
#define FLOOD_NSPI  8
#define GICD_ISPEND 0x0200
#define WORK_LOOPS  4096 /* 3 instructions each */
#define PRIO_FLOOD  0x80 /* gic.c gives every interrupt this priority */
#define PRIO_HI	    0x70 /* the timer's in phase flood_hi: one step above */
#define PRIO_HIGHER 0x60 /* and in phase reprio, alternating with PRIO_HI */

enum { QUIET, FLOOD_HI, FLOOD, AFTER, REPRIO, PHASES };
static const char *const phase_names[PHASES] = {"quiet", "flood_hi", "flood", "after", "reprio"};

/* How late a periodic timer's interrupts were taken, over a phase or a
 * window. */
struct lateness {
	volatile uint32_t ticks, skipped;
	volatile uint64_t late_max, late_sum;
	volatile uint32_t overdue_max; /* most flood interrupts taken before one expiry */
};

/* The periodic virtual timer of the vCPU running it. Written by that
 * vCPU's handler, read by vCPU0. */
static struct {
	volatile uint64_t cval, period;
	volatile uint32_t overdue; /* flood interrupts taken since cval passed */
	struct lateness *volatile into;
} ticker;

static struct {
	volatile uint32_t on; /* vCPU1 runs the storm's receiving side */
	volatile uint32_t ready;
	volatile uint32_t phase;
	volatile uint32_t timer_prio; /* vCPU1 sets its timer's priority to this */
	uint32_t timer_prio_set;
	struct lateness lat[PHASES];
	volatile uint32_t sgis[PHASES], spis[PHASES]; /* taken by vCPU1 */
} storm;

static volatile uint32_t probe_on;

#define MIN_U(a, b) ((a) < (b) ? (a) : (b))

static uint64_t ns(uint64_t ticks)
{
	return ticks * 1000000000ull / timer_freq();
}

static uint64_t tick_period(void)
{
	return timer_freq() * arg_uint("tguest.tick_us", 1000) / 1000000;
}

static void ticker_start(struct lateness *into)
{
	ticker.into = into;
	ticker.period = tick_period();
	ticker.cval = now() + ticker.period;
	write_sysreg(cntv_cval_el0, ticker.cval);
	write_sysreg(cntv_ctl_el0, 1);
	isb();
}

/* The timer fired: how late, then the next period (a period already gone
 * is skipped, not made up in a burst). */
static void ticker_irq(struct lateness *l)
{
	uint64_t at = read_sysreg(cntvct_el0), cval = ticker.cval, next = cval + ticker.period;
	uint64_t late = at - cval;

	l->ticks++;
	l->late_sum += late;
	if (late > l->late_max)
		l->late_max = late;
	if (ticker.overdue > l->overdue_max)
		l->overdue_max = ticker.overdue;
	ticker.overdue = 0;
	if (next <= at) {
		l->skipped += (unsigned)((at - cval) / ticker.period);
		next = at + ticker.period;
	}
	ticker.cval = next;
	write_sysreg(cntv_cval_el0, next); /* the line drops before the EOI */
	isb();
}

/* How late the expiry not yet taken is now, 0 if not due. */
static uint64_t ticker_pending(void)
{
	uint64_t at = now(), cval = ticker.cval;

	return at > cval ? at - cval : 0;
}

/* vCPU1, not in its timer's handler: the timer priority vCPU0 asked for. */
static void own_timer_prio(void)
{
	if (storm.timer_prio == storm.timer_prio_set)
		return;
	storm.timer_prio_set = storm.timer_prio;
	gic_set_priority_of(TIMER_PPI, read_sysreg(mpidr_el1), (uint8_t)storm.timer_prio_set);
}

bool storm_irq(uint32_t intid)
{
	if (probe_on && intid == TIMER_PPI) {
		ticker_irq(ticker.into);
		return true;
	}
	if (!storm.on || this_cpu() == boot_cpu)
		return false;
	unsigned ph = storm.phase < PHASES ? storm.phase : AFTER;

	if (intid == TIMER_PPI) {
		ticker_irq(&storm.lat[ph]);
		__asm__ volatile("yield" ::: "memory"); /* vCPU0 runs while it is active */
		return true;
	}
	if (intid >= FLOOD_SGI0 && intid < FLOOD_SGI0 + FLOOD_NSGI)
		storm.sgis[ph]++;
	else if (intid >= FLOOD_SPI0 && intid < FLOOD_SPI0 + FLOOD_NSPI)
		storm.spis[ph]++;
	else
		return false;
	if (read_sysreg(cntvct_el0) >= ticker.cval)
		ticker.overdue++;
	own_timer_prio();
	/* Under -icount QEMU runs one vCPU at a time, each until it yields:
	 * yielding here lets vCPU0 send again before the next interrupt is
	 * taken, as it would on parallel hardware, so the flood keeps the
	 * list registers busy instead of being drained in one go. */
	__asm__ volatile("yield" ::: "memory");
	return true;
}

/* vCPU1: takes the flood and keeps its timer ticking; never returns. */
void storm_secondary(void)
{
	gic_enable_private(((1U << FLOOD_NSGI) - 1) << FLOOD_SGI0);
	storm.timer_prio_set = PRIO_FLOOD;
	ticker_start(&storm.lat[QUIET]);
	storm.ready = 1;
	dsb();
	sev();
	for (;;) {
		irq_disable();
		own_timer_prio();
		irq_enable();
		__asm__ volatile("yield" ::: "memory");
	}
}

/* One ICC_SGI1R_EL1 value per flood SGI: target vCPU1's MPIDR. */
static void flood(uint64_t end, uint64_t *sent_sgi, uint64_t *sent_spi)
{
	uint64_t mpidr = dt.mpidr[boot_cpu == 0 ? 1 : 0], sgi1r[FLOOD_NSGI];
	unsigned nsgi = arg_uint("tguest.sgis", FLOOD_NSGI),
		 nspi = arg_uint("tguest.spis", FLOOD_NSPI);
	uint32_t spis;

	nsgi = MIN_U(nsgi, FLOOD_NSGI);
	nspi = MIN_U(nspi, FLOOD_NSPI);
	spis = ((1U << nspi) - 1) << (FLOOD_SPI0 % 32);
	uintptr_t ispendr = GICD_BASE + GICD_ISPEND + 4 * (FLOOD_SPI0 / 32);

	for (unsigned i = 0; i < FLOOD_NSGI; i++)
		sgi1r[i] = ((mpidr >> 8) & 0xff) << 16 | (uint64_t)(FLOOD_SGI0 + i) << 24 |
			   (1U << (mpidr & 0xf));
	while (now() < end) {
		for (unsigned i = 0; i < nsgi; i++)
			write_sysreg(icc_sgi1r_el1, sgi1r[i]);
		isb();
		if (spis)
			mmio_write32(ispendr, spis);
		*sent_sgi += nsgi;
		*sent_spi += nspi;
		/* under -icount QEMU runs the vCPUs in turns; a turn ends here */
		__asm__ volatile("yield" ::: "memory");
	}
}

static void reprio(uint64_t end, uint64_t mpidr, uint64_t *sent_sgi)
{
	storm.timer_prio = PRIO_HI; /* what vCPU1 itself leaves it at */
	for (unsigned i = 0; now() < end; i++) {
		gic_set_priority_of(TIMER_PPI, mpidr, i & 1 ? PRIO_HI : PRIO_HIGHER);
		gic_send_sgi(FLOOD_SGI0, mpidr);
		++*sent_sgi;
		__asm__ volatile("yield" ::: "memory");
	}
}

static void report(unsigned ph, uint64_t sent_sgi, uint64_t sent_spi)
{
	const struct lateness *l = &storm.lat[ph];
	uint64_t late_max = l->late_max, pending = ticker_pending();

	/* an expiry still not taken at the end counts as late as it is */
	if (pending > late_max)
		late_max = pending;
	tg_printf("TGUEST-STORM %s sent_sgi=%lu sent_spi=%lu sgi=%u spi=%u ticks=%u skipped=%u "
		  "late_max_ns=%lu late_avg_ns=%lu pending_ns=%lu overdue_max=%u\n",
		  phase_names[ph], sent_sgi, sent_spi, storm.sgis[ph], storm.spis[ph], l->ticks,
		  l->skipped, ns(late_max), l->ticks ? ns(l->late_sum / l->ticks) : 0, ns(pending),
		  l->overdue_max);
}

void run_storm(void)
{
	unsigned peer = boot_cpu == 0 ? 1 : 0, ms = arg_uint("tguest.phase_ms", 300);
	uint32_t boots = cpus[peer].boots;
	uint64_t phase_ticks = timer_freq() * ms / 1000;

	if (dt.ncpus < 2) {
		tg_printf("TGUEST-STORM FAIL: no second vCPU\n");
		return;
	}
	for (unsigned i = 0; i < FLOOD_NSPI; i++)
		gic_enable_spi(FLOOD_SPI0 + i, dt.mpidr[peer]);
	storm.on = 1;
	storm.timer_prio = PRIO_FLOOD;
	cpus[peer].storm = 1;
	dsb();
	if (hvc_call(PSCI_CPU_ON, dt.mpidr[peer], (uintptr_t)secondary_entry, peer) ||
	    !wait_until(&cpus[peer].boots, boots + 1, timer_freq()) ||
	    !wait_until(&storm.ready, 1, timer_freq())) {
		tg_printf("TGUEST-STORM FAIL: vCPU%u did not start\n", peer);
		return;
	}
	tg_printf("TGUEST-STORM start phase_ms=%u\n", ms);
	unsigned skip = arg_uint("tguest.skip", 0); /* bit n: leave phase n out */

	for (unsigned ph = 0; ph < PHASES; ph++) {
		uint64_t sent_sgi = 0, sent_spi = 0, end;

		if (skip & (1U << ph))
			continue;
		storm.timer_prio = ph == FLOOD_HI || ph == REPRIO ? PRIO_HI : PRIO_FLOOD;
		storm.phase = ph;
		dsb();
		end = now() + phase_ticks;
		if (ph == FLOOD || ph == FLOOD_HI)
			flood(end, &sent_sgi, &sent_spi);
		else if (ph == REPRIO)
			reprio(end, dt.mpidr[peer], &sent_sgi);
		else
			while (now() < end)
				__asm__ volatile("yield" ::: "memory");
		storm.phase = ph + 1; /* vCPU1 counts into the next phase from here */
		dsb();
		report(ph, sent_sgi, sent_spi);
	}
	tg_printf("TGUEST-STORM-DONE\n");
}

/* The probe's unit of work: a fixed loop that never traps. */
static uint64_t work(void)
{
	uint64_t t0 = now(), n = WORK_LOOPS;

	__asm__ volatile("1: nop\n\tsubs %0, %0, #1\n\tb.ne 1b" : "+r"(n));
	return now() - t0;
}

/* PMU event counter 0 counts INST_RETIRED at EL1 and EL0 only: the
 * hypervisor's work on this CPU is not counted (MDCR_EL2.HPMD). Under
 * -icount QEMU counts the machine's instructions while this CPU is at
 * EL1, running or waiting for its turn, so counter time minus this is the
 * time this CPU spent outside the guest: in the hypervisor, whether
 * executing or waiting for its turn there. QEMU counts instructions only
 * under -icount; without it the counter stays 0. */
#define PMCR_E		0x1u
#define PMCR_P		0x2u
#define EV_INST_RETIRED 0x08u

void insns_start(void)
{
	write_sysreg(pmcr_el0, PMCR_E | PMCR_P);
	write_sysreg(pmevtyper0_el0, EV_INST_RETIRED);
	write_sysreg(pmcntenset_el0, 1);
	isb();
}

uint32_t insns(void)
{
	isb();
	return (uint32_t)read_sysreg(pmevcntr0_el0);
}

void run_probe(void)
{
	uint64_t window = timer_freq() * arg_uint("tguest.window_ms", 20) / 1000;
	struct lateness lat;

	tg_printf("TGUEST-PROBE start\n");
	probe_on = 1;
	insns_start();
	for (unsigned w = 1;; w++) {
		uint64_t t0, t1, end, min = UINT64_MAX, sum = 0, n = 0;
		uint32_t i0, i1;

		memset(&lat, 0, sizeof(lat));
		ticker_start(&lat);
		t0 = now();
		i0 = insns();
		for (end = t0 + window; now() < end; n++) {
			uint64_t d = work();

			sum += d;
			if (d < min)
				min = d;
			/* under -icount: a turn for the other vCPUs (see storm_irq) */
			__asm__ volatile("yield" ::: "memory");
		}
		i1 = insns();
		t1 = now();
		write_sysreg(cntv_ctl_el0, 0);
		isb();
		uint64_t span = ns(t1 - t0), guest = i1 - i0;
		tg_printf("TGUEST-PROBE w=%u span_ns=%lu guest_insns=%lu steal_ns=%lu ticks=%u "
			  "skipped=%u late_max_ns=%lu late_avg_ns=%lu work_min_ns=%lu "
			  "work_avg_ns=%lu chunks=%lu\n",
			  w, span, guest, guest && guest < span ? span - guest : 0, lat.ticks,
			  lat.skipped, ns(lat.late_max),
			  lat.ticks ? ns(lat.late_sum / lat.ticks) : 0, ns(min),
			  n ? ns(sum / n) : 0, n);
	}
}

/*
 * Scheduler benchmarks (issue 12; tests/qemu/bench.py sched_latency and
 * sched_switch): mode=rtstat (each timer interrupt's lateness, raw),
 * mode=gap (how long this vCPU was away, raw) and mode=flood (a
 * neighbour as busy as a guest can make tessera: interrupts and memory).
 * Raw samples, in counter ticks, 16 to a line: the host computes the
 * quantiles over a whole scenario.
 */
#include "tguest.h"

#define LINE	  16 /* samples a line: tg_printf prints up to 255 characters */
#define FLOOD_SGI 8
#define FLOOD_SPI 40
#define FLOOD_MEM (RAM_BASE + (16UL << 20)) /* above the image and stack */

static volatile uint32_t flood_on;
static volatile uint64_t flood_taken;

static void print_line(const char *tag, const uint64_t *v, unsigned n)
{
	char buf[LINE * 12 + 32];
	size_t at;

	tg_snprintf(buf, sizeof(buf), "%s", tag);
	for (unsigned i = 0; i < n; i++) {
		at = tg_strlen(buf);
		tg_snprintf(buf + at, sizeof(buf) - at, " %lu", v[i]);
	}
	tg_printf("%s\n", buf);
}

/* Under a cyclic schedule: spinning through three frames, the end of the
 * longest absence is where this partition's window starts (plus one
 * switch, ~1 us), in counter time. */
static uint64_t window_start(uint64_t frame)
{
	uint64_t t0 = now(), last = t0, gap = 0, at = t0;

	while (last - t0 < 3 * frame) {
		uint64_t t = now();

		if (t - last > gap) {
			gap = t - last;
			at = t;
		}
		last = t;
		__asm__ volatile("yield" ::: "memory");
	}
	return at;
}

/* A deadline inside the window by margin at both ends: it is taken
 * while this partition runs, not held to its next window. */
static bool in_window(uint64_t d, uint64_t origin, uint64_t frame, uint64_t win, uint64_t margin)
{
	uint64_t ph = (d - origin) % frame;

	return ph >= margin && ph + margin <= win;
}

/* Arms the timer tguest.period_us ahead (default 1100: no divisor of a
 * frame, so deadlines fall all over the window), sleeps in WFI, records
 * handler time minus deadline. With tguest.frame_us and tguest.win_us
 * (its window's length) only deadlines inside its window count; the held
 * ones are counted on TGUEST-RTHELD lines. */
void run_rtstat(void)
{
	uint64_t f = timer_freq(), margin = f / 10000; /* 100 us */
	uint64_t period = f * arg_uint("tguest.period_us", 1100) / 1000000;
	uint64_t frame = f * arg_uint("tguest.frame_us", 0) / 1000000;
	uint64_t win = f * arg_uint("tguest.win_us", 0) / 1000000;
	uint64_t origin = frame ? window_start(frame) : 0, line[LINE], held = 0, held_max = 0;
	unsigned n = 0;

	tg_printf("TGUEST-RTSTAT start freq=%lu period=%lu frame=%lu win=%lu origin=%lu\n", f,
		  period, frame, win, origin);
	for (;;) {
		uint64_t cval = now() + period, late = timer_sleep(cval, NULL);

		if (frame && !in_window(cval, origin, frame, win, margin)) {
			held++;
			held_max = late > held_max ? late : held_max;
			continue;
		}
		line[n++] = late;
		if (n < LINE)
			continue;
		print_line("TGUEST-RTS", line, n);
		n = 0;
		if (frame)
			tg_printf("TGUEST-RTHELD n=%lu max=%lu\n", held, held_max);
	}
}

/* Spins reading the counter; a jump over tguest.gap_us (default 1000) is
 * a time it did not run. tguest.yield=1 yields each round (under -icount
 * a turn for other busy vCPUs; slower). */
void run_gap(void)
{
	uint64_t f = timer_freq(), thr = f * arg_uint("tguest.gap_us", 1000) / 1000000;
	uint64_t line[LINE], last;
	unsigned n = 0, yield = arg_uint("tguest.yield", 0);

	tg_printf("TGUEST-GAP start freq=%lu\n", f);
	irq_disable();
	last = now();
	for (;;) {
		uint64_t t = now();

		if (t - last > thr) {
			line[n++] = t - last;
			if (n == LINE) {
				print_line("TGUEST-GAPS", line, n);
				n = 0;
				t = now(); /* printing is not an absence */
			}
		}
		last = t;
		if (yield)
			__asm__ volatile("yield" ::: "memory");
	}
}

bool flood_irq(uint32_t intid)
{
	if (!flood_on || (intid != FLOOD_SGI && intid != FLOOD_SPI))
		return false;
	flood_taken++;
	return true;
}

/* Each round: an SGI to itself (a trapped ICC_SGI1R write), an SPI made
 * pending through the distributor (a trapped MMIO write), both taken,
 * and 256 bytes written into tguest.flood_kib KiB of RAM (default 8192),
 * then a yield. A TGUEST-FLOOD line every 100 ms. */
void run_flood(void)
{
	uint64_t mpidr = read_sysreg(mpidr_el1), f = timer_freq() / 10, next = now() + f;
	uint64_t sgi1r =
	    ((mpidr >> 8) & 0xff) << 16 | (uint64_t)FLOOD_SGI << 24 | (1U << (mpidr & 0xf));
	uint64_t words = (uint64_t)arg_uint("tguest.flood_kib", 8192) * 1024 / 8, at = 0, sent = 0;
	volatile uint64_t *mem = (volatile uint64_t *)FLOOD_MEM;

	gic_enable_private(1U << FLOOD_SGI);
	gic_enable_spi(FLOOD_SPI, mpidr);
	flood_on = 1;
	tg_printf("TGUEST-FLOOD start\n");
	for (;;) {
		write_sysreg(icc_sgi1r_el1, sgi1r);
		isb();
		mmio_write32(GICD_BASE + 0x200 + 4 * (FLOOD_SPI / 32), 1U << (FLOOD_SPI % 32));
		for (unsigned i = 0; i < 32; i++)
			mem[(at + i) % words] = at + i;
		at = (at + 32) % words;
		sent++;
		if (now() >= next) {
			tg_printf("TGUEST-FLOOD sent=%lu taken=%lu\n", sent, flood_taken);
			next += f;
		}
		__asm__ volatile("yield" ::: "memory");
	}
}

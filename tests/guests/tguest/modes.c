/* mode=reset, mode=idle and mode=bench. */
#include "tguest.h"

#define IDLE_PERIOD_MS 200
#define BENCH_ITERS    10000
#define UART_FR	       0x18

void run_reset(void)
{
	uint64_t val;
	unsigned bad = dbg_scan(&val);
	char name[24];

	/* RAM is cleared on a partition restart, so nothing can count boots
	 * here; the counter value tells boots apart for the harness. */
	tg_printf("TGUEST-BOOT cntvct=%lu\n", read_sysreg(cntvct_el0));
	/* The debug registers come out of each reset at their reset values,
	 * whatever the boot before left in them (a pattern, just below). */
	if (bad)
		tg_printf("TGUEST-DBG dirty %s=0x%lx\n", dbg_reg_name(bad, name, sizeof(name)),
			  val);
	else
		tg_printf("TGUEST-DBG clean\n");
	dbg_fill(1);
	sve_reset_check();
	system_reset();
}

static void poll_rx(void)
{
	int c;

	while ((c = uart_getc()) >= 0)
		if (c == 'p')
			tg_printf("TGUEST-PONG\n");
}

/* Sleeps in WFI until the virtual timer reaches cval; reads input on each wake-up. */
static void sleep_until(uint64_t cval)
{
	timer_sleep(cval, poll_rx);
}

void run_idle(const char *name, unsigned period_ms)
{
	uint64_t period = timer_freq() * (period_ms ? period_ms : IDLE_PERIOD_MS) / 1000;
	uint64_t next = now() + period;

	tg_printf("TGUEST-IDLE %s\n", name);
	for (unsigned k = 1;; k++) {
		sleep_until(next);
		tg_printf("TGUEST-ALIVE %u\n", k);
		next += period;
		/* After a long pause (snapshot, host stall) do not burst to catch up. */
		if (next < now())
			next = now() + period;
	}
}

/* Picoseconds per iteration from a counter delta, without overflow for any
 * delta below ~5 hours of counter time at 1 GHz. */
static uint64_t ps_per_iter(uint64_t ticks, uint64_t freq, uint64_t iters)
{
	uint64_t micro_ticks = ticks * 1000000 / iters; /* ticks * 1e6 per iteration */

	return micro_ticks * 1000000 / freq;
}

static uint64_t bench_hvc(void)
{
	uint64_t t0 = now();

	for (unsigned i = 0; i < BENCH_ITERS; i++)
		hvc_call(PSCI_VERSION, 0, 0, 0);
	return now() - t0;
}

static uint64_t bench_mmio(void)
{
	uint64_t t0 = now();

	for (unsigned i = 0; i < BENCH_ITERS; i++)
		(void)mmio_read32(PL011_BASE + UART_FR);
	return now() - t0;
}

static uint64_t bench_loop(void)
{
	uint64_t t0 = now(), n = BENCH_ITERS;

	__asm__ volatile("1: nop\n\tsubs %0, %0, #1\n\tb.ne 1b" : "+r"(n));
	return now() - t0;
}

void run_bench(void)
{
	uint64_t freq = timer_freq(), hvc, mmio, loop;

	sve_touch();
	hvc = bench_hvc();
	mmio = bench_mmio();
	loop = bench_loop();

	tg_printf("TGUEST-BENCH hvc_ns=%lu mmio_ns=%lu loop_ns=%lu freq=%lu\n",
		  ps_per_iter(hvc, freq, BENCH_ITERS), ps_per_iter(mmio, freq, BENCH_ITERS),
		  ps_per_iter(loop, freq, BENCH_ITERS), freq);
	system_off();
}

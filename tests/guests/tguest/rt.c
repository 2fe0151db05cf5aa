/* Scheduler tests (issue 12): mode=rt (a periodic timer, its lateness),
 * mode=hog (spins with interrupts masked, forever) and mode=share (spins,
 * measuring the share of time it gets). Each reports once per second of
 * counter time. */
#include "tguest.h"

#define RT_PERIOD_MS 3
/* a longer jump of the counter: someone else ran (shorter: QEMU itself) */
#define GAP_US 500

/* Arms the timer every tguest.period ms (default 3: not a divisor of the
 * test schedules' frames, so deadlines fall in every part of them) and
 * sleeps in WFI; lateness = handler time - deadline, the worst and the
 * count of each second reported. */
void run_rt(unsigned period_ms)
{
	uint64_t f = timer_freq(), period = f * (period_ms ? period_ms : RT_PERIOD_MS) / 1000;
	uint64_t next_report = now() + f, max = 0, n = 0;
	tg_printf("TGUEST-RT start period=%lu us\n", period * 1000000 / f);
	for (unsigned k = 1;; k++) {
		uint64_t cval = now() + period, late = timer_sleep(cval, NULL);

		max = late > max ? late : max;
		n++;
		if (now() >= next_report) {
			tg_printf("TGUEST-RT n=%lu max_us=%lu\n", n, max * 1000000 / f);
			next_report += f;
			max = n = 0; /* per second */
		}
	}
}

void run_hog(void)
{
	uint64_t f = timer_freq(), next = now() + f;
	tg_printf("TGUEST-HOG start\n");
	irq_disable();
	for (unsigned k = 1;; k++) {
		while (now() < next)
			__asm__ volatile("nop" ::: "memory");
		tg_printf("TGUEST-HOG %u\n", k);
		next += f;
	}
}

/* Time it runs: counter steps shorter than GAP_US; the rest went to
 * others. Per mille of each second. */
void run_share(void)
{
	uint64_t f = timer_freq(), gap = f * GAP_US / 1000000;
	uint64_t t0 = now(), last = t0, run = 0;
	tg_printf("TGUEST-SHARE start\n");
	irq_disable();
	for (;;) {
		uint64_t t = now();
		if (t - last < gap)
			run += t - last;
		last = t;
		if (t - t0 >= f) {
			tg_printf("TGUEST-SHARE run_pm=%lu\n", run * 1000 / (t - t0));
			t0 = last = now();
			run = 0;
		}
	}
}

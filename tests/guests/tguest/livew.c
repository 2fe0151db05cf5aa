/*
 * mode=livew: a guest writing memory as fast as it can, for live
 * snapshots (issue 10; run_tests.py snap_live, bench.py snap_live).
 * Passes over tguest.live_mib MiB (default 32) from 16 MiB up: each word
 * is read and checked to hold the previous pass's value, then written
 * with this pass's, so a restored guest whose memory is not one instant's
 * (a page older or newer than the rest) finds it. Every 4096 words it
 * notes the largest step of the physical counter (gap: CNTPCT, which
 * tessera does not freeze over a pause as it does the virtual one) and
 * the largest time its CPU was
 * in the hypervisor (steal: counter time minus the instructions counted
 * while it was at EL1, under -icount; see storm.c insns), and the steal of
 * the pass's first window that had any (first: with nothing tracked before
 * a save, that is the window its pause fell in). One line a pass:
 * TGUEST-LIVE pass=<n> bad=<words> gap_us=<max> steal_us=<max> first_us=<us>.
 */
#include "tguest.h"

#define LIVE_BASE (RAM_BASE + (16UL << 20))
#define STEP	  4096u
#define FIRST_NS  20000u /* more than a window's own exits take */

static uint64_t pnow(void)
{
	isb();
	return read_sysreg(cntpct_el0);
}

static uint64_t value(uint32_t pass, uint64_t i)
{
	return (uint64_t)pass << 40 ^ i * 0x9e3779b97f4a7c15ull;
}

void run_livew(void)
{
	volatile uint64_t *w = (volatile uint64_t *)LIVE_BASE;
	uint64_t words = (uint64_t)arg_uint("tguest.live_mib", 32) << 17, f = timer_freq();
	for (uint64_t i = 0; i < words; i++)
		w[i] = value(0, i);
	insns_start();
	tg_printf("TGUEST-LIVE start words=%lu\n", words);
	for (uint32_t pass = 1;; pass++) {
		uint64_t bad = 0, gap = 0, steal = 0, first = 0, t0 = pnow();
		uint32_t n0 = insns();
		for (uint64_t i = 0; i < words; i++) {
			bad += w[i] != value(pass - 1, i);
			w[i] = value(pass, i);
			if (i % STEP)
				continue;
			uint64_t t = pnow();
			uint32_t n = insns();
			uint64_t dt = (t - t0) * 1000000000ull / f, dn = n - n0;
			gap = dt > gap ? dt : gap;
			if (dt > dn && dt - dn > FIRST_NS && !first)
				first = dt - dn;
			steal = dt > dn && dt - dn > steal ? dt - dn : steal;
			t0 = t;
			n0 = n;
			/* under -icount: the other vCPUs' turn starts here, at EL1, so
			 * their time is not taken for the hypervisor's */
			__asm__ volatile("yield" ::: "memory");
		}
		tg_printf("TGUEST-LIVE pass=%u bad=%lu gap_us=%lu steal_us=%lu first_us=%lu\n",
			  pass, bad, gap / 1000, steal / 1000, first / 1000);
	}
}

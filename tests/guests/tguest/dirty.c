/*
 * mode=dirty: stage-2 dirty tracking seen from the guest. Repeatedly
 * prints "TGUEST-DIRTY-READY pass=<n>", waits for a console byte ('q'
 * ends the run with SYSTEM_OFF), writes one word to each of DIRTY_PAGES
 * pages from 16 MiB up (byte '1': one page, 'k': 1024, 'h': 102400, as
 * many as its RAM holds), reads them all back and prints
 * "TGUEST-DIRTY pass=<n> pages=<count> ipp=<counter time per page, in
 * ps> bad=<words that did not read back>". Under -icount the time per
 * page is instructions x 1000: a pass while tracking is on, against one
 * while it is off, is what a write fault costs.
 */
#include "tguest.h"

#define DIRTY_PAGES 2048u
#define PAGE_WORDS  512u

static uint64_t value(unsigned pass, unsigned page)
{
	return (uint64_t)pass << 32 | page | 0x5a00000000000000ull;
}

static int wait_byte(void)
{
	int c;
	while ((c = uart_getc()) < 0)
		__asm__ volatile("yield" ::: "memory");
	return c;
}

static unsigned pages_for(int c)
{
	uint64_t room = dt.mem_size > (16UL << 20) ? (dt.mem_size - (16UL << 20)) >> 12 : 0;
	unsigned n = c == '1' ? 1 : c == 'k' ? 1024 : c == 'h' ? 102400 : DIRTY_PAGES;
	return n < room ? n : (unsigned)room;
}

void __attribute__((noreturn)) run_dirty(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(RAM_BASE + (16UL << 20));
	for (unsigned pass = 0;; pass++) {
		tg_printf("TGUEST-DIRTY-READY pass=%u\n", pass);
		int c = wait_byte();
		if (c == 'q')
			system_off();
		unsigned n = pages_for(c);
		uint64_t t0 = now();
		for (unsigned i = 0; i < n; i++)
			w[i * PAGE_WORDS] = value(pass, i);
		uint64_t t = now() - t0, bad = 0;
		for (unsigned i = 0; i < n; i++)
			bad += w[i * PAGE_WORDS] != value(pass, i);
		tg_printf("TGUEST-DIRTY pass=%u pages=%u ipp=%lu bad=%lu\n", pass, n,
			  n ? t * 1000000 / n * 1000000 / timer_freq() : 0, bad);
	}
}

/*
 * mode=dirty: stage-2 dirty tracking seen from the guest. Repeatedly
 * prints "TGUEST-DIRTY-READY pass=<n>", waits for a console byte ('q'
 * ends the run with SYSTEM_OFF), writes one word to each of DIRTY_PAGES
 * pages from 16 MiB up, reads them all back and prints
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

void __attribute__((noreturn)) run_dirty(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(RAM_BASE + (16UL << 20));
	for (unsigned pass = 0;; pass++) {
		tg_printf("TGUEST-DIRTY-READY pass=%u\n", pass);
		if (wait_byte() == 'q')
			system_off();
		uint64_t t0 = now();
		for (unsigned i = 0; i < DIRTY_PAGES; i++)
			w[i * PAGE_WORDS] = value(pass, i);
		uint64_t t = now() - t0, bad = 0;
		for (unsigned i = 0; i < DIRTY_PAGES; i++)
			bad += w[i * PAGE_WORDS] != value(pass, i);
		tg_printf("TGUEST-DIRTY pass=%u pages=%u ipp=%lu bad=%lu\n", pass, DIRTY_PAGES,
			  t * 1000000 / DIRTY_PAGES * 1000000 / timer_freq(), bad);
	}
}

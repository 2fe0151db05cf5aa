/*
 * Frame-pointer unwinding. AArch64 frame records are two words, {previous
 * fp, return address}, and x29 points at the current one. Plain C so that
 * host tests can run it over a fake stack.
 */
#include "lib/backtrace.h"

/* AAPCS64 places frame records at 8-byte aligned addresses at least. */
#define FRAME_ALIGN 8

unsigned backtrace_walk(uint64_t fp, bool (*readable)(uint64_t addr), uint64_t *pcs, unsigned max)
{
	unsigned n = 0;

	if (!readable || !pcs)
		return 0;
	while (n < max && fp && fp % FRAME_ALIGN == 0 && readable(fp)) {
		const uint64_t *rec = (const uint64_t *)(uintptr_t)fp;
		uint64_t next = rec[0], lr = rec[1];

		if (!lr) /* outermost frame: entry code zeroes x30 */
			break;
		pcs[n++] = lr;
		/* stacks grow down, so callers' records sit higher; anything
		 * else is corruption or a cycle that would never end */
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

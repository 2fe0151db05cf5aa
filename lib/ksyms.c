/*
 * Symbol lookup for crash backtraces. The table comes from
 * tools/gen-ksyms.sh, sorted by address; plain C so it is host-tested.
 */
#include "lib/ksyms.h"

/* Index of the last symbol at or below offset; count if there is none. */
static uint64_t floor_index(const struct ksym_table *t, uint64_t offset)
{
	uint64_t lo = 0, hi = t->count; /* answer lies in [lo - 1, hi) */

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : t->count;
}

const char *ksym_lookup(const struct ksym_table *t, uint64_t offset, uint64_t *within)
{
	if (!t || !t->syms || !t->count)
		return NULL;
	uint64_t i = floor_index(t, offset);
	if (i == t->count)
		return NULL;
	const struct ksym *s = &t->syms[i];
	uint64_t delta = offset - s->addr;
	/* with a known size, an address past the end is not in this symbol
	 * (padding, or code without a symbol); with none, the nearest lower
	 * symbol is the best guess there is */
	if (s->size && delta >= s->size)
		return NULL;
	if (within)
		*within = delta;
	return t->names + s->name;
}

/*
 * Sorted, merged lists of physical ranges (portable; host-tested). Used for
 * free memory and for RAM accounting.
 */
#ifndef LIB_MEMRANGE_H
#define LIB_MEMRANGE_H

#include <stdint.h>

#define MR_MAX 128

struct memrange {
	uint64_t base, size;
};
struct memmap {
	unsigned n;
	struct memrange r[MR_MAX];
};

/* Adds [base, base+size), merging with neighbours. -EEXIST if it overlaps
 * a range already present, -ENOSPC if the list is full. */
int mr_add(struct memmap *m, uint64_t base, uint64_t size);
/* Removes [base, base+size) wherever it intersects (may split a range).
 * -ENOSPC if a split would overflow the list (then nothing changes). */
int mr_remove(struct memmap *m, uint64_t base, uint64_t size);
/* First fit of size bytes aligned to align (a power of two); removes and
 * returns the base, or 0 if nothing fits. */
uint64_t mr_alloc(struct memmap *m, uint64_t size, uint64_t align);
uint64_t mr_total(const struct memmap *m);

#endif

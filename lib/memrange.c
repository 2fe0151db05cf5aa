/* Sorted range lists: insertion keeps order and merges touching ranges. */
#include "lib/memrange.h"
#include <errno.h>
#include <string.h>

static void insert_at(struct memmap *m, unsigned i, uint64_t base, uint64_t size)
{
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(m->r[0]));
	m->r[i] = (struct memrange){base, size};
	m->n++;
}

static void delete_at(struct memmap *m, unsigned i)
{
	memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof(m->r[0]));
	m->n--;
}

/* Merges r[i] with r[i+1] when they touch. */
static void merge_next(struct memmap *m, unsigned i)
{
	if (i + 1 < m->n && m->r[i].base + m->r[i].size == m->r[i + 1].base) {
		m->r[i].size += m->r[i + 1].size;
		delete_at(m, i + 1);
	}
}

int mr_add(struct memmap *m, uint64_t base, uint64_t size)
{
	if (size == 0)
		return 0;
	if (base + size < base)
		return -EINVAL;
	unsigned i = 0;
	while (i < m->n && m->r[i].base + m->r[i].size <= base)
		i++;
	if (i < m->n && m->r[i].base < base + size)
		return -EEXIST;
	if (m->n == MR_MAX)
		return -ENOSPC;
	insert_at(m, i, base, size);
	merge_next(m, i);
	if (i > 0)
		merge_next(m, i - 1);
	return 0;
}

/* Cuts [base, end) out of r[i]; returns how many ranges r[i] became. */
static unsigned cut(struct memmap *m, unsigned i, uint64_t base, uint64_t end)
{
	uint64_t rb = m->r[i].base, re = rb + m->r[i].size;
	if (base <= rb && end >= re) {
		delete_at(m, i);
		return 0;
	}
	if (base > rb && end < re) {
		m->r[i].size = base - rb;
		insert_at(m, i + 1, end, re - end);
		return 2;
	}
	if (base <= rb)
		m->r[i] = (struct memrange){end, re - end};
	else
		m->r[i].size = base - rb;
	return 1;
}

int mr_remove(struct memmap *m, uint64_t base, uint64_t size)
{
	uint64_t end = base + size;
	if (size == 0)
		return 0;
	if (end < base)
		return -EINVAL;
	for (unsigned i = 0; i < m->n;) {
		uint64_t rb = m->r[i].base, re = rb + m->r[i].size;
		if (re <= base || rb >= end) {
			i++;
			continue;
		}
		if (base > rb && end < re && m->n == MR_MAX)
			return -ENOSPC;
		i += cut(m, i, base, end);
	}
	return 0;
}

uint64_t mr_alloc(struct memmap *m, uint64_t size, uint64_t align)
{
	if (size == 0 || align == 0 || (align & (align - 1)))
		return 0;
	for (unsigned i = 0; i < m->n; i++) {
		uint64_t b = (m->r[i].base + align - 1) & ~(align - 1);
		if (b == 0 || b < m->r[i].base)
			continue;
		if (b + size <= m->r[i].base + m->r[i].size && mr_remove(m, b, size) == 0)
			return b;
	}
	return 0;
}

uint64_t mr_total(const struct memmap *m)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < m->n; i++)
		t += m->r[i].size;
	return t;
}

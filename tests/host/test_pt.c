/*
 * Host tests for the page-table library: block selection, descriptor
 * encodings, break-before-make, splits, all-or-nothing -ENOMEM, stage-2
 * concatenated roots and freeing. Table pages come from a counting fake
 * allocator; host pointers double as physical addresses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/arm64/pt.h"

#define MAX_ROOTS 4
#define MAX_TLB	  64

struct tlb_call {
	uint64_t va, size;
};

struct fake {
	int live;	/* pages handed out and not yet freed */
	int allocs;	/* alloc_table calls that succeeded */
	int fail_after; /* alloc_table fails once allocs reaches this; -1: never */
	struct {
		char *base;
		unsigned pages, freed;
	} roots[MAX_ROOTS];
	int tlb_calls;
	struct tlb_call tlb[MAX_TLB];
	const struct pt *pt; /* when set: each invalidation notes whether */
	int inval_mapped;    /* the range's first page was still mapped then */
};

static void *fake_alloc(void *ctx)
{
	struct fake *f = ctx;
	void *p;

	if (f->fail_after >= 0 && f->allocs >= f->fail_after)
		return NULL;
	p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	assert_non_null(p);
	memset(p, 0, PAGE_SIZE);
	f->allocs++;
	f->live++;
	return p;
}

static void *fake_root_alloc(void *ctx, unsigned pages)
{
	struct fake *f = ctx;

	for (int i = 0; i < MAX_ROOTS; i++) {
		if (f->roots[i].base)
			continue;
		f->roots[i].base = aligned_alloc(PAGE_SIZE, pages * PAGE_SIZE);
		assert_non_null(f->roots[i].base);
		memset(f->roots[i].base, 0, pages * PAGE_SIZE);
		f->roots[i].pages = pages;
		f->roots[i].freed = 0;
		f->live += pages;
		return f->roots[i].base;
	}
	return NULL;
}

/* Root pages come back one by one; the block goes when the last one does. */
static bool free_root_page(struct fake *f, char *p)
{
	for (int i = 0; i < MAX_ROOTS; i++) {
		char *b = f->roots[i].base;

		if (!b || p < b || p >= b + f->roots[i].pages * PAGE_SIZE)
			continue;
		assert_true(((uintptr_t)(p - b) % PAGE_SIZE) == 0);
		if (++f->roots[i].freed == f->roots[i].pages) {
			free(b);
			f->roots[i].base = NULL;
		}
		return true;
	}
	return false;
}

static void fake_free(void *ctx, void *table)
{
	struct fake *f = ctx;

	if (!free_root_page(f, table))
		free(table);
	f->live--;
	assert_true(f->live >= 0);
}

static uint64_t fake_pa_of(void *ctx, void *table)
{
	return (uint64_t)(uintptr_t)table;
}

static void *fake_va_of(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static void fake_tlb_inval(void *ctx, uint64_t va, uint64_t size)
{
	struct fake *f = ctx;

	if (f->tlb_calls < MAX_TLB)
		f->tlb[f->tlb_calls] = (struct tlb_call){va, size};
	f->tlb_calls++;
	if (f->pt && pt_translate(f->pt, va, NULL, NULL, NULL) == 0)
		f->inval_mapped++;
}

static const struct pt_ops fake_ops = {
    .alloc_table = fake_alloc,
    .free_table = fake_free,
    .pa_of = fake_pa_of,
    .va_of = fake_va_of,
    .tlb_inval = fake_tlb_inval,
};

struct env {
	struct fake f;
	struct pt pt;
};

static struct env *env_new(enum pt_format fmt, unsigned ia_bits)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->f.fail_after = -1;
	assert_int_equal(pt_init(&e->pt, fmt, ia_bits, &fake_ops, &e->f, fake_root_alloc), 0);
	return e;
}

/* Every page must be back: pt_destroy is checked on every test's way out. */
static void env_free(struct env *e)
{
	pt_destroy(&e->pt);
	assert_int_equal(e->f.live, 0);
	free(e);
}

/* The raw leaf descriptor for va, or 0. */
static uint64_t raw_leaf(const struct pt *pt, uint64_t va)
{
	const uint64_t *t = pt->root;

	for (unsigned l = pt->start_level; l <= 3; l++) {
		unsigned shift = 12 + 9 * (3 - l);
		size_t n = l == pt->start_level ? (size_t)pt->root_tables * 512 : 512;
		uint64_t d = t[(va >> shift) & (n - 1)];

		if (l == 3 || (d & 3) != 3)
			return d;
		t = (const uint64_t *)(uintptr_t)(d & 0x0000fffffffff000ull);
	}
	return 0;
}

static void expect_map(struct pt *pt, uint64_t va, uint64_t pa, unsigned attrs, unsigned level)
{
	uint64_t got_pa = 0;
	unsigned got_attrs = 0, got_level = 0;

	assert_int_equal(pt_translate(pt, va, &got_pa, &got_attrs, &got_level), 0);
	assert_int_equal(got_pa, pa);
	assert_int_equal(got_attrs, attrs);
	assert_int_equal(got_level, level);
}

static void expect_unmapped(struct pt *pt, uint64_t va)
{
	uint64_t pa;

	assert_int_equal(pt_translate(pt, va, &pa, NULL, NULL), -ENOENT);
}

#define RW  (PT_R | PT_W)
#define RX  (PT_R | PT_X)
#define DEV (PT_R | PT_W | PT_DEVICE)

/* ---- block selection ------------------------------------------------------ */

static void test_block_1g(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);

	assert_int_equal(pt_map(&e->pt, SZ_1G, 3 * SZ_1G, SZ_1G, RW), 0);
	expect_map(&e->pt, SZ_1G, 3 * SZ_1G, RW, 1);
	expect_map(&e->pt, SZ_1G + 0x12345678, 3 * SZ_1G + 0x12345678, RW, 1);
	expect_unmapped(&e->pt, 2 * SZ_1G);
	/* root + one level-1 table; the block needs nothing below */
	assert_int_equal(e->f.live, 2);
	env_free(e);
}

static void test_block_2m(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	uint64_t va = SZ_1G + 3 * SZ_2M, pa = 0x80000000ull + 5 * SZ_2M;

	assert_int_equal(pt_map(&e->pt, va, pa, 2 * SZ_2M, RW), 0);
	expect_map(&e->pt, va, pa, RW, 2);
	expect_map(&e->pt, va + SZ_2M + 0x1000, pa + SZ_2M + 0x1000, RW, 2);
	expect_unmapped(&e->pt, va + 2 * SZ_2M);
	assert_int_equal(e->f.live, 3);
	env_free(e);
}

static void test_unaligned_gives_pages(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);

	/* va not 2 MiB aligned */
	assert_int_equal(pt_map(&e->pt, 0x1000, 0x40001000, SZ_2M, RW), 0);
	expect_map(&e->pt, 0x1000, 0x40001000, RW, 3);
	expect_map(&e->pt, SZ_2M, 0x40000000 + SZ_2M, RW, 3);
	/* va aligned but pa only 4 KiB aligned */
	assert_int_equal(pt_map(&e->pt, SZ_1G, 0x80001000, SZ_2M, RW), 0);
	expect_map(&e->pt, SZ_1G, 0x80001000, RW, 3);
	expect_map(&e->pt, SZ_1G + SZ_2M - 0x1000, 0x80001000 + SZ_2M - 0x1000, RW, 3);
	env_free(e);
}

static void test_mixed_blocks(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	uint64_t va = SZ_1G - SZ_2M - 0x1000, size = SZ_1G + 2 * SZ_2M + 0x2000;

	/* pages, a 2 MiB block, a 1 GiB block, a 2 MiB block, pages */
	assert_int_equal(pt_map(&e->pt, va, va, size, RW), 0);
	expect_map(&e->pt, va, va, RW, 3);
	expect_map(&e->pt, SZ_1G - SZ_2M, SZ_1G - SZ_2M, RW, 2);
	expect_map(&e->pt, SZ_1G, SZ_1G, RW, 1);
	expect_map(&e->pt, 2 * SZ_1G, 2 * SZ_1G, RW, 2);
	expect_map(&e->pt, 2 * SZ_1G + SZ_2M, 2 * SZ_1G + SZ_2M, RW, 3);
	expect_unmapped(&e->pt, 2 * SZ_1G + SZ_2M + 0x1000);
	expect_unmapped(&e->pt, va - 0x1000);
	env_free(e);
}

/* ---- descriptor encodings ------------------------------------------------- */

static void test_desc_values(void **state)
{
	struct env *s1 = env_new(PT_S1_EL2, 48);
	struct env *el10 = env_new(PT_S1_EL10, 48);
	struct env *s2 = env_new(PT_S2, 40);

	assert_int_equal(pt_map(&s1->pt, 0x1000, 0x12345000, 0x1000, RX), 0);
	assert_int_equal(pt_map(&s1->pt, 0x2000, 0x12346000, 0x1000, RW), 0);
	assert_int_equal(pt_map(&s1->pt, 0x3000, 0x09000000, 0x1000, DEV), 0);
	assert_int_equal(pt_map(&el10->pt, 0x1000, 0x12345000, 0x1000, RX | PT_USER), 0);
	assert_int_equal(pt_map(&el10->pt, 0x2000, 0x12346000, 0x1000, RX), 0);
	assert_int_equal(pt_map(&s2->pt, 0x1000, 0x40000000, 0x1000, RW), 0);
	assert_int_equal(pt_map(&s2->pt, SZ_2M, 0x40200000, SZ_2M, RW), 0);

	/* page | AttrIndx 0 | AP[2:1]=0b11 | SH=ISH | AF */
	assert_int_equal(raw_leaf(&s1->pt, 0x1000), 0x00000000123457c3ull);
	/* page | AP[1] | SH | AF | XN */
	assert_int_equal(raw_leaf(&s1->pt, 0x2000), 0x0040000012346743ull);
	/* page | AttrIndx 1 | AP[1] | SH | AF | XN */
	assert_int_equal(raw_leaf(&s1->pt, 0x3000), 0x0040000009000747ull);
	/* EL1&0 user RX: AP[2:1]=0b11, PXN, UXN clear */
	assert_int_equal(raw_leaf(&el10->pt, 0x1000), 0x00200000123457c3ull);
	/* EL1&0 kernel RX: AP[2:1]=0b10, UXN, PXN clear */
	assert_int_equal(raw_leaf(&el10->pt, 0x2000), 0x0040000012346783ull);
	/* page | MemAttr 0b1111 | S2AP 0b11 | SH | AF | XN[1:0]=0b10 */
	assert_int_equal(raw_leaf(&s2->pt, 0x1000), 0x00400000400007ffull);
	/* the same as a level-2 block */
	assert_int_equal(raw_leaf(&s2->pt, SZ_2M), 0x00400000402007fdull);
	env_free(s1);
	env_free(el10);
	env_free(s2);
}

static void test_translate_roundtrip(void **state)
{
	static const struct {
		enum pt_format fmt;
		unsigned attrs;
	} cases[] = {
	    {PT_S1_EL2, PT_R},
	    {PT_S1_EL2, RW},
	    {PT_S1_EL2, RX},
	    {PT_S1_EL2, DEV},
	    {PT_S1_EL2, PT_R | PT_DEVICE},
	    {PT_S1_EL10, RW},
	    {PT_S1_EL10, RX},
	    {PT_S1_EL10, RW | PT_USER},
	    {PT_S1_EL10, RX | PT_USER},
	    {PT_S1_EL10, DEV},
	    {PT_S2, PT_R},
	    {PT_S2, RW},
	    {PT_S2, RX},
	    {PT_S2, RW | PT_X},
	    {PT_S2, DEV},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct env *e = env_new(cases[i].fmt, 44);
		uint64_t va = 0x123456000ull, pa = 0x0000abcd00000000ull + 0x7000;

		assert_int_equal(pt_map(&e->pt, va, pa, 3 * PAGE_SIZE, cases[i].attrs), 0);
		expect_map(&e->pt, va + 0x2abc, pa + 0x2abc, cases[i].attrs, 3);
		expect_unmapped(&e->pt, va + 3 * PAGE_SIZE);
		expect_unmapped(&e->pt, 1ull << 44);
		env_free(e);
	}
}

/* ---- break-before-make ---------------------------------------------------- */

static void test_replace_calls_tlb_inval(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);

	assert_int_equal(pt_map(&e->pt, 0x5000, 0x10000, 0x1000, RW), 0);
	assert_int_equal(e->f.tlb_calls, 0);
	/* the same mapping again changes nothing and needs no invalidation */
	assert_int_equal(pt_map(&e->pt, 0x5000, 0x10000, 0x1000, RW), 0);
	assert_int_equal(e->f.tlb_calls, 0);

	assert_int_equal(pt_map(&e->pt, 0x5000, 0x20000, 0x1000, PT_R), 0);
	assert_int_equal(e->f.tlb_calls, 1);
	assert_int_equal(e->f.tlb[0].va, 0x5000);
	assert_int_equal(e->f.tlb[0].size, PAGE_SIZE);
	expect_map(&e->pt, 0x5000, 0x20000, PT_R, 3);
	env_free(e);
}

static void test_block_replaces_table(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	int live;

	assert_int_equal(pt_map(&e->pt, SZ_2M + 0x3000, 0x3000, 0x2000, RW), 0);
	live = e->f.live;
	assert_int_equal(pt_map(&e->pt, SZ_2M, 0x40000000, SZ_2M, RX), 0);
	/* the level-3 table is gone, after the whole 2 MiB was invalidated */
	assert_int_equal(e->f.live, live - 1);
	assert_int_equal(e->f.tlb_calls, 1);
	assert_int_equal(e->f.tlb[0].va, SZ_2M);
	assert_int_equal(e->f.tlb[0].size, SZ_2M);
	expect_map(&e->pt, SZ_2M + 0x3000, 0x40003000, RX, 2);
	env_free(e);
}

/* Write-protecting a live block and a page, and making them writable
 * again: each written in place (still mapped, with the new permissions,
 * when the TLB is invalidated), never broken; a change of output address
 * is still broken first. */
static void test_permission_change_in_place(void **state)
{
	struct env *e = env_new(PT_S2, 40);
	uint64_t ipa = 0x40000000ull, pa = 0x80000000ull;

	assert_int_equal(pt_map(&e->pt, ipa, pa, 2 * SZ_2M, PT_R | PT_W | PT_X), 0);
	e->f.pt = &e->pt;
	assert_int_equal(pt_map(&e->pt, ipa, pa, 2 * SZ_2M, PT_R | PT_X), 0);
	assert_int_equal(e->f.tlb_calls, 1); /* both blocks at once */
	assert_int_equal(e->f.tlb[0].va, ipa);
	assert_int_equal(e->f.tlb[0].size, 2 * SZ_2M);
	assert_int_equal(e->f.inval_mapped, 1);
	expect_map(&e->pt, ipa + 0x1000, pa + 0x1000, PT_R | PT_X, 2);
	assert_int_equal(pt_map(&e->pt, ipa, pa, 2 * SZ_2M, PT_R | PT_W | PT_X), 0);
	assert_int_equal(e->f.inval_mapped, 2);
	expect_map(&e->pt, ipa + SZ_2M, pa + SZ_2M, PT_R | PT_W | PT_X, 2);
	/* a page of a split block: in place too */
	assert_int_equal(pt_map(&e->pt, ipa + 0x3000, pa + 0x3000, 0x1000, PT_R | PT_X), 0);
	int calls = e->f.tlb_calls, mapped = e->f.inval_mapped; /* the split broke the block */
	assert_int_equal(pt_map(&e->pt, ipa + 0x3000, pa + 0x3000, 0x1000, PT_R | PT_W | PT_X), 0);
	assert_int_equal(e->f.tlb_calls, calls + 1);
	assert_int_equal(e->f.inval_mapped, mapped + 1);
	assert_int_equal(e->f.tlb[calls].size, PAGE_SIZE);
	/* another output address: broken first */
	assert_int_equal(pt_map(&e->pt, ipa + 0x3000, pa + 0x9000, 0x1000, PT_R | PT_W | PT_X), 0);
	assert_int_equal(e->f.tlb_calls, calls + 2);
	assert_int_equal(e->f.inval_mapped, mapped + 1);
	/* device memory in place of normal: broken first */
	assert_int_equal(pt_map(&e->pt, ipa + SZ_2M, pa + SZ_2M, SZ_2M, PT_R | PT_W | PT_DEVICE),
			 0);
	assert_int_equal(e->f.inval_mapped, mapped + 1);
	env_free(e);
}

/* pt_page_perm: a page's permissions in place (as pt_map would), one page
 * invalidated; a block, a hole or a device page is left to pt_map. */
static void test_page_perm(void **state)
{
	struct env *e = env_new(PT_S2, 40);
	uint64_t ipa = 0x40000000ull, pa = 0x80000000ull;

	assert_int_equal(pt_map(&e->pt, ipa, pa, SZ_2M, PT_R | PT_X), 0);
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x3000, PT_R | PT_W | PT_X), -ENOENT);
	assert_int_equal(pt_map(&e->pt, ipa + 0x3000, pa + 0x3000, 0x1000, PT_R | PT_W | PT_X), 0);
	e->f.pt = &e->pt;
	int calls = e->f.tlb_calls;
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x4000, PT_R | PT_W | PT_X), 0);
	assert_int_equal(e->f.tlb_calls, calls + 1);
	assert_int_equal(e->f.tlb[calls].va, ipa + 0x4000);
	assert_int_equal(e->f.tlb[calls].size, PAGE_SIZE);
	assert_int_equal(e->f.inval_mapped, 1);
	expect_map(&e->pt, ipa + 0x4000, pa + 0x4000, PT_R | PT_W | PT_X, 3);
	expect_map(&e->pt, ipa + 0x5000, pa + 0x5000, PT_R | PT_X, 3);
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x4000, PT_R | PT_W | PT_X), 0);
	assert_int_equal(e->f.tlb_calls, calls + 1); /* unchanged: no invalidation */
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x4fff, PT_R | PT_X), 0);
	expect_map(&e->pt, ipa + 0x4000, pa + 0x4000, PT_R | PT_X, 3);
	assert_int_equal(pt_page_perm(&e->pt, ipa + SZ_2M, PT_R | PT_W), -ENOENT); /* hole */
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x4000, PT_R | PT_W | PT_DEVICE), -EINVAL);
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x4000, PT_W), -EINVAL);
	assert_int_equal(pt_map(&e->pt, ipa + 0x6000, pa + 0x6000, 0x1000, PT_R | PT_W | PT_DEVICE),
			 0);
	assert_int_equal(pt_page_perm(&e->pt, ipa + 0x6000, PT_R | PT_W | PT_X), -ENOENT);
	assert_int_equal(pt_page_perm(&e->pt, 1ull << 40, PT_R), -EINVAL);
	env_free(e);
}

/* ---- splits --------------------------------------------------------------- */

static void test_unmap_half_block_splits(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	uint64_t va = 5 * SZ_2M, pa = 0x40000000ull + 7 * SZ_2M;

	assert_int_equal(pt_map(&e->pt, va, pa, SZ_2M, RW), 0);
	assert_int_equal(pt_unmap(&e->pt, va, SZ_2M / 2), 0);
	expect_unmapped(&e->pt, va);
	expect_unmapped(&e->pt, va + SZ_2M / 2 - 0x1000);
	expect_map(&e->pt, va + SZ_2M / 2, pa + SZ_2M / 2, RW, 3);
	expect_map(&e->pt, va + SZ_2M - 0x1000, pa + SZ_2M - 0x1000, RW, 3);
	/* the block was broken and its whole range invalidated */
	assert_int_equal(e->f.tlb_calls, 1);
	assert_int_equal(e->f.tlb[0].va, va);
	assert_int_equal(e->f.tlb[0].size, SZ_2M);
	env_free(e);
}

static void test_map_into_1g_block_splits_twice(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	int live;

	assert_int_equal(pt_map(&e->pt, SZ_1G, 0, SZ_1G, RW), 0);
	live = e->f.live;
	assert_int_equal(pt_map(&e->pt, SZ_1G + 3 * SZ_2M + 0x5000, 0x7000000, 0x1000, RX), 0);
	assert_int_equal(e->f.live, live + 2);
	expect_map(&e->pt, SZ_1G + 3 * SZ_2M + 0x5000, 0x7000000, RX, 3);
	expect_map(&e->pt, SZ_1G + 3 * SZ_2M + 0x6000, 3 * SZ_2M + 0x6000, RW, 3);
	expect_map(&e->pt, SZ_1G + 3 * SZ_2M + 0x4000, 3 * SZ_2M + 0x4000, RW, 3);
	expect_map(&e->pt, SZ_1G + 4 * SZ_2M, 4 * SZ_2M, RW, 2);
	expect_map(&e->pt, 2 * SZ_1G - 1, SZ_1G - 1, RW, 2);
	assert_int_equal(e->f.tlb_calls, 1);
	assert_int_equal(e->f.tlb[0].va, SZ_1G);
	assert_int_equal(e->f.tlb[0].size, SZ_1G);
	env_free(e);
}

static void test_unmap_unmapped_and_prune(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	int base = e->f.live;

	assert_int_equal(pt_unmap(&e->pt, 0x1000, SZ_1G), 0);
	assert_int_equal(e->f.tlb_calls, 0);
	assert_int_equal(e->f.live, base);

	assert_int_equal(pt_map(&e->pt, 0x7000, 0x7000, 0x2000, RW), 0);
	assert_int_equal(e->f.live, base + 3);
	assert_int_equal(pt_unmap(&e->pt, 0x7000, 0x1000), 0);
	expect_map(&e->pt, 0x8000, 0x8000, RW, 3);
	assert_int_equal(pt_unmap(&e->pt, 0x8000, 0x1000), 0);
	expect_unmapped(&e->pt, 0x8000);
	/* emptied tables went back */
	assert_int_equal(e->f.live, base);
	env_free(e);
}

/* ---- -ENOMEM ---------------------------------------------------------------- */

#define NPROBES 6
static const uint64_t probes[NPROBES] = {
    0x0, 0x3000, SZ_1G, SZ_1G + 5 * SZ_2M + 0x1000, 3 * SZ_1G, (1ull << 40) + 0x4000,
};

static void snapshot(struct pt *pt, uint64_t pa[NPROBES], unsigned attrs[NPROBES], int rc[NPROBES])
{
	for (int i = 0; i < NPROBES; i++) {
		pa[i] = 0;
		attrs[i] = 0;
		rc[i] = pt_translate(pt, probes[i], &pa[i], &attrs[i], NULL);
	}
}

/* Fails the map at every allocation it makes; returns how many it needed. */
static int expect_unchanged(struct env *e, int live)
{
	uint64_t pa0[NPROBES], pa1[NPROBES];
	unsigned at0[NPROBES], at1[NPROBES];
	int rc0[NPROBES], rc1[NPROBES];

	int n;

	snapshot(&e->pt, pa0, at0, rc0);
	for (n = 0;; n++) {
		e->f.fail_after = e->f.allocs + n;
		/* map over the 1 GiB block at an odd pa, then cut into it */
		int err = pt_map(&e->pt, SZ_1G - 0x1000, 0x5000, SZ_2M + 0x3000, RX);

		if (err == 0)
			break;
		assert_int_equal(err, -ENOMEM);
		assert_int_equal(e->f.live, live);
		assert_int_equal(e->f.tlb_calls, 0);
		snapshot(&e->pt, pa1, at1, rc1);
		assert_memory_equal(pa0, pa1, sizeof(pa0));
		assert_memory_equal(at0, at1, sizeof(at0));
		assert_memory_equal(rc0, rc1, sizeof(rc0));
		assert_true(n < 8);
	}
	e->f.fail_after = -1;
	return n;
}

static void test_enomem_leaves_tree_unchanged(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 48);
	int live;

	assert_int_equal(pt_map(&e->pt, SZ_1G, 0x80000000, SZ_1G, RW), 0);
	assert_int_equal(pt_map(&e->pt, 0x3000, 0x3000, 0x1000, RX), 0);
	assert_int_equal(pt_map(&e->pt, 1ull << 40, 0, SZ_2M, DEV), 0);
	live = e->f.live;
	/* one level-3 table below 1 GiB; a split of the 1 GiB block, two below */
	assert_int_equal(expect_unchanged(e, live), 4);
	/* the reservation was exact: all of it is in use */
	assert_int_equal(e->f.live, live + 4);
	expect_map(&e->pt, SZ_1G - 0x1000, 0x5000, RX, 3);
	expect_map(&e->pt, SZ_1G + SZ_2M + 0x1000, 0x5000 + SZ_2M + 0x2000, RX, 3);
	expect_map(&e->pt, SZ_1G + SZ_2M + 0x2000, 0x80000000 + SZ_2M + 0x2000, RW, 3);
	env_free(e);
}

static void test_enomem_unmap_split(void **state)
{
	struct env *e = env_new(PT_S2, 40);
	int live;

	assert_int_equal(pt_map(&e->pt, 0, 0, SZ_1G, RW), 0);
	live = e->f.live;
	e->f.fail_after = e->f.allocs + 1; /* needs a level-2 and a level-3 table */
	assert_int_equal(pt_unmap(&e->pt, 0x200000 + 0x1000, 0x1000), -ENOMEM);
	assert_int_equal(e->f.live, live);
	assert_int_equal(e->f.tlb_calls, 0);
	expect_map(&e->pt, 0x201000, 0x201000, RW, 1);
	e->f.fail_after = -1;
	assert_int_equal(pt_unmap(&e->pt, 0x200000 + 0x1000, 0x1000), 0);
	assert_int_equal(e->f.live, live + 2);
	expect_unmapped(&e->pt, 0x201000);
	expect_map(&e->pt, 0x202000, 0x202000, RW, 3);
	env_free(e);
}

/* ---- -EINVAL -------------------------------------------------------------- */

static void test_einval(void **state)
{
	struct env *e = env_new(PT_S1_EL2, 39);
	struct pt pt;
	struct fake f = {.fail_after = -1};
	uint64_t top = 1ull << 39;

	assert_int_equal(pt_map(&e->pt, 0, 0, 0, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0x800, 0, 0x1000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0x800, 0x1000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0, 0x1800, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, top - 0x1000, 0, 0x2000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, top, 0, 0x1000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, ~0xfffull, 0, 0x2000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 1ull << 48, 0x1000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0, 0x1000, PT_W), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0, 0x1000, PT_X), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0, 0x1000, DEV | PT_X), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0, 0x1000, RW | PT_USER), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0, 0, 0x1000, RW | BIT(7)), -EINVAL);
	assert_int_equal(pt_unmap(&e->pt, 0, 0), -EINVAL);
	assert_int_equal(pt_unmap(&e->pt, 0x10, 0x1000), -EINVAL);
	assert_int_equal(pt_unmap(&e->pt, top - 0x1000, 0x2000), -EINVAL);
	/* the largest range is fine */
	assert_int_equal(pt_map(&e->pt, top - 0x1000, 0, 0x1000, RW), 0);
	assert_int_equal(pt_unmap(&e->pt, 0, top), 0);
	assert_int_equal(e->f.tlb_calls, 1);

	assert_int_equal(pt_init(&pt, PT_S2, 31, &fake_ops, &f, fake_root_alloc), -EINVAL);
	assert_int_equal(pt_init(&pt, PT_S2, 49, &fake_ops, &f, fake_root_alloc), -EINVAL);
	assert_int_equal(pt_init(&pt, (enum pt_format)7, 40, &fake_ops, &f, NULL), -EINVAL);
	assert_int_equal(pt_init(&pt, PT_S1_EL2, 40, NULL, &f, NULL), -EINVAL);
	/* concatenated roots need root_alloc */
	assert_int_equal(pt_init(&pt, PT_S2, 40, &fake_ops, &f, NULL), -EINVAL);
	f.fail_after = 0;
	assert_int_equal(pt_init(&pt, PT_S1_EL2, 48, &fake_ops, &f, NULL), -ENOMEM);
	assert_int_equal(f.live, 0);
	env_free(e);
}

/* ---- start levels ----------------------------------------------------------- */

static void test_start_levels(void **state)
{
	static const struct {
		enum pt_format fmt;
		unsigned ia, level, roots, sl0;
	} cases[] = {
	    {PT_S1_EL2, 32, 1, 1, 1},  {PT_S1_EL2, 39, 1, 1, 1}, {PT_S1_EL2, 40, 0, 1, 2},
	    {PT_S1_EL10, 48, 0, 1, 2}, {PT_S2, 32, 2, 4, 0},	 {PT_S2, 34, 2, 16, 0},
	    {PT_S2, 35, 1, 1, 1},      {PT_S2, 39, 1, 1, 1},	 {PT_S2, 40, 1, 2, 1},
	    {PT_S2, 42, 1, 8, 1},      {PT_S2, 43, 1, 16, 1},	 {PT_S2, 44, 0, 1, 2},
	    {PT_S2, 48, 0, 1, 2},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct env *e = env_new(cases[i].fmt, cases[i].ia);
		uint64_t top = (1ull << cases[i].ia) - PAGE_SIZE;

		assert_int_equal(e->pt.start_level, cases[i].level);
		assert_int_equal(e->pt.root_tables, cases[i].roots);
		assert_int_equal(pt_vtcr_sl0(&e->pt), cases[i].sl0);
		assert_int_equal(pt_t0sz(&e->pt), 64 - cases[i].ia);
		/* both ends of the input range are reachable */
		assert_int_equal(pt_map(&e->pt, top, 0x1000, PAGE_SIZE, RW), 0);
		assert_int_equal(pt_map(&e->pt, 0, 0x2000, PAGE_SIZE, RW), 0);
		expect_map(&e->pt, top, 0x1000, RW, 3);
		expect_map(&e->pt, 0, 0x2000, RW, 3);
		env_free(e);
	}
}

static void test_s2_concatenated_40(void **state)
{
	struct env *e = env_new(PT_S2, 40);
	uint64_t va = (1ull << 39) + 3 * SZ_1G;
	const uint64_t *second = e->pt.root + 512;

	assert_int_equal(e->pt.start_level, 1);
	assert_int_equal(e->pt.root_tables, 2);
	assert_int_equal(pt_vtcr_sl0(&e->pt), 1);
	assert_int_equal(pt_t0sz(&e->pt), 24);
	assert_int_equal(e->f.live, 2);
	assert_int_equal(pt_map(&e->pt, va, 0x80000000, SZ_1G, RW), 0);
	/* a level-1 block in slot 3 of the second root page */
	assert_int_equal(second[3], 0x80000000ull | 0x00400000000007fdull);
	assert_int_equal(e->pt.root[3], 0);
	expect_map(&e->pt, va + 0x1234, 0x80001234, RW, 1);
	expect_unmapped(&e->pt, 3 * SZ_1G);
	env_free(e);
}

/* ---- destroy ---------------------------------------------------------------- */

static void test_destroy_frees_all(void **state)
{
	struct env *e = env_new(PT_S2, 44);

	for (uint64_t i = 0; i < 8; i++)
		assert_int_equal(
		    pt_map(&e->pt, i * (1ull << 39) + i * 0x3000, 0x1000, SZ_2M + 0x5000, RW), 0);
	assert_int_equal(pt_unmap(&e->pt, 0x1000, 0x1000), 0);
	assert_true(e->f.live > 20);
	pt_destroy(&e->pt);
	assert_int_equal(e->f.live, 0);
	assert_null(e->pt.root);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_block_1g),
	    cmocka_unit_test(test_block_2m),
	    cmocka_unit_test(test_unaligned_gives_pages),
	    cmocka_unit_test(test_mixed_blocks),
	    cmocka_unit_test(test_desc_values),
	    cmocka_unit_test(test_translate_roundtrip),
	    cmocka_unit_test(test_replace_calls_tlb_inval),
	    cmocka_unit_test(test_permission_change_in_place),
	    cmocka_unit_test(test_page_perm),
	    cmocka_unit_test(test_block_replaces_table),
	    cmocka_unit_test(test_unmap_half_block_splits),
	    cmocka_unit_test(test_map_into_1g_block_splits_twice),
	    cmocka_unit_test(test_unmap_unmapped_and_prune),
	    cmocka_unit_test(test_enomem_leaves_tree_unchanged),
	    cmocka_unit_test(test_enomem_unmap_split),
	    cmocka_unit_test(test_einval),
	    cmocka_unit_test(test_start_levels),
	    cmocka_unit_test(test_s2_concatenated_40),
	    cmocka_unit_test(test_destroy_frees_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

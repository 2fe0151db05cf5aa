/* Range lists: insertion order, merging, carving, first-fit allocation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include "lib/memrange.h"

static void expect_ranges(const struct memmap *m, unsigned n, const uint64_t (*r)[2])
{
	assert_int_equal(m->n, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(m->r[i].base, r[i][0]);
		assert_int_equal(m->r[i].size, r[i][1]);
	}
}

static void add_sorts_and_merges(void **state)
{
	struct memmap m = {0};
	assert_int_equal(mr_add(&m, 0x3000, 0x1000), 0);
	assert_int_equal(mr_add(&m, 0x1000, 0x1000), 0);
	assert_int_equal(mr_add(&m, 0x8000, 0x1000), 0);
	expect_ranges(&m, 3,
		      (const uint64_t[][2]){{0x1000, 0x1000}, {0x3000, 0x1000}, {0x8000, 0x1000}});
	assert_int_equal(mr_add(&m, 0x2000, 0x1000), 0); /* bridges the first two */
	expect_ranges(&m, 2, (const uint64_t[][2]){{0x1000, 0x3000}, {0x8000, 0x1000}});
	assert_int_equal(mr_total(&m), 0x4000);
}

static void add_rejects_overlap(void **state)
{
	struct memmap m = {0};
	assert_int_equal(mr_add(&m, 0x1000, 0x2000), 0);
	assert_int_equal(mr_add(&m, 0x2000, 0x1000), -EEXIST);
	assert_int_equal(mr_add(&m, 0x0, 0x1001), -EEXIST);
	assert_int_equal(mr_add(&m, UINT64_MAX - 10, 100), -EINVAL);
	expect_ranges(&m, 1, (const uint64_t[][2]){{0x1000, 0x2000}});
}

static void remove_splits_and_trims(void **state)
{
	struct memmap m = {0};
	mr_add(&m, 0x10000, 0x10000);
	assert_int_equal(mr_remove(&m, 0x14000, 0x1000), 0);
	expect_ranges(&m, 2, (const uint64_t[][2]){{0x10000, 0x4000}, {0x15000, 0xb000}});
	assert_int_equal(mr_remove(&m, 0x0, 0x11000), 0);    /* trims the front */
	assert_int_equal(mr_remove(&m, 0x1f000, 0x5000), 0); /* trims the back */
	expect_ranges(&m, 2, (const uint64_t[][2]){{0x11000, 0x3000}, {0x15000, 0xa000}});
	assert_int_equal(mr_remove(&m, 0x0, 0x100000), 0); /* removes everything */
	assert_int_equal(m.n, 0);
}

static void remove_full_list_is_atomic(void **state)
{
	struct memmap m = {0};
	for (unsigned i = 0; i < MR_MAX; i++)
		assert_int_equal(mr_add(&m, i * 0x10000ull, 0x4000), 0);
	assert_int_equal(mr_add(&m, 0x10000000, 0x1000), -ENOSPC);
	assert_int_equal(mr_remove(&m, 0x1000, 0x1000), -ENOSPC); /* would split */
	assert_int_equal(m.r[0].size, 0x4000);
	assert_int_equal(mr_remove(&m, 0x0, 0x1000), 0); /* a trim needs no slot */
	assert_int_equal(m.r[0].base, 0x1000);
}

static void alloc_first_fit_aligned(void **state)
{
	struct memmap m = {0};
	mr_add(&m, 0x1000, 0x3000);
	mr_add(&m, 0x200000, 0x400000);
	assert_int_equal(mr_alloc(&m, 0x2000, 0x1000), 0x1000);
	assert_int_equal(mr_alloc(&m, 0x2000, 0x1000), 0x200000); /* first range too small now */
	assert_int_equal(mr_alloc(&m, 0x200000, 0x200000), 0x400000);
	assert_int_equal(mr_alloc(&m, 0x10000000, 0x1000), 0);
	assert_int_equal(mr_alloc(&m, 0x1000, 0x3000), 0); /* alignment not a power of two */
	assert_int_equal(mr_total(&m), 0x1000 + 0x1fe000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(add_sorts_and_merges),    cmocka_unit_test(add_rejects_overlap),
	    cmocka_unit_test(remove_splits_and_trims), cmocka_unit_test(remove_full_list_is_atomic),
	    cmocka_unit_test(alloc_first_fit_aligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Host tests for ksym_lookup: before the first symbol, exact and inside
 * hits, past a known size, nearest-lower for size-less symbols, and a large
 * table to exercise the binary search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ksyms.h"

/* names: "alpha\0beta\0gamma\0delta\0" */
static const char names[] = "alpha\0beta\0gamma\0delta";
static const struct ksym syms[] = {
    {0x100, 0x20, 0},  /* alpha */
    {0x120, 0, 6},     /* beta: no size (assembly) */
    {0x200, 0x10, 11}, /* gamma */
    {0x300, 0, 17},    /* delta: last, no size */
};
static const struct ksym_table table = {syms, 4, names};

static void expect(uint64_t offset, const char *name, uint64_t within)
{
	uint64_t w = 0xdead;
	const char *got = ksym_lookup(&table, offset, &w);

	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(w, within);
}

static void expect_none(uint64_t offset)
{
	uint64_t w = 0xdead;

	assert_null(ksym_lookup(&table, offset, &w));
	assert_int_equal(w, 0xdead); /* untouched on failure */
}

static void test_before_first(void **state)
{
	expect_none(0);
	expect_none(0xff);
}

static void test_exact_and_inside(void **state)
{
	expect(0x100, "alpha", 0);
	expect(0x104, "alpha", 4);
	expect(0x11f, "alpha", 0x1f);
	expect(0x200, "gamma", 0);
	expect(0x20f, "gamma", 0xf);
}

static void test_past_size(void **state)
{
	expect_none(0x210);
	expect_none(0x2ff);
}

static void test_zero_size_nearest(void **state)
{
	expect(0x120, "beta", 0);
	expect(0x1ff, "beta", 0xdf);
	expect(0x300, "delta", 0);
	expect(0x12345, "delta", 0x12045);
	expect(UINT64_MAX, "delta", UINT64_MAX - 0x300);
}

static void test_within_optional(void **state)
{
	assert_string_equal(ksym_lookup(&table, 0x108, NULL), "alpha");
}

static void test_empty(void **state)
{
	const struct ksym_table empty = {syms, 0, names};
	const struct ksym_table none = {NULL, 0, ""};
	uint64_t w;

	assert_null(ksym_lookup(&empty, 0x100, &w));
	assert_null(ksym_lookup(&none, 0x100, &w));
	assert_null(ksym_lookup(NULL, 0x100, &w));
}

static void test_single(void **state)
{
	const struct ksym_table one = {syms, 1, names};
	uint64_t w;

	assert_null(ksym_lookup(&one, 0xff, &w));
	assert_string_equal(ksym_lookup(&one, 0x110, &w), "alpha");
	assert_null(ksym_lookup(&one, 0x120, &w));
}

/* 1000 symbols of 8 bytes every 16: every hit, every gap. */
static void test_large(void **state)
{
	enum { N = 1000 };
	struct ksym *big = calloc(N, sizeof(*big));
	char *bnames = calloc(N, 8);
	assert_non_null(big);
	assert_non_null(bnames);
	for (unsigned i = 0; i < N; i++) {
		big[i] = (struct ksym){0x1000 + i * 16, 8, i * 8};
		snprintf(bnames + i * 8, 8, "f%u", i);
	}
	const struct ksym_table t = {big, N, bnames};
	char want[8];
	uint64_t w;

	for (unsigned i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "f%u", i);
		assert_string_equal(ksym_lookup(&t, 0x1000 + i * 16, &w), want);
		assert_int_equal(w, 0);
		assert_string_equal(ksym_lookup(&t, 0x1000 + i * 16 + 7, &w), want);
		assert_int_equal(w, 7);
		assert_null(ksym_lookup(&t, 0x1000 + i * 16 + 8, &w));
	}
	assert_null(ksym_lookup(&t, 0xfff, &w));
	free(big);
	free(bnames);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_before_first),    cmocka_unit_test(test_exact_and_inside),
	    cmocka_unit_test(test_past_size),	    cmocka_unit_test(test_zero_size_nearest),
	    cmocka_unit_test(test_within_optional), cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_single),	    cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

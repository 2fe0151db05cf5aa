/*
 * Host tests for backtrace_walk over a fake stack in an array: host
 * pointers stand in for EL2 addresses, and readable() only admits the
 * array (or a chosen part of it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/backtrace.h"

#define WORDS 64

static uint64_t stack[WORDS] __attribute__((aligned(16)));
static uint64_t lo, hi;	 /* readable window */
static unsigned reads;	 /* readable() calls */
static uint64_t checked; /* last address readable() was asked about */

static uint64_t at(unsigned word)
{
	return (uint64_t)(uintptr_t)&stack[word];
}

static bool readable(uint64_t a)
{
	reads++;
	checked = a;
	return a >= lo && a < hi && hi - a >= 16;
}

/* A frame record at word w: {next fp, return address}. */
static void frame(unsigned w, uint64_t next, uint64_t lr)
{
	stack[w] = next;
	stack[w + 1] = lr;
}

static int setup(void **state)
{
	memset(stack, 0, sizeof(stack));
	lo = at(0);
	hi = at(WORDS);
	reads = 0;
	return 0;
}

static void chain3(void)
{
	frame(4, at(10), 0x1111);
	frame(10, at(20), 0x2222);
	frame(20, 0, 0x3333);
}

static void test_three_frames(void **state)
{
	uint64_t pcs[8];

	chain3();
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 8), 3);
	assert_int_equal(pcs[0], 0x1111);
	assert_int_equal(pcs[1], 0x2222);
	assert_int_equal(pcs[2], 0x3333);
	assert_int_equal(reads, 3);
}

static void test_max(void **state)
{
	uint64_t pcs[2] = {0, 0};

	chain3();
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 2), 2);
	assert_int_equal(pcs[1], 0x2222);
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 0), 0);
}

static void test_cycle(void **state)
{
	uint64_t pcs[16];

	frame(4, at(10), 0x1111);
	frame(10, at(4), 0x2222); /* back down: would loop forever */
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 16), 2);

	frame(30, at(30), 0x3333); /* points at itself */
	assert_int_equal(backtrace_walk(at(30), readable, pcs, 16), 1);
	assert_int_equal(pcs[0], 0x3333);
}

static void test_misaligned(void **state)
{
	uint64_t pcs[8];

	chain3();
	assert_int_equal(backtrace_walk(at(4) + 4, readable, pcs, 8), 0);
	assert_int_equal(reads, 0); /* rejected before asking */

	frame(10, at(20) + 1, 0x2222); /* misaligned link: stop after it */
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 8), 2);
	assert_int_equal(pcs[1], 0x2222);
}

static void test_unreadable(void **state)
{
	uint64_t pcs[8];

	chain3();
	hi = at(20); /* the third record is off limits */
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 8), 2);
	assert_int_equal(checked, at(20));

	/* straddling the end of the window: 8 bytes readable, 16 needed */
	hi = at(21);
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 8), 2);
	assert_int_equal(checked, at(20));

	/* the very first record unreadable: nothing at all */
	lo = at(8);
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 8), 0);
}

static void test_start_null(void **state)
{
	uint64_t pcs[4];

	assert_int_equal(backtrace_walk(0, readable, pcs, 4), 0);
	assert_int_equal(reads, 0);
}

/* A zero return address marks the outermost frame (entry code). */
static void test_zero_lr(void **state)
{
	uint64_t pcs[8];

	frame(4, at(10), 0x1111);
	frame(10, at(20), 0);
	frame(20, 0, 0x3333);
	assert_int_equal(backtrace_walk(at(4), readable, pcs, 8), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_three_frames, setup),
	    cmocka_unit_test_setup(test_max, setup),
	    cmocka_unit_test_setup(test_cycle, setup),
	    cmocka_unit_test_setup(test_misaligned, setup),
	    cmocka_unit_test_setup(test_unreadable, setup),
	    cmocka_unit_test_setup(test_start_null, setup),
	    cmocka_unit_test_setup(test_zero_lr, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Host tests for smmu/queue_idx.c: SMMUv3 queue positions (Arm IHI 0070,
 * 3.5.1 - log2 bits of index, then one wrap bit), checked by hand at the
 * wrap boundary and against a model with unbounded counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "smmu/smmu_hw.h"

static const unsigned sizes[] = {1, 2, 3, 8, 19}; /* 19: the largest CMDQS/EVENTQS */

static void test_empty_at_reset(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned l = sizes[i];

		assert_true(q_empty(0, 0, l));
		assert_false(q_full(0, 0, l));
		assert_int_equal(q_used(0, 0, l), 0);
		assert_int_equal(q_space(0, 0, l), 1u << l);
	}
}

/* The last index wraps to index 0 with the wrap bit toggled, both ways. */
static void test_inc_across_wrap(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned l = sizes[i], n = 1u << l;

		assert_int_equal(q_inc(0, l), 1);
		assert_int_equal(q_inc(n - 1, l), n); /* index 0, wrap 1 */
		assert_int_equal(q_idx(n, l), 0);
		assert_int_equal(q_wrap(n, l), n);
		assert_int_equal(q_inc(2 * n - 1, l), 0); /* index 0, wrap 0 */
		assert_int_equal(q_inc(n, l), n + 1);
	}
}

/* Worked example, 8 entries (log2 3): index bits [2:0], wrap bit 3. */
static void test_hand_values_log2_3(void **state)
{
	assert_true(q_full(0x8, 0x0, 3));  /* idx 0/0, wrap 1/0 */
	assert_true(q_full(0x3, 0xb, 3));  /* idx 3/3, wrap 0/1 */
	assert_true(q_empty(0xb, 0xb, 3)); /* both wrapped once */
	assert_false(q_empty(0x8, 0x0, 3));
	assert_int_equal(q_used(0x1, 0xf, 3), 2); /* cons at 7 (wrap 1), prod at 1 (wrap 0) */
	assert_int_equal(q_space(0x1, 0xf, 3), 6);
	assert_int_equal(q_used(0x8, 0x0, 3), 8);
	assert_int_equal(q_space(0x8, 0x0, 3), 0);
}

/* CMDQ_CONS.ERR [30:24] and the overflow flags (bit 31) are not position. */
static void test_flags_ignored(void **state)
{
	uint32_t err = 1u << 24, ovf = Q_OVF;

	assert_true(q_empty(0x5 | ovf, 0x5 | err, 8));
	assert_false(q_full(0x5 | ovf, 0x5, 8));
	assert_int_equal(q_used(0x7 | ovf, 0x5 | err, 8), 2);
	assert_int_equal(q_idx(0x105 | err, 8), 5);
	assert_int_equal(q_wrap(0x105 | ovf, 8), 0x100);
	assert_int_equal(q_inc(0xff | ovf, 8), 0x100); /* flags dropped */
}

/* Fill to full, drain to empty, repeatedly: the positions must agree with
 * plain counters at every step, across many wraps. */
static void test_model(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned l = sizes[i], n = 1u << l;
		uint64_t head = 0, tail = 0; /* entries produced / consumed, unbounded */
		uint32_t prod = 0, cons = 0, seed = 12345;

		for (unsigned step = 0; step < 20000; step++) {
			seed = seed * 1103515245u + 12345u;
			bool produce = (seed >> 16) & 1;

			if (produce && head - tail < n) {
				prod = q_inc(prod, l);
				head++;
			} else if (!produce && head != tail) {
				cons = q_inc(cons, l);
				tail++;
			}
			assert_int_equal(q_used(prod, cons, l), head - tail);
			assert_int_equal(q_space(prod, cons, l), n - (head - tail));
			assert_int_equal(q_empty(prod, cons, l), head == tail);
			assert_int_equal(q_full(prod, cons, l), head - tail == n);
			assert_int_equal(q_idx(prod, l), head % n);
			assert_int_equal(q_wrap(prod, l) != 0, (head / n) & 1);
		}
	}
}

/* A full queue: prod is exactly one lap ahead, for every cons position. */
static void test_full_everywhere(void **state)
{
	unsigned l = 3, n = 8;
	uint32_t cons = 0;

	for (unsigned i = 0; i < 4 * n; i++) {
		uint32_t prod = cons;

		for (unsigned k = 0; k < n; k++)
			prod = q_inc(prod, l);
		assert_true(q_full(prod, cons, l));
		assert_false(q_empty(prod, cons, l));
		assert_int_equal(q_space(prod, cons, l), 0);
		cons = q_inc(cons, l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_at_reset),
	    cmocka_unit_test(test_inc_across_wrap),
	    cmocka_unit_test(test_hand_values_log2_3),
	    cmocka_unit_test(test_flags_ignored),
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_full_everywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

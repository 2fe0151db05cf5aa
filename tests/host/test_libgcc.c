/* lib/libgcc.c: the general-register popcount behind __popcountdi2,
 * against the host compiler's builtin. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "lib/libgcc.h"

static void popcount_edges(void **state)
{
	assert_int_equal(popcount64(0), 0);
	assert_int_equal(popcount64(~0ull), 64);
	assert_int_equal(popcount64(1ull << 63), 1);
	assert_int_equal(popcount64(0x8000000000000001ull), 2);
	assert_int_equal(popcount64(0xffffffffull), 32);
	assert_int_equal(popcount64(0x5555555555555555ull), 32);
	for (unsigned b = 0; b < 64; b++) {
		assert_int_equal(popcount64(1ull << b), 1);
		assert_int_equal(popcount64(~(1ull << b)), 63);
		assert_int_equal(popcount64((1ull << b) - 1), b);
	}
}

/* A xorshift sequence: every byte pattern mixes. */
static void popcount_matches_builtin(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		assert_int_equal(popcount64(x), (unsigned)__builtin_popcountll(x));
		assert_int_equal(popcount64(x & (x >> 3)),
				 (unsigned)__builtin_popcountll(x & (x >> 3)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(popcount_edges),
	    cmocka_unit_test(popcount_matches_builtin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* What guests read of the CPU's PMU in the ID registers: PMUv3 as it is,
 * an IMPLEMENTATION DEFINED PMU as none, and no PMU features whose state
 * tessera does not switch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "arch/arm64/arch.h"

#define DFR0	  5, 0
#define DFR1	  5, 1
#define DFR0_AA32 1, 2

static void pmuver_kept(void **state)
{
	/* PMUv3p5 (6) with SPE (PMSVer 1, bits 35:32) beside it */
	uint64_t hw = 6ull << 8 | 1ull << 32 | 0x6;
	assert_int_equal(idreg_sanitize(DFR0, hw), 6ull << 8 | 0x6);
	assert_int_equal(idreg_sanitize(DFR0, 1ull << 8), 1ull << 8); /* PMUv3 */
	assert_int_equal(idreg_sanitize(DFR0_AA32, 3ull << 24), 3ull << 24);
}

static void impdef_pmu_hidden(void **state)
{
	assert_int_equal(idreg_sanitize(DFR0, 0xfull << 8 | 0x6), 0x6);
	assert_int_equal(idreg_sanitize(DFR0_AA32, 0xfull << 24 | 0x3), 0x3);
}

static void unswitched_pmu_features_hidden(void **state)
{
	uint64_t hw = 1ull << 36 | 1ull << 48 | 0xf0; /* PMICNTR, EBEP, other fields */
	assert_int_equal(idreg_sanitize(DFR1, hw), 0xf0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pmuver_kept),
	    cmocka_unit_test(impdef_pmu_hidden),
	    cmocka_unit_test(unswitched_pmu_features_hidden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

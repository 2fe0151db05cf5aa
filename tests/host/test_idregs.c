/*
 * Host tests for the ID-register sanitiser (arch/arm64/idregs.c): which
 * fields guests see as the hardware has them and which read as "not
 * implemented". Field positions from the Arm ARM's register descriptions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arch/arm64/arch.h"

#define F(shift) (0xfull << (shift))
#define ALL	 (~0ull)

/* (CRm, op2) of Op0 3, Op1 0, CRn 0 */
#define PFR0_A32 1, 0
#define PFR0	 4, 0
#define PFR1	 4, 1
#define DFR0	 5, 0
#define ISAR2	 6, 2
#define MMFR1	 7, 1
#define ZFR0	 4, 4
#define SMFR0	 4, 5

static void test_amu_hidden(void **state)
{
	/* ID_AA64PFR0_EL1.AMU [47:44] (CPTR_EL2.TAM traps the registers) */
	assert_int_equal(idreg_sanitize(PFR0, F(44)), 0);
	assert_int_equal(idreg_sanitize(PFR0, 0x1ull << 44 | 0x1111), 0x1111);
	/* ID_PFR0_EL1.AMU [23:20] */
	assert_int_equal(idreg_sanitize(PFR0_A32, ALL), ALL & ~F(20));
	assert_int_equal(idreg_sanitize(PFR0_A32, 0x00110131), 0x00010131); /* CSV2 [19:16] stays */
}

static void test_lor_hidden(void **state)
{
	/* ID_AA64MMFR1_EL1.LO [19:16] (HCR_EL2.TLOR traps the registers);
	 * PAN [23:20], VH [11:8], VMIDBits [7:4] and the rest stay */
	assert_int_equal(idreg_sanitize(MMFR1, 0x11212122ull), 0x11202122ull);
	assert_int_equal(idreg_sanitize(MMFR1, ALL), ALL & ~F(16));
}

/* FEAT_WFxT stays: WFIT's timeout is honoured (ID_AA64ISAR2_EL1.WFxT [3:0]);
 * the pointer authentication fields beside it stay too. */
static void test_wfxt_kept(void **state)
{
	assert_int_equal(idreg_sanitize(ISAR2, 0x2ull), 0x2ull);
	assert_int_equal(idreg_sanitize(ISAR2, 0x00001012ull), 0x00001012ull);
}

/* The debug architecture is switched with the vCPU: DebugVer [3:0],
 * BRPs [15:12], WRPs [23:20], CTX_CMPs [31:28], DoubleLock [39:36] stay,
 * and so does PMUVer [11:8] (PMUv3 is the guest's, pmu.c; test_idregs_pmu);
 * PMSVer [35:32], TraceBuffer [47:44], BRBE [55:52] go. */
static void test_debug_kept(void **state)
{
	uint64_t hw =
	    0x0011100f10305119ull; /* BRBE 1, TraceBuffer 1, DoubleLock 0, PMSVer 0x0f... */
	uint64_t keep = F(0) | F(8) | F(12) | F(20) | F(28) | F(36);
	assert_int_equal(idreg_sanitize(DFR0, hw) & keep, hw & keep);
	assert_int_equal(idreg_sanitize(DFR0, hw) & (F(32) | F(44) | F(52)), 0);
	/* QEMU max's 6 breakpoints, 4 watchpoints */
	assert_int_equal(idreg_sanitize(DFR0, 0x305009ull) & 0xfff0f0ffull,
			 0x305009ull & 0xfff0f0ffull);
}

/* MTE [11:8] and SME [27:24] go; BT [3:0] and SSBS [7:4] stay. */
static void test_pfr1(void **state)
{
	assert_int_equal(idreg_sanitize(PFR1, 0x01000221ull), 0x00000021ull);
}

/* Registers the sanitiser has no rule for pass through unchanged. */
static void test_untouched(void **state)
{
	assert_int_equal(idreg_sanitize(6, 0, 0x1221100110212120ull), 0x1221100110212120ull);
	assert_int_equal(idreg_sanitize(7, 0, 0x1122ull), 0x1122ull);
	assert_int_equal(idreg_sanitize(0, 0, ALL), ALL);
}

/* SVE [35:32] and ID_AA64ZFR0_EL1 only for partitions with SVE; SME
 * [27:24] and ID_AA64SMFR0_EL1 for none; the rest as without SVE. */
static void test_sve_opt(void **state)
{
	uint64_t pfr0 = 0x1201111100110011ull | 0x1ull << 32 | 0x1ull << 40 | 0x1ull << 44;
	uint64_t zfr0 = 0x0110110000000021ull; /* SVEver 1 (SVE2), AES 2, ... */
	assert_int_equal(idreg_sanitize(PFR0, pfr0) & F(32), 0);
	assert_int_equal(idreg_sanitize_opt(PFR0, pfr0, 0), idreg_sanitize(PFR0, pfr0));
	assert_int_equal(idreg_sanitize_opt(PFR0, pfr0, IDREG_SVE),
			 idreg_sanitize(PFR0, pfr0) | 0x1ull << 32);
	/* MPAM [43:40] and AMU [47:44] stay hidden with SVE */
	assert_int_equal(idreg_sanitize_opt(PFR0, pfr0, IDREG_SVE) & (F(40) | F(44)), 0);
	assert_int_equal(idreg_sanitize_opt(ZFR0, zfr0, 0), 0);
	assert_int_equal(idreg_sanitize_opt(ZFR0, zfr0, IDREG_SVE), zfr0);
	assert_int_equal(idreg_sanitize_opt(SMFR0, ALL, IDREG_SVE), 0);
	assert_int_equal(idreg_sanitize_opt(PFR1, 0x01000221ull, IDREG_SVE), 0x00000021ull);
	assert_int_equal(idreg_sanitize_opt(MMFR1, ALL, IDREG_SVE), ALL & ~F(16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_amu_hidden), cmocka_unit_test(test_lor_hidden),
	    cmocka_unit_test(test_wfxt_kept),  cmocka_unit_test(test_debug_kept),
	    cmocka_unit_test(test_pfr1),       cmocka_unit_test(test_untouched),
	    cmocka_unit_test(test_sve_opt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

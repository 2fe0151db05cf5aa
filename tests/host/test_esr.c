/*
 * Host tests for ESR decoding. Expected strings are worked out by hand from
 * the Arm ARM's ESR_EL2 field layouts (EC[31:26], IL[25], ISS[24:0]).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/arm64/esr.h"

static void check(uint64_t esr, const char *want)
{
	char buf[256];
	int n = esr_describe(esr, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

/* 0x96000045: EC 0x25, IL 1, ISS 0x45 = WnR | DFSC 0b000101 */
static void test_data_abort_same_el(void **state)
{
	check(0x96000045, "EC 0x25 data abort (same EL): translation fault, level 1, write, "
			  "FAR valid");
	check(0x96000007, "EC 0x25 data abort (same EL): translation fault, level 3, read, "
			  "FAR valid");
	check(0x9600004f, "EC 0x25 data abort (same EL): permission fault, level 3, write, "
			  "FAR valid");
	check(0x96000021, "EC 0x25 data abort (same EL): alignment fault, read, FAR valid");
	check(0x96000030, "EC 0x25 data abort (same EL): TLB conflict abort, read, FAR valid");
	check(0x9600000a, "EC 0x25 data abort (same EL): access flag fault, level 2, read, "
			  "FAR valid");
	check(0x96000002, "EC 0x25 data abort (same EL): address size fault, level 2, read, "
			  "FAR valid");
}

/* FEAT_LPA2 level -1 codes: 0x2b translation, 0x29 address size */
static void test_level_minus_one(void **state)
{
	check(0x9600002b, "EC 0x25 data abort (same EL): translation fault, level -1, read, "
			  "FAR valid");
	check(0x86000029, "EC 0x21 instruction abort (same EL): address size fault, "
			  "level -1, FAR valid");
}

/* ISS 0x410: FnV (bit 10) set, DFSC 0x10; ISS 0x114: CM, SEA on walk L0 */
static void test_external_abort(void **state)
{
	check(0x96000410, "EC 0x25 data abort (same EL): synchronous external abort, read, "
			  "FAR not valid");
	check(0x96000154, "EC 0x25 data abort (same EL): synchronous external abort on table "
			  "walk, level 0, cache maintenance, write, FAR valid");
}

/* A guest STR w1 to unmapped MMIO: ISS = ISV | SAS=2 | SRT=1 | WnR | DFSC 6 */
static void test_data_abort_isv(void **state)
{
	check(0x93810046, "EC 0x24 data abort (lower EL): translation fault, level 2, write, "
			  "FAR valid, ISV: SAS=word, SRT=w1");
	/* a 64-bit load into xzr: SAS=3, SRT=31, SF=1, read */
	check(0x93df8006, "EC 0x24 data abort (lower EL): translation fault, level 2, read, "
			  "FAR valid, ISV: SAS=doubleword, SRT=xzr");
	/* LDRSB x7: SAS=0, SRT=7, SF=1 */
	check(0x93078005, "EC 0x24 data abort (lower EL): translation fault, level 1, read, "
			  "FAR valid, ISV: SAS=byte, SRT=x7");
}

/* ISS 0x86: S1PTW | DFSC 6, from a guest's stage 2 walk */
static void test_data_abort_s1ptw(void **state)
{
	check(0x92000086, "EC 0x24 data abort (lower EL): translation fault, level 2, on "
			  "stage 1 walk, read, FAR valid");
}

static void test_instruction_abort(void **state)
{
	check(0x8600000f, "EC 0x21 instruction abort (same EL): permission fault, level 3, "
			  "FAR valid");
	check(0x82000006, "EC 0x20 instruction abort (lower EL): translation fault, level 2, "
			  "FAR valid");
}

static void test_unknown_fault_status(void **state)
{
	check(0x9600003f, "EC 0x25 data abort (same EL): fault status 0x3f, read, FAR valid");
}

/* HVC #0x1234 from AArch64: EC 0x16 << 26 | IL | imm16 */
static void test_calls(void **state)
{
	check(0x5a001234, "EC 0x16 HVC (AArch64): imm16 0x1234");
	check(0x56000000, "EC 0x15 SVC (AArch64): imm16 0x0000");
	check(0x5e000001, "EC 0x17 SMC (AArch64): imm16 0x0001");
	check(0x4a00abcd, "EC 0x12 HVC (AArch32): imm16 0xabcd");
	check(0xf2000800, "EC 0x3c BRK (AArch64): imm16 0x0800");
	/* SMC from AArch32 has no immediate in its ISS */
	check(0x4e000000, "EC 0x13 SMC (AArch32): ISS 0x0");
}

/*
 * EC 0x18 ISS: Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10] Rt[9:5] CRm[4:1]
 * Direction[0] (1 = read). MRS x5, HCR_EL2 (S3_4_C1_C1_0):
 * 3<<20 | 0<<17 | 4<<14 | 1<<10 | 5<<5 | 1<<1 | 1 = 0x3104a3.
 */
static void test_sysreg_trap(void **state)
{
	check(0x623104a3, "EC 0x18 MSR/MRS/system instruction: S3_4_C1_C1_0, read, Rt=x5");
	/* MSR SCTLR_EL1, x0 (S3_0_C1_C0_0): 3<<20 | 1<<10 = 0x300400 */
	check(0x62300400, "EC 0x18 MSR/MRS/system instruction: S3_0_C1_C0_0, write, Rt=x0");
	/* MSR ICC_SGI1R_EL1 (S3_0_C12_C11_5), xzr: 3<<20|5<<17|12<<10|31<<5|11<<1 */
	check(0x623a33f6, "EC 0x18 MSR/MRS/system instruction: S3_0_C12_C11_5, write, "
			  "Rt=xzr");
}

static void test_other_classes(void **state)
{
	check(0x02000000, "EC 0x00 unknown reason: ISS 0x0");
	check(0x06000001, "EC 0x01 WFI/WFE: ISS 0x1");
	check(0xbe000000, "EC 0x2f SError: ISS 0x0");
	check(0x8a000000, "EC 0x22 PC alignment fault: ISS 0x0");
	check(0x1fe00000, "EC 0x07 SVE/SIMD/FP access: ISS 0x1e00000");
}

/* 0x3b is unallocated */
static void test_unknown_ec(void **state)
{
	check(0xee000001, "EC 0x3b unknown EC 0x3b: ISS 0x1");
	assert_string_equal(esr_class_name(0x02), "unknown EC 0x02");
	assert_string_equal(esr_class_name(0x3f), "unknown EC 0x3f");
	assert_string_equal(esr_class_name(64), "invalid EC");
}

static void test_class_names(void **state)
{
	assert_string_equal(esr_class_name(0x18), "MSR/MRS/system instruction");
	assert_string_equal(esr_class_name(0x19), "SVE access");
	assert_string_equal(esr_class_name(0x1a), "ERET");
	assert_string_equal(esr_class_name(0x1c), "pointer authentication failure");
	assert_string_equal(esr_class_name(0x0d), "branch target exception");
	assert_string_equal(esr_class_name(0x0e), "illegal execution state");
	assert_string_equal(esr_class_name(0x26), "SP alignment fault");
	assert_string_equal(esr_class_name(0x31), "breakpoint (same EL)");
	assert_string_equal(esr_class_name(0x34), "watchpoint (lower EL)");
	assert_string_equal(esr_class_name(0x33), "software step (same EL)");
	/* every EC has a non-empty name */
	for (unsigned ec = 0; ec < 64; ec++) {
		assert_non_null(esr_class_name(ec));
		assert_true(esr_class_name(ec)[0] != '\0');
	}
}

/* The upper 32 bits (ISS2) do not disturb the decoding. */
static void test_iss2_ignored(void **state)
{
	check(0x0000000196000045ull, "EC 0x25 data abort (same EL): translation fault, "
				     "level 1, write, FAR valid");
}

/* snprintf semantics: truncated but terminated, full length returned. */
static void test_truncation(void **state)
{
	const char *full = "EC 0x16 HVC (AArch64): imm16 0x1234";
	char buf[10];

	memset(buf, 'z', sizeof(buf));
	assert_int_equal(esr_describe(0x5a001234, buf, sizeof(buf)), (int)strlen(full));
	assert_string_equal(buf, "EC 0x16 H");
	assert_int_equal(esr_describe(0x5a001234, NULL, 0), (int)strlen(full));

	char one[1] = {'z'};
	assert_int_equal(esr_describe(0x96000045, one, 1),
			 (int)strlen("EC 0x25 data abort (same EL): translation fault, level 1, "
				     "write, FAR valid"));
	assert_int_equal(one[0], '\0');

	/* truncation inside a later piece keeps the string terminated */
	char mid[40];
	esr_describe(0x93810046, mid, sizeof(mid));
	assert_int_equal(strlen(mid), sizeof(mid) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_abort_same_el),	 cmocka_unit_test(test_level_minus_one),
	    cmocka_unit_test(test_external_abort),	 cmocka_unit_test(test_data_abort_isv),
	    cmocka_unit_test(test_data_abort_s1ptw),	 cmocka_unit_test(test_instruction_abort),
	    cmocka_unit_test(test_unknown_fault_status), cmocka_unit_test(test_calls),
	    cmocka_unit_test(test_sysreg_trap),		 cmocka_unit_test(test_other_classes),
	    cmocka_unit_test(test_unknown_ec),		 cmocka_unit_test(test_class_names),
	    cmocka_unit_test(test_iss2_ignored),	 cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

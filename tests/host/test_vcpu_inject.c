/*
 * Host tests for exception injection (arch/arm64/vcpu_inject.c). Expected
 * values are worked out by hand from the Arm ARM: ESR_EL1 EC[31:26], IL[25],
 * ISS (FnV[10], WnR[6], FSC[5:0] = 0x10 synchronous external abort); the
 * vector offsets of VBAR_EL1 (0x000 current EL with SP0, 0x200 current EL
 * with SPx, 0x400 lower EL AArch64, 0x600 lower EL AArch32); and the PSTATE
 * an exception taken to AArch64 EL1h gets (AArch64.TakeException).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/arm64/arch.h"

#define VBAR	 0x40081000ull
#define PC	 0x40082344ull
#define VA	 0xffff000012345678ull
#define EL0T	 0x0ull
#define EL1T	 0x4ull
#define EL1H	 0x5ull
#define A32_USR	 0x10ull /* AArch32 User mode: nRW set, M = 0 */
#define DAIF	 (0xfull << 6)
#define NZCV_ZC	 (0x6ull << 28)
#define BTYPE_3	 (3ull << 10)
#define SSBS	 (1ull << 12)
#define IL	 (1ull << 20)
#define SS	 (1ull << 21)
#define PAN	 (1ull << 22)
#define UAO	 (1ull << 23)
#define DIT	 (1ull << 24)
#define SPAN	 (1ull << 23)		/* SCTLR_EL1 */
#define DSSBS	 (1ull << 44)		/* SCTLR_EL1 */
#define SCTLR_ON (0x30d00801ull | SPAN) /* RES1 bits (SPAN among them), MMU on */

static struct vcpu_ctx ctx(uint64_t pstate, uint64_t sctlr)
{
	struct vcpu_ctx c;
	memset(&c, 0, sizeof(c));
	c.pc = PC;
	c.pstate = pstate;
	c.sctlr = sctlr;
	c.vbar = VBAR;
	c.esr = 0xdead;
	c.far = 0xbeef;
	c.x[0] = 0x1234;
	return c;
}

/* What every injection does: return state saved, GPRs untouched. */
static void check_common(const struct vcpu_ctx *c, uint64_t old_pstate, uint64_t vec)
{
	assert_int_equal(c->elr_el1, PC);
	assert_int_equal(c->spsr_el1, old_pstate);
	assert_int_equal(c->pc, VBAR + vec);
	assert_int_equal(c->x[0], 0x1234);
}

static void test_dabt_from_el1h_write(void **state)
{
	uint64_t old = EL1H | NZCV_ZC;
	struct vcpu_ctx c = ctx(old, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, true);
	/* EC 0x25 (same EL), IL, WnR, FSC 0x10 */
	assert_int_equal(c.esr, 0x96000050);
	assert_int_equal(c.far, VA);
	check_common(&c, old, 0x200);
	assert_int_equal(c.pstate, EL1H | DAIF | NZCV_ZC);
}

static void test_dabt_from_el0_read(void **state)
{
	uint64_t old = EL0T;
	struct vcpu_ctx c = ctx(old, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, false);
	assert_int_equal(c.esr, 0x92000010); /* EC 0x24 (lower EL), IL, read */
	assert_int_equal(c.far, VA);
	check_common(&c, old, 0x400);
	assert_int_equal(c.pstate, EL1H | DAIF);
}

static void test_dabt_from_el1t(void **state)
{
	uint64_t old = EL1T | DAIF;
	struct vcpu_ctx c = ctx(old, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, false);
	assert_int_equal(c.esr, 0x96000010);
	check_common(&c, old, 0x000);
	assert_int_equal(c.pstate, EL1H | DAIF);
}

static void test_dabt_far_not_valid(void **state)
{
	struct vcpu_ctx c = ctx(EL1H, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, false, true);
	assert_int_equal(c.esr, 0x96000450); /* FnV: FAR_EL1 is UNKNOWN */
	assert_int_equal(c.far, 0);	     /* and not a stale value */
}

static void test_iabt(void **state)
{
	struct vcpu_ctx c = ctx(EL1H, SCTLR_ON);
	vcpu_inject_iabt(&c, VA, true);
	assert_int_equal(c.esr, 0x86000010); /* EC 0x21, IL, IFSC 0x10 */
	assert_int_equal(c.far, VA);
	check_common(&c, EL1H, 0x200);

	c = ctx(EL0T, SCTLR_ON);
	vcpu_inject_iabt(&c, VA, true);
	assert_int_equal(c.esr, 0x82000010); /* EC 0x20 */
	check_common(&c, EL0T, 0x400);

	c = ctx(EL1T, SCTLR_ON);
	vcpu_inject_iabt(&c, VA, false);
	assert_int_equal(c.esr, 0x86000410);
	assert_int_equal(c.far, 0);
	check_common(&c, EL1T, 0x000);
}

static void test_from_aarch32(void **state)
{
	uint64_t old = A32_USR | NZCV_ZC;
	struct vcpu_ctx c = ctx(old, SCTLR_ON);
	vcpu_inject_dabt(&c, 0x8000, true, false);
	assert_int_equal(c.esr, 0x92000010);
	check_common(&c, old, 0x600);
	assert_int_equal(c.pstate, EL1H | DAIF | NZCV_ZC);
}

static void test_undef(void **state)
{
	struct vcpu_ctx c = ctx(EL0T, SCTLR_ON);
	vcpu_inject_undef(&c);
	assert_int_equal(c.esr, 0x02000000); /* EC 0 (unknown reason), IL */
	assert_int_equal(c.far, 0xbeef);     /* FAR_EL1 is not written */
	check_common(&c, EL0T, 0x400);
}

/* SCTLR_EL1.SPAN = 0: PAN is set on entry; = 1: PAN keeps its value. */
static void test_pan(void **state)
{
	struct vcpu_ctx c = ctx(EL1H, SCTLR_ON & ~SPAN);
	vcpu_inject_dabt(&c, VA, true, false);
	assert_int_equal(c.pstate, EL1H | DAIF | PAN);

	c = ctx(EL0T, SCTLR_ON & ~SPAN);
	vcpu_inject_undef(&c);
	assert_int_equal(c.pstate, EL1H | DAIF | PAN);

	c = ctx(EL1H | PAN, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, false);
	assert_int_equal(c.pstate, EL1H | DAIF | PAN);
	assert_int_equal(c.spsr_el1, EL1H | PAN);

	c = ctx(EL1H, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, false);
	assert_int_equal(c.pstate & PAN, 0);
}

/* PSTATE.SSBS takes SCTLR_EL1.DSSBS, whatever it was. */
static void test_ssbs(void **state)
{
	struct vcpu_ctx c = ctx(EL1H, SCTLR_ON | DSSBS);
	vcpu_inject_iabt(&c, VA, true);
	assert_int_equal(c.pstate, EL1H | DAIF | SSBS);

	c = ctx(EL1H | SSBS, SCTLR_ON);
	vcpu_inject_iabt(&c, VA, true);
	assert_int_equal(c.pstate, EL1H | DAIF);
	assert_int_equal(c.spsr_el1, EL1H | SSBS);
}

/* UAO, SS, IL and BTYPE are cleared; DIT and NZCV survive; D, A, I, F set. */
static void test_cleared_and_kept(void **state)
{
	uint64_t old = EL0T | UAO | SS | IL | BTYPE_3 | DIT | NZCV_ZC;
	struct vcpu_ctx c = ctx(old, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, true);
	assert_int_equal(c.pstate, EL1H | DAIF | DIT | NZCV_ZC);
	assert_int_equal(c.spsr_el1, old);
}

/* VBAR_EL1[10:0] are RES0: a guest writing them does not move its vectors. */
static void test_vbar_low_bits(void **state)
{
	struct vcpu_ctx c = ctx(EL1H, SCTLR_ON);
	c.vbar = VBAR | 0x7fc;
	vcpu_inject_undef(&c);
	assert_int_equal(c.pc, VBAR + 0x200);
}

/* An abort taken from the EL1 vector itself (nested): ELR/SPSR of the first
 * are overwritten, as the hardware does. */
static void test_nested(void **state)
{
	struct vcpu_ctx c = ctx(EL0T, SCTLR_ON);
	vcpu_inject_dabt(&c, VA, true, false);
	vcpu_inject_dabt(&c, VA + 8, true, true);
	assert_int_equal(c.elr_el1, VBAR + 0x400);
	assert_int_equal(c.spsr_el1, EL1H | DAIF);
	assert_int_equal(c.pc, VBAR + 0x200);
	assert_int_equal(c.esr, 0x96000050);
	assert_int_equal(c.far, VA + 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dabt_from_el1h_write),
	    cmocka_unit_test(test_dabt_from_el0_read),
	    cmocka_unit_test(test_dabt_from_el1t),
	    cmocka_unit_test(test_dabt_far_not_valid),
	    cmocka_unit_test(test_iabt),
	    cmocka_unit_test(test_from_aarch32),
	    cmocka_unit_test(test_undef),
	    cmocka_unit_test(test_pan),
	    cmocka_unit_test(test_ssbs),
	    cmocka_unit_test(test_cleared_and_kept),
	    cmocka_unit_test(test_vbar_low_bits),
	    cmocka_unit_test(test_nested),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

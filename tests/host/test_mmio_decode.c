/*
 * MMIO decoding from data abort syndromes. ESR values are worked out by
 * hand from the Arm ARM's ISS layout for data aborts: ISV[24], SAS[23:22],
 * SSE[21], SRT[20:16], SF[15], AR[14], WnR[6], DFSC[5:0]; EC 0x24 (lower
 * EL) with IL=1 gives 0x92000000, ISV adds 0x01000000. DFSC 0x07 is a
 * level 3 translation fault, as a stage-2 MMIO hole gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include <cmocka.h>

#include "arch/arm64/esr.h"

struct dec {
	uint64_t esr;
	bool write;
	unsigned size, reg;
	bool sse, sf, ar;
};

static void check_decode(const struct dec *d)
{
	struct mmio_access a;

	assert_int_equal(esr_decode_mmio(d->esr, &a), 0);
	assert_int_equal(a.write, d->write);
	assert_int_equal(a.size, d->size);
	assert_int_equal(a.reg, d->reg);
	assert_int_equal(a.sign_extend, d->sse);
	assert_int_equal(a.sf, d->sf);
	assert_int_equal(a.acquire_release, d->ar);
}

static void test_loads(void **state)
{
	static const struct dec loads[] = {
	    {0x93010007, false, 1, 1, false, false, false}, /* LDRB w1 */
	    {0x93420007, false, 2, 2, false, false, false}, /* LDRH w2 */
	    {0x93830007, false, 4, 3, false, false, false}, /* LDR w3 */
	    {0x93c48007, false, 8, 4, false, true, false},  /* LDR x4 */
	    {0x93250007, false, 1, 5, true, false, false},  /* LDRSB w5 */
	    {0x93268007, false, 1, 6, true, true, false},   /* LDRSB x6 */
	    {0x93670007, false, 2, 7, true, false, false},  /* LDRSH w7 */
	    {0x93688007, false, 2, 8, true, true, false},   /* LDRSH x8 */
	    {0x93a98007, false, 4, 9, true, true, false},   /* LDRSW x9 */
	    {0x938c4007, false, 4, 12, false, false, true}, /* LDAR w12 */
	};
	for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++)
		check_decode(&loads[i]);
}

static void test_stores(void **state)
{
	static const struct dec stores[] = {
	    {0x930a0047, true, 1, 10, false, false, false}, /* STRB w10 */
	    {0x93cb8047, true, 8, 11, false, true, false},  /* STR x11 */
	    {0x939f0047, true, 4, 31, false, false, false}, /* STR wzr */
	    {0x93cdc047, true, 8, 13, false, true, true},   /* STLR x13 */
	};
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		check_decode(&stores[i]);
}

/* Same EL (EC 0x25) decodes too: 0x96000000 | ISV | SAS=2 | SRT=0 */
static void test_same_el(void **state)
{
	check_decode(&(struct dec){0x97800007, false, 4, 0, false, false, false});
}

static void test_rejected(void **state)
{
	struct mmio_access a;

	assert_int_equal(esr_decode_mmio(0x92000007, &a), -EINVAL); /* ISV=0 */
	assert_int_equal(esr_decode_mmio(0x93000047 & ~0x01000000ull, &a), -EINVAL);
	assert_int_equal(esr_decode_mmio(0x83000007, &a), -EINVAL); /* instruction abort */
	assert_int_equal(esr_decode_mmio(0x5a000000, &a), -EINVAL); /* HVC #0 */
	assert_int_equal(esr_decode_mmio(0, &a), -EINVAL);
}

static uint64_t load(uint64_t esr, uint64_t raw)
{
	struct mmio_access a;

	assert_int_equal(esr_decode_mmio(esr, &a), 0);
	return mmio_load_value(&a, raw);
}

static void test_load_values(void **state)
{
	/* zero extension, garbage above the access size dropped */
	assert_int_equal(load(0x93010007, 0xffffff85), 0x85);		       /* LDRB */
	assert_int_equal(load(0x93420007, 0x12348001), 0x8001);		       /* LDRH */
	assert_int_equal(load(0x93830007, 0xffffffff87654321ull), 0x87654321); /* LDR w */
	assert_int_equal(load(0x93c48007, 0xfedcba9876543210ull), 0xfedcba9876543210ull);
	/* sign extension to 32 bits (upper half zero) or 64 bits */
	assert_int_equal(load(0x93250007, 0x80), 0xffffff80);		       /* LDRSB w */
	assert_int_equal(load(0x93268007, 0x80), 0xffffffffffffff80ull);       /* LDRSB x */
	assert_int_equal(load(0x93670007, 0x8001), 0xffff8001);		       /* LDRSH w */
	assert_int_equal(load(0x93688007, 0xfffe), 0xfffffffffffffffeull);     /* LDRSH x */
	assert_int_equal(load(0x93a98007, 0x80000000), 0xffffffff80000000ull); /* LDRSW */
	/* positive values stay as they are */
	assert_int_equal(load(0x93250007, 0x7f), 0x7f);
	assert_int_equal(load(0x93268007, 0xff7f), 0x7f);
	assert_int_equal(load(0x93a98007, 0x7fffffff), 0x7fffffff);
}

static uint64_t store(uint64_t esr, uint64_t reg)
{
	struct mmio_access a;

	assert_int_equal(esr_decode_mmio(esr, &a), 0);
	assert_true(a.write);
	return mmio_store_value(&a, reg);
}

static void test_store_values(void **state)
{
	assert_int_equal(store(0x930a0047, 0x1234), 0x34); /* STRB */
	assert_int_equal(store(0x93cb8047, 0xfedcba9876543210ull), 0xfedcba9876543210ull);
	assert_int_equal(store(0x939f0047, 0), 0); /* STR wzr: the caller passes 0 */
	/* STR w: only the low word reaches the device */
	assert_int_equal(store(0x93810047, 0xdeadbeefcafef00dull), 0xcafef00d);
}

static void test_abort_helpers(void **state)
{
	assert_true(esr_dabt_is_s1ptw(0x92000087));
	assert_false(esr_dabt_is_s1ptw(0x93010007));
	assert_int_equal(esr_dabt_fsc(0x93010007), 0x07);
	assert_int_equal(esr_dabt_fsc(0x9200002b), 0x2b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loads),	  cmocka_unit_test(test_stores),
	    cmocka_unit_test(test_same_el),	  cmocka_unit_test(test_rejected),
	    cmocka_unit_test(test_load_values),	  cmocka_unit_test(test_store_values),
	    cmocka_unit_test(test_abort_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Host tests for smmu/idr.c: ID register decoding and the summary string. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "smmu/smmu.h"

/*
 * What QEMU 7.2's smmuv3_init_regs() programs: IDR0 S1P=1, TTF=2, COHACC=1,
 * ASID16=1, TTENDIAN=2, STALL_MODEL=1, TERM_MODEL=1, ST_LEVEL=1; IDR1
 * SIDSIZE=16, EVENTQS=19, CMDQS=19; IDR5 OAS=4 with the 4K/16K/64K granule
 * bits; AIDR 1 (SMMUv3.1).
 */
#define QEMU_IDR0                                                                                  \
	((1u << 1) | (2u << 2) | (1u << 4) | (1u << 12) | (2u << 21) | (1u << 24) | (1u << 26) |   \
	 (1u << 27))
#define QEMU_IDR1 (16u | (19u << 16) | (19u << 21))
#define QEMU_IDR5 (4u | (1u << 4) | (1u << 5) | (1u << 6))
#define QEMU_AIDR 1u

static void test_qemu_raw_values(void **state)
{
	/* Worked by hand: 0x2 + 0x8 + 0x10 + 0x1000 + 0x400000 + 0x1000000 +
	 * 0x4000000 + 0x8000000; 0x10 + 0x130000 + 0x2600000; 0x4 + 0x70. */
	assert_int_equal(QEMU_IDR0, 0x0d40101a);
	assert_int_equal(QEMU_IDR1, 0x02730010);
	assert_int_equal(QEMU_IDR5, 0x74);
}

static void test_qemu_decode(void **state)
{
	struct smmu_features f;

	smmu_decode_idr(QEMU_IDR0, QEMU_IDR1, QEMU_IDR5, QEMU_AIDR, &f);
	assert_true(f.s1p);
	assert_false(f.s2p);
	assert_int_equal(f.ttf, 2);
	assert_true(f.coherent);
	assert_true(f.asid16);
	assert_false(f.vmid16);
	assert_false(f.msi);
	assert_false(f.ats);
	assert_false(f.pri);
	assert_int_equal(f.httu, 0);
	assert_int_equal(f.ttendian, 2);
	assert_int_equal(f.stall_model, 1);
	assert_true(f.term_model);
	assert_true(f.two_level_st);
	assert_int_equal(f.sid_bits, 16);
	assert_int_equal(f.ssid_bits, 0);
	assert_int_equal(f.priq_log2, 0);
	assert_int_equal(f.evtq_log2, 19);
	assert_int_equal(f.cmdq_log2, 19);
	assert_int_equal(f.oas_bits, 44);
	assert_true(f.gran4k);
	assert_true(f.gran16k);
	assert_true(f.gran64k);
	assert_int_equal(f.va_bits, 48);
	assert_int_equal(f.version, 1);
}

static void test_s2_only(void **state)
{
	struct smmu_features f;

	/* S2P, TTF=AArch64, VMID16, MSI; linear stream table; 8 SID bits;
	 * OAS=5 (48 bits), 4K only, VAX=1 (52-bit VA); SMMUv3.0. */
	uint32_t idr0 = (1u << 0) | (2u << 2) | (1u << 13) | (1u << 18);
	smmu_decode_idr(idr0, 8, 5u | (1u << 4) | (1u << 10), 0, &f);
	assert_true(f.s2p);
	assert_false(f.s1p);
	assert_false(f.two_level_st);
	assert_false(f.coherent);
	assert_true(f.msi);
	assert_true(f.vmid16);
	assert_int_equal(f.stall_model, 0);
	assert_false(f.term_model);
	assert_int_equal(f.sid_bits, 8);
	assert_int_equal(f.oas_bits, 48);
	assert_true(f.gran4k);
	assert_false(f.gran16k);
	assert_false(f.gran64k);
	assert_int_equal(f.va_bits, 52);
	assert_int_equal(f.version, 0);
}

static void test_all_bits(void **state)
{
	struct smmu_features f;

	smmu_decode_idr(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, &f);
	assert_true(f.s1p && f.s2p && f.coherent && f.btm && f.hyp && f.ats && f.asid16);
	assert_true(f.msi && f.sev && f.pri && f.vmid16 && f.cd2l && f.term_model);
	assert_false(f.two_level_st); /* ST_LEVEL 3 is reserved */
	assert_int_equal(f.ttf, 3);
	assert_int_equal(f.httu, 3);
	assert_int_equal(f.sid_bits, 63);
	assert_int_equal(f.ssid_bits, 31);
	assert_int_equal(f.priq_log2, 31);
	assert_int_equal(f.evtq_log2, 31);
	assert_int_equal(f.cmdq_log2, 31);
	assert_int_equal(f.oas_bits, 0); /* OAS 7 is reserved */
	assert_int_equal(f.version, 15);
}

static void test_oas_table(void **state)
{
	static const unsigned want[] = {32, 36, 40, 42, 44, 48, 52, 0};
	struct smmu_features f;

	for (unsigned oas = 0; oas < 8; oas++) {
		smmu_decode_idr(0, 0, oas, 0, &f);
		assert_int_equal(f.oas_bits, want[oas]);
	}
}

static void test_features_str_qemu(void **state)
{
	struct smmu_features f;
	char buf[256];

	smmu_decode_idr(QEMU_IDR0, QEMU_IDR1, QEMU_IDR5, QEMU_AIDR, &f);
	int n = smmu_features_str(&f, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_non_null(strstr(buf, "stages: S1 |"));
	assert_null(strstr(buf, "S2"));
	assert_non_null(strstr(buf, "TTF AArch64"));
	assert_non_null(strstr(buf, "streams: 2-level, 16 SID bits"));
	assert_non_null(strstr(buf, "OAS 44 bits"));
	assert_non_null(strstr(buf, "granules: 4K 16K 64K"));
	assert_non_null(strstr(buf, "cmdq 2^19, evtq 2^19"));
	assert_non_null(strstr(buf, "coherent, ASID16"));
	assert_null(strstr(buf, "stall"));
	assert_non_null(strstr(buf, "SMMUv3.1"));
}

static void test_features_str_s2(void **state)
{
	struct smmu_features f;
	char buf[256];

	smmu_decode_idr(0x1 | (2u << 2), 8, 5u | (1u << 6), 0, &f);
	smmu_features_str(&f, buf, sizeof(buf));
	assert_non_null(strstr(buf, "stages: S2 |"));
	assert_non_null(strstr(buf, "streams: linear, 8 SID bits"));
	assert_non_null(strstr(buf, "granules: 64K |"));
	assert_non_null(strstr(buf, "stall"));

	smmu_decode_idr(0x3, 0, 0, 0, &f);
	smmu_features_str(&f, buf, sizeof(buf));
	assert_non_null(strstr(buf, "stages: S1+S2 |"));
	smmu_decode_idr(0, 0, 0, 0, &f);
	smmu_features_str(&f, buf, sizeof(buf));
	assert_non_null(strstr(buf, "stages: none |"));
}

static void test_features_str_truncates(void **state)
{
	struct smmu_features f;
	char full[256], small[16];

	smmu_decode_idr(QEMU_IDR0, QEMU_IDR1, QEMU_IDR5, QEMU_AIDR, &f);
	int n = smmu_features_str(&f, full, sizeof(full));
	memset(small, 'x', sizeof(small));
	assert_int_equal(smmu_features_str(&f, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	/* A zero-length buffer is only measured. */
	assert_int_equal(smmu_features_str(&f, NULL, 0), n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qemu_raw_values), cmocka_unit_test(test_qemu_decode),
	    cmocka_unit_test(test_s2_only),	    cmocka_unit_test(test_all_bits),
	    cmocka_unit_test(test_oas_table),	    cmocka_unit_test(test_features_str_qemu),
	    cmocka_unit_test(test_features_str_s2), cmocka_unit_test(test_features_str_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Host tests for smmu/encode.c and smmu/decode.c: every expected word is
 * worked out by hand from the field positions in Arm IHI 0070 (SMMUv3),
 * cited next to each term, not from the code's own macros.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smmu/smmu_hw.h"

static void assert_words(const uint64_t *got, const uint64_t *want, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
}

/* ---- STEs (5.2) ---- */

static void test_ste_abort(void **state)
{
	uint64_t ste[STE_DWORDS];
	const uint64_t want[STE_DWORDS] = {0x1}; /* V [0] = 1, Config [3:1] = 0b000 */

	memset(ste, 0xa5, sizeof(ste));
	ste_abort(ste);
	assert_words(ste, want, STE_DWORDS);
}

static void test_ste_bypass(void **state)
{
	uint64_t ste[STE_DWORDS];
	const uint64_t want[STE_DWORDS] = {
	    0x9,		/* V | Config [3:1] = 0b100 */
	    0x0000100000000000, /* SHCFG [109:108] (dword 1 [45:44]) = 0b01 incoming */
	};

	ste_bypass(ste);
	assert_words(ste, want, STE_DWORDS);
}

static void test_ste_s1(void **state)
{
	uint64_t ste[STE_DWORDS];
	const uint64_t want[STE_DWORDS] = {
	    /* V | Config 0b101 (0xa) | S1ContextPtr [51:6] = 0x40001000;
	     * S1Fmt [5:4] = 0, S1CDMax [63:59] = 0 */
	    0x000000004000100b,
	    /* S1CIR [3:2] = 1 (WBRA) 0x4 | S1COR [5:4] = 1 0x10 | S1CSH [7:6] = 3 (ISH)
	     * 0xc0; S1DSS [1:0], EATS [29:28], STRW [31:30] all 0 */
	    0x00000000000000d4,
	};

	ste_s1(ste, 0x4000103f, true); /* low 6 bits are not part of the pointer */
	assert_words(ste, want, STE_DWORDS);
	ste_s1(ste, 0x40001000, false);
	assert_int_equal(ste[1], 0x80); /* NC (0) fetches, S1CSH = 2 (outer) */
}

static void test_ste_s2(void **state)
{
	/* 40-bit IPA, stage-2 start level 1 (two concatenated roots): SL0 = 1 */
	const struct pt pt = {.fmt = PT_S2, .ia_bits = 40, .start_level = 1, .root_tables = 2};
	uint64_t ste[STE_DWORDS];
	/* VTCR: S2T0SZ [5:0] = 24 (0x18) | S2SL0 [7:6] = 1 (0x40) | S2IR0 [9:8] = 1
	 * (0x100) | S2OR0 [11:10] = 1 (0x400) | S2SH0 [13:12] = 3 (0x3000) | S2TG
	 * [15:14] = 0 (4K) | S2PS [18:16] = 4 (0x40000) = 0x43558, at dword 2 [50:32] */
	const uint64_t want[STE_DWORDS] = {
	    0xd,		/* V | Config 0b110 */
	    0x0000100000000000, /* SHCFG = incoming */
	    /* S2VMID [15:0] = 5 | VTCR << 32 | S2AA64 [51] | S2R [58] */
	    0x040c355800000005, 0x0000000080000000, /* S2TTB [51:4] */
	};

	ste_s2(ste, &pt, 0x80000000, 5, 4, true);
	assert_words(ste, want, STE_DWORDS);
}

/* ---- CD (5.4) ---- */

static void test_cd_s1(void **state)
{
	const struct pt pt = {.fmt = PT_S1_EL10, .ia_bits = 48, .start_level = 0, .root_tables = 1};
	uint64_t cd[CD_DWORDS];
	/* Low word: T0SZ [5:0] = 16 | TG0 [7:6] = 0 (4K) | IR0 [9:8] = 1 (0x100) |
	 * OR0 [11:10] = 1 (0x400) | SH0 [13:12] = 3 (0x3000) | EPD1 [30] | V [31]
	 * = 0xc0003510. High word: IPS [34:32] = 4 (0x4) | AA64 [41] (0x200) |
	 * R [45] (0x2000) | A [46] (0x4000) | ASET [47] (0x8000) | ASID [63:48] =
	 * 0x1234 (0x12340000) = 0x1234e204. */
	const uint64_t want[CD_DWORDS] = {
	    0x1234e204c0003510, 0x0000000040002000, /* TTB0 [51:4] */
	    0,					    /* TTB1 */
	    0x04ff, /* MAIR0: attr0 0xff Normal WB, attr1 0x04 Device-nGnRE */
	};

	cd_s1(cd, &pt, 0x40002000, 0x1234, 4, PT_MAIR_VALUE, true);
	assert_words(cd, want, CD_DWORDS);
}

/* The same chain through a real pt_init'd table: the pt library picks the
 * stage-2 start level (and so SL0) and T0SZ, the encoder copies them. */
static void *host_table(void *ctx)
{
	void *p = aligned_alloc(4096, 4096);

	if (p)
		memset(p, 0, 4096);
	return p;
}

static void *host_root(void *ctx, unsigned pages)
{
	void *p = aligned_alloc((size_t)pages * 4096, (size_t)pages * 4096);

	if (p)
		memset(p, 0, (size_t)pages * 4096);
	return p;
}

static void host_free(void *ctx, void *t)
{
	(void)t; /* nothing but the roots is allocated here; the test frees those */
}

static uint64_t host_pa(void *ctx, void *t)
{
	return (uintptr_t)t;
}

static void *host_va(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static void host_inval(void *ctx, uint64_t va, uint64_t size)
{
}

static const struct pt_ops host_ops = {host_table, host_free, host_pa, host_va, host_inval};

static void test_encodings_from_pt(void **state)
{
	struct pt s2, s1;
	uint64_t ste[STE_DWORDS], cd[CD_DWORDS];

	assert_int_equal(pt_init(&s2, PT_S2, 40, &host_ops, NULL, host_root), 0);
	ste_s2(ste, &s2, (uintptr_t)s2.root, 1, 2, true);
	assert_int_equal((ste[2] >> 32) & 0x3f, 24); /* S2T0SZ */
	assert_int_equal((ste[2] >> 38) & 3, 1);     /* S2SL0: start at level 1 */
	assert_int_equal(ste[3], (uintptr_t)s2.root & 0x000ffffffffffff0ull);
	assert_int_equal(pt_init(&s1, PT_S1_EL10, 39, &host_ops, NULL, NULL), 0);
	cd_s1(cd, &s1, (uintptr_t)s1.root, 1, 5, PT_MAIR_VALUE, false);
	assert_int_equal(cd[0] & 0x3f, 25);	 /* T0SZ = 64 - 39 */
	assert_int_equal((cd[0] >> 8) & 0xf, 0); /* IR0 = OR0 = NC */
	assert_int_equal((cd[0] >> 12) & 3, 2);	 /* SH0 = outer */
	assert_int_equal((cd[0] >> 32) & 7, 5);	 /* IPS 48 bits */
	assert_int_equal(cd[0] >> 48, 1);	 /* ASID */
	assert_int_equal(cd[1], (uintptr_t)s1.root);
	free(s1.root);
	free(s2.root);
}

static void test_l1_desc(void **state)
{
	/* L2Ptr [51:6] | Span [4:0] = 9 (2^(9-1) = 256 STEs) */
	assert_int_equal(strtab_l1_desc(0x40010000, 9), 0x40010009);
	assert_int_equal(strtab_l1_desc(0x40010000, 0), 0x40010000);
}

static void test_ps_and_ia(void **state)
{
	assert_int_equal(smmu_ps_encode(32), 0);
	assert_int_equal(smmu_ps_encode(36), 1);
	assert_int_equal(smmu_ps_encode(40), 2);
	assert_int_equal(smmu_ps_encode(42), 3);
	assert_int_equal(smmu_ps_encode(44), 4);
	assert_int_equal(smmu_ps_encode(48), 5);
	assert_int_equal(smmu_ps_encode(52), 5); /* capped: pt maps 48-bit PAs */
	assert_int_equal(smmu_clamp_ia(false, 64, 44, 48), 48);
	assert_int_equal(smmu_clamp_ia(false, 20, 44, 48), 32);
	assert_int_equal(smmu_clamp_ia(false, 39, 44, 48), 39);
	assert_int_equal(smmu_clamp_ia(true, 48, 44, 48), 44); /* IPA <= OAS */
	assert_int_equal(smmu_clamp_ia(true, 40, 40, 48), 40);
}

/* ---- commands (4.x): opcode [7:0] ---- */

static void check_cmd(const uint64_t cmd[CMD_DWORDS], uint64_t w0, uint64_t w1)
{
	assert_int_equal(cmd[0], w0);
	assert_int_equal(cmd[1], w1);
}

static void test_cmd_cfgi(void **state)
{
	uint64_t c[CMD_DWORDS];

	cmd_cfgi_ste(c, 0x10, true); /* 0x03 | StreamID [63:32]; Leaf [64] */
	check_cmd(c, 0x0000001000000003, 1);
	cmd_cfgi_ste(c, 0xffff, false);
	check_cmd(c, 0x0000ffff00000003, 0);
	cmd_cfgi_ste_range(c, 0x100, 7); /* 0x04; Range [68:64] = 7: 256 STEs */
	check_cmd(c, 0x0000010000000004, 7);
	cmd_cfgi_all(c); /* CFGI_STE_RANGE with Range 31 */
	check_cmd(c, 0x4, 0x1f);
	cmd_cfgi_cd(c, 0x10, 5, true); /* 0x05 | SSID [31:12] | StreamID [63:32] */
	check_cmd(c, 0x0000001000005005, 1);
	cmd_cfgi_cd_all(c, 0x10); /* 0x06 | StreamID */
	check_cmd(c, 0x0000001000000006, 0);
	cmd_prefetch_config(c, 0x10); /* 0x01 | StreamID */
	check_cmd(c, 0x0000001000000001, 0);
}

static void test_cmd_tlbi(void **state)
{
	uint64_t c[CMD_DWORDS];

	cmd_tlbi_nh_asid(c, 0, 1); /* 0x11 | VMID [47:32] | ASID [63:48] */
	check_cmd(c, 0x0001000000000011, 0);
	cmd_tlbi_nh_va(c, 2, 1, 0x12345678, false); /* 0x12; Address [127:76] = VA[63:12] */
	check_cmd(c, 0x0001000200000012, 0x12345000);
	cmd_tlbi_nh_va(c, 0, 0xffff, 0xffff000012345fff, true); /* Leaf [64] */
	check_cmd(c, 0xffff000000000012, 0xffff000012345001);
	cmd_tlbi_el2_all(c);
	check_cmd(c, 0x20, 0);
	cmd_tlbi_nsnh_all(c);
	check_cmd(c, 0x30, 0);
	cmd_tlbi_s12_vmall(c, 7); /* 0x28 | VMID */
	check_cmd(c, 0x0000000700000028, 0);
	cmd_tlbi_s2_ipa(c, 7, 0xfff0001234567abc, true); /* 0x2a; IPA [115:76] = [51:12] */
	check_cmd(c, 0x000000070000002a, 0x0000001234567001);
}

static void test_cmd_sync(void **state)
{
	uint64_t c[CMD_DWORDS];

	cmd_sync(c, CMD_SYNC_CS_NONE); /* 0x46; CS [13:12] = 0: no signal */
	check_cmd(c, 0x46, 0);
	cmd_sync(c, CMD_SYNC_CS_SEV); /* CS = 0b10: SEV */
	check_cmd(c, 0x2046, 0);
}

/* ---- events (7.3) ---- */

static void format(const uint64_t e[EVT_DWORDS], const char *owner, char *buf, size_t len)
{
	struct smmu_evt ev;

	evt_decode(e, &ev);
	evt_format(&ev, owner, buf, len);
}

static void test_evt_translation(void **state)
{
	/* Type [7:0] = 0x10, StreamID [63:32]; RnW [99] (dword 1 [35]) = 0:
	 * write; InputAddr [191:128] */
	const uint64_t e[EVT_DWORDS] = {0x0000001000000010, 0, 0x40013000, 0};
	struct smmu_evt ev;
	char buf[160];

	evt_decode(e, &ev);
	assert_int_equal(ev.type, EVT_F_TRANSLATION);
	assert_int_equal(ev.sid, 0x10);
	assert_false(ev.read);
	assert_int_equal(ev.addr, 0x40013000);
	format(e, "nvme0 (hypervisor)", buf, sizeof(buf));
	assert_string_equal(buf, "stream 0x0010 (owner: nvme0 (hypervisor)) F_TRANSLATION write "
				 "iova 0x40013000");
}

static void test_evt_flags(void **state)
{
	/* PnU [97], InD [98], RnW [99] = dword 1 bits 33, 34, 35; SSV [11],
	 * SubstreamID [31:12] = 3 */
	const uint64_t e[EVT_DWORDS] = {0x0000001000003813, 0x0000000e00000000, 0x1000, 0};
	char buf[160];

	format(e, "x", buf, sizeof(buf));
	assert_string_equal(buf, "stream 0x0010 (owner: x) F_PERMISSION ssid 0x3 read instr priv "
				 "iova 0x1000");
}

static void test_evt_stage2_and_fetch(void **state)
{
	/* S2 [103] = dword 1 bit 39; IPA in dword 3 [51:12] */
	const uint64_t s2[EVT_DWORDS] = {0x0000000200000010, 0x0000008000000000, 0x5000, 0x8000};
	/* F_STE_FETCH: FetchAddr [243:195] = dword 3 [51:3] */
	const uint64_t fetch[EVT_DWORDS] = {0x0000001800000003, 0, 0, 0x40000007};
	const uint64_t bad[EVT_DWORDS] = {0x0000001800000002, 0, 0, 0};
	char buf[160];

	format(s2, "p", buf, sizeof(buf));
	assert_string_equal(buf, "stream 0x0002 (owner: p) F_TRANSLATION write iova 0x5000 "
				 "(stage 2, ipa 0x8000)");
	format(fetch, "nobody", buf, sizeof(buf));
	assert_string_equal(buf, "stream 0x0018 (owner: nobody) F_STE_FETCH fetch 0x40000000");
	format(bad, "nobody", buf, sizeof(buf));
	assert_string_equal(buf, "stream 0x0018 (owner: nobody) C_BAD_STREAMID");
}

static void test_names(void **state)
{
	assert_string_equal(evt_type_name(0x04), "C_BAD_STE");
	assert_string_equal(evt_type_name(0x0a), "C_BAD_CD");
	assert_string_equal(evt_type_name(0x0b), "F_WALK_EABT");
	assert_string_equal(evt_type_name(0x11), "F_ADDR_SIZE");
	assert_string_equal(evt_type_name(0x12), "F_ACCESS");
	assert_string_equal(evt_type_name(0x7f), "UNKNOWN");
	/* GERROR bits (6.3.17): CMDQ_ERR 0, bit 1 reserved, EVTQ_ABT_ERR 2,
	 * MSI_*_ABT_ERR 4-7, SFM_ERR 8 */
	assert_string_equal(gerror_bit_name(0), "CMDQ_ERR");
	assert_null(gerror_bit_name(1));
	assert_string_equal(gerror_bit_name(2), "EVTQ_ABT_ERR");
	assert_string_equal(gerror_bit_name(7), "MSI_GERROR_ABT_ERR");
	assert_string_equal(gerror_bit_name(8), "SFM_ERR");
	assert_null(gerror_bit_name(9));
	/* CMDQ_CONS.ERR [30:24] */
	assert_string_equal(cmdq_err_name(CMDQ_CONS_ERR(0x01000000u)), "ILL");
	assert_string_equal(cmdq_err_name(CMDQ_CONS_ERR(0x02000005u)), "ABT");
	assert_string_equal(cmdq_err_name(3), "ATC_INV_SYNC");
	assert_string_equal(cmdq_err_name(0x40), "IMPDEF");
	assert_string_equal(cmd_op_name(0x46), "CMD_SYNC");
	assert_string_equal(cmd_op_name(0x99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ste_abort), cmocka_unit_test(test_ste_bypass),
	    cmocka_unit_test(test_ste_s1),    cmocka_unit_test(test_ste_s2),
	    cmocka_unit_test(test_cd_s1),     cmocka_unit_test(test_encodings_from_pt),
	    cmocka_unit_test(test_l1_desc),   cmocka_unit_test(test_ps_and_ia),
	    cmocka_unit_test(test_cmd_cfgi),  cmocka_unit_test(test_cmd_tlbi),
	    cmocka_unit_test(test_cmd_sync),  cmocka_unit_test(test_evt_translation),
	    cmocka_unit_test(test_evt_flags), cmocka_unit_test(test_evt_stage2_and_fetch),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

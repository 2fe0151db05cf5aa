/*
 * SMMUv3 in-memory structure and command encodings (Arm IHI 0070: 5.2 STE,
 * 5.4 CD, 3.3.2 L1 stream table descriptor, 4.x commands). Plain functions
 * of their inputs so the host tests can check every word against the spec.
 * Fields a function does not mention are zero, which for every one of them
 * is the safe or "not used" value.
 */
#include <string.h>

#include "smmu/smmu_hw.h"

/* TCR/VTCR-style walk attributes: WBWA inner shareable when the SMMU
 * snoops the CPU caches, otherwise non-cacheable (NC is outer shareable). */
static uint64_t rgn(bool coherent)
{
	return coherent ? RGN_WBWA : RGN_NC;
}

static uint64_t sh(bool coherent)
{
	return coherent ? SH_INNER : SH_OUTER;
}

/* V=1 with Config=abort: the stream is known and every transaction from
 * it is terminated without an event. V=0 would also abort but records
 * C_BAD_STE for each transaction. */
void ste_abort(uint64_t ste[STE_DWORDS])
{
	memset(ste, 0, STE_DWORDS * sizeof(ste[0]));
	ste[0] = STE_0_V | STE_0_CFG(STE_CFG_ABORT);
}

void ste_bypass(uint64_t ste[STE_DWORDS])
{
	memset(ste, 0, STE_DWORDS * sizeof(ste[0]));
	ste[0] = STE_0_V | STE_0_CFG(STE_CFG_BYPASS);
	ste[1] = STE_1_SHCFG(1); /* keep the incoming shareability */
}

/* S1Fmt=0 (linear CD table), S1CDMax=0 (one CD, no substreams), S1DSS=0,
 * STRW=0 (NS-EL1), EATS=0 (no ATS): all zero. S1CIR/S1COR/S1CSH describe
 * how the SMMU fetches the CD. */
void ste_s1(uint64_t ste[STE_DWORDS], uint64_t cd_pa, bool coherent)
{
	uint64_t cache = coherent ? 1 /* WBRA */ : 0 /* NC */;

	memset(ste, 0, STE_DWORDS * sizeof(ste[0]));
	ste[0] = STE_0_V | STE_0_CFG(STE_CFG_S1) | (cd_pa & STE_0_CTXPTR_M);
	ste[1] = STE_1_S1CIR(cache) | STE_1_S1COR(cache) | STE_1_S1CSH(sh(coherent));
}

/* The VTCR fields as STE.S2T0SZ..S2PS ([50:32] of dword 2). */
static uint64_t ste_vtcr(const struct pt *pt, unsigned ps, bool coherent)
{
	return VTCR_T0SZ(pt_t0sz(pt)) | VTCR_SL0(pt_vtcr_sl0(pt)) | VTCR_IR0(rgn(coherent)) |
	       VTCR_OR0(rgn(coherent)) | VTCR_SH0(sh(coherent)) | VTCR_TG_4K | VTCR_PS(ps);
}

/* S2AA64: the tables are VMSAv8-64; S2R: faults are recorded as events. */
void ste_s2(uint64_t ste[STE_DWORDS], const struct pt *pt, uint64_t ttb_pa, uint16_t vmid,
	    unsigned ps, bool coherent)
{
	memset(ste, 0, STE_DWORDS * sizeof(ste[0]));
	ste[0] = STE_0_V | STE_0_CFG(STE_CFG_S2);
	ste[1] = STE_1_SHCFG(1);
	ste[2] = vmid | STE_2_VTCR(ste_vtcr(pt, ps, coherent)) | STE_2_S2AA64 | STE_2_S2R;
	ste[3] = ttb_pa & STE_3_S2TTB_M;
}

/* TG0=4K, EPD1 (no TTB1 walks), ENDI=0 (little endian), AA64, R (record
 * faults), A (abort faulting transactions: QEMU requires it, and stalls
 * are not handled), ASET=1 (the ASID is not shared with the CPUs'
 * broadcast TLB maintenance). MAIR matches the pt library's indices. */
void cd_s1(uint64_t cd[CD_DWORDS], const struct pt *pt, uint64_t ttb0_pa, uint16_t asid,
	   unsigned ips, uint64_t mair, bool coherent)
{
	memset(cd, 0, CD_DWORDS * sizeof(cd[0]));
	cd[0] = CD_0_T0SZ(pt_t0sz(pt)) | CD_0_TG0_4K | CD_0_IR0(rgn(coherent)) |
		CD_0_OR0(rgn(coherent)) | CD_0_SH0(sh(coherent)) | CD_0_EPD1 | CD_0_V |
		CD_0_IPS(ips) | CD_0_AA64 | CD_0_R | CD_0_A | CD_0_ASET | CD_0_ASID(asid);
	cd[1] = ttb0_pa & CD_1_TTB0_M;
	cd[CD_3_MAIR_IDX] = mair;
}

uint64_t strtab_l1_desc(uint64_t l2_pa, unsigned span)
{
	return (l2_pa & STRTAB_L1_L2PTR_MASK) | (span & STRTAB_L1_SPAN_MASK);
}

unsigned smmu_ps_encode(unsigned bits)
{
	static const unsigned enc_bits[] = {32, 36, 40, 42, 44, 48};
	unsigned e = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(enc_bits); i++)
		if (bits >= enc_bits[i])
			e = i;
	return e;
}

unsigned smmu_clamp_ia(bool stage2, unsigned want, unsigned oas_bits, unsigned va_bits)
{
	/* Stage-2 input (IPA) may not exceed the output size the SMMU has. */
	unsigned max = MIN(48u, stage2 ? oas_bits : va_bits);

	return MAX(32u, MIN(want, max));
}

/* ---- commands: opcode in [7:0] of dword 0 ---- */

static void cmd_init(uint64_t cmd[CMD_DWORDS], unsigned op)
{
	cmd[0] = op;
	cmd[1] = 0;
}

#define CMD_0_SSID(x) ((uint64_t)(x) << 12) /* CFGI: SubstreamID [31:12] */
#define CMD_0_SID(x)  ((uint64_t)(x) << 32) /* StreamID [63:32] */
#define CMD_0_VMID(x) ((uint64_t)(x) << 32) /* TLBI: VMID [47:32] */
#define CMD_0_ASID(x) ((uint64_t)(x) << 48) /* TLBI: ASID [63:48] */
#define CMD_0_CS(x)   ((uint64_t)(x) << 12) /* SYNC: completion signal [13:12] */
#define CMD_1_LEAF    BIT(0)
#define CMD_1_VA_M    0xfffffffffffff000ull /* [63:12] */
#define CMD_1_IPA_M   0x000ffffffffff000ull /* [51:12] */
#define CMD_1_RANGE_M 0x1full		    /* CFGI_STE_RANGE [4:0] */

void cmd_prefetch_config(uint64_t cmd[CMD_DWORDS], uint32_t sid)
{
	cmd_init(cmd, CMD_PREFETCH_CONFIG);
	cmd[0] |= CMD_0_SID(sid);
}

void cmd_cfgi_ste(uint64_t cmd[CMD_DWORDS], uint32_t sid, bool leaf)
{
	cmd_init(cmd, CMD_CFGI_STE);
	cmd[0] |= CMD_0_SID(sid);
	cmd[1] = leaf ? CMD_1_LEAF : 0;
}

void cmd_cfgi_ste_range(uint64_t cmd[CMD_DWORDS], uint32_t sid, unsigned range)
{
	cmd_init(cmd, CMD_CFGI_STE_RANGE);
	cmd[0] |= CMD_0_SID(sid);
	cmd[1] = range & CMD_1_RANGE_M;
}

void cmd_cfgi_all(uint64_t cmd[CMD_DWORDS])
{
	cmd_cfgi_ste_range(cmd, 0, 31);
}

void cmd_cfgi_cd(uint64_t cmd[CMD_DWORDS], uint32_t sid, uint32_t ssid, bool leaf)
{
	cmd_init(cmd, CMD_CFGI_CD);
	cmd[0] |= CMD_0_SSID(ssid & 0xfffff) | CMD_0_SID(sid);
	cmd[1] = leaf ? CMD_1_LEAF : 0;
}

void cmd_cfgi_cd_all(uint64_t cmd[CMD_DWORDS], uint32_t sid)
{
	cmd_init(cmd, CMD_CFGI_CD_ALL);
	cmd[0] |= CMD_0_SID(sid);
}

void cmd_tlbi_nh_asid(uint64_t cmd[CMD_DWORDS], uint16_t vmid, uint16_t asid)
{
	cmd_init(cmd, CMD_TLBI_NH_ASID);
	cmd[0] |= CMD_0_VMID(vmid) | CMD_0_ASID(asid);
}

/* Leaf=0 also drops walk-cache entries for va: the pt library hands
 * broken table entries to tlb_inval too. */
void cmd_tlbi_nh_va(uint64_t cmd[CMD_DWORDS], uint16_t vmid, uint16_t asid, uint64_t va, bool leaf)
{
	cmd_init(cmd, CMD_TLBI_NH_VA);
	cmd[0] |= CMD_0_VMID(vmid) | CMD_0_ASID(asid);
	cmd[1] = (va & CMD_1_VA_M) | (leaf ? CMD_1_LEAF : 0);
}

void cmd_tlbi_el2_all(uint64_t cmd[CMD_DWORDS])
{
	cmd_init(cmd, CMD_TLBI_EL2_ALL);
}

void cmd_tlbi_s12_vmall(uint64_t cmd[CMD_DWORDS], uint16_t vmid)
{
	cmd_init(cmd, CMD_TLBI_S12_VMALL);
	cmd[0] |= CMD_0_VMID(vmid);
}

void cmd_tlbi_s2_ipa(uint64_t cmd[CMD_DWORDS], uint16_t vmid, uint64_t ipa, bool leaf)
{
	cmd_init(cmd, CMD_TLBI_S2_IPA);
	cmd[0] |= CMD_0_VMID(vmid);
	cmd[1] = (ipa & CMD_1_IPA_M) | (leaf ? CMD_1_LEAF : 0);
}

void cmd_tlbi_nsnh_all(uint64_t cmd[CMD_DWORDS])
{
	cmd_init(cmd, CMD_TLBI_NSNH_ALL);
}

void cmd_sync(uint64_t cmd[CMD_DWORDS], unsigned cs)
{
	cmd_init(cmd, CMD_SYNC);
	cmd[0] |= CMD_0_CS(cs & 3);
}

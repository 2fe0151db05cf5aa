/*
 * SMMUv3 hardware definitions and the portable helpers built on them:
 * queue index/wrap arithmetic (queue_idx.c), STE/CD/command encodings
 * (encode.c) and event/error decoding (decode.c). Private to smmu/; host-safe
 * so the unit tests compile it (tests/host/test_smmu_*.c).
 *
 * Field positions are from Arm IHI 0070 (SMMUv3): chapter 5 for the STE, CD
 * and L1 descriptors, 4.x for the commands, 7.3 for the event records, 6.3
 * for the registers.
 */
#ifndef SMMU_SMMU_HW_H
#define SMMU_SMMU_HW_H

#include "lib/types.h"
#include "arch/arm64/pt.h"

/* ---- registers (6.3); page 1 starts at 0x10000 ---- */
#define SMMU_CR0	     0x20
#define SMMU_CR0ACK	     0x24
#define SMMU_CR1	     0x28
#define SMMU_CR2	     0x2c
#define SMMU_GBPA	     0x44
#define SMMU_IRQ_CTRL	     0x50
#define SMMU_IRQ_CTRLACK     0x54
#define SMMU_GERROR	     0x60
#define SMMU_GERRORN	     0x64
#define SMMU_GERROR_IRQ_CFG0 0x68
#define SMMU_STRTAB_BASE     0x80
#define SMMU_STRTAB_BASE_CFG 0x88
#define SMMU_CMDQ_BASE	     0x90
#define SMMU_CMDQ_PROD	     0x98
#define SMMU_CMDQ_CONS	     0x9c
#define SMMU_EVTQ_BASE	     0xa0
#define SMMU_EVTQ_IRQ_CFG0   0xb0
#define SMMU_EVTQ_PROD	     0x100a8 /* page 1 */
#define SMMU_EVTQ_CONS	     0x100ac /* page 1 */
#define SMMU_REG_SPAN	     0x20000 /* both 64 KiB pages */

#define CR0_SMMUEN BIT(0)
#define CR0_EVTQEN BIT(2)
#define CR0_CMDQEN BIT(3)

/* CR1: cacheability 0 NC, 1 WB, 2 WT; shareability 3 inner. */
#define CR1_QUEUE_IC(x) ((uint32_t)(x) << 0)
#define CR1_QUEUE_OC(x) ((uint32_t)(x) << 2)
#define CR1_QUEUE_SH(x) ((uint32_t)(x) << 4)
#define CR1_TABLE_IC(x) ((uint32_t)(x) << 6)
#define CR1_TABLE_OC(x) ((uint32_t)(x) << 8)
#define CR1_TABLE_SH(x) ((uint32_t)(x) << 10)
#define CR1_CACHE_WB	1
#define SH_NONE		0
#define SH_OUTER	2
#define SH_INNER	3

#define CR2_E2H	      BIT(0)
#define CR2_RECINVSID BIT(1)
#define CR2_PTM	      BIT(2)

#define GBPA_ABORT  BIT(20)
#define GBPA_UPDATE BIT(31)

#define IRQ_CTRL_GERROR_IRQEN BIT(0)
#define IRQ_CTRL_EVTQ_IRQEN   BIT(2)

#define GERROR_CMDQ_ERR	    BIT(0)
#define GERROR_EVTQ_ABT_ERR BIT(2)
#define GERROR_SFM_ERR	    BIT(8)
#define GERROR_ERR_MASK	    0x1fdu /* bit 1 is reserved */

#define STRTAB_BASE_RA	       BIT(62)
#define STRTAB_BASE_ADDR_MASK  0x000fffffffffffc0ull /* [51:6] */
#define STRTAB_CFG_LOG2SIZE(n) ((uint32_t)(n) << 0)
#define STRTAB_CFG_SPLIT(n)    ((uint32_t)(n) << 6)
#define STRTAB_CFG_FMT_LINEAR  (0u << 16)
#define STRTAB_CFG_FMT_2LVL    (1u << 16)
#define STRTAB_SPLIT	       8		     /* 256 STEs (16 KiB) per L2 table */
#define STRTAB_L1_SPAN	       (STRTAB_SPLIT + 1)    /* Span n: 2^(n-1) STEs */
#define STRTAB_L1_SPAN_MASK    0x1full		     /* [4:0] */
#define STRTAB_L1_L2PTR_MASK   0x000fffffffffffc0ull /* [51:6] */

#define Q_BASE_RWA	  BIT(62)		/* CMDQ_BASE.RA / EVTQ_BASE.WA */
#define Q_BASE_ADDR_MASK  0x000fffffffffffe0ull /* [51:5] */
#define Q_OVF		  BIT(31)		/* EVTQ_PROD.OVFLG, EVTQ_CONS.OVACKFLG */
#define CMDQ_CONS_ERR(c)  (((c) >> 24) & 0x7f)
#define CMDQ_ERR_NONE	  0
#define CMDQ_ERR_ILL	  1
#define CMDQ_ERR_ABT	  2
#define CMDQ_ERR_ATC_SYNC 3

/* ---- in-memory structures ---- */
#define STE_DWORDS 8 /* 64 bytes */
#define CD_DWORDS  8 /* 64 bytes */
#define CMD_DWORDS 2 /* 16 bytes */
#define EVT_DWORDS 4 /* 32 bytes */

#define STE_0_V	       BIT(0)
#define STE_0_CFG(c)   ((uint64_t)(c) << 1) /* [3:1] */
#define STE_0_CFG_MASK STE_0_CFG(7)
#define STE_CFG_ABORT  0
#define STE_CFG_BYPASS 4
#define STE_CFG_S1     5
#define STE_CFG_S2     6
#define STE_0_CTXPTR_M 0x000fffffffffffc0ull /* S1ContextPtr [51:6] */
#define STE_1_S1CIR(x) ((uint64_t)(x) << 2)  /* CD fetch: 1 WBRA */
#define STE_1_S1COR(x) ((uint64_t)(x) << 4)
#define STE_1_S1CSH(x) ((uint64_t)(x) << 6)
#define STE_1_SHCFG(x) ((uint64_t)(x) << 44) /* 1: use incoming */
#define STE_2_VTCR(x)  ((uint64_t)(x) << 32) /* VTCR fields [50:32] */
#define STE_2_S2AA64   BIT(51)
#define STE_2_S2R      BIT(58)
#define STE_3_S2TTB_M  0x000ffffffffffff0ull /* [51:4] */
#define VTCR_T0SZ(x)   ((uint64_t)(x) << 0)
#define VTCR_SL0(x)    ((uint64_t)(x) << 6)
#define VTCR_IR0(x)    ((uint64_t)(x) << 8)
#define VTCR_OR0(x)    ((uint64_t)(x) << 10)
#define VTCR_SH0(x)    ((uint64_t)(x) << 12)
#define VTCR_TG_4K     (0ull << 14)
#define VTCR_PS(x)     ((uint64_t)(x) << 16)
#define RGN_NC	       0 /* table-walk cacheability (TCR IRGN/ORGN encoding) */
#define RGN_WBWA       1

#define CD_0_T0SZ(x)  ((uint64_t)(x) << 0)
#define CD_0_TG0_4K   (0ull << 6)
#define CD_0_IR0(x)   ((uint64_t)(x) << 8)
#define CD_0_OR0(x)   ((uint64_t)(x) << 10)
#define CD_0_SH0(x)   ((uint64_t)(x) << 12)
#define CD_0_EPD1     BIT(30)
#define CD_0_V	      BIT(31)
#define CD_0_IPS(x)   ((uint64_t)(x) << 32)
#define CD_0_AA64     BIT(41)
#define CD_0_R	      BIT(45)
#define CD_0_A	      BIT(46)
#define CD_0_ASET     BIT(47)
#define CD_0_ASID(x)  ((uint64_t)(x) << 48)
#define CD_1_TTB0_M   0x000ffffffffffff0ull /* [51:4] */
#define CD_3_MAIR_IDX 3			    /* MAIR0 is dword 3 */

/* Command opcodes (4.1-4.7). */
#define CMD_PREFETCH_CONFIG 0x01
#define CMD_CFGI_STE	    0x03
#define CMD_CFGI_STE_RANGE  0x04 /* Range 31 is CMD_CFGI_ALL */
#define CMD_CFGI_CD	    0x05
#define CMD_CFGI_CD_ALL	    0x06
#define CMD_TLBI_NH_ASID    0x11
#define CMD_TLBI_NH_VA	    0x12
#define CMD_TLBI_EL2_ALL    0x20
#define CMD_TLBI_S12_VMALL  0x28
#define CMD_TLBI_S2_IPA	    0x2a
#define CMD_TLBI_NSNH_ALL   0x30
#define CMD_SYNC	    0x46
#define CMD_SYNC_CS_NONE    0
#define CMD_SYNC_CS_SEV	    2

/* Event record types (7.3). */
#define EVT_F_UUT	      0x01
#define EVT_C_BAD_STREAMID    0x02
#define EVT_F_STE_FETCH	      0x03
#define EVT_C_BAD_STE	      0x04
#define EVT_F_BAD_ATS_TREQ    0x05
#define EVT_F_STREAM_DISABLED 0x06
#define EVT_F_TRANSL_FORBID   0x07
#define EVT_C_BAD_SUBSTREAMID 0x08
#define EVT_F_CD_FETCH	      0x09
#define EVT_C_BAD_CD	      0x0a
#define EVT_F_WALK_EABT	      0x0b
#define EVT_F_TRANSLATION     0x10
#define EVT_F_ADDR_SIZE	      0x11
#define EVT_F_ACCESS	      0x12
#define EVT_F_PERMISSION      0x13
#define EVT_F_TLB_CONFLICT    0x20
#define EVT_F_CFG_CONFLICT    0x21
#define EVT_E_PAGE_REQUEST    0x24
#define EVT_F_VMS_FETCH	      0x25

/* ---- queue positions (queue_idx.c) ----
 * A PROD/CONS value is log2 bits of index plus one wrap bit above them;
 * higher bits (CMDQ_CONS.ERR, the overflow flags) are not part of it and
 * every function ignores them. Equal index and wrap: empty; equal index,
 * different wrap: full. */
uint32_t q_idx(uint32_t p, unsigned log2);
uint32_t q_wrap(uint32_t p, unsigned log2);
uint32_t q_inc(uint32_t p, unsigned log2); /* next position, flags dropped */
bool q_empty(uint32_t prod, uint32_t cons, unsigned log2);
bool q_full(uint32_t prod, uint32_t cons, unsigned log2);
uint32_t q_used(uint32_t prod, uint32_t cons, unsigned log2);  /* 0 .. 2^log2 */
uint32_t q_space(uint32_t prod, uint32_t cons, unsigned log2); /* free slots */

/* ---- encodings (encode.c); every function fills the whole structure ---- */
void ste_abort(uint64_t ste[STE_DWORDS]);
void ste_bypass(uint64_t ste[STE_DWORDS]);
/* Stage-1 through a one-entry CD table at cd_pa (S1CDMax 0, S1Fmt linear,
 * S1DSS terminate, StreamWorld NS-EL1). coherent picks WB inner-shareable
 * CD fetches instead of non-cacheable. */
void ste_s1(uint64_t ste[STE_DWORDS], uint64_t cd_pa, bool coherent);
/* Stage-2 only: VMID, VTCR from pt (T0SZ, SL0, 4K), PS, S2TTB, faults recorded. */
void ste_s2(uint64_t ste[STE_DWORDS], const struct pt *pt, uint64_t ttb_pa, uint16_t vmid,
	    unsigned ps, bool coherent);
/* Valid AArch64 CD for TTB0 (4K, T0SZ from pt), TTB1 disabled, faults
 * recorded (R) and aborted (A), private ASID set. */
void cd_s1(uint64_t cd[CD_DWORDS], const struct pt *pt, uint64_t ttb0_pa, uint16_t asid,
	   unsigned ips, uint64_t mair, bool coherent);
uint64_t strtab_l1_desc(uint64_t l2_pa, unsigned span);
/* Output address size in bits -> IPS/PS encoding (capped at 48 bits, the
 * page-table library's limit); 0 (32 bits) for anything smaller. */
unsigned smmu_ps_encode(unsigned bits);
/* Input address bits a domain gets for a request: stage-1 32..min(48, VAX),
 * stage-2 32..min(48, OAS). */
unsigned smmu_clamp_ia(bool stage2, unsigned want, unsigned oas_bits, unsigned va_bits);

void cmd_prefetch_config(uint64_t cmd[CMD_DWORDS], uint32_t sid);
void cmd_cfgi_ste(uint64_t cmd[CMD_DWORDS], uint32_t sid, bool leaf);
/* Invalidates 2^(range+1) STEs from sid (aligned down by the SMMU). */
void cmd_cfgi_ste_range(uint64_t cmd[CMD_DWORDS], uint32_t sid, unsigned range);
void cmd_cfgi_all(uint64_t cmd[CMD_DWORDS]);
void cmd_cfgi_cd(uint64_t cmd[CMD_DWORDS], uint32_t sid, uint32_t ssid, bool leaf);
void cmd_cfgi_cd_all(uint64_t cmd[CMD_DWORDS], uint32_t sid);
void cmd_tlbi_nh_asid(uint64_t cmd[CMD_DWORDS], uint16_t vmid, uint16_t asid);
void cmd_tlbi_nh_va(uint64_t cmd[CMD_DWORDS], uint16_t vmid, uint16_t asid, uint64_t va, bool leaf);
void cmd_tlbi_el2_all(uint64_t cmd[CMD_DWORDS]);
void cmd_tlbi_s12_vmall(uint64_t cmd[CMD_DWORDS], uint16_t vmid);
void cmd_tlbi_s2_ipa(uint64_t cmd[CMD_DWORDS], uint16_t vmid, uint64_t ipa, bool leaf);
void cmd_tlbi_nsnh_all(uint64_t cmd[CMD_DWORDS]);
void cmd_sync(uint64_t cmd[CMD_DWORDS], unsigned cs);

/* ---- decoding (decode.c) ---- */
struct smmu_evt {
	uint8_t type;
	uint32_t sid, ssid;
	bool ssv;
	bool read, instr, priv; /* RnW, InD, PnU: meaningful if evt_has_access() */
	bool s2;		/* fault at stage 2 */
	uint64_t addr;		/* input address (dword 2) */
	uint64_t addr2;		/* fetch address / IPA (dword 3) */
};
void evt_decode(const uint64_t e[EVT_DWORDS], struct smmu_evt *ev);
const char *evt_type_name(unsigned type); /* "F_TRANSLATION"; "UNKNOWN" */
bool evt_has_access(unsigned type);	  /* record carries RnW/InD/PnU and addr */
bool evt_has_fetch(unsigned type);	  /* record carries a fetch address */
/* "stream 0x0010 (owner: nvme0) F_TRANSLATION read iova 0x1000"; snprintf
 * semantics. */
int evt_format(const struct smmu_evt *ev, const char *owner, char *buf, size_t len);
const char *gerror_bit_name(unsigned bit); /* NULL for a reserved bit */
const char *cmdq_err_name(unsigned err);   /* CMDQ_CONS.ERR */
const char *cmd_op_name(unsigned opcode);  /* "CMD_SYNC"; "unknown" */

#endif

/*
 * smmu/ API: SMMUv3. For now the probe only (what the hardware offers); the
 * driver (stream table, queues, domains) builds on it.
 */
#ifndef SMMU_SMMU_H
#define SMMU_SMMU_H

#include "arch/arm64/types.h"

struct smmu_features {
	bool s1p, s2p;	    /* stage-1 / stage-2 translation supported */
	bool two_level_st;  /* IDR0.ST_LEVEL == 1 */
	bool coherent;	    /* IDR0.COHACC */
	bool msi;	    /* IDR0.MSI */
	unsigned sid_bits;  /* IDR1.SIDSIZE */
	unsigned ssid_bits; /* IDR1.SSIDSIZE */
	unsigned oas_bits;  /* IDR5.OAS decoded */
	unsigned cmdq_log2; /* IDR1.CMDQS */
	unsigned evtq_log2; /* IDR1.EVENTQS */
	bool gran4k, gran64k, gran16k;
	unsigned ttf;	      /* IDR0.TTF: 1 AArch32, 2 AArch64, 3 both */
	unsigned version;     /* AIDR.ArchMinorRev: x of SMMUv3.x */
	bool asid16, vmid16;  /* IDR0.ASID16 / VMID16 */
	bool ats, pri;	      /* IDR0.ATS / PRI */
	bool btm, hyp, sev;   /* IDR0.BTM / HYP / SEV */
	bool cd2l;	      /* IDR0.CD2L: 2-level context descriptor tables */
	bool term_model;      /* IDR0.TERM_MODEL: terminated => always abort */
	unsigned httu;	      /* IDR0.HTTU: 0 none, 1 access flag, 2 access + dirty */
	unsigned stall_model; /* IDR0.STALL_MODEL: 0 stall+term, 1 term only, 2 stall forced */
	unsigned ttendian;    /* IDR0.TTENDIAN: 0 mixed, 2 little, 3 big */
	unsigned priq_log2;   /* IDR1.PRIQS */
	unsigned va_bits;     /* IDR5.VAX: 48 or 52 */
};
struct smmu_info {
	uint64_t base, size;
	uintptr_t regs; /* mapped register page 0 (identity, from el2_map_device) */
	unsigned irq_evtq, irq_gerror, irq_priq, irq_cmdq_sync; /* INTIDs, 0 if absent */
	uint32_t idr0, idr1, idr5, aidr;			/* raw, for diagnostics */
	struct smmu_features f;
};
/* Portable: decodes raw ID registers (IDR0, IDR1, IDR5, AIDR). */
void smmu_decode_idr(uint32_t idr0, uint32_t idr1, uint32_t idr5, uint32_t aidr,
		     struct smmu_features *f);
/* Finds the "arm,smmu-v3" node, maps its registers and reads the ID
 * registers. Does not touch the SMMU's configuration. Returns 0, -ENODEV (no
 * SMMU) or another -errno (bad reg, mapping failed). */
int smmu_probe(const void *fdt, struct smmu_info *info);
/* Portable: prints a feature summary into buf, e.g.
 * "stages: S1 | streams: 2-level, 16 SID bits | OAS 44 bits | ...".
 * Like snprintf: always NUL-terminates (len > 0) and returns the length the
 * full text needs. */
int smmu_features_str(const struct smmu_features *f, char *buf, size_t len);

#endif

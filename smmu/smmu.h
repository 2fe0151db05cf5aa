/*
 * smmu/ API: SMMUv3. The probe (what the hardware offers) and the driver:
 * default-deny takeover, domains, streams, faults (docs/smmu.md).
 * Uses lib/, arch/ and drivers/ (PCI names).
 */
#ifndef SMMU_SMMU_H
#define SMMU_SMMU_H

#include "lib/types.h"

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

/* ---- the driver (smmu.c and friends) ----
 * One SMMU instance. smmu_init takes it over from whatever firmware left:
 * global bypass set to abort, SMMU disabled, every stream in abort, queues
 * reset, then re-enabled. Afterwards only attached streams translate, and
 * only through their domain's tables. */

/* Memory the driver needs for tables and queues: physically contiguous,
 * zeroed, aligned to align, identity-mapped at EL2. */
struct smmu_mem_ops {
	void *(*alloc)(uint64_t size, uint64_t align);
	void (*free)(void *p, uint64_t size);
};

enum smmu_owner_kind { SMMU_OWNER_NONE, SMMU_OWNER_HYP, SMMU_OWNER_PARTITION };
struct smmu_owner {
	enum smmu_owner_kind kind;
	char name[24]; /* "nvme0 (hypervisor)", a partition name, ... */
};

#define SMMU_MAX_DOMAINS 16
#define SMMU_MAX_STREAMS 32
#define SMMU_FAULT_LOG	 16

struct smmu_fault {
	uint32_t sid;
	uint8_t type; /* event record type, e.g. 0x10 F_TRANSLATION */
	bool write, instr, priv;
	uint64_t iova;	  /* input address (of the first fault folded in here) */
	uint64_t ts;	  /* CNTPCT when handled (the latest fault folded in) */
	uint32_t repeats; /* later faults of the same stream, type, direction and
			   * page folded into this entry (a faulting buffer
			   * makes one event per access) */
};
struct smmu_stats {
	uint64_t events, gerrors, evtq_overflows, cmd_syncs, cmd_timeouts;
	uint64_t faults_by_type[0x30]; /* indexed by event type */
	unsigned nlog;		       /* faults in the ring below (most recent last) */
	struct smmu_fault log[SMMU_FAULT_LOG];
};

struct smmu_domain;

#define SMMU_READ  1u
#define SMMU_WRITE 2u

int smmu_init(const struct smmu_info *info, const struct smmu_mem_ops *mem);
bool smmu_ready(void);
/* Which translation the domains use: "stage-2" if IDR0.S2P, else "stage-1". */
const char *smmu_stage_name(void);
/* Domains: an address space for DMA. ia_bits bounds the IOVA; it is clamped
 * to 32..48 (stage-1) or 32..min(48, OAS) (stage-2). NULL on failure. */
struct smmu_domain *smmu_domain_create(const struct smmu_owner *owner, unsigned ia_bits);
void smmu_domain_destroy(struct smmu_domain *d); /* must have no streams */
/* Map/unmap [iova, iova+size) (page aligned); invalidates the SMMU's TLB and
 * waits for completion before returning. 0 or -errno. prot: SMMU_READ and/or
 * SMMU_WRITE (write implies read: VMSAv8 has no write-only pages). Entries
 * replaced or removed are invalidated (TLBs and walk caches) and the call
 * returns after the CMD_SYNC completed; -ETIMEDOUT if it did not (the tables
 * have changed then). New entries need no invalidation. */
int smmu_map(struct smmu_domain *d, uint64_t iova, uint64_t pa, uint64_t size, unsigned prot);
int smmu_unmap(struct smmu_domain *d, uint64_t iova, uint64_t size);
/* Software walk for diagnostics: 0 and *pa, or -ENOENT. */
int smmu_translate(struct smmu_domain *d, uint64_t iova, uint64_t *pa);
/* Streams: attach makes sid translate through d; detach puts it back in
 * abort. -EBUSY if the stream already has an owner; also -ENOSPC (more than
 * SMMU_MAX_STREAMS), -ERANGE (sid beyond the stream table), -ENOMEM,
 * -ETIMEDOUT. detach: -ENOENT if the stream was not attached. */
int smmu_attach(struct smmu_domain *d, uint32_t sid);
int smmu_detach(uint32_t sid);
/* Names the device behind an attached stream in fault lines ("00:03.0");
 * -ENOENT if it is not attached. */
int smmu_stream_label(uint32_t sid, const char *label);
/* The owner name of the domain sid is attached to, into buf; false if it
 * is not attached. */
bool smmu_stream_owner(uint32_t sid, char *buf, size_t len);
/* Benchmarks only: an attached stream bypasses translation (true) or uses
 * its domain again (false). Never used outside test-only commands. */
int smmu_set_bypass(uint32_t sid, bool bypass);
/* Interrupts: the kernel routes the SMMU's wired IRQs here. */
bool smmu_handle_irq(unsigned intid);
/* Processes pending events without an interrupt (polling, tests). */
void smmu_poll_events(void);
const struct smmu_stats *smmu_get_stats(void);
/* Shell output: features, domains, attached streams, counters, last faults. */
void smmu_print_status(void);
/* Maps a PCI requester ID to a stream ID through the host bridge's
 * iommu-map (identity if there is none). */
uint32_t smmu_rid_to_sid(const void *fdt, uint32_t rid);
/* The same, but -ENOENT (and *sid = rid) unless an iommu-map entry naming
 * an SMMUv3 covers rid: only then is the function's DMA confined. */
int smmu_rid_lookup(const void *fdt, uint32_t rid, uint32_t *sid);

#endif

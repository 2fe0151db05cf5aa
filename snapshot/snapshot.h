/*
 * snapshot/ API: the on-disk snapshot format (docs/snapshot-format.md says
 * it byte for byte) and the code that writes, reads and checks it. Portable
 * C over lib/ and zstd (compression and XXH64, the only checksum used); the
 * hypervisor and the host tool (tools/snap, with the host's libzstd) build
 * the same files.
 *
 * Storage: a snapshot area of a block device (struct snap_bdev) holds two
 * superblock slots and up to SNAP_MAX_SNAPSHOTS named snapshots. A
 * snapshot is a manifest (typed, length-prefixed, versioned, checksummed
 * records) plus its guest RAM in chunks of up to SNAP_CHUNK_PAGES pages,
 * each chunk one zstd frame (or stored raw when that is no smaller) of its
 * non-zero pages, with a zero-page bitmap and XXH64 of the stored and of
 * the raw bytes. A save writes the data, then the manifest, flushes, writes
 * the next-generation superblock into the slot not in use (FUA) and
 * flushes: until that superblock is on disk the previous state is the one
 * read back, and new data never goes into blocks the current state uses.
 *
 * Record payloads (struct snap_vcpu, snap_vgic, ...) are little-endian
 * structs with explicit padding, written and read as they are: both hosts
 * of this code are little-endian, and their sizes are checked below.
 *
 * Threads: a store and its saves and images are one caller's at a time,
 * except snap_chunk_encode/decode (each encoder and decoder is one
 * thread's) and snap_chunk_read, which may run on several CPUs at once
 * when the block device allows it. On the hypervisor all of it, zstd and
 * newlib included, is general-register code (make check-nofp), so it may
 * run on a CPU whose guest's FP/SIMD state is still live.
 *
 * Errors are negative errno values; the store keeps a sentence saying what
 * was wrong and where (snap_error). -EBADMSG always means damaged or
 * inconsistent data on disk, -EIO a failed device operation.
 */
#ifndef SNAPSHOT_SNAPSHOT_H
#define SNAPSHOT_SNAPSHOT_H

#include "lib/types.h"

#define SNAP_BLOCK	    4096u /* unit of every on-disk address */
#define SNAP_PAGE	    4096u /* guest RAM is tracked in pages of this size */
#define SNAP_CHUNK_PAGES    256u  /* pages per chunk (1 MiB) */
#define SNAP_CHUNK_BYTES    (SNAP_CHUNK_PAGES * SNAP_PAGE)
#define SNAP_NAME_MAX	    47u /* bytes of a name: [A-Za-z0-9._-], starts alphanumeric */
#define SNAP_MAX_SNAPSHOTS  31u
#define SNAP_MANIFEST_MAX   (16u << 20) /* bytes; refused above (about 200k chunks) */
#define SNAP_LEVEL_DEFAULT  1		/* zstd level */
#define SNAP_FORMAT_VERSION 1u

/* ---- the block device ----
 * The snapshot area, addressed in sectors from its start. read/write/flush
 * return 0 or a negative errno. Buffers the library passes are 4096-byte
 * aligned heap memory of count * sector_size bytes (the hypervisor's heap is
 * identity mapped, so they can be DMA targets). write_fua writes through to
 * stable media before it returns; NULL makes the library write and flush.
 * A write need not be durable before the next flush returns. */
struct snap_bdev {
	uint32_t sector_size; /* 512, 1024, 2048 or 4096 */
	uint64_t sectors;     /* size of the area */
	int (*read)(void *ctx, uint64_t sector, uint64_t count, void *buf);
	int (*write)(void *ctx, uint64_t sector, uint64_t count, const void *buf);
	int (*write_fua)(void *ctx, uint64_t sector, uint64_t count, const void *buf);
	int (*flush)(void *ctx);
	void *ctx;
};

/* ---- record types and their payloads ---- */
enum snap_rec_type {
	SNAP_REC_HEADER = 1,	      /* struct snap_header (written by the library) */
	SNAP_REC_CPU_FINGERPRINT = 2, /* struct snap_fingerprint + snap_idreg[n] */
	SNAP_REC_VCPU = 3,	      /* struct snap_vcpu, one per vCPU */
	SNAP_REC_VCPU_SVE = 4,	      /* struct snap_vcpu_sve + state, per vCPU using SVE */
	SNAP_REC_VGIC = 5,	      /* struct snap_vgic + irqs + cpus */
	SNAP_REC_TIMER = 6,	      /* struct snap_timer + snap_timer_cpu[nvcpus] */
	SNAP_REC_DEVICE = 7,	      /* struct snap_device + the kind's payload */
	SNAP_REC_MEMMAP = 8,	      /* (library) struct snap_memmap + snap_range[n] */
	SNAP_REC_CHUNK_INDEX = 9,     /* (library) struct snap_chunk_index + snap_chunk[n] */
	SNAP_REC_PARENT = 10,	      /* struct snap_parent (optional: informational) */
	SNAP_REC_END = 0xffff,	      /* (library) struct snap_end */
};
#define SNAP_REC_F_OPTIONAL 1u /* a reader that does not know the type skips it */

/* Versions this code writes and reads. A reader refuses a required record
 * of a version it does not know (the vGIC record is expected to change). */
#define SNAP_HEADER_V1	    1
#define SNAP_FINGERPRINT_V1 1
#define SNAP_VCPU_V1	    1
#define SNAP_VCPU_SVE_V1    1
#define SNAP_VGIC_V1	    1
#define SNAP_TIMER_V1	    1
#define SNAP_DEVICE_V1	    1
#define SNAP_MEMMAP_V1	    1
#define SNAP_CHUNK_INDEX_V1 1
#define SNAP_END_V1	    1
#define SNAP_PARENT_V1	    1

struct snap_header {
	char name[48];	    /* NUL-padded */
	char partition[48]; /* the partition it was taken from */
	char creator[48];   /* who wrote it, e.g. "tessera 0.4-g1234abc" */
	uint32_t nvcpus;
	uint32_t page_size;   /* SNAP_PAGE */
	uint32_t chunk_pages; /* SNAP_CHUNK_PAGES */
	uint32_t flags;	      /* 0 */
	uint64_t ram_bytes;   /* sum of the RAM ranges */
	uint64_t created;     /* the writer's clock: ns since the Unix epoch, 0 unknown */
	uint64_t generation;  /* store generation that committed it */
	uint64_t store_id;    /* the store's (struct snap_store_stat.store_id) */
};

/* System register encoding as in MRS: op0 op1 CRn CRm op2. */
#define SNAP_SYSREG(op0, op1, crn, crm, op2)                                                       \
	((uint32_t)(op0) << 14 | (uint32_t)(op1) << 11 | (uint32_t)(crn) << 7 |                    \
	 (uint32_t)(crm) << 3 | (uint32_t)(op2))
#define SNAP_MIDR_EL1	      SNAP_SYSREG(3, 0, 0, 0, 0)
#define SNAP_REVIDR_EL1	      SNAP_SYSREG(3, 0, 0, 0, 6)
#define SNAP_ID_AA64PFR0_EL1  SNAP_SYSREG(3, 0, 0, 4, 0)
#define SNAP_ID_AA64PFR1_EL1  SNAP_SYSREG(3, 0, 0, 4, 1)
#define SNAP_ID_AA64ZFR0_EL1  SNAP_SYSREG(3, 0, 0, 4, 4)
#define SNAP_ID_AA64DFR0_EL1  SNAP_SYSREG(3, 0, 0, 5, 0)
#define SNAP_ID_AA64DFR1_EL1  SNAP_SYSREG(3, 0, 0, 5, 1)
#define SNAP_ID_AA64ISAR0_EL1 SNAP_SYSREG(3, 0, 0, 6, 0)
#define SNAP_ID_AA64ISAR1_EL1 SNAP_SYSREG(3, 0, 0, 6, 1)
#define SNAP_ID_AA64ISAR2_EL1 SNAP_SYSREG(3, 0, 0, 6, 2)
#define SNAP_ID_AA64MMFR0_EL1 SNAP_SYSREG(3, 0, 0, 7, 0)
#define SNAP_ID_AA64MMFR1_EL1 SNAP_SYSREG(3, 0, 0, 7, 1)
#define SNAP_ID_AA64MMFR2_EL1 SNAP_SYSREG(3, 0, 0, 7, 2)
#define SNAP_CLIDR_EL1	      SNAP_SYSREG(3, 1, 0, 0, 1)
#define SNAP_CTR_EL0	      SNAP_SYSREG(3, 3, 0, 0, 1)
#define SNAP_DCZID_EL0	      SNAP_SYSREG(3, 3, 0, 0, 7)

/* CPU fingerprint: the ID register values the guest saw. */
struct snap_fingerprint {
	uint32_t count; /* snap_idreg entries that follow */
	uint32_t reserved;
};
struct snap_idreg {
	uint32_t reg; /* SNAP_SYSREG(...) */
	uint32_t reserved;
	uint64_t value;
};

enum snap_power {
	SNAP_POWER_OFF = 0,
	SNAP_POWER_ON = 1,
	SNAP_POWER_ON_PENDING = 2, /* CPU_ON accepted, not yet run: on_entry, on_context */
};
#define SNAP_VCPU_F_PAUTH  BIT(0) /* pac_keys hold the keys */
#define SNAP_VCPU_F_SERROR BIT(1) /* a virtual SError is pending, syndrome vsesr */
#define SNAP_VCPU_F_DEBUG  BIT(2) /* the self-hosted debug registers are valid */
#define SNAP_VCPU_F_PMU	   BIT(3) /* the PMU registers are valid */
#define SNAP_VCPU_F_WFI	   BIT(4) /* it was waiting in WFI (a hint: WFI may return early) */

/* One vCPU at an exit boundary (pc is where it resumes). */
struct snap_vcpu {
	uint32_t index; /* 0..nvcpus-1 */
	uint32_t flags; /* SNAP_VCPU_F_* */
	uint32_t power; /* enum snap_power */
	uint32_t reserved;
	uint64_t mpidr; /* VMPIDR_EL2: the guest's MPIDR_EL1 */
	uint64_t x[31];
	uint64_t sp_el0, sp_el1, pc, pstate; /* pc = ELR_EL2, pstate = SPSR_EL2 */
	uint64_t elr_el1, spsr_el1;
	uint64_t sctlr, actlr, cpacr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
	uint64_t tpidr_el0, tpidrro_el0, tpidr_el1, csselr, esr, far, afsr0, afsr1, par;
	uint64_t v[64]; /* q0..q31: low then high 64 bits of each */
	uint64_t fpsr, fpcr;
	uint64_t pac_keys[10]; /* APIA, APIB, APDA, APDB, APGA: lo, hi */
	uint64_t vsesr;	       /* VSESR_EL2 of the pending SError */
	uint64_t on_entry, on_context;
	uint64_t mdscr, oslsr, osdlr, mdccint;
	uint64_t dbg_bvr[16], dbg_bcr[16], dbg_wvr[16], dbg_wcr[16];
	uint64_t pmcr, pmselr, pmcnten, pminten, pmovs, pmuserenr, pmccntr, pmccfiltr;
	uint64_t pmevcntr[31], pmevtyper[31];
};

/* SVE state of one vCPU, followed by snap_sve_state_size(vl) bytes:
 * Z0..Z31 (vl bytes each), P0..P15 and FFR (vl / 8 bytes each). */
struct snap_vcpu_sve {
	uint32_t index;
	uint32_t vl; /* vector length in bytes: a multiple of 16, 16..256 */
	uint64_t zcr_el1;
};
static inline uint32_t snap_sve_state_size(uint32_t vl)
{
	return 32u * vl + 17u * (vl / 8);
}

/* vGIC (v1: GICv3 without LPIs, the model of kernel/vgic). The list
 * registers are folded back into the model before saving, so none are
 * here; the timer PPI's level is recomputed on restore. */
#define SNAP_IRQ_GROUP1	 BIT(0)
#define SNAP_IRQ_ENABLED BIT(1)
#define SNAP_IRQ_EDGE	 BIT(2)
#define SNAP_IRQ_ACTIVE	 BIT(3)
#define SNAP_IRQ_PENDING BIT(4) /* pending latch (edge seen, ISPENDR, injected) */
#define SNAP_IRQ_LEVEL	 BIT(5) /* input line high */
#define SNAP_IRQ_HW	 BIT(6) /* HW-linked to physical INTID pintid */
struct snap_vgic_irq {
	uint16_t intid;
	uint16_t pintid;
	uint8_t prio;
	uint8_t target; /* the vCPU whose list registers take it */
	uint16_t flags; /* SNAP_IRQ_* */
	uint64_t irouter;
};
struct snap_vgic {
	uint32_t nvcpus;
	uint32_t nspis; /* snap_vgic_irq entries for INTIDs 32.. that follow */
	uint32_t gicd_ctlr;
	uint32_t reserved;
	/* then snap_vgic_irq[nspis], then snap_vgic_cpu[nvcpus] */
};
#define SNAP_VGIC_CPU_SLEEP BIT(0) /* GICR_WAKER.ProcessorSleep */
struct snap_vgic_cpu {
	uint32_t index;
	uint32_t flags;
	uint64_t ich_vmcr;
	uint64_t ich_ap0r[4], ich_ap1r[4];
	uint64_t icc_sre;
	struct snap_vgic_irq priv[32]; /* SGIs and PPIs */
};

/* Timers. Clock policy: freeze (the guest sees no gap: CNTVOFF' =
 * CNTPCT_now - vcount) or catch up (virtual time advanced by the wall time
 * elapsed). Either way virtual time is monotonic, and CNTVOFF is set once
 * before any timer register is replayed. */
enum snap_clock_policy { SNAP_CLOCK_FREEZE = 0, SNAP_CLOCK_CATCH_UP = 1 };
struct snap_timer {
	uint64_t cntfrq;
	uint64_t cntvoff; /* at the pause */
	uint64_t vcount;  /* the guest's virtual count at the pause */
	uint64_t pcount;  /* host CNTPCT at the pause */
	uint64_t wall_ns; /* host wall clock at the pause, ns since the epoch; 0 unknown */
	uint32_t policy;  /* enum snap_clock_policy */
	uint32_t nvcpus;  /* snap_timer_cpu entries that follow */
};
struct snap_timer_cpu {
	uint64_t cntv_ctl, cntv_cval, cntp_ctl, cntp_cval, cntkctl;
};

/* A virtual device: this header, then the kind's payload. */
enum snap_dev_kind { SNAP_DEV_PL011 = 1 };
struct snap_device {
	uint32_t kind;	  /* enum snap_dev_kind */
	uint32_t version; /* of the kind's payload */
	uint32_t instance;
	uint32_t irq;  /* INTID */
	uint64_t base; /* IPA of its register frame */
};
#define SNAP_PL011_V1	  1
#define SNAP_PL011_LEVEL  BIT(0) /* the interrupt line was high */
#define SNAP_PL011_RX_MAX 65536u
#define SNAP_PL011_TX_MAX 4096u
struct snap_pl011 {
	uint32_t rsr, ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr, ris;
	uint32_t flags;
	uint32_t rx_count; /* queued input bytes that follow (receive FIFO first) */
	uint32_t tx_len;   /* bytes of the unfinished transmit line, after the input */
	uint32_t reserved;
};

/* Memory map */
#define SNAP_RANGE_RAM	1u /* contents saved in chunks */
#define SNAP_RANGE_MMIO 2u /* a window the guest had (informational, no chunks) */
struct snap_memmap {
	uint32_t nranges;
	uint32_t page_size;
};
struct snap_range {
	uint64_t ipa, bytes; /* page aligned */
	uint32_t flags;	     /* SNAP_RANGE_* */
	uint32_t first_chunk, nchunks;
	uint32_t reserved;
};

/* Chunk index */
enum snap_codec { SNAP_CODEC_NONE = 0, SNAP_CODEC_ZSTD = 1 };
struct snap_chunk_index {
	uint32_t nchunks;
	uint32_t chunk_pages;
};
struct snap_chunk {
	uint64_t gpa;	       /* IPA of its first page */
	uint32_t pages;	       /* 1..SNAP_CHUNK_PAGES */
	uint32_t nonzero;      /* pages stored (pages minus the zero ones) */
	uint16_t codec;	       /* enum snap_codec */
	uint16_t reserved;     /* 0 */
	uint32_t payload_len;  /* bytes stored; 0 when every page is zero */
	uint64_t block;	       /* first block of the payload (0: none) */
	uint64_t payload_hash; /* XXH64 of the payload_len stored bytes */
	uint64_t raw_hash;     /* XXH64 of all pages * SNAP_PAGE raw bytes */
	uint8_t zero_map[32];  /* bit i (byte i / 8, bit i % 8): page i is zero */
};
/* An incremental snapshot: the snapshot it was taken against, whose
 * chunks its index shares where RAM had not changed (snap_save_reuse).
 * Informational: the index is complete, so nothing is read from the
 * parent, and deleting the parent frees only what no one shares. */
struct snap_parent {
	char name[48];	     /* NUL-padded */
	uint64_t generation; /* that committed the parent */
};
struct snap_end {
	uint32_t nrecords; /* records before this one */
	uint32_t reserved;
	uint64_t hash; /* XXH64 of the manifest up to this record */
};

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian");
_Static_assert(sizeof(struct snap_header) == 192, "snap_header");
_Static_assert(sizeof(struct snap_idreg) == 16, "snap_idreg");
_Static_assert(sizeof(struct snap_vcpu) == 2208, "snap_vcpu");
_Static_assert(sizeof(struct snap_vcpu_sve) == 16, "snap_vcpu_sve");
_Static_assert(sizeof(struct snap_vgic_irq) == 16, "snap_vgic_irq");
_Static_assert(sizeof(struct snap_vgic) == 16, "snap_vgic");
_Static_assert(sizeof(struct snap_vgic_cpu) == 600, "snap_vgic_cpu");
_Static_assert(sizeof(struct snap_timer) == 48, "snap_timer");
_Static_assert(sizeof(struct snap_timer_cpu) == 40, "snap_timer_cpu");
_Static_assert(sizeof(struct snap_device) == 24, "snap_device");
_Static_assert(sizeof(struct snap_pl011) == 56, "snap_pl011");
_Static_assert(sizeof(struct snap_range) == 32, "snap_range");
_Static_assert(sizeof(struct snap_chunk) == 80, "snap_chunk");
_Static_assert(sizeof(struct snap_end) == 16, "snap_end");
_Static_assert(sizeof(struct snap_parent) == 56, "snap_parent");

/* ---- the store ---- */
struct snap_store;

/* Makes an empty store of the whole device (every snapshot on it is lost).
 * store_id tells stores apart (any value; a random one is best). */
int snap_format(struct snap_bdev *dev, uint64_t store_id, char *why, size_t whylen);
/* Reads the superblocks and takes the newest valid one. -ENODATA: neither
 * slot was ever written (a blank disk: format it); -EBADMSG: no slot is
 * valid (a damaged store: do not format it without asking); -EINVAL: the
 * device is smaller than the store or has an unusable sector size. why
 * says which, in words. */
int snap_open(struct snap_bdev *dev, struct snap_store **out, char *why, size_t whylen);
void snap_close(struct snap_store *s);
const char *snap_error(const struct snap_store *s); /* the last failure, in words */

enum snap_slot_state { SNAP_SLOT_OK, SNAP_SLOT_BLANK, SNAP_SLOT_BAD };
struct snap_store_stat {
	uint64_t store_id, generation;
	unsigned slot; /* the slot the state was read from */
	int slot_state[2];
	uint64_t slot_gen[2]; /* of SNAP_SLOT_OK slots */
	char slot_why[2][96]; /* what is wrong with a SNAP_SLOT_BAD slot */
	uint64_t area_blocks, used_blocks, free_blocks;
	unsigned count; /* snapshots */
	unsigned
	    damaged; /* snapshots whose manifest could not be read (their span stays reserved) */
};
/* Reads every manifest to count used space; damaged ones are counted. */
int snap_stat(struct snap_store *s, struct snap_store_stat *st);

struct snap_info {
	char name[SNAP_NAME_MAX + 1];
	uint64_t generation; /* that committed it */
	uint32_t nvcpus;
	uint64_t ram_bytes;
	uint64_t disk_bytes; /* blocks it occupies, manifest included, in bytes */
	uint64_t created;
	uint64_t manifest_block;
	uint32_t manifest_len;
};
unsigned snap_count(const struct snap_store *s);
int snap_entry(const struct snap_store *s, unsigned i, struct snap_info *out); /* commit order */
int snap_lookup(const struct snap_store *s, const char *name, struct snap_info *out); /* -ENOENT */
/* One superblock commit; its blocks are free for the next save. */
int snap_delete(struct snap_store *s, const char *name);
bool snap_name_valid(const char *name);

/* ---- saving ----
 * begin; the state records (any order, after begin); the memory ranges
 * and their chunks; commit. Nothing is visible before commit returns 0;
 * abort (or a failed call followed by abort) leaves the store as it was.
 * Only one save per store at a time. */
struct snap_save;
struct snap_save_params {
	const char *name;
	const char *partition; /* informational */
	const char *creator;   /* informational */
	uint32_t nvcpus;       /* VCPU records expected */
	uint64_t created;      /* ns since the Unix epoch, 0 unknown */
	bool replace;	       /* supersede a snapshot of that name (else -EEXIST) */
	int level;	       /* zstd level of snap_save_ram; 0: SNAP_LEVEL_DEFAULT */
};
/* -EEXIST (name taken, !replace), -ENOSPC (directory full), -EINVAL (bad
 * name or nvcpus), -EBUSY (another save is open). */
int snap_save_begin(struct snap_store *s, const struct snap_save_params *p, struct snap_save **out);
/* A record of any type but the library's own (HEADER, MEMMAP, CHUNK_INDEX,
 * END). Known types are checked as the reader will check them. */
int snap_save_record(struct snap_save *w, uint32_t type, uint16_t version, uint16_t flags,
		     const void *body, uint32_t len);
int snap_save_fingerprint(struct snap_save *w, const struct snap_idreg *regs, uint32_t n);
int snap_save_vcpu(struct snap_save *w, const struct snap_vcpu *v);
int snap_save_vcpu_sve(struct snap_save *w, const struct snap_vcpu_sve *h, const void *state);
int snap_save_vgic(struct snap_save *w, const struct snap_vgic *g, const struct snap_vgic_irq *spis,
		   const struct snap_vgic_cpu *cpus);
int snap_save_timer(struct snap_save *w, const struct snap_timer *t,
		    const struct snap_timer_cpu *cpus);
int snap_save_pl011(struct snap_save *w, const struct snap_device *d, const struct snap_pl011 *u,
		    const void *rx, const void *tx);
/* Declares a range of the memory map (ascending, page aligned, disjoint).
 * A RAM range gets chunks first_chunk.. of SNAP_CHUNK_PAGES pages (the
 * last one shorter), each to be given to snap_save_chunk/place once. */
int snap_save_range(struct snap_save *w, uint64_t ipa, uint64_t bytes, uint32_t flags,
		    uint32_t *first_chunk, uint32_t *nchunks);

/* Chunk encoding, on any CPU (one encoder per thread). out has
 * SNAP_CHUNK_BYTES bytes, 4096-aligned when it goes to the device as is;
 * encode fills c (all but gpa and block) and zero-pads the payload to its
 * last block. */
struct snap_encoder;
struct snap_encoder *snap_encoder_new(int level);
void snap_encoder_free(struct snap_encoder *e);
/* fn(ctx) is called between pieces of each encode (every 64 KiB of input
 * compressed, and around the hashing): a writer running beside a guest
 * gives way there. The output is one zstd frame either way. */
void snap_encoder_pace(struct snap_encoder *e, void (*fn)(void *ctx), void *ctx);
int snap_chunk_encode(struct snap_encoder *e, const void *raw, uint32_t pages, void *out,
		      struct snap_chunk *c);
static inline uint64_t snap_chunk_blocks(const struct snap_chunk *c)
{
	return ((uint64_t)c->payload_len + SNAP_BLOCK - 1) / SNAP_BLOCK;
}
/* Gives chunk index its place and writes its payload (the blocks of
 * snap_chunk_blocks(c) from payload). Calls on one save are serialised by
 * the caller. -ENOSPC: no free run long enough (abort the save). */
int snap_save_chunk(struct snap_save *w, uint32_t index, const struct snap_chunk *c,
		    const void *payload);
/* The same without the write: the caller writes the payload's blocks at
 * *sector (count *count) itself, e.g. asynchronously from several CPUs,
 * and all of them must have completed before snap_save_commit. */
int snap_save_place(struct snap_save *w, uint32_t index, const struct snap_chunk *c,
		    uint64_t *sector, uint64_t *count);
/* Incremental saves: chunk index takes c as it stands in a committed
 * snapshot (from snap_image_chunks of one, RAM unchanged since): same
 * place (gpa, pages), same blocks, nothing written. -EINVAL when c is
 * not for that index or its blocks are not a committed snapshot's. The
 * blocks then belong to both; deleting either keeps them for the other. */
int snap_save_reuse(struct snap_save *w, uint32_t index, const struct snap_chunk *c);
/* Convenience, one CPU: declares a RAM range and encodes and writes all
 * its chunks from ram (bytes long). */
int snap_save_ram(struct snap_save *w, uint64_t ipa, const void *ram, uint64_t bytes);
uint64_t snap_save_free_blocks(struct snap_save *w); /* 0 if the state cannot be read */

struct snap_save_stats {
	uint64_t generation; /* committed */
	uint64_t ram_bytes;  /* of the RAM ranges */
	uint64_t pages, zero_pages;
	uint64_t chunks, payload_bytes; /* stored (compressed) chunk bytes */
	uint64_t reused_chunks;		/* snap_save_reuse: shared, not written */
	uint64_t manifest_bytes;
	uint64_t disk_bytes; /* blocks written: payloads, padding, manifest */
};
/* Checks that the state is complete (a CPU fingerprint, every vCPU, every
 * chunk placed), writes the manifest, flushes, commits. Frees w whatever
 * the outcome; st may be NULL. */
int snap_save_commit(struct snap_save *w, struct snap_save_stats *st);
void snap_save_abort(struct snap_save *w);

/* ---- reading ----
 * snap_load reads a snapshot's manifest and checks its checksums and
 * structure (every record, the vCPUs, the memory map against the chunk
 * index, the chunks' places); the chunks themselves are checked as they
 * are read and decoded. The image uses the store: free it first. */
struct snap_image;
int snap_load(struct snap_store *s, const char *name, struct snap_image **out);
void snap_image_free(struct snap_image *m);

struct snap_rec {
	uint32_t type;
	uint16_t version, flags;
	uint32_t len;	  /* body bytes */
	uint32_t offset;  /* of its header in the manifest */
	const void *body; /* inside the image; len bytes, 8-byte aligned */
};
unsigned snap_image_nrecords(const struct snap_image *m);
int snap_image_record(const struct snap_image *m, unsigned i, struct snap_rec *r);
/* The nth record of a type (-ENOENT). */
int snap_image_find(const struct snap_image *m, uint32_t type, unsigned nth, struct snap_rec *r);
uint32_t snap_image_manifest_len(const struct snap_image *m);

const struct snap_header *snap_image_header(const struct snap_image *m);
const struct snap_idreg *snap_image_fingerprint(const struct snap_image *m, uint32_t *n);
const struct snap_vcpu *snap_image_vcpu(const struct snap_image *m, unsigned idx);
/* NULL when the vCPU has no SVE record; *state gets its state bytes. */
const struct snap_vcpu_sve *snap_image_vcpu_sve(const struct snap_image *m, unsigned idx,
						const void **state);
/* NULL when absent. */
const struct snap_vgic *snap_image_vgic(const struct snap_image *m,
					const struct snap_vgic_irq **spis,
					const struct snap_vgic_cpu **cpus);
const struct snap_timer *snap_image_timer(const struct snap_image *m,
					  const struct snap_timer_cpu **cpus);
unsigned snap_image_ndevices(const struct snap_image *m);
/* Device i: its header, payload and payload length. */
const struct snap_device *snap_image_device(const struct snap_image *m, unsigned i,
					    const void **payload, uint32_t *len);
/* A PL011 device record's payload; -EBADMSG if it does not parse. */
int snap_pl011_parse(const void *payload, uint32_t len, struct snap_pl011 *u, const uint8_t **rx,
		     const uint8_t **tx);
const struct snap_range *snap_image_ranges(const struct snap_image *m, unsigned *n);
const struct snap_chunk *snap_image_chunks(const struct snap_image *m, unsigned *n);
/* Whether the guest's ID registers now (cur, n of them) are those it saw:
 * 0, or -EPERM with the first difference in why. A register in only one of
 * the two lists is a difference. */
int snap_fingerprint_check(const struct snap_image *m, const struct snap_idreg *cur, uint32_t n,
			   char *why, size_t whylen);
const char *snap_sysreg_name(uint32_t reg); /* "ID_AA64PFR0_EL1", or NULL */
const char *snap_rec_name(uint32_t type);   /* "VCPU", or NULL */

/* Reads chunk i's stored blocks into payload (SNAP_CHUNK_BYTES, 4096
 * aligned) and checks the padding after the payload is zero. Several CPUs
 * may read chunks at once if the device allows it; a caller reading the
 * blocks itself (c->block, snap_chunk_blocks(c)) skips only the padding
 * check: the data is still checked by snap_chunk_decode. */
int snap_chunk_read(struct snap_image *m, unsigned i, void *payload);
/* Checks the payload's XXH64, expands it into raw (c->pages pages: zero
 * pages zeroed) and checks the raw XXH64. One decoder per thread. */
struct snap_decoder;
struct snap_decoder *snap_decoder_new(void);
void snap_decoder_free(struct snap_decoder *d);
int snap_chunk_decode(struct snap_decoder *d, const struct snap_chunk *c, const void *payload,
		      void *raw);
const char *snap_decoder_error(const struct snap_decoder *d);
/* Convenience, one CPU: the whole of RAM range r into dst (its bytes long). */
int snap_load_range(struct snap_image *m, unsigned r, void *dst);

/* Rewrites NAME with every chunk in blocks of its own (none shared with
 * another snapshot; its PARENT record dropped), in one commit: a chain
 * folded into a full snapshot. st may be NULL. */
int snap_compact(struct snap_store *s, const char *name, struct snap_save_stats *st);

struct snap_verify_stats {
	uint64_t chunks, pages, zero_pages, payload_bytes, raw_bytes;
};
/* Loads NAME and reads and checks every chunk. 0 or the first failure
 * (-EBADMSG: damaged; snap_error says where). st may be NULL. */
int snap_verify(struct snap_store *s, const char *name, struct snap_verify_stats *st);

#endif

/*
 * The SMMUv3 driver's shared state, private to smmu/ (target only; the
 * portable pieces are in smmu_hw.h).
 *
 * Locks, in the order they nest (outer first); all but the domain locks
 * mask IRQs because the event and GERROR interrupts take them:
 *   evtq.lock   - event queue consumer state (events.c)
 *   dev.lock    - domain slots, stream owners, the stream table (stream.c)
 *   domain lock - one domain's page tables (domain.c)
 *   cmdq.lock   - the command queue and GERROR acknowledgement (queue.c)
 * kprintf's lock and the memory allocator's are leaves below all of them.
 */
#ifndef SMMU_SMMU_INT_H
#define SMMU_SMMU_INT_H

#include "smmu/smmu.h"
#include "smmu/smmu_hw.h"
#include "arch/arm64/arch.h"

#define SMMU_QUEUE_LOG2 8 /* 256 entries per queue, unless IDR1 says fewer */
/* A blocked DMA buffer can raise an event per access (hundreds per page on
 * QEMU): the event queue is deeper so one bad command does not overflow it. */
#define SMMU_EVTQ_LOG2	       12
#define SMMU_POLL_TIMEOUT_US   1000000 /* any register or queue wait */
#define SMMU_LINEAR_MAX_BITS   16      /* 64 Ki STEs = 4 MiB */
#define SMMU_2LVL_MAX_BITS     24      /* 64 Ki L1 descriptors = 512 KiB */
#define SMMU_TLBI_VA_MAX_PAGES 16      /* beyond: invalidate the whole ASID/VMID */

struct smmu_queue {
	uint64_t *base;		     /* entries, identity-mapped */
	unsigned log2, dwords;	     /* 2^log2 entries of dwords 64-bit words */
	uint32_t prod, cons;	     /* positions (index + wrap) as we know them */
	uint32_t prod_reg, cons_reg; /* register offsets */
	struct spinlock lock;
};

struct smmu_domain {
	bool used;
	unsigned id;  /* slot number */
	uint16_t tag; /* ASID (stage-1) or VMID (stage-2) */
	struct smmu_owner owner;
	struct pt pt;
	uint64_t *cd;	   /* stage-1: the one-entry CD table */
	unsigned nstreams; /* attached streams */
	unsigned tables;   /* page-table pages held */
	uint64_t mapped;   /* bytes mapped minus bytes unmapped */
	int inval_err;	   /* first failed invalidation of the current map/unmap */
	/* smmu_unmap collects single-page invalidations into one range and
	 * issues them with one CMD_SYNC at the end */
	bool defer;
	uint64_t defer_lo, defer_hi;
	struct spinlock lock;
};

struct smmu_stream {
	bool used;
	uint32_t sid;
	struct smmu_domain *d;
	char label[16]; /* the device, for the fault log ("" if unnamed) */
};

struct smmu_dev {
	struct smmu_info info;
	struct smmu_mem_ops mem;
	uintptr_t regs;
	bool ready;
	bool irqs;	   /* IRQ_CTRL programmed: smmu_handle_irq takes ours */
	bool stage2;	   /* domains use stage-2 (IDR0.S2P), else stage-1 */
	bool coherent;	   /* IDR0.COHACC: no cache maintenance for the SMMU */
	bool two_level;	   /* stream table format */
	unsigned sid_bits; /* the stream table covers SIDs below 2^sid_bits */
	uint64_t *strtab;  /* linear STEs, or the L1 descriptors */
	uint64_t strtab_size;
	unsigned n_l2; /* L2 tables allocated */
	struct smmu_queue cmdq, evtq;
	uint32_t evtq_ovack; /* EVTQ_CONS.OVACKFLG as last written */
	struct spinlock lock;
	struct smmu_domain domains[SMMU_MAX_DOMAINS];
	struct smmu_stream streams[SMMU_MAX_STREAMS];
	struct smmu_stats stats;
};
extern struct smmu_dev smmu_dev;

/* ---- registers and memory (smmu.c) ---- */
uint32_t smmu_read32(uint32_t off);
void smmu_write32(uint32_t off, uint32_t v);
void smmu_write64(uint32_t off, uint64_t v);
/* Waits until (reg & mask) == want; -ETIMEDOUT (logged, naming what) if not. */
int smmu_poll_reg(uint32_t off, uint32_t mask, uint32_t want, const char *what);
/* True once the deadline from smmu_deadline() has passed. */
uint64_t smmu_deadline(void);
bool smmu_expired(uint64_t deadline);
void *smmu_alloc(uint64_t size, uint64_t align); /* zeroed; NULL on failure */
void smmu_free(void *p, uint64_t size);
/* Makes CPU writes to [p, p+size) visible to the SMMU's table walks. */
void smmu_sync_for_device(const void *p, uint64_t size);
/* Discards stale CPU cache lines before reading what the SMMU wrote. */
void smmu_sync_for_cpu(const void *p, uint64_t size);

/* ---- command queue (queue.c) ---- */
/* Allocates a queue of 2^log2 entries and programs its BASE/PROD/CONS. */
int queue_alloc(struct smmu_queue *q, unsigned log2, unsigned dwords, uint32_t base_reg,
		uint32_t prod_reg, uint32_t cons_reg);
int cmdq_init(void);
/* Issues n commands and a CMD_SYNC, and waits for the sync: 0 or -ETIMEDOUT. */
int smmu_cmds(const uint64_t (*cmds)[CMD_DWORDS], unsigned n);
int smmu_cmd(const uint64_t cmd[CMD_DWORDS]);
/* With cmdq.lock held: replaces the command CMDQ_CONS stopped at. */
void cmdq_skip_error_locked(void);

/* ---- events and global errors (events.c, gerror.c) ---- */
int evtq_init(void);
void evtq_drain(void);
/* With cmdq.lock held: logs and acknowledges every active GERROR bit. */
void gerror_service_locked(void);
void gerror_service(void);

/* ---- stream table (strtab.c) ---- */
int strtab_init(void);
void strtab_free(void); /* only with the SMMU disabled */
/* Makes the STE for sid exist (2-level: allocates its L2 table). */
int strtab_prepare(uint32_t sid);
/* Writes a live STE in the order the SMMU may observe safely. */
int ste_write(uint32_t sid, const uint64_t ste[STE_DWORDS]);
/* Counts STEs present / aborting (status, self-checks); dev.lock held. */
void strtab_count(unsigned *present, unsigned *abort);

/* ---- domains and streams (domain.c, stream.c) ---- */
bool domain_ok(const struct smmu_domain *d); /* a live domain of ours */
void domain_ste(const struct smmu_domain *d, uint64_t ste[STE_DWORDS]);
/* The owner name of the stream, "nobody" if unattached. Takes dev.lock. */
void stream_owner_name(uint32_t sid, char *buf, size_t len);

#endif

/*
 * The NVMe driver's private state, shared by nvme.c (bring-up),
 * nvme_queue.c (rings, doorbells, completion polling), nvme_admin.c
 * (Identify, queue creation) and nvme_io.c (block I/O). Not an API.
 */
#ifndef DRIVERS_NVME_PRIV_H
#define DRIVERS_NVME_PRIV_H

#include "drivers/drivers.h"
#include "drivers/nvme_hw.h"
#include "drivers/nvme_engine.h"
#include "arch/arm64/arch.h"

#define NVME_ADMIN_DEPTH  32u
#define NVME_IO_DEPTH	  64u
#define NVME_IO_QID	  1u
#define NVME_MAX_XFER	  (512u * 1024) /* cap on top of MDTS: bounds one mapping */
#define NVME_CMD_TIMEOUT  5000u		/* ms any single command may take */
#define NVME_MIN_READY_MS 500u		/* if CAP.TO says 0 */

/* A DMA buffer the driver owns: allocated and mapped through the ops. */
struct nvme_buf {
	void *va; /* identity mapped: also the physical address */
	uint64_t iova, size;
	bool mapped;
};

/* One ring. SQ: idx is the tail (next slot the host fills). CQ: idx is the
 * head (next slot the host looks at) and phase what a new entry carries. */
struct nvme_queue {
	struct nvme_buf buf;
	uint16_t depth, idx;
	uint8_t phase;
	uintptr_t db; /* this queue's doorbell register */
};

struct nvme_qpair {
	uint16_t qid;
	uint16_t sq_head; /* the controller's SQ head, from the last completion */
	struct nvme_queue sq, cq;
};

struct nvme_ctrl {
	const struct pci_dev *pci;
	struct dma_ops dma;
	char bdf[12];	/* "bb:dd.f", for messages */
	uintptr_t regs; /* BAR0, mapped */
	uint64_t cap;
	uint32_t db_stride; /* bytes between doorbells: 4 << CAP.DSTRD */
	uint32_t ready_ms;  /* CAP.TO: how long CSTS.RDY may take to follow CC.EN */
	uint16_t next_cid;
	bool io_ready; /* the I/O queue pair exists: the engine runs */
	struct nvme_qpair admin, io;
	struct nvme_buf ident; /* Identify data (device writes) */
	struct nvme_buf prps;  /* NVME_ENG_SLOTS pages: one PRP list per I/O slot */
	struct nvme_eng eng;   /* asynchronous I/O once the queues exist */
	struct nvme_info info;
	struct nvme_stats stats;
};

/* How a command ended, for the caller's message. */
struct nvme_result {
	uint16_t status; /* CQE status field (SCT/SC/M/DNR) */
	uint32_t dw0;	 /* command-specific result */
};

/* ---- registers (nvme.c) ---- */
static inline uint32_t nvme_rd32(const struct nvme_ctrl *c, unsigned reg)
{
	return mmio_read32(c->regs + reg);
}
static inline void nvme_wr32(const struct nvme_ctrl *c, unsigned reg, uint32_t v)
{
	mmio_write32(c->regs + reg, v);
}

/* ---- cache maintenance: correct on non-coherent interconnects, cheap on
 * coherent ones (QEMU): clean what the device will read, clean+invalidate
 * what it will write before and after. ---- */
static inline void nvme_sync_for_dev(const void *p, uint64_t n)
{
	dcache_clean_range((uintptr_t)p, n);
}
static inline void nvme_sync_for_cpu(const void *p, uint64_t n)
{
	dcache_clean_inval_range((uintptr_t)p, n);
}

/* ---- DMA buffers (nvme_queue.c) ---- */
/* Allocates (page granular), optionally zeroes, then maps for the device. */
int nvme_buf_get(struct nvme_ctrl *c, struct nvme_buf *b, uint64_t size, bool dev_writes,
		 bool zero);
void nvme_buf_put(struct nvme_ctrl *c, struct nvme_buf *b);

/* ---- queues (nvme_queue.c) ---- */
int nvme_qpair_alloc(struct nvme_ctrl *c, struct nvme_qpair *q, uint16_t qid, uint16_t depth);
void nvme_qpair_free(struct nvme_ctrl *c, struct nvme_qpair *q);
/* Bring-up only (before the engine owns the queues): submits sqe (its CID
 * is assigned here) and polls for its completion for at most timeout_ms. 0 (status success), -EIO
 * (error status in *res, or the controller declared a fatal error: res->status 0xffff), -ETIMEDOUT,
 * -EBUSY (queue full). Never sleeps, never hangs. */
int nvme_exec(struct nvme_ctrl *c, struct nvme_qpair *q, struct nvme_sqe *sqe, uint32_t timeout_ms,
	      struct nvme_result *res);
/* Logs why a command failed: "nvme: <what>: <status> (SCT.. SC.., DNR)". */
void nvme_log_failure(struct nvme_ctrl *c, const char *what, int err,
		      const struct nvme_result *res);
#define NVME_STATUS_FATAL 0xffff /* res->status when CSTS.CFS ended the wait */

/* ---- admin commands (nvme_admin.c) ---- */
int nvme_identify(struct nvme_ctrl *c);
int nvme_create_io_queues(struct nvme_ctrl *c);

/* ---- bring-up helpers (nvme.c) ---- */
/* Clears CC.EN and waits for CSTS.RDY to drop (CAP.TO bounded). */
int nvme_disable(struct nvme_ctrl *c);
/* Hands the queues to the engine (nvme_io.c). */
int nvme_start_engine(struct nvme_ctrl *c);

#endif

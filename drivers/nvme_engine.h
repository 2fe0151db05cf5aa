/*
 * The NVMe I/O engine: asynchronous requests on the I/O queue pair, command
 * timeouts and controller recovery, as a state machine that never waits.
 * nvme_eng_poll() advances it (completions, deadlines, reset steps) and
 * says when it wants to be called again; nothing in here spins or sleeps.
 * Portable: registers, time and DMA mapping come through nvme_eng_ops, so
 * the host tests drive it against a fake controller. Private to drivers/.
 */
#ifndef DRIVERS_NVME_ENGINE_H
#define DRIVERS_NVME_ENGINE_H

#include "drivers/drivers.h"
#include "drivers/nvme_hw.h"
#include "lib/lock.h"

#define NVME_ENG_SLOTS	       16u /* I/O commands in flight at most */
#define NVME_ENG_SLOT_BITS     5u  /* CID = generation << 5 | slot */
#define NVME_ENG_RESET_TRIES   3u  /* failed recoveries in a row before giving up */
#define NVME_ENG_REQ_TRIES     2u  /* times a request is sent: once, and once after a reset */
#define NVME_ENG_POLL_US       1000u
#define NVME_ENG_DONE_PER_POLL 2u /* done() calls per poll: bounds one poll's work */
#define NVME_ENG_ADMIN_SLOT    0xffffu
#define NVME_ENG_PRP_LIST_MAX  (NVME_PAGE / sizeof(uint64_t))

struct nvme_eng_ops {
	uint32_t (*rd32)(void *ctx, unsigned reg); /* BAR0 offset */
	void (*wr32)(void *ctx, unsigned reg, uint32_t v);
	uint64_t (*now)(void *ctx); /* ticks of a monotonic counter */
	/* Makes [pa, pa+len) reachable by the device; iova back. */
	int (*map)(void *ctx, uint64_t pa, uint64_t len, bool dev_writes, uint64_t *iova);
	int (*unmap)(void *ctx, uint64_t iova, uint64_t len);
	/* Optional: whether the IOMMU blocked the device's DMA since last asked. */
	bool (*faulted)(void *ctx, uint64_t *iova);
	/* Cache maintenance: before the device reads / after it wrote. */
	void (*sync_dev)(const void *p, uint64_t n);
	void (*sync_cpu)(const void *p, uint64_t n);
	void *ctx;
};

/* One ring in memory the engine was given (zeroed by reinit). */
struct nvme_eng_ring {
	void *va;
	uint64_t iova;
	uint16_t depth, idx; /* SQ: tail; CQ: head */
	uint8_t phase;	     /* CQ: the phase a new entry carries */
	unsigned db;	     /* doorbell register offset in BAR0 */
};

struct nvme_eng_qp {
	struct nvme_eng_ring sq, cq;
	uint16_t sq_head; /* the controller's, from the last completion */
};

struct nvme_eng_slot {
	struct nvme_req *req; /* NULL: free */
	uint16_t cid;
	uint64_t deadline, iova, len, lba;
	uint32_t nblocks;
	bool mapped;
	uint64_t *prp; /* this slot's PRP list page (va) */
	uint64_t prp_iova;
};

enum nvme_eng_state {
	NVME_ENG_LIVE,
	NVME_ENG_RESET_OFF, /* CC.EN cleared, waiting for CSTS.RDY = 0 */
	NVME_ENG_RESET_ON,  /* CC.EN set again, waiting for CSTS.RDY = 1 */
	NVME_ENG_REINIT_CQ, /* Create I/O Completion Queue in flight */
	NVME_ENG_REINIT_SQ, /* Create I/O Submission Queue in flight */
	NVME_ENG_DEAD,	    /* recovery failed; the next request tries again */
};

struct nvme_eng {
	struct nvme_eng_ops ops;
	struct spinlock lock;
	const char *name; /* "bb:dd.f", for messages */
	/* from bring-up */
	uint32_t nsid, block_size, max_blocks; /* max_blocks: per command */
	uint64_t blocks;
	uint32_t cc;		 /* CC as bring-up programmed it, EN clear */
	uint32_t ready_ms;	 /* CAP.TO */
	uint32_t cmd_timeout_ms; /* any single command */
	uint64_t ticks_per_ms;
	struct nvme_eng_qp admin, io;
	unsigned nslots;
	struct nvme_eng_slot slot[NVME_ENG_SLOTS];
	/* state */
	enum nvme_eng_state state;
	uint64_t state_deadline;
	uint16_t admin_cid, gen;
	unsigned attempts;		   /* failed recoveries in a row */
	struct nvme_req *head, *tail;	   /* requests not yet finished, in order */
	struct nvme_req *done, *done_tail; /* finished, done() not called yet */
	struct nvme_stats *stats;
	uint64_t resets, recovered;
};

/* After bring-up: takes over the admin and I/O rings (their current
 * indices) and the per-slot PRP pages. e->ops, the fields "from bring-up"
 * and the rings must be filled in first. */
void nvme_eng_start(struct nvme_eng *e);
/* Queues r (validated) and starts it if a slot is free; never calls
 * done() itself (the next poll does). 0, -EINVAL. */
int nvme_eng_submit(struct nvme_eng *e, struct nvme_req *r);
/* Completions, timeouts, recovery steps; calls up to NVME_ENG_DONE_PER_POLL
 * finished requests' done() without the lock held. Returns the counter value by which it wants to
 * be called again, or UINT64_MAX when nothing is outstanding. */
uint64_t nvme_eng_poll(struct nvme_eng *e);
bool nvme_eng_busy(const struct nvme_eng *e);
const char *nvme_eng_state_name(enum nvme_eng_state s);

#endif

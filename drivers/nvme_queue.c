/*
 * NVMe queues: DMA buffers, submission and completion rings, doorbells and
 * the synchronous command path bring-up uses (at boot, before partitions
 * run): completions are polled, every wait is bounded by a deadline, and
 * polling yields the CPU so that under QEMU -icount time still advances.
 * Once the I/O queues exist, nvme_engine.c owns the rings and nothing waits.
 */
#include "drivers/nvme_priv.h"
#include "lib/log.h"
#include <errno.h>
#include <string.h>

/* How often a waiting poll also reads CSTS (an MMIO access, and under QEMU
 * one that takes the device lock the NVMe emulation needs too). */
#define CSTS_CHECK_US 1000

int nvme_buf_get(struct nvme_ctrl *c, struct nvme_buf *b, uint64_t size, bool dev_writes, bool zero)
{
	memset(b, 0, sizeof(*b));
	size = ALIGN_UP(size, NVME_PAGE);
	b->va = c->dma.alloc(c->dma.ctx, size, NVME_PAGE);
	if (!b->va)
		return -ENOMEM;
	b->size = size;
	if (zero)
		memset(b->va, 0, size);
	/* What the CPU wrote must be in memory before the device can look. */
	nvme_sync_for_cpu(b->va, size);
	int e = c->dma.map(c->dma.ctx, (uintptr_t)b->va, size, dev_writes, &b->iova);
	if (e) {
		nvme_buf_put(c, b);
		return e;
	}
	b->mapped = true;
	return 0;
}

/* Unmap before free: the device must lose access before the memory can
 * be reused by anyone else. */
void nvme_buf_put(struct nvme_ctrl *c, struct nvme_buf *b)
{
	if (b->mapped)
		c->dma.unmap(c->dma.ctx, b->iova, b->size);
	if (b->va)
		c->dma.free(c->dma.ctx, b->va, b->size);
	memset(b, 0, sizeof(*b));
}

/* Rings are zeroed here rather than trusting alloc: a CQ slot must not
 * look like a completion (phase 1) before the controller wrote it. */
static int ring_alloc(struct nvme_ctrl *c, struct nvme_queue *r, uint16_t depth, unsigned log2,
		      bool dev_writes)
{
	r->depth = depth;
	return nvme_buf_get(c, &r->buf, (uint64_t)depth << log2, dev_writes, true);
}

/* Doorbells: SQ y tail at 0x1000 + 2y strides, CQ y head one stride on. */
int nvme_qpair_alloc(struct nvme_ctrl *c, struct nvme_qpair *q, uint16_t qid, uint16_t depth)
{
	memset(q, 0, sizeof(*q));
	q->qid = qid;
	int e = ring_alloc(c, &q->sq, depth, NVME_SQE_LOG2, false);
	if (!e)
		e = ring_alloc(c, &q->cq, depth, NVME_CQE_LOG2, true);
	if (e) {
		nvme_qpair_free(c, q);
		return e;
	}
	q->sq.db = c->regs + NVME_REG_DBS + (2u * qid) * c->db_stride;
	q->cq.db = c->regs + NVME_REG_DBS + (2u * qid + 1) * c->db_stride;
	q->cq.phase = 1; /* the controller's first pass through the CQ writes P = 1 */
	return 0;
}

void nvme_qpair_free(struct nvme_ctrl *c, struct nvme_qpair *q)
{
	nvme_buf_put(c, &q->sq.buf);
	nvme_buf_put(c, &q->cq.buf);
	memset(q, 0, sizeof(*q));
}

/* 0xffff stays unused: the Error Information log uses it for "no command". */
static uint16_t next_cid(struct nvme_ctrl *c)
{
	uint16_t cid = c->next_cid++;

	if (c->next_cid == 0xffff)
		c->next_cid = 0;
	return cid;
}

/* Copies sqe into the tail slot and rings the doorbell. One slot always
 * stays empty: a full ring would look the same as an empty one. */
static int submit(struct nvme_ctrl *c, struct nvme_qpair *q, struct nvme_sqe *sqe)
{
	struct nvme_queue *sq = &q->sq;
	uint16_t next = (uint16_t)((sq->idx + 1) % sq->depth);

	if (next == q->sq_head)
		return -EBUSY;
	uint16_t cid = next_cid(c);
	sqe->cdw0 = (sqe->cdw0 & 0xffff) | (uint32_t)cid << 16;
	struct nvme_sqe *slot = (struct nvme_sqe *)sq->buf.va + sq->idx;
	*slot = *sqe;
	nvme_sync_for_dev(slot, sizeof(*slot)); /* ends with DSB: visible before the doorbell */
	sq->idx = next;
	mmio_write32(sq->db, next);
	return cid;
}

/* Takes the completion at the CQ head if the controller has written it
 * (its phase bit says which pass wrote it), and tells the controller the
 * slot is free again. */
static bool cq_take(struct nvme_qpair *q, struct nvme_cqe *out)
{
	struct nvme_queue *cq = &q->cq;
	volatile struct nvme_cqe *e = (struct nvme_cqe *)cq->buf.va + cq->idx;

	nvme_sync_for_cpu((const void *)e, sizeof(*e));
	if ((e->status & NVME_CQE_PHASE) != cq->phase)
		return false;
	dmb(oshld); /* the rest of the entry is read after its phase bit */
	out->dw0 = e->dw0;
	out->sq_head = e->sq_head;
	out->cid = e->cid;
	out->status = e->status;
	if (++cq->idx == cq->depth) {
		cq->idx = 0;
		cq->phase ^= 1;
	}
	mmio_write32(cq->db, cq->idx);
	q->sq_head = out->sq_head % q->sq.depth;
	return true;
}

static bool csts_fatal(const struct nvme_ctrl *c)
{
	/* All-ones: the function stopped answering (has CFS set, too). */
	return nvme_rd32(c, NVME_REG_CSTS) & NVME_CSTS_CFS;
}

/* Polls until cid completes, the controller fails or the deadline passes.
 * Completions for other CIDs (of commands that timed out earlier) are
 * consumed and dropped. */
static int wait_cid(struct nvme_ctrl *c, struct nvme_qpair *q, uint16_t cid, uint32_t timeout_ms,
		    struct nvme_result *res)
{
	uint64_t now = timer_now(), deadline = now + timer_ns_to_ticks(timeout_ms * 1000000ull);
	uint64_t csts_every = timer_ns_to_ticks(CSTS_CHECK_US * 1000ull),
		 csts_at = now + csts_every;
	struct nvme_cqe e;

	for (;;) {
		if (cq_take(q, &e)) {
			if (e.cid == cid) {
				res->status = e.status;
				res->dw0 = e.dw0;
				return NVME_CQE_SCT_SC(e.status) ? -EIO : 0;
			}
			kprintf("nvme: %s: stale completion (command %u) dropped\n", c->bdf, e.cid);
			continue;
		}
		now = timer_now();
		if (now >= csts_at) {
			if (csts_fatal(c)) {
				res->status = NVME_STATUS_FATAL;
				return -EIO;
			}
			csts_at = now + csts_every;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		cpu_relax();
	}
}

int nvme_exec(struct nvme_ctrl *c, struct nvme_qpair *q, struct nvme_sqe *sqe, uint32_t timeout_ms,
	      struct nvme_result *res)
{
	res->status = 0;
	res->dw0 = 0;
	int cid = submit(c, q, sqe);
	int e = cid < 0 ? cid : wait_cid(c, q, (uint16_t)cid, timeout_ms, res);

	if (e)
		c->stats.errors++;
	if (e == -ETIMEDOUT)
		c->stats.timeouts++;
	if (e == -EIO && res->status != NVME_STATUS_FATAL)
		c->stats.last_status = NVME_CQE_SCT_SC(res->status);
	return e;
}

void nvme_log_failure(struct nvme_ctrl *c, const char *what, int err, const struct nvme_result *res)
{
	uint16_t st = res->status, code = NVME_CQE_SCT_SC(st);

	if (err == -ETIMEDOUT)
		kprintf("nvme: %s: timed out: no completion within %u ms (CSTS 0x%x)\n", what,
			NVME_CMD_TIMEOUT, nvme_rd32(c, NVME_REG_CSTS));
	else if (err == -EIO && st == NVME_STATUS_FATAL)
		kprintf("nvme: %s: controller fatal status (CSTS 0x%x): it stopped processing "
			"commands\n",
			what, nvme_rd32(c, NVME_REG_CSTS));
	else if (err == -EIO)
		kprintf("nvme: %s: %s (SCT 0x%x SC 0x%02x%s%s)\n", what, nvme_status_str(code),
			code >> 8, code & 0xff, st & NVME_CQE_DNR ? ", DNR: do not retry" : "",
			st & NVME_CQE_MORE ? ", More: see the error log" : "");
	else if (err == -EBUSY)
		kprintf("nvme: %s: submission queue full\n", what);
	else
		kprintf("nvme: %s: error %d\n", what, err);
}

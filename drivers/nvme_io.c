/*
 * Block I/O on the namespace, once bring-up made the queues: the engine
 * (nvme_engine.c) does the work; this file gives it the controller's
 * registers, the counter and the DMA ops, and offers the request API
 * (drivers.h) plus synchronous wrappers for benchmarks.
 */
#include "drivers/nvme_priv.h"
#include "lib/log.h"
#include <errno.h>

static uint32_t eng_rd32(void *ctx, unsigned reg)
{
	return nvme_rd32(ctx, reg);
}

static void eng_wr32(void *ctx, unsigned reg, uint32_t v)
{
	nvme_wr32(ctx, reg, v);
}

static uint64_t eng_now(void *ctx)
{
	return timer_now();
}

static int eng_map(void *ctx, uint64_t pa, uint64_t len, bool dev_writes, uint64_t *iova)
{
	struct nvme_ctrl *c = ctx;

	return c->dma.map(c->dma.ctx, pa, len, dev_writes, iova);
}

static int eng_unmap(void *ctx, uint64_t iova, uint64_t len)
{
	struct nvme_ctrl *c = ctx;

	return c->dma.unmap(c->dma.ctx, iova, len);
}

static bool eng_faulted(void *ctx, uint64_t *iova)
{
	struct nvme_ctrl *c = ctx;

	return c->dma.faulted && c->dma.faulted(c->dma.ctx, iova);
}

static void eng_ring(struct nvme_ctrl *c, struct nvme_eng_ring *r, const struct nvme_queue *q)
{
	r->va = q->buf.va;
	r->iova = q->buf.iova;
	r->depth = q->depth;
	r->idx = q->idx;
	r->phase = q->phase;
	r->db = (unsigned)(q->db - c->regs);
}

static void eng_qp(struct nvme_ctrl *c, struct nvme_eng_qp *e, const struct nvme_qpair *q)
{
	eng_ring(c, &e->sq, &q->sq);
	eng_ring(c, &e->cq, &q->cq);
	e->sq_head = q->sq_head;
}

int nvme_start_engine(struct nvme_ctrl *c)
{
	struct nvme_eng *e = &c->eng;
	int err = nvme_buf_get(c, &c->prps, NVME_ENG_SLOTS * NVME_PAGE, false, false);

	if (err) {
		kprintf("nvme: %s: cannot allocate the PRP list pages (%d)\n", c->bdf, err);
		return err;
	}
	e->ops = (struct nvme_eng_ops){eng_rd32,	  eng_wr32,	     eng_now,
				       eng_map,		  eng_unmap,	     eng_faulted,
				       nvme_sync_for_dev, nvme_sync_for_cpu, c};
	e->name = c->bdf;
	e->nsid = c->info.nsid;
	e->block_size = c->info.block_size;
	e->blocks = c->info.blocks;
	e->max_blocks = c->info.max_xfer / c->info.block_size;
	e->cc = nvme_rd32(c, NVME_REG_CC) & ~(uint32_t)NVME_CC_EN;
	e->ready_ms = c->ready_ms;
	e->cmd_timeout_ms = NVME_CMD_TIMEOUT;
	e->ticks_per_ms = timer_ns_to_ticks(1000000);
	e->stats = &c->stats;
	eng_qp(c, &e->admin, &c->admin);
	eng_qp(c, &e->io, &c->io);
	for (unsigned i = 0; i < NVME_ENG_SLOTS; i++) {
		e->slot[i].prp = (uint64_t *)((uint8_t *)c->prps.va + i * NVME_PAGE);
		e->slot[i].prp_iova = c->prps.iova + i * NVME_PAGE;
	}
	nvme_eng_start(e);
	return 0;
}

int nvme_submit(struct nvme_ctrl *c, struct nvme_req *r)
{
	if (!c || !c->io_ready) {
		kprintf("nvme: %s lba %llu: controller not in service\n",
			r->op == NVME_OP_READ ? "read" : "write", (unsigned long long)r->lba);
		return -EIO;
	}
	return nvme_eng_submit(&c->eng, r);
}

uint64_t nvme_poll(struct nvme_ctrl *c)
{
	return c && c->io_ready ? nvme_eng_poll(&c->eng) : UINT64_MAX;
}

const char *nvme_state(const struct nvme_ctrl *c, uint64_t *resets, uint64_t *recovered)
{
	*resets = c->eng.resets;
	*recovered = c->eng.recovered;
	return nvme_eng_state_name(c->eng.state);
}

/* ---- synchronous wrappers --------------------------------------------------- */

struct sync_wait {
	volatile bool done;
	int err;
};

static void sync_done(struct nvme_req *r, int err)
{
	struct sync_wait *w = r->ctx;

	w->err = err;
	w->done = true;
}

/* The engine ends every request within bounded time (command timeout,
 * then at most NVME_ENG_RESET_TRIES resets of CAP.TO each). */
static int run_sync(struct nvme_ctrl *c, uint8_t op, uint64_t lba, uint64_t n, uint64_t pa)
{
	struct sync_wait w = {false, 0};
	struct nvme_req r = {
	    .op = op, .lba = lba, .nblocks = n, .pa = pa, .done = sync_done, .ctx = &w};
	int err = nvme_submit(c, &r);

	while (!err && !w.done) {
		nvme_poll(c);
		cpu_relax();
	}
	return err ? err : w.err;
}

int nvme_read(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, void *buf)
{
	return run_sync(c, NVME_OP_READ, lba, nblocks, (uintptr_t)buf);
}

int nvme_write(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, const void *buf)
{
	return run_sync(c, NVME_OP_WRITE, lba, nblocks, (uintptr_t)buf);
}

int nvme_flush(struct nvme_ctrl *c)
{
	return run_sync(c, NVME_OP_FLUSH, 0, 0, 0);
}

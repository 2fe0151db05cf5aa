/*
 * The NVMe I/O engine (see nvme_engine.h): requests are split into
 * commands of at most max_blocks, each in a slot with its own PRP list
 * page, CID and deadline. A command that misses its deadline, or a fatal
 * controller status, starts a recovery: CC.EN = 0, wait (polled, bounded
 * by CAP.TO) for CSTS.RDY = 0 — from then on the controller does no more
 * DMA, so the commands' buffers are unmapped — rings zeroed, admin queue
 * reprogrammed, CC.EN = 1, wait for RDY, then the I/O queue pair created
 * again through admin commands. Requests caught by the reset are sent
 * again from their start (reads and writes are idempotent); a request
 * caught twice fails. Portable: no MMIO, no waiting.
 */
#include "drivers/nvme_engine.h"
#include "lib/log.h"
#include <errno.h>
#include <string.h>

#define IO_QID 1u

static uint64_t now(struct nvme_eng *e)
{
	return e->ops.now(e->ops.ctx);
}

static uint32_t rd(struct nvme_eng *e, unsigned reg)
{
	return e->ops.rd32(e->ops.ctx, reg);
}

static void wr(struct nvme_eng *e, unsigned reg, uint32_t v)
{
	e->ops.wr32(e->ops.ctx, reg, v);
}

static uint64_t after_ms(struct nvme_eng *e, uint32_t ms)
{
	return now(e) + ms * e->ticks_per_ms;
}

static const char *op_name(uint8_t op)
{
	return op == NVME_OP_READ ? "read" : op == NVME_OP_WRITE ? "write" : "flush";
}

/* A flush is one unit of work; a read or write one per block. */
static uint64_t units(const struct nvme_req *r)
{
	return r->op == NVME_OP_FLUSH ? 1 : r->nblocks;
}

const char *nvme_eng_state_name(enum nvme_eng_state s)
{
	static const char *const names[] = {"live",
					    "resetting (waiting for CSTS.RDY = 0)",
					    "resetting (waiting for CSTS.RDY = 1)",
					    "re-creating the I/O completion queue",
					    "re-creating the I/O submission queue",
					    "out of service (recovery failed)"};
	return s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* ---- rings ---------------------------------------------------------------- */

static void sq_push(struct nvme_eng *e, struct nvme_eng_qp *q, const struct nvme_sqe *sqe)
{
	struct nvme_sqe *slot = (struct nvme_sqe *)q->sq.va + q->sq.idx;

	*slot = *sqe;
	e->ops.sync_dev(slot, sizeof(*slot)); /* visible before the doorbell */
	q->sq.idx = (uint16_t)((q->sq.idx + 1) % q->sq.depth);
	wr(e, q->sq.db, q->sq.idx);
}

/* The completion at the CQ head, if the controller wrote it (phase). */
static bool cq_take(struct nvme_eng *e, struct nvme_eng_qp *q, struct nvme_cqe *out)
{
	struct nvme_eng_ring *cq = &q->cq;
	volatile struct nvme_cqe *c = (struct nvme_cqe *)cq->va + cq->idx;

	e->ops.sync_cpu((const void *)c, sizeof(*c));
	if ((c->status & NVME_CQE_PHASE) != cq->phase)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the entry after its phase bit */
	out->dw0 = c->dw0;
	out->sq_head = c->sq_head;
	out->cid = c->cid;
	out->status = c->status;
	if (++cq->idx == cq->depth) {
		cq->idx = 0;
		cq->phase ^= 1;
	}
	wr(e, cq->db, cq->idx);
	q->sq_head = (uint16_t)(out->sq_head % q->sq.depth);
	return true;
}

static void ring_reset(struct nvme_eng *e, struct nvme_eng_ring *r, unsigned log2)
{
	memset(r->va, 0, (size_t)r->depth << log2);
	e->ops.sync_dev(r->va, (uint64_t)r->depth << log2);
	r->idx = 0;
	r->phase = 1;
}

static void qp_reset(struct nvme_eng *e, struct nvme_eng_qp *q)
{
	ring_reset(e, &q->sq, NVME_SQE_LOG2);
	ring_reset(e, &q->cq, NVME_CQE_LOG2);
	q->sq_head = 0;
}

/* 11 bits of generation above the slot: a CID is not reused for 2048
 * commands, so a late completion of an abandoned command finds no match. */
static uint16_t new_cid(struct nvme_eng *e, unsigned slot)
{
	e->gen = (uint16_t)((e->gen + 1) & 0x7ff);
	return (uint16_t)(e->gen << NVME_ENG_SLOT_BITS | slot);
}

/* ---- requests ------------------------------------------------------------- */

static void unlink_req(struct nvme_eng *e, struct nvme_req *r)
{
	struct nvme_req **pp = &e->head, *prev = NULL;

	while (*pp && *pp != r) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = r->next;
	if (e->tail == r)
		e->tail = prev;
	r->next = NULL;
}

/* Done when nothing is in flight and it failed or all of it completed. */
static void maybe_finish(struct nvme_eng *e, struct nvme_req *r, struct nvme_req **done)
{
	if (r->inflight || (!r->err && r->finished < units(r)))
		return;
	unlink_req(e, r);
	r->next = *done;
	*done = r;
}

static void fail_req(struct nvme_eng *e, struct nvme_req *r, int err, struct nvme_req **done)
{
	if (!r->err)
		r->err = err;
	maybe_finish(e, r, done);
}

static int map_piece(struct nvme_eng *e, struct nvme_eng_slot *s, struct nvme_req *r)
{
	uint64_t pa = r->pa + (s->lba - r->lba) * e->block_size;
	bool dev_writes = r->op == NVME_OP_READ;

	if (r->raw) {
		s->iova = pa;
		return 0;
	}
	if (dev_writes) /* no dirty line may land on the DMA'd data later */
		e->ops.sync_cpu((const void *)(uintptr_t)pa, s->len);
	else
		e->ops.sync_dev((const void *)(uintptr_t)pa, s->len);
	int err = e->ops.map(e->ops.ctx, pa, s->len, dev_writes, &s->iova);
	if (err)
		kprintf("nvme: %s: %s lba %llu: cannot map the buffer (%d)\n", e->name,
			op_name(r->op), (unsigned long long)s->lba, err);
	s->mapped = !err;
	return err;
}

static void unmap_piece(struct nvme_eng *e, struct nvme_eng_slot *s)
{
	if (s->mapped)
		e->ops.unmap(e->ops.ctx, s->iova, s->len);
	s->mapped = false;
}

/* The next command of r into slot i. */
static int issue(struct nvme_eng *e, unsigned i, struct nvme_req *r)
{
	struct nvme_eng_slot *s = &e->slot[i];
	uint64_t n = r->op == NVME_OP_FLUSH ? 1 : MIN(r->nblocks - r->sent, e->max_blocks);
	struct nvme_sqe sqe = {.cdw0 = r->op, .nsid = e->nsid};

	s->lba = r->lba + r->sent;
	s->nblocks = (uint32_t)n;
	s->len = r->op == NVME_OP_FLUSH ? 0 : n * e->block_size;
	if (s->len) {
		int err = map_piece(e, s, r);
		if (!err)
			err = nvme_build_prps(s->iova, s->len, &sqe.prp1, &sqe.prp2, s->prp,
					      s->prp_iova, NVME_ENG_PRP_LIST_MAX);
		if (err) {
			unmap_piece(e, s);
			return err;
		}
		e->ops.sync_dev(s->prp, NVME_PAGE);
		sqe.cdw10 = (uint32_t)s->lba;
		sqe.cdw11 = (uint32_t)(s->lba >> 32);
		sqe.cdw12 = (uint32_t)(n - 1); /* NLB is 0's based */
	}
	s->cid = new_cid(e, i);
	sqe.cdw0 |= (uint32_t)s->cid << 16;
	s->req = r;
	s->deadline = after_ms(e, e->cmd_timeout_ms);
	r->sent += n;
	r->inflight++;
	sq_push(e, &e->io, &sqe);
	return 0;
}

static struct nvme_req *next_to_send(struct nvme_eng *e)
{
	for (struct nvme_req *r = e->head; r; r = r->next)
		if (!r->err && r->sent < units(r))
			return r;
	return NULL;
}

/* Fills free slots, oldest request first. */
static void dispatch(struct nvme_eng *e, struct nvme_req **done)
{
	for (unsigned i = 0; i < e->nslots && e->state == NVME_ENG_LIVE; i++) {
		struct nvme_req *r;
		if (e->slot[i].req || !(r = next_to_send(e)))
			continue;
		int err = issue(e, i, r);
		if (err)
			fail_req(e, r, err, done);
	}
}

static void account(struct nvme_eng *e, const struct nvme_eng_slot *s, int err)
{
	struct nvme_stats *st = e->stats;
	uint8_t op = s->req->op;

	if (op == NVME_OP_READ) {
		st->reads++;
		st->bytes_read += err ? 0 : s->len;
	} else if (op == NVME_OP_WRITE) {
		st->writes++;
		st->bytes_written += err ? 0 : s->len;
	} else {
		st->flushes++;
	}
	if (err)
		st->errors++;
}

/* A completion says nothing about DMA the IOMMU refused (QEMU's NVMe, for
 * one, reports success): ask, and fail the command as the Data Transfer
 * Error a real controller would have reported. */
static int piece_status(struct nvme_eng *e, const struct nvme_eng_slot *s, uint16_t status)
{
	uint16_t code = NVME_CQE_SCT_SC(status);
	uint64_t at;

	if (code) {
		e->stats->last_status = code;
		kprintf("nvme: %s: %s lba %llu: %s (SCT 0x%x SC 0x%02x%s)\n", e->name,
			op_name(s->req->op), (unsigned long long)s->lba, nvme_status_str(code),
			code >> 8, code & 0xff, status & NVME_CQE_DNR ? ", DNR" : "");
		return -EIO;
	}
	if (s->len && e->ops.faulted && e->ops.faulted(e->ops.ctx, &at)) {
		e->stats->last_status = NVME_SC_DATA_XFER;
		kprintf("nvme: %s: %s lba %llu: the SMMU blocked the controller's DMA at 0x%llx: "
			"data not transferred\n",
			e->name, op_name(s->req->op), (unsigned long long)s->lba,
			(unsigned long long)at);
		return -EIO;
	}
	return 0;
}

static void complete(struct nvme_eng *e, struct nvme_eng_slot *s, uint16_t status,
		     struct nvme_req **done)
{
	struct nvme_req *r = s->req;

	unmap_piece(e, s);
	if (r->op == NVME_OP_READ && !r->raw)
		e->ops.sync_cpu(
		    (const void *)(uintptr_t)(r->pa + (s->lba - r->lba) * e->block_size), s->len);
	int err = piece_status(e, s, status);
	account(e, s, err);
	s->req = NULL;
	r->inflight--;
	r->finished += r->op == NVME_OP_FLUSH ? 1 : s->nblocks;
	if (err)
		fail_req(e, r, err, done);
	else
		maybe_finish(e, r, done);
}

static struct nvme_eng_slot *slot_of(struct nvme_eng *e, uint16_t cid)
{
	unsigned i = cid & ((1u << NVME_ENG_SLOT_BITS) - 1);

	if (i < e->nslots && e->slot[i].req && e->slot[i].cid == cid)
		return &e->slot[i];
	return NULL;
}

static void reap_io(struct nvme_eng *e, struct nvme_req **done)
{
	struct nvme_cqe c;

	while (cq_take(e, &e->io, &c)) {
		struct nvme_eng_slot *s = slot_of(e, c.cid);
		if (s)
			complete(e, s, c.status, done);
		else
			kprintf("nvme: %s: stale completion (command 0x%x) dropped\n", e->name,
				c.cid);
	}
}

/* ---- recovery ------------------------------------------------------------- */

static void start_reset(struct nvme_eng *e, const char *why)
{
	kprintf("nvme: %s: %s; resetting the controller (attempt %u of %u)\n", e->name, why,
		e->attempts + 1, NVME_ENG_RESET_TRIES);
	e->resets++;
	wr(e, NVME_REG_CC, rd(e, NVME_REG_CC) & ~(uint32_t)NVME_CC_EN);
	e->state = NVME_ENG_RESET_OFF;
	e->state_deadline = after_ms(e, e->ready_ms);
}

/* The controller is disabled (or given up on): nothing it had is in flight
 * any more. Its buffers leave the device's reach; the requests restart from
 * their first block, or fail if this already happened to them. */
static void abandon_inflight(struct nvme_eng *e, struct nvme_req **done)
{
	for (unsigned i = 0; i < e->nslots; i++) {
		struct nvme_eng_slot *s = &e->slot[i];
		if (!s->req)
			continue;
		unmap_piece(e, s);
		s->req->inflight--;
		s->req = NULL;
	}
	for (struct nvme_req *r = e->head, *next; r; r = next) {
		next = r->next;
		if (r->err || !r->sent) {
			maybe_finish(e, r, done);
			continue;
		}
		if (++r->tries >= NVME_ENG_REQ_TRIES) {
			kprintf("nvme: %s: %s lba %llu (%llu blocks) failed: still no completion "
				"after a controller reset\n",
				e->name, op_name(r->op), (unsigned long long)r->lba,
				(unsigned long long)r->nblocks);
			fail_req(e, r, -ETIMEDOUT, done);
			continue;
		}
		r->sent = r->finished = 0;
	}
}

static void fail_all(struct nvme_eng *e, struct nvme_req **done)
{
	while (e->head)
		fail_req(e, e->head, -EIO, done);
}

static void fail_attempt(struct nvme_eng *e, const char *why, struct nvme_req **done)
{
	kprintf("nvme: %s: recovery: %s\n", e->name, why);
	if (++e->attempts < NVME_ENG_RESET_TRIES) {
		start_reset(e, "trying again");
		return;
	}
	/* Left disabled: a disabled controller does no DMA. */
	wr(e, NVME_REG_CC, rd(e, NVME_REG_CC) & ~(uint32_t)NVME_CC_EN);
	abandon_inflight(e, done);
	fail_all(e, done);
	e->state = NVME_ENG_DEAD;
	kprintf("nvme: %s: controller did not recover after %u resets; requests fail until "
		"the next one tries again\n",
		e->name, NVME_ENG_RESET_TRIES);
}

static void admin_send(struct nvme_eng *e, struct nvme_sqe *sqe, enum nvme_eng_state next)
{
	e->admin_cid = new_cid(e, (1u << NVME_ENG_SLOT_BITS) - 1);
	sqe->cdw0 |= (uint32_t)e->admin_cid << 16;
	sq_push(e, &e->admin, sqe);
	e->state = next;
	e->state_deadline = after_ms(e, e->cmd_timeout_ms);
}

static void wr64(struct nvme_eng *e, unsigned reg, uint64_t v)
{
	wr(e, reg, (uint32_t)v);
	wr(e, reg + 4, (uint32_t)(v >> 32));
}

/* RDY dropped: reprogram the admin queue and enable again. */
static void reenable(struct nvme_eng *e, struct nvme_req **done)
{
	abandon_inflight(e, done);
	qp_reset(e, &e->admin);
	qp_reset(e, &e->io);
	wr(e, NVME_REG_AQA, (uint32_t)(e->admin.cq.depth - 1) << 16 | (e->admin.sq.depth - 1u));
	wr64(e, NVME_REG_ASQ, e->admin.sq.iova);
	wr64(e, NVME_REG_ACQ, e->admin.cq.iova);
	wr(e, NVME_REG_CC, e->cc);
	wr(e, NVME_REG_CC, e->cc | NVME_CC_EN);
	e->state = NVME_ENG_RESET_ON;
	e->state_deadline = after_ms(e, e->ready_ms);
}

static void create_cq(struct nvme_eng *e)
{
	struct nvme_sqe sqe = {.cdw0 = NVME_ADM_CREATE_CQ,
			       .prp1 = e->io.cq.iova,
			       .cdw10 = (uint32_t)(e->io.cq.depth - 1) << 16 | IO_QID,
			       .cdw11 = NVME_QUEUE_PC};
	admin_send(e, &sqe, NVME_ENG_REINIT_CQ);
}

static void create_sq(struct nvme_eng *e)
{
	struct nvme_sqe sqe = {.cdw0 = NVME_ADM_CREATE_SQ,
			       .prp1 = e->io.sq.iova,
			       .cdw10 = (uint32_t)(e->io.sq.depth - 1) << 16 | IO_QID,
			       .cdw11 = IO_QID << 16 | NVME_QUEUE_PC};
	admin_send(e, &sqe, NVME_ENG_REINIT_SQ);
}

static void recovered(struct nvme_eng *e)
{
	unsigned n = 0;

	for (struct nvme_req *r = e->head; r; r = r->next)
		n++;
	e->state = NVME_ENG_LIVE;
	e->attempts = 0;
	e->recovered++;
	kprintf("nvme: %s: controller reset and re-initialised; %u request(s) sent again\n",
		e->name, n);
}

/* An admin command of the recovery: its completion, or its deadline. */
static void step_admin(struct nvme_eng *e, struct nvme_req **done)
{
	struct nvme_cqe c;

	while (cq_take(e, &e->admin, &c)) {
		if (c.cid != e->admin_cid)
			continue; /* from before the reset */
		uint16_t code = NVME_CQE_SCT_SC(c.status);
		if (code) {
			kprintf("nvme: %s: recovery: Create I/O %s Queue: %s\n", e->name,
				e->state == NVME_ENG_REINIT_CQ ? "Completion" : "Submission",
				nvme_status_str(code));
			fail_attempt(e, "queue creation failed", done);
		} else if (e->state == NVME_ENG_REINIT_CQ) {
			create_sq(e);
		} else {
			recovered(e);
		}
		return;
	}
	if (now(e) >= e->state_deadline)
		fail_attempt(e, "queue creation timed out", done);
}

static void step_reset(struct nvme_eng *e, struct nvme_req **done)
{
	uint32_t csts = rd(e, NVME_REG_CSTS);
	bool off = e->state == NVME_ENG_RESET_OFF, late = now(e) >= e->state_deadline;

	if (csts == UINT32_MAX) {
		fail_attempt(e, "CSTS reads all-ones: the controller stopped answering", done);
	} else if (off && !(csts & NVME_CSTS_RDY)) {
		reenable(e, done);
	} else if (!off && (csts & NVME_CSTS_CFS)) {
		fail_attempt(e, "fatal status while enabling", done);
	} else if (!off && (csts & NVME_CSTS_RDY)) {
		create_cq(e);
	} else if (late) {
		kprintf("nvme: %s: recovery: CSTS.RDY did not become %u within %u ms (CAP.TO; "
			"CSTS 0x%x)\n",
			e->name, off ? 0u : 1u, e->ready_ms, csts);
		fail_attempt(e, off ? "disable timed out" : "enable timed out", done);
	}
}

/* LIVE: a command past its deadline, or a controller that declared a fatal
 * error, starts a recovery. */
static void check_live(struct nvme_eng *e)
{
	uint64_t t = now(e);
	uint32_t csts = rd(e, NVME_REG_CSTS);

	if (csts == UINT32_MAX || (csts & NVME_CSTS_CFS)) {
		e->stats->errors++;
		start_reset(e, "controller fatal status (CSTS.CFS)");
		return;
	}
	for (unsigned i = 0; i < e->nslots; i++) {
		const struct nvme_eng_slot *s = &e->slot[i];
		if (!s->req || t < s->deadline)
			continue;
		e->stats->timeouts++;
		e->stats->errors++;
		kprintf("nvme: %s: %s lba %llu: timed out: no completion within %u ms (CSTS "
			"0x%x)\n",
			e->name, op_name(s->req->op), (unsigned long long)s->lba, e->cmd_timeout_ms,
			csts);
		start_reset(e, "command timed out");
		return;
	}
}

/* ---- the API ---------------------------------------------------------------- */

void nvme_eng_start(struct nvme_eng *e)
{
	e->nslots = MIN(NVME_ENG_SLOTS, e->io.sq.depth - 1u); /* one SQ slot stays empty */
	e->state = NVME_ENG_LIVE;
	e->head = e->tail = NULL;
}

bool nvme_eng_busy(const struct nvme_eng *e)
{
	return e->head || e->done || (e->state != NVME_ENG_LIVE && e->state != NVME_ENG_DEAD);
}

static int check_req(struct nvme_eng *e, const struct nvme_req *r)
{
	bool rw = r->op == NVME_OP_READ || r->op == NVME_OP_WRITE;
	const char *why = NULL;

	if (!rw && r->op != NVME_OP_FLUSH)
		why = "unknown operation";
	else if (rw && (!r->nblocks || r->lba >= e->blocks || r->nblocks > e->blocks - r->lba))
		why = "blocks out of range";
	else if (!rw && (r->nblocks || r->raw))
		why = "a flush has no data";
	else if (rw && (r->pa & 3))
		why = "buffer not 4-byte aligned";
	else if (r->raw && (r->op != NVME_OP_READ || r->nblocks > e->max_blocks))
		why = "raw requests are single reads";
	if (why)
		kprintf("nvme: %s: %s lba %llu, %llu blocks: refused: %s (namespace has %llu)\n",
			e->name, op_name(r->op), (unsigned long long)r->lba,
			(unsigned long long)r->nblocks, why, (unsigned long long)e->blocks);
	return why ? -EINVAL : 0;
}

/* Finished requests wait in order for their done() call. */
static void queue_done(struct nvme_eng *e, struct nvme_req *done)
{
	while (done) {
		struct nvme_req *r = done;
		done = r->next;
		r->next = NULL;
		if (e->done_tail)
			e->done_tail->next = r;
		else
			e->done = r;
		e->done_tail = r;
	}
}

static struct nvme_req *take_done(struct nvme_eng *e)
{
	struct nvme_req *r = e->done;

	if (r) {
		e->done = r->next;
		if (!e->done)
			e->done_tail = NULL;
		r->next = NULL;
	}
	return r;
}

int nvme_eng_submit(struct nvme_eng *e, struct nvme_req *r)
{
	struct nvme_req *done = NULL;

	if (check_req(e, r))
		return -EINVAL;
	r->next = NULL;
	r->sent = r->finished = 0;
	r->inflight = r->tries = 0;
	r->err = 0;
	uint64_t flags = spin_lock_irqsave(&e->lock);
	if (e->tail)
		e->tail->next = r;
	else
		e->head = r;
	e->tail = r;
	if (e->state == NVME_ENG_DEAD) {
		e->attempts = 0;
		start_reset(e, "a new request after a failed recovery");
	}
	dispatch(e, &done);
	queue_done(e, done);
	spin_unlock_irqrestore(&e->lock, flags);
	return 0;
}

static uint64_t next_poll(struct nvme_eng *e)
{
	uint64_t t = now(e) + NVME_ENG_POLL_US * e->ticks_per_ms / 1000;

	if (e->done)
		return now(e); /* more done() calls are due */
	if (!nvme_eng_busy(e))
		return UINT64_MAX;
	if (e->state != NVME_ENG_LIVE)
		return MIN(t, e->state_deadline);
	for (unsigned i = 0; i < e->nslots; i++)
		if (e->slot[i].req)
			t = MIN(t, e->slot[i].deadline);
	return t;
}

uint64_t nvme_eng_poll(struct nvme_eng *e)
{
	struct nvme_req *done = NULL;
	uint64_t flags = spin_lock_irqsave(&e->lock);

	switch (e->state) {
	case NVME_ENG_LIVE:
		reap_io(e, &done);
		check_live(e);
		break;
	case NVME_ENG_RESET_OFF:
	case NVME_ENG_RESET_ON:
		step_reset(e, &done);
		break;
	case NVME_ENG_REINIT_CQ:
	case NVME_ENG_REINIT_SQ:
		step_admin(e, &done);
		break;
	case NVME_ENG_DEAD:
		break;
	}
	dispatch(e, &done);
	queue_done(e, done);
	for (unsigned n = 0; n < NVME_ENG_DONE_PER_POLL && e->done; n++) {
		struct nvme_req *r = take_done(e);
		spin_unlock_irqrestore(&e->lock, flags);
		r->done(r, r->err); /* may submit: the lock is free */
		flags = spin_lock_irqsave(&e->lock);
	}
	uint64_t when = next_poll(e);
	spin_unlock_irqrestore(&e->lock, flags);
	return when;
}

/*
 * The NVMe I/O engine (drivers/nvme_engine.c) against a fake controller: a
 * register file (CC, CSTS, AQA/ASQ/ACQ, doorbells), admin and I/O queues in
 * host memory, a RAM disk, and modes that misbehave — never completing,
 * completing late after a reset, ignoring CC.EN = 0, failing commands,
 * declaring a fatal status. Time is a fake counter the test advances; the
 * fake checks that the device only touches buffers mapped at that moment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "drivers/nvme_engine.h"

#define BS	   512u
#define NBLOCKS	   4096u
#define MAX_BLOCKS 16u /* 8 KiB per command: requests split */
#define ADEPTH	   8u
#define IODEPTH	   8u	 /* 7 slots */
#define TPMS	   1000u /* fake ticks per ms */
#define CMD_MS	   5000u
#define READY_MS   500u
#define MAXMAPS	   64

/* LATE: hangs until a reset; when the I/O queues exist again it posts the
 * old commands' completions (their old CIDs) and then holds new commands
 * until release_held(). */
enum mode { NORMAL, HANG, HANG_ONCE, LATE, HOLD, DEAF_RESET, FAIL_LBA };

struct held {
	struct nvme_sqe sqe;
};

static struct fake {
	/* registers */
	uint32_t cc, csts, aqa;
	uint64_t asq, acq;
	/* queues as the device sees them */
	uint64_t sq_base[2], cq_base[2];
	uint16_t sq_depth[2], cq_depth[2], sq_head[2], sq_tail[2], cq_tail[2], cq_head[2];
	uint8_t cq_phase[2];
	bool io_created;
	/* behaviour */
	enum mode mode;
	uint64_t fail_lba;
	unsigned resets, reads_in_poll;
	struct held held[64];
	unsigned nheld;
	uint8_t disk[NBLOCKS * BS];
	/* DMA mappings the engine holds */
	struct {
		uint64_t pa, len;
		bool dev_writes;
	} map[MAXMAPS];
	unsigned nmaps, maps, unmaps;
	uint64_t now;
	char log[16384];
	size_t loglen;
} F;

static struct nvme_eng E;
static struct nvme_stats S;
static void *admin_sq, *admin_cq, *io_sq, *io_cq, *prps;

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(F.log + F.loglen, sizeof(F.log) - F.loglen, fmt, ap);
	va_end(ap);
	if (n > 0)
		F.loglen = MIN(F.loglen + (size_t)n, sizeof(F.log) - 1);
}

static bool logged(const char *s)
{
	return strstr(F.log, s) != NULL;
}

static unsigned count_logged(const char *s)
{
	unsigned n = 0;
	for (const char *p = F.log; (p = strstr(p, s)); p++)
		n++;
	return n;
}

/* ---- DMA as the device does it: only into live mappings ---- */

static bool reachable(uint64_t a, uint64_t len, bool write)
{
	for (unsigned i = 0; i < F.nmaps; i++)
		if (a >= F.map[i].pa && a + len <= F.map[i].pa + F.map[i].len &&
		    (!write || F.map[i].dev_writes))
			return true;
	return false;
}

/* Walks the PRPs of a command and copies len bytes between disk and memory. */
static bool prp_xfer(const struct nvme_sqe *c, uint8_t *disk, uint64_t len, bool to_mem)
{
	uint64_t prp1 = c->prp1, first = NVME_PAGE - (prp1 & (NVME_PAGE - 1)), done = 0;
	uint64_t pages[256];
	unsigned n = 0;

	pages[n++] = prp1;
	if (len > first) {
		uint64_t rest = (len - first + NVME_PAGE - 1) / NVME_PAGE;
		if (rest == 1)
			pages[n++] = c->prp2;
		else
			for (uint64_t i = 0; i < rest; i++)
				pages[n++] = ((uint64_t *)(uintptr_t)c->prp2)[i];
	}
	for (unsigned i = 0; i < n && done < len; i++) {
		uint64_t chunk = MIN(len - done, i ? NVME_PAGE : first);
		if (!reachable(pages[i], chunk, to_mem))
			return false;
		if (to_mem)
			memcpy((void *)(uintptr_t)pages[i], disk + done, chunk);
		else
			memcpy(disk + done, (void *)(uintptr_t)pages[i], chunk);
		done += chunk;
	}
	return true;
}

static void post(unsigned q, uint16_t cid, uint16_t sc)
{
	struct nvme_cqe *cq = (struct nvme_cqe *)(uintptr_t)F.cq_base[q];
	struct nvme_cqe *e = &cq[F.cq_tail[q]];

	e->dw0 = 0;
	e->sq_head = F.sq_head[q];
	e->sq_id = (uint16_t)q;
	e->cid = cid;
	e->status = (uint16_t)(sc << 1 | F.cq_phase[q]);
	if (++F.cq_tail[q] == F.cq_depth[q]) {
		F.cq_tail[q] = 0;
		F.cq_phase[q] ^= 1;
	}
}

static uint16_t admin_cmd(const struct nvme_sqe *c)
{
	uint8_t op = c->cdw0 & 0xff;
	uint16_t size = (uint16_t)((c->cdw10 >> 16) + 1), qid = c->cdw10 & 0xffff;

	assert_int_equal(qid, 1);
	if (op == NVME_ADM_CREATE_CQ) {
		assert_ptr_equal((void *)(uintptr_t)c->prp1, io_cq);
		F.cq_base[1] = c->prp1, F.cq_depth[1] = size, F.cq_tail[1] = 0, F.cq_phase[1] = 1;
		F.cq_head[1] = 0;
		return 0;
	}
	if (op == NVME_ADM_CREATE_SQ) {
		assert_ptr_equal((void *)(uintptr_t)c->prp1, io_sq);
		assert_int_equal(c->cdw11 >> 16, 1); /* completes into CQ 1 */
		F.sq_base[1] = c->prp1, F.sq_depth[1] = size, F.sq_head[1] = F.sq_tail[1] = 0;
		F.io_created = true;
		if (F.mode == LATE) {
			for (unsigned i = 0; i < F.nheld; i++)
				post(1, (uint16_t)(F.held[i].sqe.cdw0 >> 16), 0);
			F.nheld = 0;
			F.mode = HOLD;
		}
		return 0;
	}
	return NVME_SC_INVALID_FIELD;
}

static bool hanging(void)
{
	return F.mode == HANG || F.mode == LATE || F.mode == HOLD ||
	       (F.mode == HANG_ONCE && !F.resets);
}

static void io_exec(const struct nvme_sqe *c);

static void io_cmd(const struct nvme_sqe *c)
{
	if (hanging()) {
		assert_true(F.nheld < ARRAY_SIZE(F.held));
		F.held[F.nheld++].sqe = *c;
		return;
	}
	io_exec(c);
}

static void release_held(void)
{
	unsigned n = F.nheld;

	F.mode = NORMAL;
	F.nheld = 0;
	for (unsigned i = 0; i < n; i++)
		io_exec(&F.held[i].sqe);
}

static void io_exec(const struct nvme_sqe *c)
{
	uint8_t op = c->cdw0 & 0xff;
	uint16_t cid = (uint16_t)(c->cdw0 >> 16);
	uint64_t lba = c->cdw10 | (uint64_t)c->cdw11 << 32, n = (c->cdw12 & 0xffff) + 1u;

	assert_int_equal(c->nsid, 1);
	if (op == NVME_CMD_FLUSH) {
		post(1, cid, 0);
		return;
	}
	assert_true(lba + n <= NBLOCKS);
	assert_true(n <= MAX_BLOCKS);
	if (F.mode == FAIL_LBA && lba <= F.fail_lba && F.fail_lba < lba + n) {
		post(1, cid, NVME_SC_LBA_RANGE);
		return;
	}
	bool ok = prp_xfer(c, F.disk + lba * BS, n * BS, op == NVME_CMD_READ);
	post(1, cid, ok ? 0 : NVME_SC_DATA_XFER);
}

/* The device consumes its submission queues (after a doorbell). */
static void device_run(void)
{
	if (!(F.csts & NVME_CSTS_RDY))
		return;
	for (unsigned q = 0; q < 2; q++) {
		if (q == 1 && !F.io_created)
			continue;
		while (F.sq_head[q] != F.sq_tail[q]) {
			struct nvme_sqe c =
			    ((struct nvme_sqe *)(uintptr_t)F.sq_base[q])[F.sq_head[q]];
			F.sq_head[q] = (uint16_t)((F.sq_head[q] + 1) % F.sq_depth[q]);
			if (q == 0)
				post(0, (uint16_t)(c.cdw0 >> 16), admin_cmd(&c));
			else
				io_cmd(&c);
		}
	}
}

static void ctrl_disable(void)
{
	F.resets++;
	if (F.mode == DEAF_RESET)
		return; /* RDY stays 1 */
	F.csts &= ~(uint32_t)(NVME_CSTS_RDY | NVME_CSTS_CFS);
	F.io_created = false;
	if (F.mode != LATE)
		F.nheld = 0; /* a reset ends every command */
}

static void ctrl_enable(void)
{
	F.sq_base[0] = F.asq, F.cq_base[0] = F.acq;
	F.sq_depth[0] = (uint16_t)((F.aqa & 0xfff) + 1);
	F.cq_depth[0] = (uint16_t)(((F.aqa >> 16) & 0xfff) + 1);
	F.sq_head[0] = F.sq_tail[0] = F.cq_tail[0] = F.cq_head[0] = 0;
	F.cq_phase[0] = 1;
	F.csts |= NVME_CSTS_RDY;
}

static uint32_t fake_rd32(void *ctx, unsigned reg)
{
	F.reads_in_poll++;
	switch (reg) {
	case NVME_REG_CC:
		return F.cc;
	case NVME_REG_CSTS:
		return F.csts;
	default:
		fail_msg("read of register 0x%x", reg);
	}
	return 0;
}

static void fake_wr32(void *ctx, unsigned reg, uint32_t v)
{
	switch (reg) {
	case NVME_REG_CC:
		if ((F.cc & NVME_CC_EN) && !(v & NVME_CC_EN))
			ctrl_disable();
		else if (!(F.cc & NVME_CC_EN) && (v & NVME_CC_EN))
			ctrl_enable();
		F.cc = v;
		return;
	case NVME_REG_AQA:
		F.aqa = v;
		return;
	case NVME_REG_ASQ:
		F.asq = (F.asq & ~0xffffffffull) | v;
		return;
	case NVME_REG_ASQ + 4:
		F.asq = (F.asq & 0xffffffffull) | (uint64_t)v << 32;
		return;
	case NVME_REG_ACQ:
		F.acq = (F.acq & ~0xffffffffull) | v;
		return;
	case NVME_REG_ACQ + 4:
		F.acq = (F.acq & 0xffffffffull) | (uint64_t)v << 32;
		return;
	}
	assert_true(reg >= NVME_REG_DBS && reg < NVME_REG_DBS + 16);
	unsigned q = (reg - NVME_REG_DBS) / 8;
	if ((reg - NVME_REG_DBS) % 8 == 0) {
		F.sq_tail[q] = (uint16_t)v;
		device_run();
	} else {
		F.cq_head[q] = (uint16_t)v;
	}
}

static uint64_t fake_now(void *ctx)
{
	return F.now;
}

static int fake_map(void *ctx, uint64_t pa, uint64_t len, bool dev_writes, uint64_t *iova)
{
	assert_true(F.nmaps < MAXMAPS);
	F.map[F.nmaps].pa = pa, F.map[F.nmaps].len = len, F.map[F.nmaps].dev_writes = dev_writes;
	F.nmaps++;
	F.maps++;
	*iova = pa;
	return 0;
}

static int fake_unmap(void *ctx, uint64_t iova, uint64_t len)
{
	for (unsigned i = 0; i < F.nmaps; i++)
		if (F.map[i].pa == iova && F.map[i].len == len) {
			F.map[i] = F.map[--F.nmaps];
			F.unmaps++;
			return 0;
		}
	fail_msg("unmap of 0x%llx+0x%llx that is not mapped", (unsigned long long)iova,
		 (unsigned long long)len);
	return -EINVAL;
}

static void no_sync(const void *p, uint64_t n)
{
}

/* ---- setup: what bring-up leaves behind ---- */

static void *page_alloc(size_t n)
{
	void *p = aligned_alloc(NVME_PAGE, ALIGN_UP(n, NVME_PAGE));
	assert_non_null(p);
	memset(p, 0, ALIGN_UP(n, NVME_PAGE));
	return p;
}

static void ring(struct nvme_eng_ring *r, void *va, uint16_t depth, unsigned db)
{
	r->va = va, r->iova = (uintptr_t)va, r->depth = depth, r->idx = 0, r->phase = 1, r->db = db;
}

static int setup(void **state)
{
	memset(&F, 0, sizeof(F));
	memset(&E, 0, sizeof(E));
	memset(&S, 0, sizeof(S));
	admin_sq = page_alloc(ADEPTH * 64), admin_cq = page_alloc(ADEPTH * 16);
	io_sq = page_alloc(IODEPTH * 64), io_cq = page_alloc(IODEPTH * 16);
	prps = page_alloc(NVME_ENG_SLOTS * NVME_PAGE);
	E.ops = (struct nvme_eng_ops){fake_rd32, fake_wr32, fake_now, fake_map, fake_unmap,
				      NULL,	 no_sync,   no_sync,  NULL};
	E.name = "fake";
	E.nsid = 1, E.block_size = BS, E.max_blocks = MAX_BLOCKS, E.blocks = NBLOCKS;
	E.cc = NVME_CC_IOSQES(6) | NVME_CC_IOCQES(4);
	E.ready_ms = READY_MS, E.cmd_timeout_ms = CMD_MS, E.ticks_per_ms = TPMS;
	E.stats = &S;
	ring(&E.admin.sq, admin_sq, ADEPTH, NVME_REG_DBS);
	ring(&E.admin.cq, admin_cq, ADEPTH, NVME_REG_DBS + 4);
	ring(&E.io.sq, io_sq, IODEPTH, NVME_REG_DBS + 8);
	ring(&E.io.cq, io_cq, IODEPTH, NVME_REG_DBS + 12);
	for (unsigned i = 0; i < NVME_ENG_SLOTS; i++) {
		E.slot[i].prp = (uint64_t *)((uint8_t *)prps + i * NVME_PAGE);
		E.slot[i].prp_iova = (uintptr_t)E.slot[i].prp;
	}
	/* the controller as bring-up left it: enabled, I/O queues created */
	F.aqa = (ADEPTH - 1) << 16 | (ADEPTH - 1);
	F.asq = (uintptr_t)admin_sq, F.acq = (uintptr_t)admin_cq;
	F.cc = E.cc;
	fake_wr32(NULL, NVME_REG_CC, E.cc | NVME_CC_EN);
	F.sq_base[1] = (uintptr_t)io_sq, F.cq_base[1] = (uintptr_t)io_cq;
	F.sq_depth[1] = F.cq_depth[1] = IODEPTH, F.cq_phase[1] = 1;
	F.io_created = true;
	F.now = 1000000;
	nvme_eng_start(&E);
	return 0;
}

static int teardown(void **state)
{
	free(admin_sq), free(admin_cq), free(io_sq), free(io_cq), free(prps);
	return 0;
}

/* ---- requests ---- */

struct done_rec {
	unsigned calls;
	int err;
};

static void on_done(struct nvme_req *r, int err)
{
	struct done_rec *d = r->ctx;
	d->calls++;
	d->err = err;
}

static struct nvme_req req(uint8_t op, uint64_t lba, uint64_t n, void *buf, struct done_rec *d)
{
	return (struct nvme_req){
	    .op = op, .lba = lba, .nblocks = n, .pa = (uintptr_t)buf, .done = on_done, .ctx = d};
}

/* Polls as the kernel's timer would: never sooner than asked, and checks
 * that one poll does a bounded amount of register work (no waiting). */
static void run_for(uint64_t ms)
{
	uint64_t end = F.now + ms * TPMS;

	unsigned again = 0;

	while (F.now < end) {
		F.reads_in_poll = 0;
		uint64_t next = nvme_eng_poll(&E);
		assert_true(F.reads_in_poll <= 4);
		if (next == UINT64_MAX)
			next = F.now + TPMS;
		if (next <= F.now) { /* more done() calls due: at once, but not forever */
			assert_true(E.done != NULL);
			assert_true(++again < 100);
			continue;
		}
		again = 0;
		F.now = MIN(next, end);
	}
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static void test_roundtrip_split(void **state)
{
	size_t n = 100 * BS; /* 7 commands of at most 16 blocks */
	uint8_t *w = page_alloc(n), *r = page_alloc(n);
	struct done_rec dw = {0}, dr = {0};
	struct nvme_req rw = req(NVME_OP_WRITE, 1000, 100, w, &dw), rr;

	fill(w, n, 3);
	assert_int_equal(nvme_eng_submit(&E, &rw), 0);
	run_for(10);
	assert_int_equal(dw.calls, 1);
	assert_int_equal(dw.err, 0);
	assert_memory_equal(F.disk + 1000 * BS, w, n);
	rr = req(NVME_OP_READ, 1000, 100, r, &dr);
	assert_int_equal(nvme_eng_submit(&E, &rr), 0);
	run_for(10);
	assert_int_equal(dr.calls, 1);
	assert_int_equal(dr.err, 0);
	assert_memory_equal(r, w, n);
	assert_int_equal(S.writes, 7);
	assert_int_equal(S.reads, 7);
	assert_int_equal(F.nmaps, 0); /* every mapping was undone */
	assert_int_equal(F.maps, F.unmaps);
	assert_int_equal(nvme_eng_poll(&E), UINT64_MAX); /* idle: no timer wanted */
	free(w), free(r);
}

/* More requests than slots, some resubmitted from done(): all complete. */
#define MANY 20
static struct nvme_req many[MANY];
static struct done_rec many_done[MANY];
static unsigned chained;
static uint8_t *many_buf;

static void resubmit_once(struct nvme_req *r, int err)
{
	on_done(r, err);
	if (r == &many[0] && !chained++)
		assert_int_equal(nvme_eng_submit(&E, r), 0); /* from inside done() */
}

static void test_more_than_slots(void **state)
{
	many_buf = page_alloc(MANY * 8 * BS);
	fill(many_buf, MANY * 8 * BS, 9);
	chained = 0;
	for (unsigned i = 0; i < MANY; i++) {
		many[i] = req(NVME_OP_WRITE, 8 * i, 8, many_buf + i * 8 * BS, &many_done[i]);
		many[i].done = resubmit_once;
		many_done[i] = (struct done_rec){0};
		assert_int_equal(nvme_eng_submit(&E, &many[i]), 0);
	}
	run_for(10);
	for (unsigned i = 0; i < MANY; i++) {
		assert_int_equal(many_done[i].calls, i == 0 ? 2 : 1);
		assert_int_equal(many_done[i].err, 0);
	}
	assert_memory_equal(F.disk, many_buf, MANY * 8 * BS);
	assert_int_equal(F.nmaps, 0);
	free(many_buf);
}

static void test_refused(void **state)
{
	uint8_t *b = page_alloc(BS);
	struct done_rec d = {0};
	struct nvme_req r = req(NVME_OP_READ, NBLOCKS - 1, 2, b, &d);

	assert_int_equal(nvme_eng_submit(&E, &r), -EINVAL);
	r = req(NVME_OP_READ, 0, 0, b, &d);
	assert_int_equal(nvme_eng_submit(&E, &r), -EINVAL);
	r = req(NVME_OP_WRITE, 0, 1, b + 2, &d);
	assert_int_equal(nvme_eng_submit(&E, &r), -EINVAL);
	r = req(NVME_OP_FLUSH, 0, 1, NULL, &d);
	assert_int_equal(nvme_eng_submit(&E, &r), -EINVAL);
	run_for(5);
	assert_int_equal(d.calls, 0);
	assert_true(logged("refused: blocks out of range"));
	free(b);
}

static void test_error_status_no_reset(void **state)
{
	uint8_t *b = page_alloc(64 * BS);
	struct done_rec d = {0};
	struct nvme_req r = req(NVME_OP_WRITE, 0, 64, b, &d);

	F.mode = FAIL_LBA, F.fail_lba = 40;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	run_for(10);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -EIO);
	assert_true(logged("write lba 32: LBA Out of Range"));
	assert_int_equal(F.resets, 0);
	assert_int_equal(F.nmaps, 0);
	free(b);
}

/* Hangs once: timeout after CMD_MS (not before), reset, request resent,
 * completes with the right data. */
static void test_hang_then_recover(void **state)
{
	uint8_t *w = page_alloc(32 * BS);
	struct done_rec d = {0};
	struct nvme_req r = req(NVME_OP_WRITE, 64, 32, w, &d);

	fill(w, 32 * BS, 5);
	F.mode = HANG_ONCE;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	run_for(CMD_MS - 10);
	assert_int_equal(d.calls, 0);
	assert_int_equal(F.resets, 0);
	assert_int_not_equal(F.nmaps, 0); /* still the device's until the reset */
	run_for(100);
	assert_true(logged("write lba 64: timed out: no completion within 5000 ms"));
	assert_true(logged("resetting the controller (attempt 1 of 3)"));
	assert_true(logged("controller reset and re-initialised; 1 request(s) sent again"));
	assert_int_equal(F.resets, 1);
	run_for(10);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(F.disk + 64 * BS, w, 32 * BS);
	assert_int_equal(E.recovered, 1);
	assert_int_equal(S.timeouts, 1);
	assert_int_equal(F.nmaps, 0);
	free(w);
}

/* Never completes: each attempt times out; the request fails after its
 * second try, once, and the controller serves the next request. */
static void test_never_completes(void **state)
{
	uint8_t *b = page_alloc(8 * BS);
	struct done_rec d = {0}, d2 = {0};
	struct nvme_req r = req(NVME_OP_READ, 8, 8, b, &d), r2;

	F.mode = HANG;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	run_for(2 * CMD_MS + 1000);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -ETIMEDOUT);
	assert_true(logged("read lba 8 (8 blocks) failed: still no completion after a controller "
			   "reset"));
	assert_int_equal(F.resets, 2);
	assert_int_equal(F.nmaps, 0);
	run_for(3 * CMD_MS); /* nothing outstanding: no more resets */
	assert_int_equal(F.resets, 2);
	assert_int_equal(d.calls, 1);
	F.mode = NORMAL;
	memcpy(F.disk + 8 * BS, "recovered", 10);
	r2 = req(NVME_OP_READ, 8, 8, b, &d2);
	assert_int_equal(nvme_eng_submit(&E, &r2), 0);
	run_for(10);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.err, 0);
	assert_memory_equal(b, "recovered", 10);
	free(b);
}

/* Completions of commands from before the reset arrive after it, with
 * their old CIDs, while the resent commands (in the same slots) are still
 * outstanding: dropped, nothing completes early, and the resent request
 * completes once with its data. */
static void test_late_completion_after_reset(void **state)
{
	uint8_t *w = page_alloc(48 * BS);
	struct done_rec d = {0};
	struct nvme_req r = req(NVME_OP_WRITE, 256, 48, w, &d);

	fill(w, 48 * BS, 11);
	F.mode = LATE;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	run_for(CMD_MS + 100);
	assert_int_equal(F.resets, 1);
	assert_int_equal(F.mode, HOLD); /* the late completions were posted */
	assert_int_equal(count_logged("stale completion"), 3);
	assert_int_equal(d.calls, 0);
	assert_int_equal(F.nheld, 3); /* the resent commands, still with the device */
	for (unsigned i = 0; i < 48 * BS; i++)
		assert_int_equal(F.disk[256 * BS + i], 0); /* and no data yet */
	release_held();
	run_for(10);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	assert_memory_equal(F.disk + 256 * BS, w, 48 * BS);
	assert_int_equal(F.nmaps, 0);
	run_for(CMD_MS * 2);
	assert_int_equal(d.calls, 1);
	assert_int_equal(F.resets, 1);
	free(w);
}

/* CC.EN = 0 is ignored: each recovery waits CAP.TO, three fail, requests
 * fail with -EIO, buffers leave the device's reach; a later request tries
 * again and succeeds once the controller behaves. */
static void test_reset_never_completes(void **state)
{
	uint8_t *b = page_alloc(16 * BS);
	struct done_rec d = {0}, d2 = {0};
	struct nvme_req r = req(NVME_OP_WRITE, 0, 16, b, &d), r2;

	F.mode = HANG;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	F.mode = DEAF_RESET;
	run_for(CMD_MS + 3 * READY_MS + 100);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, -EIO);
	assert_true(logged("CSTS.RDY did not become 0 within 500 ms"));
	assert_true(logged("controller did not recover after 3 resets"));
	assert_int_equal(F.nmaps, 0);
	assert_false(nvme_eng_busy(&E));
	F.mode = NORMAL;
	F.csts &= ~(uint32_t)NVME_CSTS_RDY; /* it finally obeys */
	r2 = req(NVME_OP_WRITE, 0, 16, b, &d2);
	assert_int_equal(nvme_eng_submit(&E, &r2), 0);
	run_for(100);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.err, 0);
	assert_true(logged("a new request after a failed recovery"));
	free(b);
}

static void test_fatal_status(void **state)
{
	uint8_t *b = page_alloc(16 * BS);
	struct done_rec d = {0};
	struct nvme_req r = req(NVME_OP_WRITE, 0, 16, b, &d);

	F.mode = HANG_ONCE;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	run_for(5);
	F.csts |= NVME_CSTS_CFS;
	run_for(50); /* long before the command timeout */
	assert_true(logged("controller fatal status (CSTS.CFS); resetting"));
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.err, 0);
	free(b);
}

/* One poll calls at most NVME_ENG_DONE_PER_POLL done()s and asks to be
 * called again at once for the rest; submit never calls done() itself. */
static unsigned done_calls;
static void count_done(struct nvme_req *r, int err)
{
	done_calls++;
}

static void test_done_per_poll(void **state)
{
	static struct nvme_req r[6];
	uint8_t *b = page_alloc(6 * BS);

	done_calls = 0;
	for (unsigned i = 0; i < 6; i++) {
		r[i] = (struct nvme_req){.op = NVME_OP_WRITE,
					 .lba = i,
					 .nblocks = 1,
					 .pa = (uintptr_t)(b + i * BS),
					 .done = count_done};
		assert_int_equal(nvme_eng_submit(&E, &r[i]), 0);
	}
	assert_int_equal(done_calls, 0); /* the fake completed them all already */
	uint64_t next = nvme_eng_poll(&E);
	assert_int_equal(done_calls, NVME_ENG_DONE_PER_POLL);
	assert_true(next <= F.now);
	run_for(1);
	assert_int_equal(done_calls, 6);
	assert_int_equal(nvme_eng_poll(&E), UINT64_MAX);
	free(b);
}

/* The engine asks to be polled no later than its nearest deadline. */
static void test_poll_deadline(void **state)
{
	uint8_t *b = page_alloc(BS);
	struct done_rec d = {0};
	struct nvme_req r = req(NVME_OP_FLUSH, 0, 0, NULL, &d);

	F.mode = HANG;
	assert_int_equal(nvme_eng_submit(&E, &r), 0);
	uint64_t next = nvme_eng_poll(&E);
	assert_true(next > F.now && next <= F.now + NVME_ENG_POLL_US * TPMS / 1000);
	F.now += (CMD_MS - 1) * TPMS + 500;
	next = nvme_eng_poll(&E);
	assert_true(next <= F.now + TPMS / 2);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_more_than_slots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_status_no_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hang_then_recover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_completes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_late_completion_after_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_never_completes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fatal_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_done_per_poll, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

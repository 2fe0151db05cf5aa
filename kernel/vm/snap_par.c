/*
 * Guest RAM into and out of a snapshot on all of the partition's CPUs at
 * once. They are the partition's own and idle while it is paused (a save)
 * or built (a restore), so other partitions keep theirs. The job's CPU
 * works too; each other CPU gets a CPU job (sched_job) that takes chunks
 * from a shared counter, with its own zstd coder and buffer, and writes or
 * reads its chunks itself: only placing a chunk in the store is
 * serialised. A worker that has not started when the chunks run out is
 * taken back (sched_job_cancel), so the work never waits for a CPU that
 * is busy elsewhere.
 */
#include "kernel/vm/snap_state.h"
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct par;
struct worker {
	struct sched_job j; /* first: the job is found from it */
	struct par *q;
	unsigned cpu;
};

struct par {
	struct snap_save *w;	      /* saving, or */
	const struct snap_incr *incr; /* saving against a parent, or NULL */
	struct snap_image *m;	      /* restoring */
	uint8_t *ram;
	uint64_t ipa, bytes;
	uint32_t first, n; /* chunk indices first..first+n-1 */
	uint32_t next;	   /* the next chunk to take (atomic) */
	unsigned live;	   /* workers queued or running (atomic) */
	int err;
	volatile int lock; /* around snap_save_place and the error */
	char why[160];
};

static void lock(struct par *q)
{
	while (__atomic_exchange_n(&q->lock, 1, __ATOMIC_ACQUIRE))
		wfe();
}

static void unlock(struct par *q)
{
	__atomic_store_n(&q->lock, 0, __ATOMIC_RELEASE);
	sev();
}

static void fail(struct par *q, int e, const char *why)
{
	lock(q);
	if (!q->err) {
		q->err = e;
		snprintf(q->why, sizeof(q->why), "%s", why);
	}
	unlock(q);
}

static uint32_t chunk_pages(const struct par *q, uint32_t k)
{
	return snap_range_chunk_pages(q->bytes, k);
}

/* No page of chunk k written since the parent: a chunk is 256 pages, four
 * words of the bitmap. */
static bool unchanged(const struct par *q, uint32_t k)
{
	const uint64_t *b = q->incr->dirty + (uint64_t)k * (SNAP_CHUNK_PAGES / 64);
	uint32_t words = (chunk_pages(q, k) + 63) / 64;
	for (uint32_t i = 0; i < words; i++)
		if (b[i])
			return false;
	return true;
}

static int save_one(struct par *q, struct snap_encoder *enc, uint8_t *buf, uint32_t k)
{
	struct snap_chunk c;
	uint64_t sector, count;
	if (q->incr && unchanged(q, k)) {
		lock(q);
		int e = snap_save_reuse(q->w, q->first + k, &q->incr->parent[k]);
		unlock(q);
		if (e)
			fail(q, e, "a parent's chunk could not be shared");
		return e;
	}
	uint8_t *raw = q->ram + (uint64_t)k * SNAP_CHUNK_BYTES;
	/* a guest running with its MMU off wrote around the caches (only the
	 * chunks read: an incremental's shared ones are not) */
	dcache_clean_inval_range((uintptr_t)raw, (uint64_t)chunk_pages(q, k) * SNAP_PAGE);
	int e = snap_chunk_encode(enc, raw, chunk_pages(q, k), buf, &c);
	if (e) {
		fail(q, e, "chunk compression failed");
		return e;
	}
	lock(q);
	e = snap_save_place(q->w, q->first + k, &c, &sector, &count);
	unlock(q);
	if (!e && count)
		e = snap_bdev_write(sector, count, buf);
	if (e)
		fail(q, e,
		     e == -ENOSPC ? "the disk's snapshot area is full" : "a disk write failed");
	return e;
}

static int load_one(struct par *q, struct snap_decoder *dec, uint8_t *buf, uint32_t k)
{
	unsigned nc;
	const struct snap_chunk *c = &snap_image_chunks(q->m, &nc)[q->first + k];
	int e = snap_chunk_read(q->m, q->first + k, buf);
	if (e) {
		fail(q, e, e == -EIO ? "a disk read failed" : "a chunk's padding is damaged");
		return e;
	}
	e = snap_chunk_decode(dec, c, buf, q->ram + (c->gpa - q->ipa));
	if (e) {
		char why[160];
		snprintf(why, sizeof(why), "chunk %u at 0x%llx: %s", q->first + k,
			 (unsigned long long)c->gpa, snap_decoder_error(dec));
		fail(q, e, why);
	}
	return e;
}

/* Takes chunks until none is left or one failed. false: no memory for a
 * coder here (the others carry on). */
static bool work(struct par *q)
{
	uint8_t *buf = memalign(SNAP_BLOCK, SNAP_CHUNK_BYTES);
	struct snap_encoder *enc = q->w && buf ? snap_encoder_new(SNAP_LEVEL_DEFAULT) : NULL;
	struct snap_decoder *dec = q->m && buf ? snap_decoder_new() : NULL;
	bool ok = enc || dec;
	while (ok && !__atomic_load_n(&q->err, __ATOMIC_RELAXED)) {
		uint32_t k = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
		if (k >= q->n || (enc ? save_one(q, enc, buf, k) : load_one(q, dec, buf, k)))
			break;
	}
	snap_encoder_free(enc);
	snap_decoder_free(dec);
	free(buf);
	return ok;
}

static void worker_job(struct sched_job *j)
{
	struct worker *wk = (struct worker *)j;
	struct par *q = wk->q;
	work(q);
	__atomic_fetch_sub(&q->live, 1, __ATOMIC_RELEASE);
	sev();
}

static int run(struct par *q, uint64_t cpu_mask)
{
	unsigned me = this_cpu()->id, nw = 0;
	struct worker *wk = calloc(64, sizeof(*wk));
	for (unsigned c = 0; wk && c < 64; c++) {
		if (!(cpu_mask & BIT(c)) || c == me)
			continue;
		wk[nw] = (struct worker){.j = {worker_job}, .q = q, .cpu = c};
		__atomic_fetch_add(&q->live, 1, __ATOMIC_RELAXED);
		if (sched_job(c, &wk[nw].j) == 0)
			nw++;
		else
			__atomic_fetch_sub(&q->live, 1, __ATOMIC_RELAXED);
	}
	if (!work(q) && !nw)
		fail(q, -ENOMEM, "out of memory for a compressor");
	for (unsigned i = 0; i < nw; i++)
		if (sched_job_cancel(wk[i].cpu, &wk[i].j))
			__atomic_fetch_sub(&q->live, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&q->live, __ATOMIC_ACQUIRE))
		wfe();
	if (!q->err && __atomic_load_n(&q->next, __ATOMIC_RELAXED) < q->n)
		fail(q, -ENOMEM, "out of memory for a compressor");
	free(wk);
	return q->err;
}

int snap_par_save(struct snap_save *w, const struct partition *p, const struct snap_incr *incr,
		  char *why, size_t whylen)
{
	struct par q = {.w = w,
			.incr = incr,
			.ram = (uint8_t *)p->ram_pa,
			.ipa = GUEST_RAM_BASE,
			.bytes = p->cfg.mem_size};
	int e = snap_save_range(w, q.ipa, q.bytes, SNAP_RANGE_RAM, &q.first, &q.n);
	if (e) {
		snprintf(why, whylen, "the memory map was refused");
		return e;
	}
	if ((e = run(&q, p->cfg.cpu_mask)))
		snprintf(why, whylen, "%s", q.why);
	return e;
}

int snap_par_load(struct snap_image *m, unsigned r, const struct partition *p, char *why,
		  size_t whylen)
{
	unsigned n;
	const struct snap_range *rg = &snap_image_ranges(m, &n)[r];
	struct par q = {.m = m,
			.ram = (uint8_t *)p->ram_pa,
			.ipa = rg->ipa,
			.bytes = rg->bytes,
			.first = rg->first_chunk,
			.n = rg->nchunks};
	int e = run(&q, p->cfg.cpu_mask);
	if (e)
		snprintf(why, whylen, "%s", q.why);
	return e;
}

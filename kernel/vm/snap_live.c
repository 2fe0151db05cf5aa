/*
 * Live snapshots (`snapshot save PART NAME --live`): copy-on-write. The
 * pause only captures the vCPU, vGIC, timer and device state (records in
 * memory) and write-protects all of the partition's RAM (dirty.c's
 * tracking, started over); then the guest runs on while a writer job on a
 * CPU no partition runs on saves the RAM chunk by chunk. The snapshot is
 * the RAM as it was at the pause: the guest's first write to a page whose
 * chunk the writer has not taken yet copies that page aside first
 * (snap_live_fault, in the write fault, under the dirty lock), and the
 * writer takes a chunk from RAM and puts those copies over it, under the
 * same lock, so no page is seen half written. The copies live in a pool
 * of LIVE_POOL_PAGES; a guest that writes more pages than that ahead of
 * the writer waits in its fault for the writer to free some.
 *
 * One live save at a time. A stop of the partition cancels it (its RAM is
 * about to be freed: the release waits for the writer to let go).
 */
#include "kernel/vm/snap_state.h"
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TESSERA_VERSION /* host tests */
#define TESSERA_VERSION "host"
#endif
#define LIVE_POOL_PAGES 16384u /* 64 MiB of page copies */
#define NO_COPY		UINT32_MAX

struct snap_live {
	struct sched_job j; /* first: the job is found from it */
	struct partition *p;
	struct snap_save *w;
	char name[48];
	uint64_t t_ask, t_pause, t_resumed; /* timer_now */
	uint32_t first, nchunks;
	uint8_t *taken;	   /* per chunk: the writer has it (under the dirty lock) */
	uint32_t *copy;	   /* per page: its slot in the pool, or NO_COPY */
	uint8_t *pool;	   /* LIVE_POOL_PAGES pages */
	uint32_t *free;	   /* free slots, a stack */
	uint32_t nfree;	   /* under the dirty lock */
	volatile int stop; /* a stop cancels it */
	volatile int done; /* the writer has let go of the RAM */
	unsigned refs;	   /* the writer, a canceller: under the dirty lock */
	unsigned cpu;	   /* the writer's */
	uint64_t copied;   /* pages copied aside */
};

static struct snap_live *active; /* one at a time */

static void live_free(struct snap_live *l)
{
	free(l->taken);
	free(l->copy);
	if (l->pool)
		mem_free((uintptr_t)l->pool, (uint64_t)LIVE_POOL_PAGES * SNAP_PAGE);
	free(l->free);
	free(l);
}

/* Under no lock: the writer and a canceller each drop theirs. */
static void live_unref(struct snap_live *l, struct partition *p)
{
	spin_lock(&p->dirty.lock);
	unsigned left = --l->refs;
	spin_unlock(&p->dirty.lock);
	if (!left)
		live_free(l);
}

static struct snap_live *live_new(struct partition *p)
{
	uint64_t pages = p->cfg.mem_size / SNAP_PAGE;
	struct snap_live *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->p = p;
	l->refs = 1;
	l->taken = calloc((pages + SNAP_CHUNK_PAGES - 1) / SNAP_CHUNK_PAGES, 1);
	l->copy = malloc(pages * sizeof(uint32_t));
	/* from the page allocator: the heap is not that big */
	l->pool = (uint8_t *)(uintptr_t)mem_alloc((uint64_t)LIVE_POOL_PAGES * SNAP_PAGE, SNAP_PAGE);
	l->free = malloc(LIVE_POOL_PAGES * sizeof(uint32_t));
	if (!l->taken || !l->copy || !l->pool || !l->free) {
		live_free(l);
		return NULL;
	}
	memset(l->copy, 0xff, pages * sizeof(uint32_t));
	for (uint32_t i = 0; i < LIVE_POOL_PAGES; i++)
		l->free[i] = LIVE_POOL_PAGES - 1 - i;
	l->nfree = LIVE_POOL_PAGES;
	return l;
}

/* Under p's dirty lock, before the page is made writable. false: no slot
 * free; the guest retries the write later. */
bool snap_live_fault(struct partition *p, uint64_t page)
{
	struct snap_live *l = p->live;
	if (!l || l->taken[page / SNAP_CHUNK_PAGES] || l->copy[page] != NO_COPY)
		return true;
	if (!l->nfree)
		return false;
	uint32_t slot = l->free[--l->nfree];
	uint8_t *src = (uint8_t *)(uintptr_t)(p->ram_pa + page * SNAP_PAGE);
	dcache_clean_inval_range((uintptr_t)src, SNAP_PAGE); /* a guest's MMU may be off */
	memcpy(l->pool + (uint64_t)slot * SNAP_PAGE, src, SNAP_PAGE);
	l->copy[page] = slot;
	l->copied++;
	return true;
}

/* Chunk k as it was at the pause into raw: from RAM, then the copies of
 * the pages the guest has written since put over it and their slots
 * freed. The RAM is read without the lock (a 1 MiB copy would hold up
 * the guest's faults): a page the guest writes meanwhile is copied aside
 * in its fault before it becomes writable (the chunk is not TAKEN yet),
 * so the copy put over it afterwards is its content at the pause. */
static void take_chunk(struct snap_live *l, uint32_t k, uint32_t pages, uint8_t *raw)
{
	struct partition *p = l->p;
	uint64_t first = (uint64_t)k * SNAP_CHUNK_PAGES;
	uint8_t *ram = (uint8_t *)(uintptr_t)(p->ram_pa + first * SNAP_PAGE);
	dcache_clean_inval_range((uintptr_t)ram, (uint64_t)pages * SNAP_PAGE);
	memcpy(raw, ram, (uint64_t)pages * SNAP_PAGE);
	spin_lock(&p->dirty.lock);
	for (uint32_t i = 0; i < pages; i++) {
		uint32_t slot = l->copy[first + i];
		if (slot == NO_COPY)
			continue;
		memcpy(raw + (uint64_t)i * SNAP_PAGE, l->pool + (uint64_t)slot * SNAP_PAGE,
		       SNAP_PAGE);
		l->copy[first + i] = NO_COPY;
		l->free[l->nfree++] = slot;
	}
	l->taken[k] = 1;
	spin_unlock(&p->dirty.lock);
	sev(); /* a vCPU waiting for a slot or the lock */
	/* a hint to let that vCPU run now; under -icount QEMU would otherwise
	 * finish this CPU's turn (a chunk's compression) first */
	cpu_relax();
}

static uint32_t chunk_pages(const struct snap_live *l, uint32_t k)
{
	return snap_range_chunk_pages(l->p->cfg.mem_size, k);
}

/* Between pieces of the writer's work: a hint that lets the guest's CPU
 * run (on hardware it runs anyway; QEMU -icount would otherwise finish
 * this CPU's turn first, a whole chunk's compression). */
static void give_way(void *ctx)
{
	(void)ctx;
	cpu_relax();
}

static int write_chunks(struct snap_live *l, char *why, size_t whylen)
{
	uint8_t *raw = memalign(SNAP_BLOCK, SNAP_CHUNK_BYTES),
		*out = memalign(SNAP_BLOCK, SNAP_CHUNK_BYTES);
	struct snap_encoder *enc = raw && out ? snap_encoder_new(SNAP_LEVEL_DEFAULT) : NULL;
	int e = enc ? 0 : -ENOMEM;
	if (enc)
		snap_encoder_pace(enc, give_way, NULL);
	for (uint32_t k = 0; !e && k < l->nchunks; k++) {
		struct snap_chunk c;
		uint64_t sector, count;
		if (l->stop) {
			e = -ECANCELED;
			break;
		}
		take_chunk(l, k, chunk_pages(l, k), raw);
		if (!(e = snap_chunk_encode(enc, raw, chunk_pages(l, k), out, &c)) &&
		    !(e = snap_save_place(l->w, l->first + k, &c, &sector, &count)) && count)
			e = snap_bdev_write(sector, count, out);
	}
	if (e)
		snprintf(why, whylen, "%s",
			 e == -ECANCELED ? "the partition stopped"
			 : e == -ENOMEM	 ? "out of memory"
			 : e == -ENOSPC	 ? "the disk's snapshot area is full"
					 : "a chunk could not be written");
	snap_encoder_free(enc);
	free(raw);
	free(out);
	return e;
}

/* Tracking stays on: the pages written since the pause are what the next
 * incremental against this snapshot needs. */
static void finish(struct snap_live *l, int e, const char *why, const struct snap_save_stats *st)
{
	struct partition *p = l->p;
	spin_lock(&p->dirty.lock);
	p->live = NULL;
	spin_unlock(&p->dirty.lock);
	sev();
	if (e || !st) {
		kprintf("snapshot: error: save %s of %s: %s\n", l->name, p->cfg.name, why);
		return;
	}
	dirty_set_base(p, l->name, st->generation);
	kprintf("snapshot: saved %s from %s: ram=%llu disk=%llu written=%llu zero_pages=%llu "
		"pause_us=%llu time_us=%llu live copied_pages=%llu\n",
		l->name, p->cfg.name, (unsigned long long)st->ram_bytes,
		(unsigned long long)st->disk_bytes, (unsigned long long)st->disk_bytes,
		(unsigned long long)st->zero_pages,
		(unsigned long long)snap_us(l->t_resumed - l->t_ask),
		(unsigned long long)snap_us(timer_now() - l->t_pause),
		(unsigned long long)l->copied);
}

static void writer_job(struct sched_job *j)
{
	struct snap_live *l = (struct snap_live *)j;
	struct snap_save_stats st;
	char why[160] = "";
	/* not before the partition runs again: its pause is not this job's */
	while (partition_state(l->p) == PART_PAUSED && !l->stop)
		wfe();
	store_take();
	int e = write_chunks(l, why, sizeof(why));
	if (e)
		snap_save_abort(l->w);
	else if ((e = snap_save_commit(l->w, &st)))
		snprintf(why, sizeof(why), "the commit failed");
	if (e)
		store_drop();
	store_give();
	finish(l, e, why, &st);
	__atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
	sev();
	live_unref(l, l->p);
}

/* The paused job, with the store taken: state saved, RAM write-protected,
 * the writer queued. 0: the partition may resume at once. */
int snap_live_begin(struct partition *p, const char *name, uint64_t t_ask, uint64_t now, char *why,
		    size_t whylen)
{
	struct snap_store *s = store_get(true, why, whylen);
	if (!s)
		return -ENODEV;
	struct snap_live *l = NULL;
	if (__atomic_load_n(&active, __ATOMIC_ACQUIRE)) {
		snprintf(why, whylen, "another live save is running");
		return -EBUSY;
	}
	if (!(l = live_new(p))) {
		snprintf(why, whylen, "out of memory for the page copies");
		return -ENOMEM;
	}
	struct snap_save_params sp = {.name = name,
				      .partition = p->cfg.name,
				      .creator = "tessera " TESSERA_VERSION,
				      .nvcpus = p->nvcpus};
	int e = snap_save_begin(s, &sp, &l->w);
	if (!e && (e = snap_save_state(l->w, p, now, why, whylen)))
		snap_save_abort(l->w);
	if (!e && (e = snap_save_range(l->w, GUEST_RAM_BASE, p->cfg.mem_size, SNAP_RANGE_RAM,
				       &l->first, &l->nchunks)))
		snap_save_abort(l->w);
	if (e) {
		snprintf(why, whylen, "%s",
			 e == -EEXIST ? "the name is already taken" : snap_error(s));
		live_free(l);
		return e;
	}
	/* every page read-only from here: the guest's first write to one is seen */
	uint64_t *bits = dirty_on(p) ? malloc(dirty_bitmap_bytes(p)) : NULL;
	e = bits ? dirty_harvest(p, bits) : dirty_start(p);
	free(bits);
	if (e) {
		snprintf(why, whylen, "RAM could not be write-protected");
		snap_save_abort(l->w);
		live_free(l);
		return e;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->t_ask = t_ask;
	l->t_pause = now;
	l->t_resumed = timer_now(); /* the partition resumes on return */
	l->j.fn = writer_job;
	spin_lock(&p->dirty.lock);
	p->live = l;
	spin_unlock(&p->dirty.lock);
	__atomic_store_n(&active, l, __ATOMIC_RELEASE);
	int cpu = snap_job_place(&l->j, p);
	l->cpu = cpu < 0 ? 0 : (unsigned)cpu;
	if ((e = cpu < 0 ? cpu : 0)) {
		snprintf(why, whylen, "no CPU free of partitions for the writer");
		spin_lock(&p->dirty.lock);
		p->live = NULL;
		spin_unlock(&p->dirty.lock);
		__atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
		snap_save_abort(l->w);
		live_free(l);
	}
	return e;
}

/* The partition's RAM is about to be freed: the writer stops taking
 * chunks and this waits until it has let go. */
void snap_live_cancel(struct partition *p)
{
	spin_lock(&p->dirty.lock);
	struct snap_live *l = p->live;
	if (l)
		l->refs++;
	spin_unlock(&p->dirty.lock);
	if (!l)
		return;
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	if (sched_job_cancel(l->cpu, &l->j)) { /* it never started: finish it here */
		store_take();
		snap_save_abort(l->w);
		store_give();
		finish(l, -ECANCELED, "the partition stopped", NULL);
		__atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
		live_unref(l, p); /* the writer's */
	}
	while (!__atomic_load_n(&l->done, __ATOMIC_ACQUIRE) && l->refs > 1)
		wfe();
	live_unref(l, p);
}

bool snap_live_running(struct partition *p)
{
	return __atomic_load_n(&p->live, __ATOMIC_ACQUIRE) != NULL;
}

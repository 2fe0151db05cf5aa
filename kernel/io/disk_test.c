/*
 * `disk test [MiB]`: writes a pattern over the scratch area, flushes, reads
 * it back and compares, as a job driven by request completions: the shell
 * command starts it and returns; each completion (an interrupt handler)
 * fills or checks one chunk and sends the next, so no handler runs longer
 * than one chunk's worth of pattern work. Sizes beyond the scratch area
 * take several passes, each with its own seed. The seed and the blocks of
 * the last pass are printed, so a test can check the image file from
 * outside: word i (little-endian u64) of block lba is
 * pattern_word(seed, lba, i) below.
 */
#include "kernel/io/io.h"
#include "drivers/drivers.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TEST_DEFAULT_MIB 8u
#define TEST_MAX_MIB	 (1u << 20)  /* 1 TiB: passes are bounded, time is the limit */
#define TEST_CHUNK	 (64u << 10) /* the pattern work one completion does */
#define TEST_BUFS	 16u
#define TEST_SENDS	 2u   /* chunks prepared per call: bounds an interrupt's work */
#define POISON_BYTE	 0x5a /* read buffers hold this before the device writes them */

enum phase { PH_WRITE, PH_FLUSH, PH_READ };

struct tbuf {
	struct nvme_req req;
	uint64_t pa;
	bool busy;
};

static struct {
	bool running;
	unsigned mib, pass, passes;
	uint32_t bs;
	uint64_t lba0, full_blocks; /* scratch start, blocks of a full pass */
	uint64_t pass_blocks, next, seed, t0, t_write, t_read, bad, done_mib;
	enum phase phase;
	unsigned inflight;
	int err;
	struct tbuf buf[TEST_BUFS];
	struct nvme_req flush;
} job;

static uint64_t test_runs; /* mixed into each pass's seed */

/* splitmix64: a different word for every (seed, lba, index). */
static uint64_t pattern_word(uint64_t seed, uint64_t lba, uint64_t i)
{
	uint64_t z = seed + lba * 0x9e3779b97f4a7c15ull + (i + 1) * 0xbf58476d1ce4e5b9ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_pattern(uint64_t *buf, uint64_t lba, uint64_t nblocks)
{
	uint64_t per = job.bs / sizeof(uint64_t);

	for (uint64_t b = 0; b < nblocks; b++)
		for (uint64_t i = 0; i < per; i++)
			buf[b * per + i] = pattern_word(job.seed, lba + b, i);
}

/* Counts differing words; the first one of the whole job is reported. */
static void verify_pattern(const uint64_t *buf, uint64_t lba, uint64_t nblocks)
{
	uint64_t per = job.bs / sizeof(uint64_t);

	for (uint64_t w = 0; w < nblocks * per; w++) {
		uint64_t want = pattern_word(job.seed, lba + w / per, w % per);
		if (buf[w] == want)
			continue;
		if (!job.bad++)
			kprintf("disk test: MISMATCH at lba %llu byte %llu: wrote 0x%016llx, read "
				"0x%016llx\n",
				(unsigned long long)(lba + w / per),
				(unsigned long long)(w % per * 8), (unsigned long long)want,
				(unsigned long long)buf[w]);
	}
}

static uint64_t ticks_ms(uint64_t t)
{
	return t * 1000 / timer_freq();
}

/* Tenths of MiB/s, integer only. */
static uint64_t rate10(uint64_t mib, uint64_t ticks)
{
	return ticks ? mib * 10 * timer_freq() / ticks : 0;
}

static void free_bufs(void)
{
	for (unsigned i = 0; i < TEST_BUFS; i++)
		if (job.buf[i].pa)
			mem_free(job.buf[i].pa, TEST_CHUNK);
	memset(job.buf, 0, sizeof(job.buf));
}

static void finish(void)
{
	uint64_t w = rate10(job.mib, job.t_write), r = rate10(job.mib, job.t_read);

	if (job.err)
		kprintf(
		    "disk test: FAIL: I/O error %d (%s) in pass %u (see the nvme: lines above)\n",
		    job.err,
		    job.err == -ETIMEDOUT ? "no completion, even after a controller reset"
		    : job.err == -EIO	  ? "the controller failed the request"
					  : "not submitted",
		    job.pass + 1);
	else if (job.bad)
		kprintf("disk test: FAIL: %llu words differ\n", (unsigned long long)job.bad);
	else {
		kprintf("disk test: wrote %u MiB, read back, verified OK (%llu ms write, %llu ms "
			"read)\n",
			job.mib, (unsigned long long)ticks_ms(job.t_write),
			(unsigned long long)ticks_ms(job.t_read));
		kprintf("disk test: write %llu.%llu MiB/s (with flush), read %llu.%llu MiB/s "
			"(pattern work included); last pass lba %llu-%llu, seed 0x%016llx\n",
			(unsigned long long)(w / 10), (unsigned long long)(w % 10),
			(unsigned long long)(r / 10), (unsigned long long)(r % 10),
			(unsigned long long)job.lba0,
			(unsigned long long)(job.lba0 + job.pass_blocks - 1),
			(unsigned long long)job.seed);
	}
	free_bufs();
	job.running = false;
}

static void chunk_done(struct nvme_req *r, int err);

/* Starts the next chunk of the phase in b. */
static void send_chunk(struct tbuf *b)
{
	uint64_t n = MIN((uint64_t)TEST_CHUNK / job.bs, job.pass_blocks - job.next);
	uint64_t lba = job.lba0 + job.next;
	bool wr = job.phase == PH_WRITE;

	if (wr)
		fill_pattern((uint64_t *)(uintptr_t)b->pa, lba, n);
	else
		memset((void *)(uintptr_t)b->pa, POISON_BYTE, n * job.bs);
	b->req = (struct nvme_req){.op = wr ? NVME_OP_WRITE : NVME_OP_READ,
				   .lba = lba,
				   .nblocks = n,
				   .pa = b->pa,
				   .done = chunk_done,
				   .ctx = b};
	job.next += n;
	b->busy = true;
	job.inflight++;
	int e = disk_submit(&b->req);
	if (e) {
		b->busy = false;
		job.inflight--;
		job.err = e;
	}
}

/* At most TEST_SENDS per call; completions call it again, so all buffers
 * fill up after a few. */
static void fill_slots(void)
{
	unsigned sent = 0;

	for (unsigned i = 0;
	     i < TEST_BUFS && sent < TEST_SENDS && !job.err && job.next < job.pass_blocks; i++)
		if (!job.buf[i].busy) {
			send_chunk(&job.buf[i]);
			sent++;
		}
}

static void start_pass(void);
static void flush_done(struct nvme_req *r, int err);

/* The phase has nothing in flight and nothing left to send. */
static void phase_end(void)
{
	uint64_t t = timer_now() - job.t0;

	if (job.err || job.bad) {
		finish();
		return;
	}
	if (job.phase == PH_WRITE) {
		job.phase = PH_FLUSH;
		job.flush = (struct nvme_req){.op = NVME_OP_FLUSH, .done = flush_done};
		job.inflight++;
		if ((job.err = disk_submit(&job.flush)) != 0) {
			job.inflight--;
			finish();
		}
		return;
	}
	job.t_read += t;
	job.done_mib += (job.pass_blocks * job.bs) >> 20;
	if (++job.pass < job.passes) {
		kprintf("disk test: pass %u of %u verified (%llu MiB so far)\n", job.pass,
			job.passes, (unsigned long long)job.done_mib);
		start_pass();
		return;
	}
	job.pass--; /* the last pass is the one reported */
	finish();
}

static void flush_done(struct nvme_req *r, int err)
{
	job.inflight--;
	job.err = err;
	job.t_write += timer_now() - job.t0;
	if (err) {
		finish();
		return;
	}
	job.phase = PH_READ;
	job.next = 0;
	job.t0 = timer_now();
	fill_slots();
}

static void chunk_done(struct nvme_req *r, int err)
{
	struct tbuf *b = r->ctx;

	b->busy = false;
	job.inflight--;
	if (err && !job.err)
		job.err = err;
	if (!err && job.phase == PH_READ)
		verify_pattern((const uint64_t *)(uintptr_t)b->pa, r->lba, r->nblocks);
	fill_slots();
	if (!job.inflight && (job.err || job.next >= job.pass_blocks))
		phase_end();
}

/* A pass covers the scratch area, or what is left of the job. */
static void start_pass(void)
{
	uint64_t left = ((uint64_t)job.mib << 20) / job.bs - job.pass * job.full_blocks;

	job.pass_blocks = MIN(left, job.full_blocks);
	job.seed = timer_now() ^ (++test_runs * 0xd1b54a32d192ed03ull);
	job.phase = PH_WRITE;
	job.next = 0;
	job.t0 = timer_now();
	fill_slots();
	if (!job.inflight)
		phase_end(); /* the first submission failed */
}

static bool alloc_bufs(void)
{
	for (unsigned i = 0; i < TEST_BUFS; i++) {
		job.buf[i].pa = mem_alloc(TEST_CHUNK, PAGE_SIZE);
		if (!job.buf[i].pa) {
			free_bufs();
			return false;
		}
	}
	return true;
}

static int parse_mib(const char *arg, unsigned *mib)
{
	char *end;
	unsigned long v = arg ? strtoul(arg, &end, 0) : TEST_DEFAULT_MIB;

	if (arg && (*end || end == arg))
		v = 0;
	if (!v || v > TEST_MAX_MIB) {
		kprintf("disk test: size must be 1..%u MiB\n", TEST_MAX_MIB);
		return -EINVAL;
	}
	*mib = (unsigned)v;
	return 0;
}

int disk_test_start(const char *arg)
{
	uint32_t bs;
	uint64_t blocks, lba0, scratch;
	unsigned mib;

	if (job.running) {
		kprintf("disk test: already running\n");
		disk_test_status();
		return 1;
	}
	if (!disk_geometry(&bs, &blocks) || parse_mib(arg, &mib))
		return 1;
	scratch = disk_scratch(&lba0);
	memset(&job, 0, sizeof(job));
	job.mib = mib, job.bs = bs, job.lba0 = lba0;
	job.full_blocks = MIN(scratch, ((uint64_t)mib << 20) / bs);
	job.passes =
	    (unsigned)((((uint64_t)mib << 20) / bs + job.full_blocks - 1) / job.full_blocks);
	if (!alloc_bufs()) {
		kprintf("disk test: cannot allocate %u x %u KiB\n", TEST_BUFS, TEST_CHUNK >> 10);
		return 1;
	}
	job.running = true;
	kprintf("disk test: started: %u MiB over lba %llu-%llu in %u pass(es); the shell stays "
		"usable, the verdict follows\n",
		mib, (unsigned long long)lba0, (unsigned long long)(lba0 + job.full_blocks - 1),
		job.passes);
	start_pass();
	return 0;
}

void disk_test_status(void)
{
	static const char *const names[] = {"writing", "flushing", "reading back"};

	if (!job.running) {
		kprintf("  test      not running\n");
		return;
	}
	kprintf("  test      running: %u MiB, pass %u of %u, %s block %llu of %llu\n", job.mib,
		job.pass + 1, job.passes, names[job.phase], (unsigned long long)job.next,
		(unsigned long long)job.pass_blocks);
}

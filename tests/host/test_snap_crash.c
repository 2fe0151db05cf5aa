/*
 * Power cuts: a save (of a new name, superseding the previous snapshot of
 * its name, an incremental sharing chunks), a delete (of a parent whose
 * chunks an incremental shares) or a compaction is cut at every one of
 * its writes, with the
 * device's cache lost, kept, or kept in part with the cut write torn, on
 * 512- and 4096-byte sectors. What the next boot reads must be the state
 * before or the state after, never anything in between: the earlier
 * snapshots intact, the new one either absent or whole, nothing damaged
 * in the directory, and the store still takes saves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "tests/host/snap_memdev.h"
#include "tests/host/snap_util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1ull << 20)

enum op { OP_NEW, OP_SUPERSEDE, OP_DELETE, OP_INCR, OP_COMPACT };

static const struct synth cfg_old = {
    .seed = 11, .nvcpus = 2, .ipa = 0x40000000, .ram = 2 * MiB, .touched = 70, .random = 20};
static const struct synth cfg_other = {
    .seed = 12, .nvcpus = 1, .ipa = 0x80000000, .ram = MiB, .touched = 50, .random = 0};
static const struct synth cfg_new = {
    .seed = 13, .nvcpus = 3, .ipa = 0x40000000, .ram = 4 * MiB, .touched = 60, .random = 30};

/* name: cfg_old's state and RAM as an incremental of parent: every chunk
 * shared but the first, written again. */
static int save_incr(struct snap_store *s, const char *name, const char *parent)
{
	struct snap_save_params p = {.name = name, .partition = "test", .nvcpus = cfg_old.nvcpus};
	struct snap_image *m;
	struct snap_save *w;
	unsigned n;
	uint32_t first, cnt;
	int err = snap_load(s, parent, &m);
	if (err)
		return err;
	struct snap_chunk pc[2];
	memcpy(pc, snap_image_chunks(m, &n), sizeof(pc));
	snap_image_free(m);
	assert_int_equal(n, 2);
	if ((err = snap_save_begin(s, &p, &w)))
		return err;
	uint8_t *ram = malloc(SNAP_CHUNK_BYTES), *buf = malloc(SNAP_CHUNK_BYTES);
	struct snap_encoder *enc = snap_encoder_new(1);
	struct snap_chunk c;
	for (uint64_t o = 0; o < SNAP_CHUNK_BYTES; o += SNAP_PAGE)
		synth_page(&cfg_old, cfg_old.ipa + o, ram + o);
	err = synth_state(w, &cfg_old);
	if (!err)
		err = snap_save_range(w, cfg_old.ipa, cfg_old.ram, SNAP_RANGE_RAM, &first, &cnt);
	if (!err)
		err = snap_chunk_encode(enc, ram, SNAP_CHUNK_PAGES, buf, &c);
	if (!err)
		err = snap_save_chunk(w, first, &c, buf);
	if (!err)
		err = snap_save_reuse(w, first + 1, &pc[1]);
	err = err ? (snap_save_abort(w), err) : snap_save_commit(w, NULL);
	snap_encoder_free(enc);
	free(ram);
	free(buf);
	return err;
}

/* Whether a and b name a common block. */
static bool shares(struct snap_store *s, const char *a, const char *b)
{
	struct snap_image *ma, *mb;
	unsigned na, nb;
	bool shared = false;
	assert_int_equal(snap_load(s, a, &ma), 0);
	assert_int_equal(snap_load(s, b, &mb), 0);
	const struct snap_chunk *ca = snap_image_chunks(ma, &na), *cb = snap_image_chunks(mb, &nb);
	for (unsigned i = 0; i < na; i++)
		for (unsigned j = 0; j < nb; j++)
			shared |= ca[i].payload_len && ca[i].block == cb[j].block;
	snap_image_free(ma);
	snap_image_free(mb);
	return shared;
}

/* A store holding "old", "other" and "child" (an incremental of old), all
 * of it flushed. */
static void base_store(struct memdev *base, uint32_t ss)
{
	char why[128];
	struct memdev d;
	memdev_init(&d, 10 * MiB, ss);
	assert_int_equal(snap_format(&d.bdev, 77, why, sizeof(why)), 0);
	struct snap_store *s = open_store(&d);
	assert_int_equal(save_synth(s, "old", &cfg_old, 1, false, NULL), 0);
	assert_int_equal(save_synth(s, "other", &cfg_other, 2, false, NULL), 0);
	assert_int_equal(save_incr(s, "child", "old"), 0);
	assert_true(shares(s, "child", "old"));
	snap_close(s);
	memdev_reboot(&d, base);
	memdev_free(&d);
}

static int run_op(struct snap_store *s, enum op op)
{
	switch (op) {
	case OP_NEW:
		return save_synth(s, "new", &cfg_new, 2, false, NULL);
	case OP_SUPERSEDE:
		return save_synth(s, "old", &cfg_new, 2, true, NULL);
	case OP_INCR:
		return save_incr(s, "grandchild", "child");
	case OP_COMPACT:
		return snap_compact(s, "child", NULL);
	default:
		return snap_delete(s, "old");
	}
}

static bool has(struct snap_store *s, const char *name)
{
	struct snap_info in;
	return snap_lookup(s, name, &in) == 0;
}

static void expect(struct snap_store *s, const char *name, const struct synth *c, unsigned ranges,
		   const char *ctx)
{
	char why[256] = "";
	if (!synth_matches(s, name, c, ranges, why, sizeof(why)))
		fail_msg("%s: \"%s\": %s", ctx, name, why);
}

/* What a boot after the cut must find. done: the op returned success;
 * later: "later" was saved since. child (sharing old's blocks) is whole
 * whatever happens to old. */
static void check_after(struct snap_store *s, enum op op, bool done, bool later, const char *ctx)
{
	struct snap_store_stat st;
	assert_int_equal(snap_stat(s, &st), 0);
	if (st.damaged)
		fail_msg("%s: a damaged snapshot is visible: %s", ctx, snap_error(s));
	expect(s, "other", &cfg_other, 2, ctx);
	expect(s, "child", &cfg_old, 1, ctx);
	bool after;
	unsigned count = 3;
	switch (op) {
	case OP_NEW:
	case OP_INCR: {
		const char *name = op == OP_NEW ? "new" : "grandchild";
		expect(s, "old", &cfg_old, 1, ctx);
		after = has(s, name);
		if (after)
			expect(s, name, op == OP_NEW ? &cfg_new : &cfg_old, op == OP_NEW ? 2 : 1,
			       ctx);
		count += after;
		break;
	}
	case OP_SUPERSEDE: {
		char why[256];
		after = synth_matches(s, "old", &cfg_new, 2, why, sizeof(why));
		if (!after)
			expect(s, "old", &cfg_old, 1, ctx);
		break;
	}
	case OP_COMPACT:
		expect(s, "old", &cfg_old, 1, ctx);
		after = !shares(s, "child", "old");
		break;
	default:
		after = !has(s, "old");
		if (!after)
			expect(s, "old", &cfg_old, 1, ctx);
		count -= after;
		break;
	}
	assert_int_equal(snap_count(s), count + later);
	if (done && !after)
		fail_msg("%s: the operation returned success but its result is not there", ctx);
}

static void clone(const struct memdev *base, struct memdev *d)
{
	memdev_load(d, base->disk, base->bytes, base->bdev.sector_size);
}

static uint64_t writes_of(const struct memdev *base, enum op op)
{
	struct memdev d = {0};
	clone(base, &d);
	struct snap_store *s = open_store(&d);
	assert_int_equal(run_op(s, op), 0);
	snap_close(s);
	uint64_t n = d.writes;
	memdev_free(&d);
	return n;
}

static void cut_everywhere(enum op op, uint32_t ss)
{
	struct memdev base = {0}, d = {0}, after = {0};
	base_store(&base, ss);
	uint64_t total = writes_of(&base, op);
	assert_true(total >= (op == OP_DELETE ? 1 : op == OP_INCR || op == OP_COMPACT ? 3 : 6));
	static const enum cut_mode modes[] = {CUT_LOSE_CACHE, CUT_KEEP_CACHE, CUT_RANDOM,
					      CUT_RANDOM, CUT_RANDOM};
	for (uint64_t n = 1; n <= total + 1; n++)
		for (unsigned k = 0; k < sizeof(modes) / sizeof(modes[0]); k++) {
			char ctx[96];
			snprintf(ctx, sizeof(ctx),
				 "op %d, %u-byte sectors, cut at write %llu/%llu, "
				 "mode %u",
				 op, ss, (unsigned long long)n, (unsigned long long)total, k);
			clone(&base, &d);
			d.cut_at = n;
			d.mode = modes[k];
			d.rng ^= n * 0x9e3779b97f4a7c15ull + k;
			struct snap_store *s = open_store(&d);
			int err = run_op(s, op);
			snap_close(s);
			if (n <= total && !err)
				fail_msg("%s: the op survived the cut", ctx);
			memdev_reboot(&d, &after);
			s = open_store(&after);
			check_after(s, op, !err, false, ctx);
			/* the store goes on: a save after the cut, then everything again */
			if (k == 2 || n == total) {
				assert_int_equal(save_synth(s, "later", &cfg_other, 2, true, NULL),
						 0);
				expect(s, "later", &cfg_other, 2, ctx);
				check_after(s, op, !err, true, ctx);
			}
			snap_close(s);
		}
	memdev_free(&d);
	memdev_free(&after);
	memdev_free(&base);
}

static void cut_new_512(void **state)
{
	cut_everywhere(OP_NEW, 512);
}
static void cut_new_4096(void **state)
{
	cut_everywhere(OP_NEW, 4096);
}
static void cut_supersede_512(void **state)
{
	cut_everywhere(OP_SUPERSEDE, 512);
}
static void cut_supersede_4096(void **state)
{
	cut_everywhere(OP_SUPERSEDE, 4096);
}
static void cut_delete_512(void **state)
{
	cut_everywhere(OP_DELETE, 512);
}
static void cut_incremental_512(void **state)
{
	cut_everywhere(OP_INCR, 512);
}
static void cut_incremental_4096(void **state)
{
	cut_everywhere(OP_INCR, 4096);
}
static void cut_compact_512(void **state)
{
	cut_everywhere(OP_COMPACT, 512);
}

/* The checks above would see a commit whose data was not durable: here
 * only the superblock of a completed save lands (as if the device had
 * ignored the flushes before it), and the new snapshot is listed but
 * damaged. */
static void checks_catch_data_lost_under_a_superblock(void **state)
{
	struct memdev base = {0}, d = {0}, after = {0};
	base_store(&base, 512);
	clone(&base, &d);
	struct snap_store *s = open_store(&d);
	assert_int_equal(run_op(s, OP_NEW), 0);
	snap_close(s);
	clone(&base, &after);
	memcpy(after.disk, d.disk, 2 * SNAP_BLOCK);
	memcpy(after.view, d.disk, 2 * SNAP_BLOCK);
	s = open_store(&after);
	assert_true(has(s, "new"));
	char why[256];
	assert_false(synth_matches(s, "new", &cfg_new, 2, why, sizeof(why)));
	struct snap_store_stat st;
	snap_stat(s, &st);
	assert_int_equal(st.damaged, 1);
	snap_close(s);
	memdev_free(&d);
	memdev_free(&after);
	memdev_free(&base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cut_new_512),
	    cmocka_unit_test(cut_new_4096),
	    cmocka_unit_test(cut_supersede_512),
	    cmocka_unit_test(cut_supersede_4096),
	    cmocka_unit_test(cut_delete_512),
	    cmocka_unit_test(cut_incremental_512),
	    cmocka_unit_test(cut_incremental_4096),
	    cmocka_unit_test(cut_compact_512),
	    cmocka_unit_test(checks_catch_data_lost_under_a_superblock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

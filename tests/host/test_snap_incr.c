/*
 * snapshot/ incremental saves: chunks shared with a committed snapshot
 * (snap_save_reuse), chains, deleting links, compaction, the PARENT
 * record, and the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "snapshot/internal.h"
#include "tests/host/snap_memdev.h"
#include "tests/host/snap_util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MiB	(1ull << 20)
#define IPA	0x40000000ull
#define RAM	(8 * MiB) /* 8 chunks */
#define NCHUNKS (RAM / SNAP_CHUNK_BYTES)

static const struct synth cfg = {
    .seed = 7, .nvcpus = 2, .ipa = IPA, .ram = RAM, .touched = 60, .random = 30};

static uint8_t *ram_of(void)
{
	uint8_t *r = malloc(RAM);
	assert_non_null(r);
	for (uint64_t o = 0; o < RAM; o += SNAP_PAGE)
		synth_page(&cfg, IPA + o, r + o);
	return r;
}

/* A page of chunk k overwritten with a pattern of gen. */
static void dirty_chunk(uint8_t *ram, unsigned k, unsigned gen)
{
	uint8_t *pg = ram + (uint64_t)k * SNAP_CHUNK_BYTES + (gen % SNAP_CHUNK_PAGES) * SNAP_PAGE;
	for (unsigned i = 0; i < SNAP_PAGE; i++)
		pg[i] = (uint8_t)(gen * 31 + i * 7 + k);
}

static struct snap_chunk *chunks_of(struct snap_store *s, const char *name)
{
	struct snap_image *m;
	unsigned n;
	assert_int_equal(snap_load(s, name, &m), 0);
	const struct snap_chunk *c = snap_image_chunks(m, &n);
	assert_int_equal(n, NCHUNKS);
	struct snap_chunk *copy = malloc(n * sizeof(*c));
	assert_non_null(copy);
	memcpy(copy, c, n * sizeof(*c));
	snap_image_free(m);
	return copy;
}

/* name: ram, with the chunks whose bit is clear in changed taken from
 * parent's index (NULL: a full save). */
static int save(struct snap_store *s, const char *name, const uint8_t *ram, const char *parent,
		uint32_t changed, struct snap_save_stats *st)
{
	struct snap_save_params p = {
	    .name = name, .partition = "test", .creator = "cmocka", .nvcpus = cfg.nvcpus};
	struct snap_save *w;
	struct snap_encoder *enc = snap_encoder_new(1);
	uint8_t *buf = snap_alloc_buf(SNAP_CHUNK_BYTES);
	struct snap_chunk *pc = parent ? chunks_of(s, parent) : NULL;
	uint32_t first, n;
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	int err = synth_state(w, &cfg);
	if (!err && parent) {
		struct snap_parent par = {.generation = 1};
		strcpy(par.name, parent);
		err = snap_save_record(w, SNAP_REC_PARENT, SNAP_PARENT_V1, SNAP_REC_F_OPTIONAL,
				       &par, sizeof(par));
	}
	if (!err)
		err = snap_save_range(w, IPA, RAM, SNAP_RANGE_RAM, &first, &n);
	for (uint32_t k = 0; k < n && !err; k++) {
		struct snap_chunk c;
		if (pc && !(changed & (1u << k))) {
			err = snap_save_reuse(w, first + k, &pc[k]);
			continue;
		}
		err = snap_chunk_encode(enc, ram + (uint64_t)k * SNAP_CHUNK_BYTES, SNAP_CHUNK_PAGES,
					buf, &c);
		if (!err)
			err = snap_save_chunk(w, first + k, &c, buf);
	}
	err = err ? (snap_save_abort(w), err) : snap_save_commit(w, st);
	free(pc);
	snap_free(buf);
	snap_encoder_free(enc);
	return err;
}

static void expect_ram(struct snap_store *s, const char *name, const uint8_t *want)
{
	struct snap_image *m;
	uint8_t *got = malloc(RAM);
	assert_non_null(got);
	assert_int_equal(snap_load(s, name, &m), 0);
	assert_int_equal(snap_load_range(m, 0, got), 0);
	snap_image_free(m);
	assert_memory_equal(got, want, RAM);
	free(got);
	assert_int_equal(snap_verify(s, name, NULL), 0);
}

static bool shares_blocks(struct snap_store *s, const char *a, const char *b)
{
	struct snap_chunk *ca = chunks_of(s, a), *cb = chunks_of(s, b);
	bool shared = false;
	for (unsigned i = 0; i < NCHUNKS; i++)
		for (unsigned j = 0; j < NCHUNKS; j++)
			if (ca[i].payload_len && ca[i].block == cb[j].block)
				shared = true;
	free(ca);
	free(cb);
	return shared;
}

/* A chain of five: each link writes only its changed chunks and restores
 * to exactly its own RAM; deleting links (the first, a middle one) keeps
 * the others whole, and the space they free is reused without touching
 * a block a remaining link shares. */
static void chain_restores_each_link(void **state)
{
	struct memdev d;
	char why[128];
	memdev_init(&d, 64 * MiB, 512);
	assert_int_equal(snap_format(&d.bdev, 0x1ec, why, sizeof(why)), 0);
	struct snap_store *s = open_store(&d);
	uint8_t *ram = ram_of(), *link[6];
	struct snap_save_stats st, full;
	assert_int_equal(save(s, "s0", ram, NULL, 0, &full), 0);
	assert_int_equal(full.reused_chunks, 0);
	link[0] = malloc(RAM);
	memcpy(link[0], ram, RAM);
	const char *names[] = {"s0", "s1", "s2", "s3", "s4", "s5"};
	for (unsigned i = 1; i <= 5; i++) {
		uint32_t changed = 1u << (i % NCHUNKS) | 1u << ((3 * i) % NCHUNKS);
		for (unsigned k = 0; k < NCHUNKS; k++)
			if (changed & (1u << k))
				dirty_chunk(ram, k, i);
		assert_int_equal(save(s, names[i], ram, names[i - 1], changed, &st), 0);
		assert_int_equal(st.reused_chunks, NCHUNKS - (uint64_t)__builtin_popcount(changed));
		/* only the changed chunks were written */
		assert_true(st.disk_bytes < full.disk_bytes / 2);
		link[i] = malloc(RAM);
		memcpy(link[i], ram, RAM);
	}
	for (unsigned i = 0; i <= 5; i++)
		expect_ram(s, names[i], link[i]);
	struct snap_image *m;
	struct snap_rec r;
	assert_int_equal(snap_load(s, "s3", &m), 0);
	assert_int_equal(snap_image_find(m, SNAP_REC_PARENT, 0, &r), 0);
	assert_string_equal(((const struct snap_parent *)r.body)->name, "s2");
	snap_image_free(m);
	/* deleting the base and a middle link: the rest still restore */
	assert_int_equal(snap_delete(s, "s0"), 0);
	assert_int_equal(snap_delete(s, "s2"), 0);
	for (unsigned i = 1; i <= 5; i++)
		if (i != 2)
			expect_ram(s, names[i], link[i]);
	/* new saves fill the freed space and more; the shared blocks survive */
	for (unsigned i = 0; i < 4; i++) {
		char n[8];
		snprintf(n, sizeof(n), "f%u", i);
		memset(ram, 0x40 + i, RAM); /* incompressible enough: a pattern per page */
		for (uint64_t o = 0; o < RAM; o += 64)
			ram[o] = (uint8_t)(o >> 6);
		int e = save(s, n, ram, NULL, 0, NULL);
		assert_true(e == 0 || e == -ENOSPC);
	}
	for (unsigned i = 1; i <= 5; i++)
		if (i != 2)
			expect_ram(s, names[i], link[i]);
	/* reopening reads the same state */
	snap_close(s);
	s = open_store(&d);
	expect_ram(s, "s5", link[5]);
	/* compacting s5: nothing shared with s4 any more, the same RAM, the
	 * parent record gone; then s4 deleted, s5 still whole */
	assert_true(shares_blocks(s, "s5", "s4"));
	assert_int_equal(snap_compact(s, "s5", &st), 0);
	assert_int_equal(st.reused_chunks, 0);
	assert_false(shares_blocks(s, "s5", "s4"));
	assert_int_equal(snap_load(s, "s5", &m), 0);
	assert_int_equal(snap_image_find(m, SNAP_REC_PARENT, 0, &r), -ENOENT);
	snap_image_free(m);
	assert_int_equal(snap_delete(s, "s4"), 0);
	expect_ram(s, "s5", link[5]);
	for (unsigned i = 0; i <= 5; i++)
		free(link[i]);
	free(ram);
	snap_close(s);
	memdev_free(&d);
}

/* A chunk reused for another place, twice, or from blocks that are no
 * committed snapshot's is refused; a bad PARENT record too. */
static void reuse_refusals(void **state)
{
	struct memdev d;
	char why[128];
	memdev_init(&d, 32 * MiB, 4096);
	assert_int_equal(snap_format(&d.bdev, 0x1ec, why, sizeof(why)), 0);
	struct snap_store *s = open_store(&d);
	uint8_t *ram = ram_of();
	assert_int_equal(save(s, "base", ram, NULL, 0, NULL), 0);
	struct snap_chunk *pc = chunks_of(s, "base");
	struct snap_save_params p = {.name = "x", .partition = "t", .nvcpus = cfg.nvcpus};
	struct snap_save *w;
	uint32_t first, n;
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	assert_int_equal(snap_save_range(w, IPA, RAM, SNAP_RANGE_RAM, &first, &n), 0);
	assert_int_equal(snap_save_reuse(w, first + 1, &pc[0]), -EINVAL); /* another place */
	assert_int_equal(snap_save_reuse(w, first + 0, &pc[0]), 0);
	assert_int_equal(snap_save_reuse(w, first + 0, &pc[0]), -EINVAL); /* twice */
	unsigned k = 1;
	while (k < NCHUNKS && !pc[k].payload_len)
		k++;
	assert_true(k < NCHUNKS);
	struct snap_chunk forged = pc[k];
	forged.block = d.bytes / SNAP_BLOCK - 8; /* free space */
	assert_int_equal(snap_save_reuse(w, first + k, &forged), -EINVAL);
	forged.block = 0;
	assert_int_equal(snap_save_reuse(w, first + k, &forged), -EINVAL);
	struct snap_parent par = {.name = "bad name!"};
	assert_int_equal(snap_save_record(w, SNAP_REC_PARENT, SNAP_PARENT_V1, SNAP_REC_F_OPTIONAL,
					  &par, sizeof(par)),
			 -EINVAL);
	snap_save_abort(w);
	free(pc);
	free(ram);
	snap_close(s);
	memdev_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(chain_restores_each_link),
	    cmocka_unit_test(reuse_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

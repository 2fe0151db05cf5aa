/*
 * Damage: a bit flip anywhere in the blocks a snapshot occupies, or in
 * either superblock slot, is detected (verify fails, or the store reports
 * the damaged slot) and harms nothing else; flips in free blocks raise no
 * alarm. Manifests that are well sealed but wrong (edited through the
 * documented layout, checksums recomputed by snap_reseal) are refused.
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

static const struct synth cfg_a = {
    .seed = 21, .nvcpus = 2, .ipa = 0x40000000, .ram = 2 * MiB, .touched = 50, .random = 20};
static const struct synth cfg_b = {
    .seed = 22, .nvcpus = 1, .ipa = 0x40000000, .ram = MiB, .touched = 50, .random = 20};

static void make_store(struct memdev *d)
{
	char why[128];
	memdev_init(d, 8 * MiB, 512);
	assert_int_equal(snap_format(&d->bdev, 99, why, sizeof(why)), 0);
	struct snap_store *s = open_store(d);
	assert_int_equal(save_synth(s, "a", &cfg_a, 2, false, NULL), 0);
	assert_int_equal(save_synth(s, "b", &cfg_b, 1, false, NULL), 0);
	snap_close(s);
}

/* Blocks of name: a bitmap over the device's blocks. */
static void blocks_of(struct snap_store *s, const char *name, uint8_t *map)
{
	struct snap_image *m;
	struct snap_info in;
	assert_int_equal(snap_lookup(s, name, &in), 0);
	assert_int_equal(snap_load(s, name, &m), 0);
	for (uint64_t b = 0; b < (in.manifest_len + SNAP_BLOCK - 1) / SNAP_BLOCK; b++)
		map[in.manifest_block + b] = 1;
	unsigned n;
	const struct snap_chunk *c = snap_image_chunks(m, &n);
	for (unsigned i = 0; i < n; i++)
		for (uint64_t b = 0; b < snap_chunk_blocks(&c[i]); b++)
			map[c[i].block + b] = 1;
	snap_image_free(m);
}

static void flip(struct memdev *d, uint64_t bit)
{
	d->disk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	d->view[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

/* After one flip: whether it shows (a fails to verify, or a slot is
 * damaged), and that b is untouched by flips outside the superblocks. */
static bool flip_detected(struct memdev *d, bool in_super, bool in_b)
{
	struct snap_store *s = open_store(d); /* one flip never hides both slots */
	struct snap_store_stat st;
	snap_stat(s, &st);
	bool slot_bad = st.slot_state[0] == SNAP_SLOT_BAD || st.slot_state[1] == SNAP_SLOT_BAD;
	const char *victim = in_b ? "b" : "a";
	bool bad = snap_verify(s, victim, NULL) != 0;
	if (bad && !in_super) {
		/* the restore path refuses it too */
		struct snap_image *m;
		if (!snap_load(s, victim, &m)) {
			uint8_t *ram = malloc(2 * MiB);
			unsigned nr;
			snap_image_ranges(m, &nr);
			int err = 0;
			for (unsigned r = 0; r < nr && !err; r++)
				err = snap_load_range(m, r, ram);
			assert_int_not_equal(err, 0);
			free(ram);
			snap_image_free(m);
		}
	}
	const char *other = in_b ? "a" : "b";
	if (!in_super && snap_verify(s, other, NULL))
		fail_msg("a flip in \"%s\" damaged \"%s\": %s", victim, other, snap_error(s));
	snap_close(s);
	return bad || slot_bad;
}

static void every_used_block_detects_flips(void **state)
{
	struct memdev d;
	make_store(&d);
	uint64_t nblocks = d.bytes / SNAP_BLOCK;
	uint8_t *a = calloc(nblocks, 1), *b = calloc(nblocks, 1);
	struct snap_store *s = open_store(&d);
	blocks_of(s, "a", a);
	blocks_of(s, "b", b);
	snap_close(s);
	a[0] = a[1] = 1; /* both superblock slots */
	uint64_t rng = 12345, flips = 0, free_flips = 0;
	for (uint64_t blk = 0; blk < nblocks; blk++) {
		bool used = a[blk] || b[blk];
		if (!used && blk % 61)
			continue; /* a sample of the free blocks */
		for (unsigned k = 0; k < (used ? 2u : 1u); k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t bit = blk * SNAP_BLOCK * 8 + (rng >> 33) % (SNAP_BLOCK * 8);
			flip(&d, bit);
			bool seen = flip_detected(&d, blk < 2, b[blk]);
			flip(&d, bit);
			if (used && !seen)
				fail_msg(
				    "flip of bit %llu (block %llu, byte %llu in it) went unnoticed",
				    (unsigned long long)bit, (unsigned long long)blk,
				    (unsigned long long)(bit / 8 % SNAP_BLOCK));
			if (!used && seen)
				fail_msg("flip in free block %llu raised an alarm",
					 (unsigned long long)blk);
			flips += used;
			free_flips += !used;
		}
	}
	assert_true(flips > 100);
	assert_true(free_flips > 10);
	free(a);
	free(b);
	memdev_free(&d);
}

/* ---- sealed but wrong ---- */

struct raw_rec {
	uint8_t *head; /* type u32, version u16, flags u16, len u32, reserved, hash */
	uint8_t *body;
	uint32_t len;
};

static uint8_t *manifest_of(struct memdev *d, const char *name, uint32_t *len)
{
	struct snap_store *s = open_store(d);
	struct snap_info in;
	assert_int_equal(snap_lookup(s, name, &in), 0);
	snap_close(s);
	*len = in.manifest_len;
	return d->disk + in.manifest_block * SNAP_BLOCK;
}

/* The nth record of a type, walking the documented framing. */
static struct raw_rec find_rec(uint8_t *mf, uint32_t len, uint32_t type, unsigned nth)
{
	for (uint32_t off = 32; off + 24 <= len;) {
		uint32_t t, l;
		memcpy(&t, mf + off, 4);
		memcpy(&l, mf + off + 8, 4);
		if (t == type && nth-- == 0)
			return (struct raw_rec){mf + off, mf + off + 24, l};
		off += 24 + ((l + 7) & ~7u);
	}
	fail_msg("record type %u not found", type);
	return (struct raw_rec){0};
}

static void sync_view(struct memdev *d)
{
	snap_reseal(d->disk, d->bytes);
	memcpy(d->view, d->disk, d->bytes);
}

/* Loading a refuses, with text containing expect. */
static void expect_refused(struct memdev *d, const char *expect)
{
	struct snap_store *s = open_store(d);
	struct snap_image *m = NULL;
	int err = snap_load(s, "a", &m);
	if (!err) {
		snap_image_free(m);
		fail_msg("a wrong manifest was accepted (wanted \"%s\")", expect);
	}
	assert_int_equal(err, -EBADMSG);
	if (!strstr(snap_error(s), expect))
		fail_msg("refused with \"%s\", wanted \"%s\"", snap_error(s), expect);
	snap_close(s);
}

static void edit_and_expect(void (*edit)(uint8_t *mf, uint32_t len), const char *expect)
{
	struct memdev d;
	make_store(&d);
	uint32_t len;
	uint8_t *mf = manifest_of(&d, "a", &len);
	edit(mf, len);
	sync_view(&d);
	expect_refused(&d, expect);
	memdev_free(&d);
}

static void vgic_v2(uint8_t *mf, uint32_t len)
{
	uint16_t v = 2;
	memcpy(find_rec(mf, len, SNAP_REC_VGIC, 0).head + 4, &v, 2);
}
static void unknown_required(uint8_t *mf, uint32_t len)
{
	uint32_t t = 0x55;
	memcpy(find_rec(mf, len, SNAP_REC_DEVICE, 0).head, &t, 4);
}
static void vcpu_twice(uint8_t *mf, uint32_t len)
{
	uint32_t zero = 0;
	memcpy(find_rec(mf, len, SNAP_REC_VCPU, 1).body, &zero, 4);
}
static void chunk_moved(uint8_t *mf, uint32_t len)
{
	struct raw_rec r = find_rec(mf, len, SNAP_REC_CHUNK_INDEX, 0);
	mf[r.body - mf + 8 + 80 + 1] ^= 0x10; /* chunk 1's gpa */
}
static void chunks_overlap(uint8_t *mf, uint32_t len)
{
	struct raw_rec r = find_rec(mf, len, SNAP_REC_CHUNK_INDEX, 0);
	uint8_t *c0 = r.body + 8, *c1 = c0 + 80;
	uint32_t p0, p1;
	memcpy(&p0, c0 + 20, 4);
	memcpy(&p1, c1 + 20, 4);
	assert_true(p0 && p1);
	memcpy(c1 + 24, c0 + 24, 8); /* chunk 1 where chunk 0 is */
}
static void range_grows(uint8_t *mf, uint32_t len)
{
	struct raw_rec r = find_rec(mf, len, SNAP_REC_MEMMAP, 0);
	uint64_t bytes = 2 * MiB; /* range 0 doubles: its chunk count no longer fits */
	memcpy(r.body + 8 + 8, &bytes, 8);
}
static void end_count(uint8_t *mf, uint32_t len)
{
	struct raw_rec r = find_rec(mf, len, SNAP_REC_END, 0);
	r.body[0]++;
}
static void other_store(uint8_t *mf, uint32_t len)
{
	mf[24] ^= 1; /* the preamble's store id */
}
static void header_nvcpus(uint8_t *mf, uint32_t len)
{
	struct raw_rec r = find_rec(mf, len, SNAP_REC_HEADER, 0);
	r.body[144] = 3; /* nvcpus: the vGIC record has 2 */
}

static void sealed_but_wrong_refused(void **state)
{
	edit_and_expect(vgic_v2, "version this reader does not know");
	edit_and_expect(unknown_required, "type this reader does not know");
	edit_and_expect(vcpu_twice, "second record for this vCPU");
	edit_and_expect(chunk_moved, "not where range");
	edit_and_expect(chunks_overlap, "overlap");
	edit_and_expect(range_grows, "do not match the index");
	edit_and_expect(end_count, "END does not match");
	edit_and_expect(other_store, "store id");
	edit_and_expect(header_nvcpus, "vCPUs (expected 3)");
}

/* An unknown version marked optional is skipped: the image has no vGIC. */
static void optional_unknown_version_skipped(void **state)
{
	struct memdev d;
	make_store(&d);
	uint32_t len;
	uint8_t *mf = manifest_of(&d, "a", &len);
	struct raw_rec r = find_rec(mf, len, SNAP_REC_VGIC, 0);
	uint16_t v = 2, fl = SNAP_REC_F_OPTIONAL;
	memcpy(r.head + 4, &v, 2);
	memcpy(r.head + 6, &fl, 2);
	sync_view(&d);
	struct snap_store *s = open_store(&d);
	struct snap_image *m;
	assert_int_equal(snap_load(s, "a", &m), 0);
	const struct snap_vgic_irq *spi;
	const struct snap_vgic_cpu *cpu;
	assert_null(snap_image_vgic(m, &spi, &cpu));
	snap_image_free(m);
	snap_close(s);
	memdev_free(&d);
}

/* A superblock entry pointing outside the area makes its slot damaged:
 * the store falls back to the other slot. */
static void bad_entry_damages_the_slot(void **state)
{
	struct memdev d;
	make_store(&d);
	struct snap_store *s = open_store(&d);
	struct snap_store_stat st;
	snap_stat(s, &st);
	unsigned slot = st.slot;
	uint64_t gen = st.generation;
	snap_close(s);
	uint8_t *e = d.disk + slot * SNAP_BLOCK + 64 + 128; /* entry 1 ("b") */
	uint64_t hi = d.bytes / SNAP_BLOCK + 5;
	memcpy(e + 88, &hi, 8);
	sync_view(&d);
	s = open_store(&d);
	snap_stat(s, &st);
	assert_int_equal(st.slot_state[slot], SNAP_SLOT_BAD);
	assert_int_equal(st.generation, gen - 1);
	assert_non_null(strstr(st.slot_why[slot], "outside the area"));
	snap_close(s);
	memdev_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_used_block_detects_flips),
	    cmocka_unit_test(sealed_but_wrong_refused),
	    cmocka_unit_test(optional_unknown_version_skipped),
	    cmocka_unit_test(bad_entry_damages_the_slot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

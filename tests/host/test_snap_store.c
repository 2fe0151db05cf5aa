/*
 * snapshot/: round trips, zero pages, superblock slots, space reuse and
 * protection of the state in use, names and refusals, device errors, the
 * extent allocator.
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

#define MiB (1ull << 20)

static struct synth cfg_of(uint32_t seed, unsigned nvcpus, uint64_t ram, unsigned touched)
{
	return (struct synth){.seed = seed,
			      .nvcpus = nvcpus,
			      .ipa = 0x40000000,
			      .ram = ram,
			      .touched = touched,
			      .random = 10};
}

static void fresh(struct memdev *d, uint64_t bytes, uint32_t ss)
{
	char why[128];
	memdev_init(d, bytes, ss);
	assert_int_equal(snap_format(&d->bdev, 0x5eed, why, sizeof(why)), 0);
}

static void expect_match(struct snap_store *s, const char *name, const struct synth *c,
			 unsigned ranges)
{
	char why[256] = "";
	if (!synth_matches(s, name, c, ranges, why, sizeof(why)))
		fail_msg("%s: %s", name, why);
}

/* Generation field (offset 16) of a raw superblock slot on the durable disk. */
static uint64_t slot_gen(const struct memdev *d, unsigned slot)
{
	uint64_t g;
	memcpy(&g, d->disk + slot * SNAP_BLOCK + 16, 8);
	return g;
}

static void blank_and_garbage_disks(void **state)
{
	struct memdev d;
	struct snap_store *s;
	char why[256];
	memdev_init(&d, 1 * MiB, 512);
	assert_int_equal(snap_open(&d.bdev, &s, why, sizeof(why)), -ENODATA);
	memset(d.view, 0x5a, d.bytes); /* another use's data: still no store */
	assert_int_equal(snap_open(&d.bdev, &s, why, sizeof(why)), -ENODATA);
	assert_int_equal(snap_format(&d.bdev, 1, why, sizeof(why)), 0);
	memcpy(d.view + SNAP_BLOCK, "TSNAPSB0", 8); /* a magic one bit off: damaged, not blank */
	assert_int_equal(snap_open(&d.bdev, &s, why, sizeof(why)), 0);
	struct snap_store_stat st;
	assert_int_equal(snap_stat(s, &st), 0);
	assert_int_equal(st.slot_state[0], SNAP_SLOT_OK);
	assert_int_equal(st.slot_state[1], SNAP_SLOT_BAD);
	snap_close(s);
	d.view[0] ^= 0x80; /* both slots damaged: refused, not taken for blank */
	assert_int_equal(snap_open(&d.bdev, &s, why, sizeof(why)), -EBADMSG);
	memdev_free(&d);
	struct memdev tiny;
	memdev_init(&tiny, 8192, 512);
	assert_int_equal(snap_format(&tiny.bdev, 1, why, sizeof(why)), -EINVAL);
	memdev_free(&tiny);
}

static void round_trip_several(void **state)
{
	struct memdev d, d2 = {0};
	fresh(&d, 64 * MiB, 512);
	struct snap_store *s = open_store(&d);
	struct synth a = cfg_of(1, 1, 3 * MiB + 20 * SNAP_PAGE, 60);
	struct synth b = cfg_of(2, 4, 8 * MiB, 30);
	struct synth c = cfg_of(3, 2, 2 * MiB, 100);
	c.sve_vl = 64;
	assert_int_equal(save_synth(s, "alpha", &a, 1, false, NULL), 0);
	assert_int_equal(save_synth(s, "beta.2", &b, 4, false, NULL), 0);
	assert_int_equal(save_synth(s, "gamma-x_1", &c, 1, false, NULL), 0);
	snap_close(s);
	memdev_reboot(&d, &d2); /* what a later boot reads */
	s = open_store(&d2);
	assert_int_equal(snap_count(s), 3);
	expect_match(s, "alpha", &a, 1);
	expect_match(s, "beta.2", &b, 4);
	expect_match(s, "gamma-x_1", &c, 1);
	struct snap_image *m;
	assert_int_equal(snap_load(s, "gamma-x_1", &m), 0);
	const void *sve_state;
	const struct snap_vcpu_sve *sve = snap_image_vcpu_sve(m, 0, &sve_state);
	assert_non_null(sve);
	assert_int_equal(sve->vl, 64);
	assert_int_equal(((const uint8_t *)sve_state)[100], (uint8_t)(100 * 7 + 3));
	assert_null(snap_image_vcpu_sve(m, 1, &sve_state));
	const struct snap_vgic_irq *spi;
	const struct snap_vgic_cpu *cpu;
	const struct snap_vgic *g = snap_image_vgic(m, &spi, &cpu);
	assert_non_null(g);
	assert_int_equal(g->nspis, 64);
	assert_int_equal(spi[1].flags, SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_PENDING);
	assert_int_equal(cpu[1].ich_ap1r[0], 1);
	const struct snap_timer_cpu *tc;
	assert_int_equal(snap_image_timer(m, &tc)->cntfrq, 62500000);
	assert_int_equal(tc[1].cntv_cval, 0x123460001);
	assert_int_equal(snap_image_ndevices(m), 1);
	const void *p;
	uint32_t len;
	struct snap_pl011 u;
	const uint8_t *rx, *tx;
	assert_int_equal(snap_image_device(m, 0, &p, &len)->base, 0x09000000);
	assert_int_equal(snap_pl011_parse(p, len, &u, &rx, &tx), 0);
	assert_memory_equal(rx, "ls\n", 3);
	assert_memory_equal(tx, "hello", 5);
	snap_image_free(m);
	snap_close(s);
	memdev_free(&d);
	memdev_free(&d2);
}

/* Zero pages take no space: a zero chunk stores nothing, a chunk with
 * some zero pages stores only the others; counted independently here. */
static void zero_pages_take_no_space(void **state)
{
	struct memdev d;
	fresh(&d, 64 * MiB, 4096);
	struct snap_store *s = open_store(&d);
	struct synth z = cfg_of(7, 1, 16 * MiB, 0);
	struct snap_save_stats st;
	assert_int_equal(save_synth(s, "zero", &z, 1, false, &st), 0);
	assert_int_equal(st.payload_bytes, 0);
	assert_int_equal(st.zero_pages, 16 * MiB / SNAP_PAGE);
	assert_int_equal(st.disk_bytes,
			 (st.manifest_bytes + SNAP_BLOCK - 1) / SNAP_BLOCK * SNAP_BLOCK);
	expect_match(s, "zero", &z, 1);

	struct synth r = cfg_of(8, 1, 4 * MiB, 40);
	r.random = 100; /* incompressible: stored raw, so bytes = non-zero pages */
	uint64_t nonzero = 0;
	uint8_t pg[SNAP_PAGE], zero[SNAP_PAGE] = {0};
	for (uint64_t o = 0; o < r.ram; o += SNAP_PAGE) {
		synth_page(&r, r.ipa + o, pg);
		nonzero += memcmp(pg, zero, SNAP_PAGE) != 0;
	}
	assert_true(nonzero > 0 && nonzero < r.ram / SNAP_PAGE);
	assert_int_equal(save_synth(s, "rand", &r, 1, false, &st), 0);
	assert_int_equal(st.zero_pages, r.ram / SNAP_PAGE - nonzero);
	assert_int_equal(st.payload_bytes, nonzero * SNAP_PAGE);
	struct snap_image *m;
	assert_int_equal(snap_load(s, "rand", &m), 0);
	unsigned nc;
	const struct snap_chunk *c = snap_image_chunks(m, &nc);
	for (unsigned i = 0; i < nc; i++)
		assert_int_equal(c[i].codec, SNAP_CODEC_NONE);
	snap_image_free(m);
	expect_match(s, "rand", &r, 1);
	snap_close(s);
	memdev_free(&d);
}

/* Each commit goes to the slot not in use, one generation up. */
static void slots_alternate(void **state)
{
	struct memdev d;
	fresh(&d, 16 * MiB, 512);
	assert_int_equal(slot_gen(&d, 0), 1);
	assert_int_equal(slot_gen(&d, 1), 0); /* cleared by format */
	struct snap_store *s = open_store(&d);
	struct synth a = cfg_of(1, 1, MiB, 50);
	for (unsigned i = 0; i < 6; i++) {
		uint64_t fua = d.fuas, flushes = d.flushes;
		if (i % 3 == 2)
			assert_int_equal(snap_delete(s, "a"), 0);
		else
			assert_int_equal(save_synth(s, "a", &a, 1, true, NULL), 0);
		unsigned slot = (i + 1) % 2; /* gen i + 2 */
		assert_int_equal(slot_gen(&d, slot), i + 2);
		assert_int_equal(slot_gen(&d, slot ^ 1), i + 1);
		assert_int_equal(d.fuas, fua + 1); /* one FUA write: the superblock */
		assert_true(d.flushes >= flushes + 1);
		assert_int_equal(d.npend, 0); /* nothing left unflushed */
	}
	snap_close(s);
	memdev_free(&d);
}

/* Blocks of every snapshot of the state in use, as the image lists them. */
static void protect_all(struct memdev *d, struct snap_store *s)
{
	d->nprot = 0;
	for (unsigned i = 0; i < snap_count(s); i++) {
		struct snap_info in;
		struct snap_image *m;
		snap_entry(s, i, &in);
		assert_int_equal(snap_load(s, in.name, &m), 0);
		memdev_protect(d, in.manifest_block,
			       in.manifest_block + (in.manifest_len + SNAP_BLOCK - 1) / SNAP_BLOCK);
		unsigned nc;
		const struct snap_chunk *c = snap_image_chunks(m, &nc);
		for (unsigned k = 0; k < nc; k++)
			if (c[k].payload_len)
				memdev_protect(d, c[k].block,
					       c[k].block + snap_chunk_blocks(&c[k]));
		snap_image_free(m);
	}
}

/* A store with room for three snapshots: superseding one again and again
 * must reuse the space, and no save may write a block of the state in use
 * (the snapshot it supersedes included). */
static void supersede_and_delete_reuse_space(void **state)
{
	struct memdev d;
	struct synth a = cfg_of(1, 1, 4 * MiB, 100);
	a.random = 100; /* stored raw: 4 MiB each */
	fresh(&d, 13 * MiB, 512);
	struct snap_store *s = open_store(&d);
	assert_int_equal(save_synth(s, "keep", &a, 1, false, NULL), 0);
	for (unsigned i = 0; i < 8; i++) { /* 32 MiB through a 13 MiB store */
		a.seed = 100 + i;
		protect_all(&d, s);
		assert_int_equal(save_synth(s, "a", &a, 1, true, NULL), 0);
		assert_int_equal(d.violations, 0);
		expect_match(s, "a", &a, 1);
	}
	protect_all(&d, s);
	assert_int_equal(save_synth(s, "b", &a, 1, false, NULL), 0);
	/* full: a fourth does not fit, and the failure changes nothing */
	uint64_t gen = slot_gen(&d, 0) > slot_gen(&d, 1) ? slot_gen(&d, 0) : slot_gen(&d, 1);
	protect_all(&d, s);
	assert_int_equal(save_synth(s, "c", &a, 1, false, NULL), -ENOSPC);
	assert_int_equal(slot_gen(&d, 0) > slot_gen(&d, 1) ? slot_gen(&d, 0) : slot_gen(&d, 1),
			 gen);
	assert_int_equal(snap_count(s), 3);
	/* deleting frees the space for it */
	assert_int_equal(snap_delete(s, "a"), 0);
	protect_all(&d, s);
	assert_int_equal(save_synth(s, "c", &a, 1, false, NULL), 0);
	assert_int_equal(d.violations, 0);
	expect_match(s, "b", &a, 1);
	expect_match(s, "c", &a, 1);
	a.seed = 1;
	expect_match(s, "keep", &a, 1);
	struct snap_store_stat st;
	assert_int_equal(snap_stat(s, &st), 0);
	assert_int_equal(st.used_blocks + st.free_blocks, st.area_blocks);
	assert_true(st.used_blocks > 3 * 4 * MiB / SNAP_BLOCK);
	snap_close(s);
	memdev_free(&d);
}

static void names_and_directory_limits(void **state)
{
	struct memdev d;
	fresh(&d, 64 * MiB, 512);
	struct snap_store *s = open_store(&d);
	struct synth a = cfg_of(1, 1, 64 * 1024, 10);
	static const char *const bad[] = {
	    "", "-x", ".x", "a b", "a/b", "é", "0123456789012345678901234567890123456789012345678"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(save_synth(s, bad[i], &a, 1, false, NULL), -EINVAL);
	char name[16];
	for (unsigned i = 0; i < SNAP_MAX_SNAPSHOTS; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_int_equal(save_synth(s, name, &a, 1, false, NULL), 0);
	}
	assert_int_equal(save_synth(s, "s3", &a, 1, false, NULL), -EEXIST);
	assert_int_equal(save_synth(s, "one-more", &a, 1, false, NULL), -ENOSPC);
	assert_int_equal(save_synth(s, "s3", &a, 1, true, NULL), 0); /* replacing fits */
	assert_int_equal(snap_delete(s, "nope"), -ENOENT);
	assert_int_equal(snap_delete(s, "s0"), 0);
	assert_int_equal(save_synth(s, "one-more", &a, 1, false, NULL), 0);
	struct snap_info in;
	assert_int_equal(snap_lookup(s, "s0", &in), -ENOENT);
	assert_int_equal(snap_entry(s, SNAP_MAX_SNAPSHOTS - 1, &in), 0);
	assert_string_equal(in.name, "one-more"); /* commit order */
	snap_close(s);
	memdev_free(&d);
}

/* A save lacking state is refused at commit and leaves nothing behind. */
static void incomplete_state_refused(void **state)
{
	struct memdev d;
	fresh(&d, 16 * MiB, 512);
	struct snap_store *s = open_store(&d);
	struct snap_save_params p = {.name = "x", .nvcpus = 2};
	struct snap_save *w;
	uint8_t ram[2 * SNAP_PAGE] = {1};
	struct synth c = cfg_of(1, 2, sizeof(ram), 50);
	struct snap_vcpu v;
	synth_vcpu(&c, 0, &v);
	/* nothing at all */
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	assert_int_equal(snap_save_commit(w, NULL), -EINVAL);
	/* only vCPU 0 */
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	struct snap_save *w2;
	assert_int_equal(snap_save_begin(s, &p, &w2), -EBUSY);
	static const struct snap_idreg fp[] = {{SNAP_MIDR_EL1, 0, 1}};
	assert_int_equal(snap_save_fingerprint(w, fp, 1), 0);
	assert_int_equal(snap_save_vcpu(w, &v), 0);
	assert_int_equal(snap_save_ram(w, 0x40000000, ram, sizeof(ram)), 0);
	assert_int_equal(snap_save_commit(w, NULL), -EINVAL);
	assert_non_null(strstr(snap_error(s), "vCPU 1"));
	/* a chunk never written */
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	uint32_t first, n;
	assert_int_equal(snap_save_range(w, 0x40000000, 3 * MiB, SNAP_RANGE_RAM, &first, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(snap_save_commit(w, NULL), -EINVAL);
	/* bad records are refused where they are given */
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	v.index = 5;
	assert_int_equal(snap_save_vcpu(w, &v), -EINVAL);
	assert_int_equal(snap_save_record(w, SNAP_REC_END, 1, 0, "", 0), -EINVAL);
	assert_int_equal(snap_save_record(w, 0x777, 1, 0, "abc", 3), -EINVAL);
	assert_int_equal(snap_save_record(w, 0x777, 1, SNAP_REC_F_OPTIONAL, "abc", 3), 0);
	assert_int_equal(snap_save_range(w, 0x40000001, SNAP_PAGE, SNAP_RANGE_RAM, NULL, NULL),
			 -EINVAL);
	snap_save_abort(w);
	assert_int_equal(snap_count(s), 0);
	assert_int_equal(slot_gen(&d, 0), 1);
	assert_int_equal(slot_gen(&d, 1), 0);
	snap_close(s);
	memdev_free(&d);
}

/* Unknown optional records are kept and skipped; so is an SVE-less image. */
static void optional_records_round_trip(void **state)
{
	struct memdev d;
	fresh(&d, 16 * MiB, 512);
	struct snap_store *s = open_store(&d);
	struct synth c = cfg_of(4, 1, MiB, 50);
	struct snap_save_params p = {.name = "opt", .nvcpus = 1};
	struct snap_save *w;
	assert_int_equal(snap_save_begin(s, &p, &w), 0);
	assert_int_equal(synth_state(w, &c), 0);
	assert_int_equal(snap_save_record(w, 0x4242, 3, SNAP_REC_F_OPTIONAL, "future", 6), 0);
	uint8_t *ram = calloc(1, MiB);
	assert_int_equal(snap_save_ram(w, c.ipa, ram, MiB), 0);
	free(ram);
	assert_int_equal(snap_save_commit(w, NULL), 0);
	struct snap_image *m;
	assert_int_equal(snap_load(s, "opt", &m), 0);
	struct snap_rec r;
	assert_int_equal(snap_image_find(m, 0x4242, 0, &r), 0);
	assert_int_equal(r.version, 3);
	assert_memory_equal(r.body, "future", 6);
	snap_image_free(m);
	snap_close(s);
	memdev_free(&d);
}

static void fingerprint_check(void **state)
{
	struct memdev d;
	fresh(&d, 16 * MiB, 512);
	struct snap_store *s = open_store(&d);
	struct synth c = cfg_of(1, 1, 64 * 1024, 50);
	assert_int_equal(save_synth(s, "fp", &c, 1, false, NULL), 0);
	struct snap_image *m;
	assert_int_equal(snap_load(s, "fp", &m), 0);
	uint32_t n;
	const struct snap_idreg *saved = snap_image_fingerprint(m, &n);
	struct snap_idreg now[8];
	memcpy(now, saved, n * sizeof(now[0]));
	char why[160];
	assert_int_equal(snap_fingerprint_check(m, now, n, why, sizeof(why)), 0);
	now[1].value ^= 0x10;
	assert_int_equal(snap_fingerprint_check(m, now, n, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "ID_AA64PFR0_EL1"));
	now[1].value ^= 0x10;
	assert_int_equal(snap_fingerprint_check(m, now, n - 1, why, sizeof(why)), -EPERM);
	now[n] = (struct snap_idreg){SNAP_SYSREG(3, 0, 0, 7, 4), 0, 0};
	assert_int_equal(snap_fingerprint_check(m, now, n + 1, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "S3_0_C0_C7_4"));
	snap_image_free(m);
	snap_close(s);
	memdev_free(&d);
}

/* A failed chunk write fails the save and changes nothing; a failed
 * superblock write leaves the store refusing writes until reopened, and
 * the reopened store is whichever state the disk holds, consistent. */
static void device_errors(void **state)
{
	struct memdev d, d2 = {0};
	fresh(&d, 16 * MiB, 512);
	struct snap_store *s = open_store(&d);
	struct synth c = cfg_of(1, 1, 2 * MiB, 80);
	assert_int_equal(save_synth(s, "base", &c, 1, false, NULL), 0);
	d.fail_write_at = (int)d.writes + 2; /* the second chunk */
	assert_int_equal(save_synth(s, "x", &c, 1, false, NULL), -EIO);
	assert_int_equal(snap_count(s), 1);
	assert_int_equal(save_synth(s, "x", &c, 1, false, NULL), 0); /* next one works */
	d.fail_write_at = (int)d.writes + 4; /* 2 chunks, manifest, then the superblock */
	assert_int_equal(save_synth(s, "y", &c, 1, false, NULL), -EIO);
	assert_int_equal(save_synth(s, "y", &c, 1, false, NULL), -EIO);
	assert_non_null(strstr(snap_error(s), "again"));
	snap_close(s);
	memdev_reboot(&d, &d2);
	s = open_store(&d2);
	assert_int_equal(snap_count(s), 2);
	expect_match(s, "base", &c, 1);
	expect_match(s, "x", &c, 1);
	snap_close(s);
	memdev_free(&d);
	memdev_free(&d2);
}

static void extents(void **state)
{
	struct extents x = {0};
	uint64_t at;
	assert_int_equal(ext_add(&x, 10, 5), 0);
	assert_int_equal(ext_add(&x, 20, 5), 0);
	assert_int_equal(ext_add(&x, 15, 5), 0); /* joins both */
	assert_int_equal(x.n, 1);
	assert_int_equal(ext_add(&x, 12, 1), -EEXIST);
	assert_int_equal(ext_add(&x, 40, 10), 0);
	/* free: [2,10) [25,40) [50,64) */
	assert_int_equal(ext_find(&x, 2, 64, 2, 8, &at), 0);
	assert_int_equal(at, 2);
	assert_int_equal(ext_find(&x, 2, 64, 2, 9, &at), 0);
	assert_int_equal(at, 25);
	assert_int_equal(ext_find(&x, 2, 64, 45, 14, &at), 0);
	assert_int_equal(at, 50);
	assert_int_equal(ext_find(&x, 2, 64, 55, 9, &at), 0); /* the rest of a run */
	assert_int_equal(at, 55);
	assert_int_equal(ext_find(&x, 2, 64, 55, 10, &at), 0); /* wraps around */
	assert_int_equal(at, 25);
	assert_int_equal(ext_find(&x, 2, 64, 30, 15, &at), 0); /* straddles the start point */
	assert_int_equal(at, 25);
	assert_int_equal(ext_find(&x, 2, 64, 2, 16, &at), -ENOSPC);
	assert_int_equal(ext_union(&x, 8, 40), 0); /* overlaps all: one extent */
	assert_int_equal(x.n, 1);
	assert_int_equal(x.e[0].start, 8);
	assert_int_equal(x.e[0].len, 42);
	assert_int_equal(ext_total(&x), 42);
	ext_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(blank_and_garbage_disks),
	    cmocka_unit_test(round_trip_several),
	    cmocka_unit_test(zero_pages_take_no_space),
	    cmocka_unit_test(slots_alternate),
	    cmocka_unit_test(supersede_and_delete_reuse_space),
	    cmocka_unit_test(names_and_directory_limits),
	    cmocka_unit_test(incomplete_state_refused),
	    cmocka_unit_test(optional_records_round_trip),
	    cmocka_unit_test(fingerprint_check),
	    cmocka_unit_test(device_errors),
	    cmocka_unit_test(extents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

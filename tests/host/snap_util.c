/* Saving and checking synthetic snapshots in tests (snap_util.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "tests/host/snap_memdev.h"
#include "tests/host/snap_util.h"
#include <stdlib.h>
#include <string.h>

static uint8_t *range_ram(const struct synth *cfg, uint64_t ipa, uint64_t bytes)
{
	uint8_t *ram = malloc(bytes);
	assert_non_null(ram);
	for (uint64_t o = 0; o < bytes; o += SNAP_PAGE)
		synth_page(cfg, ipa + o, ram + o);
	return ram;
}

int save_synth(struct snap_store *s, const char *name, const struct synth *cfg, unsigned ranges,
	       bool replace, struct snap_save_stats *st)
{
	struct snap_save_params p = {.name = name, .partition = "test", .creator = "cmocka",
				     .nvcpus = cfg->nvcpus, .created = 1, .replace = replace};
	struct snap_save *w;
	int err = snap_save_begin(s, &p, &w);
	if (err)
		return err;
	err = synth_state(w, cfg);
	uint64_t each = cfg->ram / ranges, ipa = cfg->ipa;
	for (unsigned r = 0; r < ranges && !err; r++, ipa += each + SNAP_CHUNK_BYTES) {
		uint8_t *ram = range_ram(cfg, ipa, each);
		err = snap_save_ram(w, ipa, ram, each);
		free(ram);
	}
	if (err) {
		snap_save_abort(w);
		return err;
	}
	return snap_save_commit(w, st);
}

#define DIFF(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, n, __VA_ARGS__);                                                     \
		goto out;                                                                          \
	} while (0)

bool synth_matches(struct snap_store *s, const char *name, const struct synth *cfg,
		   unsigned ranges, char *why, size_t n)
{
	struct snap_image *m = NULL;
	uint8_t *got = NULL, *want = NULL;
	bool ok = false;
	if (snap_verify(s, name, NULL))
		DIFF("verify: %s", snap_error(s));
	if (snap_load(s, name, &m))
		DIFF("load: %s", snap_error(s));
	const struct snap_header *h = snap_image_header(m);
	if (strcmp(h->name, name) || h->nvcpus != cfg->nvcpus || h->ram_bytes != cfg->ram)
		DIFF("header: %s, %u vCPUs, %llu bytes", h->name, h->nvcpus,
		     (unsigned long long)h->ram_bytes);
	for (unsigned v = 0; v < cfg->nvcpus; v++) {
		struct snap_vcpu want_v;
		synth_vcpu(cfg, v, &want_v);
		if (memcmp(snap_image_vcpu(m, v), &want_v, sizeof(want_v)))
			DIFF("vCPU %u differs", v);
	}
	unsigned nr;
	const struct snap_range *r = snap_image_ranges(m, &nr);
	uint64_t each = cfg->ram / ranges, ipa = cfg->ipa;
	if (nr != ranges)
		DIFF("%u ranges", nr);
	for (unsigned i = 0; i < nr; i++, ipa += each + SNAP_CHUNK_BYTES) {
		if (r[i].ipa != ipa || r[i].bytes != each)
			DIFF("range %u at 0x%llx", i, (unsigned long long)r[i].ipa);
		got = malloc(each);
		want = range_ram(cfg, ipa, each);
		if (snap_load_range(m, i, got))
			DIFF("range %u: %s", i, snap_error(s));
		if (memcmp(got, want, each))
			DIFF("range %u: RAM differs", i);
		free(got);
		free(want);
		got = want = NULL;
	}
	ok = true;
out:
	free(got);
	free(want);
	snap_image_free(m);
	return ok;
}

struct snap_store *open_store(struct memdev *d)
{
	struct snap_store *s;
	char why[256];
	int err = snap_open(&d->bdev, &s, why, sizeof(why));
	if (err)
		fail_msg("snap_open: %d %s", err, why);
	return s;
}

/* Saving and checking synthetic snapshots in tests (snap_util.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "tests/host/snap_memdev.h"
#include "tests/host/snap_util.h"
#include <stdlib.h>
#include <string.h>

/* Generating pages is slow under the sanitizers, and the crash tests
 * compare the same ranges thousands of times: the last few are kept. */
static struct cached {
	struct synth cfg;
	uint64_t ipa, bytes;
	uint8_t *ram;
} cache[8];
static unsigned cache_next;

static const uint8_t *range_ram(const struct synth *cfg, uint64_t ipa, uint64_t bytes)
{
	for (unsigned i = 0; i < 8; i++)
		if (cache[i].ram && !memcmp(&cache[i].cfg, cfg, sizeof(*cfg)) &&
		    cache[i].ipa == ipa && cache[i].bytes == bytes)
			return cache[i].ram;
	struct cached *c = &cache[cache_next++ % 8];
	free(c->ram);
	c->ram = malloc(bytes);
	assert_non_null(c->ram);
	for (uint64_t o = 0; o < bytes; o += SNAP_PAGE)
		synth_page(cfg, ipa + o, c->ram + o);
	c->cfg = *cfg;
	c->ipa = ipa;
	c->bytes = bytes;
	return c->ram;
}

int save_synth(struct snap_store *s, const char *name, const struct synth *cfg, unsigned ranges,
	       bool replace, struct snap_save_stats *st)
{
	struct snap_save_params p = {.name = name,
				     .partition = "test",
				     .creator = "cmocka",
				     .nvcpus = cfg->nvcpus,
				     .created = 1,
				     .replace = replace};
	struct snap_save *w;
	int err = snap_save_begin(s, &p, &w);
	if (err)
		return err;
	err = synth_state(w, cfg);
	uint64_t each = cfg->ram / ranges, ipa = cfg->ipa;
	for (unsigned r = 0; r < ranges && !err; r++, ipa += each + SNAP_CHUNK_BYTES) {
		err = snap_save_ram(w, ipa, range_ram(cfg, ipa, each), each);
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

bool synth_matches(struct snap_store *s, const char *name, const struct synth *cfg, unsigned ranges,
		   char *why, size_t n)
{
	struct snap_image *m = NULL;
	uint8_t *got = NULL;
	bool ok = false;
	/* loading every range reads and checks every chunk, as verify does */
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
		if (snap_load_range(m, i, got))
			DIFF("range %u: %s", i, snap_error(s));
		if (memcmp(got, range_ram(cfg, ipa, each), each))
			DIFF("range %u: RAM differs", i);
		free(got);
		got = NULL;
	}
	ok = true;
out:
	free(got);
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

/*
 * libFuzzer target for the snapshot reader (snapshot/): the input is a
 * disk image (all but its last byte, in 512-byte sectors) and a flags byte:
 *   bit 0: recompute every checksum first (tests/host/snap_memdev.c's
 *          snap_reseal), so mutations reach the parsers behind them;
 *   bit 1: the disk is writable: after reading, save a small snapshot,
 *          which must then verify, and delete it.
 * Any input must open or be refused, every snapshot load or be refused,
 * and nothing may crash, leak or read out of bounds.
 * Seeds: `make fuzz-test` writes them with snaptool (build/fuzz/seeds).
 */
#include "tests/host/snap_memdev.h"
#include "tools/snap/snaptool.h"
#include <stdlib.h>
#include <string.h>

#define MAX_VERIFY_CHUNKS 64 /* a bound on the time one input takes */

static uint64_t sink;

static void touch_image(struct snap_image *m)
{
	const struct snap_header *h = snap_image_header(m);
	for (unsigned i = 0; i < snap_image_nrecords(m); i++) {
		struct snap_rec r;
		snap_image_record(m, i, &r);
		if (r.len)
			sink += ((const uint8_t *)r.body)[r.len - 1];
	}
	for (unsigned v = 0; v < h->nvcpus; v++) {
		sink += snap_image_vcpu(m, v)->pc;
		const void *st;
		const struct snap_vcpu_sve *sve = snap_image_vcpu_sve(m, v, &st);
		if (sve)
			sink += ((const uint8_t *)st)[snap_sve_state_size(sve->vl) - 1];
	}
	const struct snap_vgic_irq *spi;
	const struct snap_vgic_cpu *cpu;
	const struct snap_vgic *g = snap_image_vgic(m, &spi, &cpu);
	if (g && g->nspis)
		sink += spi[g->nspis - 1].flags + cpu[g->nvcpus - 1].priv[31].flags;
	const struct snap_timer_cpu *tc;
	const struct snap_timer *t = snap_image_timer(m, &tc);
	if (t && t->nvcpus)
		sink += tc[t->nvcpus - 1].cntkctl;
	for (unsigned i = 0; i < snap_image_ndevices(m); i++) {
		const void *p;
		uint32_t len;
		struct snap_pl011 u;
		const uint8_t *rx, *tx;
		const struct snap_device *d = snap_image_device(m, i, &p, &len);
		if (d->kind == SNAP_DEV_PL011 && !snap_pl011_parse(p, len, &u, &rx, &tx) &&
		    u.rx_count + u.tx_len)
			sink += u.tx_len ? tx[u.tx_len - 1] : rx[u.rx_count - 1];
	}
	uint32_t n;
	const struct snap_idreg *fp = snap_image_fingerprint(m, &n);
	char why[128];
	if (snap_fingerprint_check(m, fp, n, why, sizeof(why)) && n)
		abort(); /* an image always matches its own fingerprint */
}

static void read_all(struct snap_store *s)
{
	struct snap_store_stat st;
	snap_stat(s, &st);
	for (unsigned i = 0; i < snap_count(s); i++) {
		struct snap_info in;
		struct snap_image *m;
		snap_entry(s, i, &in);
		if (snap_load(s, in.name, &m))
			continue;
		touch_image(m);
		unsigned nc;
		snap_image_chunks(m, &nc);
		snap_image_free(m);
		if (nc <= MAX_VERIFY_CHUNKS)
			snap_verify(s, in.name, NULL);
	}
}

/* Whatever store opened must take a save that then verifies. */
static void write_some(struct snap_store *s)
{
	static const struct synth cfg = {.seed = 5,
					 .nvcpus = 1,
					 .ipa = 0x40000000,
					 .ram = 8 * SNAP_PAGE,
					 .touched = 60,
					 .random = 20};
	struct snap_save_params p = {.name = "fz", .nvcpus = 1, .replace = true};
	struct snap_save *w;
	if (snap_save_begin(s, &p, &w))
		return;
	uint8_t ram[8 * SNAP_PAGE];
	for (unsigned i = 0; i < 8; i++)
		synth_page(&cfg, cfg.ipa + i * SNAP_PAGE, ram + i * SNAP_PAGE);
	if (synth_state(w, &cfg) || snap_save_ram(w, cfg.ipa, ram, sizeof(ram))) {
		snap_save_abort(w);
		return;
	}
	if (snap_save_commit(w, NULL))
		return;
	if (snap_verify(s, "fz", NULL) || snap_delete(s, "fz"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[size - 1];
	size_t len = (size - 1) / 512 * 512;
	uint8_t *disk = malloc(len ? len : 1);
	memcpy(disk, data, len);
	if (flags & 1)
		snap_reseal(disk, len);
	struct memdev d;
	memdev_wrap(&d, disk, len, 512, !(flags & 2));
	struct snap_store *s;
	char why[256];
	if (!snap_open(&d.bdev, &s, why, sizeof(why))) {
		read_all(s);
		if (flags & 2)
			write_some(s);
		snap_close(s);
	}
	memdev_free(&d);
	free(disk);
	return 0;
}

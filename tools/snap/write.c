/* `snaptool format`, `delete` and the test-only `test-write`. */
#define _GNU_SOURCE
#include "tools/snap/snaptool.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "64M", "4096", "1G", "0x40000000" */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	unsigned shift = 0;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (errno || end == s || *end || (v << shift) >> shift != v)
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

int cmd_format(int argc, char **argv)
{
	uint64_t size = 0;
	if (argc > 1 && !parse_size(argv[1], &size)) {
		fprintf(stderr, "snaptool format: bad size \"%s\"\n", argv[1]);
		return 1;
	}
	if (size) {
		int fd = open(argv[0], O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)size) || close(fd)) {
			fprintf(stderr, "snaptool: %s: %s\n", argv[0], strerror(errno));
			return 1;
		}
	}
	struct filedev f;
	if (filedev_open(&f, argv[0], true))
		return 1;
	uint64_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)now_s();
	char why[256];
	int err = snap_format(&f.bdev, id, why, sizeof(why));
	if (err)
		fprintf(stderr, "snaptool: %s: %s\n", argv[0], why);
	else
		printf("%s: empty store %016llx of %llu blocks\n", argv[0], (unsigned long long)id,
		       (unsigned long long)(f.bdev.sectors * f.bdev.sector_size / SNAP_BLOCK));
	filedev_close(&f);
	return err ? 1 : 0;
}

int cmd_delete(int argc, char **argv)
{
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], true);
	if (!s)
		return 1;
	int err = snap_delete(s, argv[1]);
	if (err)
		fprintf(stderr, "snaptool: %s\n", snap_error(s));
	snap_close(s);
	filedev_close(&f);
	return err ? 1 : 0;
}

/* ---- test-write ---- */

static const char tw_usage[] =
    "usage: snaptool test-write DISK NAME [OPTIONS]   (for tests)\n"
    "Writes a synthetic snapshot whose every value follows from the seed\n"
    "(tools/snap/synth.c says how).\n"
    "  --vcpus N      vCPUs (1..8, default 2)\n"
    "  --ram SIZE     RAM (default 4M), at --ipa (default 0x40000000)\n"
    "  --ranges N     split the RAM into N ranges 1 MiB apart (default 1)\n"
    "  --seed N       (default 1)\n"
    "  --touched PCT  non-zero pages (default 50)\n"
    "  --random PCT   of those, random bytes (default 10)\n"
    "  --from FILE    non-zero pages copy FILE instead of synthetic text\n"
    "  --sve VL       an SVE record for vCPU 0 (vector length in bytes)\n"
    "  --level N      zstd level (default 1)\n"
    "  --replace      supersede a snapshot of that name\n"
    "  --ram-out FILE write the RAM ranges as saved, as `extract` gives them\n";

struct tw {
	struct synth cfg;
	unsigned ranges;
	int level;
	bool replace;
	const char *ram_out, *from;
};

static int tw_args(struct tw *t, int argc, char **argv)
{
	*t = (struct tw){.cfg = {.seed = 1,
				 .nvcpus = 2,
				 .ipa = 0x40000000,
				 .ram = 4 << 20,
				 .touched = 50,
				 .random = 10},
			 .ranges = 1};
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n = 0;
		bool num = v && parse_size(v, &n);
		if (!strcmp(o, "--replace")) {
			t->replace = true;
			continue;
		}
		if (!v || (strcmp(o, "--from") && strcmp(o, "--ram-out") && !num)) {
			fprintf(stderr, "snaptool test-write: bad or missing value for %s\n", o);
			return -1;
		}
		i++;
		if (!strcmp(o, "--vcpus") && n >= 1 && n <= SYNTH_MAX_VCPUS)
			t->cfg.nvcpus = (unsigned)n;
		else if (!strcmp(o, "--ram") && n && n % SNAP_PAGE == 0)
			t->cfg.ram = n;
		else if (!strcmp(o, "--ipa") && n % SNAP_PAGE == 0)
			t->cfg.ipa = n;
		else if (!strcmp(o, "--ranges") && n >= 1 && n <= 16)
			t->ranges = (unsigned)n;
		else if (!strcmp(o, "--seed"))
			t->cfg.seed = (uint32_t)n;
		else if (!strcmp(o, "--touched") && n <= 100)
			t->cfg.touched = (unsigned)n;
		else if (!strcmp(o, "--random") && n <= 100)
			t->cfg.random = (unsigned)n;
		else if (!strcmp(o, "--sve") && n >= 16 && n <= 256 && n % 16 == 0)
			t->cfg.sve_vl = (uint32_t)n;
		else if (!strcmp(o, "--level") && n <= 19)
			t->level = (int)n;
		else if (!strcmp(o, "--from"))
			t->from = v;
		else if (!strcmp(o, "--ram-out"))
			t->ram_out = v;
		else {
			fprintf(stderr, "snaptool test-write: bad option %s %s\n", o, v);
			return -1;
		}
	}
	if (t->cfg.ram % ((uint64_t)t->ranges * SNAP_PAGE)) {
		fprintf(stderr, "snaptool test-write: RAM does not split into %u ranges\n",
			t->ranges);
		return -1;
	}
	return 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	struct stat st;
	if (f && !fstat(fileno(f), &st) && st.st_size > 0 && (b = malloc((size_t)st.st_size)) &&
	    fread(b, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		*len = (size_t)st.st_size;
	} else {
		fprintf(stderr, "snaptool: %s: cannot read it\n", path);
		free(b);
		b = NULL;
	}
	if (f)
		fclose(f);
	return b;
}

struct tw_times {
	double fill, encode, write, commit;
};

/* One range: filled, encoded and written chunk by chunk (the hypervisor's
 * parallel path, on one thread). */
static int tw_range(struct snap_save *w, struct snap_encoder *e, const struct tw *t, uint64_t ipa,
		    uint64_t bytes, int ram_fd, uint64_t ram_off, struct tw_times *tm)
{
	uint32_t first, n;
	int err = snap_save_range(w, ipa, bytes, SNAP_RANGE_RAM, &first, &n);
	uint8_t *raw = aligned_alloc(SNAP_BLOCK, SNAP_CHUNK_BYTES);
	uint8_t *out = aligned_alloc(SNAP_BLOCK, SNAP_CHUNK_BYTES);
	if (!raw || !out)
		err = -ENOMEM;
	for (uint32_t k = 0; k < n && !err; k++) {
		uint64_t base = ipa + (uint64_t)k * SNAP_CHUNK_BYTES;
		uint64_t left = bytes - (uint64_t)k * SNAP_CHUNK_BYTES;
		uint32_t pages =
		    (uint32_t)((left < SNAP_CHUNK_BYTES ? left : SNAP_CHUNK_BYTES) / SNAP_PAGE);
		double t0 = now_s();
		for (uint32_t p = 0; p < pages; p++)
			synth_page(&t->cfg, base + (uint64_t)p * SNAP_PAGE, raw + p * SNAP_PAGE);
		double t1 = now_s();
		struct snap_chunk c;
		err = snap_chunk_encode(e, raw, pages, out, &c);
		double t2 = now_s();
		if (!err)
			err = snap_save_chunk(w, first + k, &c, out);
		tm->fill += t1 - t0;
		tm->encode += t2 - t1;
		tm->write += now_s() - t2;
		if (!err && ram_fd >= 0 &&
		    write_chunk_pages(ram_fd, ram_off + (uint64_t)k * SNAP_CHUNK_BYTES, &c, raw))
			err = -EIO;
	}
	free(raw);
	free(out);
	return err;
}

static int tw_ram(struct snap_save *w, const struct tw *t, int ram_fd, struct tw_times *tm)
{
	struct snap_encoder *e = snap_encoder_new(t->level);
	if (!e)
		return -ENOMEM;
	int err = snap_save_range(w, 0x09000000, 0x1000, SNAP_RANGE_MMIO, NULL, NULL);
	uint64_t each = t->cfg.ram / t->ranges, ipa = t->cfg.ipa;
	for (unsigned r = 0; r < t->ranges && !err; r++) {
		err = tw_range(w, e, t, ipa, each, ram_fd, r * each, tm);
		ipa += each + SNAP_CHUNK_BYTES;
	}
	if (!err && ram_fd >= 0 && ftruncate(ram_fd, (off_t)t->cfg.ram))
		err = -errno;
	snap_encoder_free(e);
	return err;
}

static void tw_report(const char *name, const struct snap_save_stats *st, const struct tw_times *tm)
{
	double mib = (double)st->ram_bytes / (1 << 20);
	uint64_t nz = (st->pages - st->zero_pages) * SNAP_PAGE;
	printf("wrote %s: generation %llu, RAM %.1f MiB, %llu pages (%llu zero), non-zero ", name,
	       (unsigned long long)st->generation, mib, (unsigned long long)st->pages,
	       (unsigned long long)st->zero_pages);
	print_size(stdout, nz);
	printf(" stored as ");
	print_size(stdout, st->payload_bytes);
	printf(" (%.2f:1); on disk ",
	       st->payload_bytes ? (double)nz / (double)st->payload_bytes : 0);
	print_size(stdout, st->disk_bytes);
	printf(" (manifest %llu B)\n", (unsigned long long)st->manifest_bytes);
	printf("  time: fill %.3f s, encode %.3f s (%.0f MiB/s of RAM, %.0f MiB/s of non-zero), "
	       "write %.3f s, commit %.3f s\n",
	       tm->fill, tm->encode, mib / (tm->encode > 0 ? tm->encode : 1e-9),
	       (double)nz / (1 << 20) / (tm->encode > 0 ? tm->encode : 1e-9), tm->write,
	       tm->commit);
}

int cmd_test_write(int argc, char **argv)
{
	struct tw t;
	if (argc >= 1 && !strcmp(argv[0], "--help")) {
		fputs(tw_usage, stdout);
		return 0;
	}
	if (tw_args(&t, argc, argv)) {
		fputs(tw_usage, stderr);
		return 1;
	}
	uint8_t *from = NULL;
	if (t.from && !(from = slurp(t.from, &t.cfg.from_len)))
		return 1;
	t.cfg.from = from;
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], true);
	if (!s) {
		free(from);
		return 1;
	}
	int ram_fd = t.ram_out ? open(t.ram_out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
	struct snap_save_params p = {.name = argv[1],
				     .partition = "synthetic",
				     .creator = "snaptool test-write",
				     .nvcpus = t.cfg.nvcpus,
				     .created = (uint64_t)time(NULL) * 1000000000u,
				     .replace = t.replace,
				     .level = t.level};
	struct snap_save *w = NULL;
	struct tw_times tm = {0};
	struct snap_save_stats st;
	int err = t.ram_out && ram_fd < 0 ? -errno : 0;
	if (!err)
		err = snap_save_begin(s, &p, &w);
	if (!err)
		err = synth_state(w, &t.cfg) ?: tw_ram(w, &t, ram_fd, &tm);
	if (!err) {
		double t0 = now_s();
		err = snap_save_commit(w, &st);
		w = NULL;
		tm.commit = now_s() - t0;
	}
	snap_save_abort(w);
	if (err)
		fprintf(stderr, "snaptool: test-write %s: %s\n", argv[1],
			err == -ENOMEM ? "out of memory" : snap_error(s));
	else
		tw_report(argv[1], &st, &tm);
	if (ram_fd >= 0)
		close(ram_fd);
	snap_close(s);
	filedev_close(&f);
	free(from);
	return err ? 1 : 0;
}

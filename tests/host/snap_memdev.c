/* Test block devices for snapshot/ (snap_memdev.h). */
#include "tests/host/snap_memdev.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static uint64_t next_rand(struct memdev *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static void check_protected(struct memdev *d, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < d->nprot; i++)
		if (off < d->prot_hi[i] * SNAP_BLOCK && off + len > d->prot_lo[i] * SNAP_BLOCK)
			d->violations++;
}

static int m_read(void *ctx, uint64_t sector, uint64_t count, void *buf)
{
	struct memdev *d = ctx;
	uint64_t off = sector * d->bdev.sector_size, len = count * d->bdev.sector_size;
	if (d->cut || off > d->bytes || len > d->bytes - off)
		return -EIO;
	memcpy(buf, d->view + off, len);
	return 0;
}

static void apply(struct memdev *d, const struct pending *p)
{
	memcpy(d->disk + p->off, p->data, p->len);
}

static void flush_cache(struct memdev *d)
{
	for (size_t i = 0; i < d->npend; i++) {
		apply(d, &d->pend[i]);
		free(d->pend[i].data);
	}
	d->npend = 0;
}

/* The power cut at the write off/len: the cache survives per the mode,
 * then a prefix of the cut write's sectors may land too. */
static void power_cut(struct memdev *d, uint64_t off, uint64_t len, const void *buf)
{
	for (size_t i = 0; i < d->npend; i++) {
		bool keep =
		    d->mode == CUT_KEEP_CACHE || (d->mode == CUT_RANDOM && next_rand(d) & 1);
		if (keep)
			apply(d, &d->pend[i]);
		free(d->pend[i].data);
	}
	d->npend = 0;
	if (d->mode == CUT_RANDOM) {
		uint64_t sectors = len / d->bdev.sector_size;
		uint64_t torn = next_rand(d) % (sectors + 1);
		memcpy(d->disk + off, buf, torn * d->bdev.sector_size);
	}
	d->cut = true;
}

static int do_write(struct memdev *d, uint64_t sector, uint64_t count, const void *buf, bool fua)
{
	uint64_t off = sector * d->bdev.sector_size, len = count * d->bdev.sector_size;
	if (d->cut || d->read_only || off > d->bytes || len > d->bytes - off)
		return -EIO;
	d->writes++;
	check_protected(d, off, len);
	if (d->fail_write_at && d->writes == (uint64_t)d->fail_write_at)
		return -EIO;
	if (d->cut_at && d->writes == d->cut_at) {
		power_cut(d, off, len, buf);
		return -EIO;
	}
	memcpy(d->view + off, buf, len);
	d->bytes_written += len;
	if (fua) {
		d->fuas++;
		memcpy(d->disk + off, buf, len);
		return 0;
	}
	struct pending *p = realloc(d->pend, (d->npend + 1) * sizeof(*p));
	if (!p)
		abort();
	d->pend = p;
	p[d->npend].off = off;
	p[d->npend].len = len;
	p[d->npend].data = malloc(len);
	memcpy(p[d->npend].data, buf, len);
	d->npend++;
	return 0;
}

static int m_write(void *ctx, uint64_t sector, uint64_t count, const void *buf)
{
	return do_write(ctx, sector, count, buf, false);
}

static int m_write_fua(void *ctx, uint64_t sector, uint64_t count, const void *buf)
{
	return do_write(ctx, sector, count, buf, true);
}

static int m_flush(void *ctx)
{
	struct memdev *d = ctx;
	if (d->cut)
		return -EIO;
	d->flushes++;
	flush_cache(d);
	return 0;
}

static void setup(struct memdev *d, uint64_t bytes, uint32_t ss)
{
	d->bytes = bytes;
	d->rng = 0x2545f4914f6cdd1dull;
	d->bdev = (struct snap_bdev){ss, bytes / ss, m_read, m_write, m_write_fua, m_flush, d};
}

void memdev_init(struct memdev *d, uint64_t bytes, uint32_t sector_size)
{
	memset(d, 0, sizeof(*d));
	setup(d, bytes, sector_size);
	d->disk = calloc(1, bytes);
	d->view = calloc(1, bytes);
	d->owned = true;
	if (!d->disk || !d->view)
		abort();
}

void memdev_wrap(struct memdev *d, uint8_t *bytes, uint64_t len, uint32_t sector_size, bool ro)
{
	memset(d, 0, sizeof(*d));
	setup(d, len, sector_size);
	d->disk = d->view = bytes;
	d->read_only = ro;
}

void memdev_free(struct memdev *d)
{
	for (size_t i = 0; i < d->npend; i++)
		free(d->pend[i].data);
	free(d->pend);
	if (d->owned) {
		free(d->view);
		free(d->disk);
	}
	memset(d, 0, sizeof(*d));
}

void memdev_load(struct memdev *d, const uint8_t *image, uint64_t bytes, uint32_t sector_size)
{
	if (!d->owned || d->bytes != bytes) {
		memdev_free(d);
		memdev_init(d, bytes, sector_size);
	}
	for (size_t i = 0; i < d->npend; i++)
		free(d->pend[i].data);
	free(d->pend);
	uint8_t *disk = d->disk, *view = d->view;
	memset(d, 0, sizeof(*d));
	setup(d, bytes, sector_size);
	d->disk = disk;
	d->view = view;
	d->owned = true;
	memcpy(d->disk, image, bytes);
	memcpy(d->view, image, bytes);
}

void memdev_reboot(struct memdev *d, struct memdev *after)
{
	memdev_load(after, d->disk, d->bytes, d->bdev.sector_size);
	if (!d->cut) /* a clean stop: the cache is written back */
		for (size_t i = 0; i < d->npend; i++)
			memcpy(after->disk + d->pend[i].off, d->pend[i].data, d->pend[i].len);
	if (!d->cut)
		memcpy(after->view, after->disk, d->bytes);
}

void memdev_protect(struct memdev *d, uint64_t lo, uint64_t hi)
{
	if (d->nprot < 64) {
		d->prot_lo[d->nprot] = lo;
		d->prot_hi[d->nprot++] = hi;
	}
}

/* ---- re-sealing, from docs/snapshot-format.md ---- */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Records from byte 32; each: type u32, version u16, flags u16, len u32,
 * reserved u32, XXH64(body) u64 at +16, body, padding to 8. END's body:
 * count u32, reserved u32, XXH64 of everything before END. */
static void reseal_manifest(uint8_t *mf, uint64_t len)
{
	uint64_t off = 32;
	while (off + 24 <= len) {
		uint32_t type = rd32(mf + off), blen = rd32(mf + off + 8);
		if (blen > len - off - 24)
			return;
		if (type == 0xffff && blen >= 16)
			wr64(mf + off + 24 + 8, XXH64(mf, off, 0));
		wr64(mf + off + 16, XXH64(mf + off + 24, blen, 0));
		off += 24 + ((blen + 7ull) & ~7ull);
		if (type == 0xffff)
			return;
	}
}

/* Superblock: magic at 0, nentries u32 at 40, entries of 128 bytes from
 * 64 (manifest block u64 at +48, length u32 at +56, XXH64 at +64),
 * XXH64 of bytes 0..4087 at 4088. */
void snap_reseal(uint8_t *disk, uint64_t len)
{
	for (unsigned slot = 0; slot < 2 && (slot + 1) * 4096ull <= len; slot++) {
		uint8_t *sb = disk + slot * 4096;
		if (memcmp(sb, "TSNAPSB1", 8))
			continue;
		uint32_t n = rd32(sb + 40);
		for (uint32_t i = 0; i < n && i < 31; i++) {
			uint8_t *e = sb + 64 + 128 * i;
			uint64_t blk = rd64(e + 48), mlen = rd32(e + 56);
			if (blk >= len / 4096 || mlen > len - blk * 4096)
				continue;
			reseal_manifest(disk + blk * 4096, mlen);
			wr64(e + 64, XXH64(disk + blk * 4096, mlen, 0));
		}
		wr64(sb + 4088, XXH64(sb, 4088, 0));
	}
}

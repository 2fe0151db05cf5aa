/*
 * Test block devices for snapshot/: memory with a volatile write cache
 * (a write is durable only after a flush, or at once with FUA) and a
 * power cut after a given number of writes, which keeps a chosen part of
 * the cached writes and may tear the write it cuts. Blocks can be
 * declared untouchable: a write to them is counted as a violation.
 * Also the layout re-sealer (snap_reseal), an implementation of
 * docs/snapshot-format.md's checksums independent of snapshot/.
 */
#ifndef TESTS_HOST_SNAP_MEMDEV_H
#define TESTS_HOST_SNAP_MEMDEV_H

#include "snapshot/snapshot.h"

enum cut_mode {
	CUT_LOSE_CACHE, /* nothing unflushed survives */
	CUT_KEEP_CACHE, /* every unflushed write survives */
	CUT_RANDOM,	/* each unflushed write survives or not; the cut one is torn */
};

struct memdev {
	struct snap_bdev bdev;
	uint64_t bytes;
	uint8_t *disk; /* durable */
	uint8_t *view; /* what reads return: disk plus the cache */
	struct pending {
		uint64_t off, len;
		uint8_t *data;
	} * pend;
	size_t npend;
	uint64_t writes, flushes, fuas, bytes_written;
	uint64_t cut_at; /* the write number (from 1) the power cut hits; 0: never */
	enum cut_mode mode;
	bool cut;
	uint64_t rng;
	int fail_write_at; /* that write returns -EIO (device error, no cut); 0: never */
	bool read_only;
	bool owned; /* disk and view are ours to free */
	/* untouchable blocks [lo, hi) */
	uint64_t prot_lo[64], prot_hi[64];
	unsigned nprot;
	unsigned violations;
};

void memdev_init(struct memdev *d, uint64_t bytes, uint32_t sector_size);
/* A device over existing bytes (not copied; writes refused when ro). */
void memdev_wrap(struct memdev *d, uint8_t *bytes, uint64_t len, uint32_t sector_size, bool ro);
void memdev_free(struct memdev *d);
/* d as a fresh device holding a copy of image; d is zeroed or a device
 * made here (its buffers are reused when the size matches). */
void memdev_load(struct memdev *d, const uint8_t *image, uint64_t bytes, uint32_t sector_size);
/* What survives the power cut (or a clean stop), as a fresh device in
 * after (zeroed or a device made here). */
void memdev_reboot(struct memdev *d, struct memdev *after);
void memdev_protect(struct memdev *d, uint64_t lo_block, uint64_t hi_block);

/* Recomputes every checksum of the store in disk (len bytes) from the
 * documented layout: each record's, END's, each manifest's in its entry,
 * each superblock's. Ignores what does not fit. */
void snap_reseal(uint8_t *disk, uint64_t len);

#endif

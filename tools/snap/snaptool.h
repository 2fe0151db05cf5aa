/*
 * tools/snap: snaptool, the host's view of a snapshot store (a disk image
 * file, e.g. the one QEMU gives tessera as its NVMe disk), built with the
 * same snapshot/ code as the hypervisor and the host's libzstd.
 */
#ifndef TOOLS_SNAP_SNAPTOOL_H
#define TOOLS_SNAP_SNAPTOOL_H

#include "snapshot/snapshot.h"
#include <stdio.h>

/* A file as a block device (filedev.c). */
struct filedev {
	int fd;
	struct snap_bdev bdev;
	uint64_t reads, writes, flushes;
};
int filedev_open(struct filedev *f, const char *path, bool writable);
void filedev_close(struct filedev *f);
/* Opens the store on path; prints why not and returns NULL. */
struct snap_store *store_open(struct filedev *f, const char *path, bool writable);
double now_s(void);
void print_size(FILE *o, uint64_t bytes); /* "12.3 MiB" */

/* Commands: argc/argv after the command name; the exit status. */
int cmd_list(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_core(int argc, char **argv);
int cmd_format(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_test_write(int argc, char **argv);

/* Reads chunk i of m and expands it into raw (SNAP_CHUNK_BYTES); prints
 * why and returns -EBADMSG on any failure. */
struct chunk_reader {
	struct snap_image *m;
	struct snap_decoder *d;
	void *buf, *raw;
};
int reader_init(struct chunk_reader *r, struct snap_image *m);
int reader_get(struct chunk_reader *r, struct snap_store *s, unsigned i);
void reader_fini(struct chunk_reader *r);
/* Writes the non-zero pages of a decoded chunk at file offset off. */
int write_chunk_pages(int fd, uint64_t off, const struct snap_chunk *c, const void *raw);

/* Synthetic partition state (synth.c), for test-write and the host tests. */
#define SYNTH_MAX_VCPUS 8

struct synth {
	uint32_t seed;
	unsigned nvcpus;     /* 1..SYNTH_MAX_VCPUS */
	uint64_t ipa, ram;   /* the first RAM range and the RAM in total */
	unsigned touched;    /* % of pages non-zero */
	unsigned random;     /* % of those that are random (incompressible) */
	uint32_t sve_vl;     /* vCPU 0 gets an SVE record when non-zero */
	const uint8_t *from; /* non-zero pages copy this file instead, when set */
	size_t from_len;
};

/* The fingerprint, every vCPU, SVE, vGIC, timers and a PL011. */
int synth_state(struct snap_save *w, const struct synth *cfg);
void synth_vcpu(const struct synth *cfg, unsigned v, struct snap_vcpu *out);
/* The page at ipa (SNAP_PAGE bytes). */
void synth_page(const struct synth *cfg, uint64_t ipa, uint8_t *pg);

/* An ELF core of the snapshot's vCPUs and RAM (core.c). */
int write_core(struct snap_store *s, struct snap_image *m, const char *out);

#endif

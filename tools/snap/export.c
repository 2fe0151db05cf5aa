/* `snaptool verify`, `extract` and `core`: reading a snapshot's contents. */
#define _GNU_SOURCE
#include "tools/snap/snaptool.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int reader_init(struct chunk_reader *r, struct snap_image *m)
{
	r->m = m;
	r->d = snap_decoder_new();
	r->buf = aligned_alloc(SNAP_BLOCK, SNAP_CHUNK_BYTES);
	r->raw = aligned_alloc(SNAP_BLOCK, SNAP_CHUNK_BYTES);
	if (r->d && r->buf && r->raw)
		return 0;
	fprintf(stderr, "snaptool: out of memory\n");
	reader_fini(r);
	return -ENOMEM;
}

int reader_get(struct chunk_reader *r, struct snap_store *s, unsigned i)
{
	unsigned n;
	const struct snap_chunk *c = &snap_image_chunks(r->m, &n)[i];
	if (snap_chunk_read(r->m, i, r->buf)) {
		fprintf(stderr, "snaptool: %s\n", snap_error(s));
		return -EBADMSG;
	}
	if (snap_chunk_decode(r->d, c, r->buf, r->raw)) {
		fprintf(stderr, "snaptool: chunk %u (IPA 0x%llx): %s\n", i,
			(unsigned long long)c->gpa, snap_decoder_error(r->d));
		return -EBADMSG;
	}
	return 0;
}

void reader_fini(struct chunk_reader *r)
{
	snap_decoder_free(r->d);
	free(r->buf);
	free(r->raw);
	r->d = NULL;
	r->buf = r->raw = NULL;
}

int write_chunk_pages(int fd, uint64_t off, const struct snap_chunk *c, const void *raw)
{
	for (unsigned p = 0; p < c->pages; p++) {
		if (c->zero_map[p / 8] >> (p % 8) & 1)
			continue; /* a hole */
		const char *src = (const char *)raw + (size_t)p * SNAP_PAGE;
		if (pwrite(fd, src, SNAP_PAGE, (off_t)(off + (uint64_t)p * SNAP_PAGE)) != SNAP_PAGE)
			return -errno;
	}
	return 0;
}

int cmd_verify(int argc, char **argv)
{
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], false);
	if (!s)
		return 1;
	struct snap_store_stat st;
	snap_stat(s, &st);
	int rc = 0;
	for (unsigned i = 0; i < 2; i++)
		if (st.slot_state[i] == SNAP_SLOT_BAD) {
			printf(
			    "superblock slot %u is damaged (%s); the store is read from slot %u, "
			    "generation %llu\n",
			    i, st.slot_why[i], st.slot, (unsigned long long)st.generation);
			rc = 2;
		}
	struct snap_verify_stats vs;
	double t0 = now_s();
	int err = snap_verify(s, argv[1], &vs);
	double dt = now_s() - t0;
	if (err) {
		printf("verify %s: FAILED: %s\n", argv[1], snap_error(s));
		rc = 1;
	} else {
		printf("verify %s: good: %llu chunks, %llu pages (%llu zero), ", argv[1],
		       (unsigned long long)vs.chunks, (unsigned long long)vs.pages,
		       (unsigned long long)vs.zero_pages);
		print_size(stdout, vs.payload_bytes);
		printf(" stored, read and checked in %.3f s\n", dt);
	}
	snap_close(s);
	filedev_close(&f);
	return rc;
}

/* RAM ranges one after the other into out, zero pages as holes. */
int cmd_extract(int argc, char **argv)
{
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], false);
	if (!s)
		return 1;
	struct snap_image *m = NULL;
	struct chunk_reader rd = {0};
	int rc = 1, fd = -1;
	if (snap_load(s, argv[1], &m)) {
		fprintf(stderr, "snaptool: %s\n", snap_error(s));
		goto out;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "snaptool: %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	if (reader_init(&rd, m))
		goto out;
	unsigned nr;
	const struct snap_range *r = snap_image_ranges(m, &nr);
	uint64_t off = 0;
	for (unsigned i = 0; i < nr; i++) {
		if (r[i].flags != SNAP_RANGE_RAM)
			continue;
		printf("0x%010llx-0x%010llx at offset 0x%llx of %s\n", (unsigned long long)r[i].ipa,
		       (unsigned long long)(r[i].ipa + r[i].bytes - 1), (unsigned long long)off,
		       argv[2]);
		unsigned nc;
		const struct snap_chunk *c = snap_image_chunks(m, &nc);
		for (uint32_t k = 0; k < r[i].nchunks; k++) {
			unsigned ci = r[i].first_chunk + k;
			if (reader_get(&rd, s, ci))
				goto out;
			if (write_chunk_pages(fd, off + (uint64_t)k * SNAP_CHUNK_BYTES, &c[ci],
					      rd.raw)) {
				fprintf(stderr, "snaptool: %s: %s\n", argv[2], strerror(errno));
				goto out;
			}
		}
		off += r[i].bytes;
	}
	if (ftruncate(fd, (off_t)off)) {
		fprintf(stderr, "snaptool: %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd) && !rc) {
		fprintf(stderr, "snaptool: %s: %s\n", argv[2], strerror(errno));
		rc = 1;
	}
	reader_fini(&rd);
	snap_image_free(m);
	snap_close(s);
	filedev_close(&f);
	return rc;
}

int cmd_core(int argc, char **argv)
{
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], false);
	if (!s)
		return 1;
	struct snap_image *m;
	int rc = 1;
	if (snap_load(s, argv[1], &m)) {
		fprintf(stderr, "snaptool: %s\n", snap_error(s));
	} else {
		rc = write_core(s, m, argv[2]) ? 1 : 0;
		snap_image_free(m);
	}
	snap_close(s);
	filedev_close(&f);
	return rc;
}

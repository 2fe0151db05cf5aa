/*
 * snap_compact: a snapshot whose index shares chunks with others (an
 * incremental's, snap_save_reuse) written again with every chunk in its
 * own blocks, superseding itself in one commit, so that it no longer
 * keeps any other snapshot's blocks in use. The chunks are copied as
 * stored (no recompression); each is checked (its hash) on the way.
 */
#include "snapshot/internal.h"
#include <errno.h>
#include <string.h>

static bool library_record(uint32_t type)
{
	return type == SNAP_REC_HEADER || type == SNAP_REC_MEMMAP || type == SNAP_REC_CHUNK_INDEX ||
	       type == SNAP_REC_END || type == SNAP_REC_PARENT;
}

static int copy_records(struct snap_save *w, const struct snap_image *m)
{
	struct snap_rec r;
	int err = 0;
	for (unsigned i = 0; !err && snap_image_record(m, i, &r) == 0; i++)
		if (!library_record(r.type))
			err = snap_save_record(w, r.type, r.version, r.flags, r.body, r.len);
	return err;
}

static int copy_ranges(struct snap_save *w, const struct snap_image *m)
{
	unsigned n;
	const struct snap_range *rg = snap_image_ranges(m, &n);
	int err = 0;
	for (unsigned i = 0; i < n && !err; i++) {
		uint32_t first, cnt;
		err = snap_save_range(w, rg[i].ipa, rg[i].bytes, rg[i].flags, &first, &cnt);
		if (!err && (first != rg[i].first_chunk || cnt != rg[i].nchunks))
			err = snap_fail(w->s->err, -EBADMSG, "range %u: its chunks do not line up",
					i);
	}
	return err;
}

static int copy_chunks(struct snap_save *w, struct snap_image *m, uint8_t *buf)
{
	unsigned n;
	const struct snap_chunk *c = snap_image_chunks(m, &n);
	int err = 0;
	for (unsigned i = 0; i < n && !err; i++) {
		err = snap_chunk_read(m, i, buf);
		if (!err && c[i].payload_len &&
		    snap_hash(buf, c[i].payload_len) != c[i].payload_hash)
			err = snap_fail(w->s->err, -EBADMSG, "chunk %u: payload checksum mismatch",
					i);
		if (!err)
			err = snap_save_chunk(w, i, &c[i], buf);
	}
	return err;
}

int snap_compact(struct snap_store *s, const char *name, struct snap_save_stats *st)
{
	struct snap_image *m;
	int err = snap_load(s, name, &m);
	if (err)
		return err;
	const struct snap_header *h = snap_image_header(m);
	struct snap_save_params p = {.name = name,
				     .partition = h->partition,
				     .creator = h->creator,
				     .nvcpus = h->nvcpus,
				     .created = h->created,
				     .replace = true};
	struct snap_save *w;
	uint8_t *buf = snap_alloc_buf(SNAP_CHUNK_BYTES);
	err = buf ? snap_save_begin(s, &p, &w) : snap_fail(s->err, -ENOMEM, "out of memory");
	if (!err) {
		err = copy_records(w, m);
		if (!err)
			err = copy_ranges(w, m);
		if (!err)
			err = copy_chunks(w, m, buf);
		if (err)
			snap_save_abort(w);
		else
			err = snap_save_commit(w, st);
	}
	snap_free(buf);
	snap_image_free(m);
	return err;
}

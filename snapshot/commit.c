/* Commit: the manifest built, checked as the reader will, written and
 * flushed, then the superblock (sb_commit). */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t manifest_size(const struct snap_save *w)
{
	return sizeof(struct mf_pre) + rec_framed_len(sizeof(struct snap_header)) + w->recs_len +
	       rec_framed_len(sizeof(struct snap_memmap) + w->nrange * sizeof(struct snap_range)) +
	       rec_framed_len(sizeof(struct snap_chunk_index) +
			      w->nchunk * sizeof(struct snap_chunk)) +
	       rec_framed_len(sizeof(struct snap_end));
}

/* Frames a head plus an array into buf at *off. */
static void put_parts(uint8_t *buf, size_t *off, uint32_t type, const void *head, size_t hlen,
		      const void *arr, size_t alen)
{
	uint8_t *tmp = buf + *off + sizeof(struct rec_head);
	memcpy(tmp, head, hlen);
	if (alen)
		memcpy(tmp + hlen, arr, alen);
	struct rec_head h = {type, 1, 0, (uint32_t)(hlen + alen), 0, snap_hash(tmp, hlen + alen)};
	memcpy(buf + *off, &h, sizeof(h));
	*off += rec_framed_len((uint32_t)(hlen + alen));
}

static void build_manifest(struct snap_save *w, uint8_t *buf, size_t len)
{
	struct mf_pre pre = {
	    .version = SNAP_FORMAT_VERSION, .length = len, .store_id = w->hdr.store_id};
	memcpy(pre.magic, MF_MAGIC, 8);
	memcpy(buf, &pre, sizeof(pre));
	size_t off = sizeof(pre);
	put_parts(buf, &off, SNAP_REC_HEADER, &w->hdr, sizeof(w->hdr), NULL, 0);
	if (w->recs_len)
		memcpy(buf + off, w->recs, w->recs_len);
	off += w->recs_len;
	struct snap_memmap mm = {w->nrange, SNAP_PAGE};
	put_parts(buf, &off, SNAP_REC_MEMMAP, &mm, sizeof(mm), w->range,
		  w->nrange * sizeof(*w->range));
	struct snap_chunk_index ci = {w->nchunk, SNAP_CHUNK_PAGES};
	put_parts(buf, &off, SNAP_REC_CHUNK_INDEX, &ci, sizeof(ci), w->chunk,
		  w->nchunk * sizeof(*w->chunk));
	unsigned nrec = 0;
	for (size_t o = sizeof(pre); o < off; nrec++) {
		struct rec_head h;
		memcpy(&h, buf + o, sizeof(h));
		o += rec_framed_len(h.len);
	}
	struct snap_end end = {nrec, 0, snap_hash(buf, off)};
	put_parts(buf, &off, SNAP_REC_END, &end, sizeof(end), NULL, 0);
}

/* The reader's checks over what is about to be committed. */
static int self_check(struct snap_save *w, uint8_t *buf, size_t len)
{
	struct snap_image m = {.s = w->s, .mf = buf, .mf_len = (uint32_t)len};
	char why[SNAP_ERR_LEN];
	int err = mf_parse(&m, save_area(w), w->hdr.store_id, why);
	mf_free(&m);
	if (err)
		return snap_fail(w->s->err, -EINVAL, "incomplete or inconsistent state: %s", why);
	return 0;
}

static void new_entry(const struct snap_save *w, const uint8_t *mf, size_t len, uint64_t block,
		      struct sb_entry *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->name, w->hdr.name, sizeof(e->name));
	e->manifest_block = block;
	e->manifest_len = (uint32_t)len;
	e->manifest_hash = snap_hash(mf, len);
	e->generation = w->hdr.generation;
	e->lo_block = w->lo;
	e->hi_block = w->hi;
	e->ram_bytes = w->hdr.ram_bytes;
	e->disk_bytes = w->blocks * SNAP_BLOCK;
	e->created = w->hdr.created;
	e->nvcpus = w->hdr.nvcpus;
}

static void fill_stats(const struct snap_save *w, size_t mlen, struct snap_save_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->generation = w->hdr.generation;
	st->ram_bytes = w->hdr.ram_bytes;
	st->manifest_bytes = mlen;
	st->disk_bytes = w->blocks * SNAP_BLOCK;
	st->chunks = w->nchunk;
	st->reused_chunks = w->reused;
	for (uint32_t i = 0; i < w->nchunk; i++) {
		st->pages += w->chunk[i].pages;
		st->zero_pages += w->chunk[i].pages - w->chunk[i].nonzero;
		st->payload_bytes += w->chunk[i].payload_len;
	}
}

static int commit(struct snap_save *w, struct snap_save_stats *st)
{
	struct snap_store *s = w->s;
	if (w->failed)
		return snap_fail(s->err, -EIO, "a chunk write failed earlier");
	for (uint32_t i = 0; i < w->nchunk; i++)
		if (!w->placed[i])
			return snap_fail(s->err, -EINVAL, "chunk %u (IPA 0x%llx) was never written",
					 i, (unsigned long long)w->chunk[i].gpa);
	w->hdr.generation = s->sb.h.generation + 1;
	size_t len = manifest_size(w);
	if (len > SNAP_MANIFEST_MAX)
		return snap_fail(s->err, -E2BIG, "manifest of %zu bytes", len);
	uint64_t nb = (len + SNAP_BLOCK - 1) / SNAP_BLOCK;
	uint8_t *buf = snap_alloc_io(nb * SNAP_BLOCK);
	struct superblock *next = malloc(sizeof(*next));
	uint64_t block;
	int err = !buf || !next ? snap_fail(s->err, -ENOMEM, "out of memory") : 0;
	if (!err) {
		build_manifest(w, buf, len);
		err = self_check(w, buf, len);
	}
	if (!err)
		err = save_alloc(w, nb, &block);
	if (!err)
		err = snap_write_blocks(s, block, nb, buf, false);
	if (!err)
		err = snap_flush(s);
	if (!err) {
		*next = s->sb;
		if (w->replaces >= 0) {
			memmove(&next->e[w->replaces], &next->e[w->replaces + 1],
				(next->h.nentries - w->replaces - 1) * sizeof(next->e[0]));
			next->h.nentries--;
		}
		new_entry(w, buf, len, block, &next->e[next->h.nentries++]);
		err = sb_commit(s, next);
	}
	if (!err && st)
		fill_stats(w, len, st);
	snap_free(buf);
	free(next);
	return err;
}

int snap_save_commit(struct snap_save *w, struct snap_save_stats *st)
{
	int err = commit(w, st);
	save_free(w);
	return err;
}

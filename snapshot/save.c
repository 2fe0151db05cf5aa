/*
 * Writing a snapshot. Blocks come from the extents no snapshot of the
 * state in use occupies (a superseded snapshot keeps its blocks until the
 * commit that replaces it), next fit from where the newest snapshot ends,
 * so a save does not land straight on the space the previous one freed.
 * Order on disk: chunk payloads, the manifest, a flush, the superblock into
 * the other slot with FUA, a flush (sb_commit).
 */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t save_area(const struct snap_save *w)
{
	return w->s->sb.h.area_blocks;
}

/* Where the newest snapshot ends: the next save starts looking there. */
static uint64_t newest_end(const struct superblock *sb)
{
	uint64_t gen = 0, end = DATA_START;
	for (unsigned i = 0; i < sb->h.nentries; i++)
		if (sb->e[i].generation > gen) {
			gen = sb->e[i].generation;
			end = sb->e[i].hi_block;
		}
	return end;
}

void save_free(struct snap_save *w)
{
	w->s->saving = false;
	free(w->recs);
	free(w->range);
	free(w->chunk);
	free(w->placed);
	ext_free(&w->used);
	ext_free(&w->base);
	snap_encoder_free(w->enc);
	snap_free(w->buf);
	free(w);
}

int snap_save_begin(struct snap_store *s, const struct snap_save_params *p, struct snap_save **out)
{
	if (s->broken)
		return snap_fail(s->err, -EIO, "a commit failed: open the store again first");
	if (s->saving)
		return snap_fail(s->err, -EBUSY, "another save is in progress");
	if (!snap_name_valid(p->name))
		return snap_fail(s->err, -EINVAL,
				 "bad snapshot name (1-%u of A-Z a-z 0-9 . _ -, starting with a "
				 "letter or digit)",
				 SNAP_NAME_MAX);
	if (p->nvcpus == 0 || p->nvcpus > MAX_VCPUS)
		return snap_fail(s->err, -EINVAL, "%u vCPUs", p->nvcpus);
	int old = sb_find(&s->sb, p->name);
	if (old >= 0 && !p->replace)
		return snap_fail(s->err, -EEXIST, "a snapshot named \"%s\" exists", p->name);
	if (old < 0 && s->sb.h.nentries >= SNAP_MAX_SNAPSHOTS)
		return snap_fail(s->err, -ENOSPC, "the store holds %u snapshots, its most",
				 SNAP_MAX_SNAPSHOTS);
	struct snap_save *w = calloc(1, sizeof(*w));
	if (!w)
		return snap_fail(s->err, -ENOMEM, "out of memory");
	w->s = s;
	w->replaces = old;
	w->level = p->level;
	snap_copy_name(w->hdr.name, sizeof(w->hdr.name), p->name, SNAP_NAME_MAX);
	snap_copy_name(w->hdr.partition, sizeof(w->hdr.partition), p->partition ?: "", 47);
	snap_copy_name(w->hdr.creator, sizeof(w->hdr.creator), p->creator ?: "", 47);
	w->hdr.nvcpus = p->nvcpus;
	w->hdr.page_size = SNAP_PAGE;
	w->hdr.chunk_pages = SNAP_CHUNK_PAGES;
	w->hdr.created = p->created;
	w->hdr.store_id = s->sb.h.store_id;
	w->cursor = newest_end(&s->sb);
	w->lo = UINT64_MAX;
	s->saving = true;
	*out = w;
	return 0;
}

/* The blocks the state in use holds, read (every manifest) when the save
 * first needs them: begin and the records do no I/O, so a live save's
 * pause does none. Nothing can commit meanwhile (one save at a time). */
static int need_used(struct snap_save *w)
{
	if (w->used_read)
		return 0;
	unsigned damaged;
	int err = store_used(w->s, &w->used, &damaged);
	if (!err)
		err = ext_copy(&w->base, &w->used);
	if (err) {
		ext_free(&w->used);
		return err == -ENOMEM ? snap_fail(w->s->err, err, "out of memory") : err;
	}
	w->used_read = true;
	return 0;
}

void snap_save_abort(struct snap_save *w)
{
	if (w)
		save_free(w);
}

int snap_save_range(struct snap_save *w, uint64_t ipa, uint64_t bytes, uint32_t flags,
		    uint32_t *first_chunk, uint32_t *nchunks)
{
	char *err = w->s->err;
	const struct snap_range *prev = w->nrange ? &w->range[w->nrange - 1] : NULL;
	if (bytes == 0 || (ipa | bytes) % SNAP_PAGE || ipa + bytes < ipa ||
	    (prev && ipa < prev->ipa + prev->bytes) ||
	    (flags != SNAP_RANGE_RAM && flags != SNAP_RANGE_MMIO))
		return snap_fail(err, -EINVAL,
				 "range 0x%llx+0x%llx: empty, unaligned, out of order or bad flags",
				 (unsigned long long)ipa, (unsigned long long)bytes);
	uint64_t n =
	    flags == SNAP_RANGE_RAM ? (bytes + SNAP_CHUNK_BYTES - 1) / SNAP_CHUNK_BYTES : 0;
	if (n > (SNAP_MANIFEST_MAX / sizeof(struct snap_chunk)) - w->nchunk)
		return snap_fail(err, -E2BIG, "too much RAM for one manifest");
	struct snap_range *r = realloc(w->range, (w->nrange + 1) * sizeof(*r));
	if (!r)
		return snap_fail(err, -ENOMEM, "out of memory");
	w->range = r;
	struct snap_chunk *c = realloc(w->chunk, (w->nchunk + n + 1) * sizeof(*c));
	if (c)
		w->chunk = c;
	bool *pl = c ? realloc(w->placed, (w->nchunk + n + 1) * sizeof(*pl)) : NULL;
	if (!pl)
		return snap_fail(err, -ENOMEM, "out of memory");
	w->placed = pl;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t left = (bytes - k * SNAP_CHUNK_BYTES) / SNAP_PAGE;
		c[w->nchunk + k] = (struct snap_chunk){
		    .gpa = ipa + k * SNAP_CHUNK_BYTES,
		    .pages = (uint32_t)(left < SNAP_CHUNK_PAGES ? left : SNAP_CHUNK_PAGES)};
		pl[w->nchunk + k] = false;
	}
	r[w->nrange++] = (struct snap_range){ipa, bytes, flags, n ? w->nchunk : 0, (uint32_t)n, 0};
	if (first_chunk)
		*first_chunk = w->nchunk;
	if (nchunks)
		*nchunks = (uint32_t)n;
	w->nchunk += (uint32_t)n;
	if (flags == SNAP_RANGE_RAM)
		w->hdr.ram_bytes += bytes;
	return 0;
}

/* Blocks for n, in the free space; recorded as this save's. */
int save_alloc(struct snap_save *w, uint64_t n, uint64_t *start)
{
	int err = need_used(w);
	if (err)
		return err;
	err = ext_find(&w->used, DATA_START, save_area(w), w->cursor, n, start);
	if (!err)
		err = ext_add(&w->used, *start, n);
	if (err)
		return snap_fail(w->s->err, err,
				 err == -ENOSPC ? "no free run of %llu blocks left in the store"
						: "allocating %llu blocks: out of memory",
				 (unsigned long long)n);
	w->cursor = *start + n;
	w->blocks += n;
	if (*start < w->lo)
		w->lo = *start;
	if (*start + n > w->hi)
		w->hi = *start + n;
	return 0;
}

int snap_save_place(struct snap_save *w, uint32_t index, const struct snap_chunk *c,
		    uint64_t *sector, uint64_t *count)
{
	char *err = w->s->err;
	if (index >= w->nchunk || w->placed[index])
		return snap_fail(err, -EINVAL, "chunk %u: not declared, or placed twice", index);
	struct snap_chunk d = *c;
	d.gpa = w->chunk[index].gpa;
	uint64_t nb = snap_chunk_blocks(&d);
	d.block = nb ? DATA_START : 0;
	char why[160];
	if (d.pages != w->chunk[index].pages || chunk_check_desc(&d, why, sizeof(why)))
		return snap_fail(err, -EINVAL, "chunk %u: %s", index,
				 d.pages != w->chunk[index].pages ? "wrong page count" : why);
	if (nb) {
		int e = save_alloc(w, nb, &d.block);
		if (e)
			return e;
	}
	w->chunk[index] = d;
	w->placed[index] = true;
	*sector = d.block * w->s->spb;
	*count = nb * w->s->spb;
	return 0;
}

int snap_save_reuse(struct snap_save *w, uint32_t index, const struct snap_chunk *c)
{
	char *err = w->s->err, why[160];
	if (index >= w->nchunk || w->placed[index])
		return snap_fail(err, -EINVAL, "chunk %u: not declared, or placed twice", index);
	uint64_t nb = snap_chunk_blocks(c);
	int e = need_used(w);
	if (e)
		return e;
	if (c->gpa != w->chunk[index].gpa || c->pages != w->chunk[index].pages)
		return snap_fail(err, -EINVAL, "chunk %u: reused from another place", index);
	if (chunk_check_desc(c, why, sizeof(why)))
		return snap_fail(err, -EINVAL, "chunk %u: %s", index, why);
	/* only blocks a committed snapshot holds: they stay as they are until
	 * every snapshot using them is gone */
	if (nb && (c->block < DATA_START || !ext_covers(&w->base, c->block, nb)))
		return snap_fail(err, -EINVAL, "chunk %u: blocks %llu+%llu are no snapshot's",
				 index, (unsigned long long)c->block, (unsigned long long)nb);
	w->chunk[index] = *c;
	w->placed[index] = true;
	w->reused++;
	if (nb && c->block < w->lo)
		w->lo = c->block;
	if (nb && c->block + nb > w->hi)
		w->hi = c->block + nb;
	return 0;
}

int snap_save_chunk(struct snap_save *w, uint32_t index, const struct snap_chunk *c,
		    const void *payload)
{
	uint64_t sector, count;
	int err = snap_save_place(w, index, c, &sector, &count);
	if (err || !count)
		return err;
	err = snap_write_blocks(w->s, sector / w->s->spb, count / w->s->spb, payload, false);
	if (err)
		w->failed = true;
	return err;
}

int snap_save_ram(struct snap_save *w, uint64_t ipa, const void *ram, uint64_t bytes)
{
	uint32_t first, n;
	int err = snap_save_range(w, ipa, bytes, SNAP_RANGE_RAM, &first, &n);
	if (err)
		return err;
	if (!w->enc)
		w->enc = snap_encoder_new(w->level);
	if (!w->buf)
		w->buf = snap_alloc_buf(SNAP_CHUNK_BYTES);
	if (!w->enc || !w->buf)
		return snap_fail(w->s->err, -ENOMEM, "out of memory for the encoder");
	for (uint32_t k = 0; k < n && !err; k++) {
		struct snap_chunk c;
		err =
		    snap_chunk_encode(w->enc, (const uint8_t *)ram + (uint64_t)k * SNAP_CHUNK_BYTES,
				      w->chunk[first + k].pages, w->buf, &c);
		if (!err)
			err = snap_save_chunk(w, first + k, &c, w->buf);
	}
	return err;
}

uint64_t snap_save_free_blocks(struct snap_save *w)
{
	if (need_used(w))
		return 0;
	return save_area(w) - DATA_START - ext_total(&w->used);
}

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

struct snap_save {
	struct snap_store *s;
	struct snap_header hdr;
	int replaces;  /* directory index of the snapshot it supersedes, or -1 */
	uint8_t *recs; /* the caller's records, framed as in the manifest */
	size_t recs_len, recs_cap;
	struct snap_range *range;
	uint32_t nrange;
	struct snap_chunk *chunk;
	bool *placed;
	uint32_t nchunk;
	struct extents used; /* the state in use, and this save's blocks */
	uint64_t cursor, lo, hi, blocks;
	bool failed; /* a chunk was placed but not written */
	int level;
	struct snap_encoder *enc; /* snap_save_ram's */
	uint8_t *buf;
};

static uint64_t area(const struct snap_save *w)
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

static void save_free(struct snap_save *w)
{
	w->s->saving = false;
	free(w->recs);
	free(w->range);
	free(w->chunk);
	free(w->placed);
	ext_free(&w->used);
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
	if (p->nvcpus == 0 || p->nvcpus > 1024)
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
	unsigned damaged;
	int err = store_used(s, &w->used, &damaged);
	if (err) {
		free(w);
		return err;
	}
	s->saving = true;
	*out = w;
	return 0;
}

void snap_save_abort(struct snap_save *w)
{
	if (w)
		save_free(w);
}

static bool library_type(uint32_t type)
{
	return type == SNAP_REC_HEADER || type == SNAP_REC_MEMMAP || type == SNAP_REC_CHUNK_INDEX ||
	       type == SNAP_REC_END;
}

/* Appends one framed record (header, body, padding) to buf. */
static void frame(uint8_t *buf, uint32_t type, uint16_t version, uint16_t flags, const void *body,
		  uint32_t len)
{
	struct rec_head h = {type, version, flags, len, 0, snap_hash(body, len)};
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	memset(buf + sizeof(h) + len, 0, ((len + 7u) & ~7u) - len);
}

static size_t framed_len(uint32_t len)
{
	return sizeof(struct rec_head) + ((len + 7u) & ~7u);
}

int snap_save_record(struct snap_save *w, uint32_t type, uint16_t version, uint16_t flags,
		     const void *body, uint32_t len)
{
	char *err = w->s->err;
	const char *name = snap_rec_name(type);
	if (library_type(type))
		return snap_fail(err, -EINVAL, "%s records are the library's", name);
	if (flags & ~SNAP_REC_F_OPTIONAL || len > SNAP_MANIFEST_MAX)
		return snap_fail(err, -EINVAL, "record flags 0x%x or length %u", flags, len);
	bool known = rec_known_version(type) == version;
	if (!known && !(flags & SNAP_REC_F_OPTIONAL))
		return snap_fail(
		    err, -EINVAL,
		    "record type 0x%x version %u is unknown to readers: mark it optional", type,
		    version);
	char why[160];
	if (known && rec_check(type, version, body, len, w->hdr.nvcpus, why, sizeof(why)))
		return snap_fail(err, -EINVAL, "%s record: %s", name, why);
	size_t need = w->recs_len + framed_len(len);
	if (need > SNAP_MANIFEST_MAX)
		return snap_fail(err, -E2BIG, "the manifest would exceed %u bytes",
				 SNAP_MANIFEST_MAX);
	if (need > w->recs_cap) {
		size_t cap = need > 2 * w->recs_cap ? need : 2 * w->recs_cap;
		uint8_t *p = realloc(w->recs, cap);
		if (!p)
			return snap_fail(err, -ENOMEM, "out of memory");
		w->recs = p;
		w->recs_cap = cap;
	}
	frame(w->recs + w->recs_len, type, version, flags, body, len);
	w->recs_len = need;
	return 0;
}

/* A record whose body is a head followed by up to two arrays. */
static int save_parts(struct snap_save *w, uint32_t type, const void *head, size_t hlen,
		      const void *a, size_t alen, const void *b, size_t blen)
{
	uint64_t len = (uint64_t)hlen + alen + blen;
	if (len > SNAP_MANIFEST_MAX)
		return snap_fail(w->s->err, -E2BIG, "%s record of %llu bytes", snap_rec_name(type),
				 (unsigned long long)len);
	uint8_t *body = malloc(len);
	if (!body)
		return snap_fail(w->s->err, -ENOMEM, "out of memory");
	memcpy(body, head, hlen);
	if (alen)
		memcpy(body + hlen, a, alen);
	if (blen)
		memcpy(body + hlen + alen, b, blen);
	int err = snap_save_record(w, type, 1, 0, body, (uint32_t)len);
	free(body);
	return err;
}

int snap_save_fingerprint(struct snap_save *w, const struct snap_idreg *regs, uint32_t n)
{
	struct snap_fingerprint f = {n, 0};
	return save_parts(w, SNAP_REC_CPU_FINGERPRINT, &f, sizeof(f), regs,
			  (size_t)n * sizeof(*regs), NULL, 0);
}

int snap_save_vcpu(struct snap_save *w, const struct snap_vcpu *v)
{
	return snap_save_record(w, SNAP_REC_VCPU, SNAP_VCPU_V1, 0, v, sizeof(*v));
}

int snap_save_vcpu_sve(struct snap_save *w, const struct snap_vcpu_sve *h, const void *state)
{
	if (h->vl > 256)
		return snap_fail(w->s->err, -EINVAL, "SVE vector length %u", h->vl);
	return save_parts(w, SNAP_REC_VCPU_SVE, h, sizeof(*h), state, snap_sve_state_size(h->vl),
			  NULL, 0);
}

int snap_save_vgic(struct snap_save *w, const struct snap_vgic *g, const struct snap_vgic_irq *spis,
		   const struct snap_vgic_cpu *cpus)
{
	if (g->nspis > 1024 || g->nvcpus > 1024)
		return snap_fail(w->s->err, -EINVAL, "vGIC of %u SPIs, %u vCPUs", g->nspis,
				 g->nvcpus);
	return save_parts(w, SNAP_REC_VGIC, g, sizeof(*g), spis, g->nspis * sizeof(*spis), cpus,
			  g->nvcpus * sizeof(*cpus));
}

int snap_save_timer(struct snap_save *w, const struct snap_timer *t,
		    const struct snap_timer_cpu *cpus)
{
	if (t->nvcpus > 1024)
		return snap_fail(w->s->err, -EINVAL, "timers of %u vCPUs", t->nvcpus);
	return save_parts(w, SNAP_REC_TIMER, t, sizeof(*t), cpus, t->nvcpus * sizeof(*cpus), NULL,
			  0);
}

int snap_save_pl011(struct snap_save *w, const struct snap_device *d, const struct snap_pl011 *u,
		    const void *rx, const void *tx)
{
	if (d->kind != SNAP_DEV_PL011 || d->version != SNAP_PL011_V1 ||
	    u->rx_count > SNAP_PL011_RX_MAX || u->tx_len > SNAP_PL011_TX_MAX)
		return snap_fail(w->s->err, -EINVAL, "PL011 record: kind, version or lengths");
	size_t len = sizeof(*u) + u->rx_count + u->tx_len;
	uint8_t *p = malloc(len);
	if (!p)
		return snap_fail(w->s->err, -ENOMEM, "out of memory");
	memcpy(p, u, sizeof(*u));
	if (u->rx_count)
		memcpy(p + sizeof(*u), rx, u->rx_count);
	if (u->tx_len)
		memcpy(p + sizeof(*u) + u->rx_count, tx, u->tx_len);
	int err = save_parts(w, SNAP_REC_DEVICE, d, sizeof(*d), p, len, NULL, 0);
	free(p);
	return err;
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
static int alloc_blocks(struct snap_save *w, uint64_t n, uint64_t *start)
{
	int err = ext_find(&w->used, DATA_START, area(w), w->cursor, n, start);
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
		int e = alloc_blocks(w, nb, &d.block);
		if (e)
			return e;
	}
	w->chunk[index] = d;
	w->placed[index] = true;
	*sector = d.block * w->s->spb;
	*count = nb * w->s->spb;
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

uint64_t snap_save_free_blocks(const struct snap_save *w)
{
	return area(w) - DATA_START - ext_total(&w->used);
}

/* ---- commit ---- */

static size_t manifest_size(const struct snap_save *w)
{
	return sizeof(struct mf_pre) + framed_len(sizeof(struct snap_header)) + w->recs_len +
	       framed_len(sizeof(struct snap_memmap) + w->nrange * sizeof(struct snap_range)) +
	       framed_len(sizeof(struct snap_chunk_index) + w->nchunk * sizeof(struct snap_chunk)) +
	       framed_len(sizeof(struct snap_end));
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
	*off += framed_len((uint32_t)(hlen + alen));
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
		o += framed_len(h.len);
	}
	struct snap_end end = {nrec, 0, snap_hash(buf, off)};
	put_parts(buf, &off, SNAP_REC_END, &end, sizeof(end), NULL, 0);
}

/* The reader's checks over what is about to be committed. */
static int self_check(struct snap_save *w, uint8_t *buf, size_t len)
{
	struct snap_image m = {.s = w->s, .mf = buf, .mf_len = (uint32_t)len};
	char why[SNAP_ERR_LEN];
	int err = mf_parse(&m, area(w), w->hdr.store_id, why);
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
		err = alloc_blocks(w, nb, &block);
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

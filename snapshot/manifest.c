/*
 * The manifest reader: every input either parses into a consistent image
 * or is refused with a sentence saying where; nothing in it is trusted
 * before it is checked (tests/fuzz/fuzz_store.c feeds it anything).
 * The writer runs the same code over a manifest before it commits one.
 */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) snap_fail(err, -EBADMSG, __VA_ARGS__)

static int rec_fail(char *err, const struct snap_rec *r, unsigned i, const char *what)
{
	const char *name = snap_rec_name(r->type);
	if (name)
		return FAIL("record %u (%s v%u at byte %u): %s", i, name, r->version, r->offset,
			    what);
	return FAIL("record %u (type 0x%x at byte %u): %s", i, r->type, r->offset, what);
}

/* Splits the manifest into records, checking framing and checksums. */
static int mf_split(struct snap_image *m, uint64_t store_id, char *err)
{
	struct mf_pre pre;
	if (m->mf_len < sizeof(pre) + 2 * sizeof(struct rec_head))
		return FAIL("manifest of %u bytes is too short", m->mf_len);
	memcpy(&pre, m->mf, sizeof(pre));
	if (memcmp(pre.magic, MF_MAGIC, 8) || pre.version != SNAP_FORMAT_VERSION)
		return FAIL("manifest: bad magic or version");
	if (pre.length != m->mf_len || pre.store_id != store_id)
		return FAIL("manifest: length %llu (expected %u) or store id of another store",
			    (unsigned long long)pre.length, m->mf_len);
	m->rec = calloc(m->mf_len / sizeof(struct rec_head), sizeof(*m->rec));
	if (!m->rec)
		return snap_fail(err, -ENOMEM, "out of memory");
	uint32_t off = sizeof(pre);
	while (off < m->mf_len) {
		struct rec_head h;
		struct snap_rec *r = &m->rec[m->nrec];
		if (m->mf_len - off < sizeof(h))
			return FAIL("manifest: truncated record header at byte %u", off);
		memcpy(&h, m->mf + off, sizeof(h));
		*r = (struct snap_rec){h.type, h.version, h.flags,
				       h.len,  off,	  m->mf + off + sizeof(h)};
		uint64_t padded = ((uint64_t)h.len + 7) & ~7ull;
		if (padded > m->mf_len - off - sizeof(h))
			return rec_fail(err, r, m->nrec, "body runs past the manifest");
		const uint8_t *body = r->body;
		if (h.reserved || h.flags & ~SNAP_REC_F_OPTIONAL ||
		    !snap_all_zero(body + h.len, padded - h.len))
			return rec_fail(err, r, m->nrec, "reserved bits or padding not zero");
		if (snap_hash(body, h.len) != h.hash)
			return rec_fail(err, r, m->nrec, "checksum mismatch");
		m->nrec++;
		off += sizeof(h) + (uint32_t)padded;
		if (h.type == SNAP_REC_END)
			break;
	}
	const struct snap_rec *end = &m->rec[m->nrec - 1];
	struct snap_end e;
	if (end->type != SNAP_REC_END || off != m->mf_len)
		return FAIL("manifest: no END record as its last");
	if (end->len != sizeof(e) || end->version != SNAP_END_V1)
		return rec_fail(err, end, m->nrec - 1, "bad END record");
	memcpy(&e, end->body, sizeof(e));
	if (e.nrecords != m->nrec - 1 || e.hash != snap_hash(m->mf, end->offset))
		return rec_fail(err, end, m->nrec - 1, "END does not match the records before it");
	return 0;
}

struct counts {
	unsigned header, fp, memmap, index, vgic, timer;
};

static int take_header(struct snap_image *m, const struct snap_rec *r, unsigned i, char *err)
{
	if (i != 0 || r->len != sizeof(m->hdr))
		return rec_fail(err, r, i, "HEADER must be first, of its size");
	memcpy(&m->hdr, r->body, sizeof(m->hdr));
	const struct snap_header *h = &m->hdr;
	if (!memchr(h->name, 0, sizeof(h->name)) || !snap_name_valid(h->name) ||
	    !memchr(h->partition, 0, sizeof(h->partition)) ||
	    !memchr(h->creator, 0, sizeof(h->creator)))
		return rec_fail(err, r, i, "bad name");
	if (h->nvcpus == 0 || h->nvcpus > MAX_VCPUS || h->page_size != SNAP_PAGE ||
	    h->chunk_pages != SNAP_CHUNK_PAGES)
		return rec_fail(err, r, i, "bad vCPU count, page size or chunk size");
	m->vcpu = calloc(h->nvcpus, sizeof(*m->vcpu));
	m->sve = calloc(h->nvcpus, sizeof(*m->sve));
	m->sve_state = calloc(h->nvcpus, sizeof(*m->sve_state));
	if (!m->vcpu || !m->sve || !m->sve_state)
		return snap_fail(err, -ENOMEM, "out of memory");
	for (unsigned v = 0; v < h->nvcpus; v++)
		m->vcpu[v].index = UINT32_MAX; /* not seen yet */
	return 0;
}

/* Copies n elements of size sz that follow a head of hsz bytes. */
static void *copy_array(const struct snap_rec *r, size_t hsz, size_t n, size_t sz)
{
	void *a = malloc(n ? n * sz : 1);
	if (a && n)
		memcpy(a, (const uint8_t *)r->body + hsz, n * sz);
	return a;
}

static int take_memmap(struct snap_image *m, const struct snap_rec *r, unsigned i, char *err)
{
	struct snap_memmap mm;
	if (r->len < sizeof(mm))
		return rec_fail(err, r, i, "too short");
	memcpy(&mm, r->body, sizeof(mm));
	if (mm.page_size != SNAP_PAGE ||
	    r->len != sizeof(mm) + (uint64_t)mm.nranges * sizeof(struct snap_range))
		return rec_fail(err, r, i, "page size or length does not match its ranges");
	m->nrange = mm.nranges;
	m->range = copy_array(r, sizeof(mm), mm.nranges, sizeof(struct snap_range));
	return m->range ? 0 : snap_fail(err, -ENOMEM, "out of memory");
}

static int take_index(struct snap_image *m, const struct snap_rec *r, unsigned i, char *err)
{
	struct snap_chunk_index ci;
	if (r->len < sizeof(ci))
		return rec_fail(err, r, i, "too short");
	memcpy(&ci, r->body, sizeof(ci));
	if (ci.chunk_pages != SNAP_CHUNK_PAGES ||
	    r->len != sizeof(ci) + (uint64_t)ci.nchunks * sizeof(struct snap_chunk))
		return rec_fail(err, r, i, "chunk size or length does not match its chunks");
	m->nchunk = ci.nchunks;
	m->chunk = copy_array(r, sizeof(ci), ci.nchunks, sizeof(struct snap_chunk));
	return m->chunk ? 0 : snap_fail(err, -ENOMEM, "out of memory");
}

static int take_vcpu(struct snap_image *m, const struct snap_rec *r, unsigned i, char *err)
{
	struct snap_vcpu v;
	memcpy(&v, r->body, sizeof(v));
	if (m->vcpu[v.index].index != UINT32_MAX)
		return rec_fail(err, r, i, "a second record for this vCPU");
	m->vcpu[v.index] = v;
	return 0;
}

static int take_sve(struct snap_image *m, const struct snap_rec *r, unsigned i, char *err)
{
	struct snap_vcpu_sve h;
	memcpy(&h, r->body, sizeof(h));
	if (m->sve[h.index].vl)
		return rec_fail(err, r, i, "a second SVE record for this vCPU");
	m->sve[h.index] = h;
	m->sve_state[h.index] = (const uint8_t *)r->body + sizeof(h);
	return 0;
}

static int take_vgic(struct snap_image *m, const struct snap_rec *r)
{
	memcpy(&m->vgic, r->body, sizeof(m->vgic));
	m->vgic_spi = copy_array(r, sizeof(m->vgic), m->vgic.nspis, sizeof(struct snap_vgic_irq));
	m->vgic_cpu = copy_array(r, sizeof(m->vgic) + m->vgic.nspis * sizeof(struct snap_vgic_irq),
				 m->vgic.nvcpus, sizeof(struct snap_vgic_cpu));
	m->has_vgic = true;
	return m->vgic_spi && m->vgic_cpu ? 0 : -ENOMEM;
}

static int take_timer(struct snap_image *m, const struct snap_rec *r)
{
	memcpy(&m->timer, r->body, sizeof(m->timer));
	m->timer_cpu =
	    copy_array(r, sizeof(m->timer), m->timer.nvcpus, sizeof(struct snap_timer_cpu));
	m->has_timer = true;
	return m->timer_cpu ? 0 : -ENOMEM;
}

static int take_device(struct snap_image *m, const struct snap_rec *r)
{
	memcpy(&m->dev[m->ndev], r->body, sizeof(m->dev[0]));
	m->dev_rec[m->ndev++] = r;
	return 0;
}

static int once(unsigned *count, char *err, const struct snap_rec *r, unsigned i)
{
	return ++*count > 1 ? rec_fail(err, r, i, "more than one of this record") : 0;
}

static int take(struct snap_image *m, struct counts *c, unsigned i, char *err)
{
	const struct snap_rec *r = &m->rec[i];
	switch (r->type) {
	case SNAP_REC_HEADER:
		return once(&c->header, err, r, i) ?: take_header(m, r, i, err);
	case SNAP_REC_CPU_FINGERPRINT:
		return once(&c->fp, err, r, i);
	case SNAP_REC_VCPU:
		return take_vcpu(m, r, i, err);
	case SNAP_REC_VCPU_SVE:
		return take_sve(m, r, i, err);
	case SNAP_REC_VGIC:
		return once(&c->vgic, err, r, i) ?: take_vgic(m, r);
	case SNAP_REC_TIMER:
		return once(&c->timer, err, r, i) ?: take_timer(m, r);
	case SNAP_REC_DEVICE:
		return take_device(m, r);
	case SNAP_REC_MEMMAP:
		return once(&c->memmap, err, r, i) ?: take_memmap(m, r, i, err);
	case SNAP_REC_CHUNK_INDEX:
		return once(&c->index, err, r, i) ?: take_index(m, r, i, err);
	default:
		return 0;
	}
}

/* Types, versions, each record's own shape, and what each says. */
static int mf_records(struct snap_image *m, char *err)
{
	struct counts c = {0};
	unsigned ndev = 0;
	for (unsigned i = 0; i < m->nrec; i++)
		ndev += m->rec[i].type == SNAP_REC_DEVICE;
	m->dev = calloc(ndev + 1, sizeof(*m->dev));
	m->dev_rec = calloc(ndev + 1, sizeof(*m->dev_rec));
	if (!m->dev || !m->dev_rec)
		return snap_fail(err, -ENOMEM, "out of memory");
	if (m->rec[0].type != SNAP_REC_HEADER)
		return rec_fail(err, &m->rec[0], 0, "the first record must be HEADER");
	for (unsigned i = 0; i + 1 < m->nrec; i++) {
		const struct snap_rec *r = &m->rec[i];
		uint16_t known = rec_known_version(r->type);
		if (known != r->version) {
			if (r->flags & SNAP_REC_F_OPTIONAL && i > 0)
				continue;
			return rec_fail(
			    err, r, i,
			    known ? "a version this reader does not know"
				  : "a required record of a type this reader does not know");
		}
		char why[160];
		if (rec_check(r->type, r->version, r->body, r->len, m->hdr.nvcpus, why,
			      sizeof(why)))
			return rec_fail(err, r, i, why);
		int e = take(m, &c, i, err);
		if (e)
			return e == -ENOMEM ? snap_fail(err, e, "out of memory") : e;
	}
	if (!c.header || !c.fp || !c.memmap || !c.index)
		return FAIL("manifest lacks its %s record", !c.header	? "HEADER"
							    : !c.fp	? "CPU_FINGERPRINT"
							    : !c.memmap ? "MEMMAP"
									: "CHUNK_INDEX");
	for (unsigned v = 0; v < m->hdr.nvcpus; v++)
		if (m->vcpu[v].index != v)
			return FAIL("manifest has no VCPU record for vCPU %u of %u", v,
				    m->hdr.nvcpus);
	struct snap_rec fp;
	snap_image_find(m, SNAP_REC_CPU_FINGERPRINT, 0, &fp);
	m->nfp = (fp.len - sizeof(struct snap_fingerprint)) / sizeof(struct snap_idreg);
	m->fp = copy_array(&fp, sizeof(struct snap_fingerprint), m->nfp, sizeof(struct snap_idreg));
	return m->fp ? 0 : snap_fail(err, -ENOMEM, "out of memory");
}

/* The memory map against the chunk index, and where the chunks lie. */
static int mf_memory(struct snap_image *m, uint64_t area_blocks, char *err)
{
	uint64_t next_ipa = 0, ram = 0;
	uint32_t chunk = 0;
	for (uint32_t i = 0; i < m->nrange; i++) {
		const struct snap_range *r = &m->range[i];
		if (r->bytes == 0 || (r->ipa | r->bytes) % SNAP_PAGE ||
		    r->ipa + r->bytes < r->ipa || r->ipa < next_ipa || r->reserved)
			return FAIL("memory range %u (0x%llx+0x%llx): not page aligned, empty, "
				    "overlapping or out of order",
				    i, (unsigned long long)r->ipa, (unsigned long long)r->bytes);
		next_ipa = r->ipa + r->bytes;
		uint64_t want = r->flags == SNAP_RANGE_RAM
				    ? (r->bytes + SNAP_CHUNK_BYTES - 1) / SNAP_CHUNK_BYTES
				    : 0;
		if ((r->flags != SNAP_RANGE_RAM && r->flags != SNAP_RANGE_MMIO) ||
		    r->nchunks != want || r->first_chunk != (want ? chunk : 0) ||
		    want > m->nchunk - chunk)
			return FAIL(
			    "memory range %u: flags %u, chunks %u+%u do not match the index", i,
			    r->flags, r->first_chunk, r->nchunks);
		for (uint32_t k = 0; k < r->nchunks; k++) {
			const struct snap_chunk *c = &m->chunk[chunk + k];
			uint64_t left = (r->bytes - (uint64_t)k * SNAP_CHUNK_BYTES) / SNAP_PAGE;
			uint64_t pages = left < SNAP_CHUNK_PAGES ? left : SNAP_CHUNK_PAGES;
			char why[160];
			if (c->gpa != r->ipa + (uint64_t)k * SNAP_CHUNK_BYTES || c->pages != pages)
				return FAIL(
				    "chunk %u: IPA 0x%llx, %u pages: not where range %u puts "
				    "it",
				    chunk + k, (unsigned long long)c->gpa, c->pages, i);
			if (chunk_check_desc(c, why, sizeof(why)))
				return FAIL("chunk %u (IPA 0x%llx): %s", chunk + k,
					    (unsigned long long)c->gpa, why);
			uint64_t nb = snap_chunk_blocks(c);
			if (nb && (c->block > area_blocks || nb > area_blocks - c->block))
				return FAIL("chunk %u: blocks %llu+%llu outside the area",
					    chunk + k, (unsigned long long)c->block,
					    (unsigned long long)nb);
			int e = ext_add(&m->used, c->block, nb);
			if (e)
				return e == -ENOMEM ? snap_fail(err, e, "out of memory")
						    : FAIL("chunk %u: its blocks overlap another's",
							   chunk + k);
		}
		chunk += r->nchunks;
		if (r->flags == SNAP_RANGE_RAM)
			ram += r->bytes;
	}
	if (chunk != m->nchunk || ram != m->hdr.ram_bytes)
		return FAIL("memory map covers %u of %u chunks, %llu of %llu RAM bytes", chunk,
			    m->nchunk, (unsigned long long)ram,
			    (unsigned long long)m->hdr.ram_bytes);
	return 0;
}

int mf_parse(struct snap_image *m, uint64_t area_blocks, uint64_t store_id, char *err)
{
	return mf_split(m, store_id, err) ?: mf_records(m, err) ?: mf_memory(m, area_blocks, err);
}

void mf_free(struct snap_image *m)
{
	free(m->rec);
	free(m->fp);
	free(m->vcpu);
	free(m->sve);
	free(m->sve_state);
	free(m->vgic_spi);
	free(m->vgic_cpu);
	free(m->timer_cpu);
	free(m->dev);
	free(m->dev_rec);
	free(m->range);
	free(m->chunk);
	ext_free(&m->used);
}

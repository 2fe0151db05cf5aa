/* Reading snapshots back: manifests, chunks, verification, space in use. */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int img_load_entry(struct snap_store *s, const struct sb_entry *e, struct snap_image **out)
{
	char name[SNAP_NAME_MAX + 1];
	snap_copy_name(name, sizeof(name), e->name, sizeof(e->name));
	struct snap_image *m = calloc(1, sizeof(*m));
	uint64_t nb = (e->manifest_len + SNAP_BLOCK - 1) / SNAP_BLOCK;
	uint8_t *buf = snap_alloc_io(nb * SNAP_BLOCK);
	int err = !m || !buf ? snap_fail(s->err, -ENOMEM, "out of memory") : 0;
	if (!err)
		err = snap_read_blocks(s, e->manifest_block, nb, buf);
	if (err)
		goto fail;
	m->s = s;
	m->mf = buf;
	m->mf_len = e->manifest_len;
	char why[SNAP_ERR_LEN];
	err = mf_parse(m, s->sb.h.area_blocks, s->sb.h.store_id, why);
	/* The checksum over it all decides; the parse says where, when it can. */
	if (snap_hash(buf, e->manifest_len) != e->manifest_hash) {
		err = snap_fail(s->err, -EBADMSG, "\"%s\": manifest checksum mismatch%s%s", name,
				err ? ": " : "", err ? why : "");
		goto fail;
	}
	if (err) {
		snap_fail(s->err, err, "\"%s\": %s", name, why);
		goto fail;
	}
	err = -EBADMSG;
	if (!snap_all_zero(buf + e->manifest_len, nb * SNAP_BLOCK - e->manifest_len)) {
		snap_fail(s->err, err, "\"%s\": bytes after the manifest are not zero", name);
		goto fail;
	}
	if (strcmp(m->hdr.name, name) || m->hdr.nvcpus != e->nvcpus ||
	    m->hdr.ram_bytes != e->ram_bytes || m->hdr.generation != e->generation) {
		snap_fail(s->err, err, "\"%s\": its manifest does not match its directory entry",
			  name);
		goto fail;
	}
	if (ext_add(&m->used, e->manifest_block, nb)) {
		snap_fail(s->err, err, "\"%s\": the manifest's blocks overlap its chunks", name);
		goto fail;
	}
	if (m->used.e[0].start < e->lo_block ||
	    m->used.e[m->used.n - 1].start + m->used.e[m->used.n - 1].len > e->hi_block) {
		snap_fail(s->err, err, "\"%s\": blocks outside the span its entry gives", name);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	if (m) {
		mf_free(m);
		free(m);
	}
	snap_free(buf);
	return err;
}

int snap_load(struct snap_store *s, const char *name, struct snap_image **out)
{
	int i = sb_find(&s->sb, name);
	if (i < 0)
		return snap_fail(s->err, -ENOENT, "no snapshot named \"%s\"", name);
	return img_load_entry(s, &s->sb.e[i], out);
}

void snap_image_free(struct snap_image *m)
{
	if (!m)
		return;
	mf_free(m);
	snap_free(m->mf);
	free(m);
}

/* Every block the state in use occupies. A snapshot whose manifest cannot
 * be read keeps the whole span its entry gives. */
int store_used(struct snap_store *s, struct extents *used, unsigned *damaged)
{
	*damaged = 0;
	for (unsigned i = 0; i < s->sb.h.nentries; i++) {
		const struct sb_entry *e = &s->sb.e[i];
		struct snap_image *m;
		int err = img_load_entry(s, e, &m);
		if (err == -ENOMEM)
			return err;
		if (err) {
			++*damaged;
			err = ext_union(used, e->lo_block, e->hi_block - e->lo_block);
		} else {
			for (size_t k = 0; k < m->used.n && !err; k++)
				err = ext_union(used, m->used.e[k].start, m->used.e[k].len);
			snap_image_free(m);
		}
		if (err)
			return snap_fail(s->err, err, "out of memory");
	}
	return 0;
}

/* ---- what an image holds ---- */

unsigned snap_image_nrecords(const struct snap_image *m)
{
	return m->nrec;
}

int snap_image_record(const struct snap_image *m, unsigned i, struct snap_rec *r)
{
	if (i >= m->nrec)
		return -ENOENT;
	*r = m->rec[i];
	return 0;
}

int snap_image_find(const struct snap_image *m, uint32_t type, unsigned nth, struct snap_rec *r)
{
	for (unsigned i = 0; i < m->nrec; i++)
		if (m->rec[i].type == type && nth-- == 0) {
			*r = m->rec[i];
			return 0;
		}
	return -ENOENT;
}

uint32_t snap_image_manifest_len(const struct snap_image *m)
{
	return m->mf_len;
}

const struct snap_header *snap_image_header(const struct snap_image *m)
{
	return &m->hdr;
}

const struct snap_idreg *snap_image_fingerprint(const struct snap_image *m, uint32_t *n)
{
	*n = m->nfp;
	return m->fp;
}

const struct snap_vcpu *snap_image_vcpu(const struct snap_image *m, unsigned idx)
{
	return idx < m->hdr.nvcpus ? &m->vcpu[idx] : NULL;
}

const struct snap_vcpu_sve *snap_image_vcpu_sve(const struct snap_image *m, unsigned idx,
						const void **state)
{
	if (idx >= m->hdr.nvcpus || !m->sve[idx].vl)
		return NULL;
	*state = m->sve_state[idx];
	return &m->sve[idx];
}

const struct snap_vgic *snap_image_vgic(const struct snap_image *m,
					const struct snap_vgic_irq **spis,
					const struct snap_vgic_cpu **cpus)
{
	if (!m->has_vgic)
		return NULL;
	*spis = m->vgic_spi;
	*cpus = m->vgic_cpu;
	return &m->vgic;
}

const struct snap_timer *snap_image_timer(const struct snap_image *m,
					  const struct snap_timer_cpu **cpus)
{
	if (!m->has_timer)
		return NULL;
	*cpus = m->timer_cpu;
	return &m->timer;
}

unsigned snap_image_ndevices(const struct snap_image *m)
{
	return m->ndev;
}

const struct snap_device *snap_image_device(const struct snap_image *m, unsigned i,
					    const void **payload, uint32_t *len)
{
	if (i >= m->ndev)
		return NULL;
	*payload = (const uint8_t *)m->dev_rec[i]->body + sizeof(struct snap_device);
	*len = m->dev_rec[i]->len - (uint32_t)sizeof(struct snap_device);
	return &m->dev[i];
}

const struct snap_range *snap_image_ranges(const struct snap_image *m, unsigned *n)
{
	*n = m->nrange;
	return m->range;
}

const struct snap_chunk *snap_image_chunks(const struct snap_image *m, unsigned *n)
{
	*n = m->nchunk;
	return m->chunk;
}

/* ---- chunks ---- */

int snap_chunk_read(struct snap_image *m, unsigned i, void *payload)
{
	if (i >= m->nchunk)
		return -EINVAL;
	const struct snap_chunk *c = &m->chunk[i];
	uint64_t nb = snap_chunk_blocks(c);
	if (!nb)
		return 0;
	int err = snap_read_blocks(m->s, c->block, nb, payload);
	if (err)
		return err;
	if (!snap_all_zero((uint8_t *)payload + c->payload_len, nb * SNAP_BLOCK - c->payload_len))
		return snap_fail(
		    m->s->err, -EBADMSG,
		    "\"%s\": chunk %u (IPA 0x%llx): bytes after its payload are not zero",
		    m->hdr.name, i, (unsigned long long)c->gpa);
	return 0;
}

static int read_decode(struct snap_image *m, unsigned i, struct snap_decoder *d, void *buf,
		       void *raw)
{
	int err = snap_chunk_read(m, i, buf);
	if (!err && snap_chunk_decode(d, &m->chunk[i], buf, raw))
		err =
		    snap_fail(m->s->err, -EBADMSG, "\"%s\": chunk %u (IPA 0x%llx): %s", m->hdr.name,
			      i, (unsigned long long)m->chunk[i].gpa, snap_decoder_error(d));
	return err;
}

int snap_load_range(struct snap_image *m, unsigned r, void *dst)
{
	if (r >= m->nrange)
		return -EINVAL;
	struct snap_decoder *d = snap_decoder_new();
	uint8_t *buf = snap_alloc_buf(SNAP_CHUNK_BYTES);
	int err = !d || !buf ? snap_fail(m->s->err, -ENOMEM, "out of memory") : 0;
	const struct snap_range *rg = &m->range[r];
	for (uint32_t k = 0; k < rg->nchunks && !err; k++)
		err = read_decode(m, rg->first_chunk + k, d, buf,
				  (uint8_t *)dst + (uint64_t)k * SNAP_CHUNK_BYTES);
	snap_decoder_free(d);
	snap_free(buf);
	return err;
}

int snap_verify(struct snap_store *s, const char *name, struct snap_verify_stats *st)
{
	struct snap_image *m;
	struct snap_verify_stats z = {0};
	int err = snap_load(s, name, &m);
	if (err)
		return err;
	struct snap_decoder *d = snap_decoder_new();
	uint8_t *buf = snap_alloc_buf(SNAP_CHUNK_BYTES), *raw = snap_alloc_buf(SNAP_CHUNK_BYTES);
	err = !d || !buf || !raw ? snap_fail(s->err, -ENOMEM, "out of memory") : 0;
	for (uint32_t i = 0; i < m->nchunk && !err; i++) {
		err = read_decode(m, i, d, buf, raw);
		z.chunks++;
		z.pages += m->chunk[i].pages;
		z.zero_pages += m->chunk[i].pages - m->chunk[i].nonzero;
		z.payload_bytes += m->chunk[i].payload_len;
		z.raw_bytes += (uint64_t)m->chunk[i].pages * SNAP_PAGE;
	}
	snap_decoder_free(d);
	snap_free(buf);
	snap_free(raw);
	snap_image_free(m);
	if (st)
		*st = z;
	return err;
}

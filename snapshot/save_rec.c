/* The caller's records of a save: checked as the reader will check them,
 * framed as in the manifest. */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool library_type(uint32_t type)
{
	return type == SNAP_REC_HEADER || type == SNAP_REC_MEMMAP || type == SNAP_REC_CHUNK_INDEX ||
	       type == SNAP_REC_END;
}

/* Appends one framed record (header, body, padding) to buf. */
static void rec_frame(uint8_t *buf, uint32_t type, uint16_t version, uint16_t flags,
		      const void *body, uint32_t len)
{
	struct rec_head h = {type, version, flags, len, 0, snap_hash(body, len)};
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	memset(buf + sizeof(h) + len, 0, ((len + 7u) & ~7u) - len);
}

size_t rec_framed_len(uint32_t len)
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
	size_t need = w->recs_len + rec_framed_len(len);
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
	rec_frame(w->recs + w->recs_len, type, version, flags, body, len);
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
	if (g->nspis > MAX_SPIS || g->nvcpus > MAX_VCPUS)
		return snap_fail(w->s->err, -EINVAL, "vGIC of %u SPIs, %u vCPUs", g->nspis,
				 g->nvcpus);
	return save_parts(w, SNAP_REC_VGIC, g, sizeof(*g), spis, g->nspis * sizeof(*spis), cpus,
			  g->nvcpus * sizeof(*cpus));
}

int snap_save_timer(struct snap_save *w, const struct snap_timer *t,
		    const struct snap_timer_cpu *cpus)
{
	if (t->nvcpus > MAX_VCPUS)
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

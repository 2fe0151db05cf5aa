/*
 * A chunk's payload: its non-zero pages, one after the other, as one zstd
 * frame, or as they are when zstd does not make them smaller. The zero
 * pages are only bits in the map.
 */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct snap_encoder {
	ZSTD_CCtx *cc;
	uint8_t *stage; /* the non-zero pages gathered, when some are zero */
	void (*pace)(void *ctx);
	void *pace_ctx;
};

#define PACE_BYTES (64u << 10) /* input compressed between two pace calls */

struct snap_decoder {
	ZSTD_DCtx *dc;
	char err[SNAP_ERR_LEN];
};

static bool page_zero(const struct snap_chunk *c, unsigned i)
{
	return c->zero_map[i / 8] >> (i % 8) & 1;
}

struct snap_encoder *snap_encoder_new(int level)
{
	struct snap_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cc = ZSTD_createCCtx();
	e->stage = snap_alloc_buf(SNAP_CHUNK_BYTES);
	if (!e->cc || !e->stage ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(e->cc, ZSTD_c_compressionLevel,
						level ? level : SNAP_LEVEL_DEFAULT))) {
		snap_encoder_free(e);
		return NULL;
	}
	return e;
}

void snap_encoder_pace(struct snap_encoder *e, void (*fn)(void *ctx), void *ctx)
{
	e->pace = fn;
	e->pace_ctx = ctx;
}

static void pace(const struct snap_encoder *e)
{
	if (e->pace)
		e->pace(e->pace_ctx);
}

/* src (bytes) as one zstd frame into out, in pieces with a pace call
 * after each; the size, or bytes or more when it does not get smaller. */
static size_t compress_paced(struct snap_encoder *e, void *out, const void *src, size_t bytes)
{
	ZSTD_inBuffer in = {src, 0, 0};
	ZSTD_outBuffer ob = {out, bytes, 0};
	if (ZSTD_isError(ZSTD_CCtx_reset(e->cc, ZSTD_reset_session_only)))
		return bytes;
	while (in.size < bytes) {
		in.size = bytes - in.size > PACE_BYTES ? in.size + PACE_BYTES : bytes;
		ZSTD_EndDirective end = in.size == bytes ? ZSTD_e_end : ZSTD_e_continue;
		size_t left;
		do {
			left = ZSTD_compressStream2(e->cc, &ob, &in, end);
			if (ZSTD_isError(left) || (left && ob.pos == ob.size))
				return bytes; /* no room: it does not get smaller */
		} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
		pace(e);
	}
	return ob.pos;
}

void snap_encoder_free(struct snap_encoder *e)
{
	if (!e)
		return;
	ZSTD_freeCCtx(e->cc);
	snap_free(e->stage);
	free(e);
}

int snap_chunk_encode(struct snap_encoder *e, const void *raw, uint32_t pages, void *out,
		      struct snap_chunk *c)
{
	if (pages == 0 || pages > SNAP_CHUNK_PAGES)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->pages = pages;
	const uint8_t *src = raw;
	for (unsigned i = 0; i < pages; i++) {
		if (snap_all_zero(src + (size_t)i * SNAP_PAGE, SNAP_PAGE))
			c->zero_map[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			c->nonzero++;
	}
	if (c->nonzero < pages) {
		uint8_t *dst = e->stage;
		for (unsigned i = 0; i < pages; i++)
			if (!page_zero(c, i)) {
				memcpy(dst, src + (size_t)i * SNAP_PAGE, SNAP_PAGE);
				dst += SNAP_PAGE;
			}
		src = e->stage;
	}
	size_t bytes = (size_t)c->nonzero * SNAP_PAGE;
	pace(e);
	size_t n = !bytes    ? 0
		   : e->pace ? compress_paced(e, out, src, bytes)
			     : ZSTD_compress2(e->cc, out, bytes, src, bytes);
	if (bytes && (ZSTD_isError(n) || n >= bytes)) {
		memcpy(out, src, bytes); /* incompressible: stored as it is */
		n = bytes;
		c->codec = SNAP_CODEC_NONE;
	} else {
		c->codec = bytes ? SNAP_CODEC_ZSTD : SNAP_CODEC_NONE;
	}
	c->payload_len = (uint32_t)n;
	memset((uint8_t *)out + n, 0, snap_chunk_blocks(c) * SNAP_BLOCK - n);
	c->payload_hash = snap_hash(out, n);
	pace(e);
	c->raw_hash = snap_hash(raw, (size_t)pages * SNAP_PAGE);
	return 0;
}

int chunk_check_desc(const struct snap_chunk *c, char *why, size_t n)
{
	if (c->pages == 0 || c->pages > SNAP_CHUNK_PAGES)
		return snap_failn(why, n, -EBADMSG, "%u pages (1..%u)", c->pages, SNAP_CHUNK_PAGES);
	unsigned zeros = 0;
	for (unsigned i = 0; i < SNAP_CHUNK_PAGES; i++)
		if (page_zero(c, i)) {
			if (i >= c->pages)
				return snap_failn(why, n, -EBADMSG,
						  "zero-page bit %u past its %u pages", i,
						  c->pages);
			zeros++;
		}
	if (c->nonzero != c->pages - zeros)
		return snap_failn(why, n, -EBADMSG, "%u non-zero pages but %u bits clear",
				  c->nonzero, c->pages - zeros);
	uint64_t bytes = (uint64_t)c->nonzero * SNAP_PAGE;
	bool ok;
	switch (c->codec) {
	case SNAP_CODEC_NONE:
		ok = c->payload_len == bytes;
		break;
	case SNAP_CODEC_ZSTD:
		ok = c->payload_len > 0 && c->payload_len <= bytes;
		break;
	default:
		return snap_failn(why, n, -EBADMSG, "unknown codec %u", c->codec);
	}
	if (!ok)
		return snap_failn(why, n, -EBADMSG, "payload of %u bytes for %u non-zero pages",
				  c->payload_len, c->nonzero);
	if (c->reserved || (c->payload_len ? c->block < DATA_START : c->block != 0))
		return snap_failn(why, n, -EBADMSG, "bad block %llu or reserved field",
				  (unsigned long long)c->block);
	return 0;
}

struct snap_decoder *snap_decoder_new(void)
{
	struct snap_decoder *d = calloc(1, sizeof(*d));
	if (d && !(d->dc = ZSTD_createDCtx())) {
		free(d);
		d = NULL;
	}
	return d;
}

void snap_decoder_free(struct snap_decoder *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->dc);
	free(d);
}

const char *snap_decoder_error(const struct snap_decoder *d)
{
	return d->err;
}

/* The non-zero pages sit packed at the front of raw: move each to its
 * place, from the last one down (no page moves over one still to move),
 * and clear the zero pages. */
static void spread(const struct snap_chunk *c, uint8_t *raw)
{
	unsigned k = c->nonzero;
	for (unsigned i = c->pages; i-- > 0;) {
		uint8_t *at = raw + (size_t)i * SNAP_PAGE;
		if (page_zero(c, i)) {
			memset(at, 0, SNAP_PAGE);
		} else if (--k != i) {
			memcpy(at, raw + (size_t)k * SNAP_PAGE, SNAP_PAGE);
		}
	}
}

int snap_chunk_decode(struct snap_decoder *d, const struct snap_chunk *c, const void *payload,
		      void *raw)
{
	d->err[0] = 0;
	int err = chunk_check_desc(c, d->err, sizeof(d->err));
	if (err)
		return err;
	if (snap_hash(payload, c->payload_len) != c->payload_hash)
		return snap_failn(d->err, sizeof(d->err), -EBADMSG,
				  "stored bytes do not match their checksum");
	size_t bytes = (size_t)c->nonzero * SNAP_PAGE;
	if (c->codec == SNAP_CODEC_ZSTD) {
		size_t r = ZSTD_decompressDCtx(d->dc, raw, bytes, payload, c->payload_len);
		if (ZSTD_isError(r))
			return snap_failn(d->err, sizeof(d->err), -EBADMSG, "zstd: %s",
					  ZSTD_getErrorName(r));
		if (r != bytes)
			return snap_failn(d->err, sizeof(d->err), -EBADMSG,
					  "zstd frame gave %zu bytes, not %zu", r, bytes);
	} else {
		memcpy(raw, payload, bytes);
	}
	spread(c, raw);
	if (snap_hash(raw, (size_t)c->pages * SNAP_PAGE) != c->raw_hash)
		return snap_failn(d->err, sizeof(d->err), -EBADMSG,
				  "guest pages do not match their checksum");
	return 0;
}

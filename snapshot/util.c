/* Checksums, error text, buffers and block extent lists. */
#include "snapshot/internal.h"
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t snap_hash(const void *p, size_t n)
{
	return XXH64(p, n, 0);
}

int snap_failn(char *buf, size_t n, int code, const char *fmt, ...)
{
	if (buf && n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, n, fmt, ap);
		va_end(ap);
	}
	return code;
}

void *snap_alloc_buf(size_t bytes)
{
	size_t n = (bytes + SNAP_BLOCK - 1) / SNAP_BLOCK * SNAP_BLOCK;
	/* memalign: newlib's aligned_alloc needs a posix_memalign it lacks */
	return memalign(SNAP_BLOCK, n ? n : SNAP_BLOCK);
}

void *snap_alloc_io(size_t bytes)
{
	void *p = snap_alloc_buf(bytes);
	if (p)
		memset(p, 0, (bytes + SNAP_BLOCK - 1) / SNAP_BLOCK * SNAP_BLOCK);
	return p;
}

void snap_free(void *p)
{
	free(p);
}

bool snap_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	/* word at a time where aligned: this runs over every guest page */
	while (n && ((uintptr_t)b & 7)) {
		if (*b++)
			return false;
		n--;
	}
	const uint64_t *w = (const uint64_t *)(const void *)b;
	for (; n >= 32; n -= 32, w += 4)
		if (w[0] | w[1] | w[2] | w[3])
			return false;
	b = (const uint8_t *)w;
	while (n--)
		if (*b++)
			return false;
	return true;
}

void snap_copy_name(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t n = strnlen(src, srclen);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

bool snap_name_valid(const char *name)
{
	size_t n = name ? strnlen(name, SNAP_NAME_MAX + 1) : 0;
	if (n == 0 || n > SNAP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* ---- extents ---- */

static int ext_grow(struct extents *x)
{
	if (x->n < x->cap)
		return 0;
	size_t cap = x->cap ? 2 * x->cap : 16;
	struct extent *e = realloc(x->e, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	x->e = e;
	x->cap = cap;
	return 0;
}

/* The first extent ending after block b. */
static size_t ext_after(const struct extents *x, uint64_t b)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->e[mid].start + x->e[mid].len <= b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int ext_add(struct extents *x, uint64_t start, uint64_t len)
{
	if (len == 0)
		return 0;
	if (start + len < start)
		return -EINVAL;
	size_t i = ext_after(x, start);
	if (i < x->n && x->e[i].start < start + len)
		return -EEXIST;
	bool join_prev = i > 0 && x->e[i - 1].start + x->e[i - 1].len == start;
	bool join_next = i < x->n && x->e[i].start == start + len;
	if (join_prev && join_next) {
		x->e[i - 1].len += len + x->e[i].len;
		memmove(&x->e[i], &x->e[i + 1], (x->n - i - 1) * sizeof(x->e[0]));
		x->n--;
	} else if (join_prev) {
		x->e[i - 1].len += len;
	} else if (join_next) {
		x->e[i].start = start;
		x->e[i].len += len;
	} else {
		int err = ext_grow(x);
		if (err)
			return err;
		memmove(&x->e[i + 1], &x->e[i], (x->n - i) * sizeof(x->e[0]));
		x->e[i] = (struct extent){start, len};
		x->n++;
	}
	return 0;
}

int ext_union(struct extents *x, uint64_t start, uint64_t len)
{
	if (len == 0)
		return 0;
	uint64_t end = start + len;
	if (end < start)
		return -EINVAL;
	/* the extents touching [start, end) become one */
	size_t i = ext_after(x, start ? start - 1 : 0), j = i;
	while (j < x->n && x->e[j].start <= end)
		j++;
	if (i == j)
		return ext_add(x, start, len);
	uint64_t lo = x->e[i].start < start ? x->e[i].start : start;
	uint64_t last = x->e[j - 1].start + x->e[j - 1].len;
	x->e[i] = (struct extent){lo, (last > end ? last : end) - lo};
	memmove(&x->e[i + 1], &x->e[j], (x->n - j) * sizeof(x->e[0]));
	x->n -= j - i - 1;
	return 0;
}

/* First fit in [from, hi), then in [lo, from). */
static bool ext_scan(const struct extents *x, uint64_t from, uint64_t hi, uint64_t len,
		     uint64_t *start)
{
	uint64_t at = from;
	for (size_t i = ext_after(x, from); at < hi; i++) {
		uint64_t end = i < x->n ? x->e[i].start : hi;
		if (end > hi)
			end = hi;
		if (end >= at && end - at >= len) {
			*start = at;
			return true;
		}
		if (i >= x->n)
			break;
		at = x->e[i].start + x->e[i].len;
	}
	return false;
}

int ext_find(const struct extents *x, uint64_t lo, uint64_t hi, uint64_t from, uint64_t len,
	     uint64_t *start)
{
	if (from < lo || from >= hi)
		from = lo;
	if (ext_scan(x, from, hi, len, start))
		return 0;
	/* the run may straddle `from`: rescan the whole area */
	if (from > lo && ext_scan(x, lo, hi, len, start))
		return 0;
	return -ENOSPC;
}

bool ext_covers(const struct extents *x, uint64_t start, uint64_t len)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->e[i].start <= start && start - x->e[i].start + len <= x->e[i].len)
			return true;
	return false;
}

int ext_copy(struct extents *dst, const struct extents *src)
{
	*dst = (struct extents){0};
	if (!src->n)
		return 0;
	dst->e = malloc(src->n * sizeof(src->e[0]));
	if (!dst->e)
		return -ENOMEM;
	memcpy(dst->e, src->e, src->n * sizeof(src->e[0]));
	dst->n = dst->cap = src->n;
	return 0;
}

uint64_t ext_total(const struct extents *x)
{
	uint64_t t = 0;
	for (size_t i = 0; i < x->n; i++)
		t += x->e[i].len;
	return t;
}

void ext_free(struct extents *x)
{
	free(x->e);
	*x = (struct extents){0};
}

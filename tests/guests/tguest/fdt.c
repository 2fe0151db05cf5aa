/*
 * Just enough flattened device tree reading for tguest: /chosen/bootargs,
 * the MPIDRs of /cpus/cpu@*, and the first /memory reg. One pass over the
 * structure block, every read bounds-checked against the header (the blob
 * comes from whoever loaded us), no libfdt.
 */
#include "tguest.h"

#define FDT_MAGIC      0xd00dfeedU
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP	       4
#define FDT_END	       9
#define FDT_MAX_SIZE   (4U << 20) /* sanity bound on totalsize */
#define MAX_DEPTH      8

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A 1- or 2-cell number (the only sizes tguest needs). */
static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	return cells == 2 ? (uint64_t)be32(p) << 32 | be32(p + 4) : be32(p);
}

static uint32_t align4(uint32_t n)
{
	return (n + 3) & ~3U;
}

bool dt_is_valid(const void *blob)
{
	const uint8_t *h = blob;
	uint32_t total, off_struct, size_struct, off_strings, size_strings;

	if (be32(h) != FDT_MAGIC)
		return false;
	total = be32(h + 4);
	off_struct = be32(h + 8);
	off_strings = be32(h + 12);
	size_strings = be32(h + 32);
	size_struct = be32(h + 36);
	/* version >= 17 has size_dt_struct; every current tool writes 17 */
	return total >= 40 && total <= FDT_MAX_SIZE && be32(h + 20) >= 17 && off_struct < total &&
	       size_struct <= total - off_struct && off_strings < total &&
	       size_strings <= total - off_strings;
}

static bool starts_with(const char *s, const char *prefix)
{
	return tg_strncmp(s, prefix, tg_strlen(prefix)) == 0;
}

static bool node_is(const char *name, const char *base)
{
	size_t n = tg_strlen(base);

	return tg_strncmp(name, base, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

/* Walk state: names of the open nodes and the cell sizes that apply. */
struct walk {
	const char *names[MAX_DEPTH + 1]; /* names[1] is the root ("") */
	int depth;
	uint32_t root_ac, root_sc, cpus_ac;
};

static void on_prop(struct walk *w, struct dt_info *info, const char *prop, const uint8_t *val,
		    uint32_t len)
{
	const char *n2 = w->depth >= 2 ? w->names[2] : "";

	if (w->depth == 1 && !tg_strncmp(prop, "#address-cells", 15) && len == 4)
		w->root_ac = be32(val);
	else if (w->depth == 1 && !tg_strncmp(prop, "#size-cells", 12) && len == 4)
		w->root_sc = be32(val);
	else if (w->depth == 2 && node_is(n2, "chosen") && !tg_strncmp(prop, "bootargs", 9) &&
		 len > 0 && val[len - 1] == '\0')
		info->bootargs = (const char *)val;
	else if (w->depth == 2 && node_is(n2, "cpus") && !tg_strncmp(prop, "#address-cells", 15) &&
		 len == 4)
		w->cpus_ac = be32(val);
	else if (w->depth == 2 && node_is(n2, "memory") && !tg_strncmp(prop, "reg", 4) &&
		 !info->mem_size && w->root_ac <= 2 && w->root_sc <= 2 && w->root_ac &&
		 w->root_sc && len >= 4 * (w->root_ac + w->root_sc)) {
		info->mem_base = read_cells(val, w->root_ac);
		info->mem_size = read_cells(val + 4 * w->root_ac, w->root_sc);
	} else if (w->depth == 3 && node_is(n2, "cpus") && starts_with(w->names[3], "cpu@") &&
		   !tg_strncmp(prop, "reg", 4) && w->cpus_ac && w->cpus_ac <= 2 &&
		   len >= 4 * w->cpus_ac && info->ncpus < MAX_CPUS) {
		info->mpidr[info->ncpus++] = read_cells(val, w->cpus_ac);
	}
}

void dt_parse(const void *blob, struct dt_info *info)
{
	const uint8_t *b = blob;
	const uint8_t *p = b + be32(b + 8), *end = p + be32(b + 36);
	const char *strs = (const char *)b + be32(b + 12);
	uint32_t strs_size = be32(b + 32);
	struct walk w = {.root_ac = 2, .root_sc = 1, .cpus_ac = 1};

	memset(info, 0, sizeof(*info));
	while (p + 4 <= end) {
		uint32_t tok = be32(p);

		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			uint32_t n = 0;

			while (p + n < end && name[n])
				n++;
			if (p + n >= end)
				return; /* unterminated name */
			p += align4(n + 1);
			if (++w.depth <= MAX_DEPTH)
				w.names[w.depth] = name;
		} else if (tok == FDT_END_NODE) {
			if (--w.depth < 0)
				return;
		} else if (tok == FDT_PROP) {
			uint32_t len, nameoff;

			if (p + 8 > end)
				return;
			len = be32(p);
			nameoff = be32(p + 4);
			if (len > (uint32_t)(end - p) - 8 || nameoff >= strs_size)
				return;
			if (w.depth <= MAX_DEPTH)
				on_prop(&w, info, strs + nameoff, p + 8, len);
			p += 8 + align4(len);
		} else if (tok != FDT_NOP) {
			return; /* FDT_END, or a corrupt token */
		}
	}
}

/* Finds "key=value" as a whole word in args; copies value to out. */
bool bootarg(const char *args, const char *key, char *out, size_t outsz)
{
	size_t klen = tg_strlen(key);
	const char *p = args;

	if (!args || !outsz)
		return false;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!tg_strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = 0;

			p += klen + 1;
			while (p[n] && p[n] != ' ' && n + 1 < outsz) {
				out[n] = p[n];
				n++;
			}
			out[n] = '\0';
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

/* tguest.KEY=<decimal> from the bootargs, dflt if absent or not a number. */
unsigned arg_uint(const char *key, unsigned dflt)
{
	char buf[12];
	unsigned n = 0;

	if (!bootarg(dt.bootargs, key, buf, sizeof(buf)))
		return dflt;
	if (buf[0] < '0' || buf[0] > '9')
		return dflt;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (unsigned)(*p - '0');
	return n;
}

/*
 * /scheduler of \tessera\config.dtb: one cpu@N node per CPU that does not
 * keep today's default (docs/config.md). User input: every problem is a
 * message naming the node and the property; a CPU whose node is bad runs
 * none of its partitions (their timing would not be what was asked for).
 */
#include "kernel/vm/sched_policy.h"
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US_MAX 10000000u /* 10 s: anything longer is a typo */

/* The first error of a CPU node. */
static void bad(struct sched_cpu_cfg *c, unsigned cpu, const char *prop, const char *fmt, ...)
{
	if (!c->valid)
		return;
	c->valid = false;
	int n = prop ? snprintf(c->error, sizeof(c->error),
				"/scheduler/cpu@%u: property \"%s\": ", cpu, prop)
		     : snprintf(c->error, sizeof(c->error), "/scheduler/cpu@%u: ", cpu);
	if (n < 0 || (size_t)n >= sizeof(c->error))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error + n, sizeof(c->error) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A partition refused because of the schedule (the same form as
 * part_config.c's messages). */
static void refuse(struct part_cfg *p, const char *prop, const char *fmt, ...)
{
	if (!p->valid)
		return;
	p->valid = false;
	int n = snprintf(p->error, sizeof(p->error), "partition \"%s\": property \"%s\": ", p->name,
			 prop);
	if (n < 0 || (size_t)n >= sizeof(p->error))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error + n, sizeof(p->error) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- one cpu@N node ---- */

struct cpu_node {
	struct sched_cpu_cfg *c;
	unsigned cpu;
	const void *windows, *owners; /* raw values, read once the policy is known */
	int wlen, olen;
	bool frame_seen, slice_seen;
};

static bool us_value(struct cpu_node *n, const char *prop, const void *v, int len, uint32_t *out)
{
	if (len != 4) {
		bad(n->c, n->cpu, prop, "expected one 32-bit cell, got %d bytes", len);
		return false;
	}
	uint32_t us = fdt32_ld(v);
	if (us == 0 || us > US_MAX) {
		bad(n->c, n->cpu, prop, "%u us is out of range (1-%u)", us, US_MAX);
		return false;
	}
	*out = us;
	return true;
}

static void parse_policy(struct cpu_node *n, const char *prop, const char *s, int len)
{
	static const char *const names[] = {
	    [SCHED_PINNED] = "pinned", [SCHED_CYCLIC] = "cyclic", [SCHED_PRIORITY] = "priority"};
	if (len > 1 && s[len - 1] == '\0' && strlen(s) == (size_t)len - 1)
		for (unsigned i = SCHED_PINNED; i < ARRAY_SIZE(names); i++)
			if (strcmp(s, names[i]) == 0) {
				n->c->policy = (enum sched_policy)i;
				return;
			}
	bad(n->c, n->cpu, prop, "expected one of \"pinned\", \"cyclic\", \"priority\"");
}

static void parse_prop(struct cpu_node *n, const char *name, const void *v, int len)
{
	if (strcmp(name, "policy") == 0)
		parse_policy(n, name, v, len);
	else if (strcmp(name, "major-frame-us") == 0) {
		n->frame_seen = true;
		us_value(n, name, v, len, &n->c->frame_us);
	} else if (strcmp(name, "slice-us") == 0) {
		n->slice_seen = true;
		us_value(n, name, v, len, &n->c->slice_us);
	} else if (strcmp(name, "windows") == 0) {
		n->windows = v;
		n->wlen = len;
	} else if (strcmp(name, "window-partitions") == 0) {
		n->owners = v;
		n->olen = len;
	} else if (strcmp(name, "compatible") && strcmp(name, "phandle"))
		bad(n->c, n->cpu, name, "unknown property (see docs/config.md)");
}

/* Window i against the frame and the one before it. */
static void check_window(struct cpu_node *n, unsigned i)
{
	const struct sched_window_cfg *w = &n->c->win[i], *prev = i ? w - 1 : NULL;
	unsigned long long start = w->offset_us, end = start + w->length_us;
	if (!w->length_us)
		bad(n->c, n->cpu, "windows", "window %u has length 0", i);
	else if (end > n->c->frame_us)
		bad(n->c, n->cpu, "windows",
		    "window %u (%llu-%llu us) ends after the major frame (%u us)", i, start, end,
		    n->c->frame_us);
	else if (prev && w->offset_us < prev->offset_us)
		bad(n->c, n->cpu, "windows",
		    "window %u starts before window %u (list windows in time order)", i, i - 1);
	else if (prev && w->offset_us < prev->offset_us + prev->length_us)
		bad(n->c, n->cpu, "windows",
		    "window %u (%llu-%llu us) overlaps window %u (%u-%u us)", i, start, end, i - 1,
		    prev->offset_us, prev->offset_us + prev->length_us);
}

/* The i-th string of a string list value (len bytes), or NULL; *slen
 * its length. */
static const char *list_get(const char *v, int len, unsigned i, int *slen)
{
	for (int at = 0; at < len;) {
		const char *e = memchr(v + at, '\0', (size_t)(len - at));
		if (!e)
			return NULL;
		if (i-- == 0) {
			*slen = (int)(e - (v + at));
			return v + at;
		}
		at = (int)(e - v) + 1;
	}
	return NULL;
}

static int list_count(const char *v, int len)
{
	int n = 0, l;
	while (list_get(v, len, (unsigned)n, &l))
		n++;
	return len > 0 && v[len - 1] == '\0' ? n : -1;
}

static void parse_windows(struct cpu_node *n)
{
	struct sched_cpu_cfg *c = n->c;
	if (!n->windows) {
		bad(c, n->cpu, "windows", "missing (required with policy = \"cyclic\")");
		return;
	}
	if (n->wlen <= 0 || n->wlen % 8) {
		bad(c, n->cpu, "windows", "expected <offset-us length-us> pairs of 32-bit cells");
		return;
	}
	if (n->wlen / 8 > SP_MAX_WINDOWS) {
		bad(c, n->cpu, "windows", "%d windows, at most %u", n->wlen / 8, SP_MAX_WINDOWS);
		return;
	}
	c->nwin = (unsigned)n->wlen / 8;
	int count = n->owners ? list_count(n->owners, n->olen) : -1;
	if (!n->owners) {
		bad(c, n->cpu, "window-partitions", "missing (required with policy = \"cyclic\")");
		return;
	}
	if (count != (int)c->nwin) {
		bad(c, n->cpu, "window-partitions", "expected %u partition names, one per window",
		    c->nwin);
		return;
	}
	const fdt32_t *cell = n->windows;
	for (unsigned i = 0; i < c->nwin && c->valid; i++) {
		struct sched_window_cfg *w = &c->win[i];
		int len;
		const char *s = list_get(n->owners, n->olen, i, &len);
		w->offset_us = fdt32_ld(cell + 2 * i);
		w->length_us = fdt32_ld(cell + 2 * i + 1);
		w->part = SP_NONE;
		if (!s || len <= 0 || (size_t)len >= sizeof(w->owner))
			bad(c, n->cpu, "window-partitions", "window %u: not a partition name", i);
		else
			memcpy(w->owner, s, (size_t)len + 1);
		check_window(n, i);
	}
}

/* What is given must belong to the policy, and what it needs is given. */
static void check_node(struct cpu_node *n)
{
	struct sched_cpu_cfg *c = n->c;
	if (c->policy == SCHED_DEFAULT) {
		bad(c, n->cpu, "policy", "missing (required)");
		return;
	}
	if (c->policy != SCHED_CYCLIC) {
		const char *extra = n->frame_seen ? "major-frame-us"
				    : n->windows  ? "windows"
				    : n->owners	  ? "window-partitions"
						  : NULL;
		if (extra)
			bad(c, n->cpu, extra, "only used with policy = \"cyclic\"");
	}
	if (c->policy == SCHED_PINNED && n->slice_seen)
		bad(c, n->cpu, "slice-us", "not used with policy = \"pinned\"");
	if (c->policy != SCHED_CYCLIC || !c->valid)
		return;
	if (!n->frame_seen)
		bad(c, n->cpu, "major-frame-us", "missing (required with policy = \"cyclic\")");
	else
		parse_windows(n);
}

/* "cpu@N", N decimal below 64. */
static int cpu_number(const char *name)
{
	if (strncmp(name, "cpu@", 4) || !name[4] || strlen(name + 4) > 2)
		return -1;
	char *end;
	unsigned long v = strtoul(name + 4, &end, 10);
	if (*end || v >= 64 || (name[4] == '0' && name[5]))
		return -1;
	return (int)v;
}

static int parse_cpu(struct sched_cfg *out, const void *cfg, int node, char *err, size_t errlen)
{
	const char *name = fdt_get_name(cfg, node, NULL);
	int cpu = name ? cpu_number(name) : -1, off;
	if (cpu < 0) {
		snprintf(err, errlen, "/scheduler/%s: expected a node cpu@N, N a CPU number (0-63)",
			 name ? name : "?");
		return -1;
	}
	if (out->listed & BIT(cpu)) {
		snprintf(err, errlen, "/scheduler/cpu@%d: listed twice", cpu);
		return -1;
	}
	out->listed |= BIT(cpu);
	struct cpu_node n = {.c = &out->cpu[cpu], .cpu = (unsigned)cpu};
	fdt_for_each_property_offset(off, cfg, node)
	{
		const char *pname;
		int len;
		const void *v = fdt_getprop_by_offset(cfg, off, &pname, &len);
		if (v)
			parse_prop(&n, pname, v, len);
	}
	int sub = fdt_first_subnode(cfg, node);
	if (sub >= 0)
		bad(n.c, n.cpu, NULL, "unexpected sub-node \"%s\"", fdt_get_name(cfg, sub, NULL));
	check_node(&n);
	return 0;
}

int sched_config_parse(const void *cfg, struct sched_cfg *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ARRAY_SIZE(out->cpu); i++)
		out->cpu[i] = (struct sched_cpu_cfg){
		    .policy = SCHED_DEFAULT, .slice_us = SCHED_SLICE_US_DEFAULT, .valid = true};
	int e = fdt_check_header(cfg);
	if (e) {
		snprintf(err, errlen, "config.dtb: not a valid device tree: %s", fdt_strerror(e));
		return -1;
	}
	int top = fdt_path_offset(cfg, "/scheduler"), node;
	if (top == -FDT_ERR_NOTFOUND)
		return 0;
	if (top < 0) {
		snprintf(err, errlen, "config.dtb: /scheduler: %s", fdt_strerror(top));
		return -1;
	}
	fdt_for_each_subnode(node, cfg, top)
	{
		if (parse_cpu(out, cfg, node, err, errlen))
			return -1;
	}
	return 0;
}

/* ---- against the partitions and the machine ---- */

static int find_part(const struct part_cfg *p, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return (int)i;
	return SP_NONE;
}

/* How many of p's vCPUs go to CPU cpu (vCPU k to the (k mod ncpus)-th CPU
 * of its "cpus", partition.c). */
static unsigned vcpus_on(const struct part_cfg *p, unsigned cpu)
{
	unsigned ncpus = (unsigned)__builtin_popcountll(p->cpu_mask);
	unsigned pos = (unsigned)__builtin_popcountll(p->cpu_mask & (BIT(cpu) - 1));
	if (!(p->cpu_mask & BIT(cpu)) || !ncpus)
		return 0;
	return p->vcpus / ncpus + (pos < p->vcpus % ncpus);
}

static void check_owners(struct sched_cpu_cfg *c, unsigned cpu, const struct part_cfg *p,
			 unsigned n)
{
	for (unsigned w = 0; w < c->nwin && c->valid; w++) {
		int i = find_part(p, n, c->win[w].owner);
		c->win[w].part = i;
		if (i == SP_NONE)
			bad(c, cpu, "window-partitions", "window %u: no partition \"%s\"", w,
			    c->win[w].owner);
		else if (!(p[i].cpu_mask & BIT(cpu)))
			bad(c, cpu, "window-partitions",
			    "window %u: partition \"%s\" does not have CPU %u in its \"cpus\"", w,
			    c->win[w].owner, cpu);
	}
}

static bool owns_window(const struct sched_cpu_cfg *c, int part)
{
	for (unsigned w = 0; w < c->nwin; w++)
		if (c->win[w].part == part)
			return true;
	return false;
}

/* p on the listed CPU cpu. */
static void check_partition(const struct sched_cpu_cfg *c, unsigned cpu, struct part_cfg *p,
			    int idx)
{
	unsigned k = vcpus_on(p, cpu);
	if (!c->valid)
		refuse(p, "cpus", "CPU %u has an invalid schedule (/scheduler/cpu@%u)", cpu, cpu);
	else if (c->policy == SCHED_PINNED && k != 1)
		refuse(p, "vcpus",
		       "%u vCPUs on CPU %u, whose policy is \"pinned\" (/scheduler/cpu@%u): "
		       "exactly one",
		       k, cpu, cpu);
	else if (c->policy == SCHED_CYCLIC && !owns_window(c, idx))
		refuse(p, "cpus", "CPU %u is cyclic and no window of /scheduler/cpu@%u is its", cpu,
		       cpu);
}

void sched_config_validate(struct sched_cfg *s, struct part_cfg *p, unsigned n, unsigned ncpus)
{
	for (unsigned cpu = 0; cpu < 64; cpu++) {
		struct sched_cpu_cfg *c = &s->cpu[cpu];
		if (!(s->listed & BIT(cpu)))
			continue;
		if (cpu >= ncpus)
			bad(c, cpu, NULL, "CPU %u does not exist (the machine has %u CPUs)", cpu,
			    ncpus);
		if (c->policy == SCHED_CYCLIC)
			check_owners(c, cpu, p, n);
		unsigned total = 0;
		for (unsigned i = 0; i < n; i++) {
			if (!p[i].valid || !(p[i].cpu_mask & BIT(cpu)))
				continue;
			check_partition(c, cpu, &p[i], (int)i);
			total += vcpus_on(&p[i], cpu);
			if (p[i].valid && total > SP_MAX_VCPUS)
				refuse(&p[i], "cpus", "CPU %u would run more than %u vCPUs", cpu,
				       SP_MAX_VCPUS);
		}
	}
	for (unsigned i = 0; i < n; i++)
		p[i].cpu_shared = p[i].cpu_mask & sched_shared_cpus(s);
}

uint64_t sched_shared_cpus(const struct sched_cfg *s)
{
	uint64_t m = 0;
	for (unsigned cpu = 0; cpu < 64; cpu++)
		if ((s->listed & BIT(cpu)) &&
		    (s->cpu[cpu].policy == SCHED_CYCLIC || s->cpu[cpu].policy == SCHED_PRIORITY))
			m |= BIT(cpu);
	return m;
}

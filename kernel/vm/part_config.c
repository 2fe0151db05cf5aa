/*
 * Partition configuration: /partitions of \tessera\config.dtb parsed into
 * struct part_cfg, then cross-checked against the machine (docs/config.md).
 * The config is user input: every problem becomes a message naming the
 * partition and the property, and only that partition is kept from
 * starting.
 */
#include "kernel/vm/guest.h"
#include "snapshot/snapshot.h"
#include <errno.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MIN_MEM (16ull << 20)
#define MIB(x)	((unsigned long long)((x) >> 20))

/* ---- error reporting ---- */

/* Records the first error of a partition (later ones are consequences or
 * would only repeat the fix the user has to make anyway). */
static void bad(struct part_cfg *p, const char *prop, const char *fmt, ...)
{
	if (!p->valid)
		return;
	p->valid = false;
	int n = prop ? snprintf(p->error, sizeof(p->error),
				"partition \"%s\": property \"%s\": ", p->name, prop)
		     : snprintf(p->error, sizeof(p->error), "partition \"%s\": ", p->name);
	if (n < 0 || (size_t)n >= sizeof(p->error))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error + n, sizeof(p->error) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void tree_error(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "config.dtb: %s: %s", what, fdt_strerror(e));
}

/* ---- property values ---- */

static bool get_u32(struct part_cfg *p, const char *prop, const void *v, int len, uint32_t *out)
{
	if (len != 4) {
		bad(p, prop, "expected one 32-bit cell, got %d bytes", len);
		return false;
	}
	*out = fdt32_ld(v);
	return true;
}

/* A 64-bit number written either as <lo> or as <hi lo> (/bits/ 64). */
static bool get_u64(struct part_cfg *p, const char *prop, const void *v, int len, uint64_t *out)
{
	if (len == 4) {
		*out = fdt32_ld(v);
		return true;
	}
	if (len == 8) {
		*out = fdt64_ld(v);
		return true;
	}
	bad(p, prop, "expected a number of 1 or 2 cells, got %d bytes", len);
	return false;
}

/* Exactly one NUL-terminated, non-empty string that fits dst. */
static bool get_str(struct part_cfg *p, const char *prop, const void *v, int len, char *dst,
		    size_t size)
{
	const char *s = v;
	if (len <= 1 || s[len - 1] != '\0' || strlen(s) != (size_t)len - 1) {
		bad(p, prop, "expected one non-empty string");
		return false;
	}
	if ((size_t)len > size) {
		bad(p, prop, "longer than %u characters", (unsigned)size - 1);
		return false;
	}
	memcpy(dst, s, (size_t)len);
	return true;
}

/* ---- one handler per property ---- */

static void prop_cpus(struct part_cfg *p, const char *prop, const void *v, int len)
{
	if (len <= 0 || len % 4) {
		bad(p, prop, "expected a list of CPU numbers (32-bit cells)");
		return;
	}
	for (int i = 0; i < len / 4; i++) {
		uint32_t c = fdt32_ld((const fdt32_t *)v + i);
		if (c >= 64)
			bad(p, prop, "CPU %u out of range (0-63)", c);
		else if (p->cpu_mask & BIT(c))
			bad(p, prop, "CPU %u listed twice", c);
		else
			p->cpu_mask |= BIT(c);
	}
}

static void prop_vcpus(struct part_cfg *p, const char *prop, const void *v, int len)
{
	uint32_t n;
	if (!get_u32(p, prop, v, len, &n))
		return;
	if (n < 1 || n > GUEST_MAX_VCPUS)
		bad(p, prop, "%u is out of range (1-%u)", n, GUEST_MAX_VCPUS);
	p->vcpus = n;
}

static void prop_memory(struct part_cfg *p, const char *prop, const void *v, int len)
{
	if (!get_u64(p, prop, v, len, &p->mem_size))
		return;
	if (!IS_ALIGNED(p->mem_size, SZ_2M))
		bad(p, prop, "%llu is not a multiple of 2 MiB", (unsigned long long)p->mem_size);
	else if (p->mem_size < MIN_MEM)
		bad(p, prop, "%llu MiB is less than the minimum of %llu MiB", MIB(p->mem_size),
		    MIB(MIN_MEM));
}

static void prop_memory_base(struct part_cfg *p, const char *prop, const void *v, int len)
{
	if (!get_u64(p, prop, v, len, &p->mem_base))
		return;
	/* 0 means "anywhere" to the loader, so it cannot be asked for */
	if (p->mem_base == 0)
		bad(p, prop, "0 is not supported (leave memory-base out to place anywhere)");
	else if (!IS_ALIGNED(p->mem_base, SZ_2M))
		bad(p, prop, "0x%llx is not 2 MiB aligned", (unsigned long long)p->mem_base);
}

static void prop_kernel(struct part_cfg *p, const char *prop, const void *v, int len)
{
	get_str(p, prop, v, len, p->kernel, sizeof(p->kernel));
}

static void prop_kernel_format(struct part_cfg *p, const char *prop, const void *v, int len)
{
	static const char *const names[] = {"auto", "image", "elf", "raw"};
	char s[8];
	if (!get_str(p, prop, v, len, s, sizeof(s)))
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0) {
			p->kfmt = (enum kernel_format)i;
			return;
		}
	bad(p, prop, "\"%s\" is not one of \"image\", \"elf\", \"raw\"", s);
}

static void prop_load_address(struct part_cfg *p, const char *prop, const void *v, int len)
{
	get_u64(p, prop, v, len, &p->load_addr);
}

static void prop_initrd(struct part_cfg *p, const char *prop, const void *v, int len)
{
	get_str(p, prop, v, len, p->initrd, sizeof(p->initrd));
}

static void prop_bootargs(struct part_cfg *p, const char *prop, const void *v, int len)
{
	/* an empty command line is legitimate */
	if (len == 1 && *(const char *)v == '\0')
		return;
	get_str(p, prop, v, len, p->bootargs, sizeof(p->bootargs));
}

static void prop_no_autostart(struct part_cfg *p, const char *prop, const void *v, int len)
{
	if (len != 0)
		bad(p, prop, "takes no value");
	p->autostart = false;
}

static void prop_its(struct part_cfg *p, const char *prop, const void *v, int len)
{
	if (len != 0)
		bad(p, prop, "takes no value");
	p->its = true;
}

/* DT convention: status = "disabled" keeps a node from being used; here
 * the partition is configured but not started at boot. */
static void prop_status(struct part_cfg *p, const char *prop, const void *v, int len)
{
	char s[16];
	if (get_str(p, prop, v, len, s, sizeof(s)) && strcmp(s, "okay") && strcmp(s, "ok"))
		p->autostart = false;
}

/* A maximum: the CPU's own limit caps it when the partition starts. 0 is
 * not accepted: no property means no SVE. */
static void prop_sve_max_vl(struct part_cfg *p, const char *prop, const void *v, int len)
{
	uint32_t n;
	if (!get_u32(p, prop, v, len, &n))
		return;
	if (n == 0 || n % 16)
		bad(p, prop, "%u is not a multiple of 16 bytes (128 bits) from 16 up", n);
	else if (n > PART_SVE_MAX)
		bad(p, prop, "%u is above the architectural maximum of %u bytes (2048 bits)", n,
		    PART_SVE_MAX);
	else
		p->sve_vl = n;
}

/* Checked as the snapshot format checks names, so a typo is reported at
 * boot rather than as a missing snapshot. */
static void prop_restore(struct part_cfg *p, const char *prop, const void *v, int len)
{
	if (get_str(p, prop, v, len, p->restore, sizeof(p->restore)) &&
	    !snap_name_valid(p->restore)) {
		bad(p, prop, "\"%s\" is not a snapshot name ([A-Za-z0-9._-], up to 47)",
		    p->restore);
		p->restore[0] = '\0';
	}
}

/* "bb:dd.f" or "0000:bb:dd.f", hex: segment 0 only. */
static int parse_hex(const char **s, unsigned max_digits, unsigned max)
{
	unsigned v = 0, n = 0;
	for (; n < max_digits; n++, (*s)++) {
		char c = **s;
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d == 16)
			break;
		v = v * 16 + d;
	}
	return n && v <= max ? (int)v : -1;
}

static int parse_bdf(const char *s)
{
	if (strncmp(s, "0000:", 5) == 0)
		s += 5;
	int bus = parse_hex(&s, 2, 0xff);
	if (bus < 0 || *s++ != ':')
		return -1;
	int dev = parse_hex(&s, 2, 0x1f);
	if (dev < 0 || *s++ != '.')
		return -1;
	int fn = parse_hex(&s, 1, 7);
	if (fn < 0 || *s)
		return -1;
	return bus << 8 | dev << 3 | fn;
}

void pci_bdf_str(uint16_t rid, char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x.%x", rid >> 8, (rid >> 3) & 0x1f, rid & 7);
}

static bool has_pci(const struct part_cfg *p, uint16_t rid)
{
	for (unsigned i = 0; i < p->npci; i++)
		if (p->pci[i] == rid)
			return true;
	return false;
}

static void prop_pci_devices(struct part_cfg *p, const char *prop, const void *v, int len)
{
	const char *s = v, *end = s + len;
	if (len <= 1 || s[len - 1] != '\0') {
		bad(p, prop, "expected a list of strings (\"bus:device.function\")");
		return;
	}
	for (; s < end; s += strlen(s) + 1) {
		int rid = parse_bdf(s);
		char bdf[16];
		if (rid < 0) {
			bad(p, prop,
			    "\"%.24s\" is not a PCI address (bus:device.function, e.g. "
			    "\"00:03.0\")",
			    s);
			return;
		}
		pci_bdf_str((uint16_t)rid, bdf, sizeof(bdf));
		if (has_pci(p, (uint16_t)rid)) {
			bad(p, prop, "device %s listed twice", bdf);
			return;
		}
		if (p->npci == PART_PCI_MAX) {
			bad(p, prop, "device %s: more than %u devices", bdf, PART_PCI_MAX);
			return;
		}
		p->pci[p->npci++] = (uint16_t)rid;
	}
}

/* Scheduling parameters for CPUs under the priority policy. */
static void prop_sched_priority(struct part_cfg *p, const char *prop, const void *v, int len)
{
	uint32_t n;
	if (!get_u32(p, prop, v, len, &n))
		return;
	if (n > 255)
		bad(p, prop, "%u is out of range (0-255)", n);
	else
		p->sched_prio = n;
}

static void prop_sched_us(struct part_cfg *p, const char *prop, const void *v, int len,
			  uint32_t *out)
{
	uint32_t n;
	if (!get_u32(p, prop, v, len, &n))
		return;
	if (n == 0)
		bad(p, prop, "0 is not a time (leave the property out for no budget)");
	else
		*out = n;
}

static void prop_sched_budget(struct part_cfg *p, const char *prop, const void *v, int len)
{
	prop_sched_us(p, prop, v, len, &p->sched_budget_us);
}

static void prop_sched_period(struct part_cfg *p, const char *prop, const void *v, int len)
{
	prop_sched_us(p, prop, v, len, &p->sched_period_us);
}

static void prop_ignored(struct part_cfg *p, const char *prop, const void *v, int len)
{
}

enum { P_CPUS, P_VCPUS, P_MEMORY, P_KERNEL, P_LOAD_ADDRESS, P_OTHER };
static const struct prop_rule {
	const char *name;
	void (*parse)(struct part_cfg *p, const char *prop, const void *v, int len);
	unsigned seen_bit; /* P_*: what the cross-checks need to know was given */
} rules[] = {
    {"cpus", prop_cpus, P_CPUS},
    {"vcpus", prop_vcpus, P_VCPUS},
    {"memory", prop_memory, P_MEMORY},
    {"memory-base", prop_memory_base, P_OTHER},
    {"kernel", prop_kernel, P_KERNEL},
    {"kernel-format", prop_kernel_format, P_OTHER},
    {"load-address", prop_load_address, P_LOAD_ADDRESS},
    {"initrd", prop_initrd, P_OTHER},
    {"bootargs", prop_bootargs, P_OTHER},
    {"no-autostart", prop_no_autostart, P_OTHER},
    {"its", prop_its, P_OTHER},
    {"status", prop_status, P_OTHER},
    {"sve-max-vl", prop_sve_max_vl, P_OTHER},
    {"restore", prop_restore, P_OTHER},
    {"pci-devices", prop_pci_devices, P_OTHER},
    {"sched-priority", prop_sched_priority, P_OTHER},
    {"sched-budget-us", prop_sched_budget, P_OTHER},
    {"sched-period-us", prop_sched_period, P_OTHER},
    {"compatible", prop_ignored, P_OTHER},
    {"phandle", prop_ignored, P_OTHER},
};

/* ---- one partition node ---- */

static bool name_ok(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return len > 0;
}

static void parse_name(struct part_cfg *p, const struct part_cfg *before, unsigned n, const char *s,
		       int len)
{
	size_t keep = MIN((size_t)len, sizeof(p->name) - 1);
	memcpy(p->name, s, keep);
	if ((size_t)len > keep)
		bad(p, NULL, "name longer than %u characters", (unsigned)sizeof(p->name) - 1);
	else if (!name_ok(s, len))
		bad(p, NULL, "name may only use a-z, 0-9, '_' and '-'");
	for (unsigned i = 0; i < n; i++)
		if (strcmp(before[i].name, p->name) == 0)
			bad(p, NULL, "a partition of this name is already defined");
}

/* Dispatches one property; returns the P_* bit it counts as. */
static unsigned parse_prop(struct part_cfg *p, const void *cfg, int off)
{
	const char *name;
	int len;
	const void *v = fdt_getprop_by_offset(cfg, off, &name, &len);
	if (!v) {
		bad(p, NULL, "unreadable property (%s)", fdt_strerror(len));
		return P_OTHER;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(rules); i++)
		if (strcmp(name, rules[i].name) == 0) {
			rules[i].parse(p, name, v, len);
			return rules[i].seen_bit;
		}
	bad(p, name, "unknown property (see docs/config.md)");
	return P_OTHER;
}

static void check_required(struct part_cfg *p, unsigned seen)
{
	static const char *const required[] = {
	    [P_CPUS] = "cpus", [P_MEMORY] = "memory", [P_KERNEL] = "kernel"};
	for (unsigned i = 0; i < ARRAY_SIZE(required); i++)
		if (required[i] && !(seen & BIT(i)))
			bad(p, required[i], "missing (required)");
}

static void check_vcpus(struct part_cfg *p, unsigned seen)
{
	unsigned ncpus = (unsigned)__builtin_popcountll(p->cpu_mask);
	if (!(seen & BIT(P_VCPUS)))
		p->vcpus = ncpus;
	if (!(seen & BIT(P_VCPUS)) && ncpus > GUEST_MAX_VCPUS)
		bad(p, "cpus", "%u CPUs, but a partition has at most %u vCPUs", ncpus,
		    GUEST_MAX_VCPUS);
}

static void check_load_address(struct part_cfg *p, unsigned seen)
{
	bool given = seen & BIT(P_LOAD_ADDRESS);
	if (p->kfmt == KFMT_RAW && !given)
		bad(p, "load-address", "required with kernel-format = \"raw\"");
	else if (p->kfmt != KFMT_RAW && given)
		bad(p, "load-address", "only used with kernel-format = \"raw\"");
	else if (given &&
		 (p->load_addr < GUEST_RAM_BASE || p->load_addr - GUEST_RAM_BASE >= p->mem_size))
		bad(p, "load-address", "0x%llx is outside the partition's RAM (0x%llx-0x%llx)",
		    (unsigned long long)p->load_addr, (unsigned long long)GUEST_RAM_BASE,
		    (unsigned long long)(GUEST_RAM_BASE + p->mem_size - 1));
}

static void check_sched_budget(struct part_cfg *p)
{
	if (p->sched_budget_us && !p->sched_period_us)
		bad(p, "sched-period-us", "missing (required with sched-budget-us)");
	else if (!p->sched_budget_us && p->sched_period_us)
		bad(p, "sched-budget-us", "missing (required with sched-period-us)");
	else if (p->sched_budget_us > p->sched_period_us)
		bad(p, "sched-budget-us", "%u us is longer than the period of %u us",
		    p->sched_budget_us, p->sched_period_us);
}

static int parse_partition(struct part_cfg *p, const struct part_cfg *before, unsigned n,
			   const void *cfg, int node)
{
	int len, off, sub;
	const char *name = fdt_get_name(cfg, node, &len);
	if (!name)
		return len;
	*p = (struct part_cfg){.valid = true, .autostart = true, .kfmt = KFMT_AUTO};
	parse_name(p, before, n, name, len);
	unsigned seen = 0;
	fdt_for_each_property_offset(off, cfg, node)
	{
		seen |= BIT(parse_prop(p, cfg, off));
	}
	if (off != -FDT_ERR_NOTFOUND)
		return off;
	fdt_for_each_subnode(sub, cfg, node)
	{
		const char *s = fdt_get_name(cfg, sub, NULL);
		bad(p, NULL, "unexpected sub-node \"%s\"", s ? s : "?");
	}
	check_required(p, seen);
	check_vcpus(p, seen);
	check_load_address(p, seen);
	check_sched_budget(p);
	return 0;
}

int part_config_parse(const void *cfg, struct part_cfg *out, unsigned max, char *err, size_t errlen)
{
	int e = fdt_check_header(cfg);
	if (e || (e = fdt_check_full(cfg, fdt_totalsize(cfg)))) {
		tree_error(err, errlen, "not a valid device tree", e);
		return -1;
	}
	int parts = fdt_path_offset(cfg, "/partitions"), node;
	if (parts == -FDT_ERR_NOTFOUND)
		return 0;
	unsigned n = 0;
	fdt_for_each_subnode(node, cfg, parts)
	{
		if (n == max) {
			snprintf(err, errlen, "/partitions: more than %u partitions", max);
			return -1;
		}
		if ((e = parse_partition(&out[n], out, n, cfg, node))) {
			tree_error(err, errlen, "/partitions", e);
			return -1;
		}
		n++;
	}
	if (node != -FDT_ERR_NOTFOUND) {
		tree_error(err, errlen, "/partitions", node);
		return -1;
	}
	return (int)n;
}

/* ---- validation against the machine ---- */

static void check_cpus_exist(struct part_cfg *p, unsigned ncpus)
{
	for (unsigned c = ncpus; c < 64; c++)
		if (p->cpu_mask & BIT(c)) {
			bad(p, "cpus", "CPU %u does not exist (the machine has %u CPUs)", c, ncpus);
			return;
		}
}

/* The later of two partitions sharing a CPU is the one refused, unless
 * the CPU's policy shares it (cpu_shared). */
static void check_cpus_free(struct part_cfg *p, unsigned i)
{
	for (unsigned j = 0; j < i; j++) {
		uint64_t shared =
		    p[i].cpu_mask & p[j].cpu_mask & ~(p[i].cpu_shared & p[j].cpu_shared);
		if (p[j].valid && shared) {
			bad(&p[i], "cpus", "CPU %u is already used by partition \"%s\"",
			    (unsigned)__builtin_ctzll(shared), p[j].name);
			return;
		}
	}
}

static const struct machine_pci *find_fn(const struct machine_desc *m, uint16_t rid)
{
	for (unsigned i = 0; i < m->npci; i++)
		if (m->pci[i].rid == rid)
			return &m->pci[i];
	return NULL;
}

/* Functions whose DMA carries the same stream ID cannot be told apart by
 * the SMMU: one partition gets all of them or none. */
static void check_group(struct part_cfg *p, const struct machine_desc *m,
			const struct machine_pci *f, const char *bdf)
{
	for (unsigned i = 0; i < m->npci; i++) {
		const struct machine_pci *o = &m->pci[i];
		char other[16];
		if (o == f || o->bridge || o->sid != f->sid || has_pci(p, o->rid))
			continue;
		pci_bdf_str(o->rid, other, sizeof(other));
		bad(p, "pci-devices",
		    "device %s shares stream ID 0x%x with %s, which must be assigned with it", bdf,
		    f->sid, other);
		return;
	}
}

/* The later of two partitions naming a device is the one refused. */
static void check_pci_device(struct part_cfg *p, unsigned i, uint16_t rid,
			     const struct machine_desc *m)
{
	const struct machine_pci *f = find_fn(m, rid);
	char bdf[16];
	pci_bdf_str(rid, bdf, sizeof(bdf));
	if (!f) {
		bad(&p[i], "pci-devices", "device %s does not exist", bdf);
		return;
	}
	if (f->bridge)
		bad(&p[i], "pci-devices",
		    "device %s is a PCI bridge (assign the devices behind it)", bdf);
	else if (!f->smmu)
		bad(&p[i], "pci-devices",
		    "device %s is not behind an SMMU (its DMA could not be confined)", bdf);
	else if (f->hyp)
		bad(&p[i], "pci-devices", "device %s is tessera's own disk", bdf);
	for (unsigned j = 0; j < i; j++)
		if (p[j].valid && has_pci(&p[j], rid))
			bad(&p[i], "pci-devices",
			    "device %s is already assigned to partition \"%s\"", bdf, p[j].name);
	check_group(&p[i], m, f, bdf);
}

bool part_pci_check(struct part_cfg *p, uint16_t rid, const struct machine_desc *m)
{
	p->valid = true;
	p->error[0] = '\0';
	char bdf[16];
	pci_bdf_str(rid, bdf, sizeof(bdf));
	if (has_pci(p, rid))
		bad(p, "pci-devices", "device %s is already assigned to it", bdf);
	else if (p->npci == PART_PCI_MAX)
		bad(p, "pci-devices", "device %s: more than %u devices", bdf, PART_PCI_MAX);
	if (!p->valid)
		return false;
	p->pci[p->npci++] = rid;
	for (unsigned k = 0; k < p->npci && p->valid; k++)
		check_pci_device(p, 0, p->pci[k], m);
	return p->valid;
}

static void check_pci(struct part_cfg *p, unsigned i, const struct machine_desc *m)
{
	for (unsigned k = 0; k < p[i].npci && p[i].valid; k++)
		check_pci_device(p, i, p[i].pci[k], m);
}

/* Size of an ESP file in whole MiB, rounded up (so that "more than" in a
 * message is true in MiB too). */
static unsigned long long file_mib(int64_t size)
{
	return MIB(ALIGN_UP((uint64_t)size, 1ull << 20));
}

/* Where the kernel ends, roughly: the file's length from where it goes.
 * An Image's BSS is not known here; the exact layout is checked again when
 * the partition starts. */
static uint64_t kernel_end(const struct part_cfg *p, int64_t size)
{
	uint64_t at = p->kfmt == KFMT_RAW ? p->load_addr - GUEST_RAM_BASE : 0;
	return at + (uint64_t)size;
}

static void check_kernel(struct part_cfg *p, const struct machine_desc *m, int64_t *size)
{
	*size = m->file_size(m->ctx, p->kernel);
	if (*size < 0)
		bad(p, "kernel", "kernel file %s not found on the ESP", p->kernel);
	else if (*size == 0)
		bad(p, "kernel", "kernel file %s is empty", p->kernel);
	else if (kernel_end(p, *size) > p->mem_size)
		bad(p, "kernel", "kernel file %s (%llu MiB) does not fit in the memory (%llu MiB)",
		    p->kernel, file_mib(*size), MIB(p->mem_size));
}

/* The initrd goes below the DTB, which takes the top GUEST_DTB_MAX bytes. */
static void check_initrd(struct part_cfg *p, const struct machine_desc *m, int64_t kernel_size)
{
	if (!p->initrd[0])
		return;
	int64_t size = m->file_size(m->ctx, p->initrd);
	uint64_t used = kernel_end(p, kernel_size) + GUEST_DTB_MAX;
	uint64_t left = p->mem_size > used ? p->mem_size - used : 0;
	if (size < 0)
		bad(p, "initrd", "initrd file %s not found on the ESP", p->initrd);
	else if ((uint64_t)size > left)
		bad(p, "initrd",
		    "initrd file %s (%llu MiB) does not fit in the memory left after the "
		    "kernel (%llu MiB)",
		    p->initrd, file_mib(size), MIB(left));
}

static void check_images(struct part_cfg *p, const struct machine_desc *m)
{
	int64_t kernel_size;
	if (!m->file_size)
		return;
	check_kernel(p, m, &kernel_size);
	if (p->valid)
		check_initrd(p, m, kernel_size);
}

static bool mr_contains(const struct memmap *m, uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->r[i].base <= base && base + size <= m->r[i].base + m->r[i].size)
			return true;
	return false;
}

/* The largest 2 MiB aligned block a first-fit allocation could return. */
static uint64_t largest_block(const struct memmap *m)
{
	uint64_t best = 0;
	for (unsigned i = 0; i < m->n; i++) {
		uint64_t start = ALIGN_UP(m->r[i].base, SZ_2M), end = m->r[i].base + m->r[i].size;
		if (end > start)
			best = MAX(best, end - start);
	}
	return best;
}

static bool overlaps(const struct part_cfg *a, const struct part_cfg *b)
{
	return a->mem_base < b->mem_base + b->mem_size && b->mem_base < a->mem_base + a->mem_size;
}

/* A fixed base must be free RAM and not claimed by an earlier fixed base. */
static void place_fixed(struct part_cfg *p, unsigned i, struct memmap *free,
			const struct memmap *all)
{
	struct part_cfg *q = &p[i];
	unsigned long long lo = q->mem_base, hi = q->mem_base + q->mem_size - 1;
	if (hi < lo) {
		bad(q, "memory-base", "0x%llx + memory overflows the address space", lo);
		return;
	}
	for (unsigned j = 0; j < i; j++)
		if (p[j].valid && p[j].mem_base && overlaps(q, &p[j])) {
			bad(q, "memory-base", "0x%llx-0x%llx overlaps partition \"%s\"", lo, hi,
			    p[j].name);
			return;
		}
	if (!mr_contains(all, q->mem_base, q->mem_size))
		bad(q, "memory-base", "0x%llx-0x%llx is not inside free RAM", lo, hi);
	else if (mr_remove(free, q->mem_base, q->mem_size))
		bad(q, "memory-base", "free memory too fragmented to reserve 0x%llx-0x%llx", lo,
		    hi);
}

static void place_any(struct part_cfg *p, struct memmap *free)
{
	uint64_t largest = largest_block(free), total = mr_total(free);
	if (largest >= p->mem_size) {
		mr_alloc(free, p->mem_size, SZ_2M); /* cannot fail: a block that large exists */
		return;
	}
	if (largest == total)
		bad(p, "memory", "needs %llu MiB, only %llu MiB free", MIB(p->mem_size),
		    MIB(largest));
	else
		bad(p, "memory",
		    "needs %llu MiB, only %llu MiB free in one piece (%llu MiB in all)",
		    MIB(p->mem_size), MIB(largest), MIB(total));
}

/* Fixed bases first (they cannot move), then the others in order. */
static void place_memory(struct part_cfg *p, unsigned n, const struct memmap *all)
{
	static const struct memmap none;
	struct memmap free = all ? *all : none;
	for (unsigned i = 0; i < n; i++)
		if (p[i].valid && p[i].mem_base)
			place_fixed(p, i, &free, all ? all : &none);
	for (unsigned i = 0; i < n; i++)
		if (p[i].valid && !p[i].mem_base)
			place_any(&p[i], &free);
}

void part_config_validate(struct part_cfg *p, unsigned n, const struct machine_desc *m)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i].valid)
			check_cpus_exist(&p[i], m->ncpus);
	/* devices before CPU sharing: a partition refused for its devices
	 * claims no CPU */
	for (unsigned i = 0; i < n; i++)
		if (p[i].valid)
			check_pci(p, i, m);
	for (unsigned i = 0; i < n; i++)
		if (p[i].valid)
			check_cpus_free(p, i);
	for (unsigned i = 0; i < n; i++)
		if (p[i].valid)
			check_images(&p[i], m);
	place_memory(p, n, m->free);
}

/* Partition configuration: parsing /partitions and validating it against a
 * machine. Config blobs are written here with libfdt's sequential-write API;
 * every error must name the partition and the property and leave the other
 * partitions alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include "kernel/vm/guest.h"

#define MiB (1ull << 20)

/* ---- writing config blobs ---- */

static char blob[16384];

static void ok(int e)
{
	assert_int_equal(e, 0);
}

static void cfg_begin(void)
{
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	ok(fdt_property_string(blob, "compatible", "tessera,config-v1"));
	ok(fdt_begin_node(blob, "partitions"));
}

static const void *cfg_end(void)
{
	ok(fdt_end_node(blob));
	ok(fdt_end_node(blob));
	ok(fdt_finish(blob));
	return blob;
}

/* A property of n 32-bit cells. */
static void cells(const char *name, int n, ...)
{
	fdt32_t v[16];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		v[i] = cpu_to_fdt32(va_arg(ap, uint32_t));
	va_end(ap);
	ok(fdt_property(blob, name, v, n * 4));
}

static void u64p(const char *name, uint64_t v)
{
	ok(fdt_property_u64(blob, name, v));
}

static void strp(const char *name, const char *s)
{
	ok(fdt_property_string(blob, name, s));
}

static void emptyp(const char *name)
{
	ok(fdt_property(blob, name, NULL, 0));
}

/* Opens a partition node with the three required properties. */
static void part_open(const char *name, uint32_t cpu, uint64_t mem, const char *kernel)
{
	ok(fdt_begin_node(blob, name));
	cells("cpus", 1, cpu);
	u64p("memory", mem);
	strp("kernel", kernel);
}

static void part_close(void)
{
	ok(fdt_end_node(blob));
}

/* ---- the machine ---- */

static const struct {
	const char *path;
	int64_t size;
} files[] = {
    {"/linux/Image", 30 * MiB},
    {"/linux/initrd", 10 * MiB},
    {"/tguest.elf", 100 * 1024},
    {"/huge", 100 * MiB},
};

static int64_t file_size(void *ctx, const char *path)
{
	for (unsigned i = 0; i < ARRAY_SIZE(files); i++)
		if (strcmp(files[i].path, path) == 0)
			return files[i].size;
	return -1;
}

static struct memmap free_mem;

#define RID(b, d, f) ((b) << 8 | (d) << 3 | (f))
/* The PCI functions: tessera's disk at 00:02.0, a multi-function device
 * whose functions have streams of their own (00:05.x), two devices behind
 * a conventional PCI bridge whose DMA carries the bridge's alias (02:xx.0),
 * a device the iommu-map leaves out (03:00.0). */
static const struct machine_pci pci_fns[] = {
    {RID(0, 0, 0), false, true, false, 0x0},   {RID(0, 2, 0), false, true, true, 0x10},
    {RID(0, 3, 0), false, true, false, 0x18},  {RID(0, 4, 0), false, true, false, 0x20},
    {RID(0, 5, 0), false, true, false, 0x28},  {RID(0, 5, 1), false, true, false, 0x29},
    {RID(1, 0, 0), true, true, false, 0x100},  {RID(2, 0, 0), false, true, false, 0x200},
    {RID(2, 1, 0), false, true, false, 0x200}, {RID(3, 0, 0), false, false, false, 0x300},
};

/* 4 CPUs, free RAM of size bytes at 2 GiB, the PCI functions above. */
static struct machine_desc machine(uint64_t size)
{
	free_mem = (struct memmap){0};
	ok(mr_add(&free_mem, 0x80000000ull, size));
	return (struct machine_desc){4, &free_mem, file_size, NULL, pci_fns, ARRAY_SIZE(pci_fns)};
}

/* A string-list property of n strings. */
static void strlist(const char *name, int n, ...)
{
	char v[256];
	size_t at = 0;
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *s = va_arg(ap, const char *);
		memcpy(v + at, s, strlen(s) + 1);
		at += strlen(s) + 1;
	}
	va_end(ap);
	ok(fdt_property(blob, name, v, (int)at));
}

static struct part_cfg p[PART_MAX];

static int parse_and_validate(uint64_t free_size)
{
	char err[PART_ERR_MAX] = "";
	int n = part_config_parse(blob, p, PART_MAX, err, sizeof(err));
	assert_true(n >= 0);
	struct machine_desc m = machine(free_size);
	part_config_validate(p, (unsigned)n, &m);
	return n;
}

/* ---- valid configurations ---- */

static void two_partitions(void **state)
{
	cfg_begin();
	ok(fdt_begin_node(blob, "linux"));
	cells("cpus", 2, 0, 1);
	u64p("memory", 512 * MiB);
	strp("kernel", "/linux/Image");
	strp("initrd", "/linux/initrd");
	strp("bootargs", "console=ttyAMA0");
	strp("compatible", "tessera,partition"); /* tolerated */
	part_close();
	ok(fdt_begin_node(blob, "demo-2_x"));
	cells("cpus", 1, 2);
	cells("vcpus", 1, 1);
	cells("memory", 1, 64 << 20); /* one cell is fine */
	strp("kernel", "/tguest.elf");
	strp("kernel-format", "elf");
	cells("memory-base", 2, 0, 0xb0000000);
	emptyp("no-autostart");
	emptyp("its");
	part_close();
	cfg_end();

	assert_int_equal(parse_and_validate(1024 * MiB), 2);
	assert_true(p[0].valid);
	assert_true(p[1].valid);
	assert_string_equal(p[0].name, "linux");
	assert_int_equal(p[0].cpu_mask, 3);
	assert_int_equal(p[0].vcpus, 2);
	assert_int_equal(p[0].mem_size, 512 * MiB);
	assert_int_equal(p[0].mem_base, 0);
	assert_string_equal(p[0].initrd, "/linux/initrd");
	assert_string_equal(p[0].bootargs, "console=ttyAMA0");
	assert_int_equal(p[0].kfmt, KFMT_AUTO);
	assert_true(p[0].autostart);
	assert_string_equal(p[1].name, "demo-2_x");
	assert_int_equal(p[1].cpu_mask, 4);
	assert_int_equal(p[1].vcpus, 1);
	assert_int_equal(p[1].mem_size, 64 * MiB);
	assert_int_equal(p[1].mem_base, 0xb0000000);
	assert_int_equal(p[1].kfmt, KFMT_ELF);
	assert_false(p[1].autostart);
}

static void raw_kernel(void **state)
{
	cfg_begin();
	part_open("raw", 0, 64 * MiB, "/tguest.elf");
	strp("kernel-format", "raw");
	u64p("load-address", 0x40080000);
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(1024 * MiB), 1);
	assert_true(p[0].valid);
	assert_int_equal(p[0].kfmt, KFMT_RAW);
	assert_int_equal(p[0].load_addr, 0x40080000);
}

static void no_partitions(void **state)
{
	char err[PART_ERR_MAX];
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	ok(fdt_end_node(blob));
	ok(fdt_finish(blob));
	assert_int_equal(part_config_parse(blob, p, PART_MAX, err, sizeof(err)), 0);
}

/* ---- errors: one bad partition beside a good one ---- */

struct bad_case {
	void (*write)(void); /* writes partition "bad" */
	uint64_t free;	     /* free RAM for validation (0: 1 GiB) */
	const char *expect;  /* the start of bad's error */
};

static void memory_unaligned(void)
{
	part_open("bad", 1, 12345, "/tguest.elf");
}
static void memory_small(void)
{
	part_open("bad", 1, 8 * MiB, "/tguest.elf");
}
static void memory_three_cells(void)
{
	ok(fdt_begin_node(blob, "bad"));
	cells("cpus", 1, 1);
	cells("memory", 3, 0, 0, 1);
	strp("kernel", "/tguest.elf");
}
static void no_cpus(void)
{
	ok(fdt_begin_node(blob, "bad"));
	u64p("memory", 64 * MiB);
	strp("kernel", "/tguest.elf");
}
static void no_kernel(void)
{
	ok(fdt_begin_node(blob, "bad"));
	cells("cpus", 1, 1);
	u64p("memory", 64 * MiB);
}
static void kernel_not_string(void)
{
	ok(fdt_begin_node(blob, "bad"));
	cells("cpus", 1, 1);
	u64p("memory", 64 * MiB);
	cells("kernel", 1, 7);
}
static void vcpus_too_many(void)
{
	ok(fdt_begin_node(blob, "bad"));
	cells("cpus", 2, 1, 2);
	cells("vcpus", 1, 9); /* more vCPUs than CPUs is fine (time-sharing), above 8 is not */
	u64p("memory", 64 * MiB);
	strp("kernel", "/tguest.elf");
}
static void vcpus_zero(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	cells("vcpus", 1, 0);
}
static void cpu_twice(void)
{
	ok(fdt_begin_node(blob, "bad"));
	cells("cpus", 2, 1, 1);
	u64p("memory", 64 * MiB);
	strp("kernel", "/tguest.elf");
}
static void cpu_missing(void)
{
	part_open("bad", 7, 64 * MiB, "/tguest.elf");
}
static void cpu_shared(void)
{
	part_open("bad", 0, 64 * MiB, "/tguest.elf");
}
static void format_unknown(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strp("kernel-format", "bzImage");
}
static void raw_no_load_address(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strp("kernel-format", "raw");
}
static void load_address_outside(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strp("kernel-format", "raw");
	u64p("load-address", 0x44000000);
}
static void load_address_not_raw(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	u64p("load-address", 0x40000000);
}
static void typo(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strp("bootarg", "quiet");
}
static void autostart_value(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	cells("no-autostart", 1, 1);
}
static void its_value(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	cells("its", 1, 1);
}
static void base_unaligned(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	u64p("memory-base", 0x80100000);
}
static void base_outside(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	u64p("memory-base", 0x200000000ull);
}
static void base_overlaps(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	u64p("memory-base", 0x82000000);
}
static void kernel_absent(void)
{
	part_open("bad", 1, 64 * MiB, "/nope");
}
static void kernel_too_big(void)
{
	part_open("bad", 1, 64 * MiB, "/huge");
}
static void initrd_too_big(void)
{
	part_open("bad", 1, 64 * MiB, "/linux/Image");
	strp("initrd", "/huge");
}
static void initrd_absent(void)
{
	part_open("bad", 1, 64 * MiB, "/linux/Image");
	strp("initrd", "/nope");
}
static void out_of_memory(void)
{
	part_open("bad", 1, 512 * MiB, "/tguest.elf");
}
static void pci_absent(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 2, "00:03.0", "00:1f.0");
}
static void pci_malformed(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "0:3");
}
static void pci_device_range(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "00:20.0");
}
static void pci_segment(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "0001:00:03.0");
}
static void pci_not_strings(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	cells("pci-devices", 1, 3);
}
static void pci_twice(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 2, "00:03.0", "0000:00:03.0");
}
static void pci_too_many(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 9, "00:03.0", "00:05.0", "00:05.1", "00:06.0", "00:07.0", "00:08.0",
		"00:09.0", "00:0a.0", "00:0b.0");
}
static void pci_bridge(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "01:00.0");
}
static void pci_no_smmu(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "03:00.0");
}
static void pci_hyp_disk(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "00:02.0");
}
static void pci_taken(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 2, "00:03.0", "00:04.0");
}
static void pci_alias_split(void)
{
	part_open("bad", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 1, "02:01.0");
}

#define GOOD_BASE 0x80000000ull /* "good" is fixed at the start of free RAM */

static const struct bad_case cases[] = {
    {memory_unaligned, 0,
     "partition \"bad\": property \"memory\": 12345 is not a multiple of 2 MiB"},
    {memory_small, 0, "partition \"bad\": property \"memory\": 8 MiB is less than"},
    {memory_three_cells, 0, "partition \"bad\": property \"memory\": expected a number of 1 or 2"},
    {no_cpus, 0, "partition \"bad\": property \"cpus\": missing"},
    {no_kernel, 0, "partition \"bad\": property \"kernel\": missing"},
    {kernel_not_string, 0, "partition \"bad\": property \"kernel\": expected one non-empty string"},
    {vcpus_too_many, 0, "partition \"bad\": property \"vcpus\": 9 is out of range (1-8)"},
    {vcpus_zero, 0, "partition \"bad\": property \"vcpus\": 0 is out of range (1-8)"},
    {cpu_twice, 0, "partition \"bad\": property \"cpus\": CPU 1 listed twice"},
    {cpu_missing, 0, "partition \"bad\": property \"cpus\": CPU 7 does not exist"},
    {cpu_shared, 0,
     "partition \"bad\": property \"cpus\": CPU 0 is already used by partition \"good\""},
    {format_unknown, 0, "partition \"bad\": property \"kernel-format\": \"bzImage\" is not one of"},
    {raw_no_load_address, 0, "partition \"bad\": property \"load-address\": required"},
    {load_address_outside, 0,
     "partition \"bad\": property \"load-address\": 0x44000000 is outside"},
    {load_address_not_raw, 0, "partition \"bad\": property \"load-address\": only used with"},
    {typo, 0, "partition \"bad\": property \"bootarg\": unknown property"},
    {autostart_value, 0, "partition \"bad\": property \"no-autostart\": takes no value"},
    {its_value, 0, "partition \"bad\": property \"its\": takes no value"},
    {base_unaligned, 0, "partition \"bad\": property \"memory-base\": 0x80100000 is not 2 MiB"},
    {base_outside, 0,
     "partition \"bad\": property \"memory-base\": 0x200000000-0x203ffffff is not "
     "inside free RAM"},
    {base_overlaps, 0,
     "partition \"bad\": property \"memory-base\": 0x82000000-0x85ffffff overlaps "
     "partition \"good\""},
    {kernel_absent, 0,
     "partition \"bad\": property \"kernel\": kernel file /nope not found on the ESP"},
    {kernel_too_big, 0,
     "partition \"bad\": property \"kernel\": kernel file /huge (100 MiB) does not fit"},
    {initrd_too_big, 0,
     "partition \"bad\": property \"initrd\": initrd file /huge (100 MiB) does not"},
    {initrd_absent, 0, "partition \"bad\": property \"initrd\": initrd file /nope not found"},
    {out_of_memory, 300 * MiB,
     "partition \"bad\": property \"memory\": needs 512 MiB, only 236 MiB free"},
    {pci_absent, 0, "partition \"bad\": property \"pci-devices\": device 00:1f.0 does not exist"},
    {pci_malformed, 0, "partition \"bad\": property \"pci-devices\": \"0:3\" is not a PCI address"},
    {pci_device_range, 0,
     "partition \"bad\": property \"pci-devices\": \"00:20.0\" is not a PCI address"},
    {pci_segment, 0,
     "partition \"bad\": property \"pci-devices\": \"0001:00:03.0\" is not a PCI address"},
    {pci_not_strings, 0, "partition \"bad\": property \"pci-devices\": expected a list of strings"},
    {pci_twice, 0, "partition \"bad\": property \"pci-devices\": device 00:03.0 listed twice"},
    {pci_too_many, 0,
     "partition \"bad\": property \"pci-devices\": device 00:0b.0: more than 8 devices"},
    {pci_bridge, 0, "partition \"bad\": property \"pci-devices\": device 01:00.0 is a PCI bridge"},
    {pci_no_smmu, 0,
     "partition \"bad\": property \"pci-devices\": device 03:00.0 is not behind an SMMU"},
    {pci_hyp_disk, 0,
     "partition \"bad\": property \"pci-devices\": device 00:02.0 is tessera's own disk"},
    {pci_taken, 0,
     "partition \"bad\": property \"pci-devices\": device 00:04.0 is already assigned to "
     "partition \"good\""},
    {pci_alias_split, 0,
     "partition \"bad\": property \"pci-devices\": device 02:01.0 shares stream ID 0x200 "
     "with 02:00.0, which must be assigned with it"},
};

static void each_error_names_partition_and_property(void **state)
{
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		cfg_begin();
		part_open("good", 0, 64 * MiB, "/linux/Image");
		u64p("memory-base", GOOD_BASE);
		strlist("pci-devices", 1, "00:04.0");
		part_close();
		cases[i].write();
		part_close();
		cfg_end();
		assert_int_equal(parse_and_validate(cases[i].free ? cases[i].free : 1024 * MiB), 2);
		if (strncmp(p[1].error, cases[i].expect, strlen(cases[i].expect)))
			print_message("case %u: got '%s'\n", i, p[1].error);
		assert_true(p[0].valid);
		assert_string_equal(p[0].error, "");
		assert_false(p[1].valid);
		assert_int_equal(strncmp(p[1].error, cases[i].expect, strlen(cases[i].expect)), 0);
	}
}

static void bad_names(void **state)
{
	cfg_begin();
	part_open("Linux", 0, 64 * MiB, "/tguest.elf");
	part_close();
	part_open("a23456789012345678901234567890123", 1, 64 * MiB, "/tguest.elf");
	part_close();
	part_open("ok", 2, 64 * MiB, "/tguest.elf");
	part_close();
	part_open("ok", 3, 64 * MiB, "/tguest.elf");
	part_close();
	part_open("sub", 3, 64 * MiB, "/tguest.elf");
	ok(fdt_begin_node(blob, "child"));
	part_close();
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(1024 * MiB), 5);
	assert_string_equal(p[0].error,
			    "partition \"Linux\": name may only use a-z, 0-9, '_' and '-'");
	assert_string_equal(
	    p[1].error,
	    "partition \"a234567890123456789012345678901\": name longer than 31 characters");
	assert_true(p[2].valid);
	assert_string_equal(p[3].error,
			    "partition \"ok\": a partition of this name is already defined");
	assert_string_equal(p[4].error, "partition \"sub\": unexpected sub-node \"child\"");
}

/* The later of two partitions that do not both fit is the one refused. */
static void memory_exhaustion_marks_later(void **state)
{
	cfg_begin();
	part_open("first", 0, 512 * MiB, "/linux/Image");
	part_close();
	part_open("second", 1, 512 * MiB, "/linux/Image");
	part_close();
	part_open("small", 2, 64 * MiB, "/tguest.elf");
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(600 * MiB), 3);
	assert_true(p[0].valid);
	assert_string_equal(
	    p[1].error,
	    "partition \"second\": property \"memory\": needs 512 MiB, only 88 MiB free");
	assert_true(p[2].valid); /* later, but it fits what is left */
}

/* Fixed bases are placed before the others, whatever their order. */
static void fixed_base_served_first(void **state)
{
	cfg_begin();
	part_open("any", 0, 512 * MiB, "/linux/Image");
	part_close();
	part_open("fixed", 1, 512 * MiB, "/linux/Image");
	u64p("memory-base", 0x80000000);
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(1024 * MiB), 2);
	assert_true(p[0].valid);
	assert_true(p[1].valid);
	assert_int_equal(parse_and_validate(768 * MiB), 2);
	assert_true(p[1].valid);
	assert_string_equal(
	    p[0].error, "partition \"any\": property \"memory\": needs 512 MiB, only 256 MiB free");
}

static void fragmented_memory(void **state)
{
	cfg_begin();
	part_open("big", 0, 512 * MiB, "/linux/Image");
	part_close();
	cfg_end();
	char err[PART_ERR_MAX];
	assert_int_equal(part_config_parse(blob, p, PART_MAX, err, sizeof(err)), 1);
	free_mem = (struct memmap){0};
	ok(mr_add(&free_mem, 0x80000000ull, 400 * MiB));
	ok(mr_add(&free_mem, 0x100000000ull, 300 * MiB));
	struct machine_desc m = {4, &free_mem, file_size, NULL, NULL, 0};
	part_config_validate(p, 1, &m);
	assert_string_equal(p[0].error,
			    "partition \"big\": property \"memory\": needs 512 MiB, only "
			    "400 MiB free in one piece (700 MiB in all)");
}

static void too_many_partitions(void **state)
{
	char err[PART_ERR_MAX], name[16];
	cfg_begin();
	for (unsigned i = 0; i <= PART_MAX; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		part_open(name, i, 64 * MiB, "/tguest.elf");
		part_close();
	}
	cfg_end();
	assert_int_equal(part_config_parse(blob, p, PART_MAX, err, sizeof(err)), -1);
	assert_string_equal(err, "/partitions: more than 8 partitions");
}

static void not_a_tree(void **state)
{
	char err[PART_ERR_MAX];
	memset(blob, 0x5a, 256);
	assert_int_equal(part_config_parse(blob, p, PART_MAX, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a valid device tree"));
}

static void status_disabled(void **state)
{
	cfg_begin();
	part_open("off", 0, 64 * MiB, "/tguest.elf");
	strp("status", "disabled");
	part_close();
	part_open("on", 1, 64 * MiB, "/tguest.elf");
	strp("status", "okay");
	cells("phandle", 1, 5);
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(1024 * MiB), 2);
	assert_true(p[0].valid && p[1].valid);
	assert_false(p[0].autostart);
	assert_true(p[1].autostart);
}

/* sve-max-vl: absent means no SVE; a maximum in bytes, a multiple of 16
 * from 16 to 256; values the CPU may not support (48) are maxima, kept. */
/* Functions sharing a stream ID go together; functions with streams of
 * their own may be split between partitions. */
static void pci_devices_valid(void **state)
{
	cfg_begin();
	part_open("pair", 0, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 3, "02:01.0", "0000:02:00.0", "00:05.1");
	part_close();
	part_open("other", 1, 64 * MiB, "/tguest.elf");
	strlist("pci-devices", 2, "00:05.0", "00:03.0");
	part_close();
	part_open("none", 2, 64 * MiB, "/tguest.elf");
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(1024 * MiB), 3);
	assert_true(p[0].valid && p[1].valid && p[2].valid);
	assert_int_equal(p[0].npci, 3);
	assert_int_equal(p[0].pci[0], RID(2, 1, 0));
	assert_int_equal(p[0].pci[1], RID(2, 0, 0));
	assert_int_equal(p[0].pci[2], RID(0, 5, 1));
	assert_int_equal(p[1].npci, 2);
	assert_int_equal(p[2].npci, 0);
	char buf[16];
	pci_bdf_str(RID(0xab, 0x1f, 7), buf, sizeof(buf));
	assert_string_equal(buf, "ab:1f.7");
}

static void sve_max_vl(void **state)
{
	static const uint32_t good[] = {16, 48, 64, 256};
	for (unsigned i = 0; i < ARRAY_SIZE(good); i++) {
		cfg_begin();
		part_open("plain", 0, 64 * MiB, "/tguest.elf");
		part_close();
		part_open("vec", 1, 64 * MiB, "/tguest.elf");
		cells("sve-max-vl", 1, good[i]);
		part_close();
		cfg_end();
		assert_int_equal(parse_and_validate(1024 * MiB), 2);
		assert_true(p[0].valid);
		assert_int_equal(p[0].sve_vl, 0);
		assert_true(p[1].valid);
		assert_int_equal(p[1].sve_vl, good[i]);
	}
}

static void sve_max_vl_errors(void **state)
{
	static const struct {
		uint32_t vl;
		const char *msg;
	} bad_vl[] = {
	    {0, "0 is not a multiple of 16 bytes (128 bits) from 16 up"},
	    {8, "8 is not a multiple of 16 bytes (128 bits) from 16 up"},
	    {72, "72 is not a multiple of 16 bytes (128 bits) from 16 up"},
	    {272, "272 is above the architectural maximum of 256 bytes (2048 bits)"},
	    {0x80000000u, "2147483648 is above the architectural maximum of 256 bytes (2048 bits)"},
	    {0xfffffff0u, "4294967280 is above the architectural maximum of 256 bytes (2048 bits)"},
	};
	char want[PART_ERR_MAX];
	for (unsigned i = 0; i < ARRAY_SIZE(bad_vl); i++) {
		cfg_begin();
		part_open("vec", 0, 64 * MiB, "/tguest.elf");
		cells("sve-max-vl", 1, bad_vl[i].vl);
		part_close();
		part_open("other", 1, 64 * MiB, "/tguest.elf");
		part_close();
		cfg_end();
		assert_int_equal(parse_and_validate(1024 * MiB), 2);
		assert_false(p[0].valid);
		assert_true(p[1].valid);
		snprintf(want, sizeof(want), "partition \"vec\": property \"sve-max-vl\": %s",
			 bad_vl[i].msg);
		assert_string_equal(p[0].error, want);
	}
	/* two cells (a 64-bit value) is the wrong type */
	cfg_begin();
	part_open("vec", 0, 64 * MiB, "/tguest.elf");
	cells("sve-max-vl", 2, 0, 64);
	part_close();
	cfg_end();
	assert_int_equal(parse_and_validate(1024 * MiB), 1);
	assert_string_equal(p[0].error, "partition \"vec\": property \"sve-max-vl\": expected "
					"one 32-bit cell, got 8 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sve_max_vl),
	    cmocka_unit_test(sve_max_vl_errors),
	    cmocka_unit_test(two_partitions),
	    cmocka_unit_test(pci_devices_valid),
	    cmocka_unit_test(raw_kernel),
	    cmocka_unit_test(no_partitions),
	    cmocka_unit_test(each_error_names_partition_and_property),
	    cmocka_unit_test(bad_names),
	    cmocka_unit_test(memory_exhaustion_marks_later),
	    cmocka_unit_test(fixed_base_served_first),
	    cmocka_unit_test(fragmented_memory),
	    cmocka_unit_test(too_many_partitions),
	    cmocka_unit_test(not_a_tree),
	    cmocka_unit_test(status_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

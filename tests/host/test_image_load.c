/* Kernel image layout: Linux arm64 Image headers, ELF64 program headers
 * (hostile ones included), raw binaries and format detection. Images are
 * copied into buffers of exactly their size, so ASan catches any read
 * past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/vm/guest.h"

#define MiB (1ull << 20)

static uint8_t img[64 * 1024];
static char err[PART_ERR_MAX];
static struct image_layout l;

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Runs image_layout on a private copy of the first size bytes of img. */
static int layout(uint64_t size, enum kernel_format fmt, uint64_t load, uint64_t ram)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, img, size);
	err[0] = 0;
	int e = image_layout(copy, size, fmt, load, ram, &l, err, sizeof(err));
	free(copy);
	return e;
}

/* ---- Linux Image ---- */

static void linux_header(uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(img, 0, sizeof(img));
	put(img + 8, text_offset, 8);
	put(img + 16, image_size, 8);
	put(img + 24, flags, 8);
	memcpy(img + 0x38, "ARM\x64", 4);
}

static void linux_image(void **state)
{
	linux_header(0, 2 * MiB, 0xa); /* 4K pages, placement anywhere */
	assert_int_equal(layout(4096, KFMT_AUTO, 0, 64 * MiB), 0);
	assert_int_equal(l.fmt, KFMT_IMAGE);
	assert_int_equal(l.entry, GUEST_RAM_BASE);
	assert_int_equal(l.nsegs, 1);
	assert_int_equal(l.segs[0].offset, 0);
	assert_int_equal(l.segs[0].file_off, 0);
	assert_int_equal(l.segs[0].file_size, 4096);
	assert_int_equal(l.segs[0].mem_size, 2 * MiB); /* BSS zero-filled */
	assert_int_equal(l.end, 2 * MiB);
}

static void linux_text_offset(void **state)
{
	linux_header(0x80000, 0x123456, 0);
	assert_int_equal(layout(8192, KFMT_IMAGE, 0, 64 * MiB), 0);
	assert_int_equal(l.entry, GUEST_RAM_BASE + 0x80000);
	assert_int_equal(l.segs[0].offset, 0x80000);
	assert_int_equal(l.end, 0x80000 + 0x124000);
	/* before 3.17: image_size 0, text_offset fixed at 0x80000 */
	linux_header(0x1234, 0, 0);
	assert_int_equal(layout(8192, KFMT_AUTO, 0, 64 * MiB), 0);
	assert_int_equal(l.entry, GUEST_RAM_BASE + 0x80000);
	assert_int_equal(l.segs[0].mem_size, 8192);
}

static void linux_rejects(void **state)
{
	linux_header(0, 64 * MiB, 0);
	assert_int_equal(layout(4096, KFMT_AUTO, 0, 32 * MiB), -E2BIG);
	assert_non_null(strstr(err, "the partition has 32 MiB"));
	linux_header(UINT64_MAX - 10, 2 * MiB, 0); /* offset + size wraps */
	assert_int_equal(layout(4096, KFMT_AUTO, 0, 32 * MiB), -E2BIG);
	linux_header(0, 2 * MiB, 1); /* big-endian */
	assert_int_equal(layout(4096, KFMT_AUTO, 0, 32 * MiB), -EINVAL);
	memset(img, 0, 64);
	assert_int_equal(layout(4096, KFMT_IMAGE, 0, 32 * MiB), -EINVAL);
	assert_non_null(strstr(err, "not a Linux arm64 Image"));
	linux_header(0, 2 * MiB, 0);
	assert_int_equal(layout(63, KFMT_IMAGE, 0, 32 * MiB), -EINVAL); /* header cut */
}

/* ---- ELF ---- */

#define PHOFF 64

static void elf_header(unsigned phnum, uint64_t entry)
{
	memset(img, 0, sizeof(img));
	memcpy(img,
	       "\x7f"
	       "ELF",
	       4);
	img[4] = 2; /* 64-bit */
	img[5] = 1; /* little-endian */
	img[6] = 1;
	put(img + 16, 2, 2);   /* ET_EXEC */
	put(img + 18, 183, 2); /* EM_AARCH64 */
	put(img + 20, 1, 4);
	put(img + 24, entry, 8);
	put(img + 32, PHOFF, 8);
	put(img + 52, 64, 2);
	put(img + 54, 56, 2);
	put(img + 56, phnum, 2);
}

static void elf_phdr(unsigned i, uint32_t type, uint64_t off, uint64_t paddr, uint64_t filesz,
		     uint64_t memsz)
{
	uint8_t *p = img + PHOFF + i * 56;
	put(p, type, 4);
	put(p + 4, 5, 4); /* R+X */
	put(p + 8, off, 8);
	put(p + 16, paddr + 0xffff000000000000ull, 8); /* vaddr: ignored */
	put(p + 24, paddr, 8);
	put(p + 32, filesz, 8);
	put(p + 40, memsz, 8);
	put(p + 48, 0x1000, 8);
}

#define ELF_SIZE 0x3000

/* Text at 0x40080000 and data+BSS at 0x40200000, a note between. */
static void good_elf(void)
{
	elf_header(3, 0x40080000);
	elf_phdr(0, 1, 0x1000, 0x40080000, 0x1000, 0x1000);
	elf_phdr(1, 4, 0x200, 0, 0x20, 0x20); /* PT_NOTE: not loaded */
	elf_phdr(2, 1, 0x2000, 0x40200000, 0x1000, 0x5000);
}

static void elf_two_loads(void **state)
{
	good_elf();
	assert_int_equal(layout(ELF_SIZE, KFMT_AUTO, 0, 64 * MiB), 0);
	assert_int_equal(l.fmt, KFMT_ELF);
	assert_int_equal(l.entry, 0x40080000);
	assert_int_equal(l.nsegs, 2);
	assert_int_equal(l.segs[0].offset, 0x80000);
	assert_int_equal(l.segs[0].file_off, 0x1000);
	assert_int_equal(l.segs[0].file_size, 0x1000);
	assert_int_equal(l.segs[1].offset, 0x200000);
	assert_int_equal(l.segs[1].file_size, 0x1000);
	assert_int_equal(l.segs[1].mem_size, 0x5000);
	assert_int_equal(l.end, 0x205000);
}

/* Every truncation of a good ELF is either laid out or refused cleanly. */
static void elf_truncated(void **state)
{
	good_elf();
	for (uint64_t size = 0; size < ELF_SIZE; size++)
		assert_int_equal(layout(size, KFMT_ELF, 0, 64 * MiB), -EINVAL);
	assert_int_equal(layout(ELF_SIZE, KFMT_ELF, 0, 64 * MiB), 0);
}

struct elf_case {
	unsigned field_off; /* into the file */
	uint64_t value;
	unsigned width;
	int expect;
};

#define PH2 (PHOFF + 2 * 56)

static const struct elf_case elf_cases[] = {
    {4, 1, 1, -EINVAL},			      /* 32-bit */
    {5, 2, 1, -EINVAL},			      /* big-endian */
    {16, 3, 2, -EINVAL},		      /* ET_DYN */
    {18, 62, 2, -EINVAL},		      /* x86-64 */
    {24, 0x10000000, 8, -EINVAL},	      /* entry below RAM */
    {24, 0x44000000, 8, -EINVAL},	      /* entry above RAM */
    {32, UINT64_MAX - 8, 8, -EINVAL},	      /* phoff wraps */
    {32, ELF_SIZE - 100, 8, -EINVAL},	      /* headers past the end */
    {54, 32, 2, -EINVAL},		      /* phentsize */
    {56, 0, 2, -EINVAL},		      /* no headers */
    {56, 0xffff, 2, -EINVAL},		      /* too many headers */
    {PH2 + 8, UINT64_MAX - 0x10, 8, -EINVAL}, /* offset + filesz wraps */
    {PH2 + 8, ELF_SIZE - 0x10, 8, -EINVAL},   /* data past the end */
    {PH2 + 24, 0x1000, 8, -EINVAL},	      /* paddr below RAM */
    {PH2 + 24, 0x43ffe000, 8, -E2BIG},	      /* runs past the end of RAM */
    {PH2 + 24, 0x40080800, 8, -EINVAL},	      /* overlaps the first segment */
    {PH2 + 32, 0x6000, 8, -EINVAL},	      /* filesz > memsz */
    {PH2 + 40, UINT64_MAX, 8, -E2BIG},	      /* memsz wraps */
};

static void elf_hostile_fields(void **state)
{
	for (unsigned i = 0; i < sizeof(elf_cases) / sizeof(elf_cases[0]); i++) {
		const struct elf_case *c = &elf_cases[i];
		good_elf();
		put(img + c->field_off, c->value, c->width);
		int e = layout(ELF_SIZE, KFMT_AUTO, 0, 64 * MiB);
		if (e != c->expect)
			print_message("case %u: %d (%s)\n", i, e, err);
		assert_int_equal(e, c->expect);
		assert_true(err[0] != 0);
	}
}

static void elf_segment_limit(void **state)
{
	elf_header(9, 0x40000000);
	for (unsigned i = 0; i < 9; i++)
		elf_phdr(i, 1, 0x1000, 0x40000000 + i * 0x10000, 0x100, 0x100);
	assert_int_equal(layout(ELF_SIZE, KFMT_AUTO, 0, 64 * MiB), -EINVAL);
	assert_non_null(strstr(err, "more than 8 loadable segments"));
	put(img + 56, 8, 2);
	assert_int_equal(layout(ELF_SIZE, KFMT_AUTO, 0, 64 * MiB), 0);
	assert_int_equal(l.nsegs, 8);
	elf_header(1, 0x40000000);
	elf_phdr(0, 4, 0x100, 0, 0x10, 0x10);
	assert_int_equal(layout(ELF_SIZE, KFMT_AUTO, 0, 64 * MiB), -EINVAL);
	assert_non_null(strstr(err, "no loadable segment"));
}

/* ---- raw and detection ---- */

static void raw_binary(void **state)
{
	memset(img, 0xaa, sizeof(img));
	assert_int_equal(layout(5000, KFMT_RAW, 0x40080000, 64 * MiB), 0);
	assert_int_equal(l.fmt, KFMT_RAW);
	assert_int_equal(l.entry, 0x40080000);
	assert_int_equal(l.nsegs, 1);
	assert_int_equal(l.segs[0].offset, 0x80000);
	assert_int_equal(l.segs[0].file_size, 5000);
	assert_int_equal(l.end, 0x82000);
	assert_int_equal(layout(5000, KFMT_RAW, 0x3fffff00, 64 * MiB), -EINVAL);
	assert_int_equal(layout(5000, KFMT_RAW, 0x44000000, 64 * MiB), -EINVAL);
	assert_int_equal(layout(5000, KFMT_RAW, 0x43fff000, 64 * MiB), -E2BIG);
	assert_int_equal(layout(4096, KFMT_RAW, 0x43fff000, 64 * MiB), 0);
}

static void unknown_format(void **state)
{
	memset(img, 0xaa, sizeof(img));
	assert_int_equal(layout(5000, KFMT_AUTO, 0, 64 * MiB), -EINVAL);
	assert_string_equal(err, "unknown kernel format (not a Linux Image or ELF; set "
				 "kernel-format = \"raw\" and load-address)");
	assert_int_equal(layout(0, KFMT_AUTO, 0, 64 * MiB), -EINVAL);
	good_elf();
	assert_int_equal(layout(ELF_SIZE, KFMT_IMAGE, 0, 64 * MiB), -EINVAL);
	linux_header(0, 2 * MiB, 0);
	assert_int_equal(layout(4096, KFMT_ELF, 0, 64 * MiB), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(linux_image),	 cmocka_unit_test(linux_text_offset),
	    cmocka_unit_test(linux_rejects),	 cmocka_unit_test(elf_two_loads),
	    cmocka_unit_test(elf_truncated),	 cmocka_unit_test(elf_hostile_fields),
	    cmocka_unit_test(elf_segment_limit), cmocka_unit_test(raw_binary),
	    cmocka_unit_test(unknown_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

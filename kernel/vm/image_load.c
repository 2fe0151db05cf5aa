/*
 * Kernel image layout: where each part of a Linux arm64 Image, an ELF64 or
 * a raw binary goes in a partition's RAM. Only the layout is computed here
 * (the caller copies); the file is untrusted, so every offset and size is
 * checked against the file and the RAM before it is used, without overflow.
 */
#include "kernel/vm/guest.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Linux Documentation/arch/arm64/booting.rst */
#define IMAGE_HDR_SIZE	    64
#define IMAGE_MAGIC_OFF	    0x38
#define IMAGE_LEGACY_OFFSET 0x80000ull
#define IMAGE_FLAG_BE	    BIT(0)

#define EHDR_SIZE   64
#define PHDR_SIZE   56
#define PHNUM_MAX   64 /* far more than any kernel has; bounds the scan */
#define ET_EXEC	    2
#define EM_AARCH64  183
#define PT_LOAD	    1
#define ELFCLASS64  2
#define ELFDATA2LSB 1

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return e;
}

/* Little-endian loads from unaligned bytes (the file may sit anywhere). */
static uint64_t ld_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* True if [off, off+len) lies inside [0, limit), without overflow. */
static bool fits(uint64_t off, uint64_t len, uint64_t limit)
{
	return off <= limit && len <= limit - off;
}

static bool is_image(const uint8_t *d, uint64_t size)
{
	return size >= IMAGE_HDR_SIZE && memcmp(d + IMAGE_MAGIC_OFF, "ARM\x64", 4) == 0;
}

static bool is_elf(const uint8_t *d, uint64_t size)
{
	return size >= 4 && memcmp(d,
				   "\x7f"
				   "ELF",
				   4) == 0;
}

static void add_seg(struct image_layout *l, uint64_t off, uint64_t foff, uint64_t fsize,
		    uint64_t msize)
{
	l->segs[l->nsegs++] = (struct image_seg){off, foff, fsize, msize};
	l->end = MAX(l->end, ALIGN_UP(off + msize, PAGE_SIZE));
}

/* ---- Linux arm64 Image ---- */

/* The image goes at RAM base + text_offset (the RAM base is 2 MiB aligned,
 * which satisfies both placement modes of flags bit 3); image_size covers
 * the BSS, which the zero fill provides. */
static int layout_linux(const uint8_t *d, uint64_t size, uint64_t ram, struct image_layout *l,
			char *err, size_t errlen)
{
	if (!is_image(d, size))
		return fail(err, errlen, -EINVAL, "not a Linux arm64 Image (no magic at 0x38)");
	uint64_t text_offset = ld_le(d + 8, 8), image_size = ld_le(d + 16, 8);
	if (ld_le(d + 24, 8) & IMAGE_FLAG_BE)
		return fail(err, errlen, -EINVAL, "big-endian kernel Image is not supported");
	if (image_size == 0) /* before Linux 3.17: the offset was fixed */
		text_offset = IMAGE_LEGACY_OFFSET;
	uint64_t mem = MAX(image_size, size);
	if (!fits(text_offset, mem, ram))
		return fail(err, errlen, -E2BIG,
			    "Image needs %llu KiB at offset 0x%llx, the partition has %llu MiB",
			    (unsigned long long)(mem >> 10), (unsigned long long)text_offset,
			    (unsigned long long)(ram >> 20));
	add_seg(l, text_offset, 0, size, mem);
	l->entry = GUEST_RAM_BASE + text_offset;
	return 0;
}

/* ---- ELF64 ---- */

struct elf_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static void read_phdr(const uint8_t *p, struct elf_phdr *ph)
{
	ph->type = (uint32_t)ld_le(p, 4);
	ph->offset = ld_le(p + 8, 8);
	ph->paddr = ld_le(p + 24, 8);
	ph->filesz = ld_le(p + 32, 8);
	ph->memsz = ld_le(p + 40, 8);
}

static int check_ehdr(const uint8_t *d, uint64_t size, char *err, size_t errlen)
{
	if (size < EHDR_SIZE || !is_elf(d, size))
		return fail(err, errlen, -EINVAL, "not an ELF file");
	if (d[4] != ELFCLASS64 || d[5] != ELFDATA2LSB)
		return fail(err, errlen, -EINVAL, "not a 64-bit little-endian ELF");
	if (ld_le(d + 16, 2) != ET_EXEC)
		return fail(err, errlen, -EINVAL, "ELF type %u is not an executable (ET_EXEC)",
			    (unsigned)ld_le(d + 16, 2));
	if (ld_le(d + 18, 2) != EM_AARCH64)
		return fail(err, errlen, -EINVAL, "ELF machine %u is not AArch64",
			    (unsigned)ld_le(d + 18, 2));
	uint64_t phoff = ld_le(d + 32, 8), phentsize = ld_le(d + 54, 2), phnum = ld_le(d + 56, 2);
	if (phentsize != PHDR_SIZE || phnum == 0 || phnum > PHNUM_MAX)
		return fail(err, errlen, -EINVAL, "bad ELF program headers (%llu of %llu bytes)",
			    (unsigned long long)phnum, (unsigned long long)phentsize);
	if (!fits(phoff, phnum * PHDR_SIZE, size))
		return fail(err, errlen, -EINVAL, "ELF program headers beyond the end of the file");
	return 0;
}

static int check_phdr(const struct elf_phdr *ph, unsigned i, uint64_t size, uint64_t ram, char *err,
		      size_t errlen)
{
	if (ph->filesz > ph->memsz)
		return fail(err, errlen, -EINVAL, "ELF segment %u: file size above memory size", i);
	if (!fits(ph->offset, ph->filesz, size))
		return fail(err, errlen, -EINVAL, "ELF segment %u: beyond the end of the file", i);
	if (ph->paddr < GUEST_RAM_BASE)
		return fail(err, errlen, -EINVAL,
			    "ELF segment %u: address 0x%llx is below the guest RAM (0x%llx)", i,
			    (unsigned long long)ph->paddr, (unsigned long long)GUEST_RAM_BASE);
	if (!fits(ph->paddr - GUEST_RAM_BASE, ph->memsz, ram))
		return fail(err, errlen, -E2BIG,
			    "ELF segment %u: 0x%llx + 0x%llx is beyond the guest RAM (%llu MiB)", i,
			    (unsigned long long)ph->paddr, (unsigned long long)ph->memsz,
			    (unsigned long long)(ram >> 20));
	return 0;
}

static bool segs_overlap(const struct image_layout *l)
{
	for (unsigned i = 0; i < l->nsegs; i++)
		for (unsigned j = i + 1; j < l->nsegs; j++)
			if (l->segs[i].offset < l->segs[j].offset + l->segs[j].mem_size &&
			    l->segs[j].offset < l->segs[i].offset + l->segs[i].mem_size)
				return true;
	return false;
}

/* Adds PT_LOAD segment i (empty ones need nothing). */
static int load_phdr(const uint8_t *d, uint64_t size, uint64_t ram, unsigned i,
		     struct image_layout *l, char *err, size_t errlen)
{
	struct elf_phdr ph;
	read_phdr(d + ld_le(d + 32, 8) + (uint64_t)i * PHDR_SIZE, &ph);
	if (ph.type != PT_LOAD || ph.memsz == 0)
		return 0;
	int e = check_phdr(&ph, i, size, ram, err, errlen);
	if (e)
		return e;
	if (l->nsegs == ARRAY_SIZE(l->segs))
		return fail(err, errlen, -EINVAL, "ELF has more than %u loadable segments",
			    (unsigned)ARRAY_SIZE(l->segs));
	add_seg(l, ph.paddr - GUEST_RAM_BASE, ph.offset, ph.filesz, ph.memsz);
	return 0;
}

static int layout_elf(const uint8_t *d, uint64_t size, uint64_t ram, struct image_layout *l,
		      char *err, size_t errlen)
{
	int e = check_ehdr(d, size, err, errlen);
	unsigned phnum = e ? 0 : (unsigned)ld_le(d + 56, 2);
	for (unsigned i = 0; i < phnum && !e; i++)
		e = load_phdr(d, size, ram, i, l, err, errlen);
	if (e)
		return e;
	if (l->nsegs == 0)
		return fail(err, errlen, -EINVAL, "ELF has no loadable segment");
	if (segs_overlap(l))
		return fail(err, errlen, -EINVAL, "ELF segments overlap");
	l->entry = ld_le(d + 24, 8);
	if (l->entry < GUEST_RAM_BASE || l->entry - GUEST_RAM_BASE >= ram)
		return fail(err, errlen, -EINVAL, "ELF entry 0x%llx is outside the guest RAM",
			    (unsigned long long)l->entry);
	return 0;
}

/* ---- raw ---- */

static int layout_raw(uint64_t size, uint64_t load_addr, uint64_t ram, struct image_layout *l,
		      char *err, size_t errlen)
{
	uint64_t off = load_addr - GUEST_RAM_BASE;
	if (load_addr < GUEST_RAM_BASE || off >= ram)
		return fail(err, errlen, -EINVAL, "load address 0x%llx is outside the guest RAM",
			    (unsigned long long)load_addr);
	if (!fits(off, size, ram))
		return fail(err, errlen, -E2BIG,
			    "%llu KiB at load address 0x%llx go beyond the guest RAM (%llu MiB)",
			    (unsigned long long)(size >> 10), (unsigned long long)load_addr,
			    (unsigned long long)(ram >> 20));
	add_seg(l, off, 0, size, size);
	l->entry = load_addr;
	return 0;
}

static enum kernel_format detect(const uint8_t *d, uint64_t size)
{
	if (is_image(d, size))
		return KFMT_IMAGE;
	return is_elf(d, size) ? KFMT_ELF : KFMT_AUTO;
}

int image_layout(const void *data, uint64_t size, enum kernel_format fmt, uint64_t load_addr,
		 uint64_t ram_size, struct image_layout *out, char *err, size_t errlen)
{
	const uint8_t *d = data;
	*out = (struct image_layout){0};
	if (size == 0)
		return fail(err, errlen, -EINVAL, "empty kernel file");
	out->fmt = fmt == KFMT_AUTO ? detect(d, size) : fmt;
	switch (out->fmt) {
	case KFMT_IMAGE:
		return layout_linux(d, size, ram_size, out, err, errlen);
	case KFMT_ELF:
		return layout_elf(d, size, ram_size, out, err, errlen);
	case KFMT_RAW:
		return layout_raw(size, load_addr, ram_size, out, err, errlen);
	default:
		return fail(err, errlen, -EINVAL,
			    "unknown kernel format (not a Linux Image or ELF; set kernel-format = "
			    "\"raw\" and load-address)");
	}
}

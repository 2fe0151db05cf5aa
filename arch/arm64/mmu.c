/*
 * tessera's own EL2 translation: an identity map (VA == PA) with the image
 * split by permission (text RX, rodata R, data RW, everything writable never
 * executable: SCTLR_EL2.WXN enforces it), RAM RW and device regions as
 * Device-nGnRE.
 */
#include "arch/arm64/arch.h"
#include <errno.h>
#include <string.h>

extern char _text[], _etext[], _erodata[], _data[], _edata[];

/* Read by secondary_entry with the MMU off: keep the layout in sync. */
struct mmu_params {
	uint64_t ttbr0, tcr, mair, sctlr;
};
struct mmu_params mmu_params;

#define MAX_EARLY_DEVS 32
static struct {
	uint64_t pa, size;
} early_devs[MAX_EARLY_DEVS];
static unsigned n_early_devs;

static struct pt el2_pt;
static bool mmu_on;
static void *(*page_alloc)(void);

#define SCTLR_EL2_RES1 0x30c50830ull
#define SCTLR_M	       BIT(0)
#define SCTLR_C	       BIT(2)
#define SCTLR_SA       BIT(3)
#define SCTLR_I	       BIT(12)
#define SCTLR_WXN      BIT(19)

static void *pt_alloc(void *ctx)
{
	void *p = page_alloc();
	if (p)
		memset(p, 0, PAGE_SIZE);
	return p;
}
static void pt_free(void *ctx, void *t)
{
	/* EL2 tables live as long as tessera; a split never frees one. */
}
static uint64_t pt_pa(void *ctx, void *t)
{
	return (uint64_t)t;
}
static void *pt_va(void *ctx, uint64_t pa)
{
	return (void *)pa;
}
static void pt_tlb(void *ctx, uint64_t va, uint64_t size)
{
	if (!mmu_on)
		return;
	dsb(ishst);
	__asm__ volatile("tlbi alle2is" ::: "memory");
	dsb(ish);
	isb();
}
static const struct pt_ops el2_ops = {pt_alloc, pt_free, pt_pa, pt_va, pt_tlb};
static void *root_alloc(void *ctx, unsigned pages)
{
	return pages == 1 ? pt_alloc(ctx) : NULL;
}

/* Physical address size from ID_AA64MMFR0_EL1.PARange. */
unsigned cpu_pa_bits(void)
{
	static const unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
	unsigned r = read_sysreg(id_aa64mmfr0_el1) & 0xf;
	return r < ARRAY_SIZE(bits) ? bits[r] : 48;
}

static int map_image(uint64_t base, uint64_t size)
{
	uint64_t t = (uint64_t)_text, et = (uint64_t)_etext, er = (uint64_t)_erodata;
	uint64_t end = ALIGN_UP(base + size, PAGE_SIZE);
	int e = t > base ? pt_map(&el2_pt, base, base, t - base, PT_R) : 0; /* PE header */
	if (e)
		return e;
	if ((e = pt_map(&el2_pt, t, t, et - t, PT_R | PT_X)) ||
	    (e = pt_map(&el2_pt, et, et, er - et, PT_R)))
		return e;
	return pt_map(&el2_pt, er, er, end - er, PT_R | PT_W);
}

static uint64_t tcr_value(void)
{
	uint64_t ps = read_sysreg(id_aa64mmfr0_el1) & 0x7;
	/* RES1 bits 31 and 23; inner/outer WBWA, inner shareable, 4K granule */
	return BIT(31) | BIT(23) | (ps << 16) | (3ull << 12) | (1ull << 10) | (1ull << 8) |
	       pt_t0sz(&el2_pt);
}

int el2_mmu_init(void *(*alloc_page)(void))
{
	page_alloc = alloc_page;
	int e = pt_init(&el2_pt, PT_S1_EL2, MIN(cpu_pa_bits(), 48u), &el2_ops, NULL, root_alloc);
	if (e)
		return e;
	for (unsigned i = 0; i < n_early_devs && !e; i++)
		e = pt_map(&el2_pt, early_devs[i].pa, early_devs[i].pa, early_devs[i].size,
			   PT_R | PT_W | PT_DEVICE);
	return e;
}

/* The image goes in last: its pages override the RAM mapping around it. */
int el2_mmu_switch(uint64_t image_base, uint64_t image_size)
{
	extern void mmu_switch(uint64_t, uint64_t, uint64_t, uint64_t);
	int e = map_image(image_base, image_size);
	if (e)
		return e;
	mmu_params.ttbr0 = (uint64_t)el2_pt.root;
	mmu_params.tcr = tcr_value();
	mmu_params.mair = PT_MAIR_VALUE;
	mmu_params.sctlr = SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | SCTLR_I | SCTLR_WXN;
	mmu_switch(mmu_params.ttbr0, mmu_params.tcr, mmu_params.mair, mmu_params.sctlr);
	mmu_on = true;
	return 0;
}

/* A new entry over an invalid one needs no TLB maintenance, only ordering
 * before the first access through it. */
static void publish(void)
{
	if (mmu_on) {
		dsb(ishst);
		isb();
	}
}

static uint64_t page_span(uint64_t pa, uint64_t size, uint64_t *base)
{
	*base = ALIGN_DOWN(pa, PAGE_SIZE);
	return ALIGN_UP(pa + size, PAGE_SIZE) - *base;
}

uintptr_t el2_map_device(uint64_t pa, uint64_t size)
{
	uint64_t base, len = page_span(pa, size, &base);
	if (!el2_pt.root) {
		if (n_early_devs == MAX_EARLY_DEVS)
			return 0;
		early_devs[n_early_devs].pa = base;
		early_devs[n_early_devs++].size = len;
		return pa;
	}
	if (pt_map(&el2_pt, base, base, len, PT_R | PT_W | PT_DEVICE))
		return 0;
	publish();
	return pa;
}

int el2_map_ram(uint64_t pa, uint64_t size)
{
	uint64_t base, len = page_span(pa, size, &base);
	int e = pt_map(&el2_pt, base, base, len, PT_R | PT_W);
	publish();
	return e;
}

int el2_unmap(uint64_t pa, uint64_t size)
{
	uint64_t base, len = page_span(pa, size, &base);
	return pt_unmap(&el2_pt, base, len);
}

bool el2_is_mapped(uintptr_t va)
{
	uint64_t pa;
	unsigned attrs, level;
	return el2_pt.root && pt_translate(&el2_pt, va, &pa, &attrs, &level) == 0;
}

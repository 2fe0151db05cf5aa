/*
 * Portable VMSAv8-64 page-table library (4 KiB granule), shared by the EL2
 * stage-1 tables, partition stage-2 tables and SMMUv3 contexts. Plain C: it
 * builds for the host and is unit-tested there.
 *
 * Updates are two-phase: pt_map()/pt_unmap() first reserve every table they
 * may need (this can fail, and then nothing has changed), then write entries
 * (this cannot fail). Replacing a valid entry follows break-before-make:
 * write invalid, invalidate through ops->tlb_inval, write the new entry;
 * except a leaf that keeps its size, output address and memory type and
 * changes only its permissions, which is written in place and then
 * invalidated (so write-protecting live memory never unmaps it).
 */
#ifndef ARCH_ARM64_PT_H
#define ARCH_ARM64_PT_H

#include "lib/types.h"

enum pt_format {
	PT_S1_EL2,  /* stage-1, EL2 translation regime (no nG, AP[1] RES1) */
	PT_S1_EL10, /* stage-1, EL1&0 regime, used by SMMU context descriptors */
	PT_S2,	    /* stage-2 (S2AP, MemAttr[3:0]) */
};

/* Attributes of a mapping. */
#define PT_R	  BIT(0)
#define PT_W	  BIT(1)
#define PT_X	  BIT(2)
#define PT_DEVICE BIT(3) /* Device-nGnRE; otherwise Normal write-back */
#define PT_USER	  BIT(4) /* PT_S1_EL10 only: EL0 accessible */

/* MAIR indices the stage-1 formats use; the caller programs MAIR to match. */
#define PT_MAIR_IDX_NORMAL 0 /* 0xff: Normal inner/outer WB RW-allocate */
#define PT_MAIR_IDX_DEVICE 1 /* 0x04: Device-nGnRE */
#define PT_MAIR_VALUE	   0x04ffull

struct pt_ops {
	/* A zeroed, 4 KiB-aligned table page, or NULL. Return its address as the
	 * caller can dereference it; pa_of() converts it for descriptors. */
	void *(*alloc_table)(void *ctx);
	void (*free_table)(void *ctx, void *table);
	uint64_t (*pa_of)(void *ctx, void *table);
	void *(*va_of)(void *ctx, uint64_t pa);
	/* Invalidate TLB entries for [va, va+size) after an entry was broken.
	 * The broken entry may be a table one: walk caches must go too. */
	void (*tlb_inval)(void *ctx, uint64_t va, uint64_t size);
};

struct pt {
	enum pt_format fmt;
	unsigned ia_bits;     /* input address size: 32..48 */
	unsigned start_level; /* 0..2, from ia_bits */
	unsigned root_tables; /* >1 only for concatenated stage-2 roots */
	uint64_t *root;
	const struct pt_ops *ops;
	void *ctx;
};

/* Sets up an empty table. For PT_S2 the start level is chosen as the
 * architecture allows, concatenating up to 16 root tables (allocated
 * contiguously through alloc_table is not possible, so root_alloc gives
 * n contiguous zeroed pages; pt_destroy hands them back one page at a time
 * through free_table). root_alloc may be NULL when one root page suffices:
 * alloc_table is used then. Returns 0 or -ENOMEM/-EINVAL. */
int pt_init(struct pt *pt, enum pt_format fmt, unsigned ia_bits, const struct pt_ops *ops,
	    void *ctx, void *(*root_alloc)(void *ctx, unsigned pages));

/* Maps [va, va+size) to [pa, pa+size) with attrs; all three page aligned.
 * Uses 1 GiB / 2 MiB blocks wherever va, pa and size allow. Returns 0,
 * -EINVAL (bad alignment/range/attrs) or -ENOMEM (nothing changed). attrs
 * must include PT_R; PT_X with PT_DEVICE, and PT_USER outside PT_S1_EL10,
 * are -EINVAL. */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned attrs);

/* Unmaps [va, va+size), splitting blocks when the range cuts one. Returns 0,
 * -EINVAL or -ENOMEM (nothing changed). */
int pt_unmap(struct pt *pt, uint64_t va, uint64_t size);

/* Software walk: 0 and the leaf in *pa, *attrs, *level if va is mapped, -ENOENT if not.
 * Any of the out pointers may be NULL. */
int pt_translate(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *attrs, unsigned *level);

/* The permissions of the page (level-3 leaf) mapping va set to attrs in
 * place, invalidated: what pt_map would do for that page, without its two
 * walks (a stage-2 dirty-tracking fault's path). -ENOENT when va is not
 * mapped by a page with the same memory type (a block, nothing, a device
 * page: use pt_map), -EINVAL for bad attrs or va. Never allocates. */
int pt_page_perm(struct pt *pt, uint64_t va, unsigned attrs);

/* Frees every table (not the mapped memory). */
void pt_destroy(struct pt *pt);

/* The translation-control fields matching this table: T0SZ and SL0 (stage-2)
 * for TCR_EL2/VTCR_EL2/CD.TCR. SL0 is 2 - start_level (4 KiB granule). */
unsigned pt_t0sz(const struct pt *pt);
unsigned pt_vtcr_sl0(const struct pt *pt);

#endif

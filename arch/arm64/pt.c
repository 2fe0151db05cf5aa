/*
 * VMSAv8-64 page tables, 4 KiB granule. See pt.h for the contract.
 *
 * Every update walks the range twice with the same code: a dry run on the
 * live tree counts the tables the update needs (nothing is written), those
 * are allocated up front, then the real walk consumes them and cannot fail.
 * Tables created during the real walk are filled while still private and
 * published with one descriptor store, so other CPUs' walkers only ever see
 * a complete subtree.
 *
 * Target requirements on the ops: tlb_inval must start with "dsb ishst" (the
 * walker has to see the invalid entry before the TLBI), must invalidate
 * walk-cache entries too (not the last-level-only TLBI forms: broken table
 * entries are passed to it) and must end with "dsb ish; isb". New mappings
 * over invalid entries do not call tlb_inval: the caller issues
 * "dsb ishst; isb" before relying on them.
 */
#include <errno.h>
#include <string.h>

#include "arch/arm64/pt.h"

#define PT_ENTRIES    512
#define PT_LEVEL_BITS 9
#define PT_LAST_LEVEL 3
#define PT_OA_LIMIT   BIT(48)

#define DESC_VALID	BIT(0)
#define DESC_TYPE_MASK	3ull
#define DESC_BLOCK	1ull /* levels 1 and 2 */
#define DESC_TABLE	3ull /* levels 0..2 */
#define DESC_PAGE	3ull /* level 3 */
#define DESC_ADDR_MASK	0x0000fffffffff000ull
#define DESC_ATTRIDX(i) ((uint64_t)(i) << 2)
#define DESC_ATTRIDX_M	DESC_ATTRIDX(7)
#define DESC_AP1	BIT(6) /* EL0 access (EL1&0), RES1 for EL2 */
#define DESC_AP2	BIT(7) /* read-only */
#define DESC_SH_INNER	(3ull << 8)
#define DESC_AF		BIT(10)
#define DESC_PXN	BIT(53)
#define DESC_UXN	BIT(54) /* XN for EL2 and stage-2 */
#define S2_MEMATTR_M	(0xfull << 2)
#define S2_MEMATTR_WB	(0xfull << 2) /* Normal, outer and inner write-back */
#define S2_MEMATTR_DEV	(0x1ull << 2) /* Device-nGnRE */
#define S2AP_R		BIT(6)
#define S2AP_W		BIT(7)
/* Access permissions (S2AP or AP, and the XN bits) of a leaf */
#define DESC_PERM_M (DESC_AP1 | DESC_AP2 | DESC_PXN | DESC_UXN)

#define PT_ATTRS_ALL (PT_R | PT_W | PT_X | PT_DEVICE | PT_USER)

/*
 * Stand-in for the entries of a table that the dry run pretends to create:
 * a valid block, so that any partial cover (map or unmap) needs a table.
 */
#define DESC_DRY_BLOCK (DESC_VALID | DESC_BLOCK)

struct pt_walk {
	struct pt *pt;
	uint64_t pa_off; /* pa - va, modulo 2^64 */
	uint64_t leaf;	 /* attribute bits of new leaves */
	bool map;
	bool dry;
	size_t need; /* tables the dry run counted */
	void *resv;  /* reserved tables, linked through their first word */
	/* permission changes written in place, invalidated once at the end */
	uint64_t perm_lo, perm_hi;
};

static void walk(struct pt_walk *w, uint64_t *table, unsigned level, uint64_t va, uint64_t end,
		 bool live);

static unsigned level_shift(unsigned level)
{
	return PAGE_SHIFT + PT_LEVEL_BITS * (PT_LAST_LEVEL - level);
}

static uint64_t level_span(unsigned level)
{
	return 1ull << level_shift(level);
}

static size_t root_entries(const struct pt *pt)
{
	return (size_t)1 << (pt->ia_bits - level_shift(pt->start_level));
}

static size_t table_index(const struct pt *pt, unsigned level, uint64_t va)
{
	size_t n = level == pt->start_level ? root_entries(pt) : PT_ENTRIES;

	return (va >> level_shift(level)) & (n - 1);
}

/* Single 64-bit accesses: the hardware walker may read concurrently. */
static uint64_t read_desc(const uint64_t *p)
{
	return *(const volatile uint64_t *)p;
}

static void write_desc(uint64_t *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

static bool desc_is_table(uint64_t d, unsigned level)
{
	return level < PT_LAST_LEVEL && (d & DESC_TYPE_MASK) == DESC_TABLE;
}

static bool desc_is_leaf(uint64_t d, unsigned level)
{
	uint64_t type = level == PT_LAST_LEVEL ? DESC_PAGE : DESC_BLOCK;

	/* No level-0 blocks with 4 KiB granules (FEAT_LPA2 is not used). */
	return level > 0 && (d & DESC_TYPE_MASK) == type;
}

static uint64_t *desc_table(const struct pt *pt, uint64_t d)
{
	return pt->ops->va_of(pt->ctx, d & DESC_ADDR_MASK);
}

/* ---- attributes ---------------------------------------------------------- */

static int check_attrs(enum pt_format fmt, unsigned attrs)
{
	if ((attrs & ~PT_ATTRS_ALL) || !(attrs & PT_R))
		return -EINVAL;
	/* Executable device memory only invites speculative instruction fetch. */
	if ((attrs & PT_DEVICE) && (attrs & PT_X))
		return -EINVAL;
	if ((attrs & PT_USER) && fmt != PT_S1_EL10)
		return -EINVAL;
	return 0;
}

static uint64_t s1_attrs(enum pt_format fmt, unsigned attrs)
{
	bool x = attrs & PT_X, user = attrs & PT_USER;
	uint64_t d = DESC_AF | DESC_SH_INNER;

	d |= DESC_ATTRIDX((attrs & PT_DEVICE) ? PT_MAIR_IDX_DEVICE : PT_MAIR_IDX_NORMAL);
	if (!(attrs & PT_W))
		d |= DESC_AP2;
	if (fmt == PT_S1_EL2)
		return d | DESC_AP1 | (x ? 0 : DESC_UXN);
	if (user)
		d |= DESC_AP1;
	if (!(x && !user))
		d |= DESC_PXN;
	if (!(x && user))
		d |= DESC_UXN;
	return d;
}

/* XN[1:0] = 0b10 (bit 54 only) is "execute-never at EL1 and EL0". */
static uint64_t s2_attrs(unsigned attrs)
{
	uint64_t d = DESC_AF | DESC_SH_INNER;

	d |= (attrs & PT_DEVICE) ? S2_MEMATTR_DEV : S2_MEMATTR_WB;
	d |= (attrs & PT_R) ? S2AP_R : 0;
	d |= (attrs & PT_W) ? S2AP_W : 0;
	d |= (attrs & PT_X) ? 0 : DESC_UXN;
	return d;
}

static unsigned s1_decode(enum pt_format fmt, uint64_t d)
{
	unsigned attrs = PT_R;

	if (!(d & DESC_AP2))
		attrs |= PT_W;
	if ((d & DESC_ATTRIDX_M) == DESC_ATTRIDX(PT_MAIR_IDX_DEVICE))
		attrs |= PT_DEVICE;
	if (fmt == PT_S1_EL2)
		return attrs | ((d & DESC_UXN) ? 0 : PT_X);
	if (d & DESC_AP1)
		attrs |= PT_USER;
	if (!(d & ((attrs & PT_USER) ? DESC_UXN : DESC_PXN)))
		attrs |= PT_X;
	return attrs;
}

static unsigned s2_decode(uint64_t d)
{
	unsigned attrs = 0;

	attrs |= (d & S2AP_R) ? PT_R : 0;
	attrs |= (d & S2AP_W) ? PT_W : 0;
	attrs |= (d & DESC_UXN) ? 0 : PT_X;
	attrs |= (d & S2_MEMATTR_M) == S2_MEMATTR_DEV ? PT_DEVICE : 0;
	return attrs;
}

/* ---- table reservation ---------------------------------------------------- */

/*
 * The number of tables grows with the range (one per 2 MiB of page-mapped
 * space), so the reservation cannot be a fixed array: it is a list threaded
 * through the reserved pages themselves.
 */
static void *take_table(struct pt_walk *w)
{
	void *t = w->resv;

	memcpy(&w->resv, t, sizeof(w->resv));
	memset(t, 0, sizeof(w->resv));
	return t;
}

static void release(struct pt_walk *w)
{
	while (w->resv)
		w->pt->ops->free_table(w->pt->ctx, take_table(w));
}

static int reserve(struct pt_walk *w)
{
	for (size_t i = 0; i < w->need; i++) {
		void *t = w->pt->ops->alloc_table(w->pt->ctx);

		if (!t) {
			release(w);
			return -ENOMEM;
		}
		memcpy(t, &w->resv, sizeof(w->resv));
		w->resv = t;
	}
	return 0;
}

/* ---- the walk --------------------------------------------------------------- */

static void free_children(const struct pt *pt, uint64_t *table, unsigned level, size_t n);

static void free_tree(const struct pt *pt, uint64_t *table, unsigned level)
{
	free_children(pt, table, level, PT_ENTRIES);
	pt->ops->free_table(pt->ctx, table);
}

static void free_children(const struct pt *pt, uint64_t *table, unsigned level, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t d = read_desc(&table[i]);

		if (desc_is_table(d, level))
			free_tree(pt, desc_table(pt, d), level + 1);
	}
}

/* The same leaf, output address and memory attributes, other access
 * permissions: the architecture lets such a change be written in place
 * (no break-before-make), the TLB invalidation after it retiring the old
 * permissions: one for all such changes of a walk, at its end. Stage-2 dirty tracking relies on it:
 * write-protecting a running guest's RAM never makes it fault on a transiently invalid entry. */
static bool perm_only(uint64_t old, uint64_t new, unsigned level)
{
	return desc_is_leaf(old, level) && desc_is_leaf(new, level) &&
	       !((old ^ new) & ~DESC_PERM_M);
}

/*
 * Replaces *ep with new. A live valid entry is broken first and its range
 * invalidated, so no TLB ever holds the old and the new entry at once; a
 * replaced subtree is freed only after that invalidation. A change of
 * permissions alone is written in place, then invalidated (perm_only).
 */
static void set_entry(struct pt_walk *w, uint64_t *ep, uint64_t new, unsigned level, uint64_t va,
		      bool live)
{
	const struct pt *pt = w->pt;
	uint64_t old;

	if (w->dry)
		return;
	old = read_desc(ep);
	if (old == new) /* remapping as before: no break, no invalidation */
		return;
	if (live && perm_only(old, new, level)) {
		uint64_t lo = ALIGN_DOWN(va, level_span(level));
		write_desc(ep, new);
		w->perm_lo = MIN(w->perm_lo, lo);
		w->perm_hi = MAX(w->perm_hi, lo + level_span(level));
		return;
	}
	if (live && (old & DESC_VALID)) {
		write_desc(ep, 0);
		pt->ops->tlb_inval(pt->ctx, ALIGN_DOWN(va, level_span(level)), level_span(level));
	}
	if (desc_is_table(old, level))
		free_tree(pt, desc_table(pt, old), level + 1);
	/* The new table's entries must be visible before the table is. */
	if (desc_is_table(new, level))
		__atomic_thread_fence(__ATOMIC_RELEASE);
	write_desc(ep, new);
}

static bool leaf_ok(const struct pt_walk *w, unsigned level, uint64_t va)
{
	if (level == PT_LAST_LEVEL)
		return true;
	return (level == 1 || level == 2) && IS_ALIGNED(va + w->pa_off, level_span(level));
}

static uint64_t leaf_desc(const struct pt_walk *w, unsigned level, uint64_t va)
{
	uint64_t type = level == PT_LAST_LEVEL ? DESC_PAGE : DESC_BLOCK;

	return ((va + w->pa_off) & DESC_ADDR_MASK) | w->leaf | type;
}

/* Rewrites a block as a table of next-level entries mapping the same. */
static void fill_from_block(uint64_t *table, uint64_t block, unsigned level)
{
	uint64_t span = level_span(level);
	uint64_t pa = block & DESC_ADDR_MASK;
	uint64_t attrs = block & ~(DESC_ADDR_MASK | DESC_TYPE_MASK);
	uint64_t type = level == PT_LAST_LEVEL ? DESC_PAGE : DESC_BLOCK;

	for (size_t i = 0; i < PT_ENTRIES; i++)
		write_desc(&table[i], (pa + i * span) | attrs | type);
}

/* Needs a private table under *ep: new or split from a block, then published. */
static void split(struct pt_walk *w, uint64_t *ep, uint64_t old, unsigned level, uint64_t va,
		  uint64_t end, bool live)
{
	uint64_t *table;

	if (w->dry) {
		w->need++;
		walk(w, NULL, level + 1, va, end, false);
		return;
	}
	table = take_table(w);
	if (old & DESC_VALID)
		fill_from_block(table, old, level + 1);
	walk(w, table, level + 1, va, end, false);
	set_entry(w, ep, w->pt->ops->pa_of(w->pt->ctx, table) | DESC_TABLE, level, va, live);
}

static bool table_empty(const uint64_t *table)
{
	for (size_t i = 0; i < PT_ENTRIES; i++)
		if (read_desc(&table[i]))
			return false;
	return true;
}

static void descend(struct pt_walk *w, uint64_t *ep, uint64_t old, unsigned level, uint64_t va,
		    uint64_t end, bool live)
{
	uint64_t *table = desc_table(w->pt, old);

	walk(w, table, level + 1, va, end, live);
	/* Unmapping may leave the table empty: give it back. */
	if (!w->map && !w->dry && table_empty(table))
		set_entry(w, ep, 0, level, va, live);
}

/* Applies the operation to [va, end), which lies within the entry *ep. */
static void visit(struct pt_walk *w, uint64_t *ep, unsigned level, uint64_t va, uint64_t end,
		  bool live)
{
	uint64_t old = ep ? read_desc(ep) : DESC_DRY_BLOCK;
	bool whole = end - va == level_span(level);

	if (whole && w->map && leaf_ok(w, level, va))
		set_entry(w, ep, leaf_desc(w, level, va), level, va, live);
	else if (whole && !w->map)
		set_entry(w, ep, 0, level, va, live);
	else if (desc_is_table(old, level))
		descend(w, ep, old, level, va, end, live);
	else if (w->map || (old & DESC_VALID))
		split(w, ep, old, level, va, end, live);
}

/* A NULL table is one the dry run pretends to have created. */
static void walk(struct pt_walk *w, uint64_t *table, unsigned level, uint64_t va, uint64_t end,
		 bool live)
{
	uint64_t span = level_span(level);

	while (va < end) {
		uint64_t next = MIN(ALIGN_DOWN(va, span) + span, end);
		uint64_t *ep = table ? &table[table_index(w->pt, level, va)] : NULL;

		visit(w, ep, level, va, next, live);
		va = next;
	}
}

static int run(struct pt_walk *w, uint64_t va, uint64_t size)
{
	struct pt *pt = w->pt;
	int err;

	w->dry = true;
	w->need = 0;
	w->resv = NULL;
	walk(w, pt->root, pt->start_level, va, va + size, true);
	err = reserve(w);
	if (err)
		return err;
	w->dry = false;
	w->perm_lo = UINT64_MAX;
	w->perm_hi = 0;
	walk(w, pt->root, pt->start_level, va, va + size, true);
	if (w->perm_hi) /* one invalidation for every in-place change */
		pt->ops->tlb_inval(pt->ctx, w->perm_lo, w->perm_hi - w->perm_lo);
	release(w); /* empty unless the two walks disagreed */
	return 0;
}

/* ---- API ----------------------------------------------------------------- */

static int check_range(const struct pt *pt, uint64_t va, uint64_t size)
{
	uint64_t limit = 1ull << pt->ia_bits;

	if (!pt->root || !size || !IS_ALIGNED(va | size, PAGE_SIZE))
		return -EINVAL;
	if (size > limit || va > limit - size)
		return -EINVAL;
	return 0;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned attrs)
{
	struct pt_walk w = {.pt = pt, .map = true, .pa_off = pa - va};
	int err = check_range(pt, va, size);

	if (!err)
		err = check_attrs(pt->fmt, attrs);
	if (err)
		return err;
	if (!IS_ALIGNED(pa, PAGE_SIZE) || size > PT_OA_LIMIT || pa > PT_OA_LIMIT - size)
		return -EINVAL;
	w.leaf = pt->fmt == PT_S2 ? s2_attrs(attrs) : s1_attrs(pt->fmt, attrs);
	return run(&w, va, size);
}

int pt_unmap(struct pt *pt, uint64_t va, uint64_t size)
{
	struct pt_walk w = {.pt = pt, .map = false};
	int err = check_range(pt, va, size);

	return err ? err : run(&w, va, size);
}

static void leaf_out(const struct pt *pt, uint64_t d, unsigned level, uint64_t va, uint64_t *pa,
		     unsigned *attrs, unsigned *lvl)
{
	uint64_t mask = level_span(level) - 1;

	if (pa)
		*pa = (d & DESC_ADDR_MASK & ~mask) | (va & mask);
	if (attrs)
		*attrs = pt->fmt == PT_S2 ? s2_decode(d) : s1_decode(pt->fmt, d);
	if (lvl)
		*lvl = level;
}

int pt_translate(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *attrs, unsigned *level)
{
	const uint64_t *table = pt->root;

	if (!table || (va >> pt->ia_bits))
		return -ENOENT;
	for (unsigned l = pt->start_level; l <= PT_LAST_LEVEL; l++) {
		uint64_t d = read_desc(&table[table_index(pt, l, va)]);

		if (desc_is_leaf(d, l)) {
			leaf_out(pt, d, l, va, pa, attrs, level);
			return 0;
		}
		if (!desc_is_table(d, l))
			break;
		table = desc_table(pt, d);
	}
	return -ENOENT;
}

int pt_page_perm(struct pt *pt, uint64_t va, unsigned attrs)
{
	uint64_t *table = pt->root;

	if (!table || (va >> pt->ia_bits) || check_attrs(pt->fmt, attrs) || (attrs & PT_DEVICE))
		return -EINVAL;
	for (unsigned l = pt->start_level; l < PT_LAST_LEVEL; l++) {
		uint64_t d = read_desc(&table[table_index(pt, l, va)]);

		if (!desc_is_table(d, l))
			return -ENOENT; /* a block or nothing: pt_map decides */
		table = desc_table(pt, d);
	}
	uint64_t *ep = &table[table_index(pt, PT_LAST_LEVEL, va)];
	uint64_t old = read_desc(ep);
	uint64_t leaf = pt->fmt == PT_S2 ? s2_attrs(attrs) : s1_attrs(pt->fmt, attrs);
	uint64_t new = (old & DESC_ADDR_MASK) | leaf | DESC_PAGE;

	if (!desc_is_leaf(old, PT_LAST_LEVEL) || !perm_only(old, new, PT_LAST_LEVEL))
		return -ENOENT;
	if (old != new) {
		write_desc(ep, new);
		pt->ops->tlb_inval(pt->ctx, ALIGN_DOWN(va, PAGE_SIZE), PAGE_SIZE);
	}
	return 0;
}

void pt_destroy(struct pt *pt)
{
	if (!pt->root)
		return;
	free_children(pt, pt->root, pt->start_level, root_entries(pt));
	for (unsigned i = 0; i < pt->root_tables; i++)
		pt->ops->free_table(pt->ctx, pt->root + (size_t)i * PT_ENTRIES);
	pt->root = NULL;
}

unsigned pt_t0sz(const struct pt *pt)
{
	return 64 - pt->ia_bits;
}

/* 4 KiB granule: SL0 = 0, 1, 2 start at level 2, 1, 0. */
unsigned pt_vtcr_sl0(const struct pt *pt)
{
	return 2 - pt->start_level;
}

/*
 * Levels needed to resolve ia_bits, as Linux's ARM64_HW_PGTABLE_LEVELS. For
 * stage-2, 4 of the bits may instead go to up to 16 concatenated root tables,
 * which saves a level whenever that is possible (KVM's choice): 40 bits start
 * at level 1 with 2 tables, 44 at level 0, 32..34 at level 2.
 */
static unsigned start_level(enum pt_format fmt, unsigned ia_bits)
{
	unsigned concat_bits = fmt == PT_S2 ? 4 : 0;
	unsigned levels = (ia_bits - concat_bits - 4) / PT_LEVEL_BITS;

	return PT_LAST_LEVEL + 1 - levels;
}

static bool ops_ok(const struct pt_ops *ops)
{
	return ops && ops->alloc_table && ops->free_table && ops->pa_of && ops->va_of &&
	       ops->tlb_inval;
}

int pt_init(struct pt *pt, enum pt_format fmt, unsigned ia_bits, const struct pt_ops *ops,
	    void *ctx, void *(*root_alloc)(void *ctx, unsigned pages))
{
	memset(pt, 0, sizeof(*pt));
	if ((fmt != PT_S1_EL2 && fmt != PT_S1_EL10 && fmt != PT_S2) || ia_bits < 32 ||
	    ia_bits > 48 || !ops_ok(ops))
		return -EINVAL;
	*pt = (struct pt){.fmt = fmt, .ia_bits = ia_bits, .ops = ops, .ctx = ctx};
	pt->start_level = start_level(fmt, ia_bits);
	pt->root_tables = (unsigned)((root_entries(pt) + PT_ENTRIES - 1) / PT_ENTRIES);
	if (root_alloc)
		pt->root = root_alloc(ctx, pt->root_tables);
	else if (pt->root_tables == 1)
		pt->root = ops->alloc_table(ctx);
	else
		return -EINVAL;
	return pt->root ? 0 : -ENOMEM;
}

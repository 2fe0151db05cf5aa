/*
 * Stage-2 dirty tracking of a partition's RAM (the ground incremental and
 * live snapshots stand on). While it is on, the RAM is mapped read and
 * execute only; the first write to a 4 KiB page faults to EL2, which sets
 * the page's bit and maps that page writable again, so later writes cost
 * nothing. A 2 MiB block is split into pages on its first write (the
 * other 511 stay read-only); stopping maps all RAM writable again, which
 * merges the pages back into blocks. Permission changes are written in
 * place (pt.c perm_only): a running guest never sees its RAM unmapped,
 * except for the break-before-make of a block being split, which another
 * vCPU may run into as a translation fault: it retries.
 *
 * Only guest CPU writes are seen. tessera's own writes to guest RAM (image
 * loading, a restore) go through its EL2 mapping, which happens before
 * tracking starts; DMA of assigned devices would need the SMMU's dirty
 * tracking, so a partition with devices is refused.
 *
 * The lock serialises faults of several vCPUs, harvests and start/stop
 * (the stage-2 tree is changed only under it); it is never held across
 * anything that waits.
 */
#include "kernel/vm/vm.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PAGE_SHIFT  12
#define BLOCK_PAGES (SZ_2M >> PAGE_SHIFT)
#define RAM_RWX	    (PT_R | PT_W | PT_X)
#define RAM_RX	    (PT_R | PT_X)

uint64_t dirty_bitmap_bytes(const struct partition *p)
{
	return ALIGN_UP(p->cfg.mem_size >> PAGE_SHIFT, 64) / 8;
}

static bool in_ram(const struct partition *p, uint64_t ipa)
{
	return ipa - GUEST_RAM_BASE < p->cfg.mem_size;
}

int dirty_start(struct partition *p)
{
	struct dirty_log *d = &p->dirty;
	if (p->npdevs)
		return -EPERM; /* its devices' DMA would write past the bitmap */
	uint64_t bytes = ALIGN_UP(dirty_bitmap_bytes(p), PAGE_SIZE);
	uint64_t pa = mem_alloc(bytes, PAGE_SIZE);
	if (!pa)
		return -ENOMEM;
	memset((void *)pa, 0, bytes);
	spin_lock(&d->lock);
	int e = d->ready && !d->on ? 0 : -EBUSY;
	if (!e) {
		/* permissions only: written in place, one invalidation */
		e = pt_map(&p->s2, GUEST_RAM_BASE, p->ram_pa, p->cfg.mem_size, RAM_RX);
	}
	if (!e) {
		d->bits = (uint64_t *)pa;
		d->faults = 0;
		__atomic_store_n(&d->on, true, __ATOMIC_RELEASE);
	}
	spin_unlock(&d->lock);
	if (e)
		mem_free(pa, bytes);
	return e;
}

void dirty_ready(struct partition *p, bool ready)
{
	if (!ready)
		dirty_stop(p);
	spin_lock(&p->dirty.lock);
	p->dirty.ready = ready;
	spin_unlock(&p->dirty.lock);
}

/* Writable again: whole 2 MiB ranges become blocks again (pt_map), so the
 * tables the faults split off are freed. */
void dirty_stop(struct partition *p)
{
	struct dirty_log *d = &p->dirty;
	spin_lock(&d->lock);
	bool was = d->on;
	d->on = false;
	if (was && pt_map(&p->s2, GUEST_RAM_BASE, p->ram_pa, p->cfg.mem_size, RAM_RWX))
		/* a merge never needs a table, so this cannot happen */
		panic("dirty: %s: RAM not made writable again", p->cfg.name);
	uint64_t *bits = d->bits;
	d->bits = NULL;
	d->base[0] = '\0';
	spin_unlock(&d->lock);
	if (bits)
		mem_free((uint64_t)bits, ALIGN_UP(dirty_bitmap_bytes(p), PAGE_SIZE));
}

static void mark(struct dirty_log *d, uint64_t page)
{
	d->bits[page / 64] |= 1ull << (page % 64);
}

/* The page writable. Splitting its block needs a table: if none can be
 * had, the whole block goes writable and all its pages count as dirty
 * (more to save, nothing missed). */
static void unprotect(struct partition *p, uint64_t page)
{
	uint64_t off = page << PAGE_SHIFT;
	if (!pt_page_perm(&p->s2, GUEST_RAM_BASE + off, RAM_RWX)) /* split already */
		return;
	if (!pt_map(&p->s2, GUEST_RAM_BASE + off, p->ram_pa + off, PAGE_SIZE, RAM_RWX))
		return;
	uint64_t first = ALIGN_DOWN(page, BLOCK_PAGES), boff = first << PAGE_SHIFT;
	uint64_t len = MIN((uint64_t)SZ_2M, p->cfg.mem_size - boff);
	if (pt_map(&p->s2, GUEST_RAM_BASE + boff, p->ram_pa + boff, len, RAM_RWX))
		panic("dirty: %s: no table and no block for IPA 0x%llx", p->cfg.name,
		      (unsigned long long)(GUEST_RAM_BASE + off));
	for (uint64_t i = first; i < first + (len >> PAGE_SHIFT); i++)
		mark(&p->dirty, i);
}

/* Whether the stage-2 tables now let the guest make that access. */
static bool allows(struct partition *p, uint64_t ipa, bool write)
{
	unsigned attrs;
	if (!p->dirty.ready || pt_translate(&p->s2, ipa, NULL, &attrs, NULL))
		return false;
	return !write || (attrs & PT_W);
}

bool dirty_fault(struct partition *p, uint64_t ipa, bool write)
{
	struct dirty_log *d = &p->dirty;
	if (!in_ram(p, ipa))
		return false;
	spin_lock(&d->lock);
	bool retry = true;
	if (d->on && write && !snap_live_fault(p, (ipa - GUEST_RAM_BASE) >> PAGE_SHIFT)) {
		/* a live save's page copies are all in use: wait for its writer */
		spin_unlock(&d->lock);
		wfe();
		return true;
	}
	if (d->on && write) {
		uint64_t page = (ipa - GUEST_RAM_BASE) >> PAGE_SHIFT;
		mark(d, page);
		d->faults++;
		unprotect(p, page);
	} else {
		/* raced with another vCPU's split of the block (a translation
		 * fault) or with tracking stopping: fine if the access is
		 * allowed now; anything else is the caller's to report */
		retry = allows(p, ipa, write);
	}
	spin_unlock(&d->lock);
	return retry;
}

uint64_t dirty_count(struct partition *p)
{
	struct dirty_log *d = &p->dirty;
	uint64_t n = 0;
	spin_lock(&d->lock);
	for (uint64_t i = 0; d->bits && i < dirty_bitmap_bytes(p) / 8; i++)
		n += (uint64_t)__builtin_popcountll(d->bits[i]);
	spin_unlock(&d->lock);
	return n;
}

uint64_t dirty_faults(struct partition *p)
{
	return __atomic_load_n(&p->dirty.faults, __ATOMIC_RELAXED);
}

bool dirty_on(struct partition *p)
{
	return __atomic_load_n(&p->dirty.on, __ATOMIC_ACQUIRE);
}

int dirty_harvest(struct partition *p, uint64_t *out)
{
	struct dirty_log *d = &p->dirty;
	spin_lock(&d->lock);
	int e = d->on ? 0 : -ENODATA;
	if (!e) {
		memcpy(out, d->bits, dirty_bitmap_bytes(p));
		memset(d->bits, 0, dirty_bitmap_bytes(p));
		/* whole blocks read-only again: the split tables are freed */
		e = pt_map(&p->s2, GUEST_RAM_BASE, p->ram_pa, p->cfg.mem_size, RAM_RX);
		if (e) /* a merge never needs a table */
			panic("dirty: %s: RAM not write-protected again", p->cfg.name);
	}
	spin_unlock(&d->lock);
	return e;
}

void dirty_unharvest(struct partition *p, const uint64_t *bits)
{
	struct dirty_log *d = &p->dirty;
	spin_lock(&d->lock);
	for (uint64_t i = 0; d->on && i < dirty_bitmap_bytes(p) / 8; i++)
		d->bits[i] |= bits[i];
	spin_unlock(&d->lock);
}

void dirty_set_base(struct partition *p, const char *name, uint64_t gen)
{
	struct dirty_log *d = &p->dirty;
	spin_lock(&d->lock);
	snprintf(d->base, sizeof(d->base), "%s", d->on && name ? name : "");
	d->base_gen = gen;
	spin_unlock(&d->lock);
}

bool dirty_base_is(struct partition *p, const char *name, uint64_t gen)
{
	struct dirty_log *d = &p->dirty;
	spin_lock(&d->lock);
	bool is = d->on && d->base[0] && !strcmp(d->base, name) && d->base_gen == gen;
	spin_unlock(&d->lock);
	return is;
}

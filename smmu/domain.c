/*
 * Domains: one DMA address space each, built with the shared page-table
 * library. Stage-2 (PT_S2, STE Config=0b110, VMID) where the SMMU has it,
 * otherwise stage-1 (PT_S1_EL10) through a hypervisor-owned one-entry CD
 * table with a per-domain ASID. Either way the tables are private to the
 * hypervisor: nothing a partition controls is ever walked.
 *
 * The pt library breaks live entries before replacing them and calls
 * tlb_inval in between; here that becomes TLBI commands for the stage in
 * use plus a CMD_SYNC, so smmu_map/unmap return with the SMMU's TLBs and
 * walk caches already clean.
 */
#include <errno.h>
#include <string.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

#define DESC_TABLE_BITS 3ull
#define DESC_ADDR_MASK	0x0000fffffffff000ull

/* ---- page-table memory: identity-mapped, so PA == VA ---- */

static void *pt_alloc_table(void *ctx)
{
	struct smmu_domain *d = ctx;
	void *p = smmu_alloc(PAGE_SIZE, PAGE_SIZE);

	if (p)
		d->tables++;
	return p;
}

static void pt_free_table(void *ctx, void *table)
{
	struct smmu_domain *d = ctx;

	d->tables--;
	smmu_free(table, PAGE_SIZE);
}

static uint64_t pt_pa_of(void *ctx, void *table)
{
	return (uintptr_t)table;
}

static void *pt_va_of(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

/* Concatenated stage-2 roots: contiguous and aligned to their total size. */
static void *pt_root_alloc(void *ctx, unsigned pages)
{
	struct smmu_domain *d = ctx;
	uint64_t size = (uint64_t)pages * PAGE_SIZE;
	void *p = smmu_alloc(size, size);

	if (p)
		d->tables += pages;
	return p;
}

/* ---- cache maintenance for a non-coherent SMMU ---- */

static void clean_table(const uint64_t *t, unsigned level, size_t n)
{
	dcache_clean_range((uintptr_t)t, n * sizeof(*t));
	if (level == 3)
		return;
	for (size_t i = 0; i < n; i++)
		if ((t[i] & DESC_TABLE_BITS) == DESC_TABLE_BITS)
			clean_table((const uint64_t *)(uintptr_t)(t[i] & DESC_ADDR_MASK), level + 1,
				    PAGE_SIZE / sizeof(*t));
}

/* The pt library writes descriptors anywhere in the tree: a walker that
 * does not snoop gets the whole tree cleaned (coherent SMMUs skip this). */
static void domain_clean(const struct smmu_domain *d)
{
	if (!smmu_dev.coherent)
		clean_table(d->pt.root, d->pt.start_level,
			    (size_t)d->pt.root_tables * PAGE_SIZE / sizeof(uint64_t));
	dsb(st);
}

/* ---- TLB invalidation ---- */

static int inval_all(const struct smmu_domain *d)
{
	uint64_t cmd[CMD_DWORDS];

	if (smmu_dev.stage2)
		cmd_tlbi_s12_vmall(cmd, d->tag);
	else
		cmd_tlbi_nh_asid(cmd, 0, d->tag);
	return smmu_cmd(cmd);
}

/* Leaf=0: the broken entry may be a table, so walk caches go too. VMID 0:
 * stage-1 entries of an SMMU without stage 2 carry none. */
static int inval_pages(const struct smmu_domain *d, uint64_t va, unsigned pages)
{
	uint64_t cmds[SMMU_TLBI_VA_MAX_PAGES][CMD_DWORDS];

	for (unsigned i = 0; i < pages; i++) {
		uint64_t a = va + (uint64_t)i * PAGE_SIZE;

		if (smmu_dev.stage2)
			cmd_tlbi_s2_ipa(cmds[i], d->tag, a, false);
		else
			cmd_tlbi_nh_va(cmds[i], 0, d->tag, a, false);
	}
	return smmu_cmds((const uint64_t(*)[CMD_DWORDS])cmds, pages);
}

/* A broken table entry covers everything below it (2 MiB and up): by-VA
 * commands for one address would leave the rest, so wide ranges drop the
 * whole ASID/VMID instead. */
/* Unmapping leaves pages invalid, never remapped: their invalidations can
 * wait for the end of smmu_unmap and share one CMD_SYNC. Anything wider (a
 * block split, a table freed) is replaced by a new entry or frees memory,
 * so it is invalidated at once (break-before-make). */
static bool defer_page(struct smmu_domain *d, uint64_t va, uint64_t size)
{
	if (!d->defer || size != PAGE_SIZE)
		return false;
	if (d->defer_hi == d->defer_lo) {
		d->defer_lo = va;
		d->defer_hi = va + size;
	} else {
		d->defer_lo = MIN(d->defer_lo, va);
		d->defer_hi = MAX(d->defer_hi, va + size);
	}
	return true;
}

static int inval_range(struct smmu_domain *d, uint64_t va, uint64_t size)
{
	uint64_t pages = size >> PAGE_SHIFT;
	return pages > SMMU_TLBI_VA_MAX_PAGES ? inval_all(d) : inval_pages(d, va, (unsigned)pages);
}

static void pt_tlb_inval(void *ctx, uint64_t va, uint64_t size)
{
	struct smmu_domain *d = ctx;
	int e;

	domain_clean(d);
	if (defer_page(d, va, size))
		return;
	e = inval_range(d, va, size);
	if (e && !d->inval_err)
		d->inval_err = e;
}

static const struct pt_ops domain_pt_ops = {
    .alloc_table = pt_alloc_table,
    .free_table = pt_free_table,
    .pa_of = pt_pa_of,
    .va_of = pt_va_of,
    .tlb_inval = pt_tlb_inval,
};

/* ---- create / destroy ---- */

static int free_slot(void)
{
	for (int i = 0; i < SMMU_MAX_DOMAINS; i++)
		if (!smmu_dev.domains[i].used)
			return i;
	return -1;
}

/* Slots are taken under dev.lock; the tag (ASID or VMID) is slot + 1. */
static struct smmu_domain *slot_take(const struct smmu_owner *owner)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.lock);
	int i = free_slot();
	struct smmu_domain *d = i < 0 ? NULL : &smmu_dev.domains[i];

	if (d) {
		memset(d, 0, sizeof(*d));
		d->used = true;
		d->id = (unsigned)i;
		d->tag = (uint16_t)(i + 1);
		d->owner = *owner;
		d->owner.name[sizeof(d->owner.name) - 1] = '\0';
	}
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	return d;
}

static void slot_release(struct smmu_domain *d)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.lock);

	memset(d, 0, sizeof(*d));
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
}

/* The CD exists (valid) before any STE points at it. */
static int cd_setup(struct smmu_domain *d)
{
	const struct smmu_features *f = &smmu_dev.info.f;

	d->cd = smmu_alloc(CD_DWORDS * 8, CD_DWORDS * 8);
	if (!d->cd)
		return -ENOMEM;
	cd_s1(d->cd, &d->pt, pt_pa_of(d, d->pt.root), d->tag, smmu_ps_encode(f->oas_bits),
	      PT_MAIR_VALUE, smmu_dev.coherent);
	smmu_sync_for_device(d->cd, CD_DWORDS * 8);
	return 0;
}

static int domain_setup(struct smmu_domain *d, unsigned ia_bits)
{
	const struct smmu_features *f = &smmu_dev.info.f;
	bool s2 = smmu_dev.stage2;
	unsigned ia = smmu_clamp_ia(s2, ia_bits, f->oas_bits, f->va_bits);
	int e = pt_init(&d->pt, s2 ? PT_S2 : PT_S1_EL10, ia, &domain_pt_ops, d,
			s2 ? pt_root_alloc : NULL);

	if (e)
		return e;
	if (!s2)
		e = cd_setup(d);
	if (e)
		pt_destroy(&d->pt);
	return e;
}

struct smmu_domain *smmu_domain_create(const struct smmu_owner *owner, unsigned ia_bits)
{
	struct smmu_domain *d;
	int e;

	if (!smmu_dev.ready || !owner)
		return NULL;
	d = slot_take(owner);
	if (!d) {
		kprintf("smmu: no free domain for %s (%u in use)\n", owner->name, SMMU_MAX_DOMAINS);
		return NULL;
	}
	e = domain_setup(d, ia_bits);
	if (e) {
		kprintf("smmu: cannot create a domain for %s (%d)\n", owner->name, e);
		slot_release(d);
		return NULL;
	}
	return d;
}

/* No stream uses the tables any more; the TLBs and walk caches may still
 * hold them under this tag, which the next domain in the slot reuses. */
void smmu_domain_destroy(struct smmu_domain *d)
{
	if (!d || !d->used)
		return;
	if (d->nstreams) {
		kprintf("smmu: domain %u (%s) still has %u streams attached; not destroyed\n",
			d->id, d->owner.name, d->nstreams);
		return;
	}
	inval_all(d);
	pt_destroy(&d->pt);
	smmu_free(d->cd, CD_DWORDS * 8);
	slot_release(d);
}

void domain_ste(const struct smmu_domain *d, uint64_t ste[STE_DWORDS])
{
	const struct smmu_features *f = &smmu_dev.info.f;

	if (smmu_dev.stage2)
		ste_s2(ste, &d->pt, (uintptr_t)d->pt.root, d->tag, smmu_ps_encode(f->oas_bits),
		       smmu_dev.coherent);
	else
		ste_s1(ste, (uintptr_t)d->cd, smmu_dev.coherent);
}

/* ---- map / unmap / translate ---- */

/* VMSAv8 has no write-only pages: any access makes the page readable.
 * Stage-1 pages are EL0-accessible (PT_USER): PCIe requests without a
 * PASID prefix arrive unprivileged. Never executable. */
static unsigned prot_attrs(unsigned prot)
{
	unsigned a = PT_R | ((prot & SMMU_WRITE) ? PT_W : 0);

	return smmu_dev.stage2 ? a : a | PT_USER;
}

bool domain_ok(const struct smmu_domain *d)
{
	return d && d->used && d >= smmu_dev.domains && d < smmu_dev.domains + SMMU_MAX_DOMAINS;
}

int smmu_map(struct smmu_domain *d, uint64_t iova, uint64_t pa, uint64_t size, unsigned prot)
{
	unsigned oas = smmu_dev.info.f.oas_bits;
	int e;

	if (!domain_ok(d) || !prot || (prot & ~(SMMU_READ | SMMU_WRITE)) || !size ||
	    pa + size < pa || ((pa + size - 1) >> oas))
		return -EINVAL;
	spin_lock(&d->lock);
	d->inval_err = 0;
	e = pt_map(&d->pt, iova, pa, size, prot_attrs(prot));
	if (!e) {
		d->mapped += size;
		domain_clean(d); /* new entries: no invalidation, just visibility */
		e = d->inval_err;
	}
	spin_unlock(&d->lock);
	return e;
}

int smmu_unmap(struct smmu_domain *d, uint64_t iova, uint64_t size)
{
	int e;

	if (!domain_ok(d))
		return -EINVAL;
	spin_lock(&d->lock);
	d->inval_err = 0;
	d->defer = true;
	d->defer_lo = d->defer_hi = 0;
	e = pt_unmap(&d->pt, iova, size);
	d->defer = false;
	if (d->defer_hi > d->defer_lo) {
		domain_clean(d);
		int ie = inval_range(d, d->defer_lo, d->defer_hi - d->defer_lo);
		if (ie && !d->inval_err)
			d->inval_err = ie;
	}
	if (!e) {
		d->mapped -= MIN(size, d->mapped);
		domain_clean(d);
		e = d->inval_err;
	}
	spin_unlock(&d->lock);
	return e;
}

int smmu_translate(struct smmu_domain *d, uint64_t iova, uint64_t *pa)
{
	int e;

	if (!domain_ok(d))
		return -ENOENT;
	spin_lock(&d->lock);
	e = pt_translate(&d->pt, iova, pa, NULL, NULL);
	spin_unlock(&d->lock);
	return e;
}

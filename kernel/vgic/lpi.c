/*
 * LPIs (its.h): the redistributors' LPI registers, the configuration and
 * pending tables in guest RAM, and the LPI side of vgic_flush/vgic_sync.
 *
 * An LPI's pending state moves into the LR that takes it (as an edge
 * SGI's latch does) and back at sync while the guest has not taken it, so
 * between sync and flush the model is the truth, as for the rest.
 */
#include "kernel/vgic/internal.h"
#include <errno.h>
#include <string.h>

/* GICR_PROPBASER: OuterCache, PA, Shareability, InnerCache, IDbits;
 * GICR_PENDBASER: OuterCache, PA[51:16], Shareability, InnerCache */
#define CTLR_ENABLE_LPIS BIT(0)
#define PROPBASER_MASK	 0x070fffffffffff9full
#define PENDBASER_MASK	 0x070fffffffff0f80ull
#define PENDBASER_PTZ	 BIT(62)
#define BASER_PA(v)	 ((v)&0x000ffffffffff000ull)

bool vgic_its_ram_ok(const struct vgic_its *its, uint64_t ipa, uint64_t len)
{
	return len && ipa >= its->ram_base && ipa - its->ram_base < its->ram_size &&
	       len <= its->ram_size - (ipa - its->ram_base);
}

void vgic_its_report(struct vgic *g, const char *what, uint64_t v)
{
	struct vgic_its *its = g->its;
	if (its->errors < VITS_MAX_LOGGED && its->ops.error)
		its->ops.error(its->ops.ctx, what, v);
	else if (its->errors == VITS_MAX_LOGGED && its->ops.error)
		its->ops.error(its->ops.ctx, "further ITS/LPI errors not logged", its->errors);
	its->errors++;
}

/* INTIDs the redistributor's PROPBASER covers: below 1 << bits */
static unsigned id_bits(const struct vits_rd *rd)
{
	return MIN((unsigned)(rd->propbaser & 0x1f) + 1, VGIC_LPI_IDBITS);
}

unsigned vgic_ite_target(const struct vgic_its *its, const struct vits_ite *ite)
{
	return ite->icid < VITS_MAX_COLLS ? its->coll[ite->icid] : VITS_NO_VCPU;
}

bool vgic_ite_deliverable(const struct vgic *g, const struct vits_ite *ite)
{
	const struct vgic_its *its = g->its;
	unsigned t = vgic_ite_target(its, ite);
	return ite->mapped && ite->pending && ite->enabled && t < g->nvcpus && its->rd[t].enabled &&
	       ite->intid < (1u << id_bits(&its->rd[t])) && (g->ctlr & BIT(1));
}

void vgic_ite_note(const struct vgic *g, const struct vits_ite *ite, unsigned self, uint32_t *kick)
{
	unsigned t = vgic_ite_target(g->its, ite);
	if (vgic_ite_deliverable(g, ite) && t != self)
		*kick |= (uint32_t)BIT(t);
	if (ite->in_lr && ite->lr_vcpu != self && ite->lr_vcpu < g->nvcpus)
		*kick |= (uint32_t)BIT(ite->lr_vcpu);
}

void vgic_ite_set_pending(struct vgic *g, struct vits_ite *ite, bool pending)
{
	if (ite->pending != pending)
		g->its->npending += pending ? 1 : (unsigned)-1;
	ite->pending = pending;
}

/* The configuration byte from the table of the redistributor the LPI
 * goes to (the table of an LPI whose collection is unmapped, or whose
 * redistributor has LPIs off, is read when that changes). */
void vgic_ite_load_config(struct vgic *g, struct vits_ite *ite)
{
	struct vgic_its *its = g->its;
	unsigned t = vgic_ite_target(its, ite);
	if (t >= g->nvcpus || !its->rd[t].enabled || ite->intid >= (1u << id_bits(&its->rd[t])))
		return;
	uint8_t b = 0;
	uint64_t ipa = BASER_PA(its->rd[t].propbaser) + (ite->intid - VGIC_LPI_BASE);
	/* validated at EnableLPIs; the accessor checks again */
	if (its->ops.read(its->ops.ctx, ipa, &b, 1)) {
		vgic_its_report(g, "LPI configuration table read failed", ipa);
		b = 0;
	}
	ite->prio = b & 0xfc;
	ite->enabled = b & 1;
}

/* Both tables inside the partition's RAM, or EnableLPIs stays 0. */
static bool tables_ok(struct vgic *g, const struct vits_rd *rd)
{
	unsigned bits = id_bits(rd);
	if (bits < 14) {
		vgic_its_report(g, "GICR_PROPBASER IDbits too small for LPIs", rd->propbaser);
		return false;
	}
	uint64_t prop = BASER_PA(rd->propbaser), pend = rd->pendbaser & 0x000fffffffff0000ull;
	if (!vgic_its_ram_ok(g->its, prop, (1ull << bits) - VGIC_LPI_BASE)) {
		vgic_its_report(g, "LPI configuration table outside the partition's RAM", prop);
		return false;
	}
	if (!vgic_its_ram_ok(g->its, pend, (1ull << bits) / 8)) {
		vgic_its_report(g, "LPI pending table outside the partition's RAM", pend);
		return false;
	}
	return true;
}

/* EnableLPIs 0 -> 1 on rd: the LPIs that go there read their
 * configuration and (unless PTZ said the table is zero) pending bit. */
static void lpis_on(struct vgic_acc *a, unsigned rd)
{
	struct vgic_its *its = a->g->its;
	uint64_t pend = its->rd[rd].pendbaser & 0x000fffffffff0000ull;
	bool ptz = its->rd[rd].pendbaser & PENDBASER_PTZ;
	its->rd[rd].pendbaser &= ~PENDBASER_PTZ;
	for (unsigned i = 0; i < its->ite_hi; i++) {
		struct vits_ite *ite = &its->ite[i];
		if (!ite->mapped || vgic_ite_target(its, ite) != rd)
			continue;
		vgic_ite_load_config(a->g, ite);
		uint8_t b = 0;
		if (!ptz && ite->intid < (1u << id_bits(&its->rd[rd])) &&
		    !its->ops.read(its->ops.ctx, pend + ite->intid / 8, &b, 1) &&
		    (b >> (ite->intid % 8) & 1))
			vgic_ite_set_pending(a->g, ite, true);
		vgic_ite_note(a->g, ite, a->self, &a->kick);
	}
}

uint64_t vgic_lpi_ctlr_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			    unsigned size)
{
	return a->g->its && a->g->its->rd[a->rd].enabled ? CTLR_ENABLE_LPIS : 0;
}

void vgic_lpi_ctlr_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
			 uint64_t val)
{
	struct vgic_its *its = a->g->its;
	if (!its)
		return;
	struct vits_rd *rd = &its->rd[a->rd];
	bool on = val & CTLR_ENABLE_LPIS;
	if (on == rd->enabled)
		return;
	if (!on) {
		/* the LPIs that go there stop being delivered; held ones leave
		 * their LRs at the next sync */
		rd->enabled = false;
		for (unsigned i = 0; i < its->ite_hi; i++)
			if (its->ite[i].in_lr && its->ite[i].lr_vcpu == a->rd && a->rd != a->self)
				a->kick |= (uint32_t)BIT(a->rd);
		return;
	}
	if (!tables_ok(a->g, rd))
		return;
	rd->enabled = true;
	lpis_on(a, a->rd);
}

uint64_t vgic_lpi_baser_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			     unsigned size)
{
	if (!a->g->its)
		return 0;
	const struct vits_rd *rd = &a->g->its->rd[a->rd];
	return vgic_half_read(off < 8 ? rd->propbaser : rd->pendbaser, off % 8, size);
}

/* Writable only while EnableLPIs is 0 (the architecture leaves a write
 * then UNPREDICTABLE: ignored). */
void vgic_lpi_baser_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
			  uint64_t val)
{
	if (!a->g->its)
		return;
	struct vits_rd *rd = &a->g->its->rd[a->rd];
	if (rd->enabled)
		return;
	if (off < 8)
		rd->propbaser = vgic_half_write(rd->propbaser, off, size, val) & PROPBASER_MASK;
	else
		rd->pendbaser = vgic_half_write(rd->pendbaser, off % 8, size, val) &
				(PENDBASER_MASK | PENDBASER_PTZ);
}

uint32_t vgic_lpi_kick_all(struct vgic *g, unsigned self)
{
	uint32_t kick = 0;
	for (unsigned i = 0; i < g->its->ite_hi; i++)
		if (g->its->ite[i].pending)
			vgic_ite_note(g, &g->its->ite[i], self, &kick);
	return kick;
}

/* ---- list registers ---- */

static void lr_release(struct vgic_its *its, unsigned vcpu, unsigned i, struct vits_ite *ite)
{
	its->lpi_lrs[vcpu] &= ~BIT(i);
	ite->in_lr = false;
	ite->cleared = false;
}

/* LRs that no longer hold their LPI: the lock-free path reused one the
 * guest had emptied (the LPI was taken and completed), or vgic_unload
 * zeroed it (written back: only active ones are left after a sync). */
static void lr_recheck(struct vgic *g, unsigned vcpu)
{
	struct vgic_its *its = g->its;
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	for (uint32_t m = its->lpi_lrs[vcpu]; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		struct vits_ite *ite = &its->ite[its->lr_ite[vcpu][i]];
		if (cpu->lr_intid[i] != ite->intid) {
			lr_release(its, vcpu, i, ite);
		} else if (cpu->lr_hw[i] != its->lr_val[vcpu][i]) {
			g->ops.write_lr(g->ops.ctx, i, its->lr_val[vcpu][i]);
			cpu->lr_hw[i] = its->lr_val[vcpu][i];
		}
	}
}

void vgic_lpi_sync(struct vgic *g, unsigned vcpu)
{
	struct vgic_its *its = g->its;
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	for (uint32_t m = its->lpi_lrs[vcpu]; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		struct vits_ite *ite = &its->ite[its->lr_ite[vcpu][i]];
		if (cpu->lr_intid[i] != ite->intid) { /* reused by the lock-free path */
			lr_release(its, vcpu, i, ite);
			continue;
		}
		uint64_t lrv = g->ops.read_lr(g->ops.ctx, i);
		unsigned st = (unsigned)(lrv >> VGIC_LR_STATE_SHIFT);
		cpu->lr_hw[i] = lrv;
		its->lr_val[vcpu][i] = lrv;
		if (st & VGIC_LR_ACTIVE)
			continue; /* the guest deactivates it there */
		if (st == VGIC_LR_PENDING) {
			/* not taken: back to the model, which places it again */
			if (ite->mapped && !ite->cleared)
				vgic_ite_set_pending(g, ite, true);
			g->ops.write_lr(g->ops.ctx, i, 0);
			cpu->lr_hw[i] = 0;
		}
		cpu->lr_intid[i] = VGIC_LR_FREE;
		lr_release(its, vcpu, i, ite);
	}
}

static struct vits_ite *best_lpi(struct vgic *g, unsigned vcpu, unsigned *idx)
{
	struct vgic_its *its = g->its;
	struct vits_ite *best = NULL;
	for (unsigned n = 0; n < its->ite_hi; n++) {
		struct vits_ite *ite = &its->ite[n];
		if (!ite->pending || ite->in_lr || vgic_ite_target(its, ite) != vcpu ||
		    !vgic_ite_deliverable(g, ite))
			continue;
		if (!best || ite->prio < best->prio) {
			best = ite;
			*idx = n;
		}
	}
	return best;
}

uint64_t vgic_lpi_flush(struct vgic *g, unsigned vcpu)
{
	struct vgic_its *its = g->its;
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	lr_recheck(g, vcpu);
	if (!its->npending)
		return 0;
	unsigned n = 0;
	struct vits_ite *ite = best_lpi(g, vcpu, &n);
	for (unsigned i = 0; i < g->nr_lrs && ite; i++) {
		if (cpu->lr_intid[i] != VGIC_LR_FREE)
			continue;
		uint64_t v = ite->intid | VGIC_LR_PRIO(ite->prio) | VGIC_LR_GROUP1 |
			     (uint64_t)VGIC_LR_PENDING << VGIC_LR_STATE_SHIFT;
		if (cpu->lr_hw[i] != v)
			g->ops.write_lr(g->ops.ctx, i, v);
		cpu->lr_hw[i] = v;
		cpu->lr_intid[i] = ite->intid;
		its->lr_val[vcpu][i] = v;
		its->lr_ite[vcpu][i] = (uint16_t)n;
		its->lpi_lrs[vcpu] |= BIT(i);
		ite->in_lr = true;
		ite->lr_vcpu = (uint8_t)vcpu;
		vgic_ite_set_pending(g, ite, false);
		ite = its->npending ? best_lpi(g, vcpu, &n) : NULL;
	}
	if (!ite)
		return 0;
	cpu->underflow = true; /* the lock-free path must not overtake them */
	return VGIC_HCR_UIE;
}

bool vgic_lpi_pending(struct vgic *g, unsigned vcpu)
{
	unsigned n;
	if (g->its->npending && best_lpi(g, vcpu, &n))
		return true;
	for (uint32_t m = g->its->lpi_lrs[vcpu]; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		if ((g->its->lr_val[vcpu][i] >> VGIC_LR_STATE_SHIFT) & VGIC_LR_PENDING)
			return true;
	}
	return false;
}

void vgic_its_attach(struct vgic *g, struct vgic_its *its, uint64_t ram_base, uint64_t ram_size,
		     const struct vits_ops *ops)
{
	memset(its, 0, sizeof(*its));
	its->ram_base = ram_base;
	its->ram_size = ram_size;
	its->ops = *ops;
	memset(its->coll, VITS_NO_VCPU, sizeof(its->coll));
	its->baser[0] = 1ull << 56 | (uint64_t)(VITS_ENTRY_SIZE - 1) << 48;
	its->baser[1] = 4ull << 56 | (uint64_t)(VITS_ENTRY_SIZE - 1) << 48;
	g->its = its;
	/* LPIS, IDbits for VGIC_LPI_IDBITS; PLPIS */
	g->typer = (VGIC_NR_IRQS / 32 - 1) | BIT(17) | (VGIC_LPI_IDBITS - 1) << 19;
	for (unsigned rd = 0; rd < g->nvcpus; rd++)
		g->rd_typer[rd] |= 1;
}

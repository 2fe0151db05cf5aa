/*
 * The model to and from snapshot records (snapshot/snapshot.h struct
 * snap_vgic). Only what decides the guest's future is saved: which LR
 * held what is bookkeeping the next flush redoes (but for an active SPI
 * still held by a vCPU IROUTER no longer names: see holder), and the
 * notes that steer fairness (round robin, starved) start afresh.
 *
 * A restore checks the whole record before touching the model, so a
 * refused one leaves it as vgic_init made it.
 */
#include "kernel/vgic/internal.h"
#include "lib/panic.h"
#include "snapshot/snapshot.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define IRQ_FLAGS                                                                                  \
	(SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_EDGE | SNAP_IRQ_ACTIVE | SNAP_IRQ_PENDING | \
	 SNAP_IRQ_LEVEL | SNAP_IRQ_HW)
#define CTLR_ENABLES 0x3u /* GICD_CTLR EnableGrp0, EnableGrp1: all the model keeps */

/* ---- saving ---- */

/* An LR written since the vCPU was last unloaded: its guest may have
 * moved state there (taken, completed, an edge latch moved in) that the
 * model does not have. */
static void check_unloaded(const struct vgic *g, unsigned vcpu)
{
	for (unsigned i = 0; i < g->nr_lrs; i++)
		if (g->cpu[vcpu].lr_hw[i])
			panic("vgic_save: vCPU %u is loaded (LR %u holds 0x%llx)", vcpu, i,
			      (unsigned long long)g->cpu[vcpu].lr_hw[i]);
}

/* The vCPU whose LRs take irq: its target, except for an active SPI
 * re-routed while an LR of another vCPU held it. That one stays there,
 * active, until that vCPU's guest deactivates it (and only then does the
 * new target take it again), so the record names that vCPU. */
static uint8_t holder(const struct vgic_irq *irq)
{
	if (irq->in_lr && irq->active && (irq->lr_state & VGIC_LR_ACTIVE) &&
	    irq->lr_vcpu != irq->target)
		return irq->lr_vcpu;
	return irq->target;
}

static void save_irq(const struct vgic_irq *irq, struct snap_vgic_irq *s)
{
	uint16_t f = 0;
	if (irq->group1)
		f |= SNAP_IRQ_GROUP1;
	if (irq->enabled)
		f |= SNAP_IRQ_ENABLED;
	if (irq->edge)
		f |= SNAP_IRQ_EDGE;
	if (irq->active)
		f |= SNAP_IRQ_ACTIVE;
	if (irq->latch)
		f |= SNAP_IRQ_PENDING;
	if (irq->level)
		f |= SNAP_IRQ_LEVEL;
	if (irq->hw)
		f |= SNAP_IRQ_HW;
	memset(s, 0, sizeof(*s));
	s->intid = irq->intid;
	s->pintid = irq->hw ? irq->pintid : 0;
	s->prio = irq->prio;
	s->target = holder(irq);
	s->flags = f;
	s->irouter = irq->intid >= 32 ? irq->irouter : 0;
}

void vgic_save(struct vgic *g, struct snap_vgic *out, struct snap_vgic_irq *spis,
	       struct snap_vgic_cpu *cpus)
{
	vgic_enter(g);
	for (unsigned c = 0; c < g->nvcpus; c++)
		check_unloaded(g, c);
	memset(out, 0, sizeof(*out));
	out->nvcpus = g->nvcpus;
	out->nspis = VGIC_NR_SPIS;
	out->gicd_ctlr = g->ctlr;
	for (unsigned i = 0; i < VGIC_NR_SPIS; i++)
		save_irq(&g->spi[i], &spis[i]);
	for (unsigned c = 0; c < g->nvcpus; c++) {
		const struct vgic_cpu *cpu = &g->cpu[c];
		memset(&cpus[c], 0, sizeof(cpus[c]));
		cpus[c].index = c;
		cpus[c].flags = cpu->sleep ? SNAP_VGIC_CPU_SLEEP : 0;
		for (unsigned i = 0; i < 32; i++)
			save_irq(&cpu->priv[i], &cpus[c].priv[i]);
	}
	vgic_leave(g, 0);
}

/* ---- checking ---- */

struct why {
	char *buf;
	size_t len;
};

static int __attribute__((format(printf, 2, 3))) refuse(const struct why *w, const char *fmt, ...)
{
	if (w->buf && w->len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->buf, w->len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "SPI 40" or "vCPU 2 PPI 27", for the messages. */
static const char *irq_name(char *buf, size_t n, unsigned intid, unsigned owner)
{
	if (intid >= 32)
		snprintf(buf, n, "SPI %u", intid);
	else
		snprintf(buf, n, "vCPU %u %s %u", owner, intid < 16 ? "SGI" : "PPI", intid);
	return buf;
}

/* How the INTID is configured (flags, priority, HW link). */
static int check_config(const struct snap_vgic_irq *s, const char *name, const struct why *w)
{
	bool hw = s->flags & SNAP_IRQ_HW;
	if (s->flags & ~(uint32_t)IRQ_FLAGS)
		return refuse(w, "%s: unknown flags 0x%x", name,
			      (unsigned)(s->flags & ~(uint32_t)IRQ_FLAGS));
	if (s->prio & ~VGIC_PRIO_MASK)
		return refuse(w, "%s: priority 0x%x has bits below 0x%x", name, s->prio,
			      VGIC_PRIO_MASK);
	if (s->intid < 16 && !(s->flags & SNAP_IRQ_EDGE))
		return refuse(w, "%s: an SGI is always edge-triggered", name);
	if (hw && (s->intid >= 32 || !(VGIC_HW_PPIS & BIT(s->intid))))
		return refuse(w, "%s: HW-linked, but only PPIs 23, 27 and 30 can be", name);
	if (hw && s->pintid != s->intid)
		return refuse(w, "%s: HW-linked to physical INTID %u, not its own", name,
			      s->pintid);
	if (!hw && s->pintid)
		return refuse(w, "%s: physical INTID %u without HW", name, s->pintid);
	return 0;
}

/* An active SPI whose record names a vCPU other than the one IROUTER
 * does: held active in that vCPU's LR (see holder). */
static bool held_elsewhere(const struct vgic *g, const struct snap_vgic_irq *s)
{
	return s->intid >= 32 && (s->flags & SNAP_IRQ_ACTIVE) &&
	       s->target != vgic_route_target(g, s->irouter);
}

/* Entry s in the place of INTID intid, of vCPU owner (SGI/PPI). */
static int check_irq(const struct vgic *g, const struct snap_vgic_irq *s, unsigned intid,
		     unsigned owner, const struct why *w)
{
	char name[32];
	irq_name(name, sizeof(name), intid, owner);
	if (s->intid != intid)
		return refuse(w, "%s: the entry is INTID %u", name, s->intid);
	int e = check_config(s, name, w);
	if (e)
		return e;
	if (intid < 32) {
		if (s->irouter)
			return refuse(w, "%s: IROUTER 0x%llx (SGIs and PPIs have none)", name,
				      (unsigned long long)s->irouter);
		if (s->target != owner)
			return refuse(w, "%s: target vCPU %u", name, s->target);
		return 0;
	}
	if (s->irouter & ~VGIC_IROUTER_VALID)
		return refuse(w, "%s: IROUTER 0x%llx has reserved bits", name,
			      (unsigned long long)s->irouter);
	uint8_t t = vgic_route_target(g, s->irouter);
	if (s->target == t || (held_elsewhere(g, s) && s->target < g->nvcpus))
		return 0;
	return refuse(w, "%s: target %u, but IROUTER 0x%llx names %u", name, s->target,
		      (unsigned long long)s->irouter, t);
}

static int check_cpu(const struct vgic *g, const struct snap_vgic_cpu *c, unsigned idx,
		     const struct why *w)
{
	if (c->index != idx)
		return refuse(w, "CPU entry %u is vCPU %u's", idx, c->index);
	if (c->flags & ~SNAP_VGIC_CPU_SLEEP)
		return refuse(w, "vCPU %u: unknown flags 0x%x", idx, c->flags);
	for (unsigned i = 0; i < 32; i++) {
		int e = check_irq(g, &c->priv[i], i, idx, w);
		if (e)
			return e;
	}
	return 0;
}

static int check(const struct vgic *g, const struct snap_vgic *in, const struct snap_vgic_irq *spis,
		 const struct snap_vgic_cpu *cpus, const struct why *w)
{
	if (in->nvcpus != g->nvcpus)
		return refuse(w, "saved with %u vCPUs, the partition has %u", in->nvcpus,
			      g->nvcpus);
	if (in->nspis != VGIC_NR_SPIS)
		return refuse(w, "saved with %u SPIs, this vGIC has %u", in->nspis, VGIC_NR_SPIS);
	if (in->gicd_ctlr & ~CTLR_ENABLES)
		return refuse(w, "GICD_CTLR 0x%x: only the group enables are kept", in->gicd_ctlr);
	unsigned held[VGIC_MAX_VCPUS] = {0};
	for (unsigned i = 0; i < VGIC_NR_SPIS; i++) {
		int e = check_irq(g, &spis[i], 32 + i, VGIC_NO_VCPU, w);
		if (e)
			return e;
		if (held_elsewhere(g, &spis[i]) && ++held[spis[i].target] > g->nr_lrs)
			return refuse(w, "vCPU %u holds more re-routed active SPIs than its %u LRs",
				      spis[i].target, g->nr_lrs);
	}
	for (unsigned c = 0; c < g->nvcpus; c++) {
		int e = check_cpu(g, &cpus[c], c, w);
		if (e)
			return e;
	}
	return 0;
}

/* ---- loading ---- */

/* Into an interrupt as vgic_init left it: out of every LR, so marked
 * (flush and vgic_pending look only at marked interrupts). */
static void load_irq(struct vgic *g, struct vgic_irq *irq, const struct snap_vgic_irq *s)
{
	irq->prio = s->prio;
	irq->act_prio = s->prio;
	irq->group1 = s->flags & SNAP_IRQ_GROUP1;
	irq->enabled = s->flags & SNAP_IRQ_ENABLED;
	irq->edge = s->flags & SNAP_IRQ_EDGE;
	irq->active = s->flags & SNAP_IRQ_ACTIVE;
	irq->latch = s->flags & SNAP_IRQ_PENDING;
	irq->level = s->flags & SNAP_IRQ_LEVEL;
	irq->hw = s->flags & SNAP_IRQ_HW;
	irq->pintid = s->pintid;
	irq->irouter = s->irouter;
	irq->target = s->target;
	vgic_mark(g, irq);
}

/* As the original model had it after sync and unload: active in an LR
 * of vcpu, which its next flush writes again (lr_hw 0: unloaded). check
 * made sure there is a free one. */
static void hold(struct vgic *g, struct vgic_irq *irq, unsigned vcpu)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	unsigned i = 0;
	while (i + 1 < g->nr_lrs && cpu->lr_intid[i] != VGIC_LR_FREE)
		i++;
	cpu->lr_intid[i] = irq->intid;
	irq->in_lr = true;
	irq->lr_vcpu = (uint8_t)vcpu;
	irq->lr_state = VGIC_LR_ACTIVE;
}

static void load_spi(struct vgic *g, struct vgic_irq *irq, const struct snap_vgic_irq *s)
{
	load_irq(g, irq, s);
	irq->target = vgic_route_target(g, irq->irouter);
	vgic_mark(g, irq);
	if (irq->target != s->target)
		hold(g, irq, s->target);
}

static void load_cpu(struct vgic *g, unsigned c, const struct snap_vgic_cpu *s)
{
	struct vgic_cpu *cpu = &g->cpu[c];
	cpu->sleep = s->flags & SNAP_VGIC_CPU_SLEEP;
	for (unsigned i = 0; i < 32; i++) {
		struct vgic_irq *irq = &cpu->priv[i];
		load_irq(g, irq, &s->priv[i]);
		/* vgic_hw_lines skips a vCPU whose HW lines were all low: a
		 * saved high one must be looked at, or it stays pending when
		 * the restored timer's line is low */
		if (irq->hw && irq->level)
			cpu->hw_busy = true;
	}
}

int vgic_restore(struct vgic *g, const struct snap_vgic *in, const struct snap_vgic_irq *spis,
		 const struct snap_vgic_cpu *cpus, char *why, size_t whylen)
{
	const struct why w = {why, whylen};
	uint32_t kick = 0;
	vgic_enter(g);
	int e = check(g, in, spis, cpus, &w);
	if (!e) {
		g->ctlr = in->gicd_ctlr;
		for (unsigned i = 0; i < VGIC_NR_SPIS; i++)
			load_spi(g, &g->spi[i], &spis[i]);
		for (unsigned c = 0; c < g->nvcpus; c++)
			load_cpu(g, c, &cpus[c]);
		kick = vgic_kick_deliverable(g, VGIC_NO_VCPU);
	}
	vgic_leave(g, kick);
	return e;
}

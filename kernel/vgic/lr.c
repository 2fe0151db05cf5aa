/*
 * List registers: vgic_flush() before a vCPU enters the guest, vgic_sync()
 * after it exits. vgic_cpu.lr_intid[] says which LRs the model filled; the
 * model owns every LR (others are never touched), so "free" needs no
 * hardware read.
 *
 * A held LR is rewritten from the model at every flush rather than left
 * alone: that applies changes made since sync (an edge arriving while the
 * guest handles the previous one becomes pending+active; a disabled,
 * cleared or re-routed interrupt leaves), and restores LRs that were
 * zeroed behind the model's back when the vCPU was unloaded. Between sync
 * and flush nothing else changes the hardware LRs, so rewriting an
 * unchanged interrupt writes back what is already there.
 */
#include "kernel/vgic/internal.h"

static inline struct vgic_irq *lr_irq(struct vgic *g, unsigned vcpu, unsigned i)
{
	uint16_t intid = g->cpu[vcpu].lr_intid[i];
	return intid == VGIC_LR_FREE ? NULL : vgic_irq_of(g, vcpu, intid);
}

/* The ICH_LR value the model wants for irq on vcpu; 0 if it needs none.
 * pend: whether its pending state may go in (see held_back). */
static inline uint64_t lr_compose_as(const struct vgic *g, unsigned vcpu,
				     const struct vgic_irq *irq, bool pend)
{
	uint64_t st = 0, v, eoi = 0;
	uint8_t prio = irq->prio;
	if (pend && vgic_deliverable(g, irq) && irq->target == vcpu)
		st |= VGIC_LR_PENDING;
	if (irq->active) {
		st |= VGIC_LR_ACTIVE;
		/* the guest's EOI drops the priority it took the interrupt at,
		 * and deactivates the LR only if that is the LR's */
		prio = irq->act_prio;
		/* so a new priority waits for the next activation: the
		 * pending half goes in once the guest's EOI exits */
		if (st == (VGIC_LR_PENDING | VGIC_LR_ACTIVE) && prio != irq->prio) {
			st = VGIC_LR_ACTIVE;
			eoi = VGIC_LR_EOI;
		}
	}
	/* HW = 1 may not be pending+active: a new physical edge cannot come
	 * before the guest deactivates (and so the pCPU re-arms) this one */
	if (irq->hw && (st & VGIC_LR_ACTIVE))
		st = VGIC_LR_ACTIVE;
	if (!st)
		return 0;
	v = irq->intid | VGIC_LR_PRIO(prio) | st << VGIC_LR_STATE_SHIFT;
	if (irq->group1)
		v |= VGIC_LR_GROUP1;
	if (irq->hw)
		v |= VGIC_LR_HW | VGIC_LR_PINTID(irq->pintid);
	else if (!irq->edge)
		v |= VGIC_LR_EOI; /* exit on EOI: re-pend at once if the line is high */
	return v | eoi;
}

static inline uint64_t lr_compose(const struct vgic *g, unsigned vcpu, const struct vgic_irq *irq)
{
	return lr_compose_as(g, vcpu, irq, true);
}

static struct vgic_irq *__attribute__((noinline)) starved_look(struct vgic *g, unsigned vcpu)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	struct vgic_irq *x = vgic_irq_of(g, vcpu, cpu->starved);
	if (x && x->in_lr && x->lr_vcpu == vcpu && x->lr_state == VGIC_LR_PENDING &&
	    x->target == vcpu && vgic_deliverable(g, x))
		return x;
	cpu->starved = VGIC_LR_FREE; /* taken, or gone from the LR */
	return NULL;
}

/* The interrupt the guest passed over (vgic_cpu.starved) while it still
 * waits pending in one of vcpu's LRs, or NULL (nearly always: no call). */
static inline struct vgic_irq *starved_irq(struct vgic *g, unsigned vcpu)
{
	return g->cpu[vcpu].starved == VGIC_LR_FREE ? NULL : starved_look(g, vcpu);
}

/* While x waits, nothing of its group at its priority or lower becomes
 * pending in an LR (what already is stays and drains): then x is the
 * guest's next choice at its level, whatever the CPU interface's tie
 * rule. */
static inline bool held_back(const struct vgic_irq *x, const struct vgic_irq *irq)
{
	return x && irq != x && !(irq->lr_state & VGIC_LR_PENDING) && irq->group1 == x->group1 &&
	       irq->prio >= x->prio;
}

/* Writes v to LR i for irq, or frees LR i when v is 0. An edge interrupt's
 * latch moves into the LR, which now holds that pending state; a level
 * interrupt stays pending in the model while its line is high. */
/* Whether an LR holding have already holds want. An LR in state 0 holds
 * nothing, as 0 does, unless it asks for EOI maintenance (HW = 0, EOI =
 * 1: the maintenance interrupt stays asserted until the LR is rewritten). */
static inline bool lr_holds(uint64_t have, uint64_t want)
{
	if (have == want)
		return true;
	return !want && !(have >> VGIC_LR_STATE_SHIFT) &&
	       !((have & VGIC_LR_EOI) && !(have & VGIC_LR_HW));
}

/* List-register writes are the costly part of a flush (each makes the
 * GIC re-evaluate the virtual interface): an LR already holding v, as the
 * last write or read-back left it, is not written again. */
static inline void lr_write(struct vgic *g, unsigned vcpu, unsigned i, uint64_t v)
{
	uint64_t *hw = &g->cpu[vcpu].lr_hw[i];
	if (lr_holds(*hw, v))
		return;
	g->ops.write_lr(g->ops.ctx, i, v);
	*hw = v;
}

static inline void lr_set(struct vgic *g, unsigned vcpu, unsigned i, struct vgic_irq *irq,
			  uint64_t v)
{
	lr_write(g, vcpu, i, v);
	irq->lr_state = (uint8_t)(v >> VGIC_LR_STATE_SHIFT);
	irq->in_lr = v != 0;
	/* act_prio: the priority the guest takes it at (lr_compose keeps it
	 * while active); still the LR's after it left (vgic_sync) */
	if (v) {
		irq->lr_vcpu = (uint8_t)vcpu;
		irq->act_prio = (uint8_t)(v >> 48);
	} else
		vgic_mark(g, irq); /* out of the LR: maybe a candidate again */
	g->cpu[vcpu].lr_intid[i] = v ? irq->intid : VGIC_LR_FREE;
	if (irq->edge && (irq->lr_state & VGIC_LR_PENDING))
		irq->latch = false;
}

static void lr_refresh(struct vgic *g, unsigned vcpu, unsigned i, const struct vgic_irq *x,
		       uint32_t *kick)
{
	struct vgic_irq *irq = lr_irq(g, vcpu, i);
	if (!irq)
		return;
	uint64_t v = lr_compose_as(g, vcpu, irq, !held_back(x, irq));
	lr_set(g, vcpu, i, irq, v);
	if (!v) /* a re-routed SPI left: its new vCPU may take it now */
		vgic_note(g, irq, vcpu, kick);
}

/* Active interrupts come first, whatever their priority: the guest can
 * only deactivate what is in an LR. Then priority; ties go round robin:
 * to the first INTID at or after the level's cursor, which moves past
 * each one placed (the caller scans upwards, so a has the higher INTID
 * and wins only if b is below the cursor and a is not). */
static inline bool better(const uint8_t *rr, const struct vgic_irq *a, const struct vgic_irq *b)
{
	if (!b)
		return true;
	if (a->active != b->active)
		return a->active;
	if (a->prio != b->prio)
		return a->prio < b->prio;
	unsigned from = rr[a->prio >> 3];
	return b->intid < from && a->intid >= from;
}

/* Runs on every guest entry: the cheap field test rejects the (usually
 * all) idle interrupts before the full deliverability check. */
static inline bool maybe_candidate(const struct vgic_irq *irq, unsigned vcpu)
{
	return (irq->active || irq->latch || irq->level) && !irq->in_lr && irq->target == vcpu;
}

/* The marked interrupts of vcpu, lowest INTID first; marks of those that
 * are no candidate (any more) are dropped on the way. */
static struct vgic_irq *next_marked(struct vgic *g, unsigned vcpu, unsigned *from)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	for (unsigned w = *from / 64; w < ARRAY_SIZE(cpu->cand); w++) {
		uint64_t bits = cpu->cand[w] & (~0ull << (*from % 64));
		for (; bits; bits &= bits - 1) {
			unsigned n = w * 64 + (unsigned)__builtin_ctzll(bits);
			struct vgic_irq *irq = vgic_irq_of(g, vcpu, n);
			if (irq && maybe_candidate(irq, vcpu)) {
				*from = n + 1;
				return irq;
			}
			cpu->cand[w] &= ~(1ull << (n % 64));
		}
		*from = (w + 1) * 64;
	}
	return NULL;
}

/* The best candidate for an LR; *held is set if one was held back for x. */
static struct vgic_irq *next_candidate(struct vgic *g, unsigned vcpu, const struct vgic_irq *x,
				       bool *held)
{
	struct vgic_irq *best = NULL, *irq;
	unsigned from = 0;
	while ((irq = next_marked(g, vcpu, &from))) {
		if (!irq->active && !vgic_deliverable(g, irq))
			continue;
		if (!irq->active && held_back(x, irq))
			*held = true;
		else if (better(g->rr[vcpu], irq, best))
			best = irq;
	}
	return best;
}

/* The LR holding the lowest-priority interrupt that is only pending
 * (never an active one: the guest must be able to deactivate it) and is
 * worse than irq, or -1. Flush runs right after sync, so lr_state is what
 * the hardware holds. */
static int evictable(struct vgic *g, unsigned vcpu, const struct vgic_irq *irq)
{
	int worst = -1;
	uint8_t prio = irq->prio;
	for (unsigned i = 0; i < g->nr_lrs; i++) {
		const struct vgic_irq *o = lr_irq(g, vcpu, i);
		if (o && o->lr_state == VGIC_LR_PENDING && o->prio > prio) {
			prio = o->prio;
			worst = (int)i;
		}
	}
	return worst;
}

/* Takes LR i back: an edge interrupt's pending state returns to its
 * latch (a level one stays pending through its line), so it waits for an
 * LR like any other. */
static void evict(struct vgic *g, unsigned vcpu, unsigned i)
{
	struct vgic_irq *o = lr_irq(g, vcpu, i);
	if (o->edge)
		o->latch = true;
	lr_set(g, vcpu, i, o, 0);
}

/* irq into LR i; the next tie at its level starts after it. */
static inline void lr_take(struct vgic *g, unsigned vcpu, unsigned i, struct vgic_irq *irq,
			   const struct vgic_irq *x)
{
	lr_set(g, vcpu, i, irq, lr_compose_as(g, vcpu, irq, !held_back(x, irq)));
	g->rr[vcpu][irq->prio >> 3] = (uint8_t)(irq->intid + 1);
}

/* Free LRs take the best candidates first; with all LRs full, a better
 * candidate evicts a worse interrupt that is only pending, so a high
 * priority interrupt is never stuck behind low priority ones. What still
 * waits gets an LR when one frees up (the underflow interrupt says when;
 * for what was held back for x, the no-pending one: underflow could fire
 * at once, with x alone in the LRs, and keep the guest from taking it).
 * Each eviction raises the worst priority held, so this ends. */
static uint64_t lr_fill(struct vgic *g, unsigned vcpu, const struct vgic_irq *x)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	bool held = false;
	struct vgic_irq *irq = next_candidate(g, vcpu, x, &held);
	for (unsigned i = 0; i < g->nr_lrs && irq; i++) {
		if (cpu->lr_intid[i] != VGIC_LR_FREE)
			continue;
		lr_take(g, vcpu, i, irq, x);
		irq = next_candidate(g, vcpu, x, &held);
	}
	for (int i; irq && !irq->active && (i = evictable(g, vcpu, irq)) >= 0;) {
		evict(g, vcpu, (unsigned)i);
		lr_take(g, vcpu, (unsigned)i, irq, x);
		irq = next_candidate(g, vcpu, x, &held);
	}
	cpu->underflow = irq || held;
	return (irq ? VGIC_HCR_UIE : 0) | (held ? VGIC_HCR_NPIE : 0);
}

/* The model's entry old of an LR the lock-free path reused: the guest
 * had completed it (ICH_ELRSR_EL2 said so), so it leaves as lr_fold_irq
 * would with state 0, without touching the LR, which holds the new one. */
static void adopt_done(struct vgic *g, unsigned vcpu, struct vgic_irq *old, int *taken,
		       uint32_t *kick)
{
	unsigned was = old->lr_state;
	if (taken && (was & VGIC_LR_PENDING) && old->act_prio > taken[old->group1])
		taken[old->group1] = old->act_prio;
	old->active = false;
	if (!old->edge && (was & VGIC_LR_PENDING))
		old->latch = false;
	if (old->hw)
		old->phys_active = false;
	old->lr_state = 0;
	old->in_lr = false;
	vgic_mark(g, old);
	vgic_note(g, old, vcpu, kick);
}

/* The new entry: pending as written; a HW-linked one is what
 * vgic_inject_hw would have made it (line high, physical one active). */
static void adopt_new(struct vgic *g, unsigned vcpu, unsigned i)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	struct vgic_irq *irq = vgic_irq_of(g, vcpu, cpu->lr_intid[i]);
	if (irq->hw) {
		irq->phys_active = true;
		vgic_set_line(g, irq, true);
		cpu->hw_busy = true;
	}
	irq->in_lr = true;
	irq->lr_vcpu = (uint8_t)vcpu;
	irq->lr_state = VGIC_LR_PENDING;
	irq->act_prio = (uint8_t)(cpu->lr_hw[i] >> 48);
}

void vgic_adopt(struct vgic *g, unsigned vcpu, int *taken, uint32_t *kick)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	for (uint32_t f = cpu->fresh; f; f &= f - 1) {
		unsigned i = (unsigned)__builtin_ctz(f);
		struct vgic_irq *old = vgic_irq_of(g, vcpu, cpu->lr_was[i]);
		if (cpu->lr_was[i] != VGIC_LR_FREE && old)
			adopt_done(g, vcpu, old, taken, kick);
		adopt_new(g, vcpu, i);
	}
	__atomic_store_n(&cpu->fresh, 0, __ATOMIC_RELAXED);
}

uint64_t vgic_flush(struct vgic *g, unsigned vcpu)
{
	uint32_t kick = 0;
	if (vcpu >= g->nvcpus)
		return 0;
	vgic_enter(g);
	if (g->cpu[vcpu].fresh) /* no sync since the guest ran: keep what it has */
		vgic_adopt(g, vcpu, NULL, &kick);
	const struct vgic_irq *x = starved_irq(g, vcpu);
	for (unsigned i = 0; i < g->nr_lrs; i++)
		lr_refresh(g, vcpu, i, x, &kick);
	uint64_t maint = lr_fill(g, vcpu, x);
	if (__builtin_expect(g->its != NULL, 0)) /* LPIs take what LRs are left */
		maint |= vgic_lpi_flush(g, vcpu);
	vgic_leave(g, kick);
	return maint;
}

void vgic_unload(struct vgic *g, unsigned vcpu)
{
	if (vcpu >= g->nvcpus)
		return;
	uint32_t kick = 0;
	vgic_enter(g);
	if (g->cpu[vcpu].fresh)
		vgic_adopt(g, vcpu, NULL, &kick);
	for (unsigned i = 0; i < g->nr_lrs; i++) {
		g->ops.write_lr(g->ops.ctx, i, 0);
		g->cpu[vcpu].lr_hw[i] = 0;
	}
	vgic_leave(g, kick);
}

/* Folds LR i back after the guest ran. An edge interrupt still pending
 * there returns to the latch (flush moves it again) unless ICPENDR dropped
 * it meanwhile; a level one the guest acknowledged loses its ISPENDR
 * latch, as on hardware. State 00: the guest completed it, free the LR. */
static void lr_fold_irq(struct vgic *g, unsigned vcpu, unsigned i, struct vgic_irq *irq,
			uint32_t *kick)
{
	uint64_t lrv = g->ops.read_lr(g->ops.ctx, i);
	unsigned now = (unsigned)(lrv >> VGIC_LR_STATE_SHIFT);
	g->cpu[vcpu].lr_hw[i] = lrv;
	unsigned was = irq->lr_state;
	irq->active = now & VGIC_LR_ACTIVE;
	if (irq->edge && (now & was & VGIC_LR_PENDING))
		irq->latch = true;
	else if (!irq->edge && (was & VGIC_LR_PENDING) && !(now & VGIC_LR_PENDING))
		irq->latch = false;
	irq->lr_state = (uint8_t)now;
	if (now)
		return;
	if (irq->hw) /* the guest deactivated it, and with it the physical one */
		irq->phys_active = false;
	lr_set(g, vcpu, i, irq, 0);
	vgic_note(g, irq, vcpu, kick); /* still pending for another vCPU */
}

static void lr_fold(struct vgic *g, unsigned vcpu, unsigned i, uint32_t *kick)
{
	struct vgic_irq *irq = lr_irq(g, vcpu, i);
	if (irq)
		lr_fold_irq(g, vcpu, i, irq, kick);
}

/* The LR irq should take among those the guest left empty: its own if it
 * is still there (the guest completed its last instance), else the first
 * empty one; -1 if none. */
static int empty_lr(struct vgic *g, unsigned vcpu, const struct vgic_irq *irq, uint32_t empty)
{
	const uint16_t *held = g->cpu[vcpu].lr_intid;
	if (irq->in_lr) {
		for (unsigned i = 0; i < g->nr_lrs; i++)
			if (held[i] == irq->intid && irq->lr_vcpu == vcpu)
				return (empty & BIT(i)) ? (int)i : -1;
		return -1;
	}
	return empty ? __builtin_ctz(empty) : -1;
}

/* irq takes an LR the guest left empty: one the model thinks free, or
 * one holding an interrupt the guest completed since the last sync,
 * folded first as sync would. The other LRs wait for the next sync; their
 * model state stays as that saw it, as while the vCPU runs. */
bool vgic_place(struct vgic *g, unsigned vcpu, struct vgic_irq *irq, uint32_t *kick)
{
	const struct vgic_cpu *cpu = &g->cpu[vcpu];
	if (cpu->underflow || cpu->starved != VGIC_LR_FREE || !g->ops.empty_lrs)
		return false;
	uint32_t empty = g->ops.empty_lrs(g->ops.ctx) & (uint32_t)(BIT(g->nr_lrs) - 1);
	int i = empty_lr(g, vcpu, irq, empty);
	if (i < 0)
		return false;
	struct vgic_irq *o = lr_irq(g, vcpu, (unsigned)i);
	if (o) {
		lr_fold(g, vcpu, (unsigned)i, kick);
		/* another one pending again (level line still high, a new
		 * edge): only a flush orders it against irq */
		if (o != irq && maybe_candidate(o, vcpu) && vgic_deliverable(g, o))
			return false;
	}
	if (irq->in_lr)
		return false; /* held elsewhere, e.g. by its former target */
	lr_set(g, vcpu, (unsigned)i, irq, lr_compose(g, vcpu, irq));
	return true;
}

/* A marked interrupt of vcpu's that vgic_place may put in an LR: pending
 * for it. In an LR already is fine: vgic_place reuses that LR if the
 * guest completed it since, and refuses otherwise. */
static inline bool kicked_candidate(const struct vgic *g, const struct vgic_irq *irq, unsigned vcpu)
{
	return irq->target == vcpu && vgic_deliverable(g, irq);
}

/* What only the full exit may place: an active interrupt (a flush orders
 * its pending half), and a HW-linked one, whose line level the model
 * learns only there (vgic_hw_lines): a timer the guest has handled since
 * would still look pending and fire a second time. */
static inline bool kicked_needs_exit(const struct vgic_irq *irq)
{
	return irq->active || irq->hw;
}

bool vgic_kicked_fast(struct vgic *g, unsigned vcpu)
{
	uint32_t kick = 0;
	bool ok = true, any = false;
	if (vcpu >= g->nvcpus)
		return false;
	vgic_enter(g);
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	if (cpu->fresh)
		vgic_adopt(g, vcpu, NULL, &kick);
	for (unsigned w = 0; ok && w < ARRAY_SIZE(cpu->cand); w++)
		for (uint64_t bits = cpu->cand[w]; ok && bits; bits &= bits - 1) {
			unsigned n = w * 64 + (unsigned)__builtin_ctzll(bits);
			struct vgic_irq *irq = vgic_irq_of(g, vcpu, n);
			if (!irq || !kicked_candidate(g, irq, vcpu))
				continue;
			any = true;
			ok = !kicked_needs_exit(irq) && vgic_place(g, vcpu, irq, &kick);
		}
	vgic_leave(g, kick);
	return ok && any;
}

/* An LR still pending after the guest acknowledged an interrupt of its
 * group and no higher priority (a tie the CPU interface decided, or it
 * went in later): the highest of them becomes vgic_cpu.starved, unless
 * one at least as high already is. */
static void note_passed_over(struct vgic *g, unsigned vcpu, const int taken[2])
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	const struct vgic_irq *x = starved_irq(g, vcpu);
	int best = x ? x->act_prio : 0x100;
	for (unsigned i = 0; i < g->nr_lrs; i++) {
		const struct vgic_irq *irq = lr_irq(g, vcpu, i);
		if (irq && irq->lr_state == VGIC_LR_PENDING && irq->act_prio < best &&
		    irq->act_prio <= taken[irq->group1]) {
			best = irq->act_prio;
			cpu->starved = irq->intid;
		}
	}
}

/* Folds every LR; notes per group the lowest priority (highest value:
 * the LR's, act_prio) the guest acknowledged, and whether it left another
 * pending beside it. */
void vgic_sync(struct vgic *g, unsigned vcpu)
{
	uint32_t kick = 0;
	int taken[2] = {-1, -1};
	bool waiting = false;
	if (vcpu >= g->nvcpus)
		return;
	vgic_enter(g);
	if (g->cpu[vcpu].fresh)
		vgic_adopt(g, vcpu, taken, &kick);
	for (unsigned i = 0; i < g->nr_lrs; i++) {
		struct vgic_irq *irq = lr_irq(g, vcpu, i);
		if (!irq)
			continue;
		unsigned was = irq->lr_state;
		lr_fold_irq(g, vcpu, i, irq, &kick);
		if (!(was & VGIC_LR_PENDING))
			continue;
		if (irq->lr_state == VGIC_LR_PENDING)
			waiting = true;
		else if (!(irq->lr_state & VGIC_LR_PENDING) && irq->act_prio > taken[irq->group1])
			taken[irq->group1] = irq->act_prio;
	}
	if (waiting && (taken[0] >= 0 || taken[1] >= 0))
		note_passed_over(g, vcpu, taken);
	if (__builtin_expect(g->its != NULL, 0))
		vgic_lpi_sync(g, vcpu);
	vgic_leave(g, kick);
}

/* Deliverable in the model, or pending in one of vcpu's LRs (so it also
 * answers between flush and sync, where edge latches sit in LRs). */
static bool any_pending(struct vgic *g, unsigned vcpu)
{
	const struct vgic_irq *irq;
	unsigned from = 0;
	while ((irq = next_marked(g, vcpu, &from)))
		if (vgic_deliverable(g, irq))
			return true;
	/* held: pending there, or pending again beside an active copy */
	for (unsigned i = 0; i < g->nr_lrs; i++) {
		irq = lr_irq(g, vcpu, i);
		if (irq && ((irq->lr_state & VGIC_LR_PENDING) ||
			    (irq->target == vcpu && vgic_deliverable(g, irq))))
			return true;
	}
	return false;
}

bool vgic_pending(struct vgic *g, unsigned vcpu)
{
	if (vcpu >= g->nvcpus)
		return false;
	vgic_enter(g);
	bool p = any_pending(g, vcpu) || (g->its && vgic_lpi_pending(g, vcpu));
	vgic_leave(g, 0);
	return p;
}

bool vgic_wants_underflow(struct vgic *g, unsigned vcpu)
{
	if (vcpu >= g->nvcpus)
		return false;
	vgic_enter(g);
	bool u = g->cpu[vcpu].underflow;
	vgic_leave(g, 0);
	return u;
}

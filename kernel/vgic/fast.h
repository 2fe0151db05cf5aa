/*
 * Part of vgic.h (include that): what the fast exit path uses, inline
 * because under -icount every call, frame record and argument move of the
 * exit path counts: the reads of registers that hold constants or one
 * field, and the lock-free LR path. An SGI a vCPU sends only to itself, and its own HW-linked
 * timer firing, go straight into a list register the guest left empty, on
 * the vCPU's own CPU between exit and re-entry, without the partition
 * lock, a scan or a call through vgic_ops (the caller reads ICH_ELRSR_EL2
 * and writes the LR itself).
 *
 * Lock-free is safe because everything written here belongs to the
 * vCPU's own CPU: its LR bookkeeping (lr_intid, lr_hw, lr_was, fresh) is
 * only touched there, and the interrupt's own fields are not written at
 * all; the model adopts the LR under the lock at the next sync (lr.c
 * vgic_adopt). What other CPUs may change meanwhile is the interrupt's
 * configuration (enable, group, priority, GICD_CTLR): fresh is published
 * before that is read, and they read fresh after changing it (internal.h
 * vgic_note_held), so either this sees the change or the vCPU is kicked
 * and its next flush rewrites the LR from the model. A latch another CPU
 * sets meanwhile is a second instance the model keeps and delivers after
 * this one, as two SGIs sent at once may be.
 *
 * Anything unusual returns -1 and the locked path decides: interrupts
 * waiting for an LR or held back (only a flush orders them), the
 * interrupt pending or active in the model outside an LR, its LR still
 * busy, no empty LR, disabled (its pending state must be kept).
 */
#ifndef KERNEL_VGIC_FAST_H
#define KERNEL_VGIC_FAST_H

/* ---- registers that hold constants or one field (dist.c, redist.c) ---- */

#define VGIC_DIST_SIZE	  0x10000
#define VGIC_RD_STRIDE	  0x20000 /* one vCPU's redistributor: RD_base frame, */
#define VGIC_SGI_FRAME	  0x10000 /* then SGI_base */
#define VGIC_CTLR_ARE_DS  0x50u	  /* GICD_CTLR ARE (bit 4) and DS (bit 6): read as one */
#define VGIC_WAKER_SLEEP  BIT(1)
#define VGIC_WAKER_ASLEEP BIT(2)
/* GICD_IIDR / GICR_IIDR: Implementer 0x43b (Arm's JEP106 code, as KVM
 * uses), ProductID 0x54 ('T'), Variant 0, Revision 0. A ProductID no real
 * GIC has, so guests apply no silicon errata workarounds (Linux keys those
 * on IIDR; IIDR 0 would even match the HIP07 one). */
#define VGIC_IIDR  0x5400043bu
#define VGIC_PIDR2 0x30u /* ArchRev 3 (GICv3) in bits [7:4] */

/* GICD_TYPER: ITLinesNumber for VGIC_NR_SPIS, IDbits 9 (10 INTID bits);
 * with an ITS (its.h) LPIS and IDbits 14. Held in the model (vgic_init,
 * vgic_its_attach): one load, as cheap as the constant it was. */
#define VGIC_DIST_TYPER ((VGIC_NR_IRQS / 32 - 1) | (10 - 1) << 19)
static inline uint32_t vgic_dist_typer(const struct vgic *g)
{
	return g->typer;
}
/* GICR_TYPER of vCPU rd: Aff0 = Processor_Number = rd, Last on the last,
 * PLPIS with an ITS; computed by vgic_init (and vgic_its_attach) */
static inline uint64_t vgic_redist_typer(const struct vgic *g, uint64_t rd)
{
	return g->rd_typer[rd];
}
/* The ID block at 0xffd0 of either frame; off from there, a multiple of 4
 * below 0x30. */
static inline uint32_t vgic_id_reg(unsigned off)
{
	static const uint8_t ids[12] = {0, 0, 0, 0, 0, 0, VGIC_PIDR2, 0, 0x0d, 0xf0, 0x05, 0xb1};
	return ids[off / 4];
}

/* The registers Linux and RTOSes read at run time that hold constants or
 * one field (CTLR, TYPER, IIDR, TYPER2, STATUSR, the ID block), answered
 * without the table walk or the lock: a racing GICD_CTLR write is seen
 * either before or after, as on hardware. The rest: false (vgic_mmio). */
static inline bool vgic_dist_read_fast(const struct vgic *g, uint64_t off, unsigned size,
				       uint64_t *val)
{
	if (size != 4 || (off & 3))
		return false;
	switch (off) {
	case 0x0000:
		*val = __atomic_load_n(&g->ctlr, __ATOMIC_RELAXED) | VGIC_CTLR_ARE_DS;
		return true;
	case 0x0004:
		*val = vgic_dist_typer(g);
		return true;
	case 0x0008:
		*val = VGIC_IIDR;
		return true;
	case 0x000c:
	case 0x0010:
		*val = 0;
		return true;
	}
	if (off < 0xffd0 || off >= VGIC_DIST_SIZE)
		return false;
	*val = vgic_id_reg((unsigned)(off - 0xffd0));
	return true;
}

/* RD_base registers that are constants or one field (CTLR, IIDR, TYPER
 * and its halves, STATUSR, WAKER, the ID block), without the table walk
 * or the lock; anything else (the SGI_base frame): false (vgic_mmio).
 * TYPER first, the one read at run time. */
static inline bool vgic_redist_read_fast(const struct vgic *g, uint64_t off, unsigned size,
					 uint64_t *val)
{
	uint64_t rd = off / VGIC_RD_STRIDE, frame = off % VGIC_RD_STRIDE;
	if (rd >= g->nvcpus || size < 4 || (frame & (size - 1)))
		return false;
	if (frame - 8 < 8) { /* TYPER, 64-bit or either half (aligned: 0xc is 4) */
		*val = vgic_redist_typer(g, rd) >> (frame & 4) * 8;
		return true;
	}
	if (size != 4)
		return false;
	switch (frame) {
	case 0x0000:
		if (g->its)
			return false; /* GICR_CTLR.EnableLPIs: lpi.c */
				      /* fall through */
	case 0x0010:
		*val = 0;
		return true;
	case 0x0004:
		*val = VGIC_IIDR;
		return true;
	case 0x0014:
		*val = __atomic_load_n(&g->cpu[rd].sleep, __ATOMIC_RELAXED)
			   ? VGIC_WAKER_SLEEP | VGIC_WAKER_ASLEEP
			   : 0;
		return true;
	}
	if (frame < 0xffd0 || frame >= VGIC_SGI_FRAME)
		return false;
	*val = vgic_id_reg((unsigned)(frame - 0xffd0));
	return true;
}

/* ---- the lock-free LR path ---- */

/* &g->cpu[vcpu], computed once: left to itself the compiler recomputes
 * the multiply-add for nearly every field access. */
static inline __attribute__((always_inline)) struct vgic_cpu *vgic_fast_cpu(struct vgic *g,
									    unsigned vcpu)
{
	struct vgic_cpu *cpu = &g->cpu[vcpu];
	__asm__("" : "+r"(cpu));
	return cpu;
}

/* The LR irq may take among the empty ones: its own if it is in one (the
 * guest completed it since), else the first empty one; -1 if none may. */
static inline __attribute__((always_inline)) int vgic_fast_pick(unsigned nr_lrs,
								const struct vgic_cpu *cpu,
								const struct vgic_irq *irq,
								unsigned intid, uint32_t empty)
{
	if (irq->in_lr || cpu->fresh) {
		const uint16_t *held = cpu->lr_intid;
		for (unsigned i = 0; i < nr_lrs; i++)
			if (held[i] == intid)
				return (empty >> i) & 1 ? (int)i : -1;
		if (irq->in_lr)
			return -1;
	}
	if (irq->latch || irq->level || irq->active || !empty)
		return -1; /* pending or active in the model: a flush places it */
	return __builtin_ctz(empty);
}

static inline __attribute__((always_inline)) int
vgic_fast_place(struct vgic *g, struct vgic_cpu *cpu, const struct vgic_irq *irq, unsigned intid,
		uint64_t hw, uint32_t empty, uint64_t *lr)
{
	if (cpu->underflow || cpu->starved != VGIC_LR_FREE)
		return -1;
	int n = vgic_fast_pick(g->nr_lrs, cpu, irq, intid, empty);
	if (n < 0)
		return -1;
	unsigned i = (unsigned)n;
	uint32_t was = cpu->fresh, bit = 1u << i;
	__atomic_store_n(&cpu->fresh, was | bit, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* then read the configuration */
	if (!irq->enabled || !(__atomic_load_n(&g->ctlr, __ATOMIC_RELAXED) & (1u << irq->group1))) {
		__atomic_store_n(&cpu->fresh, was, __ATOMIC_RELAXED);
		return -1;
	}
	uint64_t v = intid | hw | VGIC_LR_PRIO(irq->prio) | (uint64_t)irq->group1 << 60 |
		     (uint64_t)VGIC_LR_PENDING << VGIC_LR_STATE_SHIFT;
	uint16_t *held = &cpu->lr_intid[i];
	if (!(was & bit))
		cpu->lr_was[i] = *held;
	*held = (uint16_t)intid;
	cpu->lr_hw[i] = v;
	*lr = v;
	return n;
}

static inline int vgic_sgi_self_lr(struct vgic *g, unsigned vcpu, uint64_t sgi1r, uint32_t empty,
				   uint64_t *lr)
{
	/* TargetList exactly {vcpu}, with IRM, RS and Aff1..3 zero */
	const uint64_t route = 0xffffffull | 0xffull << 32 | BIT(40) | 0xfull << 44 | 0xffull << 48;
	if (vcpu >= g->nvcpus || (sgi1r & route) != BIT(vcpu))
		return -1;
	struct vgic_cpu *cpu = vgic_fast_cpu(g, vcpu);
	unsigned intid = (sgi1r >> 24) & 0xf;
	return vgic_fast_place(g, cpu, &cpu->priv[intid], intid, 0, empty, lr);
}

/* The SGIs others sent vcpu (vgic_sgi_mail), taken from its mail; for the
 * fast path of vcpu's own CPU while it is loaded. */
static inline uint32_t vgic_mail_take(struct vgic *g, unsigned vcpu)
{
	if (vcpu >= g->nvcpus)
		return 0;
	uint32_t *mail = &vgic_fast_cpu(g, vcpu)->mail;
	if (!__atomic_load_n(mail, __ATOMIC_RELAXED))
		return 0;
	return __atomic_exchange_n(mail, 0, __ATOMIC_ACQUIRE);
}

/* One SGI of those into an empty LR, as vgic_sgi_self_lr places the
 * sender's own: the LR to write *lr to, or -1 (vgic_mail_latch it). */
static inline int vgic_mail_lr(struct vgic *g, unsigned vcpu, unsigned intid, uint32_t empty,
			       uint64_t *lr)
{
	struct vgic_cpu *cpu = vgic_fast_cpu(g, vcpu);
	return vgic_fast_place(g, cpu, &cpu->priv[intid & 15], intid & 15, 0, empty, lr);
}

/* Linked once by the locked path (vgic_inject_hw): only then are the
 * interrupt's hw and pintid what the LR needs; those fields, like level
 * and phys_active, change on this CPU only. */
static inline int vgic_hw_lr(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid,
			     uint32_t empty, uint64_t *lr)
{
	if (vcpu >= g->nvcpus || intid < 16 || intid >= 32)
		return -1;
	struct vgic_cpu *cpu = vgic_fast_cpu(g, vcpu);
	const struct vgic_irq *irq = &cpu->priv[intid];
	if (!irq->hw || irq->pintid != pintid)
		return -1;
	return vgic_fast_place(g, cpu, irq, intid, VGIC_LR_HW | VGIC_LR_PINTID(pintid), empty, lr);
}

#endif

/*
 * Shared between the vgic_*.c files only: the interrupt-state helpers, the
 * MMIO register-table dispatcher and the register handlers both the
 * distributor and the redistributor SGI frame use.
 */
#ifndef KERNEL_VGIC_INTERNAL_H
#define KERNEL_VGIC_INTERNAL_H

#include "kernel/vgic/vgic.h"

#define VGIC_NO_VCPU   0xff /* vgic_irq.target: routed to no vCPU */
#define VGIC_PRIO_MASK 0xf8 /* 5 priority bits, as GIC-500 and KVM */

/* One MMIO access in progress. */
struct vgic_acc {
	struct vgic *g;
	struct vgic_cpu *cpu; /* redistributor frame's vCPU; NULL in the distributor */
	unsigned rd;	      /* its index */
	unsigned self;	      /* accessing vCPU: not kicked, it flushes before re-entry */
	uint32_t kick;	      /* vCPUs to kick once unlocked */
};

/* A register (or array of registers) at [off, off + len) of a frame. */
struct vgic_reg {
	uint16_t off, len;
	uint8_t sizes; /* allowed access sizes, OR of 1, 4, 8 */
	uint8_t arg;   /* handler parameter */
	uint64_t (*read)(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size);
	void (*write)(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		      uint64_t val);
	bool fixed; /* reads a constant (ID registers, TYPER): no lock needed */
};

/* vgic_bits_*: arg is the field, plus how a written 1 acts. */
enum { VGIC_F_GROUP, VGIC_F_ENABLE, VGIC_F_PEND, VGIC_F_ACTIVE };
#define VGIC_W_SET   0x10 /* IS*R: a 1 sets, 0 ignored */
#define VGIC_W_CLEAR 0x20 /* IC*R: a 1 clears, 0 ignored */
/* neither: the bit is assigned (IGROUPR) */

/* vgic.c */
/* irq may have become a candidate for an LR of its target (pending,
 * active, out of an LR, re-routed): flush and vgic_pending look only at
 * marked interrupts. Every change that can make an interrupt a candidate
 * marks it; marks of interrupts that are not are dropped as found. */
static inline void vgic_mark(struct vgic *g, const struct vgic_irq *irq)
{
	if (irq->target < g->nvcpus)
		g->cpu[irq->target].cand[irq->intid / 64] |= 1ull << (irq->intid % 64);
}
void vgic_mail_drain(struct vgic *g, unsigned vcpu);
/* Takes the lock; SGIs sent lock-free (vgic_sgi_mail) join the model
 * first, so every locked entry point sees them as latched. Their targets
 * were kicked when their bits were set. */
static inline void vgic_enter(struct vgic *g)
{
	if (g->ops.lock)
		g->ops.lock(g->ops.ctx);
	for (unsigned c = 0; c < g->nvcpus; c++)
		if (__atomic_load_n(&g->cpu[c].mail, __ATOMIC_RELAXED))
			vgic_mail_drain(g, c);
}

/* Kicks only after unlocking: kick IPIs other CPUs, which may be spinning
 * on this very lock to inject something themselves. */
static inline void vgic_leave(struct vgic *g, uint32_t kick)
{
	if (g->ops.unlock)
		g->ops.unlock(g->ops.ctx);
	for (unsigned c = 0; kick && c < g->nvcpus; c++, kick >>= 1)
		if ((kick & 1) && g->ops.kick)
			g->ops.kick(g->ops.ctx, c);
}
/* Inline: every flush, fold and injection runs these, and calls (frame
 * records included) cost more than their bodies. */
static inline struct vgic_irq *vgic_irq_of(struct vgic *g, unsigned vcpu, unsigned intid)
{
	if (intid < 32)
		return vcpu < g->nvcpus ? &g->cpu[vcpu].priv[intid] : NULL;
	if (intid < VGIC_NR_IRQS)
		return &g->spi[intid - 32];
	return NULL;
}

/* Level-triggered: the line, or a latch from ISPENDR / vgic_inject that
 * stays until the guest acknowledges it or writes ICPENDR. */
static inline bool vgic_irq_pending(const struct vgic_irq *irq)
{
	return irq->latch || (!irq->edge && irq->level);
}

static inline bool vgic_deliverable(const struct vgic *g, const struct vgic_irq *irq)
{
	uint32_t grp = irq->group1 ? BIT(1) : BIT(0);
	return vgic_irq_pending(irq) && irq->enabled && (g->ctlr & grp) && irq->target < g->nvcpus;
}

/* Adds irq's vCPU to kick if irq may now reach it (not self: the sender
 * flushes before it re-enters). Even if the model says an LR of the
 * target still holds it pending: a running vCPU may have acknowledged and
 * completed it since without an exit, and only the exit the kick causes
 * folds that back. */
static inline void vgic_note(const struct vgic *g, const struct vgic_irq *irq, unsigned self,
			     uint32_t *kick)
{
	if (vgic_deliverable(g, irq) && irq->target != self)
		*kick |= (uint32_t)BIT(irq->target);
}

/* irq changed while another vCPU's LR holds it (cleared, disabled,
 * re-routed, re-prioritised): that vCPU must exit, so its next flush
 * rewrites the LR from the model instead of letting it take a stale
 * copy at any later time. */
/* The same for an SGI or PPI the owner's lock-free path may just have
 * put in an LR the model does not know of yet (vgic_cpu.fresh): that path
 * publishes the LR, then reads the configuration; this one changed the
 * configuration, then reads fresh. With a full barrier on both sides one
 * of them sees the other's write. */
static inline void vgic_note_held(const struct vgic *g, const struct vgic_irq *irq, unsigned self,
				  uint32_t *kick)
{
	if (irq->in_lr && irq->lr_vcpu != self && irq->lr_vcpu < g->nvcpus) {
		*kick |= (uint32_t)BIT(irq->lr_vcpu);
	} else if (irq->intid < 32 && irq->target != self && irq->target < g->nvcpus) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&g->cpu[irq->target].fresh, __ATOMIC_RELAXED))
			*kick |= (uint32_t)BIT(irq->target);
	}
}

/* A new line level: level-triggered inputs are pending while it is high;
 * an edge-configured one latches on the rising edge only. */
static inline void vgic_set_line(struct vgic *g, struct vgic_irq *irq, bool level)
{
	if (irq->edge && level && !irq->level)
		irq->latch = true;
	irq->level = level;
	vgic_mark(g, irq);
}

#define VGIC_IROUTER_VALID 0xff80ffffffull /* Aff3, IRM, Aff2, Aff1, Aff0 */
/* The vCPU an IROUTER value (within VGIC_IROUTER_VALID) names, or
 * VGIC_NO_VCPU; vgic_route also stores it and marks irq. */
uint8_t vgic_route_target(const struct vgic *g, uint64_t irouter);
void vgic_route(struct vgic *g, struct vgic_irq *irq, uint64_t irouter);
uint32_t vgic_kick_deliverable(const struct vgic *g, unsigned self);

/* lr.c: irq, just made pending for the loaded vcpu, into a free LR */
bool vgic_place(struct vgic *g, unsigned vcpu, struct vgic_irq *irq, uint32_t *kick);
/* lr.c: the model takes over the LRs the lock-free path filled (its own
 * CPU, lock held); taken as in vgic_sync, or NULL. */
void vgic_adopt(struct vgic *g, unsigned vcpu, int *taken, uint32_t *kick);

/* lpi.c: the redistributor's LPI registers (RAZ/WI without an ITS), and
 * every vCPU but self with an LPI deliverable (GICD_CTLR enabled a group) */
uint64_t vgic_lpi_ctlr_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			    unsigned size);
void vgic_lpi_ctlr_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
			 uint64_t val);
uint64_t vgic_lpi_baser_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off,
			     unsigned size);
void vgic_lpi_baser_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
			  uint64_t val);
uint32_t vgic_lpi_kick_all(struct vgic *g, unsigned self);
/* lpi.c, for its_cmd.c: guest RAM [ipa, ipa + len) is the partition's */
bool vgic_its_ram_ok(const struct vgic_its *its, uint64_t ipa, uint64_t len);
/* the vCPU ite is delivered to (VITS_NO_VCPU: collection unmapped) */
unsigned vgic_ite_target(const struct vgic_its *its, const struct vits_ite *ite);
bool vgic_ite_deliverable(const struct vgic *g, const struct vits_ite *ite);
/* re-reads ite's configuration byte (priority, enable) */
void vgic_ite_load_config(struct vgic *g, struct vits_ite *ite);
/* ite became pending or changed: whom to kick (its target, and the vCPU
 * whose LR holds it, so that LR is taken back), not self */
void vgic_ite_note(const struct vgic *g, const struct vits_ite *ite, unsigned self, uint32_t *kick);
void vgic_ite_set_pending(struct vgic *g, struct vits_ite *ite, bool pending);
void vgic_its_report(struct vgic *g, const char *what, uint64_t v);
/* its.c: entries of GITS_BASER<n>'s table (0: not valid) */
uint64_t vgic_its_table_entries(const struct vgic_its *its, unsigned n);
/* its_cmd.c: runs the queued commands from CREADR to CWRITER */
void vgic_its_run_queue(struct vgic_acc *a);

/* vgic_mmio.c: takes the lock itself, only for what reads or changes
 * model state; kicks a->kick after unlocking. */
int vgic_mmio(struct vgic_acc *a, const struct vgic_reg *tab, size_t n, uint64_t off, unsigned size,
	      bool write, uint64_t *val);
uint64_t vgic_half_read(uint64_t reg, unsigned off, unsigned size);
uint64_t vgic_half_write(uint64_t reg, unsigned off, unsigned size, uint64_t val);

/* vgic_regs.c: handlers for the per-INTID register arrays and ID registers */
uint64_t vgic_bits_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size);
void vgic_bits_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		     uint64_t val);
uint64_t vgic_prio_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size);
void vgic_prio_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		     uint64_t val);
uint64_t vgic_cfg_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size);
void vgic_cfg_write(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size,
		    uint64_t val);
uint64_t vgic_id_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size);
uint64_t vgic_iidr_read(struct vgic_acc *a, const struct vgic_reg *r, unsigned off, unsigned size);
struct vgic_irq *vgic_acc_irq(struct vgic_acc *a, unsigned intid);

#endif

/*
 * kernel/vgic/ API: the virtual GICv3 of a partition (portable, uses only
 * lib/, host-tested). The distributor and
 * redistributors are emulated here; the CPU interface is the hardware's
 * (ICH_* list registers), reached through struct vgic_ops so this model is
 * portable and host-tested with a fake.
 *
 * Model: every interrupt has a software state (enabled, pending, active,
 * priority, group, config, route). Before a vCPU enters the guest,
 * vgic_flush() writes the highest-priority pending interrupts into free
 * list registers; after it exits, vgic_sync() folds the list registers
 * back (an interrupt the guest completed leaves its LR invalid). When more
 * interrupts are pending than LRs are free, flush asks for the underflow
 * maintenance interrupt (ICH_HCR_EL2.UIE) so the next exit refills.
 *
 * Bounded delivery among equal priorities (which the architecture leaves
 * to the implementation: QEMU takes the lowest LR, flush the lowest INTID,
 * so an SGI re-sent faster than it completes kept a timer out for good):
 * flush picks ties round robin per priority level, and an interrupt the
 * guest passed over in its LR (it acknowledged another of the same group
 * and no higher priority instead) makes the next flush hold back every
 * pending interrupt of its group and priority or lower that is not yet
 * pending in an LR, until the guest has taken it. Only then is that one
 * the guest's only choice at its level, whatever the CPU interface's tie
 * rule; flush asks for the no-pending maintenance interrupt
 * (ICH_HCR_EL2.NPIE) to place the held-back ones right after.
 *
 * An active LR keeps the priority it was taken at (the guest's EOI drops
 * that one); an IPRIORITYR write applies to the interrupt's next
 * activation, as on a GIC.
 *
 * Between vgic_sync() and the next vgic_flush() of a vCPU the model is the
 * truth; while the vCPU runs, its LRs are (the guest acknowledges and
 * completes interrupts there). Level-triggered, non-HW interrupts are put
 * in LRs with the EOI maintenance bit, so completing one exits and the
 * model re-pends it at once if the line is still high.
 *
 * What the guest sees (docs in kernel/vgic_dist.c, kernel/vgic_redist.c):
 * GICv3 without LPIs/ITS (unless attached: its.h), one security state (GICD_CTLR.DS = 1), affinity
 * routing always on, 10 INTID bits, VGIC_NR_SPIS SPIs, 5 priority bits,
 * vCPU n has MPIDR Aff0 = n. Reset: everything disabled, group 1,
 * priority 0, SPIs level and routed to vCPU 0, GICR_WAKER.ProcessorSleep
 * set (as on hardware).
 *
 * Locking: every public function takes ops.lock for its whole body and
 * calls ops.kick only after ops.unlock, so kick may take other locks;
 * except vgic_sgi_self_lr and vgic_hw_lr (fast.h), which run lock-free on
 * the vCPU's own CPU while it is loaded and leave the LRs they fill to be
 * adopted by the model under the lock (at the next sync at the latest):
 * until then those LRs are the truth for their interrupts, as LRs are
 * while the guest runs.
 */
#ifndef KERNEL_VGIC_H
#define KERNEL_VGIC_H

struct vgic_its;

#include "lib/types.h"

#define VGIC_MAX_VCPUS 8
#define VGIC_NR_SPIS   64 /* INTIDs 32..95 */
#define VGIC_NR_IRQS   (32 + VGIC_NR_SPIS)
#define VGIC_MAX_LRS   16
#define VGIC_LR_FREE   0xffff /* vgic_cpu.lr_intid: not filled by the model */

/* ICH_LR<n>_EL2 fields */
#define VGIC_LR_VINTID_MASK 0xffffffffull
#define VGIC_LR_PINTID(x)   ((uint64_t)((x)&0x1fff) << 32)
#define VGIC_LR_EOI	    BIT(41) /* HW == 0: maintenance interrupt on EOI */
#define VGIC_LR_PRIO(x)	    ((uint64_t)((x)&0xff) << 48)
#define VGIC_LR_GROUP1	    BIT(60)
#define VGIC_LR_HW	    BIT(61)
#define VGIC_LR_STATE_SHIFT 62
#define VGIC_LR_PENDING	    1u /* State field values (also vgic_irq.lr_state) */
#define VGIC_LR_ACTIVE	    2u

/* ICH_HCR_EL2 maintenance interrupt enables vgic_flush asks for */
#define VGIC_HCR_UIE  BIT(1) /* underflow: at most one LR valid */
#define VGIC_HCR_NPIE BIT(3) /* no LR pending */

struct vgic_ops {
	unsigned nr_lrs; /* ICH_VTR_EL2.ListRegs + 1 */
	/* The list registers of the vCPU being flushed/synced; only called on
	 * the pCPU that runs it, between exit and entry, with the lock held. */
	uint64_t (*read_lr)(void *ctx, unsigned i);
	void (*write_lr)(void *ctx, unsigned i, uint64_t v);
	/* ICH_ELRSR_EL2 of that vCPU (bit i: LR i holds nothing), for the
	 * fast-path functions below; NULL: they always defer to a flush. */
	uint32_t (*empty_lrs)(void *ctx);
	/* vcpu has a new pending interrupt: make it notice (IPI its pCPU or
	 * wake it from WFI). May be called from any CPU; never with the lock
	 * held. */
	void (*kick)(void *ctx, unsigned vcpu);
	/* One lock per partition around all model state (not recursive). */
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void *ctx;
};

struct vgic_irq {
	uint16_t intid;
	uint16_t pintid;  /* HW-linked: physical INTID the guest's EOI deactivates */
	uint8_t prio;	  /* IPRIORITYR (low 3 bits RAZ) */
	uint8_t act_prio; /* while active: the priority it was taken at */
	uint8_t target;	  /* vCPU whose LRs take it: owner (SGI/PPI), IROUTER (SPI) */
	uint8_t lr_state; /* VGIC_LR_* last written to / read back from its LR */
	bool group1, enabled, edge, active;
	bool latch; /* pending latch: edge seen, ISPENDR, vgic_inject */
	bool level; /* input line level (vgic_set_level) */
	bool hw;    /* injected by vgic_inject_hw: LR gets HW=1 + pintid */
	/* HW-linked: the physical interrupt was taken and is still active:
	 * the guest's EOI of the HW=1 LR, or vgic_hw_level's answer, ends it */
	bool phys_active;
	bool in_lr;	 /* held in a list register of vCPU lr_vcpu */
	uint8_t lr_vcpu; /* whose LR (target, or the former target after a re-route) */
	uint64_t irouter;
};

struct vgic_cpu {
	struct vgic_irq priv[32];	 /* SGIs and PPIs */
	uint16_t lr_intid[VGIC_MAX_LRS]; /* INTID the model put in LR i, or 0xffff */
	uint64_t lr_hw[VGIC_MAX_LRS];	 /* what LR i holds: last written or read back */
	uint64_t cand[2]; /* INTIDs that may want an LR here (internal.h vgic_mark) */
	bool sleep;	  /* GICR_WAKER.ProcessorSleep */
	bool underflow;	  /* the last flush left deliverable interrupts out */
	/* an interrupt the guest passed over in a pending LR (or 0xffff):
	 * flush holds back what competes with it until it is taken */
	uint16_t starved;
	/* a HW-linked PPI may have its line high or its physical interrupt
	 * active: vgic_hw_lines must look (own CPU only, like those fields) */
	bool hw_busy;
	/* LRs the lock-free path (vgic_*_lr below) filled since the model
	 * last looked: lr_intid and lr_hw say with what, lr_was what the
	 * model had there (completed since, or 0xffff). Written on the
	 * vCPU's own CPU only; others read it to kick (internal.h). */
	uint32_t fresh;
	uint16_t lr_was[VGIC_MAX_LRS];
	/* SGIs (bit n: INTID n) other vCPUs sent here lock-free (vgic_sgi_mail)
	 * that the model has not latched yet: any CPU sets bits, the owner's
	 * fast path or any locked entry point (vgic_enter) takes them. */
	uint32_t mail;
	/* aligned: a power-of-two size makes &g->cpu[n] one shifted add,
	 * not a multiply, on every path that looks at a vCPU's state */
} __attribute__((aligned(2048)));

struct vgic {
	unsigned nvcpus, nr_lrs;
	uint32_t ctlr;	/* GICD_CTLR enable bits (EnableGrp0 bit 0, EnableGrp1 bit 1) */
	uint32_t typer; /* GICD_TYPER (fast.h vgic_dist_typer; LPIs: its.h) */
	struct vgic_irq spi[VGIC_NR_SPIS];
	struct vgic_cpu cpu[VGIC_MAX_VCPUS];
	struct vgic_ops ops;
	struct vgic_its *its; /* LPIs and the ITS (its.h), or NULL: none */
	/* per vCPU and priority level: the INTID the level's next tie starts
	 * at (lr.c better); last, off the hot fields' cache lines */
	uint8_t rr[VGIC_MAX_VCPUS][32];
	uint64_t rd_typer[VGIC_MAX_VCPUS]; /* GICR_TYPER of each (fast.h vgic_redist_typer) */
};

/* Resets the model (nvcpus is clamped to VGIC_MAX_VCPUS, ops->nr_lrs to
 * VGIC_MAX_LRS). Does not take the lock: nothing else may use g yet. */
void vgic_init(struct vgic *g, unsigned nvcpus, const struct vgic_ops *ops);

/* MMIO emulation by vCPU vcpu. off is from the distributor base / from the
 * start of the redistributor region (vCPU n's frames at n * 0x20000). size
 * 1/2/4/8; *val is the value written / receives the value read.
 * Returns 0, or -EINVAL for an access the guest should get an external
 * abort for (bad size or alignment, past the last redistributor).
 * Unimplemented registers read 0 / ignore writes (32- or 64-bit). */
int vgic_dist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		     uint64_t *val);
int vgic_redist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		       uint64_t *val);

/* Interrupt sources. vcpu names the receiver of an SGI/PPI (intid < 32);
 * for SPIs it is ignored (IROUTER decides). Out-of-range INTIDs are
 * ignored. Each kicks the target if the interrupt can now be delivered. */
void vgic_set_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level);
void vgic_inject(struct vgic *g, unsigned vcpu, unsigned intid); /* edge */
/* HW-linked level source (the guest's EL1 timers, PPIs 27 and 30): its
 * physical interrupt pintid fired and was left active, so it cannot fire
 * again until deactivated. Raises the line; LRs get HW = 1, so the guest's
 * EOI deactivates pintid in the physical GIC. */
void vgic_inject_hw(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid);
/* The sampled output of HW-linked PPIs (for a timer: ENABLE, not IMASK,
 * ISTATUS; for the PMU: an enabled overflow), read on vcpu's own CPU at
 * each exit: GICR_ISPENDR0 then shows each line as it is, and a line that
 * dropped before the guest took the interrupt stops being pending. Bit i
 * of levels is the line of PPI ppis[i] (physical INTID = virtual INTID).
 * Returns the bits whose physical interrupt the caller must deactivate
 * now: it is active, the line is low and the guest does not hold the
 * virtual one active, so no guest EOI will ever deactivate it (and the
 * next expiry could not fire). A PPI's line state only ever changes on
 * its vCPU's own CPU (here and in vgic_inject_hw, called there), so lines
 * that did not change cost no lock. */
uint32_t vgic_hw_lines(struct vgic *g, unsigned vcpu, const uint8_t *ppis, unsigned n,
		       uint32_t levels);
bool vgic_hw_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level); /* one PPI */
/* A trapped write of ICC_SGI1R_EL1 by vcpu (IRM, target list, Aff1-3 as
 * in the register; vCPU n has MPIDR Aff0 = n, Aff1..3 = 0). The SGI takes
 * the group the target gave it (GICD_CTLR.DS = 1). The sender is not
 * kicked, even when it targets itself: it flushes before re-entering. */
void vgic_sgi(struct vgic *g, unsigned vcpu, uint64_t sgi1r);

/* The fast exit path (vCPU vcpu loaded on this CPU, its LRs live, no
 * sync since it last entered): the same as vgic_sgi / vgic_inject_hw,
 * and what now became deliverable to vcpu itself goes straight into a
 * free list register (LRs the guest emptied are folded first, through
 * ops.empty_lrs). True if the vCPU may re-enter as it is; false if a
 * flush must run first (no free LR, interrupts already waiting for one,
 * the interrupt held in an LR already). */
bool vgic_sgi_fast(struct vgic *g, unsigned vcpu, uint64_t sgi1r);
bool vgic_inject_hw_fast(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid);
/* A kick arrived while vcpu runs here (its LRs live, no sync since it
 * last entered): every interrupt now pending for it goes into an LR the
 * guest left empty, as vgic_sgi_fast places the sender's own. True if
 * the vCPU may re-enter as it is; false if nothing was found to place
 * (the kick was about something else: an LR to rewrite, a re-route) or
 * something could not be placed: the full exit, sync and flush decide. */
bool vgic_kicked_fast(struct vgic *g, unsigned vcpu);
/* SGIs to other vCPUs without the lock: each target's bit is set in its
 * mail and, if it was clear, the target kicked; the model latches them at
 * its next locked entry point, or the target's fast path puts them in LRs
 * straight away (vgic_mail_take, vgic_mail_lr in fast.h). False, with
 * nothing done, when the sender is among the targets: vgic_sgi_fast then. */
bool vgic_sgi_mail(struct vgic *g, unsigned vcpu, uint64_t sgi1r);
/* SGIs vgic_mail_take took that vgic_mail_lr could not place: latched in
 * the model now (a flush must run before vcpu re-enters). */
void vgic_mail_latch(struct vgic *g, unsigned vcpu, uint32_t sgis);
/* The same without the lock, for the usual case only: an SGI the sender
 * sends only to itself, or a HW-linked PPI already linked to pintid,
 * enabled, nothing of it pending or active outside an LR, no interrupt
 * waiting for an LR. empty: ICH_ELRSR_EL2 (no bits at or above nr_lrs).
 * Returns the LR the caller must write *lr to now (before re-entering the
 * guest), or -1: nothing done, use vgic_sgi_fast / vgic_inject_hw_fast.
 * The model takes such LRs over (vgic_cpu.fresh) at the next sync, flush
 * or locked fast call. Inline, with the reasoning, in fast.h. */
static inline int vgic_sgi_self_lr(struct vgic *g, unsigned vcpu, uint64_t sgi1r, uint32_t empty,
				   uint64_t *lr);
static inline int vgic_hw_lr(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid,
			     uint32_t empty, uint64_t *lr);
/* Reads of registers that hold constants or one field (IDs, TYPER,
 * CTLR, GICR_WAKER), lock-free, for the fast exit path: true with the
 * value; false for anything else (vgic_dist_access / vgic_redist_access
 * then decide, including which accesses abort). off as there. Inline in
 * fast.h; *val may hold more than size bytes (the caller's load takes
 * what the access reads). */
static inline bool vgic_dist_read_fast(const struct vgic *g, uint64_t off, unsigned size,
				       uint64_t *val);
static inline bool vgic_redist_read_fast(const struct vgic *g, uint64_t off, unsigned size,
					 uint64_t *val);
/* Whether a read at off (of the distributor, or of the redistributor
 * region) returns pending or active state, which the vCPU's LRs hold
 * while it runs: such a read needs vgic_sync first. */
bool vgic_read_needs_sync(bool redist, uint64_t off);

/* List registers around guest entry/exit (see top of file). */
/* flush returns the VGIC_HCR_* maintenance enables to set while the
 * guest runs (0: none) */
uint64_t vgic_flush(struct vgic *g, unsigned vcpu);
void vgic_sync(struct vgic *g, unsigned vcpu);
/* The vCPU leaves its CPU: its list registers are zeroed (the model,
 * synced, holds their state; the next flush writes them again). */
void vgic_unload(struct vgic *g, unsigned vcpu);
/* Whether vcpu has a pending, enabled interrupt of an enabled group (WFI;
 * PMR and ICC_IGRPEN are the caller's, in ICH_VMCR). Call after sync. */
bool vgic_pending(struct vgic *g, unsigned vcpu);
/* Whether the last flush left deliverable interrupts out of the LRs. */
bool vgic_wants_underflow(struct vgic *g, unsigned vcpu);

/* Snapshots (save.c; the records are snapshot/snapshot.h's). */
struct snap_vgic;
struct snap_vgic_irq;
struct snap_vgic_cpu;
/* The PPIs that may be HW-linked: the ones the hypervisor forwards (PMU
 * overflow 23, EL1 virtual timer 27, EL1 physical timer 30), each to the
 * same physical INTID. vgic_restore refuses HW on any other INTID. */
#define VGIC_HW_PPIS (BIT(23) | BIT(27) | BIT(30))
/* Saves the model of a partition none of whose vCPUs is loaded (every one
 * synced and unloaded, so no list register holds state): gicd_ctlr, every
 * SPI (spis has VGIC_NR_SPIS entries) and, per vCPU, its SGIs/PPIs and
 * GICR_WAKER sleep (cpus has g->nvcpus entries; ich_vmcr/ap*r/icc_sre are
 * left 0 for the caller, who holds them in the vCPU context).
 * After vgic_sync and vgic_unload an interrupt may still be noted as held
 * by an LR (in_lr, lr_state: which LR the next flush rewrites); its state
 * is in the model then, so that is fine. A vCPU flushed since its last
 * unload (an LR written, not zeroed since) is a caller bug: panic().
 * An entry's target is the vCPU whose LRs take the interrupt: for an
 * active SPI re-routed while another vCPU's LR held it, that vCPU (it
 * keeps it there until its guest deactivates it), not IROUTER's.
 * Not recorded, as nothing needs it after a restore: which LR held what,
 * the priority an active interrupt was taken at (act_prio; restore takes
 * the current priority), phys_active (the restoring host's physical
 * interrupts are inactive), the round-robin cursors, the starved and
 * underflow notes (see vgic_restore). */
void vgic_save(struct vgic *g, struct snap_vgic *out, struct snap_vgic_irq *spis,
	       struct snap_vgic_cpu *cpus);
/* Loads a saved model into g, freshly vgic_init'ed with the same nvcpus:
 * 0, or -EINVAL with why filled (nvcpus or nspis differ, an INTID out of
 * place, a target or route naming no vCPU, HW-linked on a non-timer PPI...).
 * On error g is left as vgic_init made it. Kicks every vCPU with something
 * deliverable (ops.kick, after unlock), like the other entry points.
 * Refused besides: unknown flag or GICD_CTLR bits, priority bits below
 * VGIC_PRIO_MASK, a level SGI, a physical INTID without HW, an IROUTER on
 * an SGI/PPI or with bits IROUTER does not have, a target other than the
 * owner (SGI/PPI) or than what IROUTER names (SPI: an SPI routed to an
 * affinity no vCPU has is kept, target VGIC_NO_VCPU as the model has it;
 * an active one may name another vCPU, whose LR then holds it as in the
 * original, unless more of them than LRs do), a CPU entry out of place
 * or with unknown flags.
 * What the restored model starts with: an active interrupt's act_prio is
 * its priority (if the guest changed IPRIORITYR while it was active, the
 * LR gets the new priority: the ICH_AP*R the caller restores hold the old
 * one); phys_active clear; a HW-linked PPI keeps its saved line level, and
 * the next vgic_hw_lines on its vCPU (the caller's first exit) sets it
 * from the restored timer or PMU; round robin from the lowest INTID; no
 * starved or underflow notes (the first flush makes them again). */
int vgic_restore(struct vgic *g, const struct snap_vgic *in, const struct snap_vgic_irq *spis,
		 const struct snap_vgic_cpu *cpus, char *why, size_t whylen);

#include "kernel/vgic/fast.h"
#include "kernel/vgic/its.h"

#endif

/*
 * Private to kernel/: the virtual GICv3 of a partition. The distributor and
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
 */
#ifndef KERNEL_VGIC_H
#define KERNEL_VGIC_H

#include "arch/arm64/types.h"

#define VGIC_MAX_VCPUS 8
#define VGIC_NR_SPIS   64 /* INTIDs 32..95 */
#define VGIC_MAX_LRS   16

struct vgic_ops {
	unsigned nr_lrs; /* ICH_VTR_EL2.ListRegs + 1 */
	/* The list registers of the vCPU being flushed/synced; only called on
	 * the pCPU that runs it, between exit and entry. */
	uint64_t (*read_lr)(void *ctx, unsigned i);
	void (*write_lr)(void *ctx, unsigned i, uint64_t v);
	/* vcpu has a new pending interrupt: make it notice (IPI its pCPU or
	 * wake it from WFI). May be called from any CPU. */
	void (*kick)(void *ctx, unsigned vcpu);
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void *ctx;
};

struct vgic_irq {
	uint8_t prio;
	bool group1, enabled, pending, active, edge;
	bool level;	  /* input line level (level-triggered) */
	bool in_lr;	  /* currently held in a list register */
	bool hw;	  /* HW-linked: pintid is deactivated by the guest's EOI */
	uint16_t pintid;
	uint8_t target;	  /* vCPU for SPIs (from IROUTER Aff0) */
	uint64_t irouter;
};

struct vgic_cpu {
	struct vgic_irq priv[32]; /* SGIs and PPIs */
	uint32_t waker;		  /* GICR_WAKER.ProcessorSleep */
	uint32_t ctlr;
	int8_t lr_irq[VGIC_MAX_LRS]; /* which INTID each LR holds... see vgic.c */
	uint16_t lr_intid[VGIC_MAX_LRS];
	bool underflow; /* flush wants ICH_HCR_EL2.UIE */
};

struct vgic {
	unsigned nvcpus;
	uint32_t ctlr; /* GICD_CTLR */
	struct vgic_irq spi[VGIC_NR_SPIS];
	struct vgic_cpu cpu[VGIC_MAX_VCPUS];
	struct vgic_ops ops;
	uint32_t lock; /* taken by the callers' locking wrapper; see vgic.c */
};

void vgic_init(struct vgic *g, unsigned nvcpus, const struct vgic_ops *ops);

/* MMIO emulation. off is from the distributor base / from the start of the
 * redistributor region (vCPU n's frames at n * 0x20000). size 1/2/4/8.
 * Returns 0, or -EINVAL for an access the guest should get an external
 * abort for (bad size/alignment). Unimplemented registers read 0 / ignore
 * writes. */
int vgic_dist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		     uint64_t *val);
int vgic_redist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		       uint64_t *val);

/* Interrupt sources. */
void vgic_set_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level);
void vgic_inject(struct vgic *g, unsigned vcpu, unsigned intid); /* edge */
/* HW-linked PPI/SPI (e.g. the virtual timer, PPI 27): pending until the
 * guest deactivates it, which deactivates pintid in the physical GIC. */
void vgic_inject_hw(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid);
/* A trapped write of ICC_SGI1R_EL1 by vcpu (IRM, target list, Aff1-3 as
 * in the register; vCPU n has MPIDR Aff0 = n, Aff1..3 = 0). */
void vgic_sgi(struct vgic *g, unsigned vcpu, uint64_t sgi1r);

/* List registers around guest entry/exit (see top of file). */
void vgic_flush(struct vgic *g, unsigned vcpu);
void vgic_sync(struct vgic *g, unsigned vcpu);
/* Whether vcpu has a pending, enabled interrupt it could take (WFI). */
bool vgic_pending(struct vgic *g, unsigned vcpu);
bool vgic_wants_underflow(struct vgic *g, unsigned vcpu);

#endif

/*
 * kernel/vm/ API: partitions and their vCPUs — lifecycle (lifecycle.c owns
 * every state change), the per-CPU loop, exits, PSCI server, MMIO dispatch,
 * image loading, the guest device tree. Uses kernel/{machine,vgic,vdev,io}
 * and below; the console above it registers hooks (vm_set_console).
 *
 * Scheduling: vCPU n is pinned to the (n mod ncpus)-th CPU named in the
 * partition's "cpus"; a CPU holding several vCPUs time-shares them round
 * robin (10 ms slices, and a vCPU waiting in WFI gives its turn away). A
 * CPU whose /scheduler policy is cyclic or priority runs several
 * partitions' vCPUs under the policy engine instead (sched_policy.h).
 * Exits are handled on the vCPU's CPU. Cross-CPU requests (start, stop, a new
 * virtual interrupt) are a field change plus SGI_KICK; the target CPU acts
 * on it in its loop (sched.c). State changes are lifecycle.c's alone.
 *
 * Lock order: the lifecycle lock, then the vUART's own lock (uart.lock),
 * then vgic_lock (the vUART raises its interrupt line under its own lock),
 * then the memory and log locks.
 */
#ifndef KERNEL_PARTITION_H
#define KERNEL_PARTITION_H

#include "kernel/machine/machine.h"
#include "kernel/vm/guest.h"
#include "kernel/vgic/vgic.h"
#include "kernel/vdev/vuart.h"
#include "kernel/vm/lifecycle.h"
#include "kernel/vm/sched_policy.h"

struct partition;
struct pci_dev;
struct smmu_domain;

/* An assigned PCI function (pdev.c): the physical one, its stream, and
 * what the partition sees of its config space. */
struct pdev {
	const struct pci_dev *pci;
	uint32_t sid;
	char bdf[8];
	struct partition *part;
	struct vpci_fn vf;
	/* INTx: the physical SPI (0: none forwarded) and the guest's; while
	 * asserted the physical one stays active (masked) until the
	 * device's Interrupt Status drops (pdev_resample) */
	unsigned phys_intid, virt_intid;
	bool asserted;
	/* MSI-X: the DeviceID the physical ITS sees for it (the host's
	 * msi-map), and what was logged of its MSI-X this run */
	uint32_t msi_devid;
	bool msix_said, msi_said, refused_said, errors_said;
};

struct vcpu {
	struct partition *part;
	unsigned idx;		  /* vCPU number = MPIDR Aff0 */
	unsigned pcpu;		  /* physical CPU it is pinned to */
	struct vcpu *next_on_cpu; /* the other vCPUs sharing pcpu (sched.c) */
	bool waiting;		  /* in WFI, descheduled until an interrupt or its timer */
	/* WFIT: while waiting, also wake when CNTPCT reaches this (UINT64_MAX
	 * for a plain WFI); written whenever waiting is set (vcpu_exit.c). */
	uint64_t wake_at;
	struct vcpu_ctx ctx;
	uint64_t hvcs, mmios, wfis, injected;
};

/* Stage-2 dirty tracking (dirty.c): a bit per 4 KiB page of RAM written
 * since tracking started; fields under lock. */
struct dirty_log {
	struct spinlock lock;
	bool ready; /* the stage-2 tables exist (between build and release) */
	bool on;
	uint64_t *bits;
	uint64_t faults; /* write faults taken */
	/* the snapshot the bits count from ("" none): set by a save or a
	 * restore that succeeded, cleared when tracking stops */
	char base[48];
	uint64_t base_gen;
};

struct snap_live;

struct partition {
	struct part_cfg cfg;
	unsigned id;	   /* index; VMID = id + 1 */
	struct lc_part lc; /* state and vCPU power: lifecycle.c only */
	uint64_t ram_pa;   /* host physical base of its RAM */
	struct pt s2;
	uint64_t vttbr, vtcr, cntvoff;
	uint64_t entry, dtb_ipa;
	unsigned nvcpus;
	struct vcpu vcpus[GUEST_MAX_VCPUS];
	struct vgic vgic;
	struct spinlock vgic_lock;
	struct vgic_its its; /* with cfg.its: attached to vgic */
	struct vuart uart;   /* locks itself */
	struct dirty_log dirty;
	uint64_t starts, faults;
	/* "pci-devices" (pdev.c): shown as 00:n.0 of its virtual ECAM; DMA
	 * through dom, which mirrors its RAM while it runs */
	struct pdev pdevs[PART_PCI_MAX];
	unsigned npdevs;
	struct smmu_domain *dom;
	struct spinlock pci_lock; /* the vpci_fn states */
	unsigned msix_fns;	  /* functions with MSI-X on: the ITS doorbell is in dom */
	/* snapshot work asked of its next job (snap_cmds.c) */
	char snap_name[48];
	char snap_parent[48];	/* a save's parent ("": a full save) */
	bool snap_live;		/* a live save was asked */
	struct snap_live *live; /* a live save's writer is at work (snap_live.c) */
	bool snap_boot;		/* a restore at boot: boot its kernel if it fails */
	uint64_t snap_t0;	/* when it was asked (timer_now) */
	/* SVE: vector length in bytes (0: none) and the vCPUs' save areas */
	unsigned sve_vl;
	uint8_t *sve_area;
};

extern struct partition partitions[PART_MAX];
extern unsigned npartitions;

/* partition.c: the machine side of the lifecycle (lifecycle.c) */
void partitions_init(const struct boot_info *bi);
struct partition *partition_find(const char *name);
/* Operator requests: asynchronous, the partition's CPU does the work and
 * logs "<name>: started" / "<name>: stopped". 0 or a negative errno. */
int partition_start(struct partition *p);
int partition_stop(struct partition *p, bool restart);
/* A guest's own request (SYSTEM_OFF/RESET, a fatal exit): RUNNING only. */
void partition_guest_stop(struct partition *p, bool restart);
static inline int partition_state(const struct partition *p)
{
	return p->lc.state;
}
static inline int vcpu_power(const struct vcpu *v)
{
	return v->part->lc.vcpu[v->idx].power;
}
const char *partition_state_name(int state);

/* dirty.c: stage-2 dirty tracking of a partition's RAM, for snapshots.
 * start: RAM write-protected, the bitmap empty (0, -EBUSY, -ENOMEM, or
 * -EPERM for a partition with assigned devices, whose DMA it cannot see);
 * stop: RAM writable again, the bitmap gone (also when the partition's
 * memory is released). dirty_fault: a stage-2 abort at ipa (write: a
 * write or a stage-1 walk's update); true if tracking answered it and the
 * guest must retry the access. */
int dirty_start(struct partition *p);
void dirty_stop(struct partition *p);
/* partition.c: the stage-2 tables were built (ready) or are about to be
 * freed (not ready: tracking stops and cannot start again until built). */
void dirty_ready(struct partition *p, bool ready);
bool dirty_fault(struct partition *p, uint64_t ipa, bool write);
bool dirty_on(struct partition *p);
uint64_t dirty_count(struct partition *p);
uint64_t dirty_faults(struct partition *p);
/* For incremental snapshots, with the partition paused. harvest: the
 * bitmap copied into out (dirty_bitmap_bytes) and tracking started over
 * (RAM write-protected again, bits clear); -ENODATA if tracking is off.
 * unharvest: a failed save's harvest ORed back, so the next incremental
 * still sees every page written since the last good one. base: the
 * snapshot the bits now count from (NULL: none). */
uint64_t dirty_bitmap_bytes(const struct partition *p);
/* snap_live.c, from the write fault under the dirty lock: the page copied
 * aside for a live save first; false: no room, retry the access later. */
bool snap_live_fault(struct partition *p, uint64_t page);
bool snap_live_running(struct partition *p);
void snap_live_cancel(struct partition *p); /* before its RAM is freed */
int dirty_harvest(struct partition *p, uint64_t *out);
void dirty_unharvest(struct partition *p, const uint64_t *bits);
void dirty_set_base(struct partition *p, const char *name, uint64_t gen);
bool dirty_base_is(struct partition *p, const char *name, uint64_t gen);

/* sched.c */
void sched_loop(void) __attribute__((noreturn));
/* One turn of sched_loop (host tests drive it): what the loop carries
 * from one turn to the next on its CPU. Called with IRQs masked. */
struct sched_cpu {
	struct vcpu *last; /* the vCPU that ran last: the turn passes on from it */
	uint64_t slice_end;
};
void sched_step(struct sched_cpu *s);
void sched_kick(unsigned pcpu);
/* The same for the vGIC: an interrupt is pending for a vCPU on pcpu
 * (SGI_VIRQ, which the fast exit path answers when that vCPU runs). */
void sched_kick_virq(unsigned pcpu);
/* Runs j->fn(j) on CPU cpu between its vCPUs, interrupts open (long
 * hypervisor work of no partition's); j must live until fn returns. 0,
 * -EBUSY (that CPU has one queued) or -EINVAL. */
struct sched_job {
	void (*fn)(struct sched_job *j);
};
int sched_job(unsigned cpu, struct sched_job *j);
/* Takes j back if it has not started: true, and it never will. */
bool sched_job_cancel(unsigned cpu, struct sched_job *j);
/* Sleeps in WFI until an interrupt and handles it (IRQs masked around). */
void sched_idle(void);
/* Another vCPU pinned to this CPU could run now (WFI gives way to it);
 * always true on a cyclic or priority CPU (WFI blocks, the engine decides). */
bool sched_others_eligible(struct vcpu *self);
/* At boot, after the partitions (partitions_init): the /scheduler policy of
 * each CPU; cyclic and priority CPUs get the policy engine with every vCPU
 * that may run on them. */
void sched_configure(const struct sched_cfg *s);
/* `sched`: each CPU's policy and, on cyclic and priority CPUs, per vCPU
 * runtime, wake-ups, budget overruns and the wake-up latency histogram. */
void sched_report(void);
/* A vCPU's statistics on its cyclic or priority CPU; false elsewhere. */
bool sched_vcpu_stats(const struct vcpu *v, struct sp_stats *out);

/* vcpu_exit.c */
void vcpu_handle_exit(struct vcpu *v, unsigned kind);
/* Injects a synchronous external abort into a loaded vCPU for an access to
 * IPA ipa (logged) at virtual address va (FAR_EL1; !va_valid: unknown). */
void vcpu_inject_abort(struct vcpu *v, uint64_t ipa, uint64_t va, bool va_valid, bool write,
		       bool instr, const char *why);
/* A waiting vCPU's WFIT deadline has passed at CNTPCT now: it is eligible
 * again, as for a pending interrupt (sched.c). */
static inline bool vcpu_wake_due(const struct vcpu *v, uint64_t now)
{
	return v->waiting && now >= v->wake_at;
}

/* vlines.c: at each exit, the loaded vCPU's timer and PMU interrupt lines
 * into its vGIC. */
void vlines_sync(struct vcpu *v);

/* psci_server.c */
void psci_handle(struct vcpu *v);
/* Handles the call in x0 if it only computes an answer (versions,
 * features, unknown IDs: nothing else changes), as the fast exit path may;
 * false leaves it to psci_handle on the full path. */
bool psci_fast(struct vcpu *v);

/* msi.c: MSIs of assigned devices through the physical ITS (set up on the
 * first route). vm_msi_route: the physical event (pdevid, pevent < 32)
 * becomes the guest's (vdevid, vevent) of partition p (routed again by p:
 * the guest's side replaced); the physical LPI, or -errno (-EBUSY:
 * another partition has it, -ENODEV: no ITS).
 * vm_msi_unroute: all of p's go (call once its devices are quiesced).
 * vm_msi_irq: the IRQ path's (true: that LPI was a route, injected or, the
 * guest mapping nothing there, dropped and counted in vm_msi_dropped).
 * vm_msi_raise: the physical event raised as its device would (INT). */
int vm_msi_route(struct partition *p, uint32_t pdevid, uint32_t pevent, uint32_t vdevid,
		 uint32_t vevent);
void vm_msi_unroute(struct partition *p);
bool vm_msi_irq(unsigned intid);
uint64_t vm_msi_dropped(void);
int vm_msi_raise(struct partition *p, uint32_t pdevid, uint32_t pevent);

/* mmio_emul.c: true if an emulated device answered (abort injected
 * otherwise by the caller). */
bool mmio_emulate(struct vcpu *v, uint64_t ipa, uint64_t esr);
/* A read (size bytes) of a vGIC register whose value does not depend on
 * the loaded vCPU's list registers, emulated on the fast exit path: the
 * raw value; false if it is not one (the full path emulates it, or
 * injects the abort). */
bool mmio_fast_read(struct vcpu *v, uint64_t ipa, unsigned size, uint64_t *val);

/* What the console (kernel/console, above this folder) does for partitions,
 * registered at boot: print a line of a partition's vUART output (ctx is
 * the partition), and learn that a partition started. */
struct vm_console_ops {
	void (*out)(void *ctx, const char *line, size_t n);
	void (*started)(struct partition *p);
};
void vm_set_console(const struct vm_console_ops *ops);

/* pdev.c: assigned PCI functions. The machine's functions as validation
 * sees them (at most max; returns how many); binding the validated list at
 * boot; at build, a domain mirroring RAM with every stream attached (after
 * a reset of the function); at release, each function quiesced and
 * reset before its stream is detached and the domain destroyed. */
unsigned pdev_machine(struct machine_pci *out, unsigned max);
void pdev_bind(struct partition *p);
int pdev_build(struct partition *p);
void pdev_release(struct partition *p);
/* A physical interrupt: true if it is an assigned function's INTx, now
 * the owner's virtual SPI (left active: the caller only drops priority). */
bool pdev_irq(unsigned intid);
/* At each exit of vCPU 0 (vlines.c): INTx lines whose devices dropped them
 * are lowered in the vGIC and their physical SPI deactivated. */
void pdev_resample(struct vcpu *v);
/* A vCPU's access to its virtual ECAM (off from VPCI_ECAM_BASE): 0. */
int pdev_ecam_access(struct vcpu *v, uint64_t off, unsigned size, bool write, uint64_t *val);
/* A vCPU's access to a trapped MSI-X page of a BAR (ipa in the MMIO
 * window): 0, or -errno (the abort is the guest's). */
int pdev_bar_access(struct vcpu *v, uint64_t ipa, unsigned size, bool write, uint64_t *val);
/* `dev list|attach|detach|translate` (README). */
int cmd_dev(int argc, char **argv);
/* The partition's devices, for `list` ("00:03.0 00:04.0"; "" if none). */
void pdev_names(const struct partition *p, char *buf, size_t size);

/* snap_cmds.c: `snapshot save|restore|list|verify|delete` (README), and the
 * restore at boot of a partition with a "restore" property (instead of
 * partition_start). */
int cmd_snapshot(int argc, char **argv);
int snapshot_boot_restore(struct partition *p);

#endif

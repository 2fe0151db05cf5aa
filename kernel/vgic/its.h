/*
 * Part of vgic.h (include that): LPIs and a virtual GICv3 ITS for a
 * partition that asks for one (vgic_its_attach). Without it (g->its NULL)
 * the vGIC is as vgic.h describes, and every hook below costs one test.
 *
 * What the guest sees with an ITS: GICD_TYPER.LPIS and IDbits 14 (INTIDs
 * below 32768, LPIs from 8192); GICR_TYPER.PLPIS; GICR_CTLR.EnableLPIs,
 * GICR_PROPBASER and GICR_PENDBASER (writable while EnableLPIs is 0);
 * an ITS frame (its.c) with one Device and one Collection table
 * (GITS_BASER0/1, flat, 8-byte entries) and the command queue (its_cmd.c).
 *
 * Model: every mapped event (ITE) is one LPI, held here, not in guest
 * memory: the device, collection and ITT tables the guest gives are only
 * validated (wholly inside the partition's RAM) and reserved, never read
 * back, so scribbling over them changes nothing (as KVM, outside its
 * save/restore). What is read from guest RAM, through vits_ops only: the
 * command queue, the LPI configuration table (an ITE's priority and
 * enable, at MAPTI/MAPI, INV, INVALL, MAPC, MOVI and EnableLPIs) and the
 * pending table (at EnableLPIs, unless PTZ). Every address is checked
 * against [ram_base, ram_base + ram_size) first; a table outside is an
 * error the guest sees: EnableLPIs stays 0, a GITS_BASER reads back with
 * Valid clear, the command is ignored, or (the queue itself outside RAM,
 * CWRITER past its end) command processing stalls (GITS_CREADR.Stalled)
 * until CBASER is written again. Each such error is reported through
 * vits_ops.error (the first VITS_MAX_LOGGED, then one more saying so).
 *
 * Delivery: an LPI (group 1, no active state on hardware, here as any
 * state the LR reports) is pending for the vCPU its collection names
 * (MAPC), delivered if that redistributor has EnableLPIs, its
 * configuration byte is enabled and GICD_CTLR.EnableGrp1 is set. vgic_flush
 * puts pending LPIs into the LRs the model left free (after the
 * SGIs/PPIs/SPIs: with all LRs taken an LPI waits for the underflow
 * interrupt, it does not evict); vgic_sync takes an LR still pending back
 * into the model (so a re-route, CLEAR or disable applies at the next
 * flush) and frees completed ones. The lock-free LR path may reuse an LR
 * the guest emptied; the next sync or flush sees the LPI is gone from it.
 *
 * Commands run in the GITS_CWRITER (or GITS_CTLR) write, and go on in each
 * GITS_CREADR read while more are queued (VITS_BATCH at a time), under the
 * vGIC lock: GITS_CTLR.Quiescent reads 1 when none is queued; SYNC is a
 * no-op (every command before it is done when it runs).
 * Not modelled: GITS_TRANSLATER writes from a CPU (ignored: no DeviceID),
 * indirect tables, direct LPIs (GICR_SETLPIR), GICv4, the pending table
 * written back (the pending state lives in the model), snapshots.
 *
 * Locking: as the rest of the vGIC (vgic.h): the vGIC lock around all of
 * it; vits_ops are called with it held, so they take no vGIC lock.
 */
#ifndef KERNEL_VGIC_ITS_H
#define KERNEL_VGIC_ITS_H

#define VGIC_LPI_BASE	  8192u
#define VGIC_LPI_IDBITS	  15u /* INTIDs below 1 << 15 */
#define VITS_MAX_DEVICES  32u
#define VITS_MAX_ITES	  256u /* mapped events (LPIs) per partition */
#define VITS_MAX_COLLS	  64u  /* ICIDs 0..63 (GITS_TYPER.CIDbits) */
#define VITS_DEVBITS	  16u
#define VITS_EVBITS	  16u
#define VITS_ENTRY_SIZE	  8u /* device, collection and ITT entries, bytes */
#define VITS_MAX_LOGGED	  16u
#define VITS_BATCH	  64u	     /* commands run per CWRITER write or CREADR read */
#define VITS_FRAME_SIZE	  0x20000ull /* ITS_base control + translation frame */
#define VITS_NO_VCPU	  0xffu
#define VITS_IIDR	  0x5400043bu /* as GICD_IIDR (fast.h) */
#define GITS_CTLR_ENABLED BIT(0)
#define GITS_CTLR_QUIESC  BIT(31)

struct vits_ops {
	/* Guest RAM at IPA ipa, len bytes: 0, or -EFAULT when any byte of it
	 * is outside the partition's RAM (nothing copied). */
	int (*read)(void *ctx, uint64_t ipa, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t ipa, const void *buf, size_t len);
	/* A guest error (what, and the address or ID involved), with the
	 * vGIC lock held: log it without printf-family calls on the fast
	 * path (this is never on it) and carry on. */
	void (*error)(void *ctx, const char *what, uint64_t v);
	void *ctx;
};

/* One mapped event: an LPI. A slot is free when !mapped && !in_lr (an
 * unmapped one still in an LR waits for that LR to be taken back). */
struct vits_ite {
	uint32_t devid, eventid;
	uint16_t intid, icid;
	uint8_t prio;	 /* configuration byte bits [7:2] */
	uint8_t lr_vcpu; /* whose LR holds it, while in_lr */
	bool mapped, enabled, pending, in_lr;
	bool cleared; /* CLEAR/DISCARD while in an LR: do not take it back pending */
};

struct vits_dev {
	uint32_t devid;
	uint8_t evbits; /* EventIDs below 1 << evbits */
	bool valid;
	uint64_t itt;
};

struct vits_rd {
	uint64_t propbaser, pendbaser;
	bool enabled; /* GICR_CTLR.EnableLPIs */
};

struct vgic_its {
	uint64_t ram_base, ram_size;
	struct vits_ops ops;
	struct vits_rd rd[VGIC_MAX_VCPUS];
	/* per vCPU: LRs the LPI hooks filled, with which ITE, and what they
	 * hold (written back after vgic_unload zeroed them) */
	uint32_t lpi_lrs[VGIC_MAX_VCPUS];
	uint16_t lr_ite[VGIC_MAX_VCPUS][VGIC_MAX_LRS];
	uint64_t lr_val[VGIC_MAX_VCPUS][VGIC_MAX_LRS];
	unsigned npending; /* ITEs with pending set */
	/* the ITS */
	uint32_t ctlr;
	uint64_t cbaser, creadr, cwriter;
	bool stalled;
	uint64_t baser[2];	      /* Device, Collection tables */
	uint8_t coll[VITS_MAX_COLLS]; /* target vCPU of each ICID, or VITS_NO_VCPU */
	struct vits_dev dev[VITS_MAX_DEVICES];
	struct vits_ite ite[VITS_MAX_ITES];
	unsigned ite_hi;	   /* no ITE at or above this index was ever used */
	uint64_t commands, errors; /* executed, refused (commands or tables) */
};

/* Gives partition g (vgic_init'ed, nothing running) an ITS and LPIs; its
 * is the caller's storage, reset here. ram_base/ram_size: the partition's
 * RAM in IPA space, the only memory any guest-given address may name. */
void vgic_its_attach(struct vgic *g, struct vgic_its *its, uint64_t ram_base, uint64_t ram_size,
		     const struct vits_ops *ops);
/* MMIO of the ITS frame (off from its base, below VITS_FRAME_SIZE) by
 * vCPU vcpu: as vgic_dist_access. -EINVAL without an ITS. */
int vgic_its_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		    uint64_t *val);

/* For device assignment (the vpci side, done by kernel/vm/vpci_msix.c and
 * pdev.c; nothing here programs the physical ITS). What it must do:
 *  - give the partition an ITS: cfg.its (the `its` property; set it in
 *    validation when the partition has pci-devices), attached by
 *    partition.c before the guest runs;
 *  - in the guest DT, point its host bridge's MSIs at this ITS:
 *    `msi-map = <0 &its 0 0x10000>` (DeviceID = the guest-visible
 *    requester ID, bus << 8 | devfn) with the ITS node's phandle
 *    (guest_dt.c PHANDLE_ITS); the guest then MAPDs that DeviceID;
 *  - trap the guest's MSI/MSI-X capability and table writes: the guest
 *    programs address GUEST_ITS_MSI and data = its EventID; keep (guest
 *    DeviceID, EventID) per vector;
 *  - route each vector with kernel/vm's vm_msi_route(p, physical
 *    DeviceID, physical EventID < 32, guest DeviceID, guest EventID)
 *    (msi.c: maps the event on the physical ITS, arch/arm64/gits.c, to an
 *    LPI tessera takes at EL2, and that LPI, when it comes, to
 *    vgic_its_inject below), then program the device's vector with the
 *    physical ITS's GITS_TRANSLATER (its base + 0x10040, which the
 *    device's SMMU domain must let the write reach) and data = the
 *    physical EventID; vm_msi_unroute(p) once its devices are quiesced.
 *    The physical DeviceID is what the host's msi-map gives the device
 *    (its requester ID on QEMU virt).
 *  - Injection looks up the guest's current mapping (MAPTI, MOVI,
 *    DISCARD, INV of the configuration byte), so remaps need no
 *    notification. Only events routed to this partition reach it, so no
 *    guest mapping can raise another partition's interrupt: each
 *    partition's ITS model is its own, a physical event has one owner
 *    (vm_msi_route refuses a second with -EBUSY), and a CPU's write to
 *    the virtual GITS_TRANSLATER is ignored.
 * vgic_its_translate: the vLPI (INTID) the guest mapped (devid, eventid)
 * to, or -ENOENT (for logs, `dev` listings, tests). vgic_its_inject:
 * makes it pending and kicks the vCPU its collection names; 0, or -ENOENT
 * (not mapped: dropped, as an MSI to an unmapped event is on hardware).
 * Both take the vGIC lock themselves. */
int vgic_its_translate(struct vgic *g, uint32_t devid, uint32_t eventid);
int vgic_its_inject(struct vgic *g, uint32_t devid, uint32_t eventid);

/* Hooks of lr.c, lock held, only when g->its: LPIs into vcpu's free LRs
 * (returns VGIC_HCR_UIE if some still wait); LRs back after the guest
 * ran; whether one is deliverable to vcpu. */
uint64_t vgic_lpi_flush(struct vgic *g, unsigned vcpu);
void vgic_lpi_sync(struct vgic *g, unsigned vcpu);
bool vgic_lpi_pending(struct vgic *g, unsigned vcpu);

#endif

/*
 * Private to kernel/: virtual devices and partition configuration. Every
 * model here is portable C (no sysregs, no MMIO): it builds for the host and
 * is unit-tested there. The glue that wires models to vCPUs lives in the
 * partition code.
 */
#ifndef KERNEL_VDEV_H
#define KERNEL_VDEV_H

#include "lib/types.h"
#include "lib/memrange.h"
#include "boot/boot.h"

/* ---- guest machine model (DESIGN.md) ---- */
#define GUEST_RAM_BASE	  0x40000000ull
#define GUEST_GICD_BASE	  0x08000000ull
#define GUEST_GICD_SIZE	  0x10000ull
#define GUEST_GICR_BASE	  0x080a0000ull
#define GUEST_GICR_STRIDE 0x20000ull /* RD_base + SGI_base frames per vCPU */
#define GUEST_UART_BASE	  0x09000000ull
#define GUEST_UART_SIZE	  0x1000ull
#define GUEST_UART_SPI	  1 /* INTID 33 */
#define GUEST_VTIMER_PPI  27
#define GUEST_PTIMER_PPI  30
#define GUEST_PMU_PPI	  23 /* PMU overflow, as on QEMU virt */
#define GUEST_MAX_VCPUS	  8
#define GUEST_DTB_MAX	  0x10000ull /* the DTB sits in the last 64 KiB of RAM */

/* The ITS of partitions with "its", where QEMU virt has it; GUEST_ITS_MSI
 * is its GITS_TRANSLATER, the MSI doorbell a guest programs. */
#define GUEST_ITS_BASE 0x08080000ull
#define GUEST_ITS_SIZE 0x20000ull
#define GUEST_ITS_MSI  (GUEST_ITS_BASE + 0x10040)

/* ---- partition configuration (part_config.c; docs/config.md) ---- */
#define PART_MAX      8
#define PART_NAME_MAX 32
#define PART_PATH_MAX BOOT_PATH_MAX
#define PART_ARGS_MAX 512
#define PART_ERR_MAX  160
#define PART_SVE_MAX  256 /* bytes: SVE's architectural maximum vector length (2048 bits) */
#define PART_PCI_MAX  8	  /* "pci-devices" entries per partition */

enum kernel_format { KFMT_AUTO, KFMT_IMAGE, KFMT_ELF, KFMT_RAW };

struct part_cfg {
	char name[PART_NAME_MAX];
	uint64_t cpu_mask; /* physical CPUs ("cpus" property) */
	unsigned vcpus;	   /* "vcpus", default: number of CPUs in cpu_mask */
	/* on CPUs under the priority policy (docs/config.md): "sched-priority"
	 * (0-255, higher first), "sched-budget-us" per "sched-period-us" per
	 * vCPU (0: no budget) */
	unsigned sched_prio;
	uint32_t sched_budget_us, sched_period_us;
	/* its CPUs whose /scheduler policy lets partitions share them (set by
	 * sched_config_validate); 0: each CPU is this partition's alone */
	uint64_t cpu_shared;
	uint64_t mem_size; /* "memory" (bytes) */
	uint64_t mem_base; /* "memory-base": fixed physical base, 0 = any */
	char kernel[PART_PATH_MAX];
	enum kernel_format kfmt; /* "kernel-format": "image", "elf", "raw"; auto */
	uint64_t load_addr;	 /* "load-address" (IPA) for raw images */
	char initrd[PART_PATH_MAX];
	char bootargs[PART_ARGS_MAX];
	bool autostart;	  /* true unless "no-autostart" (or status = "disabled") */
	unsigned sve_vl;  /* "sve-max-vl": SVE's maximum vector length in bytes; 0 = no SVE */
	char restore[48]; /* "restore": a snapshot to resume at boot instead of booting */
	bool its;	  /* "its": a virtual GICv3 ITS and LPIs (kernel/vgic/its.h) */
	/* "pci-devices": PCI functions on segment 0 it owns, as requester IDs
	 * (bus << 8 | device << 3 | function), in the order given */
	uint16_t pci[PART_PCI_MAX];
	unsigned npci;
	bool valid;
	char error[PART_ERR_MAX]; /* why the partition cannot start */
};

/* A PCI function of the machine, as "pci-devices" validation sees it. */
struct machine_pci {
	uint16_t rid; /* bus << 8 | device << 3 | function */
	bool bridge;  /* a PCI-PCI bridge (its functions behind are what is assigned) */
	bool smmu;    /* an SMMU translates its DMA (iommu-map covers it) */
	bool hyp;     /* tessera's own (its disk) */
	uint32_t sid; /* the stream ID its DMA carries, after any bridge alias */
};

/* What validation checks against. */
struct machine_desc {
	unsigned ncpus;
	const struct memmap *free; /* physical memory free for partitions */
	/* Size of the ESP file at path, or -1 if it was not loaded. */
	int64_t (*file_size)(void *ctx, const char *path);
	void *ctx;
	const struct machine_pci *pci; /* every PCI function found (npci of them) */
	unsigned npci;
};

/* Adds rid to p's "pci-devices" (a copy, `dev attach`) and checks the list
 * as validation would, except for other partitions' claims, which the
 * caller checks: true, or false with p->error set. */
bool part_pci_check(struct part_cfg *p, uint16_t rid, const struct machine_desc *m);
/* "bb:dd.f" (hex, as lspci prints it) into buf (at least 8 bytes). */
void pci_bdf_str(uint16_t rid, char *buf, size_t size);

/* Parses /partitions of the config DTB into out[] (at most max). Returns
 * the number of partitions, or -1 with err filled if the tree itself is
 * unusable. A partition with a bad property gets valid=false and error
 * naming the partition and property. */
int part_config_parse(const void *cfg, struct part_cfg *out, unsigned max, char *err,
		      size_t errlen);
/* Cross-checks: CPUs in range and not shared (but for cpu_shared), fixed
 * memory not overlapping, images present and fitting the memory, PCI
 * devices present, behind the SMMU, not tessera's, not assigned twice and
 * assigned with every function sharing their stream ID, memory available
 * (partitions are served in order; one that does not fit is marked
 * invalid, the others keep theirs). Invalid partitions keep valid=false
 * with the reason in error. */
void part_config_validate(struct part_cfg *p, unsigned n, const struct machine_desc *m);

/* ---- assigned PCI functions: the config-space filter (vpci.c) ----
 * A partition with "pci-devices" sees a host bridge at QEMU virt's low
 * ECAM address with only its functions, renumbered: the n-th device of its
 * list is 00:n.0 (docs/config.md). Each function's config space goes
 * through this filter: default deny. Reads show the IDs, class, header and
 * status as the device has them, the BARs and COMMAND as emulated, and only
 * the capabilities that cannot retarget the device (power management, PCI
 * Express, vendor-specific) chained together, read-only; everything else
 * reads 0 (MSI and MSI-X are hidden unless the partition has a virtual
 * ITS, below; the expansion ROM and extended config space are absent).
 * Writes reach the device only as COMMAND's memory-decode, bus-master and
 * INTx-disable bits (and MSI-X's Message Control as below). BARs are
 * sized and programmed here; a memory BAR is mapped into the partition's
 * IPA space at its programmed address while memory decode is on and it
 * lies whole inside the MMIO window without overlapping another BAR.
 * I/O BARs and BARs smaller than a page are hidden (a page mapping would
 * reach a neighbour's registers).
 *
 * MSI (vpci_msi.c), with ops.msi_guest set: the capability is shown; its
 * registers are a shadow. While the guest has it enabled with address
 * msi_guest, each of its 2^MME vectors k is routed (msi_route(k, data | k))
 * and the device is programmed with address msi_phys, data 0, the guest's
 * MME and mask bits, enabled; otherwise it is off in the device.
 *
 * MSI-X (vpci_msix.c), with ops.msi_guest set (the partition's vITS
 * GITS_TRANSLATER): the capability is shown, Message Control's enable and
 * function-mask bits are the guest's and mirrored to the device, and the
 * pages of the BARs holding the table and PBA are left out of the
 * stage-2 mapping: the guest's accesses trap (vpci_bar_access). Its
 * table is a shadow; the device's table only ever holds tessera's values:
 * vector n of an enabled function whose guest entry is unmasked and
 * addressed to msi_guest is routed (ops.msi_route(n, guest data)) and
 * programmed with address msi_phys (the physical ITS doorbell as an
 * IOVA), data n, unmasked; every other vector is masked in the device.
 * The PBA reads as the device's; other registers in the trapped pages are
 * forwarded to the device. */
#define VPCI_ECAM_BASE 0x3f000000ull
#define VPCI_ECAM_SIZE 0x01000000ull /* buses 0-15: the functions are on bus 0 */
#define VPCI_MMIO_BASE 0x10000000ull
#define VPCI_MMIO_SIZE 0x2eff0000ull
#define VPCI_INTX_SPI  3 /* INTA of slot 0; slot n pin p: SPI 3 + (n + p) % 4 */

struct vpci_ops {
	uint32_t (*cfg_read)(void *ctx, unsigned off); /* an aligned dword of the device's */
	/* COMMAND, and the MSI and MSI-X capabilities' registers */
	void (*cfg_write)(void *ctx, unsigned off, uint32_t val);
	/* [gpa, gpa+size) of the partition's IPA space to [hpa, hpa+size) as
	 * device memory; 0 or -errno */
	int (*map)(void *ctx, uint64_t gpa, uint64_t hpa, uint64_t size);
	void (*unmap)(void *ctx, uint64_t gpa, uint64_t size);
	void *ctx;
	/* MSI-X; unused (and may be NULL) while msi_guest is 0 */
	uint64_t msi_guest, msi_phys; /* guest doorbell IPA; device's doorbell IOVA */
	/* an access of size 1, 2, 4 or 8 at off of the device's BAR bar
	 * (inside it, naturally aligned: checked by the caller) */
	uint64_t (*bar_read)(void *ctx, unsigned bar, uint64_t off, unsigned size);
	void (*bar_write)(void *ctx, unsigned bar, uint64_t off, unsigned size, uint64_t val);
	/* the device's event `vector` becomes the guest's event `data`: 0 or
	 * -errno (the vector then stays masked) */
	int (*msi_route)(void *ctx, unsigned vector, uint32_t data);
	/* the function's MSI-X turns on or off: the doorbell becomes reachable
	 * for its DMA (0 or -errno: then the device stays off) or not */
	int (*msi_doorbell)(void *ctx, bool on);
};
struct vpci_bar {
	uint64_t hpa, size; /* the physical BAR; size 0: absent or hidden */
	bool is_64, prefetch;
	bool mapped; /* at mapped_gpa */
	uint64_t mapped_gpa;
};
#define VPCI_MAX_CAPS	 16
#define VPCI_MSIX_VECS	 64 /* shadowed; a vector beyond stays masked */
#define VPCI_MSIX_EVENTS 32 /* the physical ITS's events per device (gits.c) */
struct vpci_msix_vec {
	uint32_t addr_lo, addr_hi, data, ctrl; /* the guest's entry */
};
struct vpci_msix {
	bool shown;
	uint8_t cap;	     /* its config-space offset */
	uint16_t nvec;	     /* table size */
	uint16_t ctrl;	     /* the guest's enable and function mask */
	bool on;	     /* enabled in the device (the doorbell reachable) */
	bool stale;	     /* a change waits for the device to decode its BAR */
	uint8_t tbir, pbir;  /* BARs of the table and PBA */
	uint32_t toff, poff; /* their offsets in those BARs */
	uint64_t trap[2][2]; /* [table, PBA]: trapped page range in its BAR */
	unsigned refused;    /* vectors aimed elsewhere than msi_guest */
	unsigned errors;     /* routes or doorbell maps that failed */
	struct vpci_msix_vec vec[VPCI_MSIX_VECS];
};
struct vpci_msi {
	bool shown, is64, pvm;
	bool on;			       /* enabled in the device (the doorbell reachable) */
	uint8_t cap, len, mmc;		       /* offset, bytes shown, log2 of the vectors it has */
	uint16_t ctrl;			       /* the guest's enable and Multiple Message Enable */
	uint32_t addr_lo, addr_hi, data, mask; /* the guest's registers */
	unsigned refused, errors;	       /* as in vpci_msix */
};
struct vpci_fn {
	struct vpci_ops ops;
	struct vpci_bar bar[6];
	uint32_t vbar[6]; /* what the guest programmed */
	uint16_t cmd;	  /* the guest's COMMAND */
	uint8_t irq_line; /* INTERRUPT_LINE: scratch for the guest */
	unsigned ncaps;
	struct {
		uint8_t off, len;
	} cap[VPCI_MAX_CAPS]; /* the capabilities shown, in the device's order */
	unsigned map_errors;
	struct vpci_msix msix;
	struct vpci_msi msi;
};
/* bars: the physical BARs (drivers' struct pci_bar, as plain values);
 * the capability list is read through ops. Nothing is mapped yet. */
void vpci_fn_init(struct vpci_fn *f, const struct vpci_ops *ops, const struct vpci_bar bars[6]);
/* A config access of size 1, 2 or 4 at off (naturally aligned; others
 * read all-ones and are dropped). */
uint32_t vpci_cfg_read(struct vpci_fn *f, unsigned off, unsigned size);
void vpci_cfg_write(struct vpci_fn *f, unsigned off, unsigned size, uint32_t val);
/* Unmaps every BAR and turns MSI-X off in the device (the partition
 * stops). */
void vpci_fn_reset(struct vpci_fn *f);
/* A guest access (size 1, 2, 4 or 8) at gpa inside one of f's trapped
 * MSI-X pages: 0 (done; a read's value in *val), or -ENOENT if gpa is not
 * in one. */
int vpci_bar_access(struct vpci_fn *f, uint64_t gpa, unsigned size, bool write, uint64_t *val);
/* vpci.c and vpci_msix.c between them: the MSI-X capability found at off
 * (validated: false hides it); its config dwords; which part of BAR i is
 * trapped; the device's MSI-X off. */
bool vpci_msix_probe(struct vpci_fn *f, unsigned off);
uint32_t vpci_msix_cfg_read(struct vpci_fn *f, unsigned off);
void vpci_msix_cfg_write(struct vpci_fn *f, unsigned off, uint32_t val, uint32_t mask);
bool vpci_msix_trapped(const struct vpci_fn *f, unsigned bar, uint64_t off);
void vpci_msix_reset(struct vpci_fn *f);
/* After a COMMAND write: the device's table is only written while it
 * decodes its BARs, so what waited for that is done now. */
void vpci_msix_decode(struct vpci_fn *f);
/* vpci.c and vpci_msi.c: the MSI capability at off (bytes to show, 0
 * hides it); its config dwords (off from the capability); off in the
 * device. */
unsigned vpci_msi_probe(struct vpci_fn *f, unsigned off);
uint32_t vpci_msi_cfg_read(struct vpci_fn *f, unsigned off);
void vpci_msi_cfg_write(struct vpci_fn *f, unsigned off, uint32_t val, uint32_t mask);
void vpci_msi_reset(struct vpci_fn *f);

/* ---- kernel images (image_load.c) ---- */
struct image_seg {
	uint64_t offset; /* from the start of the guest RAM (IPA - GUEST_RAM_BASE) */
	uint64_t file_off, file_size, mem_size; /* mem_size > file_size: zero fill */
};
struct image_layout {
	enum kernel_format fmt; /* the format detected or forced */
	uint64_t entry;		/* IPA */
	unsigned nsegs;
	struct image_seg segs[8];
	uint64_t end; /* highest RAM offset used, page aligned */
};
/* Lays out a kernel image in a partition's RAM (ram_size bytes at
 * GUEST_RAM_BASE): Linux arm64 Image (header honoured: text_offset,
 * image_size, 2 MiB alignment), ELF64 aarch64 (PT_LOAD segments; paddr is
 * the IPA), raw (at load_addr). Returns 0 or -EINVAL/-E2BIG with err set. */
int image_layout(const void *data, uint64_t size, enum kernel_format fmt, uint64_t load_addr,
		 uint64_t ram_size, struct image_layout *out, char *err, size_t errlen);

/* ---- guest device tree (guest_dt.c) ---- */
struct guest_dt_params {
	const char *name;
	unsigned vcpus;
	uint64_t ram_base, ram_size; /* IPA */
	const char *bootargs;
	uint64_t initrd_start, initrd_end; /* IPA; 0,0 if none */
	unsigned timer_freq;		   /* CNTFRQ, for the timer node (0: omit) */
	bool no_pmu;			   /* the CPU has no PMUv3: no pmu node */
	bool its;			   /* an ITS node (msi-controller) under the GIC */
	unsigned pci_devs;		   /* assigned PCI functions: a host bridge if any */
};
/* Builds the DTB handed to the guest in x0: memory, cpus (enable-method
 * psci, reg = vCPU index as MPIDR Aff0), psci (hvc, 1.0), GICv3 with
 * distributor and redistributors (and its ITS, with its), armv8 timer (PPIs 13, 14, 11, 10), the
 * armv8 PMU (PPI 7 = INTID 23) unless no_pmu, PL011
 * with its apb_pclk clock and stdout-path, chosen (bootargs, initrd), and
 * with pci_devs a "pci-host-ecam-generic" bridge at VPCI_ECAM_BASE (a
 * 32-bit memory window, INTx through the legacy interrupt-map, and with
 * its MSIs through the ITS: msi-map <0 &its 0 0x10000>).
 * Returns 0 or a libfdt error. */
int guest_dt_build(void *buf, size_t size, const struct guest_dt_params *p);

#endif

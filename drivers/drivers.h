/*
 * drivers/ API: physical devices tessera drives itself — the PL011 console
 * UART, PCIe ECAM enumeration and an NVMe driver. Uses lib/ and arch/.
 */
#ifndef DRIVERS_DRIVERS_H
#define DRIVERS_DRIVERS_H

#include "lib/types.h"

/* ---- PL011 (pl011.c) ---- */
void pl011_init(uintptr_t base);
void pl011_putc(uintptr_t base, char c);
/* Returns a received byte or -1 if the RX FIFO is empty. */
int pl011_getc(uintptr_t base);
void pl011_enable_rx_irq(uintptr_t base);
/* Masks or unmasks the RX interrupts; bytes wait in the FIFO meanwhile
 * (and the sender behind it, if the line has flow control). */
void pl011_rx_irq_mask(uintptr_t base, bool masked);

/* ---- PCIe (pci.c, pci_names.c) ---- */
#define PCI_MAX_DEVS 64
struct pci_bar {
	uint64_t base; /* CPU physical address; 0 if the BAR is absent or unassigned */
	uint64_t size;
	bool is_64, is_io, prefetch;
};
struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_code; /* base<<16 | sub<<8 | prog-if */
	uint8_t header_type; /* layout: 0 device, 1 PCI-PCI bridge (multi-function bit masked) */
	uint8_t sec_bus, sub_bus; /* type 1 only: secondary and subordinate bus */
	struct pci_bar bar[6];	  /* type 0 only; a 64-bit BAR leaves its upper slot empty */
	uint32_t bar_raw[6];	  /* the BAR registers as found (put back after a reset) */
	uintptr_t cfg;		  /* this function's 4 KiB ECAM config space */
	/* capability offsets in config space, 0 if absent */
	uint8_t cap_pcie, cap_msi, cap_msix, cap_pm;
	uint8_t pcie_type; /* PCIe device/port type (PCIe cap bits 7:4); 0xff: not PCIe */
	bool flr;	   /* function-level reset (PCIe DevCap.FLR) */
};
struct pci_host {
	uint64_t ecam_base, ecam_size;
	unsigned bus_start, bus_end;
	uint64_t mmio32_base, mmio32_size; /* from the DT "ranges" */
	uint64_t mmio64_base, mmio64_size;
	uint64_t mmio32_pci, mmio64_pci; /* bus address of each window's start */
	uint64_t io_base, io_pci, io_size;
	unsigned ndevs;
	unsigned dropped; /* functions found beyond PCI_MAX_DEVS (not recorded) */
	struct pci_dev devs[PCI_MAX_DEVS];
};
/* Finds the "pci-host-ecam-generic" node in fdt, maps ECAM (through
 * el2_map_device) and enumerates every bus in bus-range. BARs are kept as
 * firmware left them; unassigned memory BARs are assigned from the DT
 * windows. The result is kept internally (see pci_get_host) and also copied
 * to *host unless host is NULL. Returns 0, -ENODEV (no host bridge) or
 * another -errno. */
int pci_probe(const void *fdt, struct pci_host *host);
/* The host found by the last successful pci_probe; NULL before. */
const struct pci_host *pci_get_host(void);
/* Stops a function's DMA before its owner's memory changes hands: bus
 * mastering and decoding off, then a function-level reset where it has
 * one (waits the 100 ms the spec asks, then puts the BARs back as they were
 * found). Returns true if it was reset. */
bool pci_quiesce(const struct pci_dev *d);
/* The GIC INTID d's INTx line raises: its pin swizzled up to the host
 * bridge, then through the bridge's interrupt-map in fdt (GIC SPIs only);
 * 0 if it has no pin or the DT does not say. */
unsigned pci_intx_intid(const void *fdt, const struct pci_dev *d);
/* Portable: a human name for a class code ("NVM Express controller",
 * "Ethernet controller", "Host bridge", ...); the base class's generic name
 * ("Mass storage controller") for an unknown subclass; "unknown class" for
 * an unknown base class. Never NULL. */
const char *pci_class_name(uint32_t class_code);
/* Portable: a BAR's size from the all-ones probe value (low word, high word). */
uint64_t pci_bar_size(uint32_t probed_lo, uint32_t probed_hi, bool is_64, bool is_io);

/* ---- DMA, as a driver sees it ----
 * Drivers do not know about the SMMU: the kernel gives them these ops,
 * backed by an SMMU domain that maps only what a driver asked for. */
struct dma_ops {
	/* Physically contiguous, zeroed, identity-mapped memory for queues and
	 * buffers; NULL on failure. */
	void *(*alloc)(void *ctx, uint64_t size, uint64_t align);
	void (*free)(void *ctx, void *p, uint64_t size);
	/* Makes [pa, pa+size) reachable by the device (page granular) and
	 * returns the bus address in *iova. dev_writes: the device may write. */
	int (*map)(void *ctx, uint64_t pa, uint64_t size, bool dev_writes, uint64_t *iova);
	int (*unmap)(void *ctx, uint64_t iova, uint64_t size);
	void *ctx;
	/* Optional: whether the IOMMU blocked any of this device's DMA since
	 * the previous call (then *iova is the first blocked address). Devices
	 * may complete a command "successfully" after their DMA was aborted;
	 * drivers call this after each completion and fail the command. */
	bool (*faulted)(void *ctx, uint64_t *iova);
};

/* ---- NVMe (nvme.c bring-up, nvme_queue.c rings and polling, nvme_admin.c
 * Identify and queue creation, nvme_io.c block I/O; portable: nvme_prp.c,
 * nvme_engine.c, the asynchronous request engine) ---- */
struct nvme_ctrl;
struct nvme_info {
	char model[41], serial[21], firmware[9];
	uint16_t vid;
	uint32_t nsid;	     /* the namespace used (the first active one) */
	uint64_t blocks;     /* namespace size in logical blocks */
	uint32_t block_size; /* bytes per logical block */
	uint32_t max_xfer;   /* largest transfer in bytes (MDTS, capped by the driver) */
	uint32_t timeout_ms; /* from CAP.TO */
};
struct nvme_stats {
	uint64_t reads, writes, flushes;    /* I/O commands issued (one per max_xfer piece) */
	uint64_t errors, timeouts;	    /* commands that failed (admin ones too) */
	uint64_t bytes_read, bytes_written; /* by commands that succeeded */
	uint16_t last_status;		    /* SCT<<8 | SC of the last failed command */
};
/* An asynchronous request (nvme_submit): filled in by the caller, owned by
 * the driver until done() is called (once, in whatever context called
 * nvme_poll, without driver locks held; it may submit again). */
#define NVME_OP_FLUSH 0x00
#define NVME_OP_WRITE 0x01
#define NVME_OP_READ  0x02
struct nvme_req {
	uint8_t op;	  /* NVME_OP_* */
	bool raw;	  /* test hook: pa is the bus address as is (unmapped); one command */
	uint64_t lba;	  /* first block */
	uint64_t nblocks; /* any number (split by max_xfer); 0 for a flush */
	uint64_t pa;	  /* identity-mapped buffer of nblocks * block_size bytes */
	void (*done)(struct nvme_req *r, int err); /* 0, -EIO, -ETIMEDOUT, -EINVAL */
	void *ctx;
	/* the driver's */
	struct nvme_req *next;
	uint64_t sent, finished; /* blocks issued / completed */
	unsigned inflight, tries;
	int err;
};
/* Resets and enables the controller (bus mastering on), sets up the admin
 * queue, identifies controller and namespace, creates one I/O queue pair.
 * All DMA goes through dma. Returns 0 or -errno and logs why. */
int nvme_init(const struct pci_dev *dev, const struct dma_ops *dma, struct nvme_ctrl **out);
const struct nvme_info *nvme_get_info(const struct nvme_ctrl *c);
const struct nvme_stats *nvme_get_stats(const struct nvme_ctrl *c);
/* Queues r and returns at once: 0, or -EINVAL (bad range or alignment,
 * logged; done() is not called). A request that times out makes the driver
 * reset the controller and send it once more; it then fails. */
int nvme_submit(struct nvme_ctrl *c, struct nvme_req *r);
/* Advances every outstanding request (completions, timeouts, controller
 * recovery) and calls done() for finished ones. Never waits. Returns the
 * timer_now() value by which it wants to be called again, UINT64_MAX when
 * idle. */
uint64_t nvme_poll(struct nvme_ctrl *c);
/* "live", "resetting", ..., for `disk`; resets done and survived. */
const char *nvme_state(const struct nvme_ctrl *c, uint64_t *resets, uint64_t *recovered);
/* Synchronous block I/O (submit, then poll until done: bounded by the
 * command timeout and the recovery limits, but it holds the CPU; for
 * benchmarks). buf is identity-mapped hypervisor memory of
 * nblocks * block_size bytes (any size: the driver splits by max_xfer and
 * builds PRP lists). 0, -EIO (command failed; logged with its decoded
 * status), -ETIMEDOUT, -EINVAL (out of range). */
int nvme_read(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, void *buf);
int nvme_write(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, const void *buf);
int nvme_flush(struct nvme_ctrl *c);
/* Portable: "Invalid Field in Command", "Data Transfer Error", ...; for
 * unknown codes "status SCT 0x%x SC 0x%x" into a static buffer is not
 * allowed: returns a generic class name instead. */
const char *nvme_status_str(uint16_t sct_sc);
/* Portable: fills the PRP entries for a transfer of len bytes at bus
 * address iova (page size 4 KiB). prp1/prp2 as the command wants them;
 * when a list is needed, writes it into list (bus address list_iova,
 * capacity list_max entries). Returns 0 or -EINVAL (too long). */
int nvme_build_prps(uint64_t iova, uint64_t len, uint64_t *prp1, uint64_t *prp2, uint64_t *list,
		    uint64_t list_iova, unsigned list_max);

#endif

/*
 * drivers/ API: physical devices tessera drives itself — the PL011 console
 * UART and PCIe ECAM enumeration (NVMe comes with the SMMU/NVMe work).
 */
#ifndef DRIVERS_DRIVERS_H
#define DRIVERS_DRIVERS_H

#include "arch/arm64/types.h"

/* ---- PL011 (pl011.c) ---- */
void pl011_init(uintptr_t base);
void pl011_putc(uintptr_t base, char c);
/* Returns a received byte or -1 if the RX FIFO is empty. */
int pl011_getc(uintptr_t base);
void pl011_enable_rx_irq(uintptr_t base);

/* ---- PCIe (pci.c, pci_names.c) ---- */
#define PCI_MAX_DEVS 64
struct pci_bar {
	uint64_t base; /* CPU physical address; 0 if unimplemented or unassigned */
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
	uintptr_t cfg;		  /* this function's 4 KiB ECAM config space */
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
/* Portable: a human name for a class code ("NVM Express controller",
 * "Ethernet controller", "Host bridge", ...); the base class's generic name
 * ("Mass storage controller") for an unknown subclass; "unknown class" for
 * an unknown base class. Never NULL. */
const char *pci_class_name(uint32_t class_code);
/* Portable: a BAR's size from the all-ones probe value (low word, high word). */
uint64_t pci_bar_size(uint32_t probed_lo, uint32_t probed_hi, bool is_64, bool is_io);

#endif

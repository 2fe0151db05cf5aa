/*
 * kernel/machine/: the machine tessera runs on, as the rest of the kernel
 * sees it: the hardware description the EFI stub made (hw.c, devtree.c), the
 * /hypervisor settings (config.c), physical memory (mem.c), the CPUs and
 * their start (smp.c), and the devices found at boot (devices.c). Uses lib,
 * arch, drivers, smmu and boot; nothing else in kernel/.
 */
#ifndef KERNEL_MACHINE_H
#define KERNEL_MACHINE_H

#include "arch/arm64/arch.h"
#include "boot/boot.h"
#include "lib/lib.h"

/* ---- the machine, as the EFI stub described it (hw.c) ----
 * The stub read it from a device tree or from ACPI (boot/hw_fdt.c,
 * boot/hw_acpi.c) into one struct hw_desc; nothing here knows which. */
struct hw {
	const struct hw_desc *desc; /* the whole description */
	/* The description as a device tree (hw_devtree_build), made by
	 * devices_probe for the drivers that read DT nodes (PCIe, SMMUv3). */
	const void *fdt;
	unsigned ncpus;
	uint64_t mpidr[MAX_CPUS];
	unsigned dt_cpus; /* CPUs the firmware described, even beyond MAX_CPUS */
	enum psci_conduit psci;
	struct gic_info gic;
	uint64_t uart_base;
	unsigned uart_intid;
};
extern struct hw hw;
/* Takes the stub's description; -ENODEV if there is none. */
int hw_discover(const struct boot_info *bi);
/* Portable: writes d as a flattened device tree into buf (QEMU virt's
 * bindings: cpus, psci, gic-v3 and its, timer, pmu, pl011, smmu-v3 with
 * interrupt names, pci-host-ecam-generic with bus-range, ranges and
 * iommu-map). Returns 0 or a libfdt error (-FDT_ERR_NOSPACE: buf too small). */
int hw_devtree_build(const struct hw_desc *d, void *buf, size_t size);

/* ---- config (config.c) ---- */
struct hyp_config {
	bool present;
	bool test_commands;
};
extern struct hyp_config hyp_config;
void config_load(const struct boot_info *bi);

/* ---- memory (mem.c) ---- */
struct mem_stats {
	uint64_t seen, firmware, hyp, free_boot;
};
extern struct mem_stats mem_stats;
void mem_init(const struct boot_info *bi);
/* Early allocator: page-aligned, never freed, from the boot pool. */
void *pool_alloc(uint64_t size);
uint64_t pool_used(void);
/* Free physical memory (after the MMU switch): first fit, 0 on failure. */
uint64_t mem_alloc(uint64_t size, uint64_t align);
void mem_free(uint64_t base, uint64_t size);
/* Takes exactly [base, base+size) out of free memory; -EBUSY if not free. */
int mem_take(uint64_t base, uint64_t size);
const struct memmap *mem_free_map(void);
/* Maps all RAM into the EL2 tables (before the switch). */
int mem_map_ram(const struct boot_info *bi);
void heap_init(void);

/* ---- CPUs (smp.c) ---- */
extern unsigned boot_cpu;
void smp_boot(void);
unsigned cpus_online(void);
extern int64_t cpu_start_err[MAX_CPUS];

void cpu_setup_stack(unsigned cpu);

/* ---- the boot information and the devices found at boot (devices.c) ---- */
extern const struct boot_info *boot_info;
void devices_probe(void);
/* The SMMUv3 devices_probe found, or NULL (none, or its probe failed). */
struct smmu_info;
const struct smmu_info *smmu_probed(void);
/* The PCIe host bridge, or NULL if there is none. */
struct pci_host;
const struct pci_host *pci_probed(int *err);

#endif

/* Private to kernel/: shared between its files, not an API for others. */
#ifndef KERNEL_INTERNAL_H
#define KERNEL_INTERNAL_H

#include "kernel/kernel.h"
#include "kernel/memrange.h"
#include "arch/arm64/arch.h"

/* ---- the machine, from the firmware's DT (hw.c) ---- */
struct hw {
	const void *fdt;
	unsigned ncpus;
	uint64_t mpidr[MAX_CPUS];
	unsigned dt_cpus; /* cpus in the DT, even beyond MAX_CPUS */
	enum psci_conduit psci;
	struct gic_info gic;
	uint64_t uart_base;
	unsigned uart_intid;
};
extern struct hw hw;
int hw_discover(const void *fdt);
/* reg entry idx of node, using the parent's #address-cells/#size-cells. */
int dt_reg(const void *fdt, int node, int idx, uint64_t *base, uint64_t *size);
/* First GIC interrupt of node as an INTID (SPI n -> n+32, PPI n -> n+16). */
int dt_irq(const void *fdt, int node, int idx, unsigned *intid);

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

/* ---- console (log.c, console.c) ---- */
void console_init(uintptr_t base);
uintptr_t console_base(void);
void console_rx_irq(void);
/* The shell, driven by console input (shell_cmds.c). */
void shell_start(void);
void shell_prompt(void);
void shell_input(char c);

/* ---- CPUs (smp.c) ---- */
extern unsigned boot_cpu;
void smp_boot(void);
unsigned cpus_online(void);
extern int64_t cpu_start_err[MAX_CPUS];

void cpu_setup_stack(unsigned cpu);
void cpu_enable_local_irqs(void);

/* ---- devices and the boot report (report.c) ---- */
extern const struct boot_info *boot_info;
extern uint64_t cnt_shell;
void devices_probe(void);
void report_print(void);
/* Sections of the report, shared with the shell commands. */
void report_cpus(void);
void report_mem(void);
void report_pci(void);
/* The SMMUv3 devices_probe found, or NULL (none, or its probe failed). */
struct smmu_info;
const struct smmu_info *smmu_probed(void);

/* ---- SMMU glue (iommu.c): takes the SMMU over, routes its IRQs ---- */
int iommu_init(void);
int cmd_smmu(int argc, char **argv);

/* ---- the hypervisor's disk (disk.c): NVMe behind its own SMMU domain ---- */
void disk_init(void);
int cmd_disk(int argc, char **argv);
struct nvme_ctrl;
/* The hypervisor's disk and its SMMU stream (NULL if there is none). */
struct nvme_ctrl *disk_ctrl(uint32_t *sid);
/* Test-only `disk bench` (disk_bench.c). */
int disk_bench(void);

/* ---- crash (panic.c) ---- */
void panic_stop_handler(void);

#endif

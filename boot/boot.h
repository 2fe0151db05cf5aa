/*
 * boot/ API: what the EFI stub hands to the kernel. The stub is the only
 * code that touches UEFI; after ExitBootServices everything the kernel needs
 * about the firmware's world is in struct boot_info. Uses lib/ and GNU-EFI.
 */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_INFO_MAGIC	 0x4f46494e49544f42ull /* "BOOTINFO" */
#define BOOT_MAX_MEM	 384
#define BOOT_MAX_MODULES 32
#define BOOT_PATH_MAX	 128
#define BOOT_POOL_SIZE	 (48ull << 20) /* the heap (kernel/machine/mem.c) takes 32 */

/* What the stub made of each EFI memory map entry. */
enum boot_mem_kind {
	BOOT_MEM_FREE,	   /* conventional or boot-services memory */
	BOOT_MEM_HYP,	   /* loader code/data: tessera's image, pool, files */
	BOOT_MEM_FIRMWARE, /* runtime services, ACPI, reserved, persistent */
	BOOT_MEM_MMIO,	   /* not RAM */
};

struct boot_mem_range {
	uint64_t base;
	uint64_t size;
	uint32_t kind; /* enum boot_mem_kind */
	uint32_t efi_type;
};

/* A file the config names, read from the ESP into hypervisor memory. */
struct boot_module {
	char path[BOOT_PATH_MAX];
	uint64_t base;
	uint64_t size;
};

/* ---- the machine: one description, from a device tree or from ACPI ----
 * Filled by the stub from whichever the firmware gave (hw_fdt.c, hw_acpi.c:
 * portable, host-tested) and checked there, while the firmware console can
 * still say what is wrong. Nothing after the stub knows which it came from. */
#define HW_MAX_CPUS    16 /* = MAX_CPUS: CPUs beyond it are counted, not kept */
#define HW_MAX_SMMUS   4
#define HW_MAX_RIDMAPS 16
#define HW_NO_SMMU     0xffffffffu /* a RID range that reaches memory directly */
/* The interrupts tessera's arch layer uses: SBSA's recommended PPIs, which
 * hw_check demands (kernel/machine asserts they match arch/arm64). */
#define HW_PPI_MAINT	 25
#define HW_PPI_HYP_TIMER 26
#define HW_PPI_VTIMER	 27
#define HW_PPI_PTIMER	 30

enum hw_source { HW_FROM_NONE, HW_FROM_DT, HW_FROM_ACPI };
enum hw_psci { HW_PSCI_NONE, HW_PSCI_SMC, HW_PSCI_HVC };

struct hw_smmu {
	uint64_t base, size;
	uint32_t irq_evtq, irq_priq, irq_gerror, irq_cmdq_sync; /* INTIDs, 0 if absent */
	uint8_t coherent;					/* DMA is cache coherent */
};
/* Requester IDs [rid_base, rid_base + count) of the PCIe root complex are
 * stream IDs from sid_base on of SMMU smmu (or HW_NO_SMMU: not translated). */
struct hw_ridmap {
	uint32_t rid_base, count, sid_base, smmu;
};
struct hw_pci_window {
	uint64_t cpu, pci, size; /* size 0: not described */
};
struct hw_pci {
	uint8_t present;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint64_t ecam_base, ecam_size; /* ECAM of bus_start up to bus_end */
	/* from the DT's ranges; ACPI has them only in AML (not read) */
	struct hw_pci_window mmio32, mmio64, io;
};
struct hw_desc {
	uint32_t source;	 /* enum hw_source */
	uint32_t ncpus;		 /* CPUs kept in mpidr[] */
	uint32_t cpus_described; /* enabled CPUs the firmware listed, even beyond HW_MAX_CPUS */
	uint64_t mpidr[HW_MAX_CPUS];
	uint32_t psci; /* enum hw_psci */
	struct {
		uint64_t gicd_base, gicd_size;
		uint64_t gicr_base, gicr_size; /* one redistributor region */
		uint64_t its_base;	       /* 0: no ITS */
		uint32_t version;	       /* 3 or 4; 0 if the firmware does not say */
		uint32_t maint_intid;	       /* 0 if not described */
	} gic;
	struct {
		uint32_t el1_phys, virt, el2_phys, el1_secure; /* INTIDs */
	} timer;
	uint32_t pmu_intid; /* 0 if not described */
	struct {
		uint64_t base; /* PL011 */
		uint32_t intid;
	} uart;
	struct hw_pci pci;
	uint32_t nsmmus;
	struct hw_smmu smmu[HW_MAX_SMMUS];
	uint32_t nridmaps;
	struct hw_ridmap ridmap[HW_MAX_RIDMAPS];
	uint32_t rid_mask; /* applied to a RID before the maps (DT iommu-map-mask) */
};

/* Portable. Each returns 0, or -1 with a message naming the table or node
 * and the field that is wrong in err (errlen bytes, always terminated). */
int hw_from_fdt(const void *fdt, struct hw_desc *hw, char *err, size_t errlen);
/* ACPI tables are reached by physical address through map: it returns a
 * pointer to len readable bytes at pa, or NULL if they are not there. */
struct acpi_mem {
	const void *(*map)(void *ctx, uint64_t pa, uint64_t len);
	void *ctx;
};
int hw_from_acpi(uint64_t rsdp_pa, const struct acpi_mem *mem, struct hw_desc *hw, char *err,
		 size_t errlen);
/* What tessera itself needs of a machine (GICv3, SBSA PPIs, a console, a CPU). */
int hw_check(const struct hw_desc *hw, char *err, size_t errlen);
/* "device tree" or "ACPI", for messages. */
const char *hw_source_name(uint32_t source);

struct boot_info {
	uint64_t magic;
	uint64_t cnt_entry; /* CNTPCT_EL0 at efi_main */
	uint64_t cnt_exit;  /* CNTPCT_EL0 just after ExitBootServices */
	uint64_t image_base;
	uint64_t image_size;
	uint64_t pool_base; /* BOOT_POOL_SIZE bytes of LoaderData for early use */
	uint64_t pool_size;
	const void *fdt; /* the firmware's DTB, copied (NULL if it gave ACPI) */
	uint64_t fdt_size;
	uint64_t acpi_rsdp; /* where the firmware's ACPI RSDP is (0 if it gave a DTB) */
	struct hw_desc hw;  /* the machine, from one or the other */
	const void *config; /* \tessera\config.dtb, or NULL */
	uint64_t config_size;
	uint32_t fw_revision;
	char fw_vendor[64];
	uint32_t n_mem;
	struct boot_mem_range mem[BOOT_MAX_MEM];
	uint32_t n_modules;
	struct boot_module modules[BOOT_MAX_MODULES];
};

/* The kernel's entry, called once on the boot CPU after ExitBootServices. */
void kernel_main(struct boot_info *bi) __attribute__((noreturn));

#endif

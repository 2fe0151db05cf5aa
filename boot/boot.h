/*
 * boot/ API: what the EFI stub hands to the kernel. The stub is the only
 * code that touches UEFI; after ExitBootServices everything the kernel needs
 * about the firmware's world is in struct boot_info. Uses lib/ and GNU-EFI.
 */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#include <stdint.h>

#define BOOT_INFO_MAGIC	 0x4f46494e49544f42ull /* "BOOTINFO" */
#define BOOT_MAX_MEM	 384
#define BOOT_MAX_MODULES 32
#define BOOT_PATH_MAX	 128
#define BOOT_POOL_SIZE	 (32ull << 20)

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

struct boot_info {
	uint64_t magic;
	uint64_t cnt_entry; /* CNTPCT_EL0 at efi_main */
	uint64_t cnt_exit;  /* CNTPCT_EL0 just after ExitBootServices */
	uint64_t image_base;
	uint64_t image_size;
	uint64_t pool_base; /* BOOT_POOL_SIZE bytes of LoaderData for early use */
	uint64_t pool_size;
	const void *fdt; /* the firmware's DTB, copied into the pool */
	uint64_t fdt_size;
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

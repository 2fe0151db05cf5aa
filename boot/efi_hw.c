/*
 * Which description of the machine the firmware gave, and reading it while
 * the firmware console can still report a problem. A device tree wins when
 * it describes CPUs (U-Boot, AAVMF with acpi=off); otherwise the ACPI 2.0
 * tables (AAVMF's default, servers). docs/boards.md has the rules.
 */
#include "boot/efi.h"
#include <libfdt.h>
#include <string.h>

static const void *config_table(EFI_GUID guid)
{
	for (UINTN i = 0; i < efi_st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &efi_st->ConfigurationTable[i];
		if (memcmp(&t->VendorGuid, &guid, sizeof(guid)) == 0)
			return t->VendorTable;
	}
	return NULL;
}

/* The firmware's DTB lives in memory it may reuse; keep a private copy. */
static EFI_STATUS copy_dtb(struct boot_info *bi, const void *fdt)
{
	int e = fdt_check_header(fdt);
	if (e || (e = fdt_check_full(fdt, fdt_totalsize(fdt)))) {
		efi_printf("tessera: the firmware's device tree is corrupt (%s)\n",
			   fdt_strerror(e));
		return EFI_LOAD_ERROR;
	}
	uint64_t size = fdt_totalsize(fdt);
	void *copy = efi_alloc(size);
	if (!copy)
		return EFI_OUT_OF_RESOURCES;
	memcpy(copy, fdt, size);
	bi->fdt = copy;
	bi->fdt_size = size;
	return EFI_SUCCESS;
}

/* Before ExitBootServices the firmware maps all memory one to one. */
static const void *identity(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	(void)len;
	return (const void *)(uintptr_t)pa;
}

static void summary(const struct hw_desc *hw)
{
	unsigned direct = 0;
	efi_printf("tessera: machine from %s: %u CPUs, GICv3 at 0x%llx, PL011 at 0x%llx, "
		   "%u SMMUv3, PCIe %s\n",
		   hw_source_name(hw->source), hw->cpus_described,
		   (unsigned long long)hw->gic.gicd_base, (unsigned long long)hw->uart.base,
		   hw->nsmmus, hw->pci.present ? "ECAM" : "none");
	for (uint32_t i = 0; i < hw->nridmaps; i++)
		direct += hw->ridmap[i].smmu == HW_NO_SMMU;
	if (direct)
		efi_printf(
		    "tessera: note: %u requester ID range(s) of the root complex reach memory "
		    "without an SMMU (docs/boards.md)\n",
		    direct);
	if (hw->psci == HW_PSCI_NONE)
		efi_printf("tessera: warning: no PSCI: secondary CPUs, poweroff and reset will not "
			   "work\n");
}

EFI_STATUS efi_describe_machine(struct boot_info *bi)
{
	EFI_GUID dtb_guid = EFI_DTB_TABLE_GUID, acpi_guid = ACPI_20_TABLE_GUID;
	const void *fdt = config_table(dtb_guid), *rsdp = config_table(acpi_guid);
	char err[256];
	EFI_STATUS s;
	int e;
	if (fdt && rsdp && fdt_check_header(fdt) == 0 && fdt_path_offset(fdt, "/cpus") < 0)
		fdt = NULL; /* a DT for /chosen only, beside ACPI */
	if (fdt) {
		if (EFI_ERROR((s = copy_dtb(bi, fdt))))
			return s;
		e = hw_from_fdt(bi->fdt, &bi->hw, err, sizeof(err));
	} else if (rsdp) {
		struct acpi_mem mem = {identity, NULL};
		bi->acpi_rsdp = (uint64_t)(uintptr_t)rsdp;
		e = hw_from_acpi(bi->acpi_rsdp, &mem, &bi->hw, err, sizeof(err));
	} else {
		efi_printf(
		    "tessera: the firmware gave neither a device tree nor ACPI 2.0 tables\n");
		return EFI_UNSUPPORTED;
	}
	if (e || hw_check(&bi->hw, err, sizeof(err))) {
		efi_printf("tessera: %s\ntessera: cannot describe this machine; not starting\n",
			   err);
		return EFI_UNSUPPORTED;
	}
	summary(&bi->hw);
	return EFI_SUCCESS;
}

/*
 * The EFI stub: the only code that runs under the firmware. It gathers what
 * the kernel needs (the machine's description from the DTB or ACPI, config,
 * images, memory map) into struct boot_info,
 * exits boot services and jumps into the kernel at EL2.
 */
#include "boot/efi.h"
#include <stdio.h>
#include <string.h>

EFI_SYSTEM_TABLE *efi_st;
EFI_HANDLE efi_image;
static struct boot_info bi;

static uint64_t read_cntpct(void)
{
	uint64_t v;
	__asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(v));
	return v;
}

static uint64_t current_el(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, CurrentEL" : "=r"(v));
	return (v >> 2) & 3;
}

static EFI_STATUS load_image_info(void)
{
	EFI_GUID li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li;
	EFI_STATUS s = efi_st->BootServices->HandleProtocol(efi_image, &li_guid, (void **)&li);
	if (EFI_ERROR(s))
		return s;
	bi.image_base = (uint64_t)li->ImageBase;
	bi.image_size = li->ImageSize;
	return EFI_SUCCESS;
}

static void copy_vendor(void)
{
	size_t i = 0;
	for (; efi_st->FirmwareVendor && efi_st->FirmwareVendor[i] && i + 1 < sizeof(bi.fw_vendor);
	     i++)
		bi.fw_vendor[i] = (char)efi_st->FirmwareVendor[i];
	bi.fw_vendor[i] = 0;
	bi.fw_revision = efi_st->FirmwareRevision;
}

static EFI_STATUS gather(void)
{
	EFI_STATUS s;
	if (EFI_ERROR((s = efi_describe_machine(&bi))) || EFI_ERROR((s = load_image_info())))
		return s;
	void *pool = efi_alloc(BOOT_POOL_SIZE);
	if (!pool)
		return EFI_OUT_OF_RESOURCES;
	bi.pool_base = (uint64_t)pool;
	bi.pool_size = BOOT_POOL_SIZE;
	copy_vendor();
	return efi_load_modules(&bi);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	bi.cnt_entry = read_cntpct();
	bi.magic = BOOT_INFO_MAGIC;
	efi_st = st;
	efi_image = image;
	efi_printf("tessera %s: EFI stub at EL%llu\n", TESSERA_VERSION,
		   (unsigned long long)current_el());
	if (current_el() != 2) {
		efi_printf("tessera: needs EL2 (virtualization extensions); firmware started it "
			   "at EL%llu. Under QEMU use -M virt,virtualization=on.\n",
			   (unsigned long long)current_el());
		return EFI_UNSUPPORTED;
	}
	EFI_STATUS s = gather();
	if (EFI_ERROR(s)) {
		efi_printf("tessera: boot failed (EFI status 0x%llx)\n", (unsigned long long)s);
		return s;
	}
	s = efi_exit(&bi);
	if (EFI_ERROR(s)) {
		efi_printf("tessera: ExitBootServices failed (0x%llx)\n", (unsigned long long)s);
		return s;
	}
	bi.cnt_exit = read_cntpct();
	kernel_main(&bi);
}

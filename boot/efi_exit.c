/* ExitBootServices and the memory map the kernel keeps. */
#include "boot/efi.h"
#include <string.h>

static enum boot_mem_kind classify(UINT32 type)
{
	switch (type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BOOT_MEM_FREE;
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_HYP;
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return BOOT_MEM_MMIO;
	default:
		return BOOT_MEM_FIRMWARE;
	}
}

/* Runs after ExitBootServices: no firmware calls, no allocation. Adjacent
 * entries of the same kind are merged so the map stays small. */
static void convert(struct boot_info *bi, const uint8_t *map, UINTN size, UINTN desc_size)
{
	bi->n_mem = 0;
	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		uint64_t len = d->NumberOfPages * 4096;
		uint32_t kind = classify(d->Type);
		struct boot_mem_range *last = bi->n_mem ? &bi->mem[bi->n_mem - 1] : NULL;
		if (last && last->kind == kind && last->base + last->size == d->PhysicalStart) {
			last->size += len;
			continue;
		}
		if (bi->n_mem == BOOT_MAX_MEM)
			break;
		bi->mem[bi->n_mem++] =
		    (struct boot_mem_range){d->PhysicalStart, len, kind, d->Type};
	}
}

EFI_STATUS efi_exit(struct boot_info *bi)
{
	EFI_BOOT_SERVICES *bs = efi_st->BootServices;
	UINTN size = 0, key, desc_size;
	UINT32 desc_ver;
	bs->GetMemoryMap(&size, NULL, &key, &desc_size, &desc_ver);
	size += 16 * desc_size; /* the allocation below can split entries */
	UINTN cap = size;
	void *map = efi_alloc(cap);
	if (!map)
		return EFI_OUT_OF_RESOURCES;
	EFI_STATUS s;
	for (int tries = 0; tries < 4; tries++) {
		size = cap;
		s = bs->GetMemoryMap(&size, map, &key, &desc_size, &desc_ver);
		if (EFI_ERROR(s))
			return s;
		s = bs->ExitBootServices(efi_image, key);
		if (!EFI_ERROR(s))
			break;
	}
	if (EFI_ERROR(s))
		return s;
	convert(bi, map, size, desc_size);
	return EFI_SUCCESS;
}

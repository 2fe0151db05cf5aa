/* Private to boot/: helpers shared by the EFI stub's files. */
#ifndef BOOT_EFI_H
#define BOOT_EFI_H

#include <efi.h>
#include "boot/boot.h"

extern EFI_SYSTEM_TABLE *efi_st;
extern EFI_HANDLE efi_image;

/* Prints an ASCII, printf-formatted line on the firmware console. */
void efi_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* AllocatePages as EfiLoaderData; NULL on failure. */
void *efi_alloc(uint64_t size);
/* Reads a whole file from the ESP tessera was loaded from. path uses '/'
 * or '\\'. Returns EFI_NOT_FOUND quietly if it does not exist. */
EFI_STATUS efi_read_file(const char *path, void **data, uint64_t *size);
/* Loads every file the config names into bi->modules. */
EFI_STATUS efi_load_modules(struct boot_info *bi);
/* Reads the machine's description (DT or ACPI) into bi->hw and checks it;
 * says on the console what is wrong if it cannot. */
EFI_STATUS efi_describe_machine(struct boot_info *bi);
/* Gets the memory map, exits boot services and fills bi->mem. */
EFI_STATUS efi_exit(struct boot_info *bi);

#endif

/* Console output and memory for the EFI stub. */
#include "boot/efi.h"
#include <stdarg.h>
#include <stdio.h>

void efi_printf(const char *fmt, ...)
{
	char buf[256];
	CHAR16 wbuf[sizeof(buf) * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t j = 0;
	for (size_t i = 0; buf[i] && j + 2 < (sizeof(wbuf) / sizeof(wbuf[0])); i++) {
		if (buf[i] == '\n')
			wbuf[j++] = '\r';
		wbuf[j++] = (CHAR16)(unsigned char)buf[i];
	}
	wbuf[j] = 0;
	efi_st->ConOut->OutputString(efi_st->ConOut, wbuf);
}

void *efi_alloc(uint64_t size)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	UINTN pages = (size + 4095) / 4096;
	EFI_STATUS s =
	    efi_st->BootServices->AllocatePages(AllocateAnyPages, EfiLoaderData, pages, &addr);
	return EFI_ERROR(s) ? NULL : (void *)addr;
}

/* Private to boot/: what the two hardware parsers (hw_fdt.c, hw_acpi.c)
 * share. Portable: no GNU-EFI here. */
#ifndef BOOT_HW_INT_H
#define BOOT_HW_INT_H

#include "boot/boot.h"

/* Writes the printf-formatted message into err; returns -1. */
int hw_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether mpidr is already among hw's CPUs. */
int hw_has_cpu(const struct hw_desc *hw, uint64_t mpidr);
/* Records one more enabled CPU (kept while there is room). */
void hw_add_cpu(struct hw_desc *hw, uint64_t mpidr);

#endif

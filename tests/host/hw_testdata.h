/* Shared by the hardware-description host tests: QEMU virt's DTB and ACPI
 * tables from tests/data/qemu-virt, loaded into memory the parsers read. */
#ifndef TESTS_HOST_HW_TESTDATA_H
#define TESTS_HOST_HW_TESTDATA_H

#include "boot/boot.h"

#define QEMU_DATA "tests/data/qemu-virt"

/* The whole file (exits the test on failure); *len its size. */
void *load_file(const char *path, size_t *len);

/* The ACPI tables where the firmware put them (acpi/tables.txt). */
struct acpi_blob {
	char sig[5];
	uint64_t pa;
	uint8_t *data;
	uint32_t len;
};
struct acpi_image {
	unsigned n;
	struct acpi_blob blob[16];
	uint64_t rsdp;
	struct acpi_mem mem; /* maps addresses inside one blob, NULL elsewhere */
};
void acpi_image_load(struct acpi_image *img);
void acpi_image_free(struct acpi_image *img);
/* The blob of a signature ("APIC", "RSDP", ...). */
struct acpi_blob *acpi_blob(struct acpi_image *img, const char *sig);
/* Sets the table's checksum byte so that its bytes add up to 0 again
 * (RSDP: both of its checksums). */
void acpi_fix_checksum(struct acpi_blob *b);

/* Field-by-field equality, naming the first field that differs. Ridmaps
 * to HW_NO_SMMU are left out when skip_direct (a DT cannot say them). */
/* What QEMU virt's DTB and AAVMF's ACPI tables both say: the CPUs' MPIDRs
 * and PSCI conduit; the timer, PMU and UART interrupts, the UART and ECAM
 * bases. */
void assert_qemu_virt_cpus(const struct hw_desc *d);
void assert_qemu_virt_devices(const struct hw_desc *d);
void assert_hw_equal(const struct hw_desc *a, const struct hw_desc *b, int skip_direct);

#endif

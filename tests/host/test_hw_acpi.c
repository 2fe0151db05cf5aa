/* The machine from ACPI (boot/hw_acpi.c) on the tables AAVMF installed for
 * QEMU virt, put back at their addresses, and on damaged copies of them;
 * and that they describe the machine QEMU's DTB describes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/machine/machine.h"
#include "smmu/smmu.h"
#include "tests/host/hw_testdata.h"

static struct acpi_image img;
static struct hw_desc d;
static char err[256];

/* Offsets in QEMU 7.2's tables (iasl -d shows them). */
#define MADT_GICD      0x2c
#define MADT_GICC(n)   (0x44 + 0x50 * (n))
#define MADT_GICR      0x184
#define MADT_ITS       0x194
#define IORT_SMMU      0x48
#define IORT_RC	       0xa0
#define IORT_RC_MAP(n) (IORT_RC + 0x24 + 20 * (n))
#define XSDT_ENTRY(n)  (36 + 8 * (n))

static int setup(void **state)
{
	acpi_image_load(&img);
	err[0] = 0;
	return 0;
}

static int teardown(void **state)
{
	acpi_image_free(&img);
	return 0;
}

/* A fresh copy of every table, for the next damage. */
static void reset(void)
{
	acpi_image_free(&img);
	acpi_image_load(&img);
	err[0] = 0;
}

static void put(const char *sig, uint32_t off, uint64_t v, int bytes)
{
	struct acpi_blob *b = acpi_blob(&img, sig);
	assert_true(off + bytes <= b->len);
	for (int i = 0; i < bytes; i++)
		b->data[off + i] = (uint8_t)(v >> (8 * i));
}

/* A field changed and the checksum made right again, so that the check
 * of the field itself is what answers. */
static void patch(const char *sig, uint32_t off, uint64_t v, int bytes)
{
	put(sig, off, v, bytes);
	acpi_fix_checksum(acpi_blob(&img, sig));
}

static int parse(void)
{
	return hw_from_acpi(img.rsdp, &img.mem, &d, err, sizeof(err));
}

static void parse_fails(const char *want)
{
	assert_int_equal(parse(), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

static void parse_ok(void)
{
	if (parse())
		fail_msg("parse failed: %s", err);
}

static void qemu_machine(void **state)
{
	parse_ok();
	assert_int_equal(hw_check(&d, err, sizeof(err)), 0);
	assert_int_equal(d.source, HW_FROM_ACPI);
	assert_int_equal(d.ncpus, 4);
	assert_qemu_virt_cpus(&d);
	assert_int_equal(d.gic.gicd_base, 0x8000000);
	assert_int_equal(d.gic.gicr_base, 0x80a0000);
	assert_int_equal(d.gic.gicr_size, 0xf60000);
	assert_int_equal(d.gic.its_base, 0x8080000);
	assert_int_equal(d.gic.version, 3);
	assert_int_equal(d.gic.maint_intid, 25);
	assert_qemu_virt_devices(&d);
	assert_int_equal(d.pci.ecam_size, 256ull << 20);
	assert_int_equal(d.pci.bus_end, 255);
	assert_int_equal(d.pci.mmio32.size, 0); /* only in the DSDT's AML */
	assert_int_equal(d.nsmmus, 1);
	assert_int_equal(d.smmu[0].base, 0x9050000);
	assert_int_equal(d.smmu[0].irq_evtq, 106);
	assert_int_equal(d.smmu[0].irq_priq, 107);
	assert_int_equal(d.smmu[0].irq_gerror, 109);
	assert_int_equal(d.smmu[0].irq_cmdq_sync, 108);
	assert_true(d.smmu[0].coherent);
	/* QEMU 7.2 writes the ID count without the spec's "minus one": bus 0
	 * and one more RID go to the SMMU, the rest to the ITS directly */
	assert_int_equal(d.nridmaps, 2);
	assert_int_equal(d.ridmap[0].rid_base, 0);
	assert_int_equal(d.ridmap[0].count, 0x101);
	assert_int_equal(d.ridmap[0].smmu, 0);
	assert_int_equal(d.ridmap[1].rid_base, 0x100);
	assert_int_equal(d.ridmap[1].count, 0xff00);
	assert_int_equal(d.ridmap[1].smmu, HW_NO_SMMU);
}

/* The same machine, described twice: the DT and the ACPI tables QEMU made
 * for one configuration give one description (less what ACPI keeps in
 * AML, the PCIe windows, and the RIDs its IORT says bypass the SMMU). */
static void same_as_the_dt(void **state)
{
	size_t len;
	void *dtb = load_file(QEMU_DATA "/qemu-virt.dtb", &len);
	struct hw_desc from_dt;
	assert_int_equal(hw_from_fdt(dtb, &from_dt, err, sizeof(err)), 0);
	parse_ok();
	from_dt.pci.io = from_dt.pci.mmio32 = from_dt.pci.mmio64 = (struct hw_pci_window){0};
	/* the DT maps all RIDs 1:1, the IORT only bus 0 (and one more) */
	from_dt.ridmap[0].count = d.ridmap[0].count;
	assert_hw_equal(&d, &from_dt, 1);

	/* and the drivers' reader finds the same stream for every device
	 * QEMU has (bus 0), from the DT written for each */
	static char a[16384], b[16384];
	assert_int_equal(hw_devtree_build(&d, a, sizeof(a)), 0);
	assert_int_equal(fdt_check_full(a, sizeof(a)), 0);
	for (uint32_t rid = 0; rid <= 0xff; rid++)
		assert_int_equal(smmu_rid_to_sid(a, rid), smmu_rid_to_sid(dtb, rid));
	struct hw_desc back;
	if (hw_from_fdt(a, &back, err, sizeof(err)))
		fail_msg("the DT written from ACPI does not parse: %s", err);
	assert_hw_equal(&d, &back, 1);
	assert_int_equal(hw_devtree_build(&from_dt, b, sizeof(b)), 0);
	free(dtb);
}

static void damaged_rsdp(void **state)
{
	put("RSDP", 0, 'X', 1);
	parse_fails("RSDP at 0x13c430018: Signature is not \"RSD PTR \"");
}

static void damaged_rsdp_checksum(void **state)
{
	put("RSDP", 9, acpi_blob(&img, "RSDP")->data[9] ^ 1, 1);
	parse_fails("RSDP: Checksum of the first 20 bytes is wrong");
}

static void damaged_rsdp_revision(void **state)
{
	patch("RSDP", 15, 0, 1);
	parse_fails("RSDP: Revision 0 (ACPI 1.0) has no XSDT");
}

static void damaged_rsdp_extended(void **state)
{
	put("RSDP", 24, 0x13c43fe90, 8); /* the XSDT address, past the first checksum */
	parse_fails("RSDP: Extended Checksum is wrong");
}

static void damaged_xsdt_address(void **state)
{
	patch("RSDP", 24, 0xdead0000, 8);
	parse_fails("XSDT: nothing readable at 0xdead0000");
}

static void damaged_xsdt_entry(void **state)
{
	patch("XSDT", XSDT_ENTRY(1), 0x1000, 8);
	parse_fails("XSDT: entry 1 points at 0x1000, where nothing is readable");
}

static void missing_madt(void **state)
{
	patch("APIC", 0, 'X', 1);
	parse_fails("XSDT: no MADT (signature APIC)");
}

static void damaged_checksum(void **state)
{
	put("APIC", MADT_GICC(2) + 68, 7, 1); /* an MPIDR, checksum left alone */
	parse_fails("MADT at 0x13c43fc18: Checksum is wrong");
}

static void damaged_length(void **state)
{
	patch("GTDT", 4, 20, 4);
	parse_fails("GTDT at 0x13c43e818: Length 20 is not a table's");
	reset();
	patch("GTDT", 4, 5000, 4);
	parse_fails("GTDT at 0x13c43e818: Length 5000 runs past readable memory");
	reset();
	patch("GTDT", 4, 80, 4); /* an ACPI 5.0 sized GTDT */
	parse_fails("GTDT: Length 80, its layout needs at least 96");
}

static void damaged_revision(void **state)
{
	patch("APIC", 8, 2, 1);
	parse_fails("MADT: Revision 2 is older than tessera reads (3 or later)");
	reset();
	patch("GTDT", 8, 1, 1);
	parse_fails("GTDT: Revision 1 is older");
	reset();
	patch("FACP", 8, 5, 1);
	patch("FACP", 131, 0, 1);
	parse_fails("FADT: version 5.0 (ACPI 5.0) has no ARM Boot Architecture Flags");
}

static void madt_structures(void **state)
{
	patch("APIC", MADT_GICC(1) + 1, 12, 1);
	parse_fails("MADT: GICC at offset 0x94: Length 12, expected at least 76");
	reset();
	patch("APIC", MADT_GICC(3) + 1, 0, 1);
	parse_fails("MADT: structure at offset 0x134: Length 0");
	reset();
	patch("APIC", MADT_ITS + 1, 0x40, 1);
	parse_fails("MADT: structure at offset 0x194: Length 64 runs past the table's end");
	reset();
	patch("APIC", MADT_GICC(3) + 68, 1, 8);
	parse_fails("MADT: GICC at offset 0x134: MPIDR 0x1 is there twice");
	reset();
	patch("APIC", MADT_GICC(0) + 68, 1ull << 31, 8);
	parse_fails(
	    "MADT: GICC at offset 0x44: MPIDR 0x80000000 has bits set outside the affinity fields");
	reset();
	patch("APIC", MADT_GICD, 0x0d, 1); /* now a GIC MSI frame */
	parse_fails("MADT: no GICD (distributor) structure");
	reset();
	patch("APIC", MADT_ITS, 0x0e, 1); /* the ITS, now a GICR */
	parse_fails("MADT: GICR at offset 0x194: a second redistributor region");
	reset();
	for (int n = 0; n < 4; n++)
		patch("APIC", MADT_GICC(n) + 12, 0, 4); /* not enabled */
	parse_fails("MADT: no enabled GICC (CPU) structure");
}

static void madt_disabled_cpu(void **state)
{
	patch("APIC", MADT_GICC(2) + 12, 0, 4);
	parse_ok();
	assert_int_equal(d.ncpus, 3);
	assert_int_equal(d.mpidr[2], 3);
}

/* No GICR structure: the GICCs say where each redistributor is. */
static void madt_gicc_redistributors(void **state)
{
	patch("APIC", MADT_GICR, 0x0d, 1);
	parse_fails("MADT: no GICR structure, and not every enabled GICC has a GICR Base Address");
	for (int n = 0; n < 4; n++)
		patch("APIC", MADT_GICC(n) + 60, 0x80a0000 + 0x20000 * (3 - n), 8);
	parse_ok();
	assert_int_equal(d.gic.gicr_base, 0x80a0000);
	assert_int_equal(d.gic.gicr_size, 4 * 0x20000);
	patch("APIC", MADT_GICC(0) + 60, 0x9000000, 8);
	parse_fails("MADT: GICC GICR Base Addresses 0x80a0000-0x9000000 are not one region");
}

static void timers_and_console(void **state)
{
	patch("GTDT", 64, 20, 4);
	parse_ok();
	assert_int_equal(hw_check(&d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ACPI: the virtual timer interrupt is INTID 20"));
	reset();
	patch("SPCR", 36, 0x00, 1); /* a 16550 */
	parse_fails("SPCR: Interface Type 0x00 is not an ARM PL011");
	reset();
	patch("SPCR", 40, 1, 1);
	parse_fails("SPCR: Base Address is in address space 1, not system memory");
	reset();
	patch("SPCR", 52, 0, 1); /* no interrupt: the console is polled */
	parse_ok();
	assert_int_equal(d.uart.intid, 0);
}

static void psci_flags(void **state)
{
	patch("FACP", 129, 3, 2);
	parse_ok();
	assert_int_equal(d.psci, HW_PSCI_HVC);
	patch("FACP", 129, 0, 2);
	parse_ok();
	assert_int_equal(d.psci, HW_PSCI_NONE);
}

static void damaged_mcfg(void **state)
{
	patch("MCFG", 4, 50, 4);
	parse_fails("MCFG: Length 50 leaves a partial allocation structure");
	reset();
	patch("MCFG", 44 + 10, 9, 1);
	patch("MCFG", 44 + 11, 3, 1);
	parse_fails("MCFG: allocation 0: Start Bus 9 is above End Bus 3");
	reset();
	patch("MCFG", 44 + 10, 16, 1); /* buses 16-255: the base stays bus 0's */
	parse_ok();
	assert_int_equal(d.pci.ecam_base, 0x4010000000ull + (16ull << 20));
	assert_int_equal(d.pci.ecam_size, 240ull << 20);
	reset();
	patch("MCFG", 0, 'X', 1); /* no MCFG: no PCIe, and it still boots */
	parse_ok();
	assert_false(d.pci.present);
}

static void damaged_iort(void **state)
{
	patch("IORT", 40, 0x400, 4);
	parse_fails("IORT: node 0 at offset 0x400 lies outside the table (Length 236)");
	reset();
	patch("IORT", IORT_RC + 1, 0x60, 2);
	parse_fails("IORT: node 2 (root complex) at offset 0xa0: Length 96 runs past");
	reset();
	patch("IORT", IORT_SMMU + 1, 0x30, 2);
	parse_fails("IORT: node 1 (SMMUv3): 1 ID mappings at offset 0x44 run past the node");
	reset();
	patch("IORT", IORT_SMMU + 8, 0, 4); /* no mappings: then the short length is the fault */
	patch("IORT", IORT_SMMU + 1, 0x30, 2);
	parse_fails("IORT: node 1 (SMMUv3): Length 48, expected at least 60");
	reset();
	patch("IORT", IORT_RC_MAP(0) + 12, 0x1234, 4);
	parse_fails(
	    "IORT: node 2 (root complex) ID mapping 0: Output Reference 0x1234 is not a node");
	reset();
	patch("IORT", IORT_RC + 8, 9, 4);
	parse_fails("IORT: node 2 (root complex): 9 ID mappings at offset 0x24 run past the node");
	reset();
	patch("IORT", IORT_SMMU + 16, 0, 8);
	parse_fails("IORT: node 1 (SMMUv3): Base Address is 0");
	reset();
	patch("IORT", 0, 'X', 1); /* no IORT: no SMMU, and it still boots */
	parse_ok();
	assert_int_equal(d.nsmmus, 0);
	assert_int_equal(d.nridmaps, 0);
}

/* Every byte of every table read changed in three ways (checksum made
 * right), and every table cut at every length: the parser answers with a
 * description or a message and never reads outside a table (ASan). */
static void every_byte(void **state)
{
	static const char *const sigs[] = {"RSDP", "XSDT", "FACP", "APIC",
					   "GTDT", "SPCR", "MCFG", "IORT"};
	static const uint8_t values[] = {0x00, 0xff, 0x80};
	unsigned runs = 0, refused = 0;
	for (unsigned s = 0; s < sizeof(sigs) / sizeof(sigs[0]); s++) {
		uint32_t len = acpi_blob(&img, sigs[s])->len;
		for (uint32_t off = 0; off < len; off++) {
			for (unsigned v = 0; v < sizeof(values); v++) {
				reset();
				patch(sigs[s], off, values[v], 1);
				runs++;
				if (parse()) {
					refused++;
					assert_true(strlen(err) > 10);
				}
			}
			if (!strcmp(sigs[s], "RSDP"))
				continue;
			reset();
			patch(sigs[s], 4, off, 4);
			runs++;
			refused += parse() != 0;
		}
		reset();
	}
	print_message("%u damaged tables, %u refused\n", runs, refused);
	assert_true(refused > runs / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(qemu_machine, setup, teardown),
	    cmocka_unit_test_setup_teardown(same_as_the_dt, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_rsdp, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_rsdp_checksum, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_rsdp_revision, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_rsdp_extended, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_xsdt_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_xsdt_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_madt, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_checksum, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_revision, setup, teardown),
	    cmocka_unit_test_setup_teardown(madt_structures, setup, teardown),
	    cmocka_unit_test_setup_teardown(madt_disabled_cpu, setup, teardown),
	    cmocka_unit_test_setup_teardown(madt_gicc_redistributors, setup, teardown),
	    cmocka_unit_test_setup_teardown(timers_and_console, setup, teardown),
	    cmocka_unit_test_setup_teardown(psci_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_mcfg, setup, teardown),
	    cmocka_unit_test_setup_teardown(damaged_iort, setup, teardown),
	    cmocka_unit_test_setup_teardown(every_byte, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

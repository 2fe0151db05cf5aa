/* Host tests for drivers/pci_names.c: class names and BAR sizing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/drivers.h"

static void test_storage_names(void **state)
{
	assert_string_equal(pci_class_name(0x010802), "NVM Express controller");
	assert_string_equal(pci_class_name(0x010601), "SATA controller (AHCI)");
	assert_string_equal(pci_class_name(0x010600), "SATA controller");
	/* virtio-blk and virtio-scsi report SCSI storage. */
	assert_string_equal(pci_class_name(0x010000), "SCSI storage controller");
	assert_string_equal(pci_class_name(0x010803), "Non-Volatile memory controller");
	assert_string_equal(pci_class_name(0x018000), "Mass storage controller");
}

static void test_other_names(void **state)
{
	assert_string_equal(pci_class_name(0x020000), "Ethernet controller");
	assert_string_equal(pci_class_name(0x030000), "VGA compatible controller");
	assert_string_equal(pci_class_name(0x060000), "Host bridge");
	assert_string_equal(pci_class_name(0x060400), "PCI-to-PCI bridge");
	assert_string_equal(pci_class_name(0x060401), "PCI-to-PCI bridge");
	assert_string_equal(pci_class_name(0x0c0330), "USB controller (xHCI)");
	assert_string_equal(pci_class_name(0x0c03fe), "USB controller");
	assert_string_equal(pci_class_name(0x088000), "Generic system peripheral");
	assert_string_equal(pci_class_name(0x00ff00), "Unclassified device");
}

static void test_unknown_names(void **state)
{
	/* Unknown subclass: the base class's generic name. */
	assert_string_equal(pci_class_name(0x0277aa), "Network controller");
	assert_string_equal(pci_class_name(0x067700), "Bridge");
	/* Unknown base class. */
	assert_string_equal(pci_class_name(0x420000), "unknown class");
	assert_string_equal(pci_class_name(0xfe0000), "unknown class");
	assert_string_equal(pci_class_name(0xff0000), "Unassigned class");
	/* Bits above the 24-bit class code are ignored. */
	assert_string_equal(pci_class_name(0xab010802), "NVM Express controller");
}

static void test_bar_size_mem32(void **state)
{
	assert_int_equal(pci_bar_size(0xfffff000, 0, false, false), 4096);
	/* Flag bits (prefetchable) do not count. */
	assert_int_equal(pci_bar_size(0xfffff008, 0, false, false), 4096);
	assert_int_equal(pci_bar_size(0xfff00000, 0, false, false), 1 << 20);
	assert_int_equal(pci_bar_size(0x80000000, 0, false, false), 0x80000000ull);
	/* The high word is ignored for a 32-bit BAR. */
	assert_int_equal(pci_bar_size(0xffffc000, 0xffffffff, false, false), 16384);
}

static void test_bar_size_mem64(void **state)
{
	/* 64-bit prefetchable (type 10b, P set: low nibble 0xc). */
	assert_int_equal(pci_bar_size(0xffffc00c, 0xffffffff, true, false), 16384);
	assert_int_equal(pci_bar_size(0xfffffffc, 0xffffffff, true, false), 16);
	assert_int_equal(pci_bar_size(0x0000000c, 0xffffffff, true, false), 1ull << 32);
	assert_int_equal(pci_bar_size(0x0000000c, 0xfffffffe, true, false), 8ull << 30);
}

static void test_bar_size_io_and_none(void **state)
{
	assert_int_equal(pci_bar_size(0xfffffff1, 0, false, true), 16);
	assert_int_equal(pci_bar_size(0xffffff01, 0, false, true), 256);
	/* Upper 16 bits hardwired to zero (16-bit IO decode). */
	assert_int_equal(pci_bar_size(0x0000ffe1, 0, false, true), 32);
	/* is_64 means nothing for IO. */
	assert_int_equal(pci_bar_size(0xfffffff1, 0xffffffff, true, true), 16);
	/* Unimplemented BARs read back zero. */
	assert_int_equal(pci_bar_size(0, 0, false, false), 0);
	assert_int_equal(pci_bar_size(0, 0, true, false), 0);
	assert_int_equal(pci_bar_size(0, 0, false, true), 0);
	assert_int_equal(pci_bar_size(0x1, 0, false, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_storage_names),  cmocka_unit_test(test_other_names),
	    cmocka_unit_test(test_unknown_names),  cmocka_unit_test(test_bar_size_mem32),
	    cmocka_unit_test(test_bar_size_mem64), cmocka_unit_test(test_bar_size_io_and_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The machine from a device tree (boot/hw_fdt.c) on QEMU virt's own DTB and
 * damaged copies of it, and the description written back as a DT
 * (kernel/machine/devtree.c) the way the drivers read it. */
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

#define ROOM 65536

static void *qemu_dtb; /* pristine */
static char dtb[ROOM]; /* the copy a test damages */
static struct hw_desc d;
static char err[256];

static int setup(void **state)
{
	size_t len;
	qemu_dtb = load_file(QEMU_DATA "/qemu-virt.dtb", &len);
	assert_int_equal(fdt_check_full(qemu_dtb, len), 0);
	return 0;
}

static int teardown(void **state)
{
	free(qemu_dtb);
	return 0;
}

static void fresh(void)
{
	assert_int_equal(fdt_open_into(qemu_dtb, dtb, ROOM), 0);
	err[0] = 0;
}

static int node(const char *path)
{
	int off = fdt_path_offset(dtb, path);
	assert_true(off >= 0);
	return off;
}

static void set_cells(const char *path, const char *prop, const uint32_t *v, int n)
{
	fdt32_t cells[16];
	for (int i = 0; i < n; i++)
		cells[i] = cpu_to_fdt32(v[i]);
	assert_int_equal(fdt_setprop(dtb, node(path), prop, cells, n * 4), 0);
}

static void parse_fails(const char *want)
{
	assert_int_equal(hw_from_fdt(dtb, &d, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

static void parse_ok(void)
{
	if (hw_from_fdt(dtb, &d, err, sizeof(err)))
		fail_msg("parse failed: %s", err);
}

/* What QEMU's virt machine is (hw/arm/virt.c's memory map and IRQs). */
static void qemu_machine(void **state)
{
	fresh();
	parse_ok();
	assert_int_equal(hw_check(&d, err, sizeof(err)), 0);
	assert_int_equal(d.source, HW_FROM_DT);
	assert_int_equal(d.ncpus, 4);
	assert_int_equal(d.cpus_described, 4);
	assert_qemu_virt_cpus(&d);
	assert_int_equal(d.gic.gicd_base, 0x8000000);
	assert_int_equal(d.gic.gicd_size, 0x10000);
	assert_int_equal(d.gic.gicr_base, 0x80a0000);
	assert_int_equal(d.gic.gicr_size, 0xf60000);
	assert_int_equal(d.gic.its_base, 0x8080000);
	assert_int_equal(d.gic.maint_intid, 25);
	assert_qemu_virt_devices(&d);
	assert_int_equal(d.pci.ecam_size, 0x10000000);
	assert_int_equal(d.pci.bus_start, 0);
	assert_int_equal(d.pci.bus_end, 255);
	assert_int_equal(d.pci.io.cpu, 0x3eff0000);
	assert_int_equal(d.pci.io.size, 0x10000);
	assert_int_equal(d.pci.mmio32.cpu, 0x10000000);
	assert_int_equal(d.pci.mmio32.pci, 0x10000000);
	assert_int_equal(d.pci.mmio32.size, 0x2eff0000);
	assert_int_equal(d.pci.mmio64.cpu, 0x8000000000ull);
	assert_int_equal(d.pci.mmio64.size, 0x8000000000ull);
	assert_int_equal(d.nsmmus, 1);
	assert_int_equal(d.smmu[0].base, 0x9050000);
	assert_int_equal(d.smmu[0].size, 0x20000);
	assert_int_equal(d.smmu[0].irq_evtq, 74 + 32);
	assert_int_equal(d.smmu[0].irq_priq, 75 + 32);
	assert_int_equal(d.smmu[0].irq_cmdq_sync, 76 + 32);
	assert_int_equal(d.smmu[0].irq_gerror, 77 + 32);
	assert_true(d.smmu[0].coherent);
	assert_int_equal(d.nridmaps, 1);
	assert_int_equal(d.ridmap[0].rid_base, 0);
	assert_int_equal(d.ridmap[0].count, 0x10000);
	assert_int_equal(d.ridmap[0].sid_base, 0);
	assert_int_equal(d.ridmap[0].smmu, 0);
	assert_int_equal(d.rid_mask, 0xffffffffu);
}

static void damaged_header(void **state)
{
	fresh();
	memset(dtb, 0, 4);
	parse_fails("device tree: bad header");
}

static void damaged_cpus(void **state)
{
	fresh();
	assert_int_equal(fdt_del_node(dtb, node("/cpus")), 0);
	parse_fails("no /cpus node");

	fresh();
	assert_int_equal(fdt_delprop(dtb, node("/cpus/cpu@2"), "reg"), 0);
	parse_fails("device tree /cpus/cpu@2: a CPU without reg");

	fresh();
	set_cells("/cpus/cpu@3", "reg", (uint32_t[]){1}, 1);
	parse_fails("/cpus/cpu@3: MPIDR 0x1 is there twice");

	fresh();
	set_cells("/cpus", "#address-cells", (uint32_t[]){3}, 1);
	parse_fails("/cpus: #address-cells 3");

	fresh();
	for (int n = 0; n < 4; n++) {
		char path[32];
		snprintf(path, sizeof(path), "/cpus/cpu@%d", n);
		assert_int_equal(fdt_setprop_string(dtb, node(path), "device_type", "memory"), 0);
	}
	parse_fails("/cpus: no CPU");
}

static void damaged_gic(void **state)
{
	fresh();
	assert_int_equal(
	    fdt_setprop_string(dtb, node("/intc@8000000"), "compatible", "arm,gic-400"), 0);
	parse_fails("/intc@8000000: a GICv2 (arm,gic-400); tessera needs a GICv3");

	fresh();
	set_cells("/intc@8000000", "reg", (uint32_t[]){0, 0x8000000, 0, 0x10000}, 4);
	parse_fails("/intc@8000000: reg has no entry 1 (the redistributors)");

	fresh();
	set_cells("/intc@8000000", "#redistributor-regions", (uint32_t[]){2}, 1);
	parse_fails("2 redistributor regions; tessera supports one");

	fresh();
	set_cells("/intc@8000000", "#interrupt-cells", (uint32_t[]){2}, 1);
	parse_fails("#interrupt-cells must be 3");

	fresh();
	assert_int_equal(
	    fdt_setprop_string(dtb, node("/intc@8000000/its@8080000"), "status", "disabled"), 0);
	parse_ok();
	assert_int_equal(d.gic.its_base, 0);

	fresh(); /* the GIC maintenance interrupt elsewhere than tessera can use */
	set_cells("/intc@8000000", "interrupts", (uint32_t[]){1, 8, 4}, 3);
	parse_ok();
	assert_int_equal(hw_check(&d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GIC maintenance interrupt is INTID 24"));
}

static void damaged_timer(void **state)
{
	fresh();
	set_cells("/timer", "interrupts", (uint32_t[]){1, 13, 4, 1, 14, 4}, 6);
	parse_fails("device tree /timer: interrupts has 2 entries, needs 4");

	fresh();
	assert_int_equal(fdt_del_node(dtb, node("/timer")), 0);
	parse_fails("no generic timer");

	fresh(); /* a virtual timer at PPI 4: parsed, but not what tessera runs on */
	set_cells("/timer", "interrupts", (uint32_t[]){1, 13, 4, 1, 14, 4, 1, 4, 4, 1, 10, 4}, 12);
	parse_ok();
	assert_int_equal(d.timer.virt, 20);
	assert_int_equal(hw_check(&d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "virtual timer interrupt is INTID 20; tessera needs"));

	fresh();
	set_cells("/timer", "interrupts", (uint32_t[]){1, 13, 4, 1, 14, 4, 2, 11, 4, 1, 10, 4}, 12);
	parse_fails("/timer: interrupt 2: type 2 number 11 is not a GICv3 SPI or PPI");
}

static void damaged_uart(void **state)
{
	fresh();
	assert_int_equal(fdt_del_node(dtb, node("/pl011@9000000")), 0);
	parse_fails("no PL011 UART");

	fresh(); /* stdout on something else: the PL011 is still the console */
	assert_int_equal(fdt_setprop_string(dtb, node("/chosen"), "stdout-path", "/pl031@9010000"),
			 0);
	parse_ok();
	assert_int_equal(d.uart.base, 0x9000000);

	fresh();
	assert_int_equal(fdt_delprop(dtb, node("/pl011@9000000"), "reg"), 0);
	parse_fails("/pl011@9000000: reg has no entry 0");

	fresh(); /* no interrupt: tessera polls */
	assert_int_equal(fdt_delprop(dtb, node("/pl011@9000000"), "interrupts"), 0);
	parse_ok();
	assert_int_equal(d.uart.intid, 0);
}

static void damaged_smmu_pci(void **state)
{
	fresh();
	set_cells("/pcie@10000000", "iommu-map", (uint32_t[]){0, 0x1234, 0, 0x10000}, 4);
	parse_fails("/pcie@10000000: iommu-map entry 0 names no node");

	fresh();
	set_cells("/pcie@10000000", "iommu-map", (uint32_t[]){0, 0x8007, 0}, 3);
	parse_fails("iommu-map entry 0 is cut short");

	fresh();
	set_cells("/pcie@10000000", "bus-range", (uint32_t[]){5, 2}, 2);
	parse_fails("/pcie@10000000: bus-range 5-2");

	fresh();
	set_cells("/pcie@10000000", "ranges", (uint32_t[]){0x2000000, 0, 0, 0, 0}, 5);
	parse_fails("ranges: 20 bytes is not a whole number of entries");

	fresh();
	set_cells("/smmuv3@9050000", "interrupt-parent", (uint32_t[]){0x8008}, 1);
	parse_fails("/smmuv3@9050000: its interrupts go to another controller");

	fresh(); /* a disabled SMMU is not there, and nothing maps to it */
	assert_int_equal(fdt_setprop_string(dtb, node("/smmuv3@9050000"), "status", "disabled"), 0);
	parse_ok();
	assert_int_equal(d.nsmmus, 0);
	assert_int_equal(d.nridmaps, 0);

	fresh();
	assert_int_equal(fdt_del_node(dtb, node("/pcie@10000000")), 0);
	parse_ok();
	assert_false(d.pci.present);

	fresh();
	assert_int_equal(fdt_del_node(dtb, node("/psci")), 0);
	parse_ok();
	assert_int_equal(d.psci, HW_PSCI_NONE);
}

/* Every property cut to every shorter length: the parser answers (a
 * description or a message), it never reads past a value (ASan). */
static void truncated_properties(void **state)
{
	unsigned runs = 0, refused = 0;
	for (int off = 0; off >= 0; off = fdt_next_node(qemu_dtb, off, NULL)) {
		char path[128];
		int prop;
		assert_int_equal(fdt_get_path(qemu_dtb, off, path, sizeof(path)), 0);
		if (fdt_node_check_compatible(qemu_dtb, off, "virtio,mmio") == 0)
			continue; /* 32 alike, and nothing reads them */
		fdt_for_each_property_offset(prop, qemu_dtb, off)
		{
			const char *name;
			int len;
			const void *val = fdt_getprop_by_offset(qemu_dtb, prop, &name, &len);
			for (int cut = 0; cut < len && cut < 64; cut++) {
				fresh();
				assert_int_equal(fdt_setprop(dtb, node(path), name, val, cut), 0);
				runs++;
				if (hw_from_fdt(dtb, &d, err, sizeof(err))) {
					refused++;
					assert_true(strlen(err) > 10);
				}
			}
		}
	}
	print_message("%u truncations, %u refused\n", runs, refused);
	assert_true(runs > 500);
	assert_true(refused > 50);
}

/* DT -> description -> DT -> description gives the same description. */
static void written_back(void **state)
{
	static char out[16384];
	struct hw_desc again;
	fresh();
	parse_ok();
	assert_int_equal(hw_devtree_build(&d, out, sizeof(out)), 0);
	assert_int_equal(fdt_check_full(out, sizeof(out)), 0);
	if (hw_from_fdt(out, &again, err, sizeof(err)))
		fail_msg("the written DT does not parse: %s", err);
	assert_hw_equal(&d, &again, 0);
	assert_int_equal(hw_devtree_build(&d, out, 512), -FDT_ERR_NOSPACE);
}

/* What smmu/ridmap.c (the driver's reader) makes of the written DT is what
 * it makes of QEMU's. */
static void drivers_see_the_same(void **state)
{
	static char out[16384];
	fresh();
	parse_ok();
	assert_int_equal(hw_devtree_build(&d, out, sizeof(out)), 0);
	/* every RID of buses 0-1, then a sample up to 0xffff (each lookup scans the DT) */
	for (uint32_t rid = 0; rid <= 0xffff; rid += rid < 0x200 ? 1 : 0x61)
		assert_int_equal(smmu_rid_to_sid(out, rid), smmu_rid_to_sid(qemu_dtb, rid));
	/* and an offset map is followed, not only the identity */
	d.ridmap[0] = (struct hw_ridmap){0x100, 0x100, 0x4000, 0};
	assert_int_equal(hw_devtree_build(&d, out, sizeof(out)), 0);
	assert_int_equal(smmu_rid_to_sid(out, 0x123), 0x4023);
	assert_int_equal(smmu_rid_to_sid(out, 0x10), 0x10); /* unmapped: identity */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(qemu_machine),	cmocka_unit_test(damaged_header),
	    cmocka_unit_test(damaged_cpus),	cmocka_unit_test(damaged_gic),
	    cmocka_unit_test(damaged_timer),	cmocka_unit_test(damaged_uart),
	    cmocka_unit_test(damaged_smmu_pci), cmocka_unit_test(truncated_properties),
	    cmocka_unit_test(written_back),	cmocka_unit_test(drivers_see_the_same),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

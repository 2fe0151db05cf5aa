/* Guest device tree: built, then read back with libfdt the way Linux reads
 * it (memory, CPUs, GIC, timer, PSCI, UART and its clock, chosen). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libfdt.h>
#include <string.h>
#include "kernel/vm/guest.h"

#define MiB (1ull << 20)

static char dtb[GUEST_DTB_MAX];

static const struct guest_dt_params two_vcpus = {
    .name = "linux",
    .vcpus = 2,
    .ram_base = GUEST_RAM_BASE,
    .ram_size = 512 * MiB,
    .bootargs = "console=ttyAMA0 quiet",
    .initrd_start = 0x5f000000,
    .initrd_end = 0x5f400123,
};

static int node(const char *path)
{
	int off = fdt_path_offset(dtb, path);
	assert_true(off >= 0);
	return off;
}

static const void *getprop(const char *path, const char *name, int len)
{
	int got;
	const void *v = fdt_getprop(dtb, node(path), name, &got);
	assert_non_null(v);
	assert_int_equal(got, len);
	return v;
}

static uint32_t cell(const char *path, const char *name, unsigned i, int len)
{
	return fdt32_ld((const fdt32_t *)getprop(path, name, len) + i);
}

static uint64_t cell64(const char *path, const char *name, unsigned i, int len)
{
	return fdt64_ld((const fdt64_t *)getprop(path, name, len) + i);
}

static void build(const struct guest_dt_params *p)
{
	memset(dtb, 0xee, sizeof(dtb));
	assert_int_equal(guest_dt_build(dtb, sizeof(dtb), p), 0);
	assert_int_equal(fdt_check_full(dtb, sizeof(dtb)), 0);
}

static void root_and_memory(void **state)
{
	build(&two_vcpus);
	assert_int_equal(cell("/", "#address-cells", 0, 4), 2);
	assert_int_equal(cell("/", "#size-cells", 0, 4), 2);
	assert_string_equal(getprop("/", "compatible", 17), "linux,dummy-virt");
	assert_string_equal(getprop("/memory@40000000", "device_type", 7), "memory");
	assert_int_equal(cell64("/memory@40000000", "reg", 0, 16), GUEST_RAM_BASE);
	assert_int_equal(cell64("/memory@40000000", "reg", 1, 16), 512 * MiB);
}

static void cpus_and_psci(void **state)
{
	build(&two_vcpus);
	int cpus = node("/cpus"), sub, n = 0;
	assert_int_equal(cell("/cpus", "#address-cells", 0, 4), 1);
	assert_int_equal(cell("/cpus", "#size-cells", 0, 4), 0);
	fdt_for_each_subnode(sub, dtb, cpus)
	{
		int len;
		const fdt32_t *reg = fdt_getprop(dtb, sub, "reg", &len);
		assert_int_equal(len, 4);
		assert_int_equal(fdt32_ld(reg), n);
		assert_string_equal(fdt_getprop(dtb, sub, "enable-method", NULL), "psci");
		assert_string_equal(fdt_getprop(dtb, sub, "device_type", NULL), "cpu");
		assert_int_equal(fdt_node_check_compatible(dtb, sub, "arm,armv8"), 0);
		n++;
	}
	assert_int_equal(n, 2);
	int psci = node("/psci");
	assert_string_equal(getprop("/psci", "method", 4), "hvc");
	assert_int_equal(fdt_node_check_compatible(dtb, psci, "arm,psci-0.2"), 0);
	assert_int_equal(fdt_node_check_compatible(dtb, psci, "arm,psci-1.0"), 0);
}

static void gic_timer_uart(void **state)
{
	build(&two_vcpus);
	const char *gic = "/intc@8000000";
	assert_int_equal(fdt_node_check_compatible(dtb, node(gic), "arm,gic-v3"), 0);
	assert_int_equal(cell64(gic, "reg", 0, 32), GUEST_GICD_BASE);
	assert_int_equal(cell64(gic, "reg", 1, 32), GUEST_GICD_SIZE);
	assert_int_equal(cell64(gic, "reg", 2, 32), GUEST_GICR_BASE);
	assert_int_equal(cell64(gic, "reg", 3, 32), 2 * GUEST_GICR_STRIDE);
	assert_int_equal(cell(gic, "#interrupt-cells", 0, 4), 3);
	getprop(gic, "interrupt-controller", 0);
	uint32_t gic_phandle = fdt_get_phandle(dtb, node(gic));
	assert_true(gic_phandle != 0);
	assert_int_equal(cell("/", "interrupt-parent", 0, 4), gic_phandle);

	const uint32_t ppis[] = {13, 14, 11, 10};
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(cell("/timer", "interrupts", 3 * i, 48), 1);
		assert_int_equal(cell("/timer", "interrupts", 3 * i + 1, 48), ppis[i]);
		assert_int_equal(cell("/timer", "interrupts", 3 * i + 2, 48), 4);
	}
	assert_int_equal(GUEST_VTIMER_PPI, 16 + ppis[2]); /* the model and the DT agree */

	const char *uart = "/pl011@9000000";
	assert_int_equal(fdt_node_check_compatible(dtb, node(uart), "arm,primecell"), 0);
	assert_int_equal(cell64(uart, "reg", 0, 16), GUEST_UART_BASE);
	assert_int_equal(cell(uart, "interrupts", 1, 12), GUEST_UART_SPI);
	uint32_t clk = fdt_get_phandle(dtb, node("/apb-pclk"));
	assert_true(clk != 0 && clk != gic_phandle);
	assert_int_equal(cell(uart, "clocks", 0, 8), clk);
	assert_int_equal(cell(uart, "clocks", 1, 8), clk);
	assert_int_equal(cell("/apb-pclk", "clock-frequency", 0, 4), 24000000);
	assert_int_equal(fdt_stringlist_search(dtb, node(uart), "clock-names", "apb_pclk"), 1);
}

static void chosen(void **state)
{
	build(&two_vcpus);
	assert_string_equal(getprop("/chosen", "bootargs", 22), "console=ttyAMA0 quiet");
	assert_int_equal(cell64("/chosen", "linux,initrd-start", 0, 8), 0x5f000000);
	assert_int_equal(cell64("/chosen", "linux,initrd-end", 0, 8), 0x5f400123);
	const char *out = getprop("/chosen", "stdout-path", 15);
	assert_true(fdt_path_offset(dtb, out) >= 0);
	assert_string_equal(fdt_get_alias(dtb, "serial0"), out);

	struct guest_dt_params p = two_vcpus;
	p.initrd_start = p.initrd_end = 0;
	p.bootargs = NULL;
	build(&p);
	assert_null(fdt_getprop(dtb, node("/chosen"), "linux,initrd-start", NULL));
	assert_string_equal(getprop("/chosen", "bootargs", 1), "");
}

static void eight_vcpus_and_timer_freq(void **state)
{
	struct guest_dt_params p = two_vcpus;
	p.vcpus = GUEST_MAX_VCPUS;
	p.timer_freq = 62500000;
	build(&p);
	assert_int_equal(cell("/cpus/cpu@7", "reg", 0, 4), 7);
	assert_int_equal(cell64("/intc@8000000", "reg", 3, 32), 8 * GUEST_GICR_STRIDE);
	assert_int_equal(cell("/timer", "clock-frequency", 0, 4), 62500000);
}

/* The PMU node Linux's arm_pmu probes: compatible, and PPI 7 (INTID 23)
 * level-high; gone when the CPU has no PMU. */
static void pmu_node(void **state)
{
	build(&two_vcpus);
	assert_string_equal(getprop("/pmu", "compatible", 16), "arm,armv8-pmuv3");
	assert_int_equal(cell("/pmu", "interrupts", 0, 12), 1);
	assert_int_equal(cell("/pmu", "interrupts", 1, 12) + 16, 23);
	assert_int_equal(cell("/pmu", "interrupts", 2, 12), 4);
	struct guest_dt_params p = two_vcpus;
	p.no_pmu = true;
	build(&p);
	assert_true(fdt_path_offset(dtb, "/pmu") < 0);
}

/* The ITS only for partitions with `its`: a child of the GIC at QEMU
 * virt's address, as Linux's irq-gic-v3-its driver looks for it. */
static void its_node(void **state)
{
	build(&two_vcpus);
	assert_true(fdt_path_offset(dtb, "/intc@8000000/its@8080000") < 0);
	assert_int_equal(cell("/intc@8000000", "#address-cells", 0, 4), 0);
	struct guest_dt_params p = two_vcpus;
	p.its = true;
	build(&p);
	const char *its = "/intc@8000000/its@8080000";
	assert_int_equal(fdt_node_check_compatible(dtb, node(its), "arm,gic-v3-its"), 0);
	getprop(its, "msi-controller", 0);
	assert_int_equal(cell(its, "#msi-cells", 0, 4), 1);
	assert_int_equal(cell64(its, "reg", 0, 16), GUEST_ITS_BASE);
	assert_int_equal(cell64(its, "reg", 1, 16), GUEST_ITS_SIZE);
	assert_int_equal(cell("/intc@8000000", "#address-cells", 0, 4), 2);
	assert_int_equal(cell("/intc@8000000", "#size-cells", 0, 4), 2);
	getprop("/intc@8000000", "ranges", 0);
	uint32_t ph = fdt_get_phandle(dtb, node(its));
	assert_true(ph != 0 && ph != fdt_get_phandle(dtb, node("/intc@8000000")) &&
		    ph != fdt_get_phandle(dtb, node("/apb-pclk")));
}

static void refuses_bad_input(void **state)
{
	struct guest_dt_params p = two_vcpus;
	assert_int_equal(guest_dt_build(dtb, 512, &p), -FDT_ERR_NOSPACE);
	p.vcpus = 0;
	assert_int_equal(guest_dt_build(dtb, sizeof(dtb), &p), -FDT_ERR_BADVALUE);
	p.vcpus = GUEST_MAX_VCPUS + 1;
	assert_int_equal(guest_dt_build(dtb, sizeof(dtb), &p), -FDT_ERR_BADVALUE);
}

/* With assigned PCI functions: a generic ECAM host bridge as QEMU virt
 * describes one, INTx of slot s pin p on SPI 3 + (s + p) % 4; none without. */
static void pci_host_bridge(void **state)
{
	struct guest_dt_params p = two_vcpus;
	build(&p);
	assert_true(fdt_path_offset(dtb, "/pcie@10000000") < 0);
	p.pci_devs = 2;
	build(&p);
	const char *path = "/pcie@10000000";
	assert_string_equal(getprop(path, "compatible", 22), "pci-host-ecam-generic");
	assert_string_equal(getprop(path, "device_type", 4), "pci");
	assert_int_equal(cell64(path, "reg", 0, 16), VPCI_ECAM_BASE);
	assert_int_equal(cell64(path, "reg", 1, 16), VPCI_ECAM_SIZE);
	assert_int_equal(cell(path, "bus-range", 1, 8), 15);
	assert_int_equal(cell(path, "ranges", 0, 28), 0x02000000);
	assert_int_equal(cell(path, "ranges", 2, 28), VPCI_MMIO_BASE);
	assert_int_equal(cell(path, "ranges", 6, 28), VPCI_MMIO_SIZE);
	assert_int_equal(cell(path, "#interrupt-cells", 0, 4), 1);
	assert_int_equal(cell(path, "interrupt-map-mask", 0, 16), 0x1800);
	/* entry for slot 1, INTB (pin 2): 8 cells each, slot-major */
	unsigned e = (1 * 4 + 1) * 8;
	assert_int_equal(cell(path, "interrupt-map", e + 0, 16 * 8 * 4), 1 << 11);
	assert_int_equal(cell(path, "interrupt-map", e + 3, 16 * 8 * 4), 2);
	assert_int_equal(cell(path, "interrupt-map", e + 5, 16 * 8 * 4), 0); /* SPI */
	assert_int_equal(cell(path, "interrupt-map", e + 6, 16 * 8 * 4), VPCI_INTX_SPI + 2);
	assert_non_null(fdt_getprop(dtb, node(path), "dma-coherent", NULL));
	assert_null(fdt_getprop(dtb, node(path), "msi-map", NULL));
}

/* With an ITS: MSIs to it by requester ID, and the interrupt-map entries
 * carry the GIC's two address cells (it has a child now). */
static void pci_host_bridge_its(void **state)
{
	struct guest_dt_params p = two_vcpus;
	p.pci_devs = 1;
	p.its = true;
	build(&p);
	const char *path = "/pcie@10000000";
	int its = fdt_path_offset(dtb, "/intc@8000000/its@8080000");
	assert_true(its >= 0);
	assert_int_equal(cell(path, "msi-map", 0, 16), 0);
	assert_int_equal(cell(path, "msi-map", 1, 16), fdt_get_phandle(dtb, its));
	assert_int_equal(cell(path, "msi-map", 2, 16), 0);
	assert_int_equal(cell(path, "msi-map", 3, 16), 0x10000);
	assert_int_equal(cell("/intc@8000000", "#address-cells", 0, 4), 2);
	unsigned e = (1 * 4 + 1) * 10;
	assert_int_equal(cell(path, "interrupt-map", e + 0, 16 * 10 * 4), 1 << 11);
	assert_int_equal(cell(path, "interrupt-map", e + 3, 16 * 10 * 4), 2);
	assert_int_equal(cell(path, "interrupt-map", e + 4, 16 * 10 * 4),
			 fdt_get_phandle(dtb, node("/intc@8000000")));
	assert_int_equal(cell(path, "interrupt-map", e + 5, 16 * 10 * 4), 0);
	assert_int_equal(cell(path, "interrupt-map", e + 6, 16 * 10 * 4), 0);
	assert_int_equal(cell(path, "interrupt-map", e + 7, 16 * 10 * 4), 0); /* SPI */
	assert_int_equal(cell(path, "interrupt-map", e + 8, 16 * 10 * 4), VPCI_INTX_SPI + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(root_and_memory), cmocka_unit_test(cpus_and_psci),
	    cmocka_unit_test(gic_timer_uart),  cmocka_unit_test(its_node),
	    cmocka_unit_test(pci_host_bridge), cmocka_unit_test(pci_host_bridge_its),
	    cmocka_unit_test(chosen),	       cmocka_unit_test(eight_vcpus_and_timer_freq),
	    cmocka_unit_test(pmu_node),	       cmocka_unit_test(refuses_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

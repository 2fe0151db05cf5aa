/*
 * The device tree a guest finds in x0: the QEMU-virt-like machine of
 * DESIGN.md, described the way QEMU describes it, so that unmodified Linux
 * (Debian's 6.1 arm64 kernel) and small test guests find their devices.
 * Written with libfdt's sequential-write API into the caller's buffer.
 */
#include "kernel/vm/guest.h"
#include <libfdt.h>
#include <stdio.h>

#define PHANDLE_GIC 1
#define PHANDLE_ITS 4
#define PHANDLE_CLK 2
#define UART_PATH   "/pl011@9000000"
#define IRQ_SPI	    0
#define IRQ_PPI	    1
#define IRQ_LEVEL   4 /* IRQ_TYPE_LEVEL_HIGH */

/* A writer that keeps the first libfdt error, so that node builders read
 * as a plain list of properties and the error is checked once at the end. */
struct dtw {
	void *fdt;
	int err;
};

static void begin(struct dtw *w, const char *name)
{
	if (!w->err)
		w->err = fdt_begin_node(w->fdt, name);
}
static void end(struct dtw *w)
{
	if (!w->err)
		w->err = fdt_end_node(w->fdt);
}
static void prop(struct dtw *w, const char *name, const void *v, int len)
{
	if (!w->err)
		w->err = fdt_property(w->fdt, name, v, len);
}
static void str(struct dtw *w, const char *name, const char *s)
{
	if (!w->err)
		w->err = fdt_property_string(w->fdt, name, s);
}
static void u32(struct dtw *w, const char *name, uint32_t v)
{
	if (!w->err)
		w->err = fdt_property_u32(w->fdt, name, v);
}
static void u64(struct dtw *w, const char *name, uint64_t v)
{
	if (!w->err)
		w->err = fdt_property_u64(w->fdt, name, v);
}
static void empty(struct dtw *w, const char *name)
{
	prop(w, name, NULL, 0);
}
/* A list of 32-bit cells. */
static void cells(struct dtw *w, const char *name, const uint32_t *c, unsigned n)
{
	fdt32_t be[16];
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(be); i++)
		be[i] = cpu_to_fdt32(c[i]);
	prop(w, name, be, (int)(MIN(n, (unsigned)ARRAY_SIZE(be)) * sizeof(be[0])));
}
/* A <base size> pair in the root's 2+2 cells. */
static void reg64(struct dtw *w, const char *name, const uint64_t *v, unsigned pairs)
{
	uint32_t c[8];
	for (unsigned i = 0; i < 2 * pairs && i < 4; i++) {
		c[2 * i] = (uint32_t)(v[i] >> 32);
		c[2 * i + 1] = (uint32_t)v[i];
	}
	cells(w, name, c, 4 * MIN(pairs, 2u));
}

/* ---- nodes ---- */

static void root_props(struct dtw *w, const struct guest_dt_params *p)
{
	char model[64];
	snprintf(model, sizeof(model), "tessera partition %s", p->name ? p->name : "");
	u32(w, "#address-cells", 2);
	u32(w, "#size-cells", 2);
	str(w, "compatible", "linux,dummy-virt");
	str(w, "model", model);
	u32(w, "interrupt-parent", PHANDLE_GIC);
}

static void chosen(struct dtw *w, const struct guest_dt_params *p)
{
	begin(w, "chosen");
	str(w, "bootargs", p->bootargs ? p->bootargs : "");
	str(w, "stdout-path", UART_PATH);
	if (p->initrd_end > p->initrd_start) {
		u64(w, "linux,initrd-start", p->initrd_start);
		u64(w, "linux,initrd-end", p->initrd_end);
	}
	end(w);
	begin(w, "aliases");
	str(w, "serial0", UART_PATH);
	end(w);
}

static void memory(struct dtw *w, const struct guest_dt_params *p)
{
	const uint64_t reg[] = {p->ram_base, p->ram_size};
	char name[32];
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)p->ram_base);
	begin(w, name);
	str(w, "device_type", "memory");
	reg64(w, "reg", reg, 1);
	end(w);
}

static void cpus(struct dtw *w, const struct guest_dt_params *p)
{
	char name[16] = "cpu@";
	begin(w, "cpus");
	u32(w, "#address-cells", 1);
	u32(w, "#size-cells", 0);
	for (unsigned i = 0; i < p->vcpus; i++) {
		name[4] = (char)('0' + i); /* vcpus <= GUEST_MAX_VCPUS < 10 */
		name[5] = '\0';
		begin(w, name);
		str(w, "device_type", "cpu");
		str(w, "compatible", "arm,armv8");
		u32(w, "reg", i); /* MPIDR Aff0 = vCPU index */
		str(w, "enable-method", "psci");
		end(w);
	}
	end(w);
}

static void psci(struct dtw *w)
{
	static const char compat[] = "arm,psci-1.0\0arm,psci-0.2";
	begin(w, "psci");
	prop(w, "compatible", compat, sizeof(compat));
	str(w, "method", "hvc");
	end(w);
}

static void gic(struct dtw *w, const struct guest_dt_params *p)
{
	const uint64_t reg[] = {GUEST_GICD_BASE, GUEST_GICD_SIZE, GUEST_GICR_BASE,
				p->vcpus * GUEST_GICR_STRIDE};
	begin(w, "intc@8000000");
	str(w, "compatible", "arm,gic-v3");
	u32(w, "#interrupt-cells", 3);
	if (p->its) { /* the ITS is a child in the parent's address space */
		u32(w, "#address-cells", 2);
		u32(w, "#size-cells", 2);
		empty(w, "ranges");
	} else {
		u32(w, "#address-cells", 0); /* no children; dtc's check wants it */
	}
	empty(w, "interrupt-controller");
	u32(w, "#redistributor-regions", 1);
	reg64(w, "reg", reg, 2);
	u32(w, "phandle", PHANDLE_GIC);
	if (p->its) {
		const uint64_t its_reg[] = {GUEST_ITS_BASE, GUEST_ITS_SIZE};
		begin(w, "its@8080000");
		str(w, "compatible", "arm,gic-v3-its");
		empty(w, "msi-controller");
		u32(w, "#msi-cells", 1);
		reg64(w, "reg", its_reg, 1);
		u32(w, "phandle", PHANDLE_ITS);
		end(w);
	}
	end(w);
}

/* The secure, non-secure physical, virtual and hypervisor timer PPIs, in
 * the order the binding lists them (INTIDs 29, 30, 27, 26). */
static void timer(struct dtw *w, const struct guest_dt_params *p)
{
	const uint32_t irqs[] = {IRQ_PPI, 13, IRQ_LEVEL, IRQ_PPI, 14, IRQ_LEVEL,
				 IRQ_PPI, 11, IRQ_LEVEL, IRQ_PPI, 10, IRQ_LEVEL};
	begin(w, "timer");
	str(w, "compatible", "arm,armv8-timer");
	cells(w, "interrupts", irqs, ARRAY_SIZE(irqs));
	empty(w, "always-on");
	if (p->timer_freq)
		u32(w, "clock-frequency", p->timer_freq);
	end(w);
}

/* PMUv3 with its overflow interrupt, as QEMU virt describes it (a PPI,
 * so no interrupt-affinity: every vCPU has its own). */
static void pmu(struct dtw *w, const struct guest_dt_params *p)
{
	const uint32_t irq[] = {IRQ_PPI, GUEST_PMU_PPI - 16, IRQ_LEVEL};
	if (p->no_pmu)
		return;
	begin(w, "pmu");
	str(w, "compatible", "arm,armv8-pmuv3");
	cells(w, "interrupts", irq, ARRAY_SIZE(irq));
	end(w);
}

/* The PL011's clocks, as QEMU describes them: Linux's amba bus needs
 * apb_pclk to probe the device, and the driver reads uartclk's rate. */
static void uart_clock(struct dtw *w)
{
	begin(w, "apb-pclk");
	str(w, "compatible", "fixed-clock");
	u32(w, "#clock-cells", 0);
	u32(w, "clock-frequency", 24000000);
	str(w, "clock-output-names", "clk24mhz");
	u32(w, "phandle", PHANDLE_CLK);
	end(w);
}

static void uart(struct dtw *w)
{
	static const char compat[] = "arm,pl011\0arm,primecell";
	static const char clock_names[] = "uartclk\0apb_pclk";
	const uint64_t reg[] = {GUEST_UART_BASE, GUEST_UART_SIZE};
	const uint32_t irq[] = {IRQ_SPI, GUEST_UART_SPI, IRQ_LEVEL};
	const uint32_t clocks[] = {PHANDLE_CLK, PHANDLE_CLK};
	begin(w, UART_PATH + 1);
	prop(w, "compatible", compat, sizeof(compat));
	reg64(w, "reg", reg, 1);
	cells(w, "interrupts", irq, ARRAY_SIZE(irq));
	cells(w, "clocks", clocks, ARRAY_SIZE(clocks));
	prop(w, "clock-names", clock_names, sizeof(clock_names));
	end(w);
}

/* As QEMU virt maps them: pin p (0-3 for INTA-D) of slot s raises SPI
 * VPCI_INTX_SPI + (s + p) % 4; the mask folds every slot onto 0-3. Each
 * entry carries the GIC's unit address, #address-cells of it long (2 with
 * an ITS child, as QEMU virt's; a mismatch leaves Linux without INTx). */
static void pcie_intx(struct dtw *w, unsigned gic_addr_cells)
{
	static const uint32_t mask[] = {0x1800, 0, 0, 7};
	fdt32_t map[16 * 10];
	unsigned n = 0;
	for (uint32_t slot = 0; slot < 4; slot++)
		for (uint32_t pin = 0; pin < 4; pin++) {
			const uint32_t head[5] = {slot << 11, 0, 0, pin + 1, PHANDLE_GIC};
			const uint32_t irq[3] = {IRQ_SPI, VPCI_INTX_SPI + (slot + pin) % 4,
						 IRQ_LEVEL};
			for (unsigned i = 0; i < 5; i++)
				map[n++] = cpu_to_fdt32(head[i]);
			for (unsigned i = 0; i < gic_addr_cells; i++)
				map[n++] = cpu_to_fdt32(0);
			for (unsigned i = 0; i < 3; i++)
				map[n++] = cpu_to_fdt32(irq[i]);
		}
	cells(w, "interrupt-map-mask", mask, ARRAY_SIZE(mask));
	prop(w, "interrupt-map", map, n * sizeof(map[0]));
}

static void pcie(struct dtw *w, const struct guest_dt_params *p)
{
	const uint64_t reg[] = {VPCI_ECAM_BASE, VPCI_ECAM_SIZE};
	const uint32_t buses[] = {0, (uint32_t)(VPCI_ECAM_SIZE >> 20) - 1};
	const uint32_t ranges[] = {0x02000000,
				   0,
				   (uint32_t)VPCI_MMIO_BASE,
				   0,
				   (uint32_t)VPCI_MMIO_BASE,
				   0,
				   (uint32_t)VPCI_MMIO_SIZE};
	char name[32];
	if (!p->pci_devs)
		return;
	snprintf(name, sizeof(name), "pcie@%llx", (unsigned long long)VPCI_MMIO_BASE);
	begin(w, name);
	str(w, "compatible", "pci-host-ecam-generic");
	str(w, "device_type", "pci");
	u32(w, "#address-cells", 3);
	u32(w, "#size-cells", 2);
	u32(w, "#interrupt-cells", 1);
	reg64(w, "reg", reg, 1);
	cells(w, "bus-range", buses, ARRAY_SIZE(buses));
	u32(w, "linux,pci-domain", 0);
	cells(w, "ranges", ranges, ARRAY_SIZE(ranges));
	empty(w, "dma-coherent");
	pcie_intx(w, p->its ? 2 : 0);
	if (p->its) { /* DeviceID = the requester ID the guest sees */
		const uint32_t msi_map[] = {0, PHANDLE_ITS, 0, 0x10000};
		cells(w, "msi-map", msi_map, ARRAY_SIZE(msi_map));
	}
	end(w);
}

int guest_dt_build(void *buf, size_t size, const struct guest_dt_params *p)
{
	if (p->vcpus == 0 || p->vcpus > GUEST_MAX_VCPUS || size > INT32_MAX)
		return -FDT_ERR_BADVALUE;
	struct dtw w = {buf, fdt_create(buf, (int)size)};
	if (!w.err)
		w.err = fdt_finish_reservemap(buf);
	begin(&w, "");
	root_props(&w, p);
	chosen(&w, p);
	memory(&w, p);
	cpus(&w, p);
	psci(&w);
	gic(&w, p);
	timer(&w, p);
	pmu(&w, p);
	uart_clock(&w);
	uart(&w);
	pcie(&w, p);
	end(&w);
	return w.err ? w.err : fdt_finish(buf);
}

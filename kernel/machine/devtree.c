/*
 * The hardware description as a flattened device tree, in QEMU virt's
 * bindings. drivers/pci.c and smmu/ read their nodes from a DT, and under
 * ACPI there is none: they get this one whatever the firmware gave, so
 * they see the same thing either way. Written with libfdt's sequential
 * writer; portable (tests/host/test_hw_fdt.c reads it back with
 * boot/hw_fdt.c and compares).
 */
#include "kernel/machine/machine.h"
#include <libfdt.h>
#include <stdio.h>

#define PH_GIC	      1
#define PH_SMMU(i)    (2 + (i))
#define IRQ_EDGE      1
#define IRQ_LEVEL     4
#define ITS_SIZE      0x20000
#define UART_SIZE     0x1000
#define PCI_SPACE_IO  0x01000000u
#define PCI_SPACE_M32 0x02000000u
#define PCI_SPACE_M64 0x03000000u

/* Every libfdt call returns 0 or a negative error; the first error sticks. */
#define TRY(call)                                                                                  \
	do {                                                                                       \
		int e_ = (call);                                                                   \
		if (e_)                                                                            \
			return e_;                                                                 \
	} while (0)

static int prop_reg(void *fdt, const char *name, uint64_t base, uint64_t size)
{
	fdt64_t v[2] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};
	return fdt_property(fdt, name, v, sizeof(v));
}

/* One GIC interrupt specifier <type number flags> for intid, at *p. */
static fdt32_t *irq_cells(fdt32_t *p, uint32_t intid, uint32_t flags)
{
	p[0] = cpu_to_fdt32(intid < 32 ? 1 : 0);
	p[1] = cpu_to_fdt32(intid < 32 ? intid - 16 : intid - 32);
	p[2] = cpu_to_fdt32(flags);
	return p + 3;
}

static int begin_at(void *fdt, const char *name, uint64_t addr)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)addr);
	return fdt_begin_node(fdt, buf);
}

static int cpus(void *fdt, const struct hw_desc *d)
{
	static const char psci[] = "arm,psci-1.0\0arm,psci-0.2\0arm,psci";
	if (d->psci != HW_PSCI_NONE) {
		TRY(fdt_begin_node(fdt, "psci"));
		TRY(fdt_property(fdt, "compatible", psci, sizeof(psci)));
		TRY(fdt_property_string(fdt, "method", d->psci == HW_PSCI_HVC ? "hvc" : "smc"));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (uint32_t i = 0; i < d->ncpus; i++) {
		TRY(begin_at(fdt, "cpu", d->mpidr[i]));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,armv8"));
		TRY(fdt_property_u64(fdt, "reg", d->mpidr[i]));
		if (d->psci != HW_PSCI_NONE)
			TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int gic(void *fdt, const struct hw_desc *d)
{
	fdt64_t regs[4] = {cpu_to_fdt64(d->gic.gicd_base), cpu_to_fdt64(d->gic.gicd_size),
			   cpu_to_fdt64(d->gic.gicr_base), cpu_to_fdt64(d->gic.gicr_size)};
	fdt32_t maint[3];
	TRY(begin_at(fdt, "intc", d->gic.gicd_base));
	TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	TRY(fdt_property(fdt, "reg", regs, sizeof(regs)));
	if (d->gic.maint_intid >= 16) {
		irq_cells(maint, d->gic.maint_intid, IRQ_LEVEL);
		TRY(fdt_property(fdt, "interrupts", maint, sizeof(maint)));
	}
	TRY(fdt_property_u32(fdt, "phandle", PH_GIC));
	if (d->gic.its_base) {
		TRY(begin_at(fdt, "its", d->gic.its_base));
		TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
		TRY(fdt_property(fdt, "msi-controller", NULL, 0));
		TRY(prop_reg(fdt, "reg", d->gic.its_base, ITS_SIZE));
		TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

/* The timer node needs all four PPIs; ACPI may leave the secure one out
 * (0), and then there is no timer node: no driver reads it. */
static int timer_pmu(void *fdt, const struct hw_desc *d)
{
	uint32_t ppis[4] = {d->timer.el1_secure, d->timer.el1_phys, d->timer.virt,
			    d->timer.el2_phys};
	fdt32_t cells[12], *p = cells;
	for (int i = 0; i < 4; i++) {
		if (ppis[i] < 16 || ppis[i] >= 32)
			goto pmu;
		p = irq_cells(p, ppis[i], IRQ_LEVEL);
	}
	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
	TRY(fdt_end_node(fdt));
pmu:
	if (d->pmu_intid < 16 || d->pmu_intid >= 32)
		return 0;
	irq_cells(cells, d->pmu_intid, IRQ_LEVEL);
	TRY(fdt_begin_node(fdt, "pmu"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-pmuv3"));
	TRY(fdt_property(fdt, "interrupts", cells, 12));
	return fdt_end_node(fdt);
}

static int uart(void *fdt, const struct hw_desc *d, char *path, size_t len)
{
	static const char compat[] = "arm,pl011\0arm,primecell";
	fdt32_t cells[3];
	snprintf(path, len, "/pl011@%llx", (unsigned long long)d->uart.base);
	TRY(fdt_begin_node(fdt, path + 1));
	TRY(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	TRY(prop_reg(fdt, "reg", d->uart.base, UART_SIZE));
	if (d->uart.intid >= 16) {
		irq_cells(cells, d->uart.intid, IRQ_LEVEL);
		TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
	}
	return fdt_end_node(fdt);
}

static int smmu(void *fdt, const struct hw_smmu *s, unsigned idx)
{
	const uint32_t irqs[4] = {s->irq_evtq, s->irq_priq, s->irq_cmdq_sync, s->irq_gerror};
	static const char *const names[4] = {"eventq", "priq", "cmdq-sync", "gerror"};
	fdt32_t cells[12], *p = cells;
	char namebuf[40];
	size_t nlen = 0;
	for (int i = 0; i < 4; i++) {
		if (irqs[i] < 32)
			continue;
		p = irq_cells(p, irqs[i], IRQ_EDGE);
		nlen +=
		    (size_t)snprintf(namebuf + nlen, sizeof(namebuf) - nlen, "%s", names[i]) + 1;
	}
	TRY(begin_at(fdt, "smmuv3", s->base));
	TRY(fdt_property_string(fdt, "compatible", "arm,smmu-v3"));
	TRY(prop_reg(fdt, "reg", s->base, s->size));
	if (p != cells) {
		TRY(fdt_property(fdt, "interrupts", cells, (int)((p - cells) * sizeof(*p))));
		TRY(fdt_property(fdt, "interrupt-names", namebuf, (int)nlen));
	}
	if (s->coherent)
		TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
	TRY(fdt_property_u32(fdt, "#iommu-cells", 1));
	TRY(fdt_property_u32(fdt, "phandle", PH_SMMU(idx)));
	return fdt_end_node(fdt);
}

static fdt32_t *window(fdt32_t *p, uint32_t space, const struct hw_pci_window *w)
{
	if (!w->size)
		return p;
	p[0] = cpu_to_fdt32(space);
	p[1] = cpu_to_fdt32((uint32_t)(w->pci >> 32));
	p[2] = cpu_to_fdt32((uint32_t)w->pci);
	p[3] = cpu_to_fdt32((uint32_t)(w->cpu >> 32));
	p[4] = cpu_to_fdt32((uint32_t)w->cpu);
	p[5] = cpu_to_fdt32((uint32_t)(w->size >> 32));
	p[6] = cpu_to_fdt32((uint32_t)w->size);
	return p + 7;
}

static int pci_iommu_map(void *fdt, const struct hw_desc *d)
{
	fdt32_t map[HW_MAX_RIDMAPS * 4], *p = map;
	for (uint32_t i = 0; i < d->nridmaps; i++) {
		const struct hw_ridmap *r = &d->ridmap[i];
		if (r->smmu == HW_NO_SMMU)
			continue; /* the binding has no way to say "no IOMMU" */
		p[0] = cpu_to_fdt32(r->rid_base);
		p[1] = cpu_to_fdt32(PH_SMMU(r->smmu));
		p[2] = cpu_to_fdt32(r->sid_base);
		p[3] = cpu_to_fdt32(r->count);
		p += 4;
	}
	if (p != map)
		TRY(fdt_property(fdt, "iommu-map", map, (int)((p - map) * sizeof(*p))));
	if (d->rid_mask != 0xffffffffu)
		TRY(fdt_property_u32(fdt, "iommu-map-mask", d->rid_mask));
	return 0;
}

/* Legacy INTx as QEMU virt wires its GPEX host bridge (INTA-D of slot s
 * to SPI 3 + (s + pin) % 4, the mask folding slots onto 0-3): neither the
 * firmware DT's interrupt-map nor ACPI's _PRT (AML) is kept in hw_desc.
 * Parent unit address: the GIC node's 2 address cells. */
#define PCI_INTX_SPI 3
static int pci_intx_map(void *fdt)
{
	static const uint32_t mask[4] = {0x1800, 0, 0, 7};
	fdt32_t map[16 * 10], m[4];
	unsigned n = 0;
	for (uint32_t slot = 0; slot < 4; slot++)
		for (uint32_t pin = 0; pin < 4; pin++) {
			const uint32_t e[10] = {slot << 11, 0,	    0,
						pin + 1,    PH_GIC, 0,
						0,	    0,	    PCI_INTX_SPI + (slot + pin) % 4,
						IRQ_LEVEL};
			for (unsigned i = 0; i < 10; i++)
				map[n++] = cpu_to_fdt32(e[i]);
		}
	for (unsigned i = 0; i < 4; i++)
		m[i] = cpu_to_fdt32(mask[i]);
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(fdt_property(fdt, "interrupt-map-mask", m, sizeof(m)));
	return fdt_property(fdt, "interrupt-map", map, sizeof(map));
}

static int pci(void *fdt, const struct hw_desc *d)
{
	const struct hw_pci *h = &d->pci;
	fdt32_t buses[2] = {cpu_to_fdt32(h->bus_start), cpu_to_fdt32(h->bus_end)};
	fdt32_t ranges[21], *p = ranges;
	p = window(p, PCI_SPACE_IO, &h->io);
	p = window(p, PCI_SPACE_M32, &h->mmio32);
	p = window(p, PCI_SPACE_M64, &h->mmio64);
	TRY(begin_at(fdt, "pcie", h->ecam_base));
	TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	TRY(fdt_property_string(fdt, "device_type", "pci"));
	TRY(fdt_property_u32(fdt, "#address-cells", 3));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(prop_reg(fdt, "reg", h->ecam_base, h->ecam_size));
	TRY(fdt_property(fdt, "bus-range", buses, sizeof(buses)));
	TRY(fdt_property_u32(fdt, "linux,pci-domain", h->segment));
	if (p != ranges)
		TRY(fdt_property(fdt, "ranges", ranges, (int)((p - ranges) * sizeof(*p))));
	TRY(pci_iommu_map(fdt, d));
	TRY(pci_intx_map(fdt));
	return fdt_end_node(fdt);
}

static int root(void *fdt, const struct hw_desc *d)
{
	char stdout_path[40];
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_string(fdt, "compatible", "tessera,machine"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "interrupt-parent", PH_GIC));
	TRY(cpus(fdt, d));
	TRY(gic(fdt, d));
	TRY(timer_pmu(fdt, d));
	TRY(uart(fdt, d, stdout_path, sizeof(stdout_path)));
	for (uint32_t i = 0; i < d->nsmmus; i++)
		TRY(smmu(fdt, &d->smmu[i], i));
	if (d->pci.present)
		TRY(pci(fdt, d));
	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "stdout-path", stdout_path));
	TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

int hw_devtree_build(const struct hw_desc *d, void *buf, size_t size)
{
	TRY(fdt_create(buf, (int)size));
	TRY(fdt_finish_reservemap(buf));
	TRY(root(buf, d));
	return fdt_finish(buf);
}

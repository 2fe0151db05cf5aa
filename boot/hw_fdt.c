/*
 * The machine from a flattened device tree: what U-Boot and AAVMF (with
 * acpi=off) hand over. Read with libfdt; portable, host-tested against
 * QEMU's own DTB (tests/host/test_hw_fdt.c).
 */
#include "boot/hw_int.h"
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GIC_SPI 0
#define GIC_PPI 1

struct dt {
	const void *fdt;
	struct hw_desc *hw;
	char *err;
	size_t errlen;
	int gic;		/* the GICv3's node */
	int gic_cells;		/* its #interrupt-cells */
	int smmu[HW_MAX_SMMUS]; /* node of hw->smmu[i] */
};

/* "device tree /path: " and the message. */
static int fail(struct dt *d, int node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct dt *d, int node, const char *fmt, ...)
{
	char path[96] = "/", msg[160];
	va_list ap;
	if (node >= 0 && fdt_get_path(d->fdt, node, path, sizeof(path)) != 0)
		snprintf(path, sizeof(path), "node at offset %d", node);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hw_fail(d->err, d->errlen, "device tree %s: %s", path, msg);
}

static uint64_t read_cells(const fdt32_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 32 | fdt32_ld(p + i);
	return v;
}

static int enabled(const void *fdt, int node)
{
	const char *s = fdt_getprop(fdt, node, "status", NULL);
	return !s || !strcmp(s, "okay") || !strcmp(s, "ok");
}

static int find_compatible(const void *fdt, const char *compat)
{
	int node = -1;
	do
		node = fdt_node_offset_by_compatible(fdt, node, compat);
	while (node >= 0 && !enabled(fdt, node));
	return node;
}

/* reg entry idx, in the parent's #address-cells/#size-cells. Returns 1 if
 * the entry is not there, -1 (with the message) if reg cannot be read. */
static int reg(struct dt *d, int node, int idx, uint64_t *base, uint64_t *size)
{
	int parent = fdt_parent_offset(d->fdt, node), len;
	int ac = fdt_address_cells(d->fdt, parent), sc = fdt_size_cells(d->fdt, parent);
	const fdt32_t *p = fdt_getprop(d->fdt, node, "reg", &len);
	if (ac < 1 || ac > 2 || sc < 0 || sc > 2)
		return fail(d, parent, "#address-cells %d / #size-cells %d not supported", ac, sc);
	int stride = ac + sc;
	if (!p || (idx + 1) * stride * 4 > len)
		return 1;
	*base = read_cells(p + idx * stride, ac);
	*size = sc ? read_cells(p + idx * stride + ac, sc) : 0;
	return 0;
}

static int need_reg(struct dt *d, int node, int idx, const char *what, uint64_t *base,
		    uint64_t *size)
{
	int e = reg(d, node, idx, base, size);
	if (e > 0)
		return fail(d, node, "reg has no entry %d (%s)", idx, what);
	return e;
}

/* The node whose interrupt-parent applies to node (itself or an ancestor). */
static int interrupt_parent(const void *fdt, int node)
{
	for (; node >= 0; node = fdt_parent_offset(fdt, node)) {
		const fdt32_t *ph = fdt_getprop(fdt, node, "interrupt-parent", NULL);
		if (ph)
			return fdt_node_offset_by_phandle(fdt, fdt32_ld(ph));
	}
	return -1;
}

/* Interrupt idx of node as an INTID; 1 if the node has no such entry. */
static int irq(struct dt *d, int node, int idx, uint32_t *intid)
{
	int len, parent = interrupt_parent(d->fdt, node);
	if (parent >= 0 && parent != d->gic)
		return fail(d, node, "its interrupts go to another controller than the GICv3");
	const fdt32_t *p = fdt_getprop(d->fdt, node, "interrupts", &len);
	if (!p || (idx + 1) * d->gic_cells * 4 > len)
		return 1;
	uint32_t type = fdt32_ld(p + idx * d->gic_cells),
		 num = fdt32_ld(p + idx * d->gic_cells + 1);
	if (type == GIC_SPI && num < 988)
		*intid = num + 32;
	else if (type == GIC_PPI && num < 16)
		*intid = num + 16;
	else
		return fail(d, node, "interrupt %d: type %u number %u is not a GICv3 SPI or PPI",
			    idx, type, num);
	return 0;
}

static int irq_by_name(struct dt *d, int node, const char *name, uint32_t *intid)
{
	int idx = fdt_stringlist_search(d->fdt, node, "interrupt-names", name);
	*intid = 0;
	return idx < 0 ? 0 : irq(d, node, idx, intid) < 0 ? -1 : 0;
}

static int find_cpus(struct dt *d)
{
	int cpus = fdt_path_offset(d->fdt, "/cpus"), node;
	if (cpus < 0)
		return fail(d, -1, "no /cpus node");
	fdt_for_each_subnode(node, d->fdt, cpus)
	{
		const char *type = fdt_getprop(d->fdt, node, "device_type", NULL);
		uint64_t mpidr, unused;
		if (!type || strcmp(type, "cpu"))
			continue;
		int e = reg(d, node, 0, &mpidr, &unused);
		if (e)
			return e < 0 ? e : fail(d, node, "a CPU without reg (its MPIDR)");
		if (hw_has_cpu(d->hw, mpidr))
			return fail(d, node, "MPIDR 0x%llx is there twice",
				    (unsigned long long)mpidr);
		hw_add_cpu(d->hw, mpidr);
	}
	return d->hw->ncpus ? 0 : fail(d, cpus, "no CPU (device_type \"cpu\") nodes");
}

static void find_psci(struct dt *d)
{
	static const char *const compat[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
	for (unsigned i = 0; i < sizeof(compat) / sizeof(compat[0]); i++) {
		int node = find_compatible(d->fdt, compat[i]);
		const char *m = node >= 0 ? fdt_getprop(d->fdt, node, "method", NULL) : NULL;
		if (m) {
			d->hw->psci = strcmp(m, "hvc") == 0 ? HW_PSCI_HVC : HW_PSCI_SMC;
			return;
		}
	}
	d->hw->psci = HW_PSCI_NONE;
}

static int no_gicv3(struct dt *d)
{
	static const char *const v2[] = {"arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic"};
	for (unsigned i = 0; i < sizeof(v2) / sizeof(v2[0]); i++) {
		int node = find_compatible(d->fdt, v2[i]);
		if (node >= 0)
			return fail(d, node, "a GICv2 (%s); tessera needs a GICv3", v2[i]);
	}
	return fail(d, -1, "no GICv3 (compatible \"arm,gic-v3\")");
}

static int find_gic(struct dt *d)
{
	struct hw_desc *hw = d->hw;
	int node = d->gic = find_compatible(d->fdt, "arm,gic-v3"), len;
	if (node < 0)
		return no_gicv3(d);
	const fdt32_t *cells = fdt_getprop(d->fdt, node, "#interrupt-cells", &len);
	d->gic_cells = cells && len == 4 ? (int)fdt32_ld(cells) : 0;
	if (d->gic_cells < 3)
		return fail(d, node, "#interrupt-cells must be 3 or more");
	const fdt32_t *regions = fdt_getprop(d->fdt, node, "#redistributor-regions", &len);
	if (regions && len == 4 && fdt32_ld(regions) > 1)
		return fail(d, node, "%u redistributor regions; tessera supports one",
			    fdt32_ld(regions));
	if (need_reg(d, node, 0, "the distributor", &hw->gic.gicd_base, &hw->gic.gicd_size) ||
	    need_reg(d, node, 1, "the redistributors", &hw->gic.gicr_base, &hw->gic.gicr_size))
		return -1;
	hw->gic.version = 3;
	if (irq(d, node, 0, &hw->gic.maint_intid) < 0)
		return -1;
	int its = find_compatible(d->fdt, "arm,gic-v3-its");
	uint64_t unused;
	if (its >= 0 && need_reg(d, its, 0, "the ITS", &hw->gic.its_base, &unused))
		return -1;
	return 0;
}

static int find_timer(struct dt *d)
{
	int node = find_compatible(d->fdt, "arm,armv8-timer");
	uint32_t *want[] = {&d->hw->timer.el1_secure, &d->hw->timer.el1_phys, &d->hw->timer.virt,
			    &d->hw->timer.el2_phys};
	if (node < 0)
		return fail(d, -1, "no generic timer (compatible \"arm,armv8-timer\")");
	for (int i = 0; i < 4; i++) {
		int e = irq(d, node, i, want[i]);
		if (e)
			return e < 0 ? e : fail(d, node, "interrupts has %d entries, needs 4", i);
	}
	int pmu = find_compatible(d->fdt, "arm,armv8-pmuv3");
	return pmu >= 0 && irq(d, pmu, 0, &d->hw->pmu_intid) < 0 ? -1 : 0;
}

/* The console: /chosen's stdout-path if it is a PL011, else the first PL011. */
static int find_uart(struct dt *d)
{
	int chosen = fdt_path_offset(d->fdt, "/chosen"), node = -1;
	const char *path = chosen >= 0 ? fdt_getprop(d->fdt, chosen, "stdout-path", NULL) : NULL;
	if (path) {
		const char *colon = strchr(path, ':');
		node = fdt_path_offset_namelen(d->fdt, path,
					       colon ? (int)(colon - path) : (int)strlen(path));
	}
	if (node < 0 || fdt_node_check_compatible(d->fdt, node, "arm,pl011") != 0)
		node = find_compatible(d->fdt, "arm,pl011");
	if (node < 0)
		return fail(d, -1, "no PL011 UART (compatible \"arm,pl011\") for the console");
	uint64_t size;
	if (need_reg(d, node, 0, "the registers", &d->hw->uart.base, &size))
		return -1;
	return irq(d, node, 0, &d->hw->uart.intid) < 0 ? -1 : 0;
}

static int find_smmus(struct dt *d)
{
	struct hw_desc *hw = d->hw;
	int node = -1;
	for (;;) {
		node = fdt_node_offset_by_compatible(d->fdt, node, "arm,smmu-v3");
		if (node < 0)
			return 0;
		if (!enabled(d->fdt, node) || hw->nsmmus == HW_MAX_SMMUS)
			continue;
		struct hw_smmu *s = &hw->smmu[hw->nsmmus];
		if (need_reg(d, node, 0, "the registers", &s->base, &s->size) ||
		    irq_by_name(d, node, "eventq", &s->irq_evtq) ||
		    irq_by_name(d, node, "priq", &s->irq_priq) ||
		    irq_by_name(d, node, "gerror", &s->irq_gerror) ||
		    irq_by_name(d, node, "cmdq-sync", &s->irq_cmdq_sync))
			return -1;
		s->coherent = fdt_getprop(d->fdt, node, "dma-coherent", NULL) != NULL;
		d->smmu[hw->nsmmus++] = node;
	}
}

/* ranges: PCI address (3 cells, space code in bits 24-25 of the first),
 * CPU address (parent's #address-cells), size (our #size-cells). The first
 * window of each kind is kept, as drivers/pci.c does. */
static int pci_windows(struct dt *d, int node)
{
	int parent = fdt_parent_offset(d->fdt, node), len;
	int pac = fdt_address_cells(d->fdt, parent), sc = fdt_size_cells(d->fdt, node);
	const fdt32_t *p = fdt_getprop(d->fdt, node, "ranges", &len);
	if (!p || len <= 0)
		return 0;
	if (fdt_address_cells(d->fdt, node) != 3 || pac < 1 || pac > 2 || sc < 1 || sc > 2)
		return fail(d, node, "ranges: #address-cells must be 3 and #size-cells 1 or 2");
	int entry = 3 + pac + sc;
	if (len % (entry * 4))
		return fail(d, node, "ranges: %d bytes is not a whole number of entries", len);
	for (int i = 0; i < len / 4; i += entry) {
		unsigned space = (fdt32_ld(p + i) >> 24) & 3;
		struct hw_pci_window *w = space == 1   ? &d->hw->pci.io
					  : space == 2 ? &d->hw->pci.mmio32
					  : space == 3 ? &d->hw->pci.mmio64
						       : NULL;
		if (w && !w->size)
			*w = (struct hw_pci_window){read_cells(p + i + 3, pac),
						    read_cells(p + i + 1, 2),
						    read_cells(p + i + 3 + pac, sc)};
	}
	return 0;
}

static int smmu_index(struct dt *d, int node)
{
	for (uint32_t i = 0; i < d->hw->nsmmus; i++)
		if (d->smmu[i] == node)
			return (int)i;
	return -1;
}

/* iommu-map: <rid-base iommu specifier... length>, the specifier being the
 * target's #iommu-cells long; only entries naming one of our SMMUs count. */
static int pci_iommu_map(struct dt *d, int node)
{
	int len;
	const fdt32_t *map = fdt_getprop(d->fdt, node, "iommu-map", &len);
	const fdt32_t *mask = fdt_getprop(d->fdt, node, "iommu-map-mask", NULL);
	d->hw->rid_mask = mask ? fdt32_ld(mask) : 0xffffffffu;
	int n = map ? len / 4 : 0;
	for (int i = 0, entry = 0; i < n; entry++) {
		int target =
		    i + 1 < n ? fdt_node_offset_by_phandle(d->fdt, fdt32_ld(map + i + 1)) : -1;
		if (target < 0)
			return fail(d, node, "iommu-map entry %d names no node", entry);
		const fdt32_t *c = fdt_getprop(d->fdt, target, "#iommu-cells", NULL);
		int cells = c ? (int)fdt32_ld(c) : 1, step = 3 + cells,
		    smmu = smmu_index(d, target);
		if (cells < 0 || cells > 4 || i + step > n)
			return fail(d, node, "iommu-map entry %d is cut short", entry);
		if (smmu >= 0 && cells >= 1) {
			if (d->hw->nridmaps == HW_MAX_RIDMAPS)
				return fail(d, node, "iommu-map has more than %d entries",
					    HW_MAX_RIDMAPS);
			d->hw->ridmap[d->hw->nridmaps++] =
			    (struct hw_ridmap){fdt32_ld(map + i), fdt32_ld(map + i + step - 1),
					       fdt32_ld(map + i + 2), (uint32_t)smmu};
		}
		i += step;
	}
	return 0;
}

static int find_pci(struct dt *d)
{
	struct hw_pci *pci = &d->hw->pci;
	int node = find_compatible(d->fdt, "pci-host-ecam-generic"), len;
	d->hw->rid_mask = 0xffffffffu;
	if (node < 0)
		return 0;
	if (need_reg(d, node, 0, "the ECAM", &pci->ecam_base, &pci->ecam_size))
		return -1;
	if (pci->ecam_size < (1u << 20))
		return fail(d, node, "reg: ECAM of %llu bytes is not even one bus",
			    (unsigned long long)pci->ecam_size);
	const fdt32_t *buses = fdt_getprop(d->fdt, node, "bus-range", &len);
	uint32_t start = buses && len >= 8 ? fdt32_ld(buses) : 0;
	uint32_t end = buses && len >= 8 ? fdt32_ld(buses + 1) : 255;
	if (start > end || end > 255)
		return fail(d, node, "bus-range %u-%u", start, end);
	const fdt32_t *domain = fdt_getprop(d->fdt, node, "linux,pci-domain", &len);
	pci->segment = domain && len == 4 ? (uint16_t)fdt32_ld(domain) : 0;
	pci->bus_start = (uint8_t)start;
	pci->bus_end = (uint8_t)end;
	pci->present = 1;
	return pci_windows(d, node) || pci_iommu_map(d, node) ? -1 : 0;
}

int hw_from_fdt(const void *fdt, struct hw_desc *hw, char *err, size_t errlen)
{
	struct dt d = {.fdt = fdt, .hw = hw, .err = err, .errlen = errlen, .gic = -1};
	memset(hw, 0, sizeof(*hw));
	hw->source = HW_FROM_DT;
	int e = fdt_check_header(fdt);
	if (e)
		return hw_fail(err, errlen, "device tree: bad header (%s)", fdt_strerror(e));
	find_psci(&d);
	if (find_cpus(&d) || find_gic(&d) || find_timer(&d) || find_uart(&d) || find_smmus(&d) ||
	    find_pci(&d))
		return -1;
	return 0;
}

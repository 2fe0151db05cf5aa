/*
 * SMMUv3 discovery: finds the "arm,smmu-v3" DT node, maps its registers and
 * reads the ID registers. Read-only: the SMMU is left exactly as firmware
 * left it (on QEMU, disabled and bypassing) until the driver takes over.
 */
#include "smmu/smmu.h"
#include "arch/arm64/arch.h"
#include "lib/log.h"
#include <errno.h>
#include <string.h>
#include <libfdt.h>

/* Register page 0 offsets (Arm IHI 0070, 6.2). */
#define SMMU_IDR0 0x00
#define SMMU_IDR1 0x04
#define SMMU_IDR5 0x14
#define SMMU_AIDR 0x1c

/* GIC interrupt specifier types (bindings/interrupt-controller/arm,gic-v3). */
#define GIC_SPI 0
#define GIC_PPI 1

static uint64_t read_cells(const fdt32_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 32) | fdt32_ld(p + i);
	return v;
}

static bool node_enabled(const void *fdt, int node)
{
	const char *s = fdt_getprop(fdt, node, "status", NULL);

	return !s || !strcmp(s, "okay") || !strcmp(s, "ok");
}

/* reg is in the parent's address space, so the parent's cells size it. */
static int parse_reg(const void *fdt, int node, struct smmu_info *info)
{
	int parent = fdt_parent_offset(fdt, node), len;
	int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
	const fdt32_t *p = fdt_getprop(fdt, node, "reg", &len);

	if (ac < 1 || ac > 2 || sc < 1 || sc > 2 || !p || len < (ac + sc) * 4)
		return -EINVAL;
	info->base = read_cells(p, ac);
	info->size = read_cells(p + ac, sc);
	return info->size ? 0 : -EINVAL;
}

/* The interrupt parent is inherited down the tree (QEMU sets it at the
 * root). Returns its #interrupt-cells, or 0 if it is not a GICv3, whose
 * specifier layout the INTID arithmetic below assumes. */
static int gic_irq_cells(const void *fdt, int node)
{
	const fdt32_t *ph = NULL;

	for (; node >= 0 && !ph; node = fdt_parent_offset(fdt, node))
		ph = fdt_getprop(fdt, node, "interrupt-parent", NULL);
	int gic = ph ? fdt_node_offset_by_phandle(fdt, fdt32_ld(ph)) : -1;
	if (gic < 0 || fdt_node_check_compatible(fdt, gic, "arm,gic-v3") != 0)
		return 0;
	const fdt32_t *cells = fdt_getprop(fdt, gic, "#interrupt-cells", NULL);
	return cells ? (int)fdt32_ld(cells) : 3;
}

/* The INTID of the interrupt called name in "interrupt-names"; 0 if the
 * node has none by that name. */
static unsigned irq_by_name(const void *fdt, int node, int cells, const char *name)
{
	int idx = fdt_stringlist_search(fdt, node, "interrupt-names", name), len;
	const fdt32_t *p = fdt_getprop(fdt, node, "interrupts", &len);

	if (idx < 0 || cells < 2 || !p || (idx + 1) * cells * 4 > len)
		return 0;
	p += idx * cells;
	uint32_t type = fdt32_ld(p), num = fdt32_ld(p + 1);
	if (type == GIC_SPI)
		return num + 32; /* SPIs start at INTID 32 */
	if (type == GIC_PPI)
		return num + 16; /* PPIs start at INTID 16 */
	return 0;
}

static void parse_irqs(const void *fdt, int node, struct smmu_info *info)
{
	int cells = gic_irq_cells(fdt, node);

	info->irq_evtq = irq_by_name(fdt, node, cells, "eventq");
	info->irq_priq = irq_by_name(fdt, node, cells, "priq");
	info->irq_cmdq_sync = irq_by_name(fdt, node, cells, "cmdq-sync");
	info->irq_gerror = irq_by_name(fdt, node, cells, "gerror");
}

static int find_smmu(const void *fdt)
{
	int node = -1;

	do {
		node = fdt_node_offset_by_compatible(fdt, node, "arm,smmu-v3");
	} while (node >= 0 && !node_enabled(fdt, node));
	return node;
}

int smmu_probe(const void *fdt, struct smmu_info *info)
{
	int node = find_smmu(fdt), err;

	memset(info, 0, sizeof(*info));
	if (node < 0)
		return -ENODEV;
	err = parse_reg(fdt, node, info);
	if (err) {
		kprintf("smmu: bad reg in the DT node\n");
		return err;
	}
	info->regs = el2_map_device(info->base, info->size);
	if (!info->regs)
		return -ENOMEM;
	parse_irqs(fdt, node, info);
	/* ID registers only: reading them has no side effects. */
	info->idr0 = mmio_read32(info->regs + SMMU_IDR0);
	info->idr1 = mmio_read32(info->regs + SMMU_IDR1);
	info->idr5 = mmio_read32(info->regs + SMMU_IDR5);
	info->aidr = mmio_read32(info->regs + SMMU_AIDR);
	smmu_decode_idr(info->idr0, info->idr1, info->idr5, info->aidr, &info->f);
	return 0;
}

/*
 * PCI requester ID -> SMMU stream ID, from the host bridge's iommu-map
 * (Documentation/devicetree/bindings/pci/pci-iommu.txt): entries of
 * <rid-base iommu-phandle iommu-specifier length>, the RID first masked by
 * iommu-map-mask. Only entries pointing at an SMMUv3 count; the specifier
 * is #iommu-cells long (1 for SMMUv3: the stream ID base).
 */
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "smmu/smmu.h"

static int find_host_bridge(const void *fdt)
{
	int node = -1;

	for (;;) {
		node = fdt_node_offset_by_compatible(fdt, node, "pci-host-ecam-generic");
		if (node < 0)
			return node;
		const char *st = fdt_getprop(fdt, node, "status", NULL);
		if (!st || !strcmp(st, "okay") || !strcmp(st, "ok"))
			return node;
	}
}

/* #iommu-cells of the IOMMU phandle names (1 if unsaid, -1 if there is no
 * such node); *ours says whether it is an SMMUv3. */
static int iommu_cells(const void *fdt, uint32_t phandle, bool *ours)
{
	int node = fdt_node_offset_by_phandle(fdt, phandle);
	const fdt32_t *c;

	*ours = false;
	if (node < 0)
		return -1;
	*ours = fdt_node_check_compatible(fdt, node, "arm,smmu-v3") == 0;
	c = fdt_getprop(fdt, node, "#iommu-cells", NULL);
	return c ? (int)fdt32_ld(c) : 1;
}

static uint32_t rid_mask(const void *fdt, int node)
{
	const fdt32_t *m = fdt_getprop(fdt, node, "iommu-map-mask", NULL);

	return m ? fdt32_ld(m) : 0xffffffffu;
}

/* Entries are variable-length when they name different IOMMUs, so the
 * walk reads each one's #iommu-cells; a malformed tail ends it. */
int smmu_rid_lookup(const void *fdt, uint32_t rid, uint32_t *sid)
{
	int node = find_host_bridge(fdt), len;
	const fdt32_t *map = node >= 0 ? fdt_getprop(fdt, node, "iommu-map", &len) : NULL;
	uint32_t r = map ? rid & rid_mask(fdt, node) : rid;
	int n = map ? len / 4 : 0;

	for (int i = 0; i + 2 < n;) {
		uint32_t base = fdt32_ld(map + i);
		bool ours;
		int cells = iommu_cells(fdt, fdt32_ld(map + i + 1), &ours);
		int step = 3 + cells;

		if (cells < 0 || i + step > n)
			break;
		uint32_t length = fdt32_ld(map + i + step - 1);
		if (ours && cells >= 1 && r >= base && r - base < length) {
			*sid = fdt32_ld(map + i + 2) + (r - base);
			return 0;
		}
		i += step;
	}
	*sid = rid;
	return -ENOENT;
}

uint32_t smmu_rid_to_sid(const void *fdt, uint32_t rid)
{
	uint32_t sid;

	smmu_rid_lookup(fdt, rid, &sid);
	return sid;
}

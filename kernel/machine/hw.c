/* The machine as the firmware's device tree describes it. */
#include "kernel/machine/machine.h"
#include <errno.h>
#include <libfdt.h>
#include <string.h>

struct hw hw;

static uint64_t read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;
	for (int i = 0; i < cells; i++)
		v = v << 32 | fdt32_to_cpu(p[i]);
	return v;
}

int dt_reg(const void *fdt, int node, int idx, uint64_t *base, uint64_t *size)
{
	int parent = fdt_parent_offset(fdt, node), len;
	int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2)
		return -ENOENT;
	int stride = ac + sc;
	if ((idx + 1) * stride * 4 > len)
		return -ENOENT;
	*base = read_cells(reg + idx * stride, ac);
	*size = sc ? read_cells(reg + idx * stride + ac, sc) : 0;
	return 0;
}

int dt_irq(const void *fdt, int node, int idx, unsigned *intid)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, "interrupts", &len);
	if (!p || (idx + 1) * 12 > len)
		return -ENOENT;
	uint32_t type = fdt32_to_cpu(p[idx * 3]), num = fdt32_to_cpu(p[idx * 3 + 1]);
	*intid = num + (type == 1 ? 16 : 32);
	return 0;
}

static int find_cpus(const void *fdt)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), node;
	if (cpus < 0)
		return -ENODEV;
	fdt_for_each_subnode(node, fdt, cpus)
	{
		const char *type = fdt_getprop(fdt, node, "device_type", NULL);
		uint64_t mpidr, unused;
		if (!type || strcmp(type, "cpu") || dt_reg(fdt, node, 0, &mpidr, &unused))
			continue;
		if (hw.ncpus < MAX_CPUS)
			hw.mpidr[hw.ncpus++] = mpidr;
		hw.dt_cpus++;
	}
	return hw.ncpus ? 0 : -ENODEV;
}

static void find_psci(const void *fdt)
{
	static const char *const compat[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
	hw.psci = PSCI_NONE;
	for (unsigned i = 0; i < ARRAY_SIZE(compat); i++) {
		int node = fdt_node_offset_by_compatible(fdt, -1, compat[i]);
		const char *m = node >= 0 ? fdt_getprop(fdt, node, "method", NULL) : NULL;
		if (m) {
			hw.psci = strcmp(m, "hvc") == 0 ? PSCI_HVC : PSCI_SMC;
			return;
		}
	}
}

static int find_gic(const void *fdt)
{
	int node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
	if (node < 0 || dt_reg(fdt, node, 0, &hw.gic.gicd_base, &hw.gic.gicd_size) ||
	    dt_reg(fdt, node, 1, &hw.gic.gicr_base, &hw.gic.gicr_size))
		return -ENODEV;
	int its = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3-its");
	uint64_t unused;
	hw.gic.has_its = its >= 0 && dt_reg(fdt, its, 0, &hw.gic.its_base, &unused) == 0;
	return 0;
}

static int find_uart(const void *fdt)
{
	int chosen = fdt_path_offset(fdt, "/chosen"), node = -1;
	const char *path = chosen >= 0 ? fdt_getprop(fdt, chosen, "stdout-path", NULL) : NULL;
	if (path) {
		const char *colon = strchr(path, ':');
		node = fdt_path_offset_namelen(fdt, path,
					       colon ? (int)(colon - path) : (int)strlen(path));
	}
	if (node < 0)
		node = fdt_node_offset_by_compatible(fdt, -1, "arm,pl011");
	uint64_t size;
	if (node < 0 || dt_reg(fdt, node, 0, &hw.uart_base, &size))
		return -ENODEV;
	if (dt_irq(fdt, node, 0, &hw.uart_intid))
		hw.uart_intid = 0;
	return 0;
}

int hw_discover(const void *fdt)
{
	hw.fdt = fdt;
	find_psci(fdt);
	int e = find_uart(fdt);
	if (e)
		return e;
	if ((e = find_cpus(fdt)))
		return e;
	return find_gic(fdt);
}

/* The devices found at boot: the SMMUv3 (ID registers only; kernel/io takes
 * it over) and the PCIe functions behind the ECAM. Both drivers read device
 * tree nodes: they get the description as one (devtree.c), whether the
 * firmware gave a DT or ACPI. */
#include "kernel/machine/machine.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"

#define DEVTREE_SIZE (16u << 10)

static struct pci_host pci_host;
static int pci_err = -1;
static struct smmu_info smmu;
static int smmu_err = -1;

void devices_probe(void)
{
	void *fdt = pool_alloc(DEVTREE_SIZE);
	int e = hw_devtree_build(hw.desc, fdt, DEVTREE_SIZE);
	if (e)
		panic("cannot write the hardware description as a device tree (libfdt %d)", e);
	hw.fdt = fdt;
	smmu_err = smmu_probe(hw.fdt, &smmu);
	pci_err = pci_probe(hw.fdt, &pci_host);
}

const struct smmu_info *smmu_probed(void)
{
	return smmu_err ? NULL : &smmu;
}

const struct pci_host *pci_probed(int *err)
{
	if (err)
		*err = pci_err;
	return pci_err ? NULL : &pci_host;
}

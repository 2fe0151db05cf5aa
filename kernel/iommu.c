/* SMMU glue: being written. */
#include "kernel/internal.h"

int iommu_init(void)
{
	return 0;
}

int cmd_smmu(int argc, char **argv)
{
	kprintf("smmu: driver not built yet\n");
	return 1;
}

/* Placeholder until smmu/ provides the driver (remove then). */
bool smmu_handle_irq(unsigned intid)
{
	return false;
}

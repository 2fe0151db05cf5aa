/*
 * kernel/io/: the devices tessera keeps for itself. iommu.c takes the SMMUv3
 * over (every stream in abort, its interrupts routed, `smmu`); disk.c makes
 * the first NVMe controller tessera's own disk behind an SMMU domain of its
 * own (`disk`), disk_bench.c measures it. Uses kernel/machine and lib,
 * arch, drivers, smmu.
 */
#ifndef KERNEL_IO_H
#define KERNEL_IO_H

#include "kernel/machine/machine.h"

/* ---- SMMU glue (iommu.c) ---- */
int iommu_init(void);
int cmd_smmu(int argc, char **argv);

/* ---- the hypervisor's disk (disk.c) ---- */
void disk_init(void);
int cmd_disk(int argc, char **argv);
struct nvme_ctrl;
/* The hypervisor's disk and its SMMU stream (NULL if there is none). */
struct nvme_ctrl *disk_ctrl(uint32_t *sid);
/* Test-only `disk bench` (disk_bench.c). */
int disk_bench(void);

#endif

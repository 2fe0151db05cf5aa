/*
 * kernel/io/: the devices tessera keeps for itself. iommu.c takes the SMMUv3
 * over (every stream in abort, its interrupts routed, `smmu`); disk.c makes
 * the first NVMe controller tessera's own disk behind an SMMU domain of its
 * own (`disk`), disk_bench.c measures it, disk_test.c tests it. Uses kernel/machine and lib,
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
/*
 * Asynchronous block I/O on the hypervisor's disk (what snapshot code uses).
 * Fill in a struct nvme_req (drivers/drivers.h): op NVME_OP_READ,
 * NVME_OP_WRITE or NVME_OP_FLUSH; lba and nblocks (blocks of
 * disk_geometry's size, any count: the driver splits them into commands);
 * pa, the physical (identity-mapped) buffer of nblocks * block_size bytes,
 * 4-byte aligned and best page aligned (the SMMU maps whole pages while a
 * command runs); done and ctx. disk_submit returns at once: 0, -EINVAL
 * (range, alignment; logged) or -ENODEV (no disk). The request then belongs
 * to the driver until done(r, err) is called exactly once — from an
 * interrupt handler on the boot CPU (IRQs masked: keep it short; it may
 * submit again). Any CPU may submit; the boot CPU services the disk. err is 0, -EIO (device error
 * or DMA the SMMU blocked; logged) or -ETIMEDOUT. A command that gets no completion within 5 s
 * makes the driver reset and re-initialise the controller and send the request again from its first
 * block; a second timeout fails it. Nothing waits meanwhile: the CPU's guests keep running.
 */
struct nvme_req;
int disk_submit(struct nvme_req *r);
bool disk_geometry(uint32_t *block_size, uint64_t *blocks);
/* On the boot CPU: polls the driver when it is due and keeps the EL2
 * timer armed for the next time; the IRQ dispatch calls it after every
 * interrupt on every CPU. Cheap when the disk is idle. */
void disk_service(void);
/* When this CPU must next poll the disk (UINT64_MAX: never): whoever
 * programs the EL2 timer here (the scheduler) arms it no later than that. */
uint64_t disk_next_poll(void);
/* The scratch area `disk test` may overwrite: its first lba, block count. */
uint64_t disk_scratch(uint64_t *lba);
struct nvme_ctrl;
/* The hypervisor's disk and its SMMU stream (NULL if there is none). */
struct nvme_ctrl *disk_ctrl(uint32_t *sid);
/* The PCI function tessera keeps as its disk, enabled or not (NULL if none):
 * never a partition's. */
const struct pci_dev *disk_pci(void);
/* Test-only `disk bench` (disk_bench.c). */
int disk_bench(void);
/* `disk test [MiB]` (disk_test.c): starts the job and returns; progress and
 * the verdict are printed as it goes. */
int disk_test_start(const char *mib);
void disk_test_status(void);

#endif

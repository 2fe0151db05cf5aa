/*
 * The boot report: what tessera found and took. The same sections answer
 * the shell's info, cpus, mem and pci commands.
 */
#include "kernel/console/console.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"
#include <newlib.h>
#include <zstd.h>

#define MIB(x) ((unsigned long long)((x) >> 20))

void report_cpus(void)
{
	uint32_t v = psci_version();
	kprintf("cpus: %u online of %u (boot CPU %u, PSCI %u.%u via %s)\n", cpus_online(), hw.ncpus,
		boot_cpu, v >> 16, v & 0xffff, hw.psci == PSCI_HVC ? "hvc" : "smc");
	if (hw.dt_cpus > hw.ncpus)
		kprintf("cpus: %u more in the DT ignored (tessera supports %u)\n",
			hw.dt_cpus - hw.ncpus, MAX_CPUS);
}

void report_mem(void)
{
	uint64_t reserved = mem_stats.firmware + mem_stats.hyp;
	kprintf("ram: %llu MiB seen, %llu MiB reserved (firmware %llu MiB, tessera %llu MiB), "
		"%llu MiB free\n",
		MIB(mem_stats.seen), MIB(reserved), MIB(mem_stats.firmware), MIB(mem_stats.hyp),
		MIB(mr_total(mem_free_map())));
}

static void report_gic(void)
{
	const struct gic_info *g = gic_get_info();
	kprintf("gic: GICv%u, distributor 0x%llx, redistributors 0x%llx, %u interrupt lines, "
		"%u list registers, ITS %s",
		g->version, (unsigned long long)g->gicd_base, (unsigned long long)g->gicr_base,
		g->spis, g->lrs, g->has_its ? "present" : "none");
	if (g->has_its)
		kprintf(" at 0x%llx", (unsigned long long)g->its_base);
	kprintf("\n");
}

static void report_smmu(void)
{
	char buf[192];
	const struct smmu_info *smmu = smmu_probed();
	if (!smmu) {
		kprintf("smmu: no SMMUv3 found\n");
		return;
	}
	smmu_features_str(&smmu->f, buf, sizeof(buf));
	kprintf("smmu: SMMUv3 at 0x%llx: %s\n", (unsigned long long)smmu->base, buf);
}

void report_pci(void)
{
	int pci_err;
	const struct pci_host *host = pci_probed(&pci_err);
	if (!host) {
		kprintf("pci: no PCIe host bridge (%d)\n", pci_err);
		return;
	}
	kprintf("pci: ECAM at 0x%llx, buses %u-%u, %u functions\n",
		(unsigned long long)host->ecam_base, host->bus_start, host->bus_end, host->ndevs);
	for (unsigned i = 0; i < host->ndevs; i++) {
		const struct pci_dev *d = &host->devs[i];
		kprintf("pci: %02x:%02x.%u %04x:%04x %s\n", d->bus, d->dev, d->fn, d->vendor,
			d->device, pci_class_name(d->class_code));
	}
}

void report_print(void)
{
	kprintf("tessera %s - static-partitioning hypervisor at EL2\n", TESSERA_VERSION);
	kprintf("firmware: %s rev 0x%x; built with newlib %s, libfdt, zstd %s\n",
		boot_info->fw_vendor, boot_info->fw_revision, _NEWLIB_VERSION,
		ZSTD_versionString());
	kprintf("image: 0x%llx (%llu KiB)\n", (unsigned long long)boot_info->image_base,
		(unsigned long long)(boot_info->image_size >> 10));
	report_cpus();
	report_mem();
	report_gic();
	report_smmu();
	report_pci();
	kprintf("config: %s\n", hyp_config.present ? "\\tessera\\config.dtb" : "none (defaults)");
}

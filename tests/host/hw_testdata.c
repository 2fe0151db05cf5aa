/* QEMU virt's firmware tables for the host tests (see hw_testdata.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/host/hw_testdata.h"

void *load_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run the host tests from the top of the tree)", path);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *data = malloc(size ? (size_t)size : 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return data;
}

static const void *image_map(void *ctx, uint64_t pa, uint64_t len)
{
	struct acpi_image *img = ctx;
	for (unsigned i = 0; i < img->n; i++) {
		struct acpi_blob *b = &img->blob[i];
		if (pa >= b->pa && pa - b->pa <= b->len && len <= b->len - (pa - b->pa))
			return b->data + (pa - b->pa);
	}
	return NULL;
}

void acpi_image_load(struct acpi_image *img)
{
	char line[128], path[160];
	FILE *f = fopen(QEMU_DATA "/acpi/tables.txt", "r");
	assert_non_null(f);
	memset(img, 0, sizeof(*img));
	while (fgets(line, sizeof(line), f)) {
		struct acpi_blob *b = &img->blob[img->n];
		unsigned long long pa;
		unsigned len;
		if (line[0] == '#' || sscanf(line, "%4s 0x%llx %u", b->sig, &pa, &len) != 3)
			continue;
		size_t got;
		snprintf(path, sizeof(path), QEMU_DATA "/acpi/%s.bin", b->sig);
		b->data = load_file(path, &got);
		assert_int_equal(got, len);
		b->pa = pa;
		b->len = len;
		if (!strcmp(b->sig, "RSDP"))
			img->rsdp = pa;
		assert_true(++img->n < sizeof(img->blob) / sizeof(img->blob[0]));
	}
	fclose(f);
	assert_true(img->rsdp != 0);
	img->mem = (struct acpi_mem){image_map, img};
}

void acpi_image_free(struct acpi_image *img)
{
	for (unsigned i = 0; i < img->n; i++)
		free(img->blob[i].data);
	img->n = 0;
}

struct acpi_blob *acpi_blob(struct acpi_image *img, const char *sig)
{
	for (unsigned i = 0; i < img->n; i++)
		if (!strcmp(img->blob[i].sig, sig))
			return &img->blob[i];
	fail_msg("no %s in the test data", sig);
	return NULL;
}

static void fix(uint8_t *p, uint32_t len, uint32_t at)
{
	uint8_t sum = 0;
	p[at] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)-sum;
}

void acpi_fix_checksum(struct acpi_blob *b)
{
	if (!strcmp(b->sig, "RSDP")) {
		fix(b->data, 20, 8);
		fix(b->data, b->len, 32);
	} else {
		uint32_t len =
		    b->data[4] | b->data[5] << 8 | b->data[6] << 16 | (uint32_t)b->data[7] << 24;
		fix(b->data, len < b->len ? len : b->len, 9);
	}
}

#define SAME(field)                                                                                \
	do {                                                                                       \
		if ((a)->field != (b)->field)                                                      \
			fail_msg("%s differs: 0x%llx and 0x%llx", #field,                          \
				 (unsigned long long)(a)->field, (unsigned long long)(b)->field);  \
	} while (0)

static void same_pci(const struct hw_pci *a, const struct hw_pci *b)
{
	SAME(present);
	SAME(segment);
	SAME(bus_start);
	SAME(bus_end);
	SAME(ecam_base);
	SAME(ecam_size);
	SAME(mmio32.cpu);
	SAME(mmio32.pci);
	SAME(mmio32.size);
	SAME(mmio64.cpu);
	SAME(mmio64.pci);
	SAME(mmio64.size);
	SAME(io.cpu);
	SAME(io.pci);
	SAME(io.size);
}

static void same_smmu(const struct hw_smmu *a, const struct hw_smmu *b)
{
	SAME(base);
	SAME(size);
	SAME(irq_evtq);
	SAME(irq_priq);
	SAME(irq_gerror);
	SAME(irq_cmdq_sync);
	SAME(coherent);
}

static unsigned smmu_maps(const struct hw_desc *d, struct hw_ridmap *out, int skip_direct)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < d->nridmaps; i++)
		if (!skip_direct || d->ridmap[i].smmu != HW_NO_SMMU)
			out[n++] = d->ridmap[i];
	return n;
}

void assert_hw_equal(const struct hw_desc *a, const struct hw_desc *b, int skip_direct)
{
	SAME(ncpus);
	SAME(cpus_described);
	for (uint32_t i = 0; i < a->ncpus; i++)
		SAME(mpidr[i]);
	SAME(psci);
	SAME(gic.gicd_base);
	SAME(gic.gicd_size);
	SAME(gic.gicr_base);
	SAME(gic.gicr_size);
	SAME(gic.its_base);
	SAME(gic.version);
	SAME(gic.maint_intid);
	SAME(timer.el1_phys);
	SAME(timer.virt);
	SAME(timer.el2_phys);
	SAME(timer.el1_secure);
	SAME(pmu_intid);
	SAME(uart.base);
	SAME(uart.intid);
	same_pci(&a->pci, &b->pci);
	SAME(nsmmus);
	for (uint32_t i = 0; i < a->nsmmus; i++)
		same_smmu(&a->smmu[i], &b->smmu[i]);
	SAME(rid_mask);
	struct hw_ridmap ma[HW_MAX_RIDMAPS], mb[HW_MAX_RIDMAPS];
	unsigned na = smmu_maps(a, ma, skip_direct), nb = smmu_maps(b, mb, skip_direct);
	assert_int_equal(na, nb);
	for (unsigned i = 0; i < na; i++) {
		assert_int_equal(ma[i].rid_base, mb[i].rid_base);
		assert_int_equal(ma[i].count, mb[i].count);
		assert_int_equal(ma[i].sid_base, mb[i].sid_base);
		assert_int_equal(ma[i].smmu, mb[i].smmu);
	}
}

void assert_qemu_virt_cpus(const struct hw_desc *d)
{
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(d->mpidr[i], i);
	assert_int_equal(d->psci, HW_PSCI_SMC);
}

void assert_qemu_virt_devices(const struct hw_desc *d)
{
	assert_int_equal(d->timer.el1_secure, 29);
	assert_int_equal(d->timer.el1_phys, 30);
	assert_int_equal(d->timer.virt, 27);
	assert_int_equal(d->timer.el2_phys, 26);
	assert_int_equal(d->pmu_intid, 23);
	assert_int_equal(d->uart.base, 0x9000000);
	assert_int_equal(d->uart.intid, 33);
	assert_true(d->pci.present);
	assert_int_equal(d->pci.ecam_base, 0x4010000000ull);
}

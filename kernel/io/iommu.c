/*
 * SMMU glue: hands the SMMUv3 that devices_probe found to the driver in
 * smmu/, with table and queue memory from the physical allocator, and
 * answers the `smmu` shell command. The SMMU's interrupts reach the driver
 * directly (irq_dispatch calls smmu_handle_irq).
 */
#include "kernel/io/io.h"
#include "smmu/smmu.h"
#include <errno.h>
#include <string.h>

/* All RAM is identity-mapped at EL2, so the physical address is the
 * pointer; the driver's contract wants it zeroed. */
static void *iommu_alloc(uint64_t size, uint64_t align)
{
	uint64_t pa = mem_alloc(size, align);

	if (!pa)
		return NULL;
	memset((void *)(uintptr_t)pa, 0, size);
	return (void *)(uintptr_t)pa;
}

static void iommu_free(void *p, uint64_t size)
{
	mem_free((uintptr_t)p, size);
}

static const struct smmu_mem_ops iommu_mem = {.alloc = iommu_alloc, .free = iommu_free};

/* A failure is reported and the machine keeps running; the driver has
 * already said why, and left the SMMU disabled with GBPA aborting. */
int iommu_init(void)
{
	const struct smmu_info *info = smmu_probed();
	int e;

	if (!info) {
		kprintf("smmu: no SMMUv3: DMA from devices is not confined\n");
		return -ENODEV;
	}
	e = smmu_init(info, &iommu_mem);
	if (e)
		kprintf("smmu: initialisation failed (%s); the SMMU stays disabled\n",
			strerror(-e));
	return e;
}

/* ---- `smmu test` (test-commands only): the driver's API end to end on a
 * stream no device uses, checked through translation and the counters ---- */

static unsigned test_fails;

static void check(const char *what, bool ok)
{
	kprintf("smmu test: %-44s %s\n", what, ok ? "ok" : "FAILED");
	test_fails += !ok;
}

/* The highest SID of the PCI requester-ID space: bus ff, device 1f, fn 7. */
static uint32_t test_sid(void)
{
	unsigned bits = MIN(smmu_probed()->f.sid_bits, 16u);

	return (1u << bits) - 1;
}

static void test_pages(struct smmu_domain *d, uint64_t pa)
{
	uint64_t out = 0;

	check("map one page", !smmu_map(d, 0x10000, pa, PAGE_SIZE, SMMU_READ | SMMU_WRITE));
	check("translate it", !smmu_translate(d, 0x10123, &out) && out == pa + 0x123);
	check("remap read-only (break-before-make)",
	      !smmu_map(d, 0x10000, pa, PAGE_SIZE, SMMU_READ));
	check("unmap it", !smmu_unmap(d, 0x10000, PAGE_SIZE));
	check("translate after unmap is -ENOENT", smmu_translate(d, 0x10000, &out) == -ENOENT);
	check("unaligned map is -EINVAL",
	      smmu_map(d, 0x10800, pa, PAGE_SIZE, SMMU_READ) == -EINVAL);
}

/* Unmapping one page out of a 2 MiB block splits it: a wide invalidation. */
static void test_block(struct smmu_domain *d, uint64_t pa)
{
	uint64_t out = 0;

	check("map a 2 MiB block", !smmu_map(d, SZ_2M, pa, SZ_2M, SMMU_READ | SMMU_WRITE));
	check("unmap one page inside it", !smmu_unmap(d, SZ_2M + PAGE_SIZE, PAGE_SIZE));
	check("its neighbour still translates",
	      !smmu_translate(d, SZ_2M + 2 * PAGE_SIZE, &out) && out == pa + 2 * PAGE_SIZE);
	check("unmap the rest", !smmu_unmap(d, SZ_2M, SZ_2M));
}

static void test_streams(struct smmu_domain *d)
{
	uint32_t sid = test_sid();

	check("attach", !smmu_attach(d, sid));
	check("attach again is -EBUSY", smmu_attach(d, sid) == -EBUSY);
	check("detach", !smmu_detach(sid));
	check("detach again is -ENOENT", smmu_detach(sid) == -ENOENT);
}

static int smmu_selftest(void)
{
	const struct smmu_owner owner = {SMMU_OWNER_HYP, "selftest"};
	const struct smmu_stats *st = smmu_get_stats();
	uint64_t gerrors = st->gerrors, timeouts = st->cmd_timeouts;
	uint64_t page = mem_alloc(PAGE_SIZE, PAGE_SIZE), block = mem_alloc(SZ_2M, SZ_2M);
	struct smmu_domain *d = smmu_domain_create(&owner, 48);

	test_fails = 0;
	check("create a domain", d && page && block);
	if (d && page && block) {
		test_pages(d, page);
		test_block(d, block);
		test_streams(d);
	}
	smmu_domain_destroy(d);
	check("no global errors", smmu_get_stats()->gerrors == gerrors);
	check("no command timeouts", smmu_get_stats()->cmd_timeouts == timeouts);
	if (page)
		mem_free(page, PAGE_SIZE);
	if (block)
		mem_free(block, SZ_2M);
	kprintf("smmu test: %s\n", test_fails ? "FAILED" : "all passed");
	return test_fails ? 1 : 0;
}

int cmd_smmu(int argc, char **argv)
{
	if (argc == 1) {
		smmu_print_status();
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "test") && hyp_config.test_commands) {
		if (!smmu_ready()) {
			kprintf("smmu: not enabled\n");
			return 1;
		}
		return smmu_selftest();
	}
	kprintf("usage: smmu%s\n", hyp_config.test_commands ? " [test]" : "");
	return 1;
}

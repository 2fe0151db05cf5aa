/*
 * `disk bench` (test-only): what SMMU translation costs the disk. Run under
 * QEMU -icount, counter deltas are instruction counts; `make bench` parses
 * the lines printed here.
 */
#include "kernel/io/io.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"
#include <errno.h>

#define BENCH_MIB	   32
#define SCRATCH_BLOCKS(in) ((64ull << 20) / (in)->block_size)
#define MAP_ROUNDS_4K	   1000
#define MAP_ROUNDS_2M	   100

static uint64_t ns(uint64_t ticks)
{
	return ticks * 1000000000ull / timer_freq();
}

/* Writes then reads BENCH_MIB MiB; ticks of each in t[0], t[1]. */
static int io_pass(struct nvme_ctrl *c, void *buf, uint64_t t[2])
{
	const struct nvme_info *in = nvme_get_info(c);
	uint64_t n = ((uint64_t)BENCH_MIB << 20) / in->block_size;
	uint64_t lba = in->blocks - SCRATCH_BLOCKS(in), t0 = timer_now();
	int e = nvme_write(c, lba, (uint32_t)n, buf);
	uint64_t t1 = timer_now();
	if (!e)
		e = nvme_read(c, lba, (uint32_t)n, buf);
	t[0] = t1 - t0;
	t[1] = timer_now() - t1;
	return e;
}

static void print_pass(const char *mode, const uint64_t t[2])
{
	kprintf("disk bench: %s: write %llu ns, read %llu ns for %u MiB\n", mode,
		(unsigned long long)ns(t[0]), (unsigned long long)ns(t[1]), BENCH_MIB);
}

static int throughput(struct nvme_ctrl *c, uint32_t sid)
{
	uint64_t size = (uint64_t)BENCH_MIB << 20, tt[2], tb[2];
	void *buf = (void *)mem_alloc(size, PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	int e = io_pass(c, buf, tt);
	if (!e && !(e = smmu_set_bypass(sid, true))) {
		e = io_pass(c, buf, tb);
		int r = smmu_set_bypass(sid, false);
		e = e ? e : r;
	}
	mem_free((uint64_t)buf, size);
	if (!e) {
		print_pass("translated", tt);
		print_pass("bypass", tb);
	}
	return e;
}

/* Average instructions of one map + unmap of size bytes in a scratch domain. */
static int map_cost(uint64_t size, unsigned rounds, uint64_t *map_ns, uint64_t *unmap_ns)
{
	static const struct smmu_owner owner = {SMMU_OWNER_HYP, "bench (scratch)"};
	struct smmu_domain *d = smmu_domain_create(&owner, 48);
	uint64_t tm = 0, tu = 0, iova = 1ull << 30, pa = mem_alloc(size, size);
	int e = d && pa ? 0 : -ENOMEM;
	for (unsigned i = 0; i < rounds && !e; i++) {
		uint64_t t0 = timer_now();
		e = smmu_map(d, iova, pa, size, SMMU_READ | SMMU_WRITE);
		uint64_t t1 = timer_now();
		if (!e)
			e = smmu_unmap(d, iova, size);
		tm += t1 - t0;
		tu += timer_now() - t1;
	}
	if (pa)
		mem_free(pa, size);
	if (d)
		smmu_domain_destroy(d);
	*map_ns = ns(tm) / rounds;
	*unmap_ns = ns(tu) / rounds;
	return e;
}

int disk_bench(void)
{
	uint32_t sid;
	struct nvme_ctrl *c = disk_ctrl(&sid);
	uint64_t m4, u4, m2, u2;
	if (!c) {
		kprintf("disk bench: no disk\n");
		return 1;
	}
	int e = throughput(c, sid);
	if (!e)
		e = map_cost(PAGE_SIZE, MAP_ROUNDS_4K, &m4, &u4);
	if (!e)
		e = map_cost(SZ_2M, MAP_ROUNDS_2M, &m2, &u2);
	if (e) {
		kprintf("disk bench: FAIL (%d)\n", e);
		return 1;
	}
	kprintf("disk bench: map 4K %llu ns, unmap 4K %llu ns, map 2M %llu ns, unmap 2M %llu ns "
		"(%s)\n",
		(unsigned long long)m4, (unsigned long long)u4, (unsigned long long)m2,
		(unsigned long long)u2, smmu_stage_name());
	return 0;
}

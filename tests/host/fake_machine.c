/*
 * The fake machine under kernel/vm in host tests: kernel/machine's globals
 * (hw, boot_info), a RAM pool handed to the real kernel/machine/mem.c, a
 * raw kernel file, a config DTB built from specs for the real
 * partitions_init, and kprintf captured through lib/log.c's sink.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/fake.h"
#include "kernel/io/io.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"
#include <errno.h>

struct hw hw;
unsigned boot_cpu;
const struct boot_info *boot_info;

static struct boot_info bi;
static void *pool;
static uint32_t kernel_file[FAKE_KERNEL_WORDS];
static char cfg_blob[16384];
static char log_buf[65536];
static size_t log_len;

static void log_putc(char c)
{
	if (c != '\r' && log_len < sizeof(log_buf) - 1)
		log_buf[log_len++] = c;
}

const char *fake_log(void)
{
	log_buf[log_len] = 0;
	return log_buf;
}

void fake_log_clear(void)
{
	log_len = 0;
}

bool fake_log_has(const char *s)
{
	return strstr(fake_log(), s) != NULL;
}

static void ok(int e)
{
	assert_int_equal(e, 0);
}

void (*fake_config_extra)(void *blob);

static const void *config(const struct fake_part_spec *specs, unsigned n)
{
	ok(fdt_create(cfg_blob, sizeof(cfg_blob)));
	ok(fdt_finish_reservemap(cfg_blob));
	ok(fdt_begin_node(cfg_blob, ""));
	ok(fdt_property_string(cfg_blob, "compatible", "tessera,config-v1"));
	ok(fdt_begin_node(cfg_blob, "partitions"));
	for (unsigned i = 0; i < n; i++) {
		const struct fake_part_spec *s = &specs[i];
		fdt32_t cpus[64];
		int nc = 0;
		for (unsigned c = 0; c < 64; c++)
			if (s->cpu_mask & BIT(c))
				cpus[nc++] = cpu_to_fdt32(c);
		ok(fdt_begin_node(cfg_blob, s->name));
		ok(fdt_property(cfg_blob, "cpus", cpus, nc * 4));
		ok(fdt_property_u64(cfg_blob, "memory", (s->mem_mib ? s->mem_mib : 16) << 20));
		if (s->mem_base)
			ok(fdt_property_u64(cfg_blob, "memory-base", s->mem_base));
		if (s->vcpus)
			ok(fdt_property_u32(cfg_blob, "vcpus", s->vcpus));
		ok(fdt_property_string(cfg_blob, "kernel", FAKE_KERNEL));
		ok(fdt_property_string(cfg_blob, "kernel-format", "raw"));
		ok(fdt_property_u64(cfg_blob, "load-address", FAKE_LOAD_ADDR));
		ok(fdt_property(cfg_blob, "no-autostart", NULL, 0));
		if (s->restore)
			ok(fdt_property_string(cfg_blob, "restore", s->restore));
		if (s->prio)
			ok(fdt_property_u32(cfg_blob, "sched-priority", s->prio));
		if (s->budget_us)
			ok(fdt_property_u32(cfg_blob, "sched-budget-us", s->budget_us));
		if (s->period_us)
			ok(fdt_property_u32(cfg_blob, "sched-period-us", s->period_us));
		ok(fdt_end_node(cfg_blob));
	}
	ok(fdt_end_node(cfg_blob));
	if (fake_config_extra)
		fake_config_extra(cfg_blob);
	ok(fdt_end_node(cfg_blob));
	ok(fdt_finish(cfg_blob));
	return cfg_blob;
}

void fake_world(const struct fake_part_spec *specs, unsigned n)
{
	fake_arch_reset();
	fake.now = 1000000000ull; /* 1 s after boot: partitions get a CNTVOFF != 0 */
	fake_log_clear();
	log_set_sink(log_putc);
	memset(partitions, 0, sizeof(partitions));
	npartitions = 0;
	if (!pool) {
		pool = aligned_alloc(SZ_2M, FAKE_POOL_SIZE);
		assert_non_null(pool);
	}
	memset(pool, 0xee, FAKE_POOL_SIZE); /* free memory holds junk */
	for (unsigned i = 0; i < ARRAY_SIZE(kernel_file); i++)
		kernel_file[i] = 0xd503201fu + i; /* "nop"s, numbered */
	hw = (struct hw){.ncpus = FAKE_NCPUS, .psci = PSCI_HVC};
	hw.gic.lrs = 4;
	bi = (struct boot_info){.magic = BOOT_INFO_MAGIC, .n_mem = 1, .n_modules = 1};
	bi.mem[0] =
	    (struct boot_mem_range){(uint64_t)(uintptr_t)pool, FAKE_POOL_SIZE, BOOT_MEM_FREE, 7};
	strcpy(bi.modules[0].path, FAKE_KERNEL);
	bi.modules[0].base = (uint64_t)(uintptr_t)kernel_file;
	bi.modules[0].size = sizeof(kernel_file);
	bi.config = config(specs, n);
	bi.config_size = fdt_totalsize(cfg_blob);
	boot_info = &bi;
	/* mem.c's free list is static: empty it (it is not const) for a new world */
	*(struct memmap *)mem_free_map() = (struct memmap){0};
	mem_stats = (struct mem_stats){0};
	mem_init(&bi);
	partitions_init(&bi);
	assert_int_equal(npartitions, n);
}

struct boot_module *fake_kernel_module(void)
{
	return &bi.modules[0];
}

const uint32_t *fake_kernel_data(void)
{
	return kernel_file;
}

/* kernel/io: the disk's next poll shares the EL2 timer (sched.c) */
uint64_t disk_next_poll(void)
{
	return fake.disk_next_poll;
}

/* A memory disk: requests complete at once, inside disk_submit. */
struct fake_disk fake_disk;

bool disk_geometry(uint32_t *block_size, uint64_t *blocks)
{
	if (!fake_disk.data)
		return false;
	*block_size = FAKE_DISK_BLOCK;
	*blocks = fake_disk.blocks;
	return true;
}

uint64_t disk_scratch(uint64_t *lba)
{
	*lba = fake_disk.blocks - FAKE_DISK_SCRATCH / FAKE_DISK_BLOCK;
	return FAKE_DISK_SCRATCH / FAKE_DISK_BLOCK;
}

int disk_submit(struct nvme_req *r)
{
	if (!fake_disk.data)
		return -ENODEV;
	if (r->op != NVME_OP_FLUSH && r->lba + r->nblocks > fake_disk.blocks)
		return -EINVAL;
	int err = 0;
	if (fake_disk.fail_in && --fake_disk.fail_in == 0)
		err = -EIO; /* this one and every later request fail */
	if (fake_disk.failed)
		err = -EIO;
	fake_disk.failed = err != 0;
	uint8_t *at = fake_disk.data + r->lba * FAKE_DISK_BLOCK;
	size_t n = r->nblocks * FAKE_DISK_BLOCK;
	if (!err && r->op == NVME_OP_READ)
		memcpy((void *)(uintptr_t)r->pa, at, n);
	else if (!err && r->op == NVME_OP_WRITE)
		memcpy(at, (const void *)(uintptr_t)r->pa, n);
	fake_disk.requests++;
	fake.now += 1000; /* a microsecond each: jobs take time */
	r->done(r, err);
	return 0;
}

void fake_disk_attach(uint64_t mib)
{
	free(fake_disk.data);
	fake_disk = (struct fake_disk){0};
	if (!mib)
		return;
	fake_disk.blocks = (mib << 20) / FAKE_DISK_BLOCK;
	fake_disk.data = calloc(1, mib << 20);
	assert_non_null(fake_disk.data);
}

uint64_t fake_pool_base(void)
{
	return (uint64_t)(uintptr_t)pool;
}

uint64_t fake_free_bytes(void)
{
	return mr_total(mem_free_map());
}

void fake_run_jobs(void)
{
	unsigned was = fake.cur;
	for (bool again = true; again;) {
		again = false;
		for (unsigned c = 0; c < FAKE_NCPUS; c++)
			if (lc_job_pending(c)) {
				fake_set_cpu(c);
				lc_run_job(c);
				again = true;
			}
	}
	fake_set_cpu(was);
}

void fake_start(struct partition *p)
{
	assert_int_equal(partition_start(p), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(p), PART_RUNNING);
}

void fake_load(struct vcpu *v)
{
	fake_set_cpu(v->pcpu);
	assert_true(lc_claim(&v->part->lc, v->idx));
	vcpu_ctx_load(&v->ctx);
	guest_hcr_set(true);
	percpu_data[v->pcpu].loaded = v;
}

/* ---- no PCI devices, no SMMU: partitions have no assigned functions ---- */
const struct pci_dev *disk_pci(void)
{
	return NULL;
}
const struct pci_host *pci_get_host(void)
{
	return NULL;
}
bool pci_quiesce(const struct pci_dev *d)
{
	return false;
}
bool smmu_ready(void)
{
	return false;
}
int smmu_rid_lookup(const void *fdt, uint32_t rid, uint32_t *sid)
{
	*sid = rid;
	return -ENOENT;
}
struct smmu_domain *smmu_domain_create(const struct smmu_owner *owner, unsigned ia_bits)
{
	return NULL;
}
void smmu_domain_destroy(struct smmu_domain *d)
{
}
int smmu_map(struct smmu_domain *d, uint64_t iova, uint64_t pa, uint64_t size, unsigned prot)
{
	return -ENODEV;
}
int smmu_unmap(struct smmu_domain *d, uint64_t iova, uint64_t size)
{
	return -ENODEV;
}
int smmu_attach(struct smmu_domain *d, uint32_t sid)
{
	return -ENODEV;
}
/* msi.c is not linked here: no assigned device is built without an SMMU */
int vm_msi_route(struct partition *p, uint32_t pdevid, uint32_t pevent, uint32_t vdevid,
		 uint32_t vevent)
{
	return -ENODEV;
}
void vm_msi_unroute(struct partition *p)
{
}
int smmu_detach(uint32_t sid)
{
	return -ENOENT;
}
int smmu_stream_label(uint32_t sid, const char *label)
{
	return -ENOENT;
}
bool smmu_stream_owner(uint32_t sid, char *buf, size_t len)
{
	return false;
}
int smmu_translate(struct smmu_domain *d, uint64_t iova, uint64_t *pa)
{
	return -ENOENT;
}
unsigned pci_intx_intid(const void *fdt, const struct pci_dev *d)
{
	return 0;
}

/*
 * The hypervisor's own disk, "nvme0": the first NVMe controller on the PCI
 * host, behind an SMMU domain of its own ("nvme0 (hypervisor)"). The
 * domain maps, at IOVA == PA (identity keeps debugging simple), only what
 * the driver asks for and only while it needs it; the driver never learns
 * about the SMMU (drivers/drivers.h: struct dma_ops). Every other NVMe and
 * DMA-capable PCI function stays unattached, so its stream aborts. Without
 * a working SMMU the disk is not enabled at all: DMA never bypasses.
 *
 * Disk layout: the last DISK_SCRATCH bytes (64 MiB) are scratch for
 * `disk test`, which overwrites them freely; the snapshot store will use
 * everything before them.
 *
 * Disk I/O is asynchronous (disk_submit): the driver never waits, and it is
 * polled from interrupts — the EL2 timer it arms and every other interrupt
 * on the CPU (disk_service) — so a slow or hung controller costs the CPUs
 * running guests nothing but short interrupt handlers, and the shell stays
 * responsive during a long `disk test` (disk_test.c).
 *
 * `disk dmafault` and `disk rogue` are test-only (/hypervisor/test-commands):
 * they prove that stray DMA from the owned and from an unowned controller
 * is stopped by the SMMU.
 */
#include "kernel/io/io.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DISK_SCRATCH	  (64ull << 20)
#define DISK_IA_BITS	  48u /* IOVA == PA, and RAM lies far below 2^48 */
#define PCI_CLASS_NVME	  0x010802u
#define EVT_F_TRANSLATION 0x10u /* SMMUv3 event record type */
#define DISK_POLL_US	  1000u /* first look after a submission */
#define PATTERN_BYTE	  0xa5u /* what test memory holds before a device could touch it */

static struct {
	const struct pci_dev *pci;
	struct nvme_ctrl *ctrl;
	struct smmu_domain *dom;
	uint32_t sid;
	const char *why; /* why there is no disk, for `disk` */
} disk0 = {.why = "not probed yet"};

static uint64_t poll_at = UINT64_MAX; /* when the driver wants nvme_poll again */
static uint64_t polls, poll_max;      /* how often, and the longest (ticks, done() included) */

static uint32_t pci_rid(const struct pci_dev *d)
{
	return (uint32_t)d->bus << 8 | (uint32_t)d->dev << 3 | d->fn;
}

static bool is_nvme(const struct pci_dev *d)
{
	return d->header_type == 0 && d->class_code == PCI_CLASS_NVME;
}

/* ---- DMA through the nvme0 domain -------------------------------------- */

static uint64_t page_span(uint64_t addr, uint64_t size)
{
	return ALIGN_UP(addr + size, PAGE_SIZE) - ALIGN_DOWN(addr, PAGE_SIZE);
}

/* mem_alloc memory is identity mapped at EL2: its PA is its VA. */
static void *dom_alloc(void *ctx, uint64_t size, uint64_t align)
{
	uint64_t pa = mem_alloc(size, align);

	if (pa)
		memset((void *)(uintptr_t)pa, 0, ALIGN_UP(size, PAGE_SIZE));
	return (void *)(uintptr_t)pa;
}

static void dom_free(void *ctx, void *p, uint64_t size)
{
	mem_free((uintptr_t)p, size);
}

/* Whole pages, so a mapping can expose up to a page on either side of the
 * buffer: callers hand the driver page-aligned buffers. Read permission
 * comes with write: stage 1 has no write-only mapping. */
static int dom_map(void *ctx, uint64_t pa, uint64_t size, bool dev_writes, uint64_t *iova)
{
	uint64_t base = ALIGN_DOWN(pa, PAGE_SIZE);
	unsigned prot = dev_writes ? SMMU_READ | SMMU_WRITE : SMMU_READ;

	if (!size || pa + size < pa)
		return -EINVAL;
	int e = smmu_map(ctx, base, base, page_span(pa, size), prot);
	if (!e)
		*iova = pa;
	return e;
}

static int dom_unmap(void *ctx, uint64_t iova, uint64_t size)
{
	return smmu_unmap(ctx, ALIGN_DOWN(iova, PAGE_SIZE), page_span(iova, size));
}

/* Whether the SMMU logged a fault for nvme0's stream since the previous
 * call (the driver asks after every completion); *iova is the first. */
static bool dom_faulted(void *ctx, uint64_t *iova)
{
	static uint64_t seen; /* newest fault timestamp already looked at */
	const struct smmu_stats *s;
	bool hit = false;

	smmu_poll_events();
	s = smmu_get_stats();
	for (unsigned i = 0; i < s->nlog && i < SMMU_FAULT_LOG; i++) {
		const struct smmu_fault *f = &s->log[i];
		if (!hit && f->sid == disk0.sid && f->ts > seen) {
			*iova = f->iova;
			hit = true;
		}
	}
	for (unsigned i = 0; i < s->nlog && i < SMMU_FAULT_LOG; i++)
		seen = MAX(seen, s->log[i].ts);
	return hit;
}

/* ---- bring-up ------------------------------------------------------------ */

/* Domain first, then the stream, then the driver: from its first DMA on
 * the controller sees only what the domain maps. */
static int start_disk(const struct pci_dev *d)
{
	struct dma_ops ops = {dom_alloc, dom_free, dom_map,
			      dom_unmap, NULL,	   dom_faulted}; /* nvme_init copies it */
	const struct smmu_owner owner = {.kind = SMMU_OWNER_HYP, .name = "nvme0 (hypervisor)"};
	int e;

	disk0.sid = smmu_rid_to_sid(hw.fdt, pci_rid(d));
	disk0.dom = smmu_domain_create(&owner, DISK_IA_BITS);
	if (!disk0.dom) {
		disk0.why = "cannot create its SMMU domain";
		return -ENOMEM;
	}
	e = smmu_attach(disk0.dom, disk0.sid);
	if (e) {
		disk0.why = "cannot attach its SMMU stream";
		smmu_domain_destroy(disk0.dom);
		return e;
	}
	ops.ctx = disk0.dom;
	e = nvme_init(d, &ops, &disk0.ctrl);
	if (e) {
		disk0.why = "controller initialisation failed (see the nvme: lines)";
		smmu_detach(disk0.sid);
		smmu_domain_destroy(disk0.dom);
		disk0.ctrl = NULL;
	}
	return e;
}

static void print_ready(void)
{
	const struct nvme_info *in = nvme_get_info(disk0.ctrl);

	kprintf("disk: nvme0 %s serial %s, %llu MiB, %u B blocks, behind SMMU stream 0x%x\n",
		in->model, in->serial, (unsigned long long)((in->blocks * in->block_size) >> 20),
		in->block_size, disk0.sid);
}

/* The first NVMe controller becomes nvme0; the others are only named. */
static const struct pci_dev *find_nvme(const struct pci_host *h)
{
	for (unsigned i = 0; i < h->ndevs; i++)
		if (is_nvme(&h->devs[i]))
			return &h->devs[i];
	return NULL;
}

/* Without the SMMU nothing confines them, but nothing enables them either:
 * bus mastering stays as firmware left it (tessera never turns it on). */
static void name_unowned(const struct pci_host *h, const struct pci_dev *owned)
{
	for (unsigned i = 0; i < h->ndevs; i++) {
		const struct pci_dev *d = &h->devs[i];
		if (!is_nvme(d) || d == owned)
			continue;
		if (smmu_ready())
			kprintf("disk: NVMe %02x:%02x.%x left unowned: its SMMU stream 0x%x stays "
				"in abort\n",
				d->bus, d->dev, d->fn, smmu_rid_to_sid(hw.fdt, pci_rid(d)));
		else
			kprintf("disk: NVMe %02x:%02x.%x left unowned and unused\n", d->bus, d->dev,
				d->fn);
	}
}

void disk_init(void)
{
	const struct pci_host *h = pci_get_host();
	const struct pci_dev *d = h ? find_nvme(h) : NULL;

	if (!d) {
		disk0.why = h ? "no NVMe controller" : "no PCI host bridge";
		kprintf("disk: none: %s\n", disk0.why);
		return;
	}
	disk0.pci = d;
	name_unowned(h, d);
	if (!smmu_ready()) {
		disk0.why = "the SMMU is not ready, and without it the controller's DMA would "
			    "reach all of memory";
	} else if (start_disk(d) == 0) {
		print_ready();
		return;
	}
	kprintf("disk: nvme0 (%02x:%02x.%x) not enabled: %s\n", d->bus, d->dev, d->fn, disk0.why);
}

/* ---- asynchronous I/O: who polls the driver, and when ------------------- */

uint64_t disk_next_poll(void)
{
	uint64_t when = __atomic_load_n(&poll_at, __ATOMIC_RELAXED);
	return this_cpu()->id == boot_cpu ? when : UINT64_MAX;
}

/* The EL2 timer is shared with the scheduler, which programs it for slice
 * ends and wake-ups without looking: never push an earlier expiry later,
 * and re-arm on every interrupt (disk_service), since a later write by the
 * scheduler can still hide ours until the next interrupt on this CPU. */
static void arm_by(uint64_t when)
{
	uint64_t ctl = read_sysreg(cnthp_ctl_el2), cval = read_sysreg(cnthp_cval_el2);

	if (when == UINT64_MAX || ((ctl & 3) == 1 && cval <= when))
		return;
	write_sysreg(cnthp_cval_el2, when);
	write_sysreg(cnthp_ctl_el2, 1);
	isb();
}

/* done() callbacks run inside nvme_poll and may submit (which lowers
 * poll_at): its answer, computed before them, must not undo that. */
static void repoll(void)
{
	uint64_t t0 = timer_now();

	__atomic_store_n(&poll_at, UINT64_MAX, __ATOMIC_RELAXED);
	uint64_t when = nvme_poll(disk0.ctrl);
	uint64_t took = timer_now() - t0;

	polls++;
	poll_max = MAX(poll_max, took);

	when = MIN(when, __atomic_load_n(&poll_at, __ATOMIC_RELAXED));
	__atomic_store_n(&poll_at, when, __ATOMIC_RELAXED);
	arm_by(when);
}

/* Only the boot CPU polls: done() callbacks (and the shell, in the UART
 * interrupt) then never run concurrently. */
void disk_service(void)
{
	uint64_t when = __atomic_load_n(&poll_at, __ATOMIC_RELAXED);

	if (when == UINT64_MAX || this_cpu()->id != boot_cpu)
		return;
	if (timer_now() >= when)
		repoll();
	else
		arm_by(when);
}

int disk_submit(struct nvme_req *r)
{
	if (!disk0.ctrl) {
		kprintf("disk: no disk: %s\n", disk0.why);
		return -ENODEV;
	}
	int e = nvme_submit(disk0.ctrl, r); /* sends what it can at once */
	if (e)
		return e;
	/* Not a poll here: done() may submit, and must not nest polls. */
	uint64_t when = timer_now() + timer_ns_to_ticks(DISK_POLL_US * 1000ull);
	if (when < __atomic_load_n(&poll_at, __ATOMIC_RELAXED))
		__atomic_store_n(&poll_at, when, __ATOMIC_RELAXED);
	if (this_cpu()->id == boot_cpu)
		arm_by(when);
	else
		gic_send_sgi(boot_cpu, SGI_KICK); /* its disk_service arms its timer */
	return 0;
}

bool disk_geometry(uint32_t *block_size, uint64_t *blocks)
{
	if (!disk0.ctrl)
		return false;
	*block_size = nvme_get_info(disk0.ctrl)->block_size;
	*blocks = nvme_get_info(disk0.ctrl)->blocks;
	return true;
}

/* ---- `disk` -------------------------------------------------------------- */

uint64_t disk_scratch(uint64_t *lba)
{
	const struct nvme_info *in = nvme_get_info(disk0.ctrl);
	uint64_t n = MIN(DISK_SCRATCH / in->block_size, in->blocks);

	*lba = in->blocks - n;
	return n;
}

static uint64_t scratch_blocks(const struct nvme_info *in)
{
	uint64_t lba;

	return disk_scratch(&lba);
}

static void print_stats(const struct nvme_stats *s)
{
	kprintf("  stats     reads %llu (%llu KiB), writes %llu (%llu KiB), flushes %llu\n",
		(unsigned long long)s->reads, (unsigned long long)(s->bytes_read >> 10),
		(unsigned long long)s->writes, (unsigned long long)(s->bytes_written >> 10),
		(unsigned long long)s->flushes);
	kprintf("  errors    %llu, timeouts %llu, last error status: %s\n",
		(unsigned long long)s->errors, (unsigned long long)s->timeouts,
		s->last_status ? nvme_status_str(s->last_status) : "none");
}

static int disk_info(void)
{
	if (!disk0.ctrl) {
		kprintf("disk: no disk: %s\n", disk0.why);
		return 1;
	}
	const struct nvme_info *in = nvme_get_info(disk0.ctrl);
	uint64_t sb = scratch_blocks(in);
	kprintf("disk: nvme0 at %02x:%02x.%x, SMMU stream 0x%x, domain \"nvme0 (hypervisor)\"\n",
		disk0.pci->bus, disk0.pci->dev, disk0.pci->fn, disk0.sid);
	kprintf("  model     %s (vendor 0x%04x)\n  serial    %s\n  firmware  %s\n", in->model,
		in->vid, in->serial, in->firmware);
	kprintf("  size      %llu MiB: %llu blocks of %u B (namespace %u)\n",
		(unsigned long long)((in->blocks * in->block_size) >> 20),
		(unsigned long long)in->blocks, in->block_size, in->nsid);
	kprintf("  transfer  max %u KiB per command; ready timeout (CAP.TO) %u ms\n",
		in->max_xfer >> 10, in->timeout_ms);
	kprintf("  scratch   lba %llu-%llu (the last %llu MiB: `disk test`; snapshots get the "
		"rest)\n",
		(unsigned long long)(in->blocks - sb), (unsigned long long)(in->blocks - 1),
		(unsigned long long)((sb * in->block_size) >> 20));
	uint64_t resets, recovered;
	const char *state = nvme_state(disk0.ctrl, &resets, &recovered);
	kprintf("  state     %s; controller resets %llu, recoveries %llu\n", state,
		(unsigned long long)resets, (unsigned long long)recovered);
	kprintf("  polls     %llu, the longest %llu us (with the done() callbacks it ran)\n",
		(unsigned long long)polls, (unsigned long long)(poll_max * 1000000 / timer_freq()));
	disk_test_status();
	print_stats(nvme_get_stats(disk0.ctrl));
	return 0;
}

/* ---- test-only: `disk dmafault` ------------------------------------------ */

static void fill_bytes(uint64_t pa, uint64_t len)
{
	memset((void *)(uintptr_t)pa, PATTERN_BYTE, len);
	dcache_clean_inval_range(pa, len);
}

/* The device may have written memory behind the cache: look at RAM. */
static bool still_pattern(uint64_t pa, uint64_t len)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)pa;

	dcache_clean_inval_range(pa, len);
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != PATTERN_BYTE)
			return false;
	return true;
}

/* A translation fault on sid inside [pa, pa+len), handled at or after t0. */
static const struct smmu_fault *find_fault(uint32_t sid, uint64_t pa, uint64_t len, uint64_t t0)
{
	const struct smmu_stats *s = smmu_get_stats();

	for (unsigned i = 0; i < s->nlog && i < SMMU_FAULT_LOG; i++) {
		const struct smmu_fault *f = &s->log[i];
		if (f->sid == sid && f->type == EVT_F_TRANSLATION && f->iova >= pa &&
		    f->iova - pa < len && f->ts >= t0)
			return f;
	}
	return NULL;
}

static const char *cmd_outcome(int e)
{
	if (e == -EIO)
		return nvme_status_str(nvme_get_stats(disk0.ctrl)->last_status);
	return e == -ETIMEDOUT ? "a timeout" : "an error";
}

static struct {
	struct nvme_req req;
	uint64_t pa, len, t0;
	bool busy;
} dmaf;

/* The page stays allocated: a test reads it from outside (QEMU's monitor)
 * after the verdict, and nothing else may have reused it by then. */
static void dmafault_done(struct nvme_req *r, int e)
{
	smmu_poll_events();
	const struct smmu_fault *f = find_fault(disk0.sid, dmaf.pa, dmaf.len, dmaf.t0);
	bool untouched = still_pattern(dmaf.pa, dmaf.len);

	if (e && f && untouched)
		kprintf("disk dmafault: command failed with %s, SMMU recorded F_TRANSLATION at "
			"0x%llx, memory untouched: PASS\n",
			cmd_outcome(e), (unsigned long long)f->iova);
	else
		kprintf("disk dmafault: FAIL: command %s; %s; %s\n",
			e ? "failed" : "completed without error (the device saw no failure)",
			f ? "SMMU recorded F_TRANSLATION"
			  : "no F_TRANSLATION recorded for nvme0's stream at the page",
			untouched ? "memory untouched"
				  : "the page was overwritten: DMA reached memory");
	dmaf.busy = false;
}

/* A read aimed at a page the nvme0 domain does not map. */
static int disk_dmafault(void)
{
	const struct nvme_info *in = nvme_get_info(disk0.ctrl);
	uint32_t n = in->block_size >= PAGE_SIZE ? 1 : (uint32_t)(PAGE_SIZE / in->block_size);
	uint64_t len = (uint64_t)n * in->block_size, pa;

	if (dmaf.busy) {
		kprintf("disk dmafault: already running\n");
		return 1;
	}
	pa = mem_alloc(len, PAGE_SIZE);
	if (!pa) {
		kprintf("disk dmafault: cannot allocate a page\n");
		return 1;
	}
	fill_bytes(pa, len);
	dmaf.pa = pa, dmaf.len = len, dmaf.t0 = timer_now();
	dmaf.req = (struct nvme_req){.op = NVME_OP_READ,
				     .raw = true,
				     .lba = in->blocks - scratch_blocks(in),
				     .nblocks = n,
				     .pa = pa,
				     .done = dmafault_done};
	kprintf("disk dmafault: reading lba %llu into unmapped 0x%llx-0x%llx (stream 0x%x), "
		"which holds 0x%02x bytes\n",
		(unsigned long long)dmaf.req.lba, (unsigned long long)pa,
		(unsigned long long)(pa + len - 1), disk0.sid, PATTERN_BYTE);
	dmaf.busy = true;
	if (disk_submit(&dmaf.req)) {
		dmaf.busy = false;
		mem_free(pa, len);
		return 1;
	}
	return 0;
}

/* ---- test-only: `disk rogue` --------------------------------------------- */

/* DMA ops for a controller nobody owns: the SMMU is not touched, map()
 * hands out iova = pa, so the controller is pointed at real memory and only
 * the stream's abort stands in the way. Allocations are filled with a
 * pattern (the driver zeroes its rings itself); each device-writable
 * region is snapshotted when mapped and compared when unmapped. */
#define ROGUE_REGIONS 8
struct rogue_region {
	uint64_t pa, size;
	uint8_t *shadow;
};
struct rogue_ctx {
	struct rogue_region r[ROGUE_REGIONS];
	unsigned maps, checked, changed;
	uint64_t changed_at;
};

static void *rogue_alloc(void *ctx, uint64_t size, uint64_t align)
{
	uint64_t pa = mem_alloc(size, align);

	if (pa)
		fill_bytes(pa, ALIGN_UP(size, PAGE_SIZE));
	return (void *)(uintptr_t)pa;
}

static int rogue_map(void *ctx, uint64_t pa, uint64_t size, bool dev_writes, uint64_t *iova)
{
	struct rogue_ctx *rc = ctx;

	rc->maps++;
	*iova = pa;
	for (unsigned i = 0; dev_writes && i < ROGUE_REGIONS; i++) {
		struct rogue_region *r = &rc->r[i];
		if (r->shadow)
			continue;
		r->shadow = malloc(size);
		if (!r->shadow)
			return -ENOMEM;
		memcpy(r->shadow, (void *)(uintptr_t)pa, size);
		r->pa = pa, r->size = size;
		return 0;
	}
	return dev_writes ? -ENOMEM : 0;
}

static void rogue_check(struct rogue_ctx *rc, struct rogue_region *r)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)r->pa;

	dcache_clean_inval_range(r->pa, r->size);
	rc->checked++;
	for (uint64_t i = 0; i < r->size; i++) {
		if (p[i] != r->shadow[i]) {
			rc->changed_at = rc->changed++ ? rc->changed_at : r->pa + i;
			break;
		}
	}
	free(r->shadow);
	memset(r, 0, sizeof(*r));
}

static int rogue_unmap(void *ctx, uint64_t iova, uint64_t size)
{
	struct rogue_ctx *rc = ctx;

	for (unsigned i = 0; i < ROGUE_REGIONS; i++)
		if (rc->r[i].shadow && rc->r[i].pa == iova)
			rogue_check(rc, &rc->r[i]);
	return 0;
}

static const struct pci_dev *find_unowned_nvme(void)
{
	const struct pci_host *h = pci_get_host();

	for (unsigned i = 0; h && i < h->ndevs; i++)
		if (is_nvme(&h->devs[i]) && &h->devs[i] != disk0.pci)
			return &h->devs[i];
	return NULL;
}

static const char *errno_name(int e)
{
	return e == -EIO	 ? "-EIO, the controller failed (see the nvme: line above)"
	       : e == -ETIMEDOUT ? "-ETIMEDOUT, no completion ever arrived"
				 : "an error (see the nvme: line above)";
}

static int rogue_verdict(int e, const struct rogue_ctx *rc)
{
	if (!e) {
		/* Its queues stay allocated: the controller may still use them. */
		kprintf("disk rogue: FAIL: the unowned controller initialised, so its DMA "
			"reached memory (is its stream really in abort?)\n");
		return 1;
	}
	if (rc->maps < 3 || !rc->checked) {
		kprintf("disk rogue: FAIL: nvme_init stopped (%d) before any DMA was attempted\n",
			e);
		return 1;
	}
	if (rc->changed) {
		kprintf("disk rogue: FAIL: %u device-writable region(s) changed, first at 0x%llx: "
			"DMA reached memory\n",
			rc->changed, (unsigned long long)rc->changed_at);
		return 1;
	}
	kprintf("disk rogue: unowned controller's DMA was blocked (nvme_init: %s; its admin CQ "
		"and Identify target unchanged), memory untouched: PASS\n",
		errno_name(e));
	return 0;
}

static int disk_rogue(void)
{
	static const struct dma_ops ops_tmpl = {rogue_alloc, dom_free, rogue_map,
						rogue_unmap, NULL,     NULL};
	const struct pci_dev *d = find_unowned_nvme();
	struct rogue_ctx rc = {0};
	struct dma_ops ops = ops_tmpl;
	struct nvme_ctrl *c;

	if (!d) {
		kprintf("disk rogue: no unowned NVMe controller (add one to QEMU: -device "
			"nvme,serial=rogue0,drive=...)\n");
		return 1;
	}
	if (!smmu_ready()) {
		kprintf(
		    "disk rogue: the SMMU is not ready: nothing would block the DMA; not run\n");
		return 1;
	}
	kprintf("disk rogue: %02x:%02x.%x (stream 0x%x, owned by nobody): programming it with "
		"iova = pa, SMMU untouched\n",
		d->bus, d->dev, d->fn, smmu_rid_to_sid(hw.fdt, pci_rid(d)));
	ops.ctx = &rc;
	int e = nvme_init(d, &ops, &c);
	smmu_poll_events();
	return rogue_verdict(e, &rc);
}

/* ---- the command ---------------------------------------------------------- */

static int usage(void)
{
	kprintf("usage: disk [test [MiB]]%s\n",
		hyp_config.test_commands ? " | disk dmafault | disk rogue | disk bench" : "");
	return 1;
}

const struct pci_dev *disk_pci(void)
{
	return disk0.pci;
}

struct nvme_ctrl *disk_ctrl(uint32_t *sid)
{
	*sid = disk0.sid;
	return disk0.ctrl;
}

int cmd_disk(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	bool test_only = !strcmp(sub, "dmafault") || !strcmp(sub, "rogue") || !strcmp(sub, "bench");

	if (test_only && !hyp_config.test_commands)
		return usage();
	if (!strcmp(sub, "rogue"))
		return disk_rogue();
	if (!strcmp(sub, "bench"))
		return disk_bench();
	if (*sub && strcmp(sub, "test") && !test_only)
		return usage();
	if (!disk0.ctrl || !*sub)
		return disk_info();
	if (!strcmp(sub, "test"))
		return disk_test_start(argc > 2 ? argv[2] : NULL);
	return disk_dmafault();
}

/*
 * Partitions on this machine: configuration at boot, and the operations
 * the lifecycle (lifecycle.c, which owns every state change) runs: build
 * (memory, stage-2, images, device tree, devices, vCPUs), release, and
 * placing vCPUs on their CPUs' run lists.
 */
#include "kernel/vm/vm.h"
#include "kernel/vm/snap_state.h"
#include "drivers/drivers.h"
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S2_IA_MAX 40

struct partition partitions[PART_MAX];
unsigned npartitions;
static const struct vm_console_ops *console;
static const struct lc_ops lc_ops;

void vm_set_console(const struct vm_console_ops *ops)
{
	console = ops;
}

static void uart_out(void *ctx, const char *line, size_t n)
{
	if (console && console->out)
		console->out(ctx, line, n);
}

static const struct boot_module *module(const char *path)
{
	for (uint32_t i = 0; i < boot_info->n_modules; i++)
		if (strcmp(boot_info->modules[i].path, path) == 0)
			return &boot_info->modules[i];
	return NULL;
}

static int64_t module_size(void *ctx, const char *path)
{
	const struct boot_module *m = module(path);
	return m ? (int64_t)m->size : -1;
}

const char *partition_state_name(int state)
{
	static const char *const names[] = {"stopped",	"starting", "running",
					    "stopping", "failed",   "paused"};
	return state >= 0 && state < (int)ARRAY_SIZE(names) ? names[state] : "?";
}

struct partition *partition_find(const char *name)
{
	for (unsigned i = 0; i < npartitions; i++)
		if (strcmp(partitions[i].cfg.name, name) == 0)
			return &partitions[i];
	return NULL;
}

static void report_config(struct part_cfg *cfg, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!cfg[i].valid)
			kprintf("config: %s; partition \"%s\" will not start\n", cfg[i].error,
				cfg[i].name);
}

static void report_sched(const struct sched_cfg *s)
{
	for (unsigned c = 0; c < 64; c++)
		if ((s->listed & BIT(c)) && !s->cpu[c].valid)
			kprintf("config: %s; partitions on CPU %u will not start\n",
				s->cpu[c].error, c);
}

void partitions_init(const struct boot_info *bi)
{
	static struct part_cfg cfg[PART_MAX];
	static struct sched_cfg sched;
	char err[PART_ERR_MAX];
	if (!bi->config)
		return;
	int n = part_config_parse(bi->config, cfg, PART_MAX, err, sizeof(err));
	if (n >= 0 && sched_config_parse(bi->config, &sched, err, sizeof(err)))
		n = -1;
	if (n < 0) {
		kprintf("config: %s; no partitions\n", err);
		return;
	}
	static struct machine_pci fns[PCI_MAX_DEVS];
	unsigned nfns = pdev_machine(fns, ARRAY_SIZE(fns));
	sched_config_validate(&sched, cfg, (unsigned)n, hw.ncpus);
	report_sched(&sched);
	struct machine_desc m = {hw.ncpus, mem_free_map(), module_size, NULL, fns, nfns};
	part_config_validate(cfg, (unsigned)n, &m);
	report_config(cfg, (unsigned)n);
	lc_init(&lc_ops);
	for (int i = 0; i < n; i++) {
		partitions[i].cfg = cfg[i];
		partitions[i].id = (unsigned)i;
		lc_part_init(&partitions[i].lc, cfg[i].valid, cfg[i].cpu_mask, cfg[i].vcpus);
		pdev_bind(&partitions[i]);
		lc_part_share(&partitions[i].lc, cfg[i].cpu_shared);
	}
	npartitions = (unsigned)n;
	sched_configure(&sched);
}

/* ---- memory and stage-2 ---- */

static void *s2_alloc(void *ctx)
{
	uint64_t pa = mem_alloc(PAGE_SIZE, PAGE_SIZE);
	if (pa)
		memset((void *)pa, 0, PAGE_SIZE);
	return (void *)pa;
}
static void s2_free(void *ctx, void *t)
{
	mem_free((uint64_t)t, PAGE_SIZE);
}
static uint64_t s2_pa(void *ctx, void *t)
{
	return (uint64_t)t;
}
static void *s2_va(void *ctx, uint64_t pa)
{
	return (void *)pa;
}
static void s2_tlb(void *ctx, uint64_t va, uint64_t size)
{
	struct partition *p = ctx;
	stage2_flush_vmid(p->vttbr);
}
static void *s2_root_alloc(void *ctx, unsigned pages)
{
	/* concatenated roots must be aligned to their total size */
	uint64_t size = pages * PAGE_SIZE, pa = mem_alloc(size, size);
	if (pa)
		memset((void *)pa, 0, size);
	return (void *)pa;
}
static const struct pt_ops s2_ops = {s2_alloc, s2_free, s2_pa, s2_va, s2_tlb};

static unsigned ipa_bits(void)
{
	return MIN(cpu_pa_bits(), (unsigned)S2_IA_MAX);
}

/* ram_pa is set only once the range is ours: release frees what it names. */
static int alloc_ram(struct partition *p)
{
	uint64_t size = p->cfg.mem_size;
	if (p->cfg.mem_base) {
		int e = mem_take(p->cfg.mem_base, size);
		if (!e)
			p->ram_pa = p->cfg.mem_base;
		return e;
	}
	p->ram_pa = mem_alloc(size, SZ_2M);
	return p->ram_pa ? 0 : -ENOMEM;
}

static int build_stage2(struct partition *p)
{
	p->vttbr = (uint64_t)(p->id + 1) << 48;
	int e = pt_init(&p->s2, PT_S2, ipa_bits(), &s2_ops, p, s2_root_alloc);
	if (e)
		return e;
	p->vttbr |= (uint64_t)p->s2.root;
	p->vtcr = stage2_vtcr(&p->s2);
	e = pt_map(&p->s2, GUEST_RAM_BASE, p->ram_pa, p->cfg.mem_size, PT_R | PT_W | PT_X);
	if (!e)
		dirty_ready(p, true);
	return e;
}

static void release_memory(struct partition *p)
{
	dirty_ready(p, false);
	if (p->s2.root) {
		stage2_flush_vmid(p->vttbr);
		pt_destroy(&p->s2);
		p->s2.root = NULL;
	}
	if (p->ram_pa) {
		memset((void *)p->ram_pa, 0, p->cfg.mem_size); /* no data leaks to the next owner */
		mem_free(p->ram_pa, p->cfg.mem_size);
		p->ram_pa = 0;
	}
}

/* ---- images and the device tree ---- */

static void *ram_at(struct partition *p, uint64_t off)
{
	return (void *)(p->ram_pa + off);
}

static int load_kernel(struct partition *p, struct image_layout *l)
{
	const struct boot_module *m = module(p->cfg.kernel);
	char err[PART_ERR_MAX];
	if (!m)
		return -ENOENT;
	if (image_layout((const void *)m->base, m->size, p->cfg.kfmt, p->cfg.load_addr,
			 p->cfg.mem_size, l, err, sizeof(err))) {
		kprintf("%s: kernel %s: %s\n", p->cfg.name, p->cfg.kernel, err);
		return -EINVAL;
	}
	for (unsigned i = 0; i < l->nsegs; i++) {
		const struct image_seg *s = &l->segs[i];
		memcpy(ram_at(p, s->offset), (const char *)m->base + s->file_off, s->file_size);
	}
	p->entry = l->entry;
	return 0;
}

/* Layout of the top of RAM: the DTB in the last 64 KiB, the initrd below. */
static int load_initrd(struct partition *p, uint64_t kernel_end, uint64_t *start, uint64_t *end)
{
	*start = *end = 0;
	if (!p->cfg.initrd[0])
		return 0;
	const struct boot_module *m = module(p->cfg.initrd);
	if (!m)
		return -ENOENT;
	uint64_t off = ALIGN_DOWN(p->cfg.mem_size - GUEST_DTB_MAX - m->size, PAGE_SIZE);
	if (m->size > p->cfg.mem_size || off < kernel_end) {
		kprintf("%s: initrd does not fit above the kernel\n", p->cfg.name);
		return -E2BIG;
	}
	memcpy(ram_at(p, off), (const void *)m->base, m->size);
	*start = GUEST_RAM_BASE + off;
	*end = *start + m->size;
	return 0;
}

static int build_dtb(struct partition *p, uint64_t initrd_start, uint64_t initrd_end)
{
	uint64_t off = p->cfg.mem_size - GUEST_DTB_MAX;
	struct guest_dt_params dp = {
	    .name = p->cfg.name,
	    .vcpus = p->nvcpus,
	    .ram_base = GUEST_RAM_BASE,
	    .ram_size = p->cfg.mem_size,
	    .bootargs = p->cfg.bootargs,
	    .initrd_start = initrd_start,
	    .initrd_end = initrd_end,
	    .timer_freq = 0,
	    .no_pmu = !pmu_present,
	    .its = p->cfg.its,
	    .pci_devs = p->npdevs,
	};
	int e = guest_dt_build(ram_at(p, off), GUEST_DTB_MAX, &dp);
	if (e) {
		kprintf("%s: cannot build the guest device tree: %s\n", p->cfg.name,
			fdt_strerror(e));
		return -EINVAL;
	}
	p->dtb_ipa = GUEST_RAM_BASE + off;
	return 0;
}

static int load_images(struct partition *p)
{
	struct image_layout l;
	uint64_t is, ie;
	int e = load_kernel(p, &l);
	if (!e)
		e = load_initrd(p, l.end, &is, &ie);
	if (!e)
		e = build_dtb(p, is, ie);
	/* the guest starts with its MMU and caches off: make RAM coherent */
	dcache_clean_range(p->ram_pa, p->cfg.mem_size);
#ifndef TESSERA_HOST /* host tests: no instruction cache to invalidate */
	__asm__ volatile("ic ialluis; dsb ish; isb" ::: "memory");
#endif
	return e;
}

/* ---- virtual devices ---- */

static uint64_t vgic_read_lr(void *ctx, unsigned i)
{
	return ich_lr_read(i);
}
static void vgic_write_lr(void *ctx, unsigned i, uint64_t v)
{
	ich_lr_write(i, v);
}
static uint32_t vgic_empty_lrs(void *ctx)
{
	return ich_elrsr_read();
}
static void vgic_kick(void *ctx, unsigned vcpu)
{
	struct partition *p = ctx;
	if (vcpu < p->nvcpus)
		sched_kick_virq(p->vcpus[vcpu].pcpu);
}
static void vgic_lock(void *ctx)
{
	spin_lock(&((struct partition *)ctx)->vgic_lock);
}
static void vgic_unlock(void *ctx)
{
	spin_unlock(&((struct partition *)ctx)->vgic_lock);
}

/* The ITS's window on guest RAM (its.h vits_ops): the model checks
 * every address first, this again. Cache maintenance around the copy, as
 * a guest with its MMU off (bare-metal tests) reads and writes memory
 * non-cacheable. */
static void *its_ram(struct partition *p, uint64_t ipa, size_t len)
{
	uint64_t off = ipa - GUEST_RAM_BASE;
	if (ipa < GUEST_RAM_BASE || off >= p->cfg.mem_size || len > p->cfg.mem_size - off)
		return NULL;
	return ram_at(p, off);
}
static int its_read(void *ctx, uint64_t ipa, void *buf, size_t len)
{
	void *src = its_ram(ctx, ipa, len);
	if (!src)
		return -EFAULT;
	dcache_clean_inval_range((uintptr_t)src, len);
	memcpy(buf, src, len);
	return 0;
}
static int its_write(void *ctx, uint64_t ipa, const void *buf, size_t len)
{
	void *dst = its_ram(ctx, ipa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, buf, len);
	dcache_clean_inval_range((uintptr_t)dst, len);
	return 0;
}
static void its_error(void *ctx, const char *what, uint64_t v)
{
	struct partition *p = ctx;
	kprintf("%s: %s (%#llx)\n", p->cfg.name, what, (unsigned long long)v);
}

static void uart_irq(void *ctx, bool level)
{
	struct partition *p = ctx;
	vgic_set_level(&p->vgic, 0, 32 + GUEST_UART_SPI, level);
}

static void init_devices(struct partition *p)
{
	struct vgic_ops ops = {
	    .nr_lrs = MIN(gic_get_info()->lrs, (unsigned)VGIC_MAX_LRS),
	    .read_lr = vgic_read_lr,
	    .write_lr = vgic_write_lr,
	    .empty_lrs = vgic_empty_lrs,
	    .kick = vgic_kick,
	    .lock = vgic_lock,
	    .unlock = vgic_unlock,
	    .ctx = p,
	};
	vgic_init(&p->vgic, p->nvcpus, &ops);
	if (p->cfg.its) {
		const struct vits_ops its_ops = {its_read, its_write, its_error, p};
		vgic_its_attach(&p->vgic, &p->its, GUEST_RAM_BASE, p->cfg.mem_size, &its_ops);
	}
	vuart_init(&p->uart, uart_out, uart_irq, p);
}

/* ---- vCPUs ---- */

static unsigned nth_cpu(uint64_t mask, unsigned n)
{
	for (unsigned c = 0; c < 64; c++)
		if ((mask & BIT(c)) && n-- == 0)
			return c;
	return 0;
}

static void init_vcpus(struct partition *p)
{
	p->nvcpus = p->cfg.vcpus;
	for (unsigned i = 0; i < p->nvcpus; i++) {
		struct vcpu *v = &p->vcpus[i];
		unsigned ncpus = (unsigned)__builtin_popcountll(p->cfg.cpu_mask);
		*v =
		    (struct vcpu){.part = p, .idx = i, .pcpu = nth_cpu(p->cfg.cpu_mask, i % ncpus)};
		vcpu_ctx_reset(&v->ctx, p->entry, i == 0 ? p->dtb_ipa : 0, BIT(31) | i);
		p->lc.vcpu[i].cpu = v->pcpu;
	}
}

/* SVE (sve-max-vl): the longest vector length all CPUs support up to the
 * configured maximum, and a save area per vCPU, allocated at the first
 * start and kept for restarts. Without SVE on the CPUs the partition runs
 * without it (its ID registers say so). */
static int init_sve(struct partition *p)
{
	unsigned vl = p->cfg.sve_vl ? sve_effective_vl(MIN(p->cfg.sve_vl, sve_max_vl())) : 0;
	size_t size = sve_state_size(vl); /* per vCPU; the allocation holds any length */
	p->sve_vl = 0;
	if (!p->cfg.sve_vl)
		return 0;
	if (!vl) {
		kprintf("%s: sve-max-vl ignored: the CPUs have no SVE\n", p->cfg.name);
		return 0;
	}
	if (!p->sve_area && !(p->sve_area = malloc(sve_state_size(SVE_VL_MAX) * GUEST_MAX_VCPUS))) {
		kprintf("%s: no memory for the SVE state\n", p->cfg.name);
		return -ENOMEM;
	}
	p->sve_vl = vl;
	for (unsigned i = 0; i < p->nvcpus; i++)
		vcpu_sve_init(&p->vcpus[i].ctx, p->sve_area + i * size, vl);
	kprintf("%s: SVE, vector length %u bytes (sve-max-vl %u)\n", p->cfg.name, vl,
		p->cfg.sve_vl);
	return 0;
}

/* ---- the lifecycle's operations ---- */

static struct partition *of(struct lc_part *lc)
{
	return (struct partition *)((char *)lc - __builtin_offsetof(struct partition, lc));
}

/* Pins every vCPU to its CPU (a list per CPU when vCPUs outnumber CPUs);
 * the lists are complete before any CPU can see them. On a CPU it shares
 * (cyclic, priority) the other partitions' vCPUs stay on the list. */
static void place_vcpus(struct lc_part *lc)
{
	struct partition *p = of(lc);
	for (unsigned i = p->nvcpus; i-- > 0;) {
		struct vcpu *v = &p->vcpus[i];
		struct vcpu *head = percpu_data[v->pcpu].vcpu;
		bool shared = lc->cpu_shared & BIT(v->pcpu);
		v->next_on_cpu = head && (shared || head->part == p) ? head : NULL;
		__atomic_store_n(&percpu_data[v->pcpu].vcpu, v, __ATOMIC_RELEASE);
	}
	dsb(ish);
	for (unsigned i = 0; i < p->nvcpus; i++)
		sched_kick(p->vcpus[i].pcpu);
}

/* Unlinks p's vCPUs from a shared CPU's list; a CPU walking it meanwhile
 * still reaches its end through an unlinked vCPU's next. */
static void unlink_vcpus(struct partition *p, unsigned c)
{
	struct vcpu **at = (struct vcpu **)&percpu_data[c].vcpu;
	while (*at) {
		if ((*at)->part == p)
			__atomic_store_n(at, (*at)->next_on_cpu, __ATOMIC_RELEASE);
		else
			at = &(*at)->next_on_cpu;
	}
}

static void unplace_vcpus(struct lc_part *lc)
{
	struct partition *p = of(lc);
	for (unsigned i = 0; i < p->nvcpus; i++) {
		unsigned c = p->vcpus[i].pcpu;
		if (lc->cpu_shared & BIT(c))
			unlink_vcpus(p, c);
		else
			__atomic_store_n(&percpu_data[c].vcpu, NULL, __ATOMIC_RELEASE);
		sched_kick(c);
	}
}

static bool cpus_usable(uint64_t mask)
{
	for (unsigned i = 0; i < 64; i++)
		if ((mask & BIT(i)) && (i >= hw.ncpus || !percpu_data[i].online))
			return false;
	return true;
}

/* Booting its kernel: images, devices, vCPUs at the kernel's entry. */
static int build_boot(struct partition *p)
{
	int e = load_images(p);
	if (e)
		return e;
	init_devices(p);
	init_vcpus(p);
	if ((e = init_sve(p)))
		return e;
	p->cntvoff = timer_now();
	return 0;
}

/* Resuming a snapshot: fresh devices and vCPUs, then its state over them
 * (it sets cntvoff and which vCPUs are on). */
static int build_restore(struct partition *p)
{
	p->entry = p->dtb_ipa = 0;
	init_devices(p);
	init_vcpus(p);
	int e = init_sve(p);
	return e ? e : snap_restore_job(p);
}

static int build(struct lc_part *lc)
{
	struct partition *p = of(lc);
	int e = alloc_ram(p);
	if (e) {
		kprintf("%s: cannot get %llu MiB of RAM%s\n", p->cfg.name,
			(unsigned long long)(p->cfg.mem_size >> 20),
			e == -EBUSY ? " at its memory-base: in use" : "");
		return e;
	}
	memset((void *)p->ram_pa, 0, p->cfg.mem_size);
	p->nvcpus = p->cfg.vcpus;
	p->faults = 0; /* per run: the fault log limit starts again */
	if ((e = build_stage2(p)) || (e = pdev_build(p)))
		return e;
	if (!lc->restoring)
		return build_boot(p);
	if (!(e = build_restore(p)) || !p->snap_boot)
		return e;
	/* a restore at boot that cannot be done boots the kernel (snap_restore_job said so) */
	memset((void *)p->ram_pa, 0, p->cfg.mem_size);
	lc->restored_on = BIT(0);
	return build_boot(p);
}

static void paused(struct lc_part *lc)
{
	snap_paused_job(of(lc));
}

static void release(struct lc_part *lc)
{
	struct partition *p = of(lc);
	vuart_flush(&p->uart);
	snap_live_cancel(p); /* nor a live save's writer reading it */
	pdev_release(p);     /* no DMA into the RAM freed next */
	release_memory(p);
}

static void reset_vcpu(struct lc_part *lc, unsigned idx, uint64_t entry, uint64_t arg)
{
	struct vcpu *v = &of(lc)->vcpus[idx];
	vcpu_ctx_reset(&v->ctx, entry, arg, v->ctx.vmpidr);
}

static void note(struct lc_part *lc, enum lc_event ev, int err)
{
	struct partition *p = of(lc);
	if (ev == LC_STOPPED) {
		kprintf("%s: stopped\n", p->cfg.name);
		return;
	}
	if (ev == LC_RESUMED) {
		kprintf("%s: resumed\n", p->cfg.name);
		return;
	}
	if (ev == LC_START_FAILED) {
		kprintf("%s: start failed (%d)\n", p->cfg.name, err);
		return;
	}
	p->starts++;
	char how[64];
	if (p->entry) /* a kernel booted; a restore has none */
		snprintf(how, sizeof(how), "entry 0x%llx", (unsigned long long)p->entry);
	else
		snprintf(how, sizeof(how), "from snapshot %s", p->snap_name);
	kprintf("%s: started on CPUs 0x%llx, %u vCPUs, %llu MiB at 0x%llx, %s\n", p->cfg.name,
		(unsigned long long)p->cfg.cpu_mask, p->nvcpus,
		(unsigned long long)(p->cfg.mem_size >> 20), (unsigned long long)p->ram_pa, how);
	if (console && console->started)
		console->started(p);
}

static const struct lc_ops lc_ops = {
    .build = build,
    .release = release,
    .paused = paused,
    .place = place_vcpus,
    .unplace = unplace_vcpus,
    .reset_vcpu = reset_vcpu,
    .kick = sched_kick,
    .cpus_usable = cpus_usable,
    .note = note,
};

int partition_start(struct partition *p)
{
	return lc_start(&p->lc);
}

int partition_stop(struct partition *p, bool restart)
{
	return lc_stop(&p->lc, restart, LC_OPERATOR);
}

void partition_guest_stop(struct partition *p, bool restart)
{
	lc_stop(&p->lc, restart, LC_GUEST);
}

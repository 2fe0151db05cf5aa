/*
 * Snapshots of partitions on tessera's disk: the block device the format
 * library (snapshot/) writes through, the store, and the two long jobs:
 * saving a paused partition (its lifecycle's paused job, on its own job
 * CPU) and restoring one (its build, likewise). Both run with interrupts
 * open on a CPU that holds no other partition, and wait for the disk in
 * WFE: the boot CPU's interrupt handlers complete the requests (disk.c)
 * and SEV.
 *
 * One job uses the store at a time (store_take/store_give); a job that
 * finds it taken waits. The store is opened on first use and kept: tessera
 * is its only writer while it runs. The first save on a blank disk formats
 * it; a store that is damaged (no valid superblock) is never formatted
 * without `snapshot format` (not offered yet: use snaptool format).
 */
#include "kernel/vm/snap_state.h"
#include "kernel/io/io.h"
#include "drivers/drivers.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY_MAX 160
#ifndef TESSERA_VERSION /* host tests */
#define TESSERA_VERSION "host"
#endif

static struct snap_bdev bdev;
static struct snap_store *store;
static volatile int store_owner; /* 0 free, else 1 + the owner's CPU */

struct io_wait {
	struct nvme_req r;
	volatile int done;
	int err;
};

static void io_done(struct nvme_req *r, int err)
{
	struct io_wait *w = r->ctx;
	w->err = err;
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	sev();
}

/* Interrupts must be open here: on the boot CPU they are what completes
 * the request. */
static int io(uint8_t op, uint64_t lba, uint64_t n, void *buf)
{
	struct io_wait w = {.r = {.op = op, .lba = lba, .nblocks = n, .pa = (uint64_t)buf}};
	w.r.done = io_done;
	w.r.ctx = &w;
	if (read_sysreg(daif) & BIT(7))
		return -EDEADLK; /* a caller bug: nothing would complete it on the boot CPU */
	int e = disk_submit(&w.r);
	if (e)
		return e;
	while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
		wfe();
	return w.err;
}

static int bd_read(void *ctx, uint64_t sector, uint64_t count, void *buf)
{
	return io(NVME_OP_READ, sector, count, buf);
}
static int bd_write(void *ctx, uint64_t sector, uint64_t count, const void *buf)
{
	return io(NVME_OP_WRITE, sector, count, (void *)buf);
}
int snap_bdev_write(uint64_t sector, uint64_t count, const void *buf)
{
	return io(NVME_OP_WRITE, sector, count, (void *)buf);
}
static int bd_flush(void *ctx)
{
	return io(NVME_OP_FLUSH, 0, 0, NULL);
}

void store_take(void)
{
	int me = (int)this_cpu()->id + 1, free = 0;
	while (!__atomic_compare_exchange_n(&store_owner, &free, me, false, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free = 0;
		wfe();
	}
}

void store_give(void)
{
	__atomic_store_n(&store_owner, 0, __ATOMIC_RELEASE);
	sev();
}

/* The store, opened (and, with may_format, made on a blank disk); NULL
 * with why. Called with the store taken. */
struct snap_store *store_get(bool may_format, char *why, size_t whylen)
{
	uint32_t bs;
	uint64_t blocks, lba;
	if (store)
		return store;
	if (!disk_geometry(&bs, &blocks)) {
		snprintf(why, whylen, "no disk for snapshots (see `disk`)");
		return NULL;
	}
	disk_scratch(&lba);
	bdev = (struct snap_bdev){.sector_size = bs,
				  .sectors = lba,
				  .read = bd_read,
				  .write = bd_write,
				  .flush = bd_flush};
	int e = snap_open(&bdev, &store, why, whylen);
	if (e == -ENODATA && may_format) {
		uint64_t id = timer_now() ^ (uint64_t)read_sysreg(cntvct_el0) << 17;
		if ((e = snap_format(&bdev, id, why, whylen)) == 0) {
			kprintf("snapshot: formatted the store: %llu MiB of the disk\n",
				(unsigned long long)((lba * bs) >> 20));
			e = snap_open(&bdev, &store, why, whylen);
		}
	} else if (e == -ENODATA) {
		snprintf(why, whylen, "the disk holds no snapshot store yet");
	}
	if (e)
		store = NULL;
	return store;
}

/* After a failure the store is read again next time: what it cached may
 * be what failed. */
void store_drop(void)
{
	if (store)
		snap_close(store);
	store = NULL;
}

uint64_t snap_us(uint64_t ticks)
{
	return ticks * 1000000ull / timer_freq();
}

/* ---- what the guest saw: its CPU fingerprint ---- */

static unsigned fingerprint(const struct partition *p, struct snap_idreg *r)
{
	static const uint8_t ids[][2] = {{4, 0}, {4, 1}, {4, 4}, {5, 0}, {5, 1}, {6, 0},
					 {6, 1}, {6, 2}, {7, 0}, {7, 1}, {7, 2}};
	unsigned opts = p->sve_vl ? IDREG_SVE : 0, n = 0;
	r[n++] = (struct snap_idreg){.reg = SNAP_MIDR_EL1, .value = read_sysreg(vpidr_el2)};
	for (unsigned i = 0; i < ARRAY_SIZE(ids); i++)
		r[n++] = (struct snap_idreg){.reg = SNAP_SYSREG(3, 0, 0, ids[i][0], ids[i][1]),
					     .value = idreg_read_opt(ids[i][0], ids[i][1], opts)};
	r[n++] = (struct snap_idreg){.reg = SNAP_CLIDR_EL1, .value = read_sysreg(clidr_el1)};
	r[n++] = (struct snap_idreg){.reg = SNAP_CTR_EL0, .value = read_sysreg(ctr_el0)};
	r[n++] = (struct snap_idreg){.reg = SNAP_DCZID_EL0, .value = read_sysreg(dczid_el0)};
	return n;
}
#define FP_REGS 15

/* ---- saving ---- */

static int save_vcpus(struct snap_save *w, struct partition *p)
{
	struct snap_vcpu *sv = malloc(sizeof(*sv));
	int e = sv ? 0 : -ENOMEM;
	for (unsigned i = 0; i < p->nvcpus && !e; i++) {
		struct vcpu *v = &p->vcpus[i];
		snap_vcpu_from(v, sv);
		e = snap_save_vcpu(w, sv);
		if (!e && v->ctx.sve && v->ctx.sve_used) {
			struct snap_vcpu_sve h = {i, p->sve_vl, v->ctx.zcr_el1};
			e = snap_save_vcpu_sve(w, &h, v->ctx.sve);
		}
	}
	free(sv);
	return e;
}

static int save_vgic(struct snap_save *w, struct partition *p)
{
	struct snap_vgic g;
	struct snap_vgic_irq *spis = calloc(VGIC_NR_SPIS, sizeof(*spis));
	struct snap_vgic_cpu *cpus = calloc(p->nvcpus, sizeof(*cpus));
	int e = spis && cpus ? 0 : -ENOMEM;
	if (!e) {
		vgic_save(&p->vgic, &g, spis, cpus);
		for (unsigned i = 0; i < p->nvcpus; i++) {
			const struct vcpu_ctx *c = &p->vcpus[i].ctx;
			cpus[i].ich_vmcr = c->ich_vmcr;
			cpus[i].ich_ap0r[0] = c->ich_ap0r0;
			cpus[i].ich_ap1r[0] = c->ich_ap1r0;
			cpus[i].icc_sre = 7; /* SRE, DFB, DIB: fixed for guests */
		}
		e = snap_save_vgic(w, &g, spis, cpus);
	}
	free(spis);
	free(cpus);
	return e;
}

static int save_devices(struct snap_save *w, struct partition *p, uint64_t now)
{
	struct snap_timer t;
	struct snap_timer_cpu tc[GUEST_MAX_VCPUS];
	snap_timer_from(p, now, timer_freq(), &t, tc);
	int e = snap_save_timer(w, &t, tc);
	struct snap_device d = {SNAP_DEV_PL011, SNAP_PL011_V1, 0, 32 + GUEST_UART_SPI,
				GUEST_UART_BASE};
	struct snap_pl011 u;
	uint8_t *rx = malloc(VUART_RX_RING + VUART_LINE_MAX);
	if (!e && !rx)
		e = -ENOMEM;
	if (!e) {
		vuart_save(&p->uart, &u, rx, VUART_RX_RING, rx + VUART_RX_RING, VUART_LINE_MAX);
		e = snap_save_pl011(w, &d, &u, rx, rx + VUART_RX_RING);
	}
	free(rx);
	return e;
}

static int save_memory(struct snap_save *w, struct partition *p, const struct snap_incr *incr,
		       char *why, size_t whylen)
{
	uint64_t ipa[3], bytes[3];
	uint32_t first, n;
	int e = 0;
	unsigned nm = snap_mmio_ranges(p, ipa, bytes);
	for (unsigned i = 0; i < nm && !e; i++)
		e = snap_save_range(w, ipa[i], bytes[i], SNAP_RANGE_MMIO, &first, &n);
	return e ? e : snap_par_save(w, p, incr, why, whylen);
}

int snap_save_state(struct snap_save *w, struct partition *p, uint64_t now, char *why,
		    size_t whylen)
{
	struct snap_idreg r[FP_REGS];
	unsigned n = fingerprint(p, r);
	int e = snap_save_fingerprint(w, r, n);
	if (!e)
		e = save_vcpus(w, p);
	if (!e)
		e = save_vgic(w, p);
	if (!e)
		e = save_devices(w, p, now);
	return e;
}

static int save_state(struct snap_save *w, struct partition *p, uint64_t now,
		      const struct snap_incr *incr, char *why, size_t whylen)
{
	int e = snap_save_state(w, p, now, why, whylen);
	return e ? e : save_memory(w, p, incr, why, whylen);
}

/* The parent's chunk index, if parent is one of p's snapshots and p's
 * writes are tracked since it; *par its PARENT record. */
static int parent_chunks(struct snap_store *s, struct partition *p, const char *parent,
			 struct snap_chunk **out, struct snap_parent *par, char *why, size_t whylen)
{
	struct snap_info inf;
	struct snap_image *m;
	if (snap_lookup(s, parent, &inf)) {
		snprintf(why, whylen, "no snapshot %s to be incremental to", parent);
		return -ENOENT;
	}
	if (!dirty_base_is(p, parent, inf.generation)) {
		snprintf(why, whylen,
			 "%s's writes are not tracked since %s (only since its last good save or "
			 "restore, and never across a stop)",
			 p->cfg.name, parent);
		return -ESTALE;
	}
	int e = snap_load(s, parent, &m);
	if (e) {
		snprintf(why, whylen, "parent %s: %s", parent, snap_error(s));
		return e;
	}
	unsigned n, nc;
	const struct snap_range *r = snap_image_ranges(m, &n);
	const struct snap_chunk *c = snap_image_chunks(m, &nc);
	e = -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (r[i].flags == SNAP_RANGE_RAM && r[i].ipa == GUEST_RAM_BASE &&
		    r[i].bytes == p->cfg.mem_size && (*out = malloc(r[i].nchunks * sizeof(*c)))) {
			memcpy(*out, c + r[i].first_chunk, r[i].nchunks * sizeof(*c));
			e = 0;
		}
	snap_image_free(m);
	if (e)
		snprintf(why, whylen, "parent %s does not hold %s's RAM as it is", parent,
			 p->cfg.name);
	memset(par, 0, sizeof(*par));
	snprintf(par->name, sizeof(par->name), "%s", parent);
	par->generation = inf.generation;
	return e;
}

/* After a good save or restore: p's writes are tracked from name on, for
 * the next incremental (not for a partition with devices: dirty.c). */
static void track_from(struct partition *p, const char *name, uint64_t gen)
{
	if (!dirty_on(p) && dirty_start(p))
		return;
	dirty_set_base(p, name, gen);
}

static int save_body(struct snap_save *w, struct partition *p, uint64_t now,
		     const struct snap_incr *incr, const struct snap_parent *par, char *why,
		     size_t whylen)
{
	int e = par ? snap_save_record(w, SNAP_REC_PARENT, SNAP_PARENT_V1, SNAP_REC_F_OPTIONAL, par,
				       sizeof(*par))
		    : 0;
	return e ? e : save_state(w, p, now, incr, why, whylen);
}

/* The paused job: p's vCPUs are off their CPUs. With parent, only the
 * chunks with pages written since then are written. The pages written so
 * far are taken from the tracking at the start (harvest) and given back
 * if the save fails, so the next incremental still has them. Returns 0 or
 * an error with why; st filled on success. */
int snap_save_partition(struct partition *p, const char *name, const char *parent, uint64_t now,
			struct snap_save_stats *st, char *why, size_t whylen)
{
	struct snap_store *s = store_get(true, why, whylen);
	struct snap_chunk *pc = NULL;
	struct snap_parent par;
	struct snap_save *w;
	if (!s)
		return -ENODEV;
	int e = parent ? parent_chunks(s, p, parent, &pc, &par, why, whylen) : 0;
	if (e)
		return e;
	struct snap_save_params sp = {.name = name,
				      .partition = p->cfg.name,
				      .creator = "tessera " TESSERA_VERSION,
				      .nvcpus = p->nvcpus,
				      .replace = parent && !strcmp(parent, name)};
	if ((e = snap_save_begin(s, &sp, &w))) {
		snprintf(why, whylen, "%s",
			 e == -EEXIST ? "the name is already taken" : snap_error(s));
		free(pc);
		return e;
	}
	uint64_t *bits = dirty_on(p) ? malloc(dirty_bitmap_bytes(p)) : NULL;
	bool harvested = bits && !dirty_harvest(p, bits);
	struct snap_incr incr = {bits, pc};
	why[0] = '\0';
	if (parent && !harvested) {
		snap_save_abort(w);
		e = -ENOMEM;
	} else if ((e = save_body(w, p, now, parent ? &incr : NULL, parent ? &par : NULL, why,
				  whylen)))
		snap_save_abort(w);
	else
		e = snap_save_commit(w, st);
	if (e && !why[0])
		snprintf(why, whylen, "%s", e == -ENOMEM ? "out of memory" : snap_error(s));
	if (e)
		store_drop(); /* start from the disk next time */
	if (e && harvested)
		dirty_unharvest(p, bits);
	if (!e)
		track_from(p, name, st->generation);
	free(bits);
	free(pc);
	return e;
}

/* ---- restoring ---- */

static int check_fit(struct partition *p, struct snap_image *m, char *why, size_t whylen)
{
	struct snap_idreg r[FP_REGS];
	const struct snap_header *h = snap_image_header(m);
	unsigned n = fingerprint(p, r);
	if (h->nvcpus != p->nvcpus) {
		snprintf(why, whylen, "it has %u vCPUs, partition %s has %u", h->nvcpus,
			 p->cfg.name, p->nvcpus);
		return -EINVAL;
	}
	if (h->ram_bytes != p->cfg.mem_size) {
		snprintf(why, whylen,
			 "memory size mismatch: it has %llu MiB, partition %s %llu MiB",
			 (unsigned long long)(h->ram_bytes >> 20), p->cfg.name,
			 (unsigned long long)(p->cfg.mem_size >> 20));
		return -EINVAL;
	}
	char fw[WHY_MAX];
	if (snap_fingerprint_check(m, r, n, fw, sizeof(fw))) {
		snprintf(why, whylen, "CPU fingerprint mismatch: %s", fw);
		return -EPERM;
	}
	return 0;
}

static int restore_vcpus(struct partition *p, struct snap_image *m, char *why, size_t whylen)
{
	uint32_t on = 0;
	for (unsigned i = 0; i < p->nvcpus; i++) {
		struct vcpu *v = &p->vcpus[i];
		const struct snap_vcpu *sv = snap_image_vcpu(m, i);
		const void *state;
		const struct snap_vcpu_sve *sve = snap_image_vcpu_sve(m, i, &state);
		int e = sv ? snap_vcpu_into(v, sv, why, whylen) : -EINVAL;
		if (!sv)
			snprintf(why, whylen, "no record for vCPU %u", i);
		if (e)
			return e;
		if (sve && (sve->vl != p->sve_vl || !v->ctx.sve)) {
			snprintf(why, whylen, "vCPU %u used SVE at %u bytes; the partition has %u",
				 i, sve->vl, p->sve_vl);
			return -EINVAL;
		}
		if (sve) {
			memcpy(v->ctx.sve, state, snap_sve_state_size(sve->vl));
			v->ctx.zcr_el1 = sve->zcr_el1;
			v->ctx.sve_used = 1;
		}
		if (sv->power == SNAP_POWER_ON)
			on |= BIT(i);
	}
	p->lc.restored_on = on;
	return 0;
}

static int restore_vgic(struct partition *p, struct snap_image *m, char *why, size_t whylen)
{
	const struct snap_vgic_irq *spis;
	const struct snap_vgic_cpu *cpus;
	const struct snap_vgic *g = snap_image_vgic(m, &spis, &cpus);
	if (!g) {
		snprintf(why, whylen, "no vGIC record");
		return -EINVAL;
	}
	int e = vgic_restore(&p->vgic, g, spis, cpus, why, whylen);
	for (unsigned i = 0; i < p->nvcpus && !e; i++) {
		struct vcpu_ctx *c = &p->vcpus[i].ctx;
		c->ich_vmcr = cpus[i].ich_vmcr;
		c->ich_ap0r0 = cpus[i].ich_ap0r[0];
		c->ich_ap1r0 = cpus[i].ich_ap1r[0];
	}
	return e;
}

static int restore_devices(struct partition *p, struct snap_image *m, uint64_t now, char *why,
			   size_t whylen)
{
	const struct snap_timer_cpu *tc;
	const struct snap_timer *t = snap_image_timer(m, &tc);
	if (!t) {
		snprintf(why, whylen, "no timer record");
		return -EINVAL;
	}
	int e = snap_timer_into(p, t, tc, now, timer_freq(), why, whylen);
	for (unsigned i = 0; i < snap_image_ndevices(m) && !e; i++) {
		const void *pl;
		uint32_t len;
		const struct snap_device *d = snap_image_device(m, i, &pl, &len);
		struct snap_pl011 u;
		const uint8_t *rx, *tx;
		if (d->kind != SNAP_DEV_PL011 || d->base != GUEST_UART_BASE) {
			snprintf(why, whylen, "a device tessera does not have (kind %u at 0x%llx)",
				 d->kind, (unsigned long long)d->base);
			return -EINVAL;
		}
		e = snap_pl011_parse(pl, len, &u, &rx, &tx);
		if (e)
			snprintf(why, whylen, "the PL011 record does not parse");
		else
			e = vuart_restore(&p->uart, &u, rx, tx, why, whylen);
	}
	return e;
}

static int restore_memory(struct partition *p, struct snap_image *m, char *why, size_t whylen)
{
	unsigned n;
	const struct snap_range *r = snap_image_ranges(m, &n);
	for (unsigned i = 0; i < n; i++) {
		if (r[i].flags != SNAP_RANGE_RAM)
			continue;
		if (r[i].ipa != GUEST_RAM_BASE || r[i].bytes != p->cfg.mem_size) {
			snprintf(why, whylen, "RAM at 0x%llx+0x%llx, not the partition's",
				 (unsigned long long)r[i].ipa, (unsigned long long)r[i].bytes);
			return -EINVAL;
		}
		int e = snap_par_load(m, i, p, why, whylen);
		if (e)
			return e;
	}
	dcache_clean_range(p->ram_pa, p->cfg.mem_size);
#ifndef TESSERA_HOST
	__asm__ volatile("ic ialluis; dsb ish; isb" ::: "memory");
#endif
	return 0;
}

/* In p's build, its memory, stage 2, devices and vCPUs freshly made: loads
 * NAME into them. 0, or an error with why (p must then be built afresh). */
int snap_restore_partition(struct partition *p, const char *name, uint64_t *read_bytes, char *why,
			   size_t whylen)
{
	struct snap_store *s = store_get(false, why, whylen);
	struct snap_image *m;
	if (!s)
		return -ENODEV;
	int e = snap_load(s, name, &m);
	if (e) {
		snprintf(why, whylen, "%s",
			 e == -ENOENT ? "no snapshot of that name" : snap_error(s));
		return e;
	}
	if (!(e = check_fit(p, m, why, whylen)) && !(e = restore_memory(p, m, why, whylen)))
		if (!(e = restore_vcpus(p, m, why, whylen)) &&
		    !(e = restore_vgic(p, m, why, whylen)))
			e = restore_devices(p, m, timer_now(), why, whylen);
	if (!e) /* its RAM is the snapshot's: the next incremental counts from it */
		track_from(p, name, snap_image_header(m)->generation);
	unsigned nc;
	const struct snap_chunk *c = snap_image_chunks(m, &nc);
	*read_bytes = snap_image_manifest_len(m);
	for (unsigned i = 0; i < nc; i++)
		*read_bytes += c[i].payload_len;
	snap_image_free(m);
	return e;
}

/*
 * vGIC snapshots (kernel/vgic/save.c): a model with nontrivial state
 * (pending, active, level, disabled, group 0, routed, HW-linked, SGIs from
 * several senders, sleeping redistributors), synced and unloaded as the
 * snapshot engine leaves it, is saved and restored into a fresh model.
 * The two must then be the same to the guest: the same registers, the
 * same vgic_pending answers, the same list registers at every flush while
 * a guest takes and completes what they offer. Then every refusal, and
 * what the restored model is documented to do differently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/vgic/vgic.h"
#include "lib/panic.h"
#include "snapshot/snapshot.h"

#define NVCPUS 4
#define NLRS   4
#define SGI    0x10000ull /* SGI_base frame within a redistributor */
#define RD(n)  ((uint64_t)(n)*0x20000)

/* A model with its fake CPU interface: an LR array per vCPU, counted
 * kicks, a lock whose depth is checked on every callback. */
struct model {
	struct vgic g;
	uint64_t lr[VGIC_MAX_VCPUS][VGIC_MAX_LRS];
	unsigned cur; /* vCPU whose LRs read_lr/write_lr reach */
	int depth;
	unsigned kicks[VGIC_MAX_VCPUS];
};
static struct model A, B;

static uint64_t fake_read_lr(void *ctx, unsigned i)
{
	struct model *m = ctx;
	assert_int_equal(m->depth, 1);
	assert_true(i < NLRS);
	return m->lr[m->cur][i];
}
static void fake_write_lr(void *ctx, unsigned i, uint64_t v)
{
	struct model *m = ctx;
	assert_int_equal(m->depth, 1);
	assert_true(i < NLRS);
	m->lr[m->cur][i] = v;
}
static uint32_t fake_empty_lrs(void *ctx)
{
	struct model *m = ctx;
	uint32_t e = 0;
	for (unsigned i = 0; i < NLRS; i++)
		if (!(m->lr[m->cur][i] >> 62))
			e |= 1u << i;
	return e;
}
static void fake_kick(void *ctx, unsigned vcpu)
{
	struct model *m = ctx;
	assert_int_equal(m->depth, 0); /* never under the lock */
	assert_true(vcpu < NVCPUS);
	m->kicks[vcpu]++;
}
static void fake_lock(void *ctx)
{
	struct model *m = ctx;
	assert_int_equal(m->depth, 0);
	m->depth++;
}
static void fake_unlock(void *ctx)
{
	struct model *m = ctx;
	assert_int_equal(m->depth, 1);
	m->depth--;
}

static void model_init(struct model *m, unsigned nvcpus)
{
	memset(m, 0, sizeof(*m));
	struct vgic_ops ops = {
	    .nr_lrs = NLRS,
	    .read_lr = fake_read_lr,
	    .write_lr = fake_write_lr,
	    .empty_lrs = fake_empty_lrs,
	    .kick = fake_kick,
	    .lock = fake_lock,
	    .unlock = fake_unlock,
	    .ctx = m,
	};
	vgic_init(&m->g, nvcpus, &ops);
}

/* panic() of save.c: a caller bug, caught here. */
static jmp_buf panic_jmp;
static bool panic_armed;
static char panic_msg[256];
void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	if (!panic_armed)
		fail_msg("panic: %s", panic_msg);
	longjmp(panic_jmp, 1);
}

static int setup(void **state)
{
	model_init(&A, NVCPUS);
	model_init(&B, NVCPUS);
	panic_armed = false;
	return 0;
}
static int teardown(void **state)
{
	assert_int_equal(A.depth, 0);
	assert_int_equal(B.depth, 0);
	return 0;
}

/* ---- guest-side helpers ---- */

static uint64_t dacc(struct model *m, uint64_t off, unsigned size, bool write, uint64_t v)
{
	assert_int_equal(vgic_dist_access(&m->g, 0, off, size, write, &v), 0);
	return v;
}
static void dwrite(struct model *m, uint64_t off, uint64_t v)
{
	dacc(m, off, 4, true, v);
}
static uint64_t racc(struct model *m, uint64_t off, unsigned size, bool write, uint64_t v)
{
	assert_int_equal(vgic_redist_access(&m->g, 0, off, size, write, &v), 0);
	return v;
}
static void rwrite(struct model *m, uint64_t off, uint64_t v)
{
	racc(m, off, 4, true, v);
}
static uint64_t flush(struct model *m, unsigned v)
{
	m->cur = v;
	return vgic_flush(&m->g, v);
}
static void sync_(struct model *m, unsigned v)
{
	m->cur = v;
	vgic_sync(&m->g, v);
}
static void unload(struct model *m, unsigned v)
{
	m->cur = v;
	vgic_unload(&m->g, v);
}
static unsigned lr_st(const struct model *m, unsigned v, int i)
{
	return (unsigned)(m->lr[v][i] >> 62);
}
static int lr_find(const struct model *m, unsigned v, unsigned intid)
{
	for (int i = 0; i < NLRS; i++)
		if (lr_st(m, v, i) && (uint32_t)m->lr[v][i] == intid)
			return i;
	return -1;
}
static void guest_ack(struct model *m, unsigned v, int i)
{
	assert_true(i >= 0);
	m->lr[v][i] = (m->lr[v][i] & ~(3ull << 62)) | (2ull << 62);
}
static void guest_eoi(struct model *m, unsigned v, int i)
{
	assert_true(i >= 0);
	m->lr[v][i] &= ~(3ull << 62);
}

/* SPI intid: trigger, priority, group, route, enable. */
static void spi_setup(struct model *m, unsigned intid, bool edge, uint8_t prio, bool group1,
		      uint64_t irouter, bool enable)
{
	uint64_t cfg = 0xc00 + intid / 16 * 4;
	uint64_t v = dacc(m, cfg, 4, false, 0);
	unsigned bit = 2 * (intid % 16) + 1;
	dwrite(m, cfg, edge ? v | BIT(bit) : v & ~BIT(bit));
	dacc(m, 0x400 + intid, 1, true, prio);
	uint64_t grp = 0x80 + intid / 32 * 4;
	v = dacc(m, grp, 4, false, 0);
	dwrite(m, grp, group1 ? v | BIT(intid % 32) : v & ~BIT(intid % 32));
	dacc(m, 0x6000 + 8 * intid, 8, true, irouter);
	if (enable)
		dwrite(m, 0x100 + intid / 32 * 4, BIT(intid % 32));
}

/* SGI/PPI intid of vCPU c: priority, group, enable. */
static void priv_setup(struct model *m, unsigned c, unsigned intid, uint8_t prio, bool group1,
		       bool enable)
{
	racc(m, RD(c) + SGI + 0x400 + intid, 1, true, prio);
	uint64_t v = racc(m, RD(c) + SGI + 0x80, 4, false, 0);
	rwrite(m, RD(c) + SGI + 0x80, group1 ? v | BIT(intid) : v & ~BIT(intid));
	if (enable)
		rwrite(m, RD(c) + SGI + 0x100, BIT(intid));
}

/*
 * The state saved in the round trips, per vCPU (priorities all distinct
 * within a vCPU, so no tie and no round-robin cursor decides an order):
 *   0: PPI 20 level, line high, taken by the guest: active and pending
 *      again; PPI 27 the virtual timer, HW-linked and fired; SPI 60
 *      routed by IRM = 1, level, line high.
 *   1: SPIs 40 (edge, routed to 1), 41 (level, group 0, line high),
 *      42-44 (edge): five pending; flushed and synced without the guest
 *      taking any, so they are noted as held in LRs. SPI 52 taken on
 *      vCPU 1, then re-routed to vCPU 2 and pending again: vCPU 1's LR
 *      keeps it active (so three LRs for the five), vCPU 2 gets it only
 *      once vCPU 1's guest completes it.
 *   2: SGI 3 (group 0) sent by vCPUs 0 and 1, SGI 5 sent by vCPU 3;
 *      SPI 45 pending but disabled. Awake.
 *   3: SPI 47 active only (taken, not completed); SGI 1 pending but
 *      disabled. Asleep, as at reset.
 *   nobody: SPI 50 pending, routed to an affinity no vCPU has.
 */
static void build(struct model *m)
{
	struct vgic *g = &m->g;
	dwrite(m, 0x0, 3); /* both groups */
	for (unsigned c = 0; c < 3; c++)
		rwrite(m, RD(c) + 0x14, 0); /* awake */

	priv_setup(m, 0, 20, 0x30, true, true);
	vgic_set_level(g, 0, 20, true);
	flush(m, 0);
	guest_ack(m, 0, lr_find(m, 0, 20));
	sync_(m, 0); /* active; the line still high: pending again */
	priv_setup(m, 0, 27, 0x10, true, true);
	vgic_inject_hw(g, 0, 27, 27);
	spi_setup(m, 60, false, 0x60, true, BIT(31) | 3, true);
	vgic_set_level(g, 0, 60, true);

	spi_setup(m, 52, true, 0x68, true, 1, true);
	vgic_inject(g, 0, 52);
	flush(m, 1);
	guest_ack(m, 1, lr_find(m, 1, 52));
	sync_(m, 1);
	dacc(m, 0x6000 + 8 * 52, 8, true, 2);
	vgic_inject(g, 0, 52);
	spi_setup(m, 40, true, 0x40, true, 1, true);
	spi_setup(m, 41, false, 0x20, false, 1, true);
	spi_setup(m, 42, true, 0x48, true, 1, true);
	spi_setup(m, 43, true, 0x50, true, 1, true);
	spi_setup(m, 44, true, 0x58, true, 1, true);
	vgic_inject(g, 0, 40);
	vgic_set_level(g, 0, 41, true);
	vgic_inject(g, 0, 42);
	vgic_inject(g, 0, 43);
	vgic_inject(g, 0, 44);
	flush(m, 1);
	sync_(m, 1);

	priv_setup(m, 2, 3, 0x38, false, true);
	priv_setup(m, 2, 5, 0x18, true, true);
	vgic_sgi(g, 0, 3ull << 24 | BIT(2));
	vgic_sgi(g, 1, 3ull << 24 | BIT(2));
	vgic_sgi(g, 3, 5ull << 24 | BIT(2));
	spi_setup(m, 45, true, 0x28, true, 2, false);
	dwrite(m, 0x204, BIT(45 - 32)); /* ISPENDR1 */

	spi_setup(m, 47, true, 0x70, true, 3, true);
	vgic_inject(g, 0, 47);
	flush(m, 3);
	guest_ack(m, 3, lr_find(m, 3, 47));
	sync_(m, 3);
	priv_setup(m, 3, 1, 0x08, true, false);
	vgic_sgi(g, 0, 1ull << 24 | BIT(3));

	spi_setup(m, 50, true, 0x50, true, 7, true);
	vgic_inject(g, 0, 50);

	for (unsigned c = 0; c < NVCPUS; c++)
		unload(m, c);
	memset(m->kicks, 0, sizeof(m->kicks));
}

/* A whole record, as the snapshot engine holds one. */
struct rec {
	struct snap_vgic head;
	struct snap_vgic_irq spis[VGIC_NR_SPIS];
	struct snap_vgic_cpu cpus[NVCPUS];
};

static void save(struct model *m, struct rec *r)
{
	memset(r, 0xa5, sizeof(*r)); /* whatever was there is overwritten */
	vgic_save(&m->g, &r->head, r->spis, r->cpus);
}
static int restore(struct model *m, const struct rec *r, char *why, size_t n)
{
	return vgic_restore(&m->g, &r->head, r->spis, r->cpus, why, n);
}

/* ---- what the guest sees ---- */

/* Every register of the distributor and redistributors that holds state,
 * read through the guest's interface, equal in both models. */
static void same_registers(struct model *a, struct model *b)
{
	static const struct {
		uint16_t off, len;
	} dist[] = {{0x0000, 4},    {0x0080, 0x80},  {0x0100, 0x80}, {0x0200, 0x80},
		    {0x0300, 0x80}, {0x0400, 0x400}, {0x0c00, 0x100}};
	for (size_t k = 0; k < ARRAY_SIZE(dist); k++)
		for (unsigned o = dist[k].off; o < dist[k].off + dist[k].len; o += 4)
			assert_int_equal(dacc(a, o, 4, false, 0), dacc(b, o, 4, false, 0));
	for (unsigned i = 32; i < VGIC_NR_IRQS; i++)
		assert_int_equal(dacc(a, 0x6000 + 8 * i, 8, false, 0),
				 dacc(b, 0x6000 + 8 * i, 8, false, 0));
	for (unsigned c = 0; c < NVCPUS; c++) {
		static const uint16_t rd[] = {0x80, 0x100, 0x200, 0x300, 0xc00, 0xc04};
		assert_int_equal(racc(a, RD(c) + 0x14, 4, false, 0),
				 racc(b, RD(c) + 0x14, 4, false, 0));
		for (size_t k = 0; k < ARRAY_SIZE(rd); k++)
			assert_int_equal(racc(a, RD(c) + SGI + rd[k], 4, false, 0),
					 racc(b, RD(c) + SGI + rd[k], 4, false, 0));
		for (unsigned o = 0; o < 0x20; o += 4)
			assert_int_equal(racc(a, RD(c) + SGI + 0x400 + o, 4, false, 0),
					 racc(b, RD(c) + SGI + 0x400 + o, 4, false, 0));
	}
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* vCPU v's LRs as a sorted set (which LR holds what is the model's
 * business; what the guest can take is not). */
static void lr_set_of(const struct model *m, unsigned v, uint64_t out[NLRS])
{
	for (int i = 0; i < NLRS; i++)
		out[i] = lr_st(m, v, i) ? m->lr[v][i] : 0;
	qsort(out, NLRS, sizeof(out[0]), cmp_u64);
}

static void same_lrs(const struct model *a, const struct model *b, unsigned v)
{
	uint64_t x[NLRS], y[NLRS];
	lr_set_of(a, v, x);
	lr_set_of(b, v, y);
	for (int i = 0; i < NLRS; i++) {
		if (x[i] != y[i])
			fail_msg("vCPU %u: LR values differ: 0x%llx / 0x%llx", v,
				 (unsigned long long)x[i], (unsigned long long)y[i]);
	}
}

/* The guest's turn on vCPU v: completes what it holds active, then takes
 * the best pending LR (lowest priority value, the lowest INTID on a tie);
 * returns that INTID, or -1. */
static int guest_turn(struct model *m, unsigned v)
{
	int best = -1;
	for (int i = 0; i < NLRS; i++) {
		if (lr_st(m, v, i) & 2) {
			guest_eoi(m, v, i);
			continue;
		}
		if (lr_st(m, v, i) != 1)
			continue;
		uint64_t p = (m->lr[v][i] >> 48) & 0xff, q = best < 0 ? 0 : m->lr[v][best];
		if (best < 0 || p < ((q >> 48) & 0xff) ||
		    (p == ((q >> 48) & 0xff) && (uint32_t)m->lr[v][i] < (uint32_t)q))
			best = i;
	}
	if (best < 0)
		return -1;
	guest_ack(m, v, best);
	return (int)(uint32_t)m->lr[v][best];
}

/* Both models run the same guest for a while: at every entry the same
 * LRs and maintenance requests, at every exit the same vgic_pending. */
static void same_future(struct model *a, struct model *b, unsigned rounds)
{
	for (unsigned c = 0; c < NVCPUS; c++)
		assert_int_equal(vgic_pending(&a->g, c), vgic_pending(&b->g, c));
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned c = 0; c < NVCPUS; c++) {
			assert_int_equal(flush(a, c), flush(b, c));
			same_lrs(a, b, c);
			assert_int_equal(guest_turn(a, c), guest_turn(b, c));
			sync_(a, c);
			sync_(b, c);
			assert_int_equal(vgic_pending(&a->g, c), vgic_pending(&b->g, c));
			unload(a, c);
			unload(b, c);
		}
		same_registers(a, b);
	}
}

/* ---- round trips ---- */

/* The record says what build() did, field by field: a save that swapped
 * two flags consistently would still round-trip. */
static void save_encodes_the_model(void **state)
{
	static struct rec r;
	build(&A);
	save(&A, &r);
	assert_int_equal(r.head.nvcpus, NVCPUS);
	assert_int_equal(r.head.nspis, VGIC_NR_SPIS);
	assert_int_equal(r.head.gicd_ctlr, 3);
	assert_int_equal(r.head.reserved, 0);

	const struct snap_vgic_irq *s40 = &r.spis[40 - 32];
	assert_int_equal(s40->intid, 40);
	assert_int_equal(s40->flags,
			 SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_EDGE | SNAP_IRQ_PENDING);
	assert_int_equal(s40->prio, 0x40);
	assert_int_equal(s40->target, 1);
	assert_int_equal(s40->irouter, 1);
	assert_int_equal(s40->pintid, 0);
	const struct snap_vgic_irq *s41 = &r.spis[41 - 32];
	assert_int_equal(s41->flags, SNAP_IRQ_ENABLED | SNAP_IRQ_LEVEL); /* group 0 */
	assert_int_equal(s41->prio, 0x20);
	const struct snap_vgic_irq *s45 = &r.spis[45 - 32];
	assert_int_equal(s45->flags, SNAP_IRQ_GROUP1 | SNAP_IRQ_EDGE | SNAP_IRQ_PENDING);
	assert_int_equal(s45->target, 2);
	const struct snap_vgic_irq *s47 = &r.spis[47 - 32];
	assert_int_equal(s47->flags,
			 SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_EDGE | SNAP_IRQ_ACTIVE);
	const struct snap_vgic_irq *s50 = &r.spis[50 - 32];
	assert_int_equal(s50->target, 0xff); /* no vCPU has Aff0 7 */
	assert_int_equal(s50->irouter, 7);
	const struct snap_vgic_irq *s52 = &r.spis[52 - 32];
	assert_int_equal(s52->flags, SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_EDGE |
					 SNAP_IRQ_ACTIVE | SNAP_IRQ_PENDING);
	assert_int_equal(s52->target, 1); /* held there, active */
	assert_int_equal(s52->irouter, 2);
	const struct snap_vgic_irq *s60 = &r.spis[60 - 32];
	assert_int_equal(s60->target, 0);
	assert_int_equal(s60->irouter, BIT(31) | 3);

	const struct snap_vgic_irq *p20 = &r.cpus[0].priv[20];
	assert_int_equal(p20->flags,
			 SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_ACTIVE | SNAP_IRQ_LEVEL);
	assert_int_equal(p20->target, 0);
	assert_int_equal(p20->irouter, 0);
	const struct snap_vgic_irq *p27 = &r.cpus[0].priv[27];
	assert_int_equal(p27->flags,
			 SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_LEVEL | SNAP_IRQ_HW);
	assert_int_equal(p27->pintid, 27);
	assert_int_equal(p27->prio, 0x10);
	/* SGI 3 from two senders: one latch, as the model (and GICv3) has it */
	const struct snap_vgic_irq *g3 = &r.cpus[2].priv[3];
	assert_int_equal(g3->flags, SNAP_IRQ_ENABLED | SNAP_IRQ_EDGE | SNAP_IRQ_PENDING);
	assert_int_equal(g3->target, 2);
	assert_int_equal(r.cpus[2].priv[5].flags,
			 SNAP_IRQ_GROUP1 | SNAP_IRQ_ENABLED | SNAP_IRQ_EDGE | SNAP_IRQ_PENDING);
	assert_int_equal(r.cpus[3].priv[1].flags,
			 SNAP_IRQ_GROUP1 | SNAP_IRQ_EDGE | SNAP_IRQ_PENDING);
	/* an idle SGI and PPI as vgic_init made them */
	assert_int_equal(r.cpus[1].priv[7].flags, SNAP_IRQ_GROUP1 | SNAP_IRQ_EDGE);
	assert_int_equal(r.cpus[1].priv[22].flags, SNAP_IRQ_GROUP1);

	for (unsigned c = 0; c < NVCPUS; c++) {
		assert_int_equal(r.cpus[c].index, c);
		assert_int_equal(r.cpus[c].flags, c == 3 ? SNAP_VGIC_CPU_SLEEP : 0);
		assert_int_equal(r.cpus[c].ich_vmcr, 0); /* the caller's */
		assert_int_equal(r.cpus[c].icc_sre, 0);
		for (unsigned i = 0; i < 4; i++)
			assert_int_equal(r.cpus[c].ich_ap0r[i] | r.cpus[c].ich_ap1r[i], 0);
		for (unsigned i = 0; i < 32; i++)
			assert_int_equal(r.cpus[c].priv[i].intid, i);
	}
	for (unsigned i = 0; i < VGIC_NR_SPIS; i++)
		assert_int_equal(r.spis[i].intid, 32 + i);
}

/* Restored into a fresh model: the same record again, the same registers,
 * kicks for the vCPUs with something deliverable, and the same future. */
static void round_trip_same_future(void **state)
{
	static struct rec r, r2;
	char why[128] = "";
	build(&A);
	save(&A, &r);
	assert_int_equal(restore(&B, &r, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	int i;
	/* 0: PPIs 20, 27, SPI 60; 1: SPIs 40-44; 2: SGIs 3, 5; 3: nothing
	 * deliverable (47 only active, SGI 1 disabled) */
	assert_int_equal(B.kicks[0], 1);
	assert_int_equal(B.kicks[1], 1);
	assert_int_equal(B.kicks[2], 1);
	assert_int_equal(B.kicks[3], 0);
	save(&B, &r2);
	assert_memory_equal(&r, &r2, sizeof(r));
	same_registers(&A, &B);

	/* the first entry of each vCPU, spelled out once */
	assert_true(vgic_pending(&B.g, 1));
	uint64_t maint = flush(&B, 1);
	assert_int_equal(maint, VGIC_HCR_UIE); /* five for three LRs */
	for (unsigned n = 40; n <= 42; n++)
		assert_true(lr_find(&B, 1, n) >= 0);
	assert_int_equal(lr_find(&B, 1, 43), -1);
	i = lr_find(&B, 1, 52);
	assert_true(i >= 0);
	assert_int_equal(lr_st(&B, 1, i), 2); /* active only: pending is for vCPU 2 */
	assert_int_equal((B.lr[1][i] >> 48) & 0xff, 0x68);
	i = lr_find(&B, 0, 20);
	assert_int_equal(i, -1); /* not flushed yet */
	flush(&B, 0);
	i = lr_find(&B, 0, 20);
	assert_true(i >= 0);
	assert_int_equal(lr_st(&B, 0, i), 3); /* pending and active */
	i = lr_find(&B, 0, 27);
	assert_true(i >= 0);
	assert_true(B.lr[0][i] & BIT(61)); /* HW */
	assert_int_equal((B.lr[0][i] >> 32) & 0x1fff, 27);
	flush(&B, 2);
	assert_true(lr_find(&B, 2, 3) >= 0);
	assert_false(B.lr[2][lr_find(&B, 2, 3)] & BIT(60)); /* group 0 */
	assert_true(lr_find(&B, 2, 5) >= 0);
	assert_int_equal(lr_find(&B, 2, 45), -1); /* disabled */
	assert_int_equal(lr_find(&B, 2, 52), -1); /* still active on vCPU 1 */
	flush(&B, 3);
	i = lr_find(&B, 3, 47);
	assert_true(i >= 0);
	assert_int_equal(lr_st(&B, 3, i), 2); /* active: the guest can complete it */
	assert_int_equal(lr_find(&B, 3, 1), -1);
	assert_false(vgic_pending(&B.g, 3));
	for (unsigned c = 0; c < NVCPUS; c++) {
		sync_(&B, c);
		unload(&B, c);
	}
	same_future(&A, &B, 8);
}

/* A restored model saved again and restored once more: nothing drifts. */
static void round_trip_twice(void **state)
{
	static struct rec r, r2;
	static struct model C;
	build(&A);
	save(&A, &r);
	assert_int_equal(restore(&B, &r, NULL, 0), 0);
	flush(&B, 1);
	sync_(&B, 1);
	unload(&B, 1);
	save(&B, &r2);
	assert_memory_equal(&r, &r2, sizeof(r));
	model_init(&C, NVCPUS);
	assert_int_equal(restore(&C, &r2, NULL, 0), 0);
	same_future(&A, &C, 6);
	assert_int_equal(C.depth, 0);
}

/* A pending edge SPI routed to vCPU 1 and nothing else: only the
 * candidate marks rebuilt by the restore let flush and vgic_pending see
 * it (they look at nothing else). */
static void restored_pending_reaches_flush(void **state)
{
	static struct rec r;
	dwrite(&A, 0x0, 2);
	spi_setup(&A, 70, true, 0x80, true, 1, true);
	vgic_inject(&A.g, 0, 70);
	save(&A, &r);
	assert_int_equal(restore(&B, &r, NULL, 0), 0);
	assert_int_equal(B.kicks[1], 1);
	assert_false(vgic_pending(&B.g, 0));
	assert_true(vgic_pending(&B.g, 1));
	flush(&B, 0);
	assert_int_equal(lr_find(&B, 0, 70), -1);
	flush(&B, 1);
	int i = lr_find(&B, 1, 70);
	assert_true(i >= 0);
	assert_int_equal(B.lr[1][i], 70 | VGIC_LR_PRIO(0x80) | VGIC_LR_GROUP1 | 1ull << 62);
	guest_ack(&B, 1, i);
	guest_eoi(&B, 1, i);
	sync_(&B, 1);
	assert_false(vgic_pending(&B.g, 1)); /* taken once, as an edge */
}

/* An SGI or PPI pending on a vCPU other than 0 reaches that vCPU's LRs. */
static void restored_private_reaches_flush(void **state)
{
	static struct rec r;
	dwrite(&A, 0x0, 2);
	priv_setup(&A, 3, 9, 0x20, true, true);
	vgic_sgi(&A.g, 0, 9ull << 24 | BIT(3));
	save(&A, &r);
	assert_int_equal(restore(&B, &r, NULL, 0), 0);
	assert_true(vgic_pending(&B.g, 3));
	flush(&B, 3);
	assert_true(lr_find(&B, 3, 9) >= 0);
}

/* The timer PPI restored with its line high while the restored timer's
 * line is low: the first vgic_hw_lines drops it (the caller's vlines_sync
 * at the first exit), as it would have on the original model. */
static void restored_hw_line_follows_the_timer(void **state)
{
	static struct rec r;
	const uint8_t ppis[1] = {27};
	dwrite(&A, 0x0, 2);
	priv_setup(&A, 2, 27, 0x10, true, true);
	vgic_inject_hw(&A.g, 2, 27, 27);
	save(&A, &r);
	assert_int_equal(restore(&B, &r, NULL, 0), 0);
	assert_true(vgic_pending(&B.g, 2));
	assert_true(racc(&B, RD(2) + SGI + 0x200, 4, false, 0) & BIT(27));
	/* the physical interrupt was not active on the restoring host: no
	 * deactivation asked for */
	B.cur = 2;
	assert_int_equal(vgic_hw_lines(&B.g, 2, ppis, 1, 0), 0);
	assert_false(vgic_pending(&B.g, 2));
	assert_false(racc(&B, RD(2) + SGI + 0x200, 4, false, 0) & BIT(27));
	/* the line rises again: pending again, HW-linked */
	assert_int_equal(vgic_hw_lines(&B.g, 2, ppis, 1, 1), 0);
	flush(&B, 2);
	int i = lr_find(&B, 2, 27);
	assert_true(i >= 0);
	assert_true(B.lr[2][i] & VGIC_LR_HW);
}

/* Documented: an active interrupt whose priority the guest changed while
 * it was active restores with the new priority as the one it was taken
 * at (the original keeps the old one in its LR until the guest's EOI). */
static void active_priority_becomes_current(void **state)
{
	static struct rec r;
	dwrite(&A, 0x0, 2);
	spi_setup(&A, 33, true, 0x30, true, 0, true);
	vgic_inject(&A.g, 0, 33);
	flush(&A, 0);
	guest_ack(&A, 0, lr_find(&A, 0, 33));
	sync_(&A, 0);
	dacc(&A, 0x400 + 33, 1, true, 0x50);
	flush(&A, 0);
	assert_int_equal((A.lr[0][lr_find(&A, 0, 33)] >> 48) & 0xff, 0x30);
	sync_(&A, 0);
	unload(&A, 0);
	save(&A, &r);
	assert_int_equal(r.spis[1].prio, 0x50);
	assert_true(r.spis[1].flags & SNAP_IRQ_ACTIVE);
	assert_int_equal(restore(&B, &r, NULL, 0), 0);
	flush(&B, 0);
	int i = lr_find(&B, 0, 33);
	assert_true(i >= 0);
	assert_int_equal(lr_st(&B, 0, i), 2);
	assert_int_equal((B.lr[0][i] >> 48) & 0xff, 0x50);
}

/* Saving a vCPU whose LRs were written since its last unload is the
 * caller's bug: the guest may have changed them. */
static void save_of_a_loaded_vcpu_panics(void **state)
{
	static struct rec r;
	dwrite(&A, 0x0, 2);
	spi_setup(&A, 33, true, 0x30, true, 2, true);
	vgic_inject(&A.g, 0, 33);
	flush(&A, 2);
	panic_armed = true;
	if (setjmp(panic_jmp) == 0) {
		vgic_save(&A.g, &r.head, r.spis, r.cpus);
		fail_msg("vgic_save of a loaded vCPU returned");
	}
	panic_armed = false;
	assert_non_null(strstr(panic_msg, "vCPU 2 is loaded"));
	A.depth = 0; /* panic() left the lock held */
	/* synced, but still loaded: the same */
	sync_(&A, 2);
	panic_armed = true;
	if (setjmp(panic_jmp) == 0) {
		vgic_save(&A.g, &r.head, r.spis, r.cpus);
		fail_msg("vgic_save of a loaded vCPU returned");
	}
	panic_armed = false;
	A.depth = 0;
	unload(&A, 2);
	vgic_save(&A.g, &r.head, r.spis, r.cpus); /* fine now */
	assert_true(r.spis[1].flags & SNAP_IRQ_PENDING);
}

/* What the lock-free fast path (fast.h) put in an empty LR, the model
 * knows of only once it adopts it (vgic_cpu.fresh). A snapshot taken as
 * the engine takes it (synced, unloaded) must still hold such an SGI to
 * self and the HW-linked timer: pending in the record, placed again by
 * the restored model's first flush. Before the sync the vCPU counts as
 * loaded, so vgic_save refuses rather than lose them. */
static void fast_path_lrs_survive_a_save(void **state)
{
	static struct rec r;
	const uint8_t ppis[1] = {27};
	uint64_t lr = 0;
	dwrite(&A, 0x0, 2);
	priv_setup(&A, 1, 5, 0x20, true, true);
	priv_setup(&A, 1, 27, 0x10, true, true);
	/* the timer linked once by the locked path, completed, line low */
	vgic_inject_hw(&A.g, 1, 27, 27);
	flush(&A, 1);
	int t = lr_find(&A, 1, 27);
	guest_ack(&A, 1, t);
	guest_eoi(&A, 1, t);
	sync_(&A, 1);
	assert_int_equal(vgic_hw_lines(&A.g, 1, ppis, 1, 0), 0);
	assert_false(vgic_pending(&A.g, 1));
	flush(&A, 1); /* loaded, LRs empty */
	A.cur = 1;
	int i = vgic_sgi_self_lr(&A.g, 1, 5ull << 24 | BIT(1), fake_empty_lrs(&A), &lr);
	assert_true(i >= 0);
	A.lr[1][i] = lr;
	int j = vgic_hw_lr(&A.g, 1, 27, 27, fake_empty_lrs(&A), &lr);
	assert_true(j >= 0 && j != i);
	A.lr[1][j] = lr;
	assert_true(A.g.cpu[1].fresh);
	panic_armed = true;
	if (setjmp(panic_jmp) == 0) {
		vgic_save(&A.g, &r.head, r.spis, r.cpus);
		fail_msg("vgic_save with unadopted fast-path LRs returned");
	}
	panic_armed = false;
	assert_non_null(strstr(panic_msg, "vCPU 1 is loaded"));
	A.depth = 0;
	sync_(&A, 1);
	unload(&A, 1);
	save(&A, &r);
	assert_true(r.cpus[1].priv[5].flags & SNAP_IRQ_PENDING);
	assert_true(r.cpus[1].priv[27].flags & SNAP_IRQ_LEVEL);
	assert_true(r.cpus[1].priv[27].flags & SNAP_IRQ_HW);
	assert_int_equal(restore(&B, &r, NULL, 0), 0);
	assert_true(vgic_pending(&B.g, 1));
	flush(&B, 1);
	assert_int_equal(lr_st(&B, 1, lr_find(&B, 1, 5)), 1);
	int k = lr_find(&B, 1, 27);
	assert_true(k >= 0);
	assert_true(B.lr[1][k] & VGIC_LR_HW);
	/* and the original, reloaded, offers the same */
	flush(&A, 1);
	assert_true(lr_find(&A, 1, 5) >= 0);
	assert_true(lr_find(&A, 1, 27) >= 0);
}

/* ---- refusals ---- */

/* Each breaks one thing in a good record; the restore must refuse it
 * with a reason and leave the model exactly as vgic_init made it. */
struct bad {
	const char *what; /* a word the reason must contain */
	void (*spoil)(struct rec *r);
};

static void bad_nvcpus(struct rec *r)
{
	r->head.nvcpus = 3;
}
static void bad_nspis(struct rec *r)
{
	r->head.nspis = 32;
}
static void bad_ctlr(struct rec *r)
{
	r->head.gicd_ctlr = 0x13; /* ARE is not the model's to keep */
}
static void bad_spi_intid(struct rec *r)
{
	r->spis[5].intid = 38;
}
static void bad_priv_intid(struct rec *r)
{
	r->cpus[2].priv[17].intid = 18;
}
static void bad_flags(struct rec *r)
{
	r->spis[9].flags |= BIT(7);
}
static void bad_prio(struct rec *r)
{
	r->cpus[1].priv[20].prio = 0x41;
}
static void bad_level_sgi(struct rec *r)
{
	r->cpus[0].priv[4].flags &= (uint16_t)~SNAP_IRQ_EDGE;
}
static void bad_hw_spi(struct rec *r)
{
	r->spis[3].flags |= SNAP_IRQ_HW;
	r->spis[3].pintid = 35;
}
static void bad_hw_ppi(struct rec *r)
{
	r->cpus[1].priv[20].flags |= SNAP_IRQ_HW; /* not a timer */
	r->cpus[1].priv[20].pintid = 20;
}
static void bad_hw_sgi(struct rec *r)
{
	r->cpus[1].priv[2].flags |= SNAP_IRQ_HW;
	r->cpus[1].priv[2].pintid = 2;
}
static void bad_hw_pintid(struct rec *r)
{
	r->cpus[0].priv[27].flags |= SNAP_IRQ_HW;
	r->cpus[0].priv[27].pintid = 26;
}
static void bad_pintid_no_hw(struct rec *r)
{
	r->cpus[0].priv[30].pintid = 30;
}
static void bad_priv_irouter(struct rec *r)
{
	r->cpus[3].priv[25].irouter = 3;
}
static void bad_priv_target(struct rec *r)
{
	r->cpus[3].priv[25].target = 2;
}
static void bad_irouter_bits(struct rec *r)
{
	r->spis[10].irouter = BIT(24) | 1;
}
static void bad_spi_target(struct rec *r)
{
	r->spis[11].target = 2; /* IROUTER names vCPU 1 */
}
static void bad_spi_target_none(struct rec *r)
{
	r->spis[12].irouter = 9; /* no vCPU 9: the model says 0xff */
	r->spis[12].target = 9;
}
static void bad_held_none(struct rec *r)
{
	r->spis[13].flags |= SNAP_IRQ_ACTIVE; /* active, held by vCPU 9 */
	r->spis[13].target = 9;
}
static void bad_held_too_many(struct rec *r)
{
	for (unsigned i = 20; i < 25; i++) { /* five active on vCPU 0, routed to 1 */
		r->spis[i].flags |= SNAP_IRQ_ACTIVE;
		r->spis[i].irouter = 1;
		r->spis[i].target = 0;
	}
}
static void bad_cpu_index(struct rec *r)
{
	r->cpus[2].index = 1;
}
static void bad_cpu_flags(struct rec *r)
{
	r->cpus[1].flags = 2;
}

static void every_refusal(void **state)
{
	static const struct bad bad[] = {
	    {"saved with 3 vCPUs", bad_nvcpus},
	    {"32 SPIs", bad_nspis},
	    {"GICD_CTLR", bad_ctlr},
	    {"SPI 37: the entry is INTID 38", bad_spi_intid},
	    {"vCPU 2 PPI 17: the entry is INTID 18", bad_priv_intid},
	    {"unknown flags", bad_flags},
	    {"priority", bad_prio},
	    {"edge", bad_level_sgi},
	    {"SPI 35: HW-linked", bad_hw_spi},
	    {"PPI 20: HW-linked", bad_hw_ppi},
	    {"SGI 2: HW-linked", bad_hw_sgi},
	    {"physical INTID 26", bad_hw_pintid},
	    {"without HW", bad_pintid_no_hw},
	    {"IROUTER 0x3", bad_priv_irouter},
	    {"target vCPU 2", bad_priv_target},
	    {"reserved bits", bad_irouter_bits},
	    {"target 2, but IROUTER 0x1 names 1", bad_spi_target},
	    {"target 9", bad_spi_target_none},
	    {"SPI 45: target 9, but IROUTER 0x1 names 1", bad_held_none},
	    {"vCPU 0 holds more re-routed active SPIs than its 4 LRs", bad_held_too_many},
	    {"CPU entry 2", bad_cpu_index},
	    {"vCPU 1: unknown flags", bad_cpu_flags},
	};
	static struct rec good, r;
	static struct vgic fresh;
	dwrite(&A, 0x0, 3);
	for (unsigned i = 0; i < 8; i++) { /* something pending everywhere */
		spi_setup(&A, 40 + i, true, 0x40, true, 1, true);
		vgic_inject(&A.g, 0, 40 + i);
	}
	spi_setup(&A, 43, true, 0x40, true, 1, true);
	priv_setup(&A, 3, 25, 0x40, true, true);
	vgic_set_level(&A.g, 3, 25, true);
	save(&A, &good);
	assert_int_equal(restore(&B, &good, NULL, 0), 0); /* good as it is */

	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		char why[160] = "";
		model_init(&B, NVCPUS);
		memcpy(&fresh, &B.g, sizeof(fresh));
		memcpy(&r, &good, sizeof(r));
		bad[k].spoil(&r);
		int e = restore(&B, &r, why, sizeof(why));
		if (e != -EINVAL)
			fail_msg("case %zu (%s): %d", k, bad[k].what, e);
		if (!strstr(why, bad[k].what))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", k, why, bad[k].what);
		assert_memory_equal(&B.g, &fresh, sizeof(fresh));
		for (unsigned c = 0; c < NVCPUS; c++)
			assert_int_equal(B.kicks[c], 0);
		assert_int_equal(B.depth, 0);
		/* and without a buffer for the reason */
		assert_int_equal(restore(&B, &r, NULL, 0), -EINVAL);
	}
	/* a model of another size refuses a record of 4 vCPUs */
	char why[96];
	model_init(&B, 2);
	assert_int_equal(restore(&B, &good, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "saved with 4 vCPUs, the partition has 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(save_encodes_the_model, setup, teardown),
	    cmocka_unit_test_setup_teardown(round_trip_same_future, setup, teardown),
	    cmocka_unit_test_setup_teardown(round_trip_twice, setup, teardown),
	    cmocka_unit_test_setup_teardown(restored_pending_reaches_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(restored_private_reaches_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(restored_hw_line_follows_the_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(active_priority_becomes_current, setup, teardown),
	    cmocka_unit_test_setup_teardown(save_of_a_loaded_vcpu_panics, setup, teardown),
	    cmocka_unit_test_setup_teardown(fast_path_lrs_survive_a_save, setup, teardown),
	    cmocka_unit_test_setup_teardown(every_refusal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

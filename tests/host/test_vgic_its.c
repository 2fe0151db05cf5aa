/*
 * LPIs and the virtual ITS (kernel/vgic/its.h) against a fake CPU
 * interface (as test_vgic.c) and a fake guest RAM whose accessor fails the
 * test on any access outside the partition's RAM: the model must check
 * every guest-given address before it reads or writes.
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

#define NVCPUS	 4
#define NLRS	 4
#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull /* 1 MiB */
#define RD(n)	 ((uint64_t)(n)*0x20000)
/* guest RAM layout of the tests */
#define PROP (RAM_BASE + 0x10000) /* LPI configuration table, 15 ID bits: 24 KiB */
#define PEND (RAM_BASE + 0x20000) /* pending tables, 4 KiB each, 64 KiB aligned */
#define CMDQ (RAM_BASE + 0x80000) /* 4 KiB: 128 commands */
#define DEVT (RAM_BASE + 0x90000)
#define COLT (RAM_BASE + 0x98000)
#define ITT  (RAM_BASE + 0xa0000)
#define LPI0 8192u

static struct fake {
	uint64_t lr[VGIC_MAX_VCPUS][VGIC_MAX_LRS];
	unsigned cur;
	int depth;
	unsigned kicks[VGIC_MAX_VCPUS];
	unsigned errors;
	const char *last_error;
	uint8_t ram[RAM_SIZE];
	unsigned bad_accesses;
} F;
static struct vgic g;
static struct vgic_its its;

static uint64_t fake_read_lr(void *ctx, unsigned i)
{
	assert_int_equal(F.depth, 1);
	assert_true(i < NLRS);
	return F.lr[F.cur][i];
}
static void fake_write_lr(void *ctx, unsigned i, uint64_t v)
{
	assert_int_equal(F.depth, 1);
	assert_true(i < NLRS);
	F.lr[F.cur][i] = v;
}
static uint32_t fake_empty_lrs(void *ctx)
{
	uint32_t e = 0;
	for (unsigned i = 0; i < NLRS; i++) {
		uint64_t lr = F.lr[F.cur][i];
		if (!(lr >> 62) && ((lr & BIT(61)) || !(lr & BIT(41))))
			e |= 1u << i;
	}
	return e;
}
static void fake_kick(void *ctx, unsigned vcpu)
{
	assert_int_equal(F.depth, 0);
	assert_true(vcpu < NVCPUS);
	F.kicks[vcpu]++;
}
static void fake_lock(void *ctx)
{
	assert_int_equal(F.depth, 0);
	F.depth++;
}
static void fake_unlock(void *ctx)
{
	assert_int_equal(F.depth, 1);
	F.depth--;
}
static bool in_ram(uint64_t ipa, size_t len)
{
	return ipa >= RAM_BASE && ipa - RAM_BASE < RAM_SIZE && len <= RAM_SIZE - (ipa - RAM_BASE);
}
/* The model checks first: an access outside RAM here is its bug. */
static int fake_read(void *ctx, uint64_t ipa, void *buf, size_t len)
{
	assert_int_equal(F.depth, 1);
	if (!in_ram(ipa, len)) {
		F.bad_accesses++;
		return -EFAULT;
	}
	memcpy(buf, &F.ram[ipa - RAM_BASE], len);
	return 0;
}
static int fake_write(void *ctx, uint64_t ipa, const void *buf, size_t len)
{
	assert_int_equal(F.depth, 1);
	if (!in_ram(ipa, len)) {
		F.bad_accesses++;
		return -EFAULT;
	}
	memcpy(&F.ram[ipa - RAM_BASE], buf, len);
	return 0;
}
static void fake_error(void *ctx, const char *what, uint64_t v)
{
	assert_int_equal(F.depth, 1);
	F.errors++;
	F.last_error = what;
	if (getenv("ITS_TRACE"))
		fprintf(stderr, "error: %s %#llx\n", what, (unsigned long long)v);
}

static int setup_noits(void **state)
{
	memset(&F, 0, sizeof(F));
	struct vgic_ops ops = {
	    .nr_lrs = NLRS,
	    .read_lr = fake_read_lr,
	    .write_lr = fake_write_lr,
	    .empty_lrs = fake_empty_lrs,
	    .kick = fake_kick,
	    .lock = fake_lock,
	    .unlock = fake_unlock,
	    .ctx = &F,
	};
	vgic_init(&g, NVCPUS, &ops);
	return 0;
}
static int setup(void **state)
{
	setup_noits(state);
	struct vits_ops ops = {fake_read, fake_write, fake_error, &F};
	vgic_its_attach(&g, &its, RAM_BASE, RAM_SIZE, &ops);
	return 0;
}
static int teardown(void **state)
{
	assert_int_equal(F.depth, 0);
	assert_int_equal(F.bad_accesses, 0);
	return 0;
}

/* ---- helpers ---- */

static uint64_t dacc(uint64_t off, unsigned size, bool write, uint64_t v)
{
	assert_int_equal(vgic_dist_access(&g, 0, off, size, write, &v), 0);
	return v;
}
static uint64_t racc(unsigned rd, uint64_t off, unsigned size, bool write, uint64_t v)
{
	assert_int_equal(vgic_redist_access(&g, 0, RD(rd) + off, size, write, &v), 0);
	return v;
}
static uint64_t iacc(uint64_t off, unsigned size, bool write, uint64_t v)
{
	assert_int_equal(vgic_its_access(&g, 0, off, size, write, &v), 0);
	return v;
}
static uint64_t iread(uint64_t off)
{
	return iacc(off, 8, false, 0);
}
static void iwrite(uint64_t off, uint64_t v)
{
	iacc(off, 8, true, v);
}
static void flush(unsigned v)
{
	F.cur = v;
	vgic_flush(&g, v);
}
static void sync_(unsigned v)
{
	F.cur = v;
	vgic_sync(&g, v);
}
static int lr_find(unsigned v, unsigned intid)
{
	for (int i = 0; i < NLRS; i++)
		if ((F.lr[v][i] >> 62) && (uint32_t)F.lr[v][i] == intid)
			return i;
	return -1;
}
static unsigned lr_used(unsigned v)
{
	unsigned n = 0;
	for (int i = 0; i < NLRS; i++)
		n += (F.lr[v][i] >> 62) != 0;
	return n;
}
static void set_config(unsigned intid, uint8_t b)
{
	F.ram[PROP - RAM_BASE + intid - LPI0] = b;
}
/* LPIs on for redistributor rd with the tests' tables */
static void lpis_on(unsigned rd)
{
	racc(rd, 0x70, 8, true, PROP | (VGIC_LPI_IDBITS - 1));
	racc(rd, 0x78, 8, true, PEND + rd * 0x10000);
	racc(rd, 0x0, 4, true, 1);
	assert_int_equal(racc(rd, 0x0, 4, false, 0), 1);
}
static unsigned ncmds;
static void cmd(uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3)
{
	uint64_t dw[4] = {d0, d1, d2, d3};
	uint64_t off = (ncmds++ % 128) * 32;
	memcpy(&F.ram[CMDQ - RAM_BASE + off], dw, sizeof(dw));
	iwrite(0x88, (off + 32) % 0x1000);
}
static void mapd(uint32_t dev, unsigned bits, uint64_t itt, bool v)
{
	cmd(0x08 | (uint64_t)dev << 32, bits - 1, itt | (v ? BIT(63) : 0), 0);
}
static void mapc(unsigned icid, unsigned rd)
{
	cmd(0x09, 0, icid | (uint64_t)rd << 16 | BIT(63), 0);
}
static void mapti(uint32_t dev, uint32_t ev, unsigned intid, unsigned icid)
{
	cmd(0x0a | (uint64_t)dev << 32, ev | (uint64_t)intid << 32, icid, 0);
}
static void evcmd(unsigned op, uint32_t dev, uint32_t ev, unsigned icid)
{
	cmd(op | (uint64_t)dev << 32, ev, icid, 0);
}
#define INT	0x03
#define CLEAR	0x04
#define MOVI	0x01
#define INV	0x0c
#define DISCARD 0x0f
/* An enabled ITS with its tables and queue in RAM, GICD group 1 on. */
static void its_on(void)
{
	ncmds = 0;
	dacc(0x0, 4, true, 2);
	iwrite(0x100, BIT(63) | (DEVT - 0)); /* 4 KiB: 512 devices */
	iwrite(0x108, BIT(63) | (COLT - 0)); /* 512 collections */
	iwrite(0x80, BIT(63) | CMDQ);	     /* 1 page */
	iacc(0x0, 4, true, 1);
	assert_true(iread(0x100) & BIT(63));
	assert_true(iread(0x108) & BIT(63));
}
/* device 5 with event 0 -> LPI0, collection 1 on vCPU 1 */
static void one_lpi(uint8_t config)
{
	for (unsigned i = 0; i < NVCPUS; i++)
		lpis_on(i);
	its_on();
	set_config(LPI0, config);
	mapd(5, 4, ITT, true);
	mapc(1, 1);
	mapti(5, 0, LPI0, 1);
	assert_int_equal(its.errors, 0);
}

/* ---- registers ---- */

static void no_its_no_lpis(void **state)
{
	assert_int_equal(dacc(0x4, 4, false, 0) & BIT(17), 0);
	assert_int_equal(racc(0, 0x8, 8, false, 0) & 1, 0);
	racc(0, 0x70, 8, true, PROP | 14);
	assert_int_equal(racc(0, 0x70, 8, false, 0), 0); /* RAZ/WI */
	racc(0, 0x0, 4, true, 1);
	assert_int_equal(racc(0, 0x0, 4, false, 0), 0);
	uint64_t v = 0;
	assert_int_equal(vgic_its_access(&g, 0, 0x8, 8, false, &v), -EINVAL);
}

static void typer_bits(void **state)
{
	uint32_t t = (uint32_t)dacc(0x4, 4, false, 0);
	assert_true(t & BIT(17));		/* LPIS */
	assert_int_equal((t >> 19) & 0x1f, 14); /* 15 INTID bits */
	uint64_t v;
	assert_true(vgic_dist_read_fast(&g, 0x4, 4, &v));
	assert_int_equal((uint32_t)v, t);
	for (unsigned i = 0; i < NVCPUS; i++)
		assert_true(racc(i, 0x8, 8, false, 0) & 1); /* PLPIS */
	/* GICR_CTLR holds EnableLPIs: not the fast path's constant */
	assert_false(vgic_redist_read_fast(&g, 0, 4, &v));
}

static void its_id_registers(void **state)
{
	uint64_t typer = iread(0x8);
	assert_true(typer & 1);					   /* Physical */
	assert_int_equal((typer >> 4) & 0xf, VITS_ENTRY_SIZE - 1); /* ITT entry size */
	assert_int_equal((typer >> 8) & 0x1f, VITS_EVBITS - 1);
	assert_int_equal((typer >> 13) & 0x1f, VITS_DEVBITS - 1);
	assert_int_equal(typer & BIT(19), 0); /* PTA: processor numbers */
	assert_true(typer & BIT(36));	      /* CIL */
	iwrite(0x8, 0);
	assert_int_equal(iread(0x8), typer); /* read-only */
	uint32_t iidr = (uint32_t)iacc(0x4, 4, false, 0);
	assert_int_equal(iidr, VITS_IIDR);
	iacc(0x4, 4, true, 0);
	assert_int_equal(iacc(0x4, 4, false, 0), iidr);
	assert_int_equal((iread(0x100) >> 56) & 7, 1); /* Devices */
	assert_int_equal((iread(0x108) >> 56) & 7, 4); /* Collections */
	assert_int_equal((iread(0x100) >> 48) & 0x1f, VITS_ENTRY_SIZE - 1);
	for (unsigned n = 2; n < 8; n++)
		assert_int_equal(iread(0x100 + 8 * n), 0);
	iwrite(0x100, ~0ull); /* type and entry size stay */
	assert_int_equal((iread(0x100) >> 56) & 7, 1);
	assert_int_equal(iacc(0x0, 4, false, 0), GITS_CTLR_QUIESC);
	assert_int_equal(iacc(0xffe8, 4, false, 0), 0x30);
	uint64_t v = 0;
	assert_int_equal(vgic_its_access(&g, 0, 0x2, 2, false, &v), -EINVAL);
	assert_int_equal(vgic_its_access(&g, 0, VITS_FRAME_SIZE, 4, false, &v), -EINVAL);
	iacc(0x10040, 4, true, 7); /* TRANSLATER from a CPU: ignored */
}

static void baser_outside_ram(void **state)
{
	iwrite(0x100, BIT(63) | (RAM_BASE + RAM_SIZE - 0x1000) | 1); /* 2 pages: 1 past */
	assert_int_equal(iread(0x100) & BIT(63), 0);
	assert_int_equal(F.errors, 1);
	iwrite(0x108, BIT(63) | 0x1000);
	assert_int_equal(iread(0x108) & BIT(63), 0);
	iwrite(0x108, BIT(63) | (RAM_BASE + RAM_SIZE - 0x1000));
	assert_true(iread(0x108) & BIT(63));
	/* 64 KiB pages: PA[51:48] in bits 15:12 */
	iwrite(0x100, BIT(63) | 2ull << 8 | RAM_BASE | 0xf000);
	assert_int_equal(iread(0x100) & BIT(63), 0);
}

static void enable_lpis_tables(void **state)
{
	racc(0, 0x70, 8, true, (RAM_BASE + RAM_SIZE - 0x1000) | 14); /* 24 KiB: past the end */
	racc(0, 0x78, 8, true, PEND);
	racc(0, 0x0, 4, true, 1);
	assert_int_equal(racc(0, 0x0, 4, false, 0), 0);
	assert_int_equal(F.errors, 1);
	racc(0, 0x70, 8, true, PROP | 10); /* too few ID bits for LPIs */
	racc(0, 0x0, 4, true, 1);
	assert_int_equal(racc(0, 0x0, 4, false, 0), 0);
	racc(0, 0x70, 8, true, PROP | 14);
	racc(0, 0x78, 8, true, RAM_BASE + RAM_SIZE); /* pending table outside */
	racc(0, 0x0, 4, true, 1);
	assert_int_equal(racc(0, 0x0, 4, false, 0), 0);
	racc(0, 0x78, 8, true, PEND | BIT(47)); /* high PA bits are kept, so outside */
	racc(0, 0x0, 4, true, 1);
	assert_int_equal(racc(0, 0x0, 4, false, 0), 0);
	assert_int_equal(racc(0, 0x78, 8, false, 0), PEND | BIT(47));
	racc(0, 0x78, 4, true, (uint32_t)PEND); /* 32-bit halves */
	racc(0, 0x7c, 4, true, 0);
	racc(0, 0x0, 4, true, 1);
	assert_int_equal(racc(0, 0x0, 4, false, 0), 1);
	assert_int_equal(F.errors, 4);
	racc(0, 0x70, 8, true, 0x1000); /* ignored while enabled */
	assert_int_equal(racc(0, 0x70, 8, false, 0), PROP | 14);
	assert_int_equal(racc(1, 0x0, 4, false, 0), 0); /* per redistributor */
}

/* ---- delivery ---- */

static void int_reaches_collection_vcpu(void **state)
{
	one_lpi(0xa0 | 1);
	evcmd(INT, 5, 0, 0);
	assert_int_equal(F.kicks[1], 1);
	for (unsigned v = 0; v < NVCPUS; v++) {
		flush(v);
		if (v != 1)
			assert_int_equal(lr_used(v), 0);
	}
	int i = lr_find(1, LPI0);
	assert_true(i >= 0);
	uint64_t lr = F.lr[1][i];
	assert_int_equal((lr >> 48) & 0xff, 0xa0);
	assert_true(lr & VGIC_LR_GROUP1);
	assert_int_equal(lr & (VGIC_LR_HW | VGIC_LR_EOI), 0);
	assert_int_equal(lr >> 62, VGIC_LR_PENDING);
	assert_true(vgic_pending(&g, 1));
	assert_false(vgic_pending(&g, 0));
	/* the guest takes and completes it: gone after sync */
	F.lr[1][i] &= ~(3ull << 62);
	sync_(1);
	assert_false(vgic_pending(&g, 1));
	flush(1);
	assert_int_equal(lr_used(1), 0);
}

static void untaken_lpi_stays_pending(void **state)
{
	one_lpi(0xa0 | 1);
	evcmd(INT, 5, 0, 0);
	flush(1);
	sync_(1); /* still pending: back into the model */
	assert_int_equal(lr_used(1), 0);
	assert_true(vgic_pending(&g, 1));
	vgic_unload(&g, 1);
	flush(1);
	assert_true(lr_find(1, LPI0) >= 0);
	/* active LPI survives an unload */
	int i = lr_find(1, LPI0);
	F.lr[1][i] = (F.lr[1][i] & ~(3ull << 62)) | 2ull << 62;
	sync_(1);
	vgic_unload(&g, 1);
	assert_int_equal(F.lr[1][i], 0);
	flush(1);
	assert_int_equal(F.lr[1][i] >> 62, VGIC_LR_ACTIVE);
}

static void enable_bit_and_inv(void **state)
{
	one_lpi(0xa0); /* disabled */
	evcmd(INT, 5, 0, 0);
	assert_int_equal(F.kicks[1], 0);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	assert_false(vgic_pending(&g, 1));
	set_config(LPI0, 0xa0 | 1);
	flush(1);
	assert_int_equal(lr_used(1), 0); /* cached until INV */
	evcmd(INV, 5, 0, 0);
	assert_int_equal(F.kicks[1], 1);
	flush(1);
	assert_true(lr_find(1, LPI0) >= 0);
	/* disabled again (INVALL) while in an LR: taken back, not re-placed */
	set_config(LPI0, 0xa0);
	cmd(0x0d, 0, 1, 0);
	assert_int_equal(F.kicks[1], 2);
	sync_(1);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	/* GICD_CTLR group 1 off: nothing delivered either */
	set_config(LPI0, 0xa0 | 1);
	evcmd(INV, 5, 0, 0);
	dacc(0x0, 4, true, 0);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	dacc(0x0, 4, true, 2);
	assert_int_equal(F.kicks[1], 4);
	flush(1);
	assert_true(lr_find(1, LPI0) >= 0);
}

static void priority_order(void **state)
{
	one_lpi(0x80 | 1);
	for (unsigned e = 1; e < 6; e++) {
		mapti(5, e, LPI0 + e, 1);
		set_config(LPI0 + e, (uint8_t)(0xc0 | 1));
	}
	set_config(LPI0 + 3, 0x20 | 1);
	cmd(0x0d, 0, 1, 0); /* INVALL */
	for (unsigned e = 0; e < 6; e++)
		evcmd(INT, 5, e, 0);
	flush(1);
	assert_int_equal(lr_used(1), NLRS);
	assert_true(lr_find(1, LPI0 + 3) >= 0); /* the highest first */
	assert_true(lr_find(1, LPI0) >= 0);
	/* two wait: underflow asked for, and they come once LRs free up */
	assert_true(vgic_wants_underflow(&g, 1));
	for (int i = 0; i < NLRS; i++)
		F.lr[1][i] &= ~(3ull << 62);
	sync_(1);
	flush(1);
	assert_int_equal(lr_used(1), 2);
}

static void spis_keep_their_lrs(void **state)
{
	one_lpi(0x80 | 1);
	/* SPI 40 to vCPU 1, enabled, pending */
	dacc(0x6000 + 40 * 8, 8, true, 1);
	dacc(0x100 + 4, 4, true, BIT(8));
	vgic_inject(&g, 0, 40);
	evcmd(INT, 5, 0, 0);
	flush(1);
	assert_true(lr_find(1, 40) >= 0);
	assert_true(lr_find(1, LPI0) >= 0);
	/* the SPI completes; the LPI is still pending */
	F.lr[1][lr_find(1, 40)] &= ~(3ull << 62);
	sync_(1);
	flush(1);
	assert_int_equal(lr_used(1), 1);
	assert_true(lr_find(1, LPI0) >= 0);
}

static void movi_and_mapc_move_it(void **state)
{
	one_lpi(0xa0 | 1);
	mapc(2, 2);
	evcmd(MOVI, 5, 0, 2);
	evcmd(INT, 5, 0, 0);
	assert_int_equal(F.kicks[1], 0);
	assert_int_equal(F.kicks[2], 1);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	flush(2);
	assert_true(lr_find(2, LPI0) >= 0);
	/* re-map collection 2 to vCPU 3 while held by vCPU 2's LR */
	mapc(2, 3);
	assert_int_equal(F.kicks[2], 2); /* leaves vCPU 2 */
	sync_(2);
	flush(2);
	assert_int_equal(lr_used(2), 0);
	flush(3);
	assert_true(lr_find(3, LPI0) >= 0);
}

static void clear_and_discard(void **state)
{
	one_lpi(0xa0 | 1);
	evcmd(INT, 5, 0, 0);
	evcmd(CLEAR, 5, 0, 0);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	evcmd(INT, 5, 0, 0);
	flush(1);
	evcmd(CLEAR, 5, 0, 0); /* in an LR: not taken back pending */
	sync_(1);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	evcmd(INT, 5, 0, 0);
	flush(1);
	evcmd(DISCARD, 5, 0, 0);
	sync_(1);
	flush(1);
	assert_int_equal(lr_used(1), 0);
	unsigned e = F.errors;
	evcmd(INT, 5, 0, 0); /* unmapped now */
	assert_int_equal(F.errors, e + 1);
	assert_int_equal(vgic_its_translate(&g, 5, 0), -ENOENT);
}

static void lock_free_reuse(void **state)
{
	one_lpi(0xa0 | 1);
	evcmd(INT, 5, 0, 0);
	F.cur = 1;
	flush(1);
	int i = lr_find(1, LPI0);
	F.lr[1][i] &= ~(3ull << 62); /* the guest completed it */
	/* its own SGI 3 into that LR on the fast path */
	racc(1, 0x10000 + 0x100, 4, true, BIT(3));
	uint64_t lr;
	int n = vgic_sgi_self_lr(&g, 1, 3ull << 24 | BIT(1), fake_empty_lrs(&F), &lr);
	assert_true(n >= 0);
	F.lr[1][n] = lr;
	sync_(1);
	evcmd(INT, 5, 0, 0);
	flush(1);
	assert_true(lr_find(1, LPI0) >= 0); /* not stuck as "in an LR" */
	assert_true(lr_find(1, 3) >= 0);
}

static void pending_table_read_at_enable(void **state)
{
	its_on();
	set_config(LPI0 + 9, 0x40 | 1);
	mapd(5, 4, ITT, true);
	mapc(0, 0);
	mapti(5, 9, LPI0 + 9, 0);
	F.ram[PEND - RAM_BASE + (LPI0 + 9) / 8] = 1u << ((LPI0 + 9) % 8);
	lpis_on(0);
	flush(0);
	assert_true(lr_find(0, LPI0 + 9) >= 0);
}

static void device_assignment_api(void **state)
{
	one_lpi(0xa0 | 1);
	assert_int_equal(vgic_its_translate(&g, 5, 0), LPI0);
	assert_int_equal(vgic_its_translate(&g, 5, 1), -ENOENT);
	assert_int_equal(vgic_its_translate(&g, 6, 0), -ENOENT);
	assert_int_equal(vgic_its_inject(&g, 5, 0), 0);
	assert_int_equal(F.kicks[1], 1);
	assert_int_equal(vgic_its_inject(&g, 6, 0), -ENOENT);
	flush(1);
	assert_true(lr_find(1, LPI0) >= 0);
}

/* ---- bad commands and tables ---- */

static void bad_commands_ignored(void **state)
{
	one_lpi(0xa0 | 1);
	unsigned e = F.errors;
	mapd(6, 8, RAM_BASE + RAM_SIZE - 0x100, true); /* ITT (2 KiB) past the end */
	mapti(6, 0, LPI0 + 1, 1);		       /* so not mapped */
	mapd(7, 17, ITT, true);			       /* too many EventID bits */
	mapd(600, 4, ITT, true);		       /* past the 512-entry device table */
	mapti(5, 16, LPI0 + 2, 1);		       /* EventID past 4 bits */
	mapti(5, 1, 100, 1);			       /* not an LPI */
	mapti(5, 1, 1u << 15, 1);		       /* past the ID bits */
	mapti(5, 1, LPI0 + 2, 64);		       /* ICID past the limit */
	mapc(0, NVCPUS);			       /* no such redistributor */
	cmd(0x05, 0, (uint64_t)NVCPUS << 16, 0);       /* SYNC */
	cmd(0xff, 0, 0, 0);			       /* unknown */
	assert_int_equal(F.errors, e + 11);
	assert_int_equal(its.creadr, its.cwriter); /* and the queue went on */
	assert_false(its.stalled);
	evcmd(INT, 5, 0, 0);
	flush(1);
	assert_true(lr_find(1, LPI0) >= 0);
}

static void queue_outside_ram_stalls(void **state)
{
	dacc(0x0, 4, true, 2);
	iwrite(0x80, BIT(63) | (RAM_BASE + RAM_SIZE - 0x1000) | 1); /* 8 KiB: half outside */
	iacc(0x0, 4, true, 1);
	iwrite(0x88, 0x20);
	assert_true(iread(0x90) & 1); /* Stalled */
	assert_int_equal(F.errors, 1);
	iwrite(0x88, 0x40); /* stays stalled: nothing read */
	assert_int_equal(F.errors, 1);
	iacc(0x0, 4, true, 0);
	iwrite(0x80, BIT(63) | CMDQ);
	assert_int_equal(iread(0x90), 0);
	iacc(0x0, 4, true, 1);
	iwrite(0x88, 0x1000); /* past the end of a 4 KiB queue */
	assert_true(iread(0x90) & 1);
	iwrite(0x88, 0x20 | 1); /* Retry, now good: a zero command (unknown) */
	assert_int_equal(iread(0x90), 0x20);
	iacc(0x0, 4, true, 0);
	iwrite(0x80, BIT(63) | CMDQ | BIT(51)); /* kept: outside RAM, so it stalls */
	assert_int_equal(iread(0x80), BIT(63) | CMDQ | BIT(51));
	iacc(0x0, 4, true, 1);
	iwrite(0x88, 0x20);
	assert_true(iread(0x90) & 1);
	iacc(0x0, 4, true, 0);
	iwrite(0x80, BIT(63) | CMDQ);
	iacc(0x0, 4, true, 1);
	/* CBASER ignored while enabled */
	iwrite(0x80, BIT(63) | 0x1000);
	assert_int_equal(iread(0x80), BIT(63) | CMDQ);
}

/* A full queue handed over at once runs VITS_BATCH commands per access:
 * the CWRITER write, then each CREADR read, until it is done. */
static void long_queue_in_batches(void **state)
{
	its_on();
	for (unsigned i = 0; i < 127; i++) {
		uint64_t dw[4] = {0x05, 0, 0, 0}; /* SYNC vCPU 0 */
		memcpy(&F.ram[CMDQ - RAM_BASE + i * 32], dw, sizeof(dw));
	}
	iwrite(0x88, 127 * 32);
	assert_int_equal(its.creadr, VITS_BATCH * 32);
	assert_int_equal(iacc(0x0, 4, false, 0) & GITS_CTLR_QUIESC, 0);
	assert_int_equal(iread(0x90), 127 * 32); /* the read ran the rest first */
	assert_true(iacc(0x0, 4, false, 0) & GITS_CTLR_QUIESC);
	assert_int_equal(its.commands, 127);
	assert_int_equal(F.errors, 0);
}

static void many_errors_logged_once(void **state)
{
	its_on();
	for (unsigned i = 0; i < 100; i++)
		cmd(0xff, 0, 0, 0);
	assert_int_equal(F.errors, VITS_MAX_LOGGED + 1);
	assert_int_equal(its.errors, 100);
}

/* Random register writes and random commands (fields biased to small
 * values, so many are valid), flushes, syncs and guest LR changes: no
 * crash (ASan/UBSan), no access outside RAM (teardown), LRs consistent. */
static uint64_t rnd(void)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}
static uint64_t rfield(void)
{
	switch (rnd() % 6) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 8;
	case 2:
		return RAM_BASE + rnd() % (RAM_SIZE + 0x4000) - 0x2000;
	case 3:
		return LPI0 + rnd() % 64;
	case 4:
		return (rnd() % 8) << 16 | BIT(63) | rnd() % 8;
	}
	return rnd() % 0x1000;
}
static void fuzz_queue(void **state)
{
	one_lpi(0xa0 | 1);
	for (unsigned i = 0; i < 64; i++)
		set_config(LPI0 + i, (uint8_t)rnd());
	for (unsigned round = 0; round < 20000; round++) {
		unsigned what = (unsigned)(rnd() % 16);
		uint64_t v = rfield();
		unsigned vc = (unsigned)(rnd() % NVCPUS);
		if (what < 7) {
			static const uint8_t ops[] = {1,  3,  4,  5,  8,  9,   10,
						      11, 12, 13, 14, 15, 0xff};
			uint64_t d0 = ops[rnd() % sizeof(ops)] | (rnd() % 8) << 32;
			if (rnd() % 8 == 0)
				d0 = rnd();
			cmd(d0,
			    rnd() % 4 ? (rnd() % 16) | (uint64_t)(LPI0 + rnd() % 64) << 32 : rnd(),
			    rfield(), rfield());
		} else if (what < 9) {
			static const uint16_t regs[] = {0x0,  0x8,   0x80,  0x88,
							0x90, 0x100, 0x108, 0x110};
			iacc(regs[rnd() % 8] | (rnd() % 2 ? 4 : 0), 4, true, v);
			if (rnd() % 4)
				iacc(0x0, 4, true, 1);
		} else if (what < 10) {
			racc(vc, rnd() % 2 ? 0x70 : 0x78, 8, true, v);
			racc(vc, 0x0, 4, true, rnd() % 2);
		} else if (what < 11) {
			uint64_t ipa = rfield();
			if (in_ram(ipa, 1))
				F.ram[ipa - RAM_BASE] = (uint8_t)rnd(); /* scribbles over tables */
		} else if (what < 13) {
			flush(vc);
		} else if (what < 14) {
			/* the guest takes/completes LRs at random */
			int i = (int)(rnd() % NLRS);
			F.lr[vc][i] &= ~((rnd() % 4) << 62);
			sync_(vc);
		} else if (what < 15) {
			sync_(vc);
			vgic_unload(&g, vc);
		} else {
			(void)vgic_its_inject(&g, (uint32_t)(rnd() % 8), (uint32_t)(rnd() % 16));
			(void)vgic_pending(&g, vc);
		}
		/* every LR the model says holds an LPI holds what it says */
		for (unsigned c = 0; c < NVCPUS; c++)
			for (uint32_t m = its.lpi_lrs[c]; m; m &= m - 1) {
				unsigned i = (unsigned)__builtin_ctz(m);
				assert_true(its.lr_ite[c][i] < VITS_MAX_ITES);
				assert_true(its.ite[its.lr_ite[c][i]].in_lr);
			}
		unsigned np = 0;
		for (unsigned n = 0; n < VITS_MAX_ITES; n++)
			np += its.ite[n].pending;
		assert_int_equal(np, its.npending);
	}
	assert_true(its.commands > 1000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(no_its_no_lpis, setup_noits, teardown),
	    T(typer_bits),
	    T(its_id_registers),
	    T(baser_outside_ram),
	    T(enable_lpis_tables),
	    T(int_reaches_collection_vcpu),
	    T(untaken_lpi_stays_pending),
	    T(enable_bit_and_inv),
	    T(priority_order),
	    T(spis_keep_their_lrs),
	    T(movi_and_mapc_move_it),
	    T(clear_and_discard),
	    T(lock_free_reuse),
	    T(pending_table_read_at_enable),
	    T(device_assignment_api),
	    T(bad_commands_ignored),
	    T(queue_outside_ram_stalls),
	    T(long_queue_in_batches),
	    T(many_errors_logged_once),
	    T(fuzz_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

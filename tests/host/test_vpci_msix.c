/* MSI-X of an assigned function through the virtual ITS (vpci_msix.c),
 * over a fake device: the capability's decode, which pages of the BAR
 * trap, the shadow table, and what reaches the device's table — which,
 * whatever the guest writes, only ever holds tessera's doorbell and the
 * vector's own number, unmasked only once routed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/vm/guest.h"

#define GUEST_DB 0x08090040ull	/* the vITS's GITS_TRANSLATER (IPA) */
#define PHYS_DB	 0x108090040ull /* the physical one (IOVA) */
#define BAR_GPA	 0x10000000ull
#define MSIX_CAP 0x50
#define TABLE	 0x2000u /* in BAR0; the PBA at 0x1000 of BAR0 */
#define PBA	 0x1000u

static uint8_t space[4096];
static uint8_t bar0[16384];
static unsigned phys_msix_writes, doorbell_on, doorbell_calls, route_fail_at;
static unsigned nvec = 8;
static struct {
	bool routed;
	uint32_t data;
} routes[64];

struct mapping {
	uint64_t gpa, hpa, size;
	bool live;
};
static struct mapping maps[16];

static const struct vpci_bar phys_bars[6] = {
    {0x80000000ull, sizeof(bar0), false, false, false, 0}, /* BAR0: 16 KiB */
};

static void put32(uint8_t *at, uint32_t v)
{
	memcpy(at, &v, 4);
}

static uint32_t get32(const uint8_t *at)
{
	uint32_t v;
	memcpy(&v, at, 4);
	return v;
}

static uint32_t fake_cfg_read(void *ctx, unsigned off)
{
	assert_true(off % 4 == 0 && off < sizeof(space));
	return get32(space + off);
}

static void fake_cfg_write(void *ctx, unsigned off, uint32_t val)
{
	if (off >= 0xa0 && off < 0xa0 + 24) { /* the MSI capability (tests below) */
		if (off == 0xa0)
			assert_int_equal(val & 0xff8effff, get32(space + off) & 0xff8effff);
		put32(space + off, val);
		return;
	}
	if (off == MSIX_CAP) {
		/* only Message Control's enable and function mask may change */
		assert_int_equal(val & 0x3fffffff, get32(space + off) & 0x3fffffff);
		phys_msix_writes++;
		put32(space + off, val);
		return;
	}
	assert_int_equal(off, 4);
	memcpy(space + 4, &val, 2);
}

static int fake_map(void *ctx, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		if (!maps[i].live) {
			maps[i] = (struct mapping){gpa, hpa, size, true};
			return 0;
		}
	fail_msg("too many mappings");
	return -1;
}

static void fake_unmap(void *ctx, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		if (maps[i].live && maps[i].gpa == gpa && maps[i].size == size) {
			maps[i].live = false;
			return;
		}
	fail_msg("unmap of 0x%llx+0x%llx never mapped", (unsigned long long)gpa,
		 (unsigned long long)size);
}

/* Whether any live mapping covers the BAR's offset off. */
static bool mapped_off(uint64_t off)
{
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		if (maps[i].live && maps[i].hpa <= phys_bars[0].hpa + off &&
		    phys_bars[0].hpa + off < maps[i].hpa + maps[i].size)
			return true;
	return false;
}

static uint64_t fake_bar_read(void *ctx, unsigned bar, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	assert_true(get32(space + 4) & 2);
	assert_int_equal(bar, 0);
	assert_true(off + size <= sizeof(bar0) && off % size == 0);
	memcpy(&v, bar0 + off, size);
	return v;
}

static void fake_bar_write(void *ctx, unsigned bar, uint64_t off, unsigned size, uint64_t val)
{
	assert_true(get32(space + 4) & 2); /* only while the device decodes it */
	assert_int_equal(bar, 0);
	assert_true(off + size <= sizeof(bar0) && off % size == 0);
	assert_false(off >= PBA && off < PBA + 8); /* the PBA is the device's */
	memcpy(bar0 + off, &val, size);
}

static int fake_route(void *ctx, unsigned vector, uint32_t data)
{
	assert_true(vector < VPCI_MSIX_EVENTS);
	if (route_fail_at && vector == route_fail_at)
		return -ENOSPC;
	routes[vector].routed = true;
	routes[vector].data = data;
	return 0;
}

static int fake_doorbell(void *ctx, bool on)
{
	doorbell_calls++;
	assert_int_equal(doorbell_on, !on); /* balanced */
	doorbell_on = on;
	return 0;
}

static struct vpci_ops ops = {
    .cfg_read = fake_cfg_read,
    .cfg_write = fake_cfg_write,
    .map = fake_map,
    .unmap = fake_unmap,
    .msi_guest = GUEST_DB,
    .msi_phys = PHYS_DB,
    .bar_read = fake_bar_read,
    .bar_write = fake_bar_write,
    .msi_route = fake_route,
    .msi_doorbell = fake_doorbell,
};
static struct vpci_fn fn;

/* capabilities PM 0x40 -> MSI-X 0x50 -> PCIe 0x60; MSI-X Message Control
 * left enabled by the last owner */
static void device(uint32_t table, uint32_t pba)
{
	memset(space, 0, sizeof(space));
	memset(bar0, 0, sizeof(bar0));
	memset(maps, 0, sizeof(maps));
	memset(routes, 0, sizeof(routes));
	phys_msix_writes = doorbell_on = doorbell_calls = route_fail_at = 0;
	put32(space + 0x00, 0x00101b36);
	put32(space + 0x04, 0x00100000);
	put32(space + 0x10, 0x80000000);
	put32(space + 0x34, 0x40);
	put32(space + 0x40, 0x00035001);
	put32(space + MSIX_CAP, 0x80006011 | (nvec - 1) << 16);
	put32(space + MSIX_CAP + 4, table);
	put32(space + MSIX_CAP + 8, pba);
	put32(space + 0x60, 0x00020010);
	vpci_fn_init(&fn, &ops, phys_bars);
}

static int setup(void **state)
{
	nvec = 8;
	device(TABLE, PBA);
	return 0;
}

static uint32_t phys_entry(unsigned n, unsigned field)
{
	return get32(bar0 + TABLE + 16 * n + field);
}

static void guest_entry(unsigned n, uint64_t addr, uint32_t data, uint32_t ctrl)
{
	uint64_t a = BAR_GPA + TABLE + 16 * n, v = addr;
	assert_int_equal(vpci_bar_access(&fn, a, 8, true, &v), 0); /* lo and hi at once */
	v = data;
	assert_int_equal(vpci_bar_access(&fn, a + 8, 4, true, &v), 0);
	v = ctrl;
	assert_int_equal(vpci_bar_access(&fn, a + 12, 4, true, &v), 0);
}

static void bar_on(void)
{
	vpci_cfg_write(&fn, 0x10, 4, (uint32_t)BAR_GPA);
	vpci_cfg_write(&fn, 0x04, 2, 0x0006);
}

/* The invariant: while the device's MSI-X is on, every vector unmasked
 * there holds tessera's doorbell and its own number, and was routed; and
 * the doorbell is reachable. */
static void check_device(void)
{
	if (!(get32(space + MSIX_CAP) >> 31))
		return;
	assert_true(doorbell_on);
	for (unsigned n = 0; n < nvec; n++) {
		if (phys_entry(n, 12) & 1)
			continue;
		assert_true(n < VPCI_MSIX_EVENTS);
		assert_int_equal(phys_entry(n, 0), (uint32_t)PHYS_DB);
		assert_int_equal(phys_entry(n, 4), PHYS_DB >> 32);
		assert_int_equal(phys_entry(n, 8), n);
		assert_true(routes[n].routed);
	}
}

static void decode(void **state)
{
	/* chained, with the last owner's enable gone from the device */
	assert_int_equal(vpci_cfg_read(&fn, 0x41, 1), MSIX_CAP);
	assert_int_equal(vpci_cfg_read(&fn, MSIX_CAP + 1, 1), 0x60);
	assert_int_equal(get32(space + MSIX_CAP) >> 30, 0);
	assert_int_equal(vpci_cfg_read(&fn, MSIX_CAP + 2, 2), nvec - 1);
	assert_int_equal(vpci_cfg_read(&fn, MSIX_CAP + 4, 4), TABLE);
	assert_int_equal(vpci_cfg_read(&fn, MSIX_CAP + 8, 4), PBA);
	vpci_cfg_write(&fn, MSIX_CAP + 4, 4, 0x3); /* BIR/offset: read-only */
	assert_int_equal(vpci_cfg_read(&fn, MSIX_CAP + 4, 4), TABLE);
	assert_int_equal(fn.msix.trap[0][0], TABLE);
	assert_int_equal(fn.msix.trap[0][1], TABLE + 0x1000);
	assert_int_equal(fn.msix.trap[1][0], PBA);
	/* no vITS: hidden as before */
	ops.msi_guest = 0;
	device(TABLE, PBA);
	ops.msi_guest = GUEST_DB;
	assert_int_equal(vpci_cfg_read(&fn, 0x41, 1), 0x60);
	assert_false(fn.msix.shown);
	/* a BIR naming no BAR, or a table past the BAR's end: hidden */
	device(TABLE | 2, PBA);
	assert_false(fn.msix.shown);
	device(0x3ff8, PBA);
	assert_false(fn.msix.shown);
	device(TABLE, 0x4000);
	assert_false(fn.msix.shown);
	assert_int_equal(vpci_cfg_read(&fn, 0x41, 1), 0x60);
}

/* The table's and PBA's pages are left out of the stage-2 mapping. */
static void trapped_pages(void **state)
{
	bar_on();
	assert_true(mapped_off(0));
	assert_false(mapped_off(PBA));
	assert_false(mapped_off(TABLE));
	assert_true(mapped_off(0x3000));
	uint64_t v = 0;
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA, 4, false, &v), -ENOENT);
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + 0x3000, 4, false, &v), -ENOENT);
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + TABLE + 2, 4, false, &v), -EINVAL);
	/* a register sharing the table's page reaches the device */
	v = 0xabcd;
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + TABLE + 0x800, 4, true, &v), 0);
	assert_int_equal(get32(bar0 + TABLE + 0x800), 0xabcd);
	/* the PBA reads as the device's; writes are dropped */
	put32(bar0 + PBA, 0x5);
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + PBA, 4, false, &v), 0);
	assert_int_equal(v, 5);
	v = 0;
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + PBA, 4, true, &v), 0);
	assert_int_equal(get32(bar0 + PBA), 5);
	/* decode off: nothing mapped, nothing trapped */
	vpci_cfg_write(&fn, 0x04, 2, 0);
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + TABLE, 4, false, &v), -ENOENT);
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		assert_false(maps[i].live);
}

static void programming(void **state)
{
	bar_on();
	memset(bar0 + TABLE, 0xee, 16 * nvec);	      /* whatever the device held */
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0xc000); /* enable, function mask */
	assert_true(doorbell_on);
	assert_int_equal(get32(space + MSIX_CAP) >> 30, 3);
	assert_int_equal(vpci_cfg_read(&fn, MSIX_CAP + 2, 2), 0xc000 | (nvec - 1));
	for (unsigned n = 0; n < nvec; n++)
		assert_int_equal(phys_entry(n, 12) & 1, 1); /* all masked */
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0x8000);
	assert_int_equal(get32(space + MSIX_CAP) >> 30, 2);
	/* vector 2 to the vITS, guest event 0x33 */
	guest_entry(2, GUEST_DB, 0x33, 0);
	assert_true(routes[2].routed);
	assert_int_equal(routes[2].data, 0x33);
	assert_int_equal(phys_entry(2, 12), 0);
	check_device();
	/* the guest's shadow reads back as written */
	uint64_t v;
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + TABLE + 32, 8, false, &v), 0);
	assert_int_equal(v, GUEST_DB);
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + TABLE + 40, 4, false, &v), 0);
	assert_int_equal(v, 0x33);
	/* aimed elsewhere: masked in the device, counted */
	guest_entry(3, 0x40001000, 7, 0);
	assert_int_equal(phys_entry(3, 12) & 1, 1);
	assert_false(routes[3].routed);
	assert_int_equal(fn.msix.refused, 1);
	/* masking, a new event number, unmasking */
	v = 1;
	vpci_bar_access(&fn, BAR_GPA + TABLE + 32 + 12, 4, true, &v);
	assert_int_equal(phys_entry(2, 12) & 1, 1);
	guest_entry(2, GUEST_DB, 0x44, 0);
	assert_int_equal(routes[2].data, 0x44);
	assert_int_equal(phys_entry(2, 12), 0);
	/* a byte write to the control's low byte */
	v = 1;
	vpci_bar_access(&fn, BAR_GPA + TABLE + 32 + 12, 1, true, &v);
	assert_int_equal(phys_entry(2, 12) & 1, 1);
	/* a route that fails keeps the vector masked */
	route_fail_at = 5;
	guest_entry(5, GUEST_DB, 1, 0);
	assert_int_equal(phys_entry(5, 12) & 1, 1);
	assert_int_equal(fn.msix.errors, 1);
	check_device();
	/* disable: the device first, then the doorbell */
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0);
	assert_int_equal(get32(space + MSIX_CAP) >> 30, 0);
	assert_false(doorbell_on);
	/* entries written while disabled take effect at enable */
	guest_entry(1, GUEST_DB, 9, 0);
	assert_false(routes[1].routed);
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0x8000);
	assert_true(routes[1].routed);
	assert_int_equal(phys_entry(1, 12), 0);
	check_device();
	/* enabled with decoding off: the device waits until decoding is on */
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0);
	vpci_cfg_write(&fn, 0x04, 2, 0x0004);
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0x8000);
	assert_int_equal(get32(space + MSIX_CAP) >> 31, 0);
	assert_false(doorbell_on);
	vpci_cfg_write(&fn, 0x04, 2, 0x0006);
	assert_int_equal(get32(space + MSIX_CAP) >> 31, 1);
	assert_int_equal(phys_entry(1, 12), 0);
	check_device();
	/* the partition stops: the device's MSI-X off, the doorbell gone */
	vpci_fn_reset(&fn);
	assert_int_equal(get32(space + MSIX_CAP) >> 30, 0);
	assert_false(doorbell_on);
}

/* Vectors past the physical ITS's events per device, or past the shadow,
 * stay masked. */
static void many_vectors(void **state)
{
	nvec = 80;
	device(TABLE, PBA);
	bar_on();
	vpci_cfg_write(&fn, MSIX_CAP + 2, 2, 0x8000);
	guest_entry(VPCI_MSIX_EVENTS, GUEST_DB, 1, 0);
	assert_int_equal(phys_entry(VPCI_MSIX_EVENTS, 12) & 1, 1);
	guest_entry(70, GUEST_DB, 1, 0);
	assert_int_equal(phys_entry(70, 12) & 1, 1);
	uint64_t v;
	assert_int_equal(vpci_bar_access(&fn, BAR_GPA + TABLE + 16 * 70 + 12, 4, false, &v), 0);
	assert_int_equal(v, 1);
	check_device();
	nvec = 8;
}

/* Random writes of every size over the trapped pages and the capability:
 * the device's table never holds anything but tessera's values, and its
 * Message Control nothing but enable and mask. */
static void scribble(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	srandom(12);
	bar_on();
	for (unsigned n = 0; n < 200000; n++) {
		unsigned size = sizes[random() % 4];
		uint64_t v = (uint64_t)random() << 32 | (uint64_t)random();
		if (n % 3 == 0)
			v = n % 2 ? GUEST_DB : (uint64_t)random() % 4;
		if (n % 50 == 0) {
			vpci_cfg_write(&fn, MSIX_CAP + 2, 2, (uint32_t)random());
		} else if (n % 97 == 0) { /* decode off and on: the table unreachable */
			vpci_cfg_write(&fn, 0x04, 2, random() % 2 ? 0x0006 : 0x0004);
		} else {
			uint64_t off =
			    (n % 5 ? TABLE : PBA) + ((uint64_t)random() % 0x1000 & ~(size - 1ull));
			int e = vpci_bar_access(&fn, BAR_GPA + off, size, random() % 4 != 0, &v);
			assert_int_equal(e, fn.cmd & 2 ? 0 : -ENOENT);
		}
		check_device();
	}
	vpci_fn_reset(&fn);
	assert_false(doorbell_on);
	assert_int_equal(get32(space + MSIX_CAP) >> 30, 0);
}

/* ---- MSI (vpci_msi.c): a 64-bit capability with per-vector masking and
 * 4 vectors at 0xa0, chained after PCIe ---- */

#define MSI_CAP 0xa0

static void msi_device(uint16_t ctrl)
{
	device(TABLE, PBA);
	put32(space + 0x60, 0x0002a010); /* PCIe -> MSI */
	put32(space + MSI_CAP, 0x00000005u | (uint32_t)ctrl << 16);
	put32(space + MSI_CAP + 4, 0xdeadbeef); /* the last owner's */
	vpci_fn_init(&fn, &ops, phys_bars);
}

static uint32_t msi_reg(unsigned off)
{
	return get32(space + MSI_CAP + off);
}

/* While the device's MSI is on: tessera's doorbell, data 0 (its vectors
 * are events 0..2^MME-1), each of them routed. */
static void check_msi(void)
{
	uint16_t ctrl = (uint16_t)(msi_reg(0) >> 16);
	if (!(ctrl & 1))
		return;
	assert_true(doorbell_on);
	assert_int_equal(msi_reg(4), (uint32_t)PHYS_DB);
	assert_int_equal(msi_reg(8), PHYS_DB >> 32);
	assert_int_equal(msi_reg(12) & 0xffff, 0);
	for (unsigned k = 0; k < 1u << ((ctrl >> 4) & 7); k++)
		assert_true(routes[k].routed);
}

static void msi(void **state)
{
	msi_device(0x0184); /* PVM, 64-bit, 4 vectors capable */
	assert_true(fn.msi.shown);
	assert_int_equal(fn.msi.len, 24);
	assert_int_equal(vpci_cfg_read(&fn, 0x61, 1), MSI_CAP);
	assert_int_equal(vpci_cfg_read(&fn, MSI_CAP + 2, 2), 0x0184);
	assert_int_equal(vpci_cfg_read(&fn, MSI_CAP + 4, 4), 0); /* the shadow */
	vpci_cfg_write(&fn, MSI_CAP + 4, 4, (uint32_t)GUEST_DB);
	vpci_cfg_write(&fn, MSI_CAP + 8, 4, 0);
	vpci_cfg_write(&fn, MSI_CAP + 12, 2, 0x41);
	vpci_cfg_write(&fn, MSI_CAP + 2, 2, 0x0021); /* 4 vectors, enable */
	assert_int_equal(msi_reg(0) >> 16, 0x01a5);
	assert_int_equal(routes[0].data, 0x40);
	assert_int_equal(routes[3].data, 0x43);
	check_msi();
	assert_int_equal(vpci_cfg_read(&fn, MSI_CAP + 12, 2), 0x41);
	/* masking is the guest's, mirrored */
	vpci_cfg_write(&fn, MSI_CAP + 16, 4, 0x5);
	assert_int_equal(msi_reg(16), 5);
	/* aimed elsewhere: off in the device, counted */
	vpci_cfg_write(&fn, MSI_CAP + 4, 4, 0x40001000);
	assert_int_equal(msi_reg(0) >> 16 & 1, 0);
	assert_false(doorbell_on);
	assert_int_equal(fn.msi.refused, 1);
	vpci_cfg_write(&fn, MSI_CAP + 4, 4, (uint32_t)GUEST_DB);
	check_msi();
	assert_true(doorbell_on);
	/* a route that fails: off */
	route_fail_at = 2;
	vpci_cfg_write(&fn, MSI_CAP + 12, 2, 0x80);
	assert_int_equal(msi_reg(0) >> 16 & 1, 0);
	assert_int_equal(fn.msi.errors, 1);
	route_fail_at = 0;
	/* the partition stops */
	vpci_cfg_write(&fn, MSI_CAP + 12, 2, 0x80);
	check_msi();
	vpci_fn_reset(&fn);
	assert_int_equal(msi_reg(0) >> 16 & 1, 0);
	assert_false(doorbell_on);
	/* no vITS: hidden */
	ops.msi_guest = 0;
	msi_device(0x0184);
	ops.msi_guest = GUEST_DB;
	assert_false(fn.msi.shown);
	assert_int_equal(vpci_cfg_read(&fn, 0x61, 1), 0);
}

static void msi_scribble(void **state)
{
	static const unsigned sizes[] = {1, 2, 4};
	srandom(13);
	msi_device(0x008a);		  /* 64-bit, 32 vectors capable, no masking */
	assert_int_equal(fn.msi.len, 16); /* data and its reserved half */
	for (unsigned n = 0; n < 200000; n++) {
		unsigned size = sizes[random() % 3];
		unsigned off = MSI_CAP + (unsigned)random() % 16;
		uint32_t v = (uint32_t)random();
		if (n % 3 == 0)
			v = n % 2 ? (uint32_t)GUEST_DB : v % 0x80;
		vpci_cfg_write(&fn, off & ~(size - 1), size, v);
		check_msi();
	}
	vpci_fn_reset(&fn);
	assert_false(doorbell_on);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(decode, setup),
	    cmocka_unit_test_setup(trapped_pages, setup),
	    cmocka_unit_test_setup(programming, setup),
	    cmocka_unit_test_setup(many_vectors, setup),
	    cmocka_unit_test_setup(scribble, setup),
	    cmocka_unit_test_setup(msi, setup),
	    cmocka_unit_test_setup(msi_scribble, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

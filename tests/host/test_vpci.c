/* The config-space filter of an assigned PCI function, over a fake config
 * space: what the guest sees, what reaches the device, and that no write
 * sequence maps anything but the device's own BARs inside the window. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/vm/guest.h"

/* ---- the fake device ---- */

static uint8_t space[4096];
static unsigned phys_writes;
static uint32_t last_phys_cmd;

struct mapping {
	uint64_t gpa, hpa, size;
	bool live;
};
static struct mapping maps[64];
static unsigned nmaps, bad_maps, bad_unmaps;

static const struct vpci_bar phys_bars[6] = {
    {0x10000000, 1 << 20, false, false, false, 0},  /* BAR0: 1 MiB */
    {0x10100000, 256, false, false, false, 0},	    /* BAR1: sub-page, hidden */
    {0x8000000000ull, 16384, true, true, false, 0}, /* BAR2+3: 64-bit prefetchable */
    {0},					    /* its upper half */
    {0x10200000, 3 << 12, false, false, false, 0},  /* BAR4: not a power of two */
    {0},					    /* BAR5 absent (or an I/O BAR) */
};

static void put32(unsigned off, uint32_t v)
{
	memcpy(space + off, &v, 4);
}

static uint32_t fake_read(void *ctx, unsigned off)
{
	uint32_t v;
	assert_true(off % 4 == 0 && off < sizeof(space));
	memcpy(&v, space + off, 4);
	return v;
}

static void fake_write(void *ctx, unsigned off, uint32_t val)
{
	assert_int_equal(off, 4); /* COMMAND, nothing else */
	phys_writes++;
	last_phys_cmd = val;
	memcpy(space + 4, &val, 2);
}

static bool inside_bar(uint64_t hpa, uint64_t size)
{
	for (unsigned i = 0; i < 6; i++) {
		const struct vpci_bar *b = &phys_bars[i];
		if (b->size >= 4096 && !(b->size & (b->size - 1)) && hpa == b->hpa &&
		    size == b->size)
			return true;
	}
	return false;
}

static int fake_map(void *ctx, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	if (!inside_bar(hpa, size) || gpa < VPCI_MMIO_BASE ||
	    gpa + size > VPCI_MMIO_BASE + VPCI_MMIO_SIZE || gpa % size)
		bad_maps++;
	for (unsigned i = 0; i < nmaps; i++)
		if (maps[i].live && maps[i].gpa < gpa + size && gpa < maps[i].gpa + maps[i].size)
			bad_maps++; /* two live mappings meet */
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		if (!maps[i].live) {
			maps[i] = (struct mapping){gpa, hpa, size, true};
			nmaps = MAX(nmaps, i + 1);
			return 0;
		}
	fail_msg("too many live mappings");
	return -1;
}

static void fake_unmap(void *ctx, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; i < nmaps; i++)
		if (maps[i].live && maps[i].gpa == gpa && maps[i].size == size) {
			maps[i].live = false;
			return;
		}
	bad_unmaps++;
}

static unsigned live_maps(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nmaps; i++)
		n += maps[i].live;
	return n;
}

static const struct vpci_ops ops = {
    .cfg_read = fake_read, .cfg_write = fake_write, .map = fake_map, .unmap = fake_unmap};
static struct vpci_fn fn;

/* edu-like IDs; capabilities PM 0x40 -> MSI 0x50 -> PCIe 0x60 -> MSI-X
 * 0xa0 -> vendor 0xb0 (16 bytes) -> end. */
static void device_setup(void)
{
	memset(space, 0, sizeof(space));
	memset(maps, 0, sizeof(maps));
	nmaps = bad_maps = bad_unmaps = phys_writes = 0;
	put32(0x00, 0x11e81234);
	put32(0x04, 0x00100000); /* status: capabilities list */
	put32(0x08, 0x00ff0010);
	put32(0x0c, 0x00800000); /* multi-function bit */
	put32(0x10, 0x10000000);
	put32(0x14, 0x10100000);
	put32(0x18, 0x0000000c);
	put32(0x1c, 0x00000080);
	put32(0x30, 0xfeed0001); /* expansion ROM */
	put32(0x34, 0x40);
	put32(0x3c, 0x0100);	 /* INTA */
	put32(0x40, 0x00035001); /* PM */
	put32(0x44, 0x00000008);
	put32(0x50, 0x00806005); /* MSI */
	put32(0x54, 0x12345678);
	put32(0x60, 0x0002a010); /* PCIe endpoint */
	put32(0x64, 0x10000000); /* FLR */
	put32(0xa0, 0x0000b011); /* MSI-X */
	put32(0xa4, 0x00000001);
	put32(0xb0, 0x00100009); /* vendor, length 16 */
	put32(0xb4, 0xcafef00d);
	put32(0x100, 0x00010001); /* an extended capability */
	vpci_fn_init(&fn, &ops, phys_bars);
}

static int setup(void **state)
{
	device_setup();
	return 0;
}

/* ---- what the guest sees ---- */

static void header(void **state)
{
	assert_int_equal(vpci_cfg_read(&fn, 0, 4), 0x11e81234);
	assert_int_equal(vpci_cfg_read(&fn, 2, 2), 0x11e8);
	assert_int_equal(vpci_cfg_read(&fn, 0x0e, 1), 0); /* single function */
	assert_int_equal(vpci_cfg_read(&fn, 0x30, 4), 0); /* no ROM */
	assert_int_equal(vpci_cfg_read(&fn, 0x3d, 1), 1); /* INTA */
	vpci_cfg_write(&fn, 0x3c, 1, 35);
	assert_int_equal(vpci_cfg_read(&fn, 0x3c, 2), 0x0123);
	assert_int_equal(vpci_cfg_read(&fn, 0x100, 4), 0); /* no extended capabilities */
	assert_int_equal(vpci_cfg_read(&fn, 0x1001, 1), 0xffffffffu);
	assert_int_equal(vpci_cfg_read(&fn, 0x41, 2), 0xffffffffu); /* misaligned */
	assert_int_equal(phys_writes, 0);
}

/* PM, PCIe and vendor are chained; MSI and MSI-X are gone. */
static void capabilities(void **state)
{
	uint8_t want[] = {0x40, 0x60, 0xb0};
	unsigned at = vpci_cfg_read(&fn, 0x34, 1), n = 0;
	assert_true(vpci_cfg_read(&fn, 0x06, 2) & 0x10);
	while (at) {
		assert_true(n < ARRAY_SIZE(want));
		assert_int_equal(at, want[n++]);
		at = vpci_cfg_read(&fn, at + 1, 1);
	}
	assert_int_equal(n, 3);
	assert_int_equal(vpci_cfg_read(&fn, 0x50, 4), 0);
	assert_int_equal(vpci_cfg_read(&fn, 0xa0, 4), 0);
	assert_int_equal(vpci_cfg_read(&fn, 0x64, 4), 0x10000000);
	assert_int_equal(vpci_cfg_read(&fn, 0xb4, 4), 0xcafef00d);
	/* shown, but read-only */
	vpci_cfg_write(&fn, 0x68, 2, 0x8000); /* DevCtl: Initiate FLR */
	vpci_cfg_write(&fn, 0x44, 2, 3);      /* PM: D3 */
	assert_int_equal(phys_writes, 0);
	assert_int_equal(vpci_cfg_read(&fn, 0x44, 4), 8);
}

/* Linux's sizing: all-ones, read back, restore. Hidden BARs read 0. */
static void bar_sizing(void **state)
{
	static const uint32_t want[6] = {0xfff00000, 0, 0xffffc00c, 0xffffffff, 0, 0};
	for (unsigned i = 0; i < 6; i++) {
		vpci_cfg_write(&fn, 0x10 + 4 * i, 4, 0xffffffff);
		assert_int_equal(vpci_cfg_read(&fn, 0x10 + 4 * i, 4), want[i]);
	}
	assert_int_equal(live_maps(), 0);
	assert_int_equal(phys_writes, 0);
}

static void bar_programming(void **state)
{
	vpci_cfg_write(&fn, 0x10, 4, 0x10100000);
	vpci_cfg_write(&fn, 0x18, 4, 0x10200000);
	vpci_cfg_write(&fn, 0x1c, 4, 0);
	assert_int_equal(live_maps(), 0);		  /* decode off */
	vpci_cfg_write(&fn, 0x04, 2, 0x0007);		  /* IO, MEM, MASTER */
	assert_int_equal(last_phys_cmd & 0xffff, 0x0006); /* no I/O decode */
	assert_int_equal(vpci_cfg_read(&fn, 0x04, 2), 0x0006);
	assert_int_equal(live_maps(), 2);
	assert_int_equal(maps[0].gpa, 0x10100000);
	assert_int_equal(maps[0].hpa, 0x10000000);
	assert_int_equal(maps[1].gpa, 0x10200000);
	assert_int_equal(maps[1].hpa, 0x8000000000ull);
	/* moving BAR0 unmaps it first */
	vpci_cfg_write(&fn, 0x10, 4, 0x20000000);
	assert_int_equal(live_maps(), 2);
	assert_int_equal(bad_maps + bad_unmaps, 0);
	/* onto BAR2: the overlap leaves BAR2 dark */
	vpci_cfg_write(&fn, 0x10, 4, 0x10200000);
	assert_int_equal(live_maps(), 1);
	/* outside the window: not mapped */
	vpci_cfg_write(&fn, 0x10, 4, 0x40000000);
	vpci_cfg_write(&fn, 0x1c, 4, 0x1);
	assert_int_equal(live_maps(), 0);
	vpci_cfg_write(&fn, 0x10, 4, 0x10000000);
	vpci_cfg_write(&fn, 0x1c, 4, 0);
	assert_int_equal(live_maps(), 2);
	vpci_cfg_write(&fn, 0x04, 2, 0);
	assert_int_equal(live_maps(), 0);
	vpci_cfg_write(&fn, 0x04, 2, 2);
	vpci_fn_reset(&fn);
	assert_int_equal(live_maps(), 0);
	assert_int_equal(bad_maps + bad_unmaps, 0);
}

/* Random writes of every size over all of config space, BARs included:
 * the device only ever sees COMMAND's three bits, and every mapping is a
 * whole BAR of the device inside the window, never two at once on the
 * same addresses. */
static void random_writes(void **state)
{
	static const unsigned sizes[] = {1, 2, 4};
	uint8_t before[4096];
	srandom(11);
	memcpy(before, space, sizeof(space));
	for (unsigned n = 0; n < 200000; n++) {
		unsigned size = sizes[random() % 3];
		unsigned off = (unsigned)random() % (n % 4 ? 0x40u : 0x1000u);
		uint32_t val = (uint32_t)random() ^ ((uint32_t)random() << 16);
		if (n % 8 == 0) /* BAR values inside the window, to map often */
			val = (uint32_t)(VPCI_MMIO_BASE + ((uint64_t)random() % VPCI_MMIO_SIZE));
		vpci_cfg_write(&fn, off & ~(size - 1), size, val);
		(void)vpci_cfg_read(&fn, (unsigned)random() % 0x1000 & ~3u, 4);
		assert_int_equal(last_phys_cmd & ~0x406u & 0xffff, 0);
	}
	assert_int_equal(bad_maps, 0);
	assert_int_equal(bad_unmaps, 0);
	assert_true(phys_writes > 0);
	/* nothing but COMMAND changed on the device */
	assert_memory_equal(before, space, 4);
	assert_memory_equal(before + 6, space + 6, sizeof(space) - 6);
	vpci_fn_reset(&fn);
	assert_int_equal(live_maps(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(header, setup),
	    cmocka_unit_test_setup(capabilities, setup),
	    cmocka_unit_test_setup(bar_sizing, setup),
	    cmocka_unit_test_setup(bar_programming, setup),
	    cmocka_unit_test_setup(random_writes, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

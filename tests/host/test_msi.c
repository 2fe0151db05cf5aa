/*
 * kernel/vm/msi.c: routes of physical ITS events to partitions' guest
 * (DeviceID, EventID), over a fake physical ITS (the gits_* functions
 * below record maps and unmaps) and real vGIC models with an ITS each:
 * the physical LPI becomes the vLPI the guest mapped, only in the
 * partition it was routed to; a physical event has one owner.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "kernel/vm/vm.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x100000ull
#define CMDQ	 (RAM_BASE + 0x80000)

/* ---- fakes: physical ITS, GIC info, memory ---- */
static struct gic_info gi = {.has_its = true, .its_base = 0x08080000};
static bool ready;
static unsigned next_lpi, maps, unmaps, ints, inits;
const struct gic_info *gic_get_info(void)
{
	return &gi;
}
uint64_t mem_alloc(uint64_t size, uint64_t align)
{
	return 0x80000000ull; /* never touched: gits_init is fake */
}
int gits_init(uint64_t its_pa, uintptr_t mem, size_t size)
{
	inits++;
	ready = true;
	return 0;
}
bool gits_ready(void)
{
	return ready;
}
int gits_map(uint32_t devid, uint32_t eventid, unsigned cpu)
{
	maps++;
	return (int)(next_lpi++);
}
int gits_unmap(uint32_t devid, uint32_t eventid, unsigned lpi)
{
	unmaps++;
	return 0;
}
int gits_int(uint32_t devid, uint32_t eventid)
{
	ints++;
	return 0;
}

/* ---- two partitions' vGICs with guest RAM and an ITS ---- */
static struct partition pa, pb;
static uint8_t ram[2][RAM_SIZE];
static unsigned kicks[2];

static int ram_read(void *ctx, uint64_t ipa, void *buf, size_t len)
{
	uint8_t *r = ctx;
	if (ipa < RAM_BASE || ipa - RAM_BASE + len > RAM_SIZE)
		return -EFAULT;
	memcpy(buf, r + (ipa - RAM_BASE), len);
	return 0;
}
static void kick(void *ctx, unsigned vcpu)
{
	kicks[(struct partition *)ctx == &pb]++;
}
static uint64_t no_lr(void *ctx, unsigned i)
{
	return 0;
}
static void no_lr_write(void *ctx, unsigned i, uint64_t v)
{
}

static void itsw(struct partition *p, uint64_t off, uint64_t v)
{
	assert_int_equal(vgic_its_access(&p->vgic, 0, off, 8, true, &v), 0);
}
/* the guest maps device 2, event 3 -> LPI 8195 on collection 0 (vCPU 0) */
static void guest_maps(struct partition *p, uint8_t *r)
{
	const struct vgic_ops ops = {4, no_lr, no_lr_write, NULL, kick, NULL, NULL, p};
	vgic_init(&p->vgic, 1, &ops);
	const struct vits_ops iops = {ram_read, NULL, NULL, r};
	vgic_its_attach(&p->vgic, &p->its, RAM_BASE, RAM_SIZE, &iops);
	p->nvcpus = 1;
	uint64_t v = 2;
	assert_int_equal(vgic_dist_access(&p->vgic, 0, 0, 4, true, &v), 0); /* EnableGrp1 */
	r[0x10000 + 3] = 0xa0 | 1;					    /* config of 8195 */
	v = (RAM_BASE + 0x10000) | 14;
	assert_int_equal(vgic_redist_access(&p->vgic, 0, 0x70, 8, true, &v), 0);
	v = RAM_BASE + 0x20000;
	assert_int_equal(vgic_redist_access(&p->vgic, 0, 0x78, 8, true, &v), 0);
	v = 1;
	assert_int_equal(vgic_redist_access(&p->vgic, 0, 0x0, 4, true, &v), 0);
	itsw(p, 0x100, BIT(63) | (RAM_BASE + 0x90000));
	itsw(p, 0x108, BIT(63) | (RAM_BASE + 0x98000));
	itsw(p, 0x80, BIT(63) | CMDQ);
	v = 1;
	assert_int_equal(vgic_its_access(&p->vgic, 0, 0, 4, true, &v), 0);
	const uint64_t cmds[3][4] = {
	    {0x08 | 2ull << 32, 4 - 1, (RAM_BASE + 0xa0000) | BIT(63), 0}, /* MAPD */
	    {0x09, 0, BIT(63), 0},					   /* MAPC 0 -> 0 */
	    {0x0a | 2ull << 32, 3 | 8195ull << 32, 0, 0},		   /* MAPTI */
	};
	memcpy(r + (CMDQ - RAM_BASE), cmds, sizeof(cmds));
	itsw(p, 0x88, sizeof(cmds));
	assert_int_equal(vgic_its_translate(&p->vgic, 2, 3), 8195);
}

static int setup(void **state)
{
	memset(&pa, 0, sizeof(pa));
	memset(&pb, 0, sizeof(pb));
	memset(ram, 0, sizeof(ram));
	memset(kicks, 0, sizeof(kicks));
	guest_maps(&pa, ram[0]);
	guest_maps(&pb, ram[1]);
	next_lpi = 8192;
	return 0;
}

static bool pending(struct partition *p)
{
	return vgic_pending(&p->vgic, 0);
}

static void route_injects_into_its_partition_only(void **state)
{
	int lpi = vm_msi_route(&pa, 0x10, 0, 2, 3);
	assert_true(lpi >= 8192);
	assert_int_equal(inits, 1);
	assert_false(pending(&pa));
	assert_true(vm_msi_irq((unsigned)lpi));
	assert_true(pending(&pa));
	assert_false(pending(&pb));
	assert_int_equal(kicks[0], 1);
	assert_int_equal(kicks[1], 0);
	/* a second route of the same physical event: the same LPI for its
	 * owner, refused for another partition */
	assert_int_equal(vm_msi_route(&pa, 0x10, 0, 2, 3), lpi);
	assert_int_equal(vm_msi_route(&pb, 0x10, 0, 2, 3), -EBUSY);
	assert_int_equal(maps, 1);
	/* not a route: left to the caller */
	assert_false(vm_msi_irq((unsigned)lpi + 100));
	vm_msi_unroute(&pa);
	assert_int_equal(unmaps, 1);
	assert_false(vm_msi_irq((unsigned)lpi));
	/* now pb may have it */
	int lpib = vm_msi_route(&pb, 0x10, 0, 2, 3);
	assert_true(lpib >= 8192);
	assert_true(vm_msi_irq((unsigned)lpib));
	assert_true(pending(&pb));
	vm_msi_unroute(&pb);
}

static void unmapped_guest_event_dropped(void **state)
{
	uint64_t d = vm_msi_dropped();
	int lpi = vm_msi_route(&pa, 0x11, 5, 2, 9); /* the guest mapped no event 9 */
	assert_true(lpi >= 8192);
	assert_true(vm_msi_irq((unsigned)lpi));
	assert_int_equal(vm_msi_dropped(), d + 1);
	assert_false(pending(&pa));
	assert_int_equal(vm_msi_raise(&pa, 0x11, 5), 0);
	assert_int_equal(ints, 1);
	vm_msi_unroute(&pa);
}

static void no_its_no_route(void **state)
{
	ready = false;
	gi.has_its = false;
	assert_int_equal(vm_msi_route(&pa, 0x12, 0, 2, 3), -ENODEV);
	gi.has_its = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(route_injects_into_its_partition_only, setup),
	    cmocka_unit_test_setup(unmapped_guest_event_dropped, setup),
	    cmocka_unit_test_setup(no_its_no_route, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

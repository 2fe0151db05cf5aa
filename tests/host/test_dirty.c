/*
 * Stage-2 dirty tracking (kernel/vm/dirty.c) on a partition the real
 * partition code built over the fake machine: what start write-protects,
 * what a write fault marks and unprotects (splitting a block), that stop
 * merges the pages back into blocks and frees every table and the bitmap,
 * the races a fault may lose (a block being split, tracking stopping),
 * and that faults outside RAM or of a partition not tracked are left to
 * the caller.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "tests/host/fake.h"

#define RAM GUEST_RAM_BASE
#define MIB (1ull << 20)
#define RWX (PT_R | PT_W | PT_X)

static struct partition *P;
static uint64_t free_bytes;

static uint64_t free_total(void)
{
	const struct memmap *m = mem_free_map();
	uint64_t n = 0;
	for (unsigned i = 0; i < m->n; i++)
		n += m->r[i].size;
	return n;
}

static int setup(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x2}};
	fake_world(specs, 1);
	P = &partitions[0];
	fake_start(P);
	free_bytes = free_total();
	return 0;
}

static unsigned attrs_at(uint64_t ipa, unsigned *level)
{
	unsigned a = 0;
	assert_int_equal(pt_translate(&P->s2, ipa, NULL, &a, level), 0);
	return a;
}

static void start_protects_and_stop_merges(void **state)
{
	unsigned level;
	assert_int_equal(attrs_at(RAM + 5 * MIB, &level), RWX);
	assert_int_equal(level, 2);
	assert_false(dirty_on(P));
	P->npdevs = 1; /* an assigned device's DMA would go unseen */
	assert_int_equal(dirty_start(P), -EPERM);
	assert_false(dirty_on(P));
	P->npdevs = 0;
	assert_int_equal(free_total(), free_bytes);
	assert_int_equal(dirty_start(P), 0);
	assert_true(dirty_on(P));
	assert_int_equal(dirty_start(P), -EBUSY);
	assert_int_equal(attrs_at(RAM + 5 * MIB, &level), PT_R | PT_X);
	assert_int_equal(level, 2); /* still a block: nothing split yet */
	assert_int_equal(dirty_count(P), 0);
	/* the first write to a page: marked, that page writable, the block split */
	assert_true(dirty_fault(P, RAM + 5 * MIB + 0x123, true));
	assert_int_equal(attrs_at(RAM + 5 * MIB, &level), RWX);
	assert_int_equal(level, 3);
	assert_int_equal(attrs_at(RAM + 5 * MIB + 0x1000, NULL), PT_R | PT_X);
	assert_int_equal(attrs_at(RAM + 4 * MIB, NULL), PT_R | PT_X);
	assert_int_equal(dirty_count(P), 1);
	/* a second page of the split block: in place */
	assert_true(dirty_fault(P, RAM + 5 * MIB + 0x3008, true));
	assert_true(dirty_fault(P, RAM + 5 * MIB + 0x3010, true)); /* again: still one page */
	assert_int_equal(dirty_count(P), 2);
	assert_int_equal(dirty_faults(P), 3);
	assert_int_equal(attrs_at(RAM + 5 * MIB + 0x3000, NULL), RWX);
	/* the last page of RAM */
	uint64_t last = RAM + P->cfg.mem_size - 8;
	assert_true(dirty_fault(P, last, true));
	assert_int_equal(dirty_count(P), 3);
	dirty_stop(P);
	assert_false(dirty_on(P));
	assert_int_equal(dirty_count(P), 0);
	assert_int_equal(attrs_at(RAM + 5 * MIB + 0x1000, &level), RWX);
	assert_int_equal(level, 2); /* merged back */
	assert_int_equal(attrs_at(last, &level), RWX);
	assert_int_equal(level, 2);
	assert_int_equal(free_total(), free_bytes); /* the tables and the bitmap are back */
}

/* A fault outside RAM is not tracking's (MMIO, a hole: the caller's); a
 * write fault in RAM with tracking off cannot happen unless it raced with
 * stop: the access is allowed again, so the guest retries. */
static void faults_not_ours(void **state)
{
	assert_false(dirty_fault(P, RAM - 0x1000, true));
	assert_false(dirty_fault(P, RAM + P->cfg.mem_size, true));
	assert_true(dirty_fault(P, RAM + 0x2000, true)); /* RAM is writable: retry */
	assert_int_equal(dirty_faults(P), 0);
	assert_int_equal(dirty_start(P), 0);
	assert_false(dirty_fault(P, 0x09000000, true)); /* the vUART */
	/* a read (a translation fault while another vCPU splits the block) */
	assert_true(dirty_fault(P, RAM + 0x2000, false));
	assert_int_equal(dirty_count(P), 0);
	dirty_stop(P);
	dirty_stop(P); /* twice: nothing */
}

/* Released memory: tracking stops with it and cannot start again until
 * the next build; no fault is taken for it. */
static void release_stops_tracking(void **state)
{
	assert_int_equal(dirty_start(P), 0);
	assert_true(dirty_fault(P, RAM + 0x4000, true));
	assert_int_equal(partition_stop(P, false), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(P), PART_STOPPED);
	assert_false(dirty_on(P));
	assert_int_equal(dirty_start(P), -EBUSY);
	assert_false(dirty_fault(P, RAM + 0x4000, true));
	fake_start(P);
	assert_int_equal(dirty_start(P), 0);
	assert_int_equal(dirty_count(P), 0);
	dirty_stop(P);
}

/* Every page written once, in random order: each counted once, every one
 * writable, and stop leaves only blocks and frees everything. */
static void every_page_once(void **state)
{
	uint64_t pages = P->cfg.mem_size >> 12;
	assert_int_equal(dirty_start(P), 0);
	uint32_t x = 2463534242u;
	for (uint64_t n = 0; n < 4 * pages; n++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		uint64_t pg = x % pages;
		assert_true(dirty_fault(P, RAM + pg * 4096 + (x & 0xff8), true));
	}
	uint64_t seen = 0;
	for (uint64_t pg = 0; pg < pages; pg++)
		seen += (attrs_at(RAM + pg * 4096, NULL) & PT_W) != 0;
	assert_int_equal(dirty_count(P), seen);
	assert_true(seen > pages * 9 / 10);
	dirty_stop(P);
	unsigned level;
	for (uint64_t off = 0; off < P->cfg.mem_size; off += SZ_2M) {
		assert_int_equal(attrs_at(RAM + off, &level), RWX);
		assert_int_equal(level, 2);
	}
	assert_int_equal(free_total(), free_bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(start_protects_and_stop_merges, setup),
	    cmocka_unit_test_setup(faults_not_ours, setup),
	    cmocka_unit_test_setup(release_stops_tracking, setup),
	    cmocka_unit_test_setup(every_page_once, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

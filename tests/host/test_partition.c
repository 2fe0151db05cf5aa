/*
 * The machine side of the lifecycle (kernel/vm/partition.c) over the fake
 * arch and a RAM pool given to the real kernel/machine/mem.c: what a build
 * sets up (RAM, stage-2, kernel, device tree, vCPUs, run lists), that a
 * release gives back exactly what the build took (and scrubs it), that a
 * fixed memory-base someone else holds is never freed or zeroed by the
 * failed start, and that a build failing half way leaks nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "tests/host/fake.h"

#define MIB (1ull << 20)

static struct memmap free_at_start;

static void world(const struct fake_part_spec *specs, unsigned n)
{
	fake_world(specs, n);
	free_at_start = *mem_free_map();
	fake_log_clear();
}

/* The free list is exactly what it was before any start. */
static void assert_free_as_at_start(void)
{
	const struct memmap *m = mem_free_map();
	assert_int_equal(m->n, free_at_start.n);
	for (unsigned i = 0; i < m->n; i++) {
		assert_int_equal(m->r[i].base, free_at_start.r[i].base);
		assert_int_equal(m->r[i].size, free_at_start.r[i].size);
	}
}

static bool all_bytes(uint64_t pa, uint64_t size, uint8_t b)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)pa;
	for (uint64_t i = 0; i < size; i++)
		if (p[i] != b)
			return false;
	return true;
}

static bool range_free(uint64_t base, uint64_t size)
{
	const struct memmap *m = mem_free_map();
	for (unsigned i = 0; i < m->n; i++)
		if (base < m->r[i].base + m->r[i].size && m->r[i].base < base + size)
			return true;
	return false;
}

static void stop_and_release(struct partition *p)
{
	assert_int_equal(partition_stop(p, false), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(p), PART_STOPPED);
}

/* ---- build ---- */

static void build_sets_up_partition(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x6}};
	world(specs, 1);
	struct partition *p = &partitions[0];
	assert_ptr_equal(partition_find("a"), p);
	assert_null(partition_find("b"));
	fake_start(p);
	uint64_t size = 16 * MIB;
	/* RAM: 2 MiB aligned, ours, zeroed except what was loaded */
	assert_int_equal(p->ram_pa % SZ_2M, 0);
	assert_true(p->ram_pa >= fake_pool_base() &&
		    p->ram_pa + size <= fake_pool_base() + FAKE_POOL_SIZE);
	assert_false(range_free(p->ram_pa, size));
	assert_true(all_bytes(p->ram_pa, 0x80000, 0));
	assert_memory_equal((void *)(uintptr_t)(p->ram_pa + 0x80000), fake_kernel_data(),
			    FAKE_KERNEL_WORDS * 4);
	assert_true(all_bytes(p->ram_pa + 0x80000 + FAKE_KERNEL_WORDS * 4,
			      size - GUEST_DTB_MAX - 0x80000 - FAKE_KERNEL_WORDS * 4, 0));
	/* the device tree in the last 64 KiB */
	assert_int_equal(p->dtb_ipa, GUEST_RAM_BASE + size - GUEST_DTB_MAX);
	const void *dtb = (const void *)(uintptr_t)(p->ram_pa + size - GUEST_DTB_MAX);
	assert_int_equal(fdt_check_header(dtb), 0);
	assert_true(fdt_path_offset(dtb, "/cpus/cpu@1") >= 0);
	assert_true(fake.dcache_cleans > 0);
	/* stage 2: the RAM at GUEST_RAM_BASE, nothing else */
	uint64_t pa;
	assert_int_equal(pt_translate(&p->s2, GUEST_RAM_BASE, &pa, NULL, NULL), 0);
	assert_int_equal(pa, p->ram_pa);
	assert_int_equal(pt_translate(&p->s2, GUEST_RAM_BASE + size - 8, &pa, NULL, NULL), 0);
	assert_int_equal(pa, p->ram_pa + size - 8);
	assert_int_not_equal(pt_translate(&p->s2, GUEST_RAM_BASE + size, &pa, NULL, NULL), 0);
	assert_int_not_equal(pt_translate(&p->s2, GUEST_UART_BASE, &pa, NULL, NULL), 0);
	assert_int_not_equal(pt_translate(&p->s2, GUEST_GICD_BASE, &pa, NULL, NULL), 0);
	assert_int_equal(p->vttbr >> 48, 1); /* VMID = index + 1 */
	assert_int_equal(p->vttbr & ((1ull << 48) - 1), (uint64_t)(uintptr_t)p->s2.root);
	assert_int_equal(p->vtcr, stage2_vtcr(&p->s2));
	/* vCPUs: pinned to the n-th CPU, vCPU 0 at the entry with the DTB */
	assert_int_equal(p->nvcpus, 2);
	assert_int_equal(p->entry, FAKE_LOAD_ADDR);
	assert_int_equal(p->vcpus[0].pcpu, 1);
	assert_int_equal(p->vcpus[1].pcpu, 2);
	assert_int_equal(p->lc.vcpu[1].cpu, 2);
	assert_int_equal(p->vcpus[0].ctx.pc, FAKE_LOAD_ADDR);
	assert_int_equal(p->vcpus[0].ctx.x[0], p->dtb_ipa);
	assert_int_equal(p->vcpus[1].ctx.x[0], 0);
	assert_int_equal(p->vcpus[1].ctx.vmpidr, BIT(31) | 1);
	assert_int_equal(p->cntvoff, fake.now);
	assert_int_equal(vcpu_power(&p->vcpus[0]), VCPU_ON);
	assert_int_equal(vcpu_power(&p->vcpus[1]), VCPU_OFF);
	/* placed on their CPUs' run lists */
	assert_ptr_equal(percpu_data[1].vcpu, &p->vcpus[0]);
	assert_ptr_equal(percpu_data[2].vcpu, &p->vcpus[1]);
	assert_null(percpu_data[0].vcpu);
	assert_true(fake_log_has("a: started on CPUs 0x6, 2 vCPUs, 16 MiB"));
	assert_int_equal(p->starts, 1);
}

/* The free memory starts one page in: RAM still comes 2 MiB aligned. */
static void ram_is_2mib_aligned(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x1}};
	world(specs, 1);
	assert_int_equal(mem_take(fake_pool_base(), PAGE_SIZE), 0);
	fake_start(&partitions[0]);
	assert_int_equal(partitions[0].ram_pa, fake_pool_base() + SZ_2M);
	stop_and_release(&partitions[0]);
	mem_free(fake_pool_base(), PAGE_SIZE);
	assert_free_as_at_start();
}

/* More vCPUs than CPUs: vCPU n on the (n mod ncpus)-th CPU, one list each */
static void vcpus_share_cpus(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "m", .cpu_mask = 0x9, .vcpus = 5}};
	world(specs, 1);
	struct partition *p = &partitions[0];
	fake_start(p);
	static const unsigned cpu[5] = {0, 3, 0, 3, 0};
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(p->vcpus[i].pcpu, cpu[i]);
	struct vcpu *v = percpu_data[0].vcpu;
	assert_ptr_equal(v, &p->vcpus[0]);
	assert_ptr_equal(v->next_on_cpu, &p->vcpus[2]);
	assert_ptr_equal(v->next_on_cpu->next_on_cpu, &p->vcpus[4]);
	assert_null(v->next_on_cpu->next_on_cpu->next_on_cpu);
	v = percpu_data[3].vcpu;
	assert_ptr_equal(v, &p->vcpus[1]);
	assert_ptr_equal(v->next_on_cpu, &p->vcpus[3]);
	assert_null(v->next_on_cpu->next_on_cpu);
	stop_and_release(p);
	assert_null(percpu_data[0].vcpu);
	assert_null(percpu_data[3].vcpu);
}

static void offline_cpu_refuses_start(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x6}};
	world(specs, 1);
	percpu_data[2].online = 0;
	assert_int_equal(partition_start(&partitions[0]), -EAGAIN);
	assert_int_equal(partition_state(&partitions[0]), PART_STOPPED);
	assert_free_as_at_start();
}

/* ---- release ---- */

static void release_frees_exactly_what_build_took(void **state)
{
	static const struct fake_part_spec specs[] = {
	    {.name = "a", .cpu_mask = 0x1, .mem_mib = 18},
	    {.name = "b", .cpu_mask = 0x2},
	};
	world(specs, 2);
	struct partition *a = &partitions[0], *b = &partitions[1];
	fake_start(a);
	uint64_t a_ram = a->ram_pa;
	fake_start(b);
	uint64_t with_both = fake_free_bytes();
	memset((void *)(uintptr_t)a_ram, 0x5a, 18 * MIB); /* the guest's data */
	memset((void *)(uintptr_t)b->ram_pa, 0x6b, 16 * MIB);
	stop_and_release(a);
	assert_true(all_bytes(a_ram, 18 * MIB, 0)); /* scrubbed for the next owner */
	assert_true(all_bytes(b->ram_pa, 16 * MIB, 0x6b));
	assert_int_equal(a->ram_pa, 0);
	assert_null(a->s2.root);
	assert_true(fake.vmid_flushes > 0);
	assert_true(fake_log_has("a: stopped"));
	assert_true(fake_free_bytes() > with_both + 18 * MIB); /* RAM and tables */
	stop_and_release(b);
	assert_free_as_at_start();
	/* and again: a restart cycle ends where it began */
	fake_start(a);
	assert_int_equal(partition_stop(a, true), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(a), PART_RUNNING);
	assert_int_equal(a->starts, 3);
	stop_and_release(a);
	assert_free_as_at_start();
}

/* ---- failures ---- */

/* b's fixed memory-base is where a (started first, placed by first fit)
 * already lives: b's start fails and must leave a's RAM alone. */
static void fixed_base_taken_is_not_freed(void **state)
{
	struct fake_part_spec specs[] = {
	    {.name = "a", .cpu_mask = 0x1},
	    {.name = "b", .cpu_mask = 0x2, .mem_base = 0},
	};
	fake_world(specs, 0); /* to learn the pool's address */
	specs[1].mem_base = fake_pool_base();
	world(specs, 2);
	struct partition *a = &partitions[0], *b = &partitions[1];
	assert_true(b->cfg.valid);
	fake_start(a);
	assert_int_equal(a->ram_pa, fake_pool_base()); /* first fit: b's range */
	memset((void *)(uintptr_t)a->ram_pa, 0x5a, 16 * MIB);
	uint64_t free_before = fake_free_bytes();
	assert_int_equal(partition_start(b), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(b), PART_STOPPED);
	assert_true(fake_log_has("b: cannot get 16 MiB of RAM at its memory-base: in use"));
	assert_true(fake_log_has("b: start failed"));
	assert_int_equal(b->ram_pa, 0);
	assert_true(all_bytes(a->ram_pa, 16 * MIB, 0x5a)); /* not zeroed */
	assert_false(range_free(a->ram_pa, 16 * MIB));	   /* not freed */
	assert_int_equal(fake_free_bytes(), free_before);
	assert_int_equal(partition_state(a), PART_RUNNING);
	/* once a is gone, b gets its base */
	stop_and_release(a);
	fake_start(b);
	assert_int_equal(b->ram_pa, fake_pool_base());
	stop_and_release(b);
	assert_free_as_at_start();
}

/* A fixed base that is free is taken exactly. */
static void fixed_base_taken_exactly(void **state)
{
	struct fake_part_spec specs[] = {{.name = "f", .cpu_mask = 0x1}};
	fake_world(specs, 0);
	specs[0].mem_base = fake_pool_base() + 32 * MIB;
	world(specs, 1);
	struct partition *f = &partitions[0];
	fake_start(f);
	assert_int_equal(f->ram_pa, fake_pool_base() + 32 * MIB);
	assert_false(range_free(f->ram_pa, 16 * MIB));
	assert_true(range_free(fake_pool_base() + 16 * MIB, 16 * MIB));
	stop_and_release(f);
	assert_free_as_at_start();
}

/* The kernel file is gone when the build has RAM and stage-2 tables:
 * everything is given back. */
static void build_failing_half_way_leaks_nothing(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x1}};
	world(specs, 1);
	struct partition *a = &partitions[0];
	strcpy(fake_kernel_module()->path, "/gone");
	assert_int_equal(partition_start(a), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(a), PART_STOPPED);
	assert_true(fake_log_has("a: start failed"));
	assert_int_equal(a->ram_pa, 0);
	assert_null(a->s2.root);
	assert_free_as_at_start();
	assert_null(percpu_data[0].vcpu);
	/* with the file back it starts */
	strcpy(fake_kernel_module()->path, FAKE_KERNEL);
	fake_start(a);
	stop_and_release(a);
	assert_free_as_at_start();
}

/* The image is refused by its layout (too large for the RAM). */
static void bad_image_leaks_nothing(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x1}};
	world(specs, 1);
	fake_kernel_module()->size = 17 * MIB;
	assert_int_equal(partition_start(&partitions[0]), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(&partitions[0]), PART_STOPPED);
	assert_true(fake_log_has("a: kernel /k.bin:"));
	assert_free_as_at_start();
}

/* No RAM left when it starts (taken since the config was validated) */
static void no_ram_leaks_nothing(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x1}};
	world(specs, 1);
	uint64_t left = fake_free_bytes();
	uint64_t hog = mem_alloc(left - 8 * MIB, PAGE_SIZE);
	assert_int_not_equal(hog, 0);
	memset((void *)(uintptr_t)hog, 0x77, left - 8 * MIB);
	uint64_t free_before = fake_free_bytes();
	assert_int_equal(partition_start(&partitions[0]), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(&partitions[0]), PART_STOPPED);
	assert_true(fake_log_has("a: cannot get 16 MiB of RAM"));
	assert_int_equal(fake_free_bytes(), free_before);
	assert_true(all_bytes(hog, left - 8 * MIB, 0x77));
	mem_free(hog, left - 8 * MIB);
	assert_free_as_at_start();
}

/* Enough RAM but not for the stage-2 tables as well: the RAM goes back. */
static void no_table_memory_leaks_nothing(void **state)
{
	static const struct fake_part_spec specs[] = {{.name = "a", .cpu_mask = 0x1}};
	world(specs, 1);
	/* leave exactly 16 MiB, 2 MiB aligned, and nothing else */
	uint64_t base = fake_pool_base() + 32 * MIB;
	assert_int_equal(mem_take(fake_pool_base(), 32 * MIB), 0);
	uint64_t rest = fake_pool_base() + FAKE_POOL_SIZE - (base + 16 * MIB);
	assert_int_equal(mem_take(base + 16 * MIB, rest), 0);
	uint64_t free_before = fake_free_bytes();
	assert_int_equal(free_before, 16 * MIB);
	assert_int_equal(partition_start(&partitions[0]), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(&partitions[0]), PART_STOPPED);
	assert_true(fake_log_has("a: start failed"));
	assert_int_equal(fake_free_bytes(), free_before);
	mem_free(fake_pool_base(), 32 * MIB);
	mem_free(base + 16 * MIB, rest);
	assert_free_as_at_start();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(build_sets_up_partition),
	    cmocka_unit_test(ram_is_2mib_aligned),
	    cmocka_unit_test(vcpus_share_cpus),
	    cmocka_unit_test(offline_cpu_refuses_start),
	    cmocka_unit_test(release_frees_exactly_what_build_took),
	    cmocka_unit_test(fixed_base_taken_is_not_freed),
	    cmocka_unit_test(fixed_base_taken_exactly),
	    cmocka_unit_test(build_failing_half_way_leaks_nothing),
	    cmocka_unit_test(bad_image_leaks_nothing),
	    cmocka_unit_test(no_ram_leaks_nothing),
	    cmocka_unit_test(no_table_memory_leaks_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The PSCI 1.1 / SMCCC 1.1 server (kernel/vm/psci_server.c) on the real
 * partition code and lifecycle, over the fake arch and machine: every
 * function ID, CPU_ON's checks (target, entry inside the partition's RAM,
 * already on), SMC32 calls using only the low halves of x1-x3,
 * AFFINITY_INFO, CPU_OFF, and SYSTEM_OFF/RESET acting on the calling
 * partition only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "tests/host/fake.h"

#include "kernel/vm/psci_ids.h"

#define PSCI_MIGRATE 0x84000005u /* not offered: answers NOT_SUPPORTED */

#define SUCCESS		0
#define NOT_SUPPORTED	(-1)
#define INVALID		(-2)
#define DENIED		(-3)
#define ALREADY_ON	(-4)
#define INVALID_ADDRESS (-9)

#define RAM_END (GUEST_RAM_BASE + (16ull << 20))

static struct partition *A, *B;
static uint64_t a_takes; /* bytes a's start took from free memory */

/* a: 2 vCPUs on CPUs 0 and 1; b: 1 vCPU on CPU 2. Both running. */
static int setup(void **state)
{
	static const struct fake_part_spec specs[] = {
	    {.name = "a", .cpu_mask = 0x3},
	    {.name = "b", .cpu_mask = 0x4},
	};
	fake_world(specs, 2);
	A = &partitions[0];
	B = &partitions[1];
	uint64_t free0 = fake_free_bytes();
	fake_start(A);
	a_takes = free0 - fake_free_bytes();
	fake_start(B);
	assert_int_equal(A->nvcpus, 2);
	fake_log_clear();
	return 0;
}

static int64_t call(struct vcpu *v, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3)
{
	v->ctx.x[0] = x0;
	v->ctx.x[1] = x1;
	v->ctx.x[2] = x2;
	v->ctx.x[3] = x3;
	psci_handle(v);
	return (int64_t)v->ctx.x[0];
}

static void versions(void **state)
{
	struct vcpu *v = &A->vcpus[0];
	assert_int_equal(call(v, PSCI_VERSION, 0, 0, 0), 0x10001);
	assert_int_equal(call(v, SMCCC_VERSION, 0, 0, 0), 0x10001);
	/* the function ID is W0: the upper half of x0 is not part of it */
	assert_int_equal(call(v, 0xffffffff00000000ull | PSCI_VERSION, 0, 0, 0), 0x10001);
	assert_int_equal(call(v, SMCCC_ARCH_FEATURES, 0x80008000u, 0, 0), NOT_SUPPORTED);
	assert_int_equal(call(v, PSCI_MIGRATE_TYPE, 0, 0, 0), 2); /* no trusted OS */
	assert_int_equal(call(v, PSCI_CPU_SUSPEND32, 0, 0, 0), SUCCESS);
	assert_int_equal(call(v, PSCI_CPU_SUSPEND64, 0, 0, 0), SUCCESS);
	/* x1-x3 are left alone: only x0 carries the answer */
	v->ctx.x[4] = 0x4444;
	call(v, PSCI_VERSION, 0x1111, 0x2222, 0x3333);
	assert_int_equal(v->ctx.x[1], 0x1111);
	assert_int_equal(v->ctx.x[3], 0x3333);
	assert_int_equal(v->ctx.x[4], 0x4444);
}

static void features(void **state)
{
	static const uint32_t yes[] = {
	    SMCCC_VERSION,   PSCI_VERSION,	PSCI_CPU_SUSPEND32, PSCI_CPU_SUSPEND64,
	    PSCI_CPU_OFF,    PSCI_CPU_ON32,	PSCI_CPU_ON64,	    PSCI_AFFINITY32,
	    PSCI_AFFINITY64, PSCI_MIGRATE_TYPE, PSCI_SYSTEM_OFF,    PSCI_SYSTEM_RESET,
	    PSCI_FEATURES,
	};
	static const uint32_t no[] = {PSCI_MIGRATE, 0x84000007u, 0x8400000bu, 0x8400000cu,
				      0xc4000012u,  0x82000000u, 0x0u,	      0xffffffffu};
	struct vcpu *v = &A->vcpus[0];
	for (unsigned i = 0; i < ARRAY_SIZE(yes); i++)
		assert_int_equal(call(v, PSCI_FEATURES, yes[i], 0, 0), SUCCESS);
	for (unsigned i = 0; i < ARRAY_SIZE(no); i++)
		assert_int_equal(call(v, PSCI_FEATURES, no[i], 0, 0), NOT_SUPPORTED);
	/* PSCI_FEATURES is an SMC32 call: x1's upper half is not its argument */
	assert_int_equal(call(v, PSCI_FEATURES, 0xdead000000000000ull | PSCI_CPU_ON64, 0, 0),
			 SUCCESS);
}

static void unknown_ids(void **state)
{
	static const uint64_t ids[] = {PSCI_MIGRATE, 0x84000007u, 0x8400000bu, 0xc4000012u,
				       0x82000000u,  0xc2000001u, 0x0u,	       0x8400ffffu};
	struct vcpu *v = &A->vcpus[0];
	for (unsigned i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(call(v, ids[i], 0, 0, 0), NOT_SUPPORTED);
	assert_int_equal(partition_state(A), PART_RUNNING);
	assert_true(lc_vcpu_off(&A->lc, 1));
}

/* The fast path answers exactly what psci_handle answers, and leaves
 * every call that acts on vCPUs or the partition to it. */
static void fast_agrees(void **state)
{
	static const uint64_t acting[] = {PSCI_CPU_ON32,    PSCI_CPU_ON64,   PSCI_CPU_OFF,
					  PSCI_AFFINITY32,  PSCI_AFFINITY64, PSCI_SYSTEM_OFF,
					  PSCI_SYSTEM_RESET};
	struct vcpu *v = &A->vcpus[0];
	uint32_t r = 1;
	for (unsigned i = 0; i < ARRAY_SIZE(acting); i++) {
		v->ctx.x[0] = acting[i];
		assert_false(psci_fast(v));
		assert_int_equal(v->ctx.x[0], acting[i]);
	}
	for (unsigned n = 0; n < 4096; n++) {
		/* every ID near the PSCI and SMCCC ones, then random ones */
		r = r * 1103515245u + 12345u;
		uint64_t fid = n < 512	 ? 0x84000000u + (n & 0xff) + (n & 0x100 ? 0x40000000u : 0)
			       : n < 640 ? 0x80000000u + (n & 0x7f) * 0x4000u
					 : (uint64_t)r << 13 ^ r;
		uint64_t arg = PSCI_CPU_ON64;
		v->ctx.x[0] = fid;
		v->ctx.x[1] = arg;
		bool fast = psci_fast(v);
		uint64_t got = v->ctx.x[0];
		bool acts = false;
		for (unsigned i = 0; i < ARRAY_SIZE(acting); i++)
			acts |= (uint32_t)fid == acting[i];
		if (acts) {
			assert_false(fast);
			continue;
		}
		assert_true(fast);
		assert_int_equal(got, call(v, fid, arg, 0, 0));
	}
	assert_int_equal(partition_state(A), PART_RUNNING);
}

static void cpu_on(void **state)
{
	struct vcpu *v0 = &A->vcpus[0], *v1 = &A->vcpus[1];
	unsigned sgis = fake.cpu[1].sgis[SGI_KICK];
	assert_true(lc_vcpu_off(&A->lc, 1));
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE + 0x2000, 0x5555aaaa5555aaaaull),
			 SUCCESS);
	assert_int_equal(vcpu_power(v1), VCPU_ON);
	assert_int_equal(v1->ctx.pc, GUEST_RAM_BASE + 0x2000);
	assert_int_equal(v1->ctx.x[0], 0x5555aaaa5555aaaaull);	/* context ID, all 64 bits */
	assert_int_equal(v1->ctx.vmpidr, BIT(31) | 1);		/* keeps its identity */
	assert_int_equal(fake.cpu[1].sgis[SGI_KICK], sgis + 1); /* its CPU is told */
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE + 0x3000, 0), ALREADY_ON);
	assert_int_equal(v1->ctx.pc, GUEST_RAM_BASE + 0x2000); /* not reset again */
	assert_int_equal(call(v0, PSCI_CPU_ON64, 0, GUEST_RAM_BASE, 0), ALREADY_ON); /* itself */
	assert_int_equal(call(v0, PSCI_AFFINITY64, 1, 0, 0), 0);		     /* ON */
}

static void cpu_on_bad_target(void **state)
{
	static const uint64_t bad[] = {
	    2, 7, 0xff, 0x100 | 1, 0x10000 | 1, 0x100000000ull | 1, BIT(40) | 1, BIT(63) | 1};
	struct vcpu *v0 = &A->vcpus[0];
	unsigned resets = fake.resets;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(call(v0, PSCI_CPU_ON64, bad[i], GUEST_RAM_BASE, 0), INVALID);
	assert_true(lc_vcpu_off(&A->lc, 1));
	assert_int_equal(fake.resets, resets);
	/* b's vCPU 0 cannot reach a's vCPU 1 or anything of a */
	assert_int_equal(call(&B->vcpus[0], PSCI_CPU_ON64, 1, GUEST_RAM_BASE, 0), INVALID);
	assert_true(lc_vcpu_off(&A->lc, 1));
}

static void cpu_on_entry_outside_ram(void **state)
{
	static const uint64_t bad[] = {0,	GUEST_RAM_BASE - 4, GUEST_UART_BASE,
				       RAM_END, RAM_END + 0x1000,   0xffffffffffff0000ull};
	struct vcpu *v0 = &A->vcpus[0], *v1 = &A->vcpus[1];
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(call(v0, PSCI_CPU_ON64, 1, bad[i], 0), INVALID_ADDRESS);
		assert_true(lc_vcpu_off(&A->lc, 1));
	}
	/* the edges of RAM are inside */
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, RAM_END - 4, 0), SUCCESS);
	assert_int_equal(v1->ctx.pc, RAM_END - 4);
}

static void cpu_on_ram_base_edge(void **state)
{
	assert_int_equal(call(&A->vcpus[0], PSCI_CPU_ON32, 1, GUEST_RAM_BASE, 0), SUCCESS);
	assert_int_equal(A->vcpus[1].ctx.pc, GUEST_RAM_BASE);
}

/* SMC32: x1-x3 are 32-bit arguments; their upper halves are junk */
static void cpu_on_smc32_ignores_upper_halves(void **state)
{
	struct vcpu *v0 = &A->vcpus[0], *v1 = &A->vcpus[1];
	uint64_t junk = 0xdead00ff00000000ull;
	assert_int_equal(
	    call(v0, PSCI_CPU_ON32, junk | 1, junk | (GUEST_RAM_BASE + 0x4000), junk | 0x9abcdef0u),
	    SUCCESS);
	assert_int_equal(v1->ctx.pc, GUEST_RAM_BASE + 0x4000);
	assert_int_equal(v1->ctx.x[0], 0x9abcdef0u);
}

/* SMC64: the same junk is part of the arguments */
static void cpu_on_smc64_uses_whole_registers(void **state)
{
	struct vcpu *v0 = &A->vcpus[0];
	uint64_t junk = 0xdead00ff00000000ull;
	assert_int_equal(call(v0, PSCI_CPU_ON64, junk | 1, GUEST_RAM_BASE, 0), INVALID);
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, junk | GUEST_RAM_BASE, 0), INVALID_ADDRESS);
	assert_true(lc_vcpu_off(&A->lc, 1));
}

static void affinity_info(void **state)
{
	struct vcpu *v0 = &A->vcpus[0];
	assert_int_equal(call(v0, PSCI_AFFINITY64, 0, 0, 0), 0); /* ON */
	assert_int_equal(call(v0, PSCI_AFFINITY64, 1, 0, 0), 1); /* OFF */
	assert_int_equal(call(v0, PSCI_AFFINITY32, 0xffffffff00000001ull, 0, 0), 1);
	assert_int_equal(call(v0, PSCI_AFFINITY32, 0, 0xffffffff00000000ull, 0), 0); /* level 0 */
	assert_int_equal(call(v0, PSCI_AFFINITY64, 0, 1, 0), INVALID);		     /* level 1 */
	assert_int_equal(call(v0, PSCI_AFFINITY64, 2, 0, 0), INVALID);
	assert_int_equal(call(v0, PSCI_AFFINITY64, 0x100, 0, 0), INVALID);
	assert_int_equal(call(v0, PSCI_AFFINITY64, BIT(48), 0, 0), INVALID); /* bits 63:40 */
	assert_int_equal(call(v0, PSCI_AFFINITY64, BIT(31) | 1, 0, 0), 1);   /* RES1: ignored */
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE, 0), SUCCESS);
	assert_int_equal(call(v0, PSCI_AFFINITY64, 1, 0, 0), 0);
}

/* CPU_OFF turns the caller off; until its CPU has unloaded it, it is not
 * OFF for AFFINITY_INFO and a CPU_ON answers ALREADY_ON. */
static void cpu_off(void **state)
{
	struct vcpu *v0 = &A->vcpus[0], *v1 = &A->vcpus[1];
	struct sched_cpu s1 = {0};
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE, 0), SUCCESS);
	fake_set_cpu(1);
	sched_step(&s1); /* CPU 1 loads and runs vCPU 1 once */
	assert_ptr_equal(percpu_data[1].loaded, v1);
	assert_int_equal(call(v1, PSCI_CPU_OFF, 0, 0, 0), SUCCESS);
	assert_int_equal(vcpu_power(v1), VCPU_OFF);
	assert_int_equal(vcpu_power(v0), VCPU_ON); /* the caller only */
	assert_int_equal(call(v0, PSCI_AFFINITY64, 1, 0, 0), 0);
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE, 0), ALREADY_ON);
	sched_step(&s1); /* unloads it */
	assert_null(percpu_data[1].loaded);
	assert_int_equal(call(v0, PSCI_AFFINITY64, 1, 0, 0), 1);
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE + 8, 0), SUCCESS);
	assert_int_equal(partition_state(A), PART_RUNNING);
}

/* SYSTEM_OFF stops the caller's partition, and only it. */
static void system_off(void **state)
{
	struct vcpu *v0 = &A->vcpus[0];
	struct sched_cpu s0 = {0};
	uint64_t free_before = fake_free_bytes();
	fake_set_cpu(0);
	sched_step(&s0); /* vCPU 0 loaded on CPU 0 */
	assert_ptr_equal(percpu_data[0].loaded, v0);
	assert_int_equal(call(v0, PSCI_SYSTEM_OFF, 0, 0, 0), SUCCESS);
	assert_true(fake_log_has("a: SYSTEM_OFF from vCPU 0"));
	assert_int_equal(partition_state(A), PART_STOPPING);
	assert_null(percpu_data[0].vcpu); /* unplaced */
	assert_null(percpu_data[1].vcpu);
	assert_ptr_equal(percpu_data[2].vcpu, &B->vcpus[0]);
	sched_step(&s0); /* unloads: the release is queued */
	sched_step(&s0); /* runs it */
	assert_int_equal(partition_state(A), PART_STOPPED);
	assert_true(fake_log_has("a: stopped"));
	assert_true(a_takes > (16ull << 20)); /* RAM and stage-2 tables */
	assert_int_equal(fake_free_bytes(), free_before + a_takes);
	assert_int_equal(partition_state(B), PART_RUNNING);
	assert_int_equal(B->starts, 1);
	assert_int_equal(A->starts, 1); /* not restarted */
}

/* SYSTEM_RESET restarts the caller's partition, and only it. */
static void system_reset(void **state)
{
	struct vcpu *v0 = &A->vcpus[0];
	struct sched_cpu s0 = {0};
	fake_set_cpu(0);
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE, 0), SUCCESS);
	sched_step(&s0);
	v0->ctx.x[5] = 0x5555;
	assert_int_equal(call(v0, PSCI_SYSTEM_RESET, 0, 0, 0), SUCCESS);
	assert_true(fake_log_has("a: SYSTEM_RESET from vCPU 0"));
	assert_int_equal(partition_state(A), PART_STOPPING);
	for (unsigned i = 0; i < 4 && partition_state(A) != PART_RUNNING; i++)
		sched_step(&s0); /* unload, release, build */
	assert_int_equal(partition_state(A), PART_RUNNING);
	assert_int_equal(A->starts, 2);
	/* a fresh start: vCPU 0 at the entry with the DTB, vCPU 1 off again */
	assert_int_equal(A->vcpus[0].ctx.pc, A->entry);
	assert_int_equal(A->vcpus[0].ctx.x[0], A->dtb_ipa);
	assert_int_equal(A->vcpus[0].ctx.x[5], 0);
	assert_true(lc_vcpu_off(&A->lc, 1));
	assert_int_equal(partition_state(B), PART_RUNNING);
	assert_int_equal(B->starts, 1);
	assert_true(fake_log_has("a: stopped"));
	assert_false(fake_log_has("b: stopped"));
}

/* A guest's reset cannot undo an operator's stop. */
static void system_reset_after_operator_stop(void **state)
{
	struct vcpu *v0 = &A->vcpus[0];
	struct sched_cpu s0 = {0};
	fake_set_cpu(0);
	sched_step(&s0);
	assert_int_equal(partition_stop(A, false), 0);
	assert_int_equal(call(v0, PSCI_SYSTEM_RESET, 0, 0, 0), SUCCESS);
	for (unsigned i = 0; i < 4; i++)
		sched_step(&s0);
	assert_int_equal(partition_state(A), PART_STOPPED);
	assert_int_equal(A->starts, 1);
}

/* CPU_ON while the partition is stopping is refused. */
static void cpu_on_while_stopping(void **state)
{
	struct vcpu *v0 = &A->vcpus[0];
	struct sched_cpu s0 = {0};
	fake_set_cpu(0);
	sched_step(&s0); /* loaded: the release waits for it */
	assert_int_equal(partition_stop(A, false), 0);
	assert_int_equal(call(v0, PSCI_CPU_ON64, 1, GUEST_RAM_BASE, 0), DENIED);
	assert_true(lc_vcpu_off(&A->lc, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(versions, setup),
	    cmocka_unit_test_setup(features, setup),
	    cmocka_unit_test_setup(unknown_ids, setup),
	    cmocka_unit_test_setup(fast_agrees, setup),
	    cmocka_unit_test_setup(cpu_on, setup),
	    cmocka_unit_test_setup(cpu_on_bad_target, setup),
	    cmocka_unit_test_setup(cpu_on_entry_outside_ram, setup),
	    cmocka_unit_test_setup(cpu_on_ram_base_edge, setup),
	    cmocka_unit_test_setup(cpu_on_smc32_ignores_upper_halves, setup),
	    cmocka_unit_test_setup(cpu_on_smc64_uses_whole_registers, setup),
	    cmocka_unit_test_setup(affinity_info, setup),
	    cmocka_unit_test_setup(cpu_off, setup),
	    cmocka_unit_test_setup(system_off, setup),
	    cmocka_unit_test_setup(system_reset, setup),
	    cmocka_unit_test_setup(system_reset_after_operator_stop, setup),
	    cmocka_unit_test_setup(cpu_on_while_stopping, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The per-CPU loop (kernel/vm/sched.c) on CPUs whose /scheduler policy
 * shares them, on the real partition code, lifecycle and exits over the
 * fake arch. The guests spin with interrupts masked: the only thing that
 * takes a CPU from a guest is the one-shot EL2 timer (the fake guest runs
 * until the compare value sched.c armed), and an idle CPU sleeps until it
 * too. So every window boundary and budget end seen below was armed
 * exactly, tickless.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "tests/host/fake.h"

#define US	1000ull /* ticks: 1 tick = 1 ns in the fake */
#define MS	(1000 * US)
#define T0	1000000000ull /* fake_world's boot time: frames start here */
#define ESR_WFI ((0x01ull << 26) | BIT(25))

static struct partition *A, *B, *C;

struct seg {
	const struct vcpu *v;
	uint64_t from, to;
};
static struct seg segs[FAKE_LOG_MAX];
static unsigned nseg;
/* a vCPU's next exit is a WFI with its virtual timer due at this CNTPCT
 * (0: it spins; UINT64_MAX: its timer state as it is) */
static uint64_t wfi_until[PART_MAX];
static uint64_t horizon; /* run_until's end */

static struct vcpu *vcpu_of(struct vcpu_ctx *c)
{
	return (struct vcpu *)((char *)c - offsetof(struct vcpu, ctx));
}

static uint64_t hyp_timer(unsigned cpu)
{
	return (fake_reg(cpu, "cnthp_ctl_el2") & 3) == 1 ? fake_reg(cpu, "cnthp_cval_el2")
							 : UINT64_MAX;
}

/* A guest spinning with IRQs masked (the loop's EL2 timer ends its run),
 * or doing one WFI with its timer armed. */
static unsigned guest(struct vcpu_ctx *c)
{
	struct vcpu *v = vcpu_of(c);
	uint64_t from = fake.now;
	if (fake.cur != 1 && !sched_vcpu_stats(v, &(struct sp_stats){0}))
		return FAKE_EXIT_IRQ; /* c on its own default CPU: takes no time here */
	uint64_t *wfi = &wfi_until[v->part->id];
	if (*wfi) {
		if (*wfi != UINT64_MAX) { /* UINT64_MAX: the timer state is left alone */
			c->cntv_ctl = 1;
			c->cntv_cval = *wfi - v->part->cntvoff;
		}
		*wfi = 0;
		fake_set_reg("esr_el2", ESR_WFI);
		segs[nseg++] = (struct seg){v, from, from};
		return FAKE_EXIT_SYNC;
	}
	c->cntv_ctl = 0;
	/* nothing armed (a vCPU alone at the top priority): it keeps the CPU
	 * to the end of the run */
	uint64_t until = MIN(hyp_timer(fake.cur), horizon);
	fake.now = MAX(fake.now, until);
	assert_true(nseg < FAKE_LOG_MAX);
	segs[nseg++] = (struct seg){v, from, fake.now};
	return FAKE_EXIT_IRQ;
}

/* An idle CPU sleeps until its EL2 timer. */
static void sleep_to_timer(void)
{
	uint64_t until = hyp_timer(fake.cur);
	if (until != UINT64_MAX)
		fake.now = MAX(fake.now, until);
}

static void step(unsigned cpu)
{
	fake_set_cpu(cpu);
	struct sched_cpu s = {0};
	sched_step(&s);
}

static void run_until(unsigned cpu, uint64_t end)
{
	horizon = end;
	for (unsigned guard = 0; fake.now < end; guard++) {
		assert_true(guard < 100000);
		step(cpu);
	}
}

static uint64_t ran(const struct partition *p, uint64_t from, uint64_t to)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < nseg; i++)
		if (segs[i].v->part == p && segs[i].to > from && segs[i].from < to)
			t += MIN(segs[i].to, to) - MAX(segs[i].from, from);
	return t;
}

static void cells(void *blob, const char *name, int n, const uint32_t *v)
{
	fdt32_t c[16];
	for (int i = 0; i < n; i++)
		c[i] = cpu_to_fdt32(v[i]);
	assert_int_equal(fdt_property(blob, name, c, n * 4), 0);
}

/* CPU 1 cyclic: a 0-4 ms, idle 4-5, b 5-8 ms, idle 8-10, every 10 ms. */
static void cpu1_node(void *blob)
{
	static const uint32_t frame = 10000, win[] = {0, 4000, 5000, 3000};
	assert_int_equal(fdt_begin_node(blob, "cpu@1"), 0);
	assert_int_equal(fdt_property_string(blob, "policy", "cyclic"), 0);
	cells(blob, "major-frame-us", 1, &frame);
	cells(blob, "windows", 4, win);
	assert_int_equal(fdt_property(blob, "window-partitions", "a\0b", 4), 0);
	assert_int_equal(fdt_end_node(blob), 0);
}

static void cyclic_cpu1(void *blob)
{
	assert_int_equal(fdt_begin_node(blob, "scheduler"), 0);
	cpu1_node(blob);
	assert_int_equal(fdt_end_node(blob), 0);
}

/* And CPU 2 cyclic, c alone there owning 0-10 ms of 20 ms. */
static void cyclic_cpu1_cpu2(void *blob)
{
	static const uint32_t frame = 20000, win[] = {0, 10000};
	assert_int_equal(fdt_begin_node(blob, "scheduler"), 0);
	cpu1_node(blob);
	assert_int_equal(fdt_begin_node(blob, "cpu@2"), 0);
	assert_int_equal(fdt_property_string(blob, "policy", "cyclic"), 0);
	cells(blob, "major-frame-us", 1, &frame);
	cells(blob, "windows", 2, win);
	assert_int_equal(fdt_property(blob, "window-partitions", "c", 2), 0);
	assert_int_equal(fdt_end_node(blob), 0);
	assert_int_equal(fdt_end_node(blob), 0);
}

static void priority_cpu1(void *blob)
{
	static const uint32_t slice = 1000;
	assert_int_equal(fdt_begin_node(blob, "scheduler"), 0);
	assert_int_equal(fdt_begin_node(blob, "cpu@1"), 0);
	assert_int_equal(fdt_property_string(blob, "policy", "priority"), 0);
	cells(blob, "slice-us", 1, &slice);
	assert_int_equal(fdt_end_node(blob), 0);
	assert_int_equal(fdt_end_node(blob), 0);
}

/* a and b on CPU 1 under cfg, c alone on CPU 2 (default); a is left
 * stopped, never built, if !start_a. */
static void world2(void (*cfg)(void *), const struct fake_part_spec *ab, bool start_a)
{
	const struct fake_part_spec specs[] = {ab[0], ab[1], {.name = "c", .cpu_mask = 0x4}};
	fake_config_extra = cfg;
	fake_world(specs, 3);
	fake_config_extra = NULL;
	A = &partitions[0];
	B = &partitions[1];
	C = &partitions[2];
	assert_true(A->cfg.valid);
	assert_true(B->cfg.valid);
	if (start_a)
		fake_start(A);
	fake_start(B);
	fake_start(C);
	nseg = 0;
	memset(wfi_until, 0, sizeof(wfi_until));
	fake.guest_run = guest;
	fake.wfi_hook = sleep_to_timer;
	fake.step = 0;
	fake_log_clear();
}

static void world(void (*cfg)(void *), const struct fake_part_spec *ab)
{
	world2(cfg, ab, true);
}

static const struct fake_part_spec plain_ab[] = {{.name = "a", .cpu_mask = 0x2},
						 {.name = "b", .cpu_mask = 0x2}};

static void cyclic_windows_exact(void **state)
{
	world(cyclic_cpu1, plain_ab);
	/* the starts took time: begin at the next frame */
	uint64_t f0 = T0 + ((fake.now - T0) / (10 * MS) + 1) * 10 * MS;
	run_until(1, f0);
	unsigned first = nseg;
	run_until(1, f0 + 50 * MS);
	for (unsigned k = 0; k < 5; k++) {
		uint64_t b = f0 + k * 10 * MS;
		assert_int_equal(ran(A, b, b + 10 * MS), 4 * MS);
		assert_int_equal(ran(B, b, b + 10 * MS), 3 * MS);
		assert_int_equal(ran(A, b + 4 * MS, b + 10 * MS), 0);
		assert_int_equal(ran(B, b, b + 5 * MS), 0);
		assert_int_equal(ran(B, b + 8 * MS, b + 10 * MS), 0);
	}
	/* each run is one window: the guest never left early, nor late */
	for (unsigned i = first; i < nseg; i++) {
		uint64_t pos = (segs[i].from - T0) % (10 * MS);
		assert_int_equal(pos, segs[i].v->part == A ? 0 : 5 * MS);
		assert_int_equal(segs[i].to - segs[i].from, segs[i].v->part == A ? 4 * MS : 3 * MS);
	}
	/* c, on its own CPU, still runs without an EL2 timer */
	step(2);
	assert_ptr_equal(percpu_data[2].loaded, &C->vcpus[0]);
}

/* Two cyclic CPUs: c, alone on CPU 2, is in that CPU's engine and runs
 * its windows only. */
static void two_cyclic_cpus(void **state)
{
	world(cyclic_cpu1_cpu2, plain_ab);
	struct sp_stats st;
	assert_true(sched_vcpu_stats(&C->vcpus[0], &st));
	assert_true(sched_vcpu_stats(&A->vcpus[0], &st));
	uint64_t f0 = T0 + ((fake.now - T0) / (20 * MS) + 1) * 20 * MS;
	run_until(2, f0);
	unsigned first = nseg;
	run_until(2, f0 + 60 * MS);
	assert_true(nseg > first);
	assert_int_equal(ran(C, f0, f0 + 60 * MS), 30 * MS);
	assert_int_equal(ran(C, f0 + 10 * MS, f0 + 20 * MS), 0);
}

/* A WFI leaves the CPU at once: its saved timer state may be stale
 * while it is loaded (here: due long ago), so it is unloaded (saved)
 * before anyone asks whether it can wake. */
static void wfi_unloads_before_deciding(void **state)
{
	world(cyclic_cpu1, plain_ab);
	uint64_t f0 = T0 + ((fake.now - T0) / (10 * MS) + 1) * 10 * MS;
	run_until(1, f0 + 5 * MS); /* b's window */
	step(1);
	assert_ptr_equal(percpu_data[1].loaded, &B->vcpus[0]);
	unsigned saves = fake.cpu[1].ctx_saves;
	B->vcpus[0].ctx.cntv_ctl = 1; /* what the last unload saved: due */
	B->vcpus[0].ctx.cntv_cval = 0;
	wfi_until[B->id] = UINT64_MAX; /* its next exit is a WFI */
	horizon = fake.now + 1;
	step(1); /* runs b: the WFI */
	assert_true(B->vcpus[0].waiting);
	step(1);
	assert_null(percpu_data[1].loaded);
	assert_int_equal(fake.cpu[1].ctx_saves, saves + 1);
	step(1); /* its (saved) timer is due: it runs again */
	assert_false(B->vcpus[0].waiting);
	assert_ptr_equal(percpu_data[1].loaded, &B->vcpus[0]);
}

/* a was never started (its vCPU is all zero): its windows stay idle, b
 * keeps its own. */
static void cyclic_unstarted_partition(void **state)
{
	world2(cyclic_cpu1, plain_ab, false);
	uint64_t t = fake.now;
	run_until(1, t + 50 * MS);
	assert_int_equal(ran(A, t, t + 50 * MS), 0);
	assert_true(ran(B, t, t + 50 * MS) >= 12 * MS);
	assert_true(ran(B, t, t + 50 * MS) <= 15 * MS);
	fake_log_clear();
	sched_report();
	assert_true(fake_log_has("a/vcpu0"));
}

/* b waits in WFI for its timer, due in a's window: it runs at the start
 * of its own, and the wake-up to running latency is recorded. */
static void cyclic_wakeup_waits_for_own_window(void **state)
{
	world(cyclic_cpu1, plain_ab);
	uint64_t f0 = T0 + ((fake.now - T0) / (10 * MS) + 1) * 10 * MS;
	run_until(1, f0 + 9 * MS);
	struct sp_stats before, st;
	assert_true(sched_vcpu_stats(&B->vcpus[0], &before));
	/* its next run, at 15 ms, is a WFI until 22 ms, in a's window */
	wfi_until[B->id] = f0 + 22 * MS;
	run_until(1, f0 + 40 * MS);
	assert_int_equal(ran(B, f0 + 10 * MS, f0 + 25 * MS), 0);
	assert_int_equal(ran(B, f0 + 25 * MS, f0 + 28 * MS), 3 * MS);
	/* a got its windows, nothing more, meanwhile */
	assert_int_equal(ran(A, f0 + 10 * MS, f0 + 30 * MS), 8 * MS);
	assert_int_equal(ran(A, f0 + 24 * MS, f0 + 30 * MS), 0);
	assert_true(sched_vcpu_stats(&B->vcpus[0], &st));
	assert_int_equal(st.wakeups, before.wakeups + 1);
	assert_int_equal(st.hist[3], before.hist[3] + 1); /* 3 ms: 1 ms to 10 ms */
	assert_true(st.lat_max >= 3 * MS);
}

/* a: 2 ms every 10 ms at priority 9, spinning forever; b below it takes
 * the rest. */
static void priority_budget_enforced(void **state)
{
	const struct fake_part_spec ab[] = {
	    {.name = "a", .cpu_mask = 0x2, .prio = 9, .budget_us = 2000, .period_us = 10000},
	    {.name = "b", .cpu_mask = 0x2, .prio = 1}};
	world(priority_cpu1, ab);
	uint64_t t = fake.now;
	run_until(1, t + 100 * MS);
	uint64_t a = ran(A, t, t + 100 * MS), b = ran(B, t, t + 100 * MS);
	assert_true(a >= 19 * MS && a <= 21 * MS);
	assert_int_equal(a + b, 100 * MS);
	struct sp_stats st;
	assert_true(sched_vcpu_stats(&A->vcpus[0], &st));
	assert_false(sched_vcpu_stats(&C->vcpus[0], &st)); /* not on an engine CPU */
	assert_true(sched_vcpu_stats(&A->vcpus[0], &st));
	assert_true(st.overruns >= 9);
}

/* b, above a, waits in WFI for its timer: it preempts a exactly when
 * the timer is due (the EL2 timer was armed for it), latency 0. */
static void priority_wakeup_preempts(void **state)
{
	const struct fake_part_spec ab[] = {{.name = "a", .cpu_mask = 0x2, .prio = 1},
					    {.name = "b", .cpu_mask = 0x2, .prio = 5}};
	world(priority_cpu1, ab);
	uint64_t t = fake.now;
	wfi_until[B->id] = t + 3500 * US;
	run_until(1, t + 10 * MS);
	unsigned i = 0;
	while (i < nseg && !(segs[i].v->part == B && segs[i].from > t))
		i++;
	assert_true(i < nseg);
	assert_int_equal(segs[i].from, t + 3500 * US);
	assert_int_equal(ran(A, t, t + 3500 * US), 3500 * US);
	assert_int_equal(ran(B, t + 3500 * US, t + 10 * MS), 6500 * US);
	struct sp_stats st;
	assert_true(sched_vcpu_stats(&B->vcpus[0], &st));
	assert_int_equal(st.hist[0], st.wakeups); /* every wake-up ran at once */
}

/* Stopping a leaves b on CPU 1's list and running; a starts again
 * beside it. */
static void stop_one_of_two(void **state)
{
	world(cyclic_cpu1, plain_ab);
	run_until(1, fake.now + 20 * MS);
	assert_int_equal(partition_stop(A, false), 0);
	for (unsigned i = 0; i < 50 && partition_state(A) != PART_STOPPED; i++) {
		step(1);
		fake_run_jobs();
	}
	assert_int_equal(partition_state(A), PART_STOPPED);
	const struct vcpu *head = percpu_data[1].vcpu;
	assert_ptr_equal(head, &B->vcpus[0]);
	assert_null(head->next_on_cpu);
	uint64_t t = fake.now;
	run_until(1, t + 20 * MS);
	assert_int_equal(ran(A, t, t + 20 * MS), 0);
	assert_true(ran(B, t, t + 20 * MS) >= 5 * MS);
	fake_start(A);
	t = fake.now;
	run_until(1, t + 20 * MS);
	assert_true(ran(A, t, t + 20 * MS) >= 7 * MS);
	head = percpu_data[1].vcpu;
	assert_non_null(head);
	assert_non_null(head->next_on_cpu);
}

static void sched_command(void **state)
{
	world(cyclic_cpu1, plain_ab);
	run_until(1, fake.now + 20 * MS);
	fake_log_clear();
	sched_report();
	assert_true(fake_log_has("cpu1  cyclic, major frame 10000 us, 2 windows"));
	assert_true(fake_log_has("a/vcpu0"));
	assert_true(fake_log_has("b/vcpu0"));
	assert_true(fake_log_has("cpu2  default"));
	assert_true(fake_log_has("cpu0  default"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cyclic_windows_exact),
	    cmocka_unit_test(cyclic_unstarted_partition),
	    cmocka_unit_test(two_cyclic_cpus),
	    cmocka_unit_test(wfi_unloads_before_deciding),
	    cmocka_unit_test(cyclic_wakeup_waits_for_own_window),
	    cmocka_unit_test(priority_budget_enforced),
	    cmocka_unit_test(priority_wakeup_preempts),
	    cmocka_unit_test(stop_one_of_two),
	    cmocka_unit_test(sched_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

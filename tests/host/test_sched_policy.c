/*
 * The scheduling policy engine (kernel/vm/sched_policy.c) against a
 * simulated clock: the engine is asked again exactly at each deadline it
 * returns (as the one-shot EL2 timer would make the CPU do), and the
 * resulting timeline of who ran when is checked: cyclic window boundaries
 * exact, idle windows idle, a vCPU woken in another partition's window
 * waiting for its own, priorities respected, budgets enforced per period
 * (a late preemption's excess paid back), round robin among equals
 * without starvation, and the statistics (runtime, wake-ups, overruns,
 * latency histogram).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "kernel/vm/sched_policy.h"

#define US 1ull /* the simulated counter runs at 1 MHz: one tick per us */
#define MS (1000 * US)

struct seg {
	int v;
	uint64_t from, to;
};
static struct seg segs[4096];
static unsigned nseg;
static struct sp_cpu C;
static uint64_t now;

static int setup(void **state)
{
	nseg = 0;
	now = 0;
	memset(&C, 0, sizeof(C));
	return 0;
}

static void record(int v, uint64_t from, uint64_t to)
{
	if (nseg && segs[nseg - 1].v == v && segs[nseg - 1].to == from) {
		segs[nseg - 1].to = to;
		return;
	}
	assert_true(nseg < ARRAY_SIZE(segs));
	segs[nseg++] = (struct seg){v, from, to};
}

/* Runs the CPU from now to end, deciding at every deadline. */
static void sim(uint64_t end)
{
	while (now < end) {
		struct sp_pick p = sp_decide(&C, now);
		assert_true(p.until > now); /* a deadline in the past would spin */
		uint64_t to = MIN(p.until, end);
		record(p.vcpu, now, to);
		now = to;
	}
}

/* Time vCPU v ran in [from, to) according to the timeline. */
static uint64_t ran(int v, uint64_t from, uint64_t to)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < nseg; i++)
		if (segs[i].v == v && segs[i].to > from && segs[i].from < to)
			t += MIN(segs[i].to, to) - MAX(segs[i].from, from);
	return t;
}

static void expect_seg(unsigned i, int v, uint64_t from, uint64_t to)
{
	assert_true(i < nseg);
	assert_int_equal(segs[i].v, v);
	assert_int_equal(segs[i].from, from);
	assert_int_equal(segs[i].to, to);
}

/* ---- cyclic ---- */

/* Frame 10 ms: A 0-4, idle 4-5, B 5-8, idle 8-10. */
static void cyclic_ab(void)
{
	sp_init(&C, SCHED_CYCLIC, 10 * MS, 1 * MS, 1, 0);
	assert_int_equal(sp_add_window(&C, 0, 4 * MS, 0), 0);
	assert_int_equal(sp_add_window(&C, 5 * MS, 3 * MS, 1), 0);
	assert_int_equal(sp_add_vcpu(&C, 0, 0, 0, 0, 0), 0);
	assert_int_equal(sp_add_vcpu(&C, 1, 0, 0, 0, 0), 1);
}

static void cyclic_window_boundaries_exact(void **state)
{
	cyclic_ab();
	sp_wake(&C, 0, 0);
	sp_wake(&C, 1, 0);
	sim(30 * MS);
	assert_int_equal(nseg, 12);
	for (unsigned f = 0; f < 3; f++) {
		uint64_t b = f * 10 * MS;
		expect_seg(4 * f + 0, 0, b, b + 4 * MS);
		expect_seg(4 * f + 1, SP_NONE, b + 4 * MS, b + 5 * MS);
		expect_seg(4 * f + 2, 1, b + 5 * MS, b + 8 * MS);
		expect_seg(4 * f + 3, SP_NONE, b + 8 * MS, b + 10 * MS);
	}
	sp_decide(&C, now);
	assert_int_equal(C.v[0].st.runtime, 12 * MS);
	assert_int_equal(C.v[1].st.runtime, 9 * MS);
}

/* A deadline answered late (the timer's interrupt, an exit) still ends
 * the window at its boundary: the next one is not shifted. */
static void cyclic_late_decision_keeps_the_frame(void **state)
{
	cyclic_ab();
	sp_wake(&C, 0, 0);
	sp_wake(&C, 1, 0);
	struct sp_pick p = sp_decide(&C, 0);
	assert_int_equal(p.until, 4 * MS);
	p = sp_decide(&C, 5 * MS + 300); /* very late: already inside B's window */
	assert_int_equal(p.vcpu, 1);
	assert_int_equal(p.until, 8 * MS);
	p = sp_decide(&C, 10 * MS + 7);
	assert_int_equal(p.vcpu, 0);
	assert_int_equal(p.until, 14 * MS);
}

static void cyclic_idle_window_stays_idle(void **state)
{
	cyclic_ab();
	sp_wake(&C, 0, 0); /* B never ready: its window is not given to A */
	sim(20 * MS);
	assert_int_equal(ran(0, 0, 20 * MS), 8 * MS);
	assert_int_equal(ran(SP_NONE, 4 * MS, 10 * MS), 6 * MS);
	assert_int_equal(ran(SP_NONE, 14 * MS, 20 * MS), 6 * MS);
}

/* B waits in WFI; its interrupt comes at 2 ms, in A's window: it runs at
 * the start of its own window (5 ms), 3 ms latency. */
static void cyclic_wake_in_other_window_waits_for_its_own(void **state)
{
	cyclic_ab();
	sp_wake(&C, 0, 0);
	sim(2 * MS);
	sp_wake(&C, 1, now);
	sim(20 * MS);
	assert_int_equal(ran(1, 0, 5 * MS), 0);
	expect_seg(0, 0, 0, 4 * MS);
	expect_seg(2, 1, 5 * MS, 8 * MS);
	assert_int_equal(C.v[1].st.wakeups, 1);
	assert_int_equal(C.v[1].st.lat_max, 3 * MS);
	assert_int_equal(C.v[1].st.hist[3], 1); /* 1 ms to 10 ms */
	/* still ready: no second latency sample at the next window */
	assert_int_equal(C.v[1].st.hist[0] + C.v[1].st.hist[1] + C.v[1].st.hist[2], 0);
}

/* A blocks half way through its window: the rest of it is idle, B's
 * window is not advanced. */
static void cyclic_block_leaves_window_idle(void **state)
{
	cyclic_ab();
	sp_wake(&C, 0, 0);
	sp_wake(&C, 1, 0);
	sim(1 * MS);
	sp_block(&C, 0, now);
	sim(10 * MS);
	expect_seg(0, 0, 0, 1 * MS);
	expect_seg(1, SP_NONE, 1 * MS, 5 * MS);
	expect_seg(2, 1, 5 * MS, 8 * MS);
}

/* Two vCPUs of one partition share its window round robin by slices. */
static void cyclic_round_robin_inside_window(void **state)
{
	cyclic_ab();
	assert_int_equal(sp_add_vcpu(&C, 0, 0, 0, 0, 0), 2);
	sp_wake(&C, 0, 0);
	sp_wake(&C, 2, 0);
	sim(4 * MS);
	expect_seg(0, 0, 0, 1 * MS);
	expect_seg(1, 2, 1 * MS, 2 * MS);
	expect_seg(2, 0, 2 * MS, 3 * MS);
	expect_seg(3, 2, 3 * MS, 4 * MS);
}

static void cyclic_windows_checked(void **state)
{
	sp_init(&C, SCHED_CYCLIC, 10 * MS, MS, 1, 0);
	assert_int_equal(sp_add_window(&C, 2 * MS, 3 * MS, 0), 0);
	assert_int_equal(sp_add_window(&C, 4 * MS, 1 * MS, 1), -EINVAL); /* overlaps */
	assert_int_equal(sp_add_window(&C, 8 * MS, 3 * MS, 1), -EINVAL); /* past the frame */
	assert_int_equal(sp_add_window(&C, 5 * MS, 0, 1), -EINVAL);	 /* empty */
	assert_int_equal(sp_add_window(&C, 5 * MS, 5 * MS, 1), 0);	 /* up to the end */
}

/* Before the first window of a frame (an idle gap at its start) and
 * after the last one: the deadline is the next window's start. */
static void cyclic_gap_at_frame_start(void **state)
{
	sp_init(&C, SCHED_CYCLIC, 10 * MS, MS, 1, 100);
	assert_int_equal(sp_add_window(&C, 3 * MS, 2 * MS, 0), 0);
	sp_add_vcpu(&C, 0, 0, 0, 0, 0);
	sp_wake(&C, 0, 0);
	struct sp_pick p = sp_decide(&C, 50); /* before the epoch */
	assert_int_equal(p.vcpu, SP_NONE);
	assert_int_equal(p.until, 100);
	p = sp_decide(&C, 100);
	assert_int_equal(p.until, 100 + 3 * MS);
	p = sp_decide(&C, 100 + 6 * MS);
	assert_int_equal(p.vcpu, SP_NONE);
	assert_int_equal(p.until, 100 + 13 * MS);
}

/* ---- priority ---- */

static void priority_higher_runs_first(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 1 * MS, 1, 0);
	int lo = sp_add_vcpu(&C, 0, 1, 0, 0, 0), hi = sp_add_vcpu(&C, 1, 5, 0, 0, 0);
	sp_wake(&C, lo, 0);
	sp_wake(&C, hi, 0);
	sim(10 * MS);
	assert_int_equal(ran(hi, 0, 10 * MS), 10 * MS);
	sp_block(&C, hi, now);
	sim(15 * MS);
	assert_int_equal(ran(lo, 10 * MS, 15 * MS), 5 * MS);
	sp_wake(&C, hi, now); /* the caller asks again at a wake-up: it preempts */
	struct sp_pick p = sp_decide(&C, now);
	assert_int_equal(p.vcpu, hi);
	assert_int_equal(p.until, UINT64_MAX); /* alone at its level, no budget: tickless */
	assert_int_equal(C.v[hi].st.lat_max, 0);
	assert_int_equal(C.v[hi].st.hist[0], 2);
}

/* 2 ms every 10 ms for hi, spinning forever: exactly its budget. */
static void priority_budget_enforced(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 1 * MS, 1, 0);
	int hi = sp_add_vcpu(&C, 0, 9, 2 * MS, 10 * MS, 0), lo = sp_add_vcpu(&C, 1, 1, 0, 0, 0);
	sp_wake(&C, hi, 0);
	sp_wake(&C, lo, 0);
	sim(100 * MS);
	for (unsigned k = 0; k < 10; k++) {
		expect_seg(2 * k, hi, k * 10 * MS, k * 10 * MS + 2 * MS);
		expect_seg(2 * k + 1, lo, k * 10 * MS + 2 * MS, (k + 1) * 10 * MS);
	}
	sp_decide(&C, now);
	assert_int_equal(C.v[hi].st.runtime, 20 * MS);
	assert_int_equal(C.v[hi].st.overruns, 10);
	assert_int_equal(C.v[lo].st.overruns, 0);
}

/* Throttled with nothing else to run: the CPU idles until the refill. */
static void priority_throttled_alone_idles(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 1 * MS, 1, 0);
	int v = sp_add_vcpu(&C, 0, 3, 3 * MS, 5 * MS, 0);
	sp_wake(&C, v, 0);
	sim(20 * MS);
	assert_int_equal(ran(v, 0, 20 * MS), 12 * MS);
	assert_int_equal(ran(SP_NONE, 0, 20 * MS), 8 * MS);
	expect_seg(1, SP_NONE, 3 * MS, 5 * MS);
}

/* A preemption 1 ms late: 3 ms run on a 2 ms budget; the next period
 * gets 1 ms, so over time it still gets its budget and no more. */
static void priority_late_preemption_paid_back(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 1 * MS, 1, 0);
	int v = sp_add_vcpu(&C, 0, 3, 2 * MS, 10 * MS, 0), lo = sp_add_vcpu(&C, 1, 0, 0, 0, 0);
	sp_wake(&C, v, 0);
	sp_wake(&C, lo, 0);
	struct sp_pick p = sp_decide(&C, 0);
	assert_int_equal(p.vcpu, v);
	assert_int_equal(p.until, 2 * MS);
	p = sp_decide(&C, 3 * MS);
	assert_int_equal(p.vcpu, lo);
	assert_int_equal(p.until, 10 * MS);
	p = sp_decide(&C, 10 * MS);
	assert_int_equal(p.vcpu, v);
	assert_int_equal(p.until, 11 * MS);
}

/* Unused budget is not saved up across periods. */
static void priority_budget_not_saved_up(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 1 * MS, 1, 0);
	int v = sp_add_vcpu(&C, 0, 3, 2 * MS, 10 * MS, 0);
	sim(35 * MS); /* not ready for three periods */
	sp_wake(&C, v, now);
	sim(50 * MS);
	assert_int_equal(ran(v, 35 * MS, 40 * MS), 2 * MS);
	assert_int_equal(ran(v, 40 * MS, 50 * MS), 2 * MS);
}

/* Three spinning at one priority, one more below: round robin by 1 ms
 * slices among the three, nobody starves, the lower one never runs. */
static void priority_round_robin_no_starvation(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 1 * MS, 1, 0);
	for (int i = 0; i < 3; i++)
		sp_wake(&C, sp_add_vcpu(&C, i, 4, 0, 0, 0), 0);
	int low = sp_add_vcpu(&C, 3, 2, 0, 0, 0);
	sp_wake(&C, low, 0);
	sim(30 * MS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ran(i, 0, 30 * MS), 10 * MS);
	assert_int_equal(ran(low, 0, 30 * MS), 0);
	for (unsigned k = 0; k < 30; k++)
		expect_seg(k, (int)(k % 3), k * MS, (k + 1) * MS);
}

/* One of two equals blocks and wakes often (a short burst each time):
 * the spinning one still gets its turns, the waker its latency samples. */
static void priority_equals_with_a_waker(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, 2 * MS, 1, 0);
	int spin = sp_add_vcpu(&C, 0, 1, 0, 0, 0), wk = sp_add_vcpu(&C, 1, 1, 0, 0, 0);
	sp_wake(&C, spin, 0);
	for (unsigned k = 0; k < 10; k++) {
		sp_wake(&C, wk, now);
		sim(now + 100 * US);
		sp_block(&C, wk, now);
		sim(now + 900 * US);
	}
	assert_true(ran(spin, 0, now) >= 5 * MS);
	assert_true(ran(wk, 0, now) > 0);
	assert_int_equal(C.v[wk].st.wakeups, 10);
	unsigned samples = 0;
	for (unsigned b = 0; b < SP_HIST; b++)
		samples += (unsigned)C.v[wk].st.hist[b];
	assert_true(samples >= 1 && samples <= 10);
}

static void priority_budget_checked(void **state)
{
	sp_init(&C, SCHED_PRIORITY, 0, MS, 1, 0);
	assert_int_equal(sp_add_vcpu(&C, 0, 1, 3 * MS, 2 * MS, 0), -1); /* budget > period */
	assert_int_equal(sp_add_vcpu(&C, 0, 1, 3 * MS, 0, 0), -1);
	for (unsigned i = 0; i < SP_MAX_VCPUS; i++)
		assert_int_equal(sp_add_vcpu(&C, 0, 1, 0, 0, 0), (int)i);
	assert_int_equal(sp_add_vcpu(&C, 0, 1, 0, 0, 0), -1);
}

/* ---- pinned, statistics ---- */

static void pinned_no_deadline(void **state)
{
	sp_init(&C, SCHED_PINNED, 0, MS, 1, 0);
	int v = sp_add_vcpu(&C, 0, 0, 0, 0, 0);
	struct sp_pick p = sp_decide(&C, 0);
	assert_int_equal(p.vcpu, SP_NONE);
	assert_int_equal(p.until, UINT64_MAX);
	sp_wake(&C, v, 5);
	p = sp_decide(&C, 7);
	assert_int_equal(p.vcpu, v);
	assert_int_equal(p.until, UINT64_MAX);
	assert_int_equal(C.v[v].st.lat_max, 2);
}

static void latency_buckets(void **state)
{
	static const uint64_t lat[] = {3, 10, 99, 100, 5000, 20 * MS, 200 * MS};
	static const unsigned want[SP_HIST] = {1, 2, 1, 1, 1, 1};
	sp_init(&C, SCHED_PINNED, 0, MS, 1, 0);
	int v = sp_add_vcpu(&C, 0, 0, 0, 0, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(lat); i++) {
		sp_wake(&C, v, now);
		now += lat[i];
		sp_decide(&C, now);
		sp_block(&C, v, now);
		sp_decide(&C, now);
	}
	for (unsigned b = 0; b < SP_HIST; b++)
		assert_int_equal(C.v[v].st.hist[b], want[b]);
	assert_int_equal(C.v[v].st.wakeups, ARRAY_SIZE(lat));
	assert_int_equal(C.v[v].st.lat_max, 200 * MS);
	assert_string_equal(sp_policy_name(SCHED_CYCLIC), "cyclic");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(cyclic_window_boundaries_exact, setup),
	    cmocka_unit_test_setup(cyclic_late_decision_keeps_the_frame, setup),
	    cmocka_unit_test_setup(cyclic_idle_window_stays_idle, setup),
	    cmocka_unit_test_setup(cyclic_wake_in_other_window_waits_for_its_own, setup),
	    cmocka_unit_test_setup(cyclic_block_leaves_window_idle, setup),
	    cmocka_unit_test_setup(cyclic_round_robin_inside_window, setup),
	    cmocka_unit_test_setup(cyclic_windows_checked, setup),
	    cmocka_unit_test_setup(cyclic_gap_at_frame_start, setup),
	    cmocka_unit_test_setup(priority_higher_runs_first, setup),
	    cmocka_unit_test_setup(priority_budget_enforced, setup),
	    cmocka_unit_test_setup(priority_throttled_alone_idles, setup),
	    cmocka_unit_test_setup(priority_late_preemption_paid_back, setup),
	    cmocka_unit_test_setup(priority_budget_not_saved_up, setup),
	    cmocka_unit_test_setup(priority_round_robin_no_starvation, setup),
	    cmocka_unit_test_setup(priority_equals_with_a_waker, setup),
	    cmocka_unit_test_setup(priority_budget_checked, setup),
	    cmocka_unit_test_setup(pinned_no_deadline, setup),
	    cmocka_unit_test_setup(latency_buckets, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

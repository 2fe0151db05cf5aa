/*
 * The per-CPU loop's decisions (kernel/vm/sched.c), one sched_step at a
 * time, on the real partition code, lifecycle, vGIC and exits over the
 * fake arch: which vCPU a shared CPU runs (round robin by slices, a vCPU
 * waiting in WFI skipped until an interrupt, its virtual timer or its
 * WFIT deadline), the EL2 timer armed for the slice end and the earliest
 * wake-up, a stopped partition's or powered-off vCPU unloaded, claims
 * respected, lifecycle jobs run first with interrupts open, and what a
 * load and an unload do to the CPU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "tests/host/fake.h"

#define MS	    1000000ull /* ticks: 1 tick = 1 ns in the fake */
#define SLICE	    (10 * MS)
#define ESR_WFI	    ((0x01ull << 26) | BIT(25))
#define ESR_WFIT_X2 ((0x01ull << 26) | BIT(25) | BIT(2) | (2 << 5) | 2)

static struct partition *S, *U; /* s: 3 vCPUs sharing CPU 1; u: 1 vCPU on CPU 2 */
static struct sched_cpu sc[FAKE_NCPUS];
static uint64_t wfx_next[GUEST_MAX_VCPUS]; /* ESR of the next exit of s's vCPU n (0: IRQ) */

static struct vcpu *vcpu_of(struct vcpu_ctx *c)
{
	return (struct vcpu *)((char *)c - offsetof(struct vcpu, ctx));
}

/* The guests: s's vCPUs exit with the ESR queued for them, or an IRQ. */
static unsigned guest(struct vcpu_ctx *c)
{
	struct vcpu *v = vcpu_of(c);
	assert_true(fake.cpu[fake.cur].ich_hcr & 1); /* the virtual interface is on */
	if (v->part == S && wfx_next[v->idx]) {
		fake_set_reg("esr_el2", wfx_next[v->idx]);
		wfx_next[v->idx] = 0;
		return FAKE_EXIT_SYNC;
	}
	return FAKE_EXIT_IRQ;
}

static int setup(void **state)
{
	static const struct fake_part_spec specs[] = {
	    {.name = "s", .cpu_mask = 0x2, .vcpus = 3},
	    {.name = "u", .cpu_mask = 0x4},
	};
	fake_world(specs, 2);
	S = &partitions[0];
	U = &partitions[1];
	fake_start(S);
	fake_start(U);
	memset(sc, 0, sizeof(sc));
	memset(wfx_next, 0, sizeof(wfx_next));
	fake.guest_run = guest;
	fake_log_clear();
	return 0;
}

static void step(unsigned cpu)
{
	fake_set_cpu(cpu);
	sched_step(&sc[cpu]);
	assert_false(fake.cpu[cpu].irqs_on); /* the loop runs with IRQs masked */
}

static void all_on(void)
{
	for (unsigned i = 1; i < 3; i++)
		assert_int_equal(lc_cpu_on(&S->lc, i, GUEST_RAM_BASE, 0), 0);
}

/* Runs CPU 1 until n guest entries; returns the vCPU indices entered. */
static void run_entries(unsigned n, int *seq)
{
	unsigned first = fake.nentries;
	for (unsigned guard = 0; fake.nentries - first < n; guard++) {
		assert_true(guard < 20 * n + 20);
		step(1);
	}
	for (unsigned i = 0; i < n; i++)
		seq[i] = (int)vcpu_of(fake.entries[first + i].ctx)->idx;
}

static struct vcpu *loaded(unsigned cpu)
{
	return percpu_data[cpu].loaded;
}

/* The EL2 timer's compare value on cpu, if it is armed. */
static uint64_t hyp_timer(unsigned cpu)
{
	return (fake_reg(cpu, "cnthp_ctl_el2") & 3) == 1 ? fake_reg(cpu, "cnthp_cval_el2")
							 : UINT64_MAX;
}

/* The guest enables SGI n for s's vCPU idx and sends it. */
static void send_sgi(unsigned idx, unsigned n)
{
	uint64_t v = 2;
	assert_int_equal(vgic_dist_access(&S->vgic, idx, 0, 4, true, &v), 0);
	v = BIT(n);
	assert_int_equal(
	    vgic_redist_access(&S->vgic, idx, idx * GUEST_GICR_STRIDE + 0x10100, 4, true, &v), 0);
	vgic_inject(&S->vgic, idx, n);
}

/* ---- a CPU of its own ---- */

static void alone_runs_without_el2_timer(void **state)
{
	fake.step = 50 * MS; /* long runs: slices would have ended */
	step(2);
	struct vcpu *u0 = &U->vcpus[0];
	assert_ptr_equal(loaded(2), u0);
	assert_int_equal(fake.nentries, 1);
	assert_int_equal(fake.cpu[2].vttbr, U->vttbr);
	assert_int_equal(fake.cpu[2].vtcr, U->vtcr);
	assert_int_equal(fake_reg(2, "cntvoff_el2"), U->cntvoff);
	assert_ptr_equal(fake.cpu[2].ctx_on_cpu, &u0->ctx);
	assert_ptr_equal(fake.cpu[2].fp_on_cpu, &u0->ctx);
	for (unsigned i = 0; i < 10; i++)
		step(2);
	assert_int_equal(fake.nentries, 11);
	assert_int_equal(fake.cpu[2].ctx_saves, 0); /* never unloaded */
	assert_int_equal(fake.cpu[2].ctx_loads, 1);
	assert_int_equal(fake_writes(2, "cnthp_ctl_el2"), 0);
}

/* ---- sharing a CPU ---- */

static void round_robin_by_slices(void **state)
{
	int seq[9];
	all_on();
	fake.step = SLICE + 1; /* every run outlasts its slice */
	run_entries(9, seq);
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(seq[i], (int)(i % 3));
	assert_int_equal(fake.cpu[1].ctx_loads, 9);
	assert_int_equal(fake.cpu[1].ctx_saves, 8);
}

static void slice_lasts_ten_ms(void **state)
{
	int seq[16];
	all_on();
	fake.step = 3 * MS;
	run_entries(16, seq);
	/* 0 runs at 0, 3, 6, 9 ms; at 12 ms its slice is over */
	static const int want[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0};
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(seq[i], want[i]);
}

static void shared_cpu_arms_slice_end(void **state)
{
	all_on();
	uint64_t t0 = fake.now;
	step(1);
	assert_ptr_equal(loaded(1), &S->vcpus[0]);
	assert_int_equal(hyp_timer(1), t0 + SLICE);
}

/* Only one of the CPU's vCPUs on: still a shared CPU (the list has three),
 * but nobody to give the CPU to, so the slice end never moves it. */
static void one_eligible_keeps_running(void **state)
{
	int seq[5];
	fake.step = SLICE + 1;
	run_entries(5, seq);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(seq[i], 0);
	assert_int_equal(fake.cpu[1].ctx_loads, 1);
}

/* A WFI with others runnable gives the CPU away until an interrupt. */
static void waiting_vcpu_skipped_until_interrupt(void **state)
{
	int seq[8];
	all_on();
	fake.step = SLICE + 1;
	wfx_next[1] = ESR_WFI;
	run_entries(2, seq); /* 0, then 1 executes WFI */
	assert_int_equal(seq[1], 1);
	assert_true(S->vcpus[1].waiting);
	run_entries(6, seq);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(seq[i], i % 2 ? 0 : 2);
	send_sgi(1, 5);
	run_entries(3, seq);
	assert_int_equal(seq[0], 1); /* after 0, whose turn it was: 1 again */
	assert_false(S->vcpus[1].waiting);
	assert_int_equal(seq[1], 2);
}

/* A WFI before the slice ends: the vCPU leaves at once, the next runs. */
static void waiting_vcpu_leaves_at_once(void **state)
{
	int seq[3];
	all_on();
	fake.step = 1 * MS; /* slices far from over */
	wfx_next[0] = ESR_WFI;
	run_entries(3, seq);
	assert_int_equal(seq[0], 0);
	assert_int_equal(seq[1], 1);
	assert_int_equal(seq[2], 1);
	assert_true(S->vcpus[0].waiting);
	assert_int_equal(fake.cpu[1].ctx_saves, 1);
}

/* Runs n entries on CPU 1: when s's vCPU idx first entered, or UINT64_MAX. */
static uint64_t first_entry_of(unsigned idx, unsigned n)
{
	uint64_t when = UINT64_MAX;
	int seq[1];
	for (unsigned i = 0; i < n; i++) {
		run_entries(1, seq);
		if (seq[0] == (int)idx && when == UINT64_MAX)
			when = fake.entries[fake.nentries - 1].now;
	}
	return when;
}

/* The waiting vCPU's virtual timer wakes it (the running one keeps its
 * slice); the EL2 timer is armed for it when it comes before the slice
 * end. A masked timer does not wake it. */
static void waiting_vcpu_woken_by_its_timer(void **state)
{
	int seq[2];
	all_on();
	fake.step = SLICE + 1;
	struct vcpu *v1 = &S->vcpus[1];
	wfx_next[1] = ESR_WFI;
	run_entries(2, seq);
	assert_true(v1->waiting);
	/* its saved timer: enabled, unmasked, 3 ms from now (virtual) */
	v1->ctx.cntv_ctl = 1;
	v1->ctx.cntv_cval = fake.now - S->cntvoff + 3 * MS;
	uint64_t due = v1->ctx.cntv_cval + S->cntvoff;
	fake.step = 1 * MS;
	run_entries(1, seq); /* 2 loads: the EL2 timer fires at the wake-up */
	assert_int_equal(seq[0], 2);
	assert_int_equal(hyp_timer(1), due);
	uint64_t first = first_entry_of(1, 40);
	assert_true(first >= due);
	assert_true(first <= due + 2 * SLICE);
	assert_false(v1->waiting);
}

static void masked_timer_does_not_wake(void **state)
{
	int seq[2];
	all_on();
	fake.step = SLICE + 1;
	wfx_next[1] = ESR_WFI;
	run_entries(2, seq);
	S->vcpus[1].ctx.cntv_ctl = 3; /* enabled, IMASK */
	S->vcpus[1].ctx.cntv_cval = 0;
	assert_int_equal(first_entry_of(1, 12), UINT64_MAX);
	S->vcpus[1].ctx.cntv_ctl = 0; /* disabled */
	assert_int_equal(first_entry_of(1, 12), UINT64_MAX);
	assert_true(S->vcpus[1].waiting);
}

static void waiting_vcpu_woken_at_wfit_deadline(void **state)
{
	int seq[8];
	all_on();
	fake.step = SLICE + 1;
	struct vcpu *v1 = &S->vcpus[1];
	v1->ctx.x[2] = 0; /* set below, at its run */
	wfx_next[1] = ESR_WFIT_X2;
	run_entries(1, seq);					   /* 0 runs */
	v1->ctx.x[2] = fake.now - S->cntvoff + 2 * SLICE + 5 * MS; /* virtual deadline */
	uint64_t due = v1->ctx.x[2] + S->cntvoff;
	run_entries(1, seq); /* 1: WFIT */
	assert_int_equal(seq[0], 1);
	assert_true(v1->waiting);
	assert_int_equal(v1->wake_at, due);
	uint64_t first = first_entry_of(1, 12);
	assert_true(first >= due);	       /* not before its deadline */
	assert_true(first <= due + 2 * SLICE); /* and soon after it */
}

/* Nothing eligible: the CPU sleeps, the EL2 timer set for the earliest
 * wake-up of its waiting vCPUs. */
static void idle_arms_earliest_wakeup(void **state)
{
	all_on();
	for (unsigned i = 0; i < 3; i++) {
		S->vcpus[i].waiting = true;
		S->vcpus[i].wake_at = UINT64_MAX;
	}
	S->vcpus[0].wake_at = fake.now + 7 * MS;
	S->vcpus[2].ctx.cntv_ctl = 1;
	S->vcpus[2].ctx.cntv_cval = fake.now - S->cntvoff + 4 * MS;
	step(1);
	assert_null(loaded(1));
	assert_int_equal(fake.nentries, 0);
	assert_int_equal(fake.cpu[1].wfis, 1);
	assert_int_equal(hyp_timer(1), fake.now + 4 * MS);
	/* once due, vCPU 2 runs */
	fake.now += 4 * MS;
	step(1);
	assert_ptr_equal(loaded(1), &S->vcpus[2]);
	assert_int_equal(fake.nentries, 1);
}

/* The disk's next poll shares the EL2 timer: never armed later than it */
static void el2_timer_no_later_than_disk_poll(void **state)
{
	fake.disk_next_poll = fake.now + 3 * MS;
	S->vcpus[0].waiting = true;
	S->vcpus[0].wake_at = UINT64_MAX;
	step(1); /* idle, no deadline of its own: the disk's */
	assert_int_equal(hyp_timer(1), fake.disk_next_poll);
	S->vcpus[0].wake_at = fake.now + 7 * MS;
	step(1); /* the earlier of the two */
	assert_int_equal(hyp_timer(1), fake.disk_next_poll);
	fake.disk_next_poll = UINT64_MAX;
	step(1);
	assert_int_equal(hyp_timer(1), fake.now + 7 * MS);
	/* a shared CPU's slice end too */
	S->vcpus[0].waiting = false;
	all_on();
	fake.disk_next_poll = fake.now + 2 * MS;
	step(1);
	assert_ptr_equal(loaded(1), &S->vcpus[0]);
	assert_int_equal(hyp_timer(1), fake.disk_next_poll);
}

static void idle_without_deadline_leaves_timer(void **state)
{
	S->vcpus[0].waiting = true;
	S->vcpus[0].wake_at = UINT64_MAX;
	step(1);
	assert_int_equal(fake.cpu[1].wfis, 1);
	assert_int_equal(fake_writes(1, "cnthp_ctl_el2"), 0);
	assert_int_equal(fake.nentries, 0);
}

/* ---- leaving the CPU ---- */

static void stopped_partition_unloaded(void **state)
{
	step(1);
	struct vcpu *s0 = &S->vcpus[0];
	assert_ptr_equal(loaded(1), s0);
	fake.cpu[1].lr[0] = 0xa000000000000020ull;
	assert_int_equal(partition_stop(S, false), 0);
	assert_int_equal(partition_state(S), PART_STOPPING);
	unsigned entries = fake.nentries;
	step(1); /* unload */
	assert_null(loaded(1));
	assert_int_equal(fake.nentries, entries);
	assert_int_equal(fake.cpu[1].ctx_saves, 1);
	assert_null(fake.cpu[1].ctx_on_cpu);
	assert_null(fake.cpu[1].fp_on_cpu); /* its FP/SIMD state saved too */
	assert_false(S->lc.vcpu[0].loaded); /* unclaimed */
	assert_int_equal(fake.cpu[1].vttbr, 0);
	assert_false(fake.cpu[1].hcr_vm);
	assert_int_equal(fake.cpu[1].lr[0], 0);
	assert_int_equal(fake.cpu[1].ich_hcr, 0);
	assert_int_equal(fake.cpu[1].deactivated[PPI_VTIMER], 1);
	assert_int_equal(fake.cpu[1].deactivated[PPI_PTIMER], 1);
	assert_true(lc_job_pending(1));
	step(1); /* the release */
	assert_int_equal(partition_state(S), PART_STOPPED);
	step(1);
	assert_int_equal(fake.nentries, entries); /* nothing runs there any more */
	assert_int_equal(partition_state(U), PART_RUNNING);
}

static void powered_off_vcpu_unloaded(void **state)
{
	all_on();
	step(1);
	assert_ptr_equal(loaded(1), &S->vcpus[0]);
	lc_cpu_off(&S->lc, 0);
	step(1);
	assert_null(loaded(1));
	step(1);
	assert_ptr_equal(loaded(1), &S->vcpus[1]);
	assert_int_equal(partition_state(S), PART_RUNNING);
}

/* A claim decides: a vCPU claimed elsewhere is never loaded here. */
static void claim_respected(void **state)
{
	assert_true(lc_claim(&S->lc, 0));
	for (unsigned i = 0; i < 3; i++)
		step(1);
	assert_null(loaded(1));
	assert_int_equal(fake.nentries, 0);
	assert_int_equal(fake.cpu[1].ctx_loads, 0);
	lc_unclaim(&S->lc, 0);
	step(1);
	assert_ptr_equal(loaded(1), &S->vcpus[0]);
}

/* A queued job runs before anything is loaded, with IRQs open. */
static void job_runs_first_with_irqs_open(void **state)
{
	assert_int_equal(partition_stop(U, true), 0); /* restart; u not loaded */
	assert_true(lc_job_pending(2));
	step(2); /* release; the restart queues the build */
	assert_int_equal(partition_state(U), PART_STARTING);
	assert_int_equal(fake.nentries, 0);
	fake.dcache_irqs_on = false;
	step(2); /* build */
	assert_true(fake.dcache_irqs_on);
	assert_int_equal(partition_state(U), PART_RUNNING);
	assert_int_equal(fake.nentries, 0);
	step(2);
	assert_ptr_equal(loaded(2), &U->vcpus[0]);
	assert_int_equal(fake.nentries, 1);
}

/* The vGIC's list registers are filled before the entry. */
static void interrupt_in_lr_at_entry(void **state)
{
	send_sgi(0, 6);
	step(1);
	assert_int_equal(fake.nentries, 1);
	assert_int_equal(fake.cpu[1].lr[0] & 0xffffffffull, 6);
}

static void kick(void **state)
{
	unsigned k1 = fake.cpu[1].sgis[SGI_KICK], k3 = fake.cpu[3].sgis[SGI_KICK];
	fake_set_cpu(1);
	sched_kick(1);
	assert_int_equal(fake.cpu[1].sgis[SGI_KICK], k1); /* not to itself */
	sched_kick(3);
	assert_int_equal(fake.cpu[3].sgis[SGI_KICK], k3 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(alone_runs_without_el2_timer, setup),
	    cmocka_unit_test_setup(round_robin_by_slices, setup),
	    cmocka_unit_test_setup(slice_lasts_ten_ms, setup),
	    cmocka_unit_test_setup(shared_cpu_arms_slice_end, setup),
	    cmocka_unit_test_setup(one_eligible_keeps_running, setup),
	    cmocka_unit_test_setup(waiting_vcpu_skipped_until_interrupt, setup),
	    cmocka_unit_test_setup(waiting_vcpu_leaves_at_once, setup),
	    cmocka_unit_test_setup(waiting_vcpu_woken_by_its_timer, setup),
	    cmocka_unit_test_setup(masked_timer_does_not_wake, setup),
	    cmocka_unit_test_setup(waiting_vcpu_woken_at_wfit_deadline, setup),
	    cmocka_unit_test_setup(idle_arms_earliest_wakeup, setup),
	    cmocka_unit_test_setup(el2_timer_no_later_than_disk_poll, setup),
	    cmocka_unit_test_setup(idle_without_deadline_leaves_timer, setup),
	    cmocka_unit_test_setup(stopped_partition_unloaded, setup),
	    cmocka_unit_test_setup(powered_off_vcpu_unloaded, setup),
	    cmocka_unit_test_setup(claim_respected, setup),
	    cmocka_unit_test_setup(job_runs_first_with_irqs_open, setup),
	    cmocka_unit_test_setup(interrupt_in_lr_at_entry, setup),
	    cmocka_unit_test_setup(kick, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The partition lifecycle against a fake machine: CPUs with run lists and
 * a loaded vCPU, partitions whose build and release are long and let other
 * actors in. Fixed sequences pin down each race found in the field; random
 * interleavings of operator requests, guest resets and power-offs, CPU_ON,
 * CPU_OFF and CPU loop steps (including during builds and releases) check
 * the invariants after every step and the final states at the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/vm/lifecycle.h"

#define NCPUS  4
#define NPARTS 3
#define NONE   (-1)

struct fake_cpu {
	int list_part[LC_MAX_VCPUS]; /* placed vCPUs: partition, vCPU */
	int list_idx[LC_MAX_VCPUS];
	unsigned nlist;
	int lpart, lidx; /* loaded vCPU or NONE */
};

struct fake_part {
	bool built; /* resources held (also after a half-done build) */
	bool in_job;
	int fail_next; /* the next build fails with this */
	unsigned starts, stops, failures, pauses, restores, resumes;
};

static struct fake_cpu cpu[NCPUS];
static struct fake_part fp[NPARTS];
static struct lc_part part[NPARTS];
static int mem_used;
static unsigned kicks;

/* random interleavings */
static unsigned rng;
static int depth;	     /* nesting of actions inside long work */
static bool nesting;	     /* other actors run during builds and releases */
static bool guests_act;	     /* loaded vCPUs issue requests */
static bool guests_poweroff; /* ... including SYSTEM_OFF and fatal stops */
static int intent[NPARTS];   /* what the operator asked for last: 1 run, 0 stop, NONE */
static unsigned steps;

static unsigned rnd(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 16) % n;
}

static int id(const struct lc_part *p)
{
	return (int)(p - part);
}

static void random_action(int exclude_cpu);

static int fake_build(struct lc_part *p)
{
	struct fake_part *f = &fp[id(p)];
	assert_int_equal(p->state, PART_STARTING);
	assert_false(f->built);
	assert_false(f->in_job);
	for (unsigned i = 0; i < p->nvcpus; i++)
		assert_false(p->vcpu[i].loaded);
	f->in_job = true;
	f->built = true;
	mem_used += 1;
	if (p->restoring) {
		f->restores++;
		p->restored_on = 1u + rnd(1u << p->nvcpus); /* any set, vCPU 0 maybe off */
		p->restored_on &= (1u << p->nvcpus) - 1;
	}
	for (unsigned n = nesting ? rnd(4) : 0; n-- && depth < 2;) {
		depth++;
		random_action((int)p->job_cpu);
		depth--;
	}
	f->in_job = false;
	int e = f->fail_next;
	f->fail_next = 0;
	return e;
}

static void fake_release(struct lc_part *p)
{
	struct fake_part *f = &fp[id(p)];
	assert_int_equal(p->state, PART_STOPPING);
	assert_true(f->built);
	assert_false(f->in_job);
	for (unsigned i = 0; i < p->nvcpus; i++)
		assert_false(p->vcpu[i].loaded);
	f->in_job = true;
	for (unsigned n = nesting ? rnd(4) : 0; n-- && depth < 2;) {
		depth++;
		random_action((int)p->job_cpu);
		depth--;
	}
	f->built = false;
	mem_used -= 1;
	f->in_job = false;
}

static void fake_paused(struct lc_part *p)
{
	struct fake_part *f = &fp[id(p)];
	assert_int_equal(p->state, PART_PAUSED);
	assert_true(f->built);
	assert_false(f->in_job);
	for (unsigned i = 0; i < p->nvcpus; i++)
		assert_false(p->vcpu[i].loaded);
	for (unsigned c = 0; c < NCPUS; c++)
		for (unsigned j = 0; j < cpu[c].nlist; j++)
			assert_int_not_equal(cpu[c].list_part[j], id(p));
	f->in_job = true;
	f->pauses++;
	for (unsigned n = nesting ? rnd(4) : 0; n-- && depth < 2;) {
		depth++;
		random_action((int)p->job_cpu);
		depth--;
		for (unsigned i = 0; i < p->nvcpus; i++)
			assert_false(p->vcpu[i].loaded); /* nothing runs it meanwhile */
	}
	f->in_job = false;
}

static void fake_place(struct lc_part *p)
{
	assert_int_equal(p->state, PART_RUNNING);
	assert_true(fp[id(p)].built);
	for (unsigned i = 0; i < p->nvcpus; i++) {
		struct fake_cpu *c = &cpu[p->vcpu[i].cpu];
		c->list_part[c->nlist] = id(p);
		c->list_idx[c->nlist++] = (int)i;
	}
}

static void fake_unplace(struct lc_part *p)
{
	for (unsigned c = 0; c < NCPUS; c++) {
		unsigned k = 0;
		for (unsigned j = 0; j < cpu[c].nlist; j++)
			if (cpu[c].list_part[j] != id(p)) {
				cpu[c].list_part[k] = cpu[c].list_part[j];
				cpu[c].list_idx[k++] = cpu[c].list_idx[j];
			}
		cpu[c].nlist = k;
	}
}

static void fake_reset_vcpu(struct lc_part *p, unsigned idx, uint64_t entry, uint64_t arg)
{
	assert_true(p->state == PART_RUNNING || p->state == PART_PAUSED);
	assert_false(p->vcpu[idx].loaded);
	assert_int_equal(p->vcpu[idx].power, VCPU_OFF);
}

static void fake_kick(unsigned c)
{
	assert_true(c < NCPUS);
	kicks++;
}

static bool fake_cpus_usable(uint64_t mask)
{
	return mask < (1u << NCPUS);
}

static void fake_note(struct lc_part *p, enum lc_event ev, int err)
{
	struct fake_part *f = &fp[id(p)];
	if (ev == LC_STARTED)
		f->starts++;
	else if (ev == LC_STOPPED)
		f->stops++;
	else if (ev == LC_RESUMED)
		f->resumes++;
	else
		f->failures++;
}

static const struct lc_ops fake_ops = {
    .build = fake_build,
    .release = fake_release,
    .paused = fake_paused,
    .place = fake_place,
    .unplace = fake_unplace,
    .reset_vcpu = fake_reset_vcpu,
    .kick = fake_kick,
    .cpus_usable = fake_cpus_usable,
    .note = fake_note,
};

/* p0: CPUs 0-1, 2 vCPUs; p1: CPUs 2-3, 3 vCPUs (two share CPU 2);
 * p2: CPU 1 only, so it can run only while p0 is stopped. */
static void setup_machine(void)
{
	memset(cpu, 0, sizeof(cpu));
	memset(fp, 0, sizeof(fp));
	for (unsigned c = 0; c < NCPUS; c++)
		cpu[c].lpart = cpu[c].lidx = NONE;
	mem_used = 0;
	kicks = 0;
	depth = 0;
	nesting = false;
	lc_init(&fake_ops);
	static const uint64_t masks[NPARTS] = {0x3, 0xc, 0x2};
	static const unsigned nv[NPARTS] = {2, 3, 1};
	for (int i = 0; i < NPARTS; i++) {
		lc_part_init(&part[i], true, masks[i], nv[i]);
		unsigned ncpu = (unsigned)__builtin_popcountll(masks[i]);
		for (unsigned v = 0; v < nv[i]; v++) {
			uint64_t m = masks[i];
			for (unsigned k = v % ncpu; k--;)
				m &= m - 1;
			part[i].vcpu[v].cpu = (unsigned)__builtin_ctzll(m);
		}
		intent[i] = NONE;
	}
}

/* ---- the fake CPU loop ---- */

static bool listed(const struct fake_cpu *c, int p, int v)
{
	for (unsigned j = 0; j < c->nlist; j++)
		if (c->list_part[j] == p && c->list_idx[j] == v)
			return true;
	return false;
}

static void unload(struct fake_cpu *c)
{
	struct lc_part *p = &part[c->lpart];
	int v = c->lidx;
	c->lpart = c->lidx = NONE;
	lc_unclaim(p, (unsigned)v);
}

static void guest_request(struct fake_cpu *c)
{
	struct lc_part *p = &part[c->lpart];
	unsigned v = (unsigned)c->lidx;
	switch (rnd(8)) {
	case 0:
		lc_stop(p, true, LC_GUEST); /* SYSTEM_RESET */
		break;
	case 1:
		if (guests_poweroff)
			lc_stop(p, false, LC_GUEST); /* SYSTEM_OFF or a fatal exit */
		break;
	case 2:
		lc_cpu_off(p, v);
		break;
	case 3:
	case 4: {
		unsigned t = rnd(p->nvcpus);
		int e = lc_cpu_on(p, t, 0x40000000, 0);
		assert_true(e == 0 || e == -EEXIST || e == -EBUSY);
		break;
	}
	case 5:
		unload(c); /* its slice ended */
		break;
	}
}

static void try_load(struct fake_cpu *c)
{
	if (!c->nlist)
		return;
	unsigned j = rnd(c->nlist);
	struct lc_part *p = &part[c->list_part[j]];
	unsigned v = (unsigned)c->list_idx[j];
	if (!lc_claim(p, v))
		return;
	assert_int_equal(p->state, PART_RUNNING);
	assert_true(fp[id(p)].built);
	c->lpart = c->list_part[j];
	c->lidx = (int)v;
}

static void cpu_step(unsigned n)
{
	struct fake_cpu *c = &cpu[n];
	if (c->lpart != NONE) {
		struct lc_part *p = &part[c->lpart];
		bool stay = listed(c, c->lpart, c->lidx) && p->state == PART_RUNNING &&
			    p->vcpu[c->lidx].power == VCPU_ON;
		if (!stay)
			unload(c);
		else if (guests_act)
			guest_request(c);
		return;
	}
	if (lc_job_pending(n) && depth == 0) {
		lc_run_job(n);
		return;
	}
	try_load(c);
}

static void operator(int p, int what)
{
	int e;
	switch (what) {
	case 0:
		e = lc_start(&part[p]);
		assert_true(e == 0 || e == -EBUSY || e == -EAGAIN);
		if (e == 0)
			intent[p] = 1;
		break;
	case 1:
		e = lc_stop(&part[p], false, LC_OPERATOR);
		assert_true(e == 0 || e == -EINVAL);
		if (e == 0)
			intent[p] = 0;
		break;
	case 2:
		e = lc_stop(&part[p], true, LC_OPERATOR);
		assert_true(e == 0 || e == -EINVAL);
		if (e == 0)
			intent[p] = 1;
		break;
	case 3:
		e = lc_pause(&part[p]);
		assert_true(e == 0 || e == -EBUSY);
		break;
	default:
		e = lc_start_restore(&part[p]);
		assert_true(e == 0 || e == -EBUSY || e == -EAGAIN);
		if (e == 0)
			intent[p] = 1;
	}
}

static void random_action(int exclude_cpu)
{
	steps++;
	if (rnd(10) < 2) {
		operator((int)rnd(NPARTS), (int)rnd(5));
		return;
	}
	unsigned n = rnd(NCPUS);
	if ((int)n != exclude_cpu)
		cpu_step(n);
}

/* ---- invariants ---- */

static void check_invariants(void)
{
	bool claimed[NPARTS][LC_MAX_VCPUS] = {{false}};
	for (unsigned n = 0; n < NCPUS; n++) {
		const struct fake_cpu *c = &cpu[n];
		for (unsigned j = 0; j < c->nlist; j++)
			assert_int_equal(part[c->list_part[j]].state, PART_RUNNING);
		if (c->lpart == NONE)
			continue;
		const struct lc_part *p = &part[c->lpart];
		assert_true(fp[c->lpart].built); /* never a freed partition */
		assert_true(p->state == PART_RUNNING || p->state == PART_STOPPING ||
			    p->state == PART_PAUSED);
		assert_false(claimed[c->lpart][c->lidx]);
		claimed[c->lpart][c->lidx] = true;
	}
	int held = 0;
	for (int i = 0; i < NPARTS; i++) {
		for (unsigned v = 0; v < part[i].nvcpus; v++)
			assert_int_equal(part[i].vcpu[v].loaded, claimed[i][v]);
		held += fp[i].built;
		if (part[i].state == PART_STOPPED)
			assert_false(fp[i].built);
	}
	assert_int_equal(mem_used, held);
	/* p2 shares CPU 1 with p0: never both holding it */
	bool p0 = part[0].state != PART_STOPPED, p2 = part[2].state != PART_STOPPED;
	assert_false(p0 && p2);
}

static void run(unsigned n)
{
	while (n--) {
		random_action(NONE);
		check_invariants();
	}
}

static bool quiet(void)
{
	for (int i = 0; i < NPARTS; i++)
		if (part[i].state == PART_STARTING || part[i].state == PART_STOPPING ||
		    part[i].state == PART_PAUSED)
			return false;
	for (unsigned n = 0; n < NCPUS; n++)
		if (lc_job_pending(n))
			return false;
	return true;
}

/* CPU loop steps only, until nothing moves (or a bound: a failure). */
static void settle(void)
{
	for (unsigned k = 0; k < 100000 && !quiet(); k++) {
		cpu_step(rnd(NCPUS));
		check_invariants();
	}
	assert_true(quiet());
}

/* ---- fixed sequences: the races found ---- */

static void run_jobs(void)
{
	for (unsigned n = 0; n < NCPUS; n++)
		while (lc_job_pending(n))
			lc_run_job(n);
}

static void load_vcpu0(int p)
{
	struct fake_cpu *c = &cpu[part[p].vcpu[0].cpu];
	assert_true(lc_claim(&part[p], 0));
	c->lpart = p;
	c->lidx = 0;
}

static void started(int p)
{
	assert_int_equal(lc_start(&part[p]), 0);
	assert_int_equal(part[p].state, PART_STARTING);
	run_jobs();
	assert_int_equal(part[p].state, PART_RUNNING);
}

static void test_start_stop(void **s)
{
	setup_machine();
	started(0);
	assert_int_equal(cpu[0].nlist, 1);
	load_vcpu0(0);
	assert_int_equal(lc_stop(&part[0], false, LC_OPERATOR), 0);
	assert_int_equal(part[0].state, PART_STOPPING);
	assert_int_equal(cpu[0].nlist, 0);
	assert_false(lc_job_pending(0)); /* vCPU 0 still loaded */
	unload(&cpu[0]);
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
	assert_int_equal(mem_used, 0);
	assert_int_equal(lc_stop(&part[0], false, LC_OPERATOR), -EINVAL);
}

/* The guest resets; an operator stop arrives after its CPU let go and
 * before the release finished: the stop wins, nothing restarts. */
static void test_stop_wins_over_reset(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	assert_int_equal(lc_stop(&part[0], true, LC_GUEST), 0);
	unload(&cpu[0]);
	assert_true(lc_job_pending(0));
	assert_int_equal(lc_stop(&part[0], false, LC_OPERATOR), 0);
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
	assert_int_equal(fp[0].starts, 1);
}

/* ... and during the rebuild that follows a reset. */
static void test_stop_wins_while_starting(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	lc_stop(&part[0], true, LC_GUEST);
	unload(&cpu[0]);
	lc_run_job(0); /* released: STARTING again, a build queued */
	assert_int_equal(part[0].state, PART_STARTING);
	assert_int_equal(lc_stop(&part[0], false, LC_OPERATOR), 0);
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
	assert_int_equal(mem_used, 0);
	assert_int_equal(cpu[0].nlist, 0);
}

/* A guest cannot undo an operator's stop. */
static void test_guest_reset_after_stop_ignored(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	lc_stop(&part[0], false, LC_OPERATOR);
	assert_int_equal(lc_stop(&part[0], true, LC_GUEST), -EINVAL);
	unload(&cpu[0]);
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
}

/* All vCPUs off: nothing is loaded, so the stop itself queues the release. */
static void test_stop_with_nothing_loaded(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	lc_cpu_off(&part[0], 0);
	unload(&cpu[0]);
	assert_false(lc_job_pending(0));
	assert_int_equal(lc_stop(&part[0], false, LC_OPERATOR), 0);
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
	assert_int_equal(lc_start(&part[0]), 0);
}

/* A CPU that saw the vCPU on its list cannot load it once it is stopped. */
static void test_no_claim_after_stop(void **s)
{
	setup_machine();
	started(0);
	lc_stop(&part[0], false, LC_OPERATOR);
	assert_false(lc_claim(&part[0], 0));
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
}

static void test_cpu_on_rules(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	assert_int_equal(lc_cpu_on(&part[0], 0, 0, 0), -EEXIST);
	assert_int_equal(lc_cpu_on(&part[0], 1, 0, 0), 0);
	assert_int_equal(lc_cpu_on(&part[0], 1, 0, 0), -EEXIST);
	assert_false(lc_vcpu_off(&part[0], 1));
	lc_cpu_off(&part[0], 0);
	/* still loaded: off only once its CPU let go */
	assert_false(lc_vcpu_off(&part[0], 0));
	assert_int_equal(lc_cpu_on(&part[0], 0, 0, 0), -EEXIST);
	unload(&cpu[0]);
	assert_true(lc_vcpu_off(&part[0], 0));
	lc_stop(&part[0], false, LC_OPERATOR);
	assert_int_equal(lc_cpu_on(&part[0], 0, 0, 0), -EBUSY);
}

static void test_cpus_exclusive_and_failed(void **s)
{
	setup_machine();
	started(0);
	assert_int_equal(lc_start(&part[2]), -EAGAIN); /* CPU 1 is p0's */
	assert_int_equal(lc_start(&part[0]), -EBUSY);
	lc_stop(&part[0], false, LC_OPERATOR);
	assert_int_equal(lc_start(&part[2]), -EAGAIN); /* still releasing */
	run_jobs();
	assert_int_equal(lc_start(&part[2]), 0);
	struct lc_part bad;
	lc_part_init(&bad, false, 0x8, 1);
	assert_int_equal(lc_start(&bad), -EPERM);
	assert_int_equal(lc_stop(&bad, false, LC_OPERATOR), -EINVAL);
}

/* A failed build releases what it took and does not restart. */
static void test_build_failure(void **s)
{
	setup_machine();
	fp[0].fail_next = -ENOMEM;
	assert_int_equal(lc_start(&part[0]), 0);
	run_jobs();
	assert_int_equal(part[0].state, PART_STOPPED);
	assert_int_equal(fp[0].failures, 1);
	assert_int_equal(mem_used, 0);
	started(0);
}

static void test_restart_by_operator(void **s)
{
	setup_machine();
	started(1);
	assert_int_equal(lc_stop(&part[1], true, LC_OPERATOR), 0);
	run_jobs();
	assert_int_equal(part[1].state, PART_RUNNING);
	assert_int_equal(fp[1].starts, 2);
	assert_int_equal(fp[1].stops, 1);
}

/* ---- pausing and restoring ---- */

/* A pause waits for the loaded vCPU, runs the job once, and places the
 * vCPUs again; nothing claims meanwhile. */
static void test_pause_resume(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	assert_int_equal(lc_pause(&part[0]), 0);
	assert_int_equal(part[0].state, PART_PAUSED);
	assert_int_equal(cpu[0].nlist, 0);
	assert_false(lc_job_pending(0)); /* vCPU 0 still loaded */
	assert_int_equal(lc_pause(&part[0]), -EBUSY);
	unload(&cpu[0]);
	assert_false(lc_claim(&part[0], 0));
	run_jobs();
	assert_int_equal(fp[0].pauses, 1);
	assert_int_equal(part[0].state, PART_RUNNING);
	assert_int_equal(cpu[0].nlist, 1);
	assert_true(lc_claim(&part[0], 0));
	assert_int_equal(fp[0].starts, 1); /* a resume is not a start */
	assert_int_equal(fp[0].resumes, 1);
	assert_int_equal(lc_pause(&part[1]), -EBUSY); /* stopped */
}

/* A stop while paused waits for the job and then stops: the operator's
 * wins over a guest reset that finished its exit meanwhile. */
static void test_stop_while_paused(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	assert_int_equal(lc_pause(&part[0]), 0);
	assert_int_equal(lc_stop(&part[0], false, LC_OPERATOR), 0);
	assert_int_equal(lc_stop(&part[0], true, LC_GUEST), -EINVAL); /* the operator's stands */
	unload(&cpu[0]);
	run_jobs();
	assert_int_equal(fp[0].pauses, 1);
	assert_int_equal(part[0].state, PART_STOPPED);
	assert_int_equal(fp[0].starts, 1);
	assert_int_equal(mem_used, 0);
}

/* A guest's power-off or reset issued by an exit that was finishing as the
 * pause came is not lost: it is acted on after the job. */
static void test_guest_stop_while_paused(void **s)
{
	setup_machine();
	started(0);
	load_vcpu0(0);
	assert_int_equal(lc_pause(&part[0]), 0);
	assert_int_equal(lc_stop(&part[0], true, LC_GUEST), 0);
	unload(&cpu[0]);
	run_jobs();
	assert_int_equal(fp[0].pauses, 1);
	assert_int_equal(part[0].state, PART_RUNNING); /* released and built again */
	assert_int_equal(fp[0].starts, 2);
	assert_int_equal(fp[0].stops, 1);
}

/* A restore brings up the vCPUs the snapshot had on, vCPU 0 included or not. */
static void test_restore_powers(void **s)
{
	setup_machine();
	rng = 5;
	assert_int_equal(lc_start_restore(&part[1]), 0);
	assert_true(part[1].restoring);
	run_jobs();
	assert_int_equal(fp[1].restores, 1);
	assert_int_equal(part[1].state, PART_RUNNING);
	assert_false(part[1].restoring);
	for (unsigned i = 0; i < part[1].nvcpus; i++)
		assert_int_equal(part[1].vcpu[i].power,
				 part[1].restored_on & (1u << i) ? VCPU_ON : VCPU_OFF);
	/* a plain restart afterwards boots vCPU 0 alone */
	assert_int_equal(lc_stop(&part[1], true, LC_OPERATOR), 0);
	settle();
	assert_int_equal(part[1].state, PART_RUNNING);
	assert_int_equal(fp[1].restores, 1);
	assert_int_equal(part[1].vcpu[0].power, VCPU_ON);
	assert_int_equal(part[1].vcpu[1].power, VCPU_OFF);
}

/* ---- random interleavings ---- */

static void final_states(void)
{
	/* a resetting guest keeps cycling; operator stops still win */
	guests_act = true;
	guests_poweroff = false;
	for (int i = 0; i < NPARTS; i++)
		if (intent[i] == 0 || rnd(2))
			operator(i, 1);
	run(2000);
	nesting = false; /* from here on, only the CPU loops act */
	for (int i = 0; i < NPARTS; i++)
		if (intent[i] == 0) {
			guests_act = false;
			settle();
			assert_int_equal(part[i].state, PART_STOPPED);
			guests_act = true;
		}
	/* quiet guests: what was asked to run runs */
	guests_act = false;
	settle();
	for (int i = 0; i < NPARTS; i++) {
		if (intent[i] == 1)
			assert_int_equal(part[i].state, PART_RUNNING);
		if (intent[i] == 0)
			assert_int_equal(part[i].state, PART_STOPPED);
		lc_stop(&part[i], false, LC_OPERATOR);
	}
	settle();
	for (int i = 0; i < NPARTS; i++)
		assert_int_equal(part[i].state, PART_STOPPED);
	assert_int_equal(mem_used, 0);
	for (unsigned n = 0; n < NCPUS; n++) {
		assert_int_equal(cpu[n].nlist, 0);
		assert_int_equal(cpu[n].lpart, NONE);
	}
}

static void test_random_interleavings(void **s)
{
	unsigned seeds = getenv("LC_SEEDS") ? (unsigned)atoi(getenv("LC_SEEDS")) : 3000;
	steps = 0;
	for (unsigned seed = 1; seed <= seeds; seed++) {
		rng = seed;
		setup_machine();
		nesting = true;
		guests_act = true;
		guests_poweroff = seed & 1;
		if (seed % 7 == 0)
			fp[seed % NPARTS].fail_next = -ENOMEM;
		run(3000);
		final_states();
	}
	print_message("%u seeds, %u steps\n", seeds, steps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_start_stop),
	    cmocka_unit_test(test_stop_wins_over_reset),
	    cmocka_unit_test(test_stop_wins_while_starting),
	    cmocka_unit_test(test_guest_reset_after_stop_ignored),
	    cmocka_unit_test(test_stop_with_nothing_loaded),
	    cmocka_unit_test(test_no_claim_after_stop),
	    cmocka_unit_test(test_cpu_on_rules),
	    cmocka_unit_test(test_cpus_exclusive_and_failed),
	    cmocka_unit_test(test_build_failure),
	    cmocka_unit_test(test_restart_by_operator),
	    cmocka_unit_test(test_pause_resume),
	    cmocka_unit_test(test_stop_while_paused),
	    cmocka_unit_test(test_guest_stop_while_paused),
	    cmocka_unit_test(test_restore_powers),
	    cmocka_unit_test(test_random_interleavings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

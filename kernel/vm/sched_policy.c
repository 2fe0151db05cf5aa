/*
 * The scheduling policy engine of one CPU: which of its vCPUs runs now and
 * until when. The caller (sched.c) tells it what became ready or blocked
 * and asks again at every scheduling point and at the returned deadline;
 * between two calls the running vCPU is charged for the time that passed.
 * Deadlines are exact event times (window boundary, budget exhaustion,
 * replenishment, slice end) so one one-shot timer suffices.
 */
#include "kernel/vm/sched_policy.h"
#include <errno.h>

const char *sp_policy_name(enum sched_policy p)
{
	static const char *const names[] = {"default", "pinned", "cyclic", "priority"};
	return (unsigned)p < ARRAY_SIZE(names) ? names[p] : "?";
}

void sp_init(struct sp_cpu *c, enum sched_policy policy, uint64_t frame, uint64_t slice,
	     uint64_t ticks_per_us, uint64_t now)
{
	*c = (struct sp_cpu){.policy = policy,
			     .frame = frame,
			     .slice = slice ? slice : 1,
			     .ticks_per_us = ticks_per_us ? ticks_per_us : 1,
			     .epoch = now,
			     .cur = SP_NONE,
			     .last = SP_NONE,
			     .since = now};
}

int sp_add_window(struct sp_cpu *c, uint64_t start, uint64_t len, int part)
{
	uint64_t prev_end = c->nwin ? c->win[c->nwin - 1].end : 0;
	if (c->nwin == SP_MAX_WINDOWS || !len || start < prev_end || start + len > c->frame)
		return -EINVAL;
	c->win[c->nwin++] = (struct sp_window){start, start + len, part};
	return 0;
}

int sp_add_vcpu(struct sp_cpu *c, int part, unsigned prio, uint64_t budget, uint64_t period,
		uint64_t now)
{
	if (c->n == SP_MAX_VCPUS || (budget && (!period || budget > period)))
		return -1;
	c->v[c->n] = (struct sp_vcpu){.part = part,
				      .prio = prio,
				      .budget = budget,
				      .period = budget ? period : 0,
				      .left = (int64_t)budget,
				      .repl_at = budget ? now + period : UINT64_MAX};
	return (int)c->n++;
}

void sp_wake(struct sp_cpu *c, int i, uint64_t now)
{
	struct sp_vcpu *v = &c->v[i];
	if (v->ready)
		return;
	v->ready = v->fresh = true;
	v->ready_at = now;
	v->st.wakeups++;
}

void sp_block(struct sp_cpu *c, int i, uint64_t now)
{
	c->v[i].ready = c->v[i].fresh = false;
}

/* ---- accounting ---- */

static void replenish(struct sp_vcpu *v, uint64_t now)
{
	if (!v->budget || now < v->repl_at)
		return;
	uint64_t periods = (now - v->repl_at) / v->period + 1;
	/* a debt (a preemption that came late) is paid from the next budget;
	 * unused budget is not saved up */
	int64_t left = v->left + (int64_t)(periods * v->budget);
	v->left = left < (int64_t)v->budget ? left : (int64_t)v->budget;
	v->repl_at += periods * v->period;
	v->throttled = v->left <= 0;
}

static void charge(struct sp_cpu *c, uint64_t now)
{
	if (c->cur == SP_NONE || now <= c->since) {
		c->since = MAX(c->since, now);
		return;
	}
	struct sp_vcpu *v = &c->v[c->cur];
	uint64_t ran = now - c->since;
	v->st.runtime += ran;
	c->since = now;
	if (!v->budget)
		return;
	v->left -= (int64_t)ran;
	if (v->left <= 0 && !v->throttled) {
		v->throttled = true;
		if (v->ready) /* it wanted more than its budget */
			v->st.overruns++;
	}
}

static unsigned bucket(const struct sp_cpu *c, uint64_t lat)
{
	uint64_t bound = 10 * c->ticks_per_us;
	unsigned b = 0;
	for (; b < SP_HIST - 1 && lat >= bound; b++)
		bound *= 10;
	return b;
}

static void started(struct sp_cpu *c, int i, uint64_t now)
{
	struct sp_vcpu *v = &c->v[i];
	if (!v->fresh)
		return;
	uint64_t lat = now - v->ready_at;
	v->fresh = false;
	v->st.hist[bucket(c, lat)]++;
	v->st.lat_max = MAX(v->st.lat_max, lat);
}

/* ---- choosing ---- */

/* Round robin among the candidates: cur keeps the CPU while its slice
 * lasts, otherwise the first candidate after the last one run takes it. *others: another candidate
 * is waiting for a turn. */
static int round_robin(struct sp_cpu *c, const bool *cand, uint64_t now, bool *others)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->n; i++)
		n += cand[i];
	*others = n > 1;
	if (!n)
		return SP_NONE;
	if (c->cur != SP_NONE && cand[c->cur] && now < c->slice_end)
		return c->cur;
	unsigned from = c->last == SP_NONE ? c->n - 1 : (unsigned)c->last;
	for (unsigned k = 1; k <= c->n; k++) {
		unsigned i = (from + k) % c->n;
		if (cand[i])
			return (int)i;
	}
	return SP_NONE; /* not reached: n > 0 */
}

/* The window at now, its owner, and when it ends (the next boundary:
 * the end of a window, or the start of the next after an idle gap). */
static int window_at(const struct sp_cpu *c, uint64_t now, uint64_t *until)
{
	if (!c->frame || now < c->epoch) {
		*until = c->frame ? c->epoch : UINT64_MAX;
		return SP_NONE;
	}
	uint64_t pos = (now - c->epoch) % c->frame, base = now - pos;
	for (unsigned w = 0; w < c->nwin; w++) {
		if (pos < c->win[w].start) {
			*until = base + c->win[w].start;
			return SP_NONE;
		}
		if (pos < c->win[w].end) {
			*until = base + c->win[w].end;
			return c->win[w].part;
		}
	}
	*until = base + c->frame + (c->nwin ? c->win[0].start : 0);
	return SP_NONE;
}

static struct sp_pick decide_cyclic(struct sp_cpu *c, uint64_t now)
{
	bool cand[SP_MAX_VCPUS] = {false}, others;
	struct sp_pick r;
	int owner = window_at(c, now, &r.until);
	for (unsigned i = 0; i < c->n; i++)
		cand[i] = owner != SP_NONE && c->v[i].ready && c->v[i].part == owner;
	r.vcpu = round_robin(c, cand, now, &others);
	if (r.vcpu != SP_NONE && others)
		r.until = MIN(r.until, r.vcpu == c->cur && now < c->slice_end ? c->slice_end
									      : now + c->slice);
	return r;
}

static struct sp_pick decide_priority(struct sp_cpu *c, uint64_t now)
{
	bool cand[SP_MAX_VCPUS] = {false}, others;
	struct sp_pick r = {SP_NONE, UINT64_MAX};
	int best = -1;
	for (unsigned i = 0; i < c->n; i++)
		if (c->v[i].ready && !c->v[i].throttled)
			best = MAX(best, (int)c->v[i].prio);
	for (unsigned i = 0; i < c->n; i++)
		cand[i] = c->v[i].ready && !c->v[i].throttled && (int)c->v[i].prio == best;
	r.vcpu = round_robin(c, cand, now, &others);
	if (r.vcpu != SP_NONE) {
		struct sp_vcpu *v = &c->v[r.vcpu];
		if (others)
			r.until =
			    r.vcpu == c->cur && now < c->slice_end ? c->slice_end : now + c->slice;
		if (v->budget) /* exhaustion, and its own refill so it is charged per period */
			r.until = MIN(r.until, MIN(now + (uint64_t)v->left, v->repl_at));
	}
	/* a throttled vCPU coming back may preempt */
	for (unsigned i = 0; i < c->n; i++)
		if (c->v[i].ready && c->v[i].throttled)
			r.until = MIN(r.until, c->v[i].repl_at);
	return r;
}

struct sp_pick sp_decide(struct sp_cpu *c, uint64_t now)
{
	struct sp_pick r = {SP_NONE, UINT64_MAX};
	charge(c, now);
	for (unsigned i = 0; i < c->n; i++)
		replenish(&c->v[i], now);
	switch (c->policy) {
	case SCHED_CYCLIC:
		r = decide_cyclic(c, now);
		break;
	case SCHED_PRIORITY:
		r = decide_priority(c, now);
		break;
	default: /* pinned (and default): the first ready vCPU, no deadline */
		for (unsigned i = 0; i < c->n && r.vcpu == SP_NONE; i++)
			if (c->v[i].ready)
				r.vcpu = (int)i;
		break;
	}
	if (r.vcpu != SP_NONE && (r.vcpu != c->cur || now >= c->slice_end))
		c->slice_end = now + c->slice;
	if (r.vcpu != SP_NONE) {
		started(c, r.vcpu, now);
		c->last = r.vcpu;
	}
	c->cur = r.vcpu;
	c->since = now;
	return r;
}

/*
 * The partition lifecycle: the one place a partition's state or a vCPU's
 * power state changes. Every transition happens under lc_lock (one lock
 * for all partitions, so a start's check that its CPUs are free cannot race
 * another start). Nothing here touches hardware: partition.c supplies the
 * operations, and host tests run this file against fakes.
 *
 *            start                build done
 *   STOPPED ------> STARTING -------------------> RUNNING
 *      ^               |  (stop asked while                |
 *      |               |   starting, or build failed)      | stop, restart,
 *      |               v                                   | guest off/reset
 *      +---------- STOPPING <------------------------------+
 *     released    (restart set: released -> STARTING directly)
 *
 *   FAILED: the configuration is invalid; nothing moves it.
 *
 * Who moves what:
 * - An operator (shell, autostart) starts, stops and restarts. A stop
 *   always wins: in STOPPING it clears a pending restart, in STARTING it
 *   is remembered (stop_asked) and acted on when the build ends.
 * - A guest (PSCI SYSTEM_OFF/RESET, a fatal exit) can only stop a RUNNING
 *   partition; in any other state its request is ignored, so it can never
 *   undo an operator's stop.
 * - The CPU loops claim a vCPU (lc_claim) before loading it and unclaim it
 *   after unloading it. A claim succeeds only while RUNNING with the vCPU
 *   on, so no CPU loads a vCPU whose partition is being built or released.
 * - Building and releasing (long work: zeroing RAM, loading images) run as
 *   a job on the partition's job CPU, outside the lock with interrupts
 *   allowed. A release is queued when the partition is STOPPING and no
 *   vCPU is claimed, by whichever of lc_stop or lc_unclaim sees that first.
 * - vCPU power: CPU_ON turns a vCPU on (RUNNING only, and only once its
 *   CPU has let go of it), CPU_OFF turns the caller off; its CPU unloads it.
 *
 * Lock order: lc_lock, then what the operations take (vgic, uart, memory
 * and log locks).
 */
#include "kernel/vm/lifecycle.h"
#include "lib/lock.h"
#include <errno.h>

static struct spinlock lc_lock;
static const struct lc_ops *ops;
static struct lc_part *parts[LC_MAX_PARTS];
static unsigned nparts;
static struct lc_part *volatile job_of[LC_MAX_CPUS];

void lc_init(const struct lc_ops *o)
{
	ops = o;
	nparts = 0;
	for (unsigned c = 0; c < LC_MAX_CPUS; c++)
		job_of[c] = NULL;
}

static unsigned lowest_cpu(uint64_t mask)
{
	return mask ? (unsigned)__builtin_ctzll(mask) : 0;
}

void lc_part_init(struct lc_part *p, bool valid, uint64_t cpu_mask, unsigned nvcpus)
{
	*p = (struct lc_part){.state = valid ? PART_STOPPED : PART_FAILED,
			      .cpu_mask = cpu_mask,
			      .nvcpus = nvcpus < LC_MAX_VCPUS ? nvcpus : LC_MAX_VCPUS,
			      .job_cpu = lowest_cpu(cpu_mask)};
	if (nparts < LC_MAX_PARTS)
		parts[nparts++] = p;
}

static bool holds_cpus(const struct lc_part *q)
{
	return q->state != PART_STOPPED && q->state != PART_FAILED;
}

/* No other partition holds (runs on, builds on or releases on) our CPUs. */
static bool cpus_free(const struct lc_part *p)
{
	for (unsigned i = 0; i < nparts; i++)
		if (parts[i] != p && holds_cpus(parts[i]) && (parts[i]->cpu_mask & p->cpu_mask))
			return false;
	return ops->cpus_usable(p->cpu_mask);
}

static void queue_job(struct lc_part *p, enum lc_job job)
{
	p->job = (uint8_t)job;
	__atomic_store_n(&job_of[p->job_cpu], p, __ATOMIC_RELEASE);
	ops->kick(p->job_cpu);
}

static bool any_claimed(const struct lc_part *p)
{
	for (unsigned i = 0; i < p->nvcpus; i++)
		if (p->vcpu[i].loaded)
			return true;
	return false;
}

static void begin_build(struct lc_part *p)
{
	p->state = PART_STARTING;
	p->restart = p->stop_asked = false;
	for (unsigned i = 0; i < p->nvcpus; i++)
		p->vcpu[i].power = i == 0 ? VCPU_ON : VCPU_OFF;
	queue_job(p, LC_JOB_BUILD);
}

/* RUNNING -> STOPPING: the vCPUs leave their CPUs; if none is loaded
 * (all turned off), nobody will unclaim, so the release is queued now. */
static void begin_stop(struct lc_part *p, bool restart)
{
	p->state = PART_STOPPING;
	p->restart = restart;
	ops->unplace(p);
	if (!any_claimed(p))
		queue_job(p, LC_JOB_RELEASE);
}

int lc_start(struct lc_part *p)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	int e = 0;
	if (p->state == PART_FAILED)
		e = -EPERM;
	else if (p->state != PART_STOPPED)
		e = -EBUSY;
	else if (!cpus_free(p))
		e = -EAGAIN;
	else
		begin_build(p);
	spin_unlock_irqrestore(&lc_lock, f);
	return e;
}

static int operator_stop(struct lc_part *p, bool restart)
{
	switch (p->state) {
	case PART_RUNNING:
		begin_stop(p, restart);
		return 0;
	case PART_STARTING:
		p->stop_asked = true;
		p->restart = restart;
		return 0;
	case PART_STOPPING:
		p->restart = restart; /* the latest operator request wins */
		return 0;
	default:
		return -EINVAL;
	}
}

int lc_stop(struct lc_part *p, bool restart, enum lc_who who)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	int e = -EINVAL;
	if (who == LC_OPERATOR)
		e = operator_stop(p, restart);
	else if (p->state == PART_RUNNING) {
		begin_stop(p, restart);
		e = 0;
	}
	spin_unlock_irqrestore(&lc_lock, f);
	return e;
}

bool lc_claim(struct lc_part *p, unsigned idx)
{
	struct lc_vcpu *v = &p->vcpu[idx];
	uint64_t f = spin_lock_irqsave(&lc_lock);
	bool ok = p->state == PART_RUNNING && v->power == VCPU_ON && !v->loaded;
	if (ok)
		v->loaded = true;
	spin_unlock_irqrestore(&lc_lock, f);
	return ok;
}

void lc_unclaim(struct lc_part *p, unsigned idx)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	p->vcpu[idx].loaded = false;
	if (p->state == PART_STOPPING && p->job == LC_JOB_NONE && !any_claimed(p))
		queue_job(p, LC_JOB_RELEASE);
	spin_unlock_irqrestore(&lc_lock, f);
}

bool lc_job_pending(unsigned cpu)
{
	return cpu < LC_MAX_CPUS && __atomic_load_n(&job_of[cpu], __ATOMIC_ACQUIRE);
}

/* A build ended (e = its result): run, or release what was built. */
static void built(struct lc_part *p, int e)
{
	if (e || p->stop_asked) {
		bool restart = !e && p->restart;
		p->state = PART_STOPPING;
		if (e)
			ops->note(p, LC_START_FAILED, e);
		p->restart = restart;
		queue_job(p, LC_JOB_RELEASE);
		return;
	}
	p->state = PART_RUNNING;
	ops->note(p, LC_STARTED, 0);
	ops->place(p);
}

/* The state moves before the note is printed: whoever reads "stopped"
 * and then asks finds it so, and a restart never shows STOPPED (state is
 * read without the lock) while it is about to take its memory again. */
static void released(struct lc_part *p)
{
	if (p->restart)
		begin_build(p);
	else
		p->state = PART_STOPPED;
	ops->note(p, LC_STOPPED, 0);
}

static void finish_job(unsigned cpu, struct lc_part *p, enum lc_job job, int e)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	p->job = LC_JOB_NONE;
	__atomic_store_n(&job_of[cpu], NULL, __ATOMIC_RELEASE);
	if (job == LC_JOB_BUILD)
		built(p, e);
	else
		released(p);
	spin_unlock_irqrestore(&lc_lock, f);
}

void lc_run_job(unsigned cpu)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	struct lc_part *p = cpu < LC_MAX_CPUS ? job_of[cpu] : NULL;
	enum lc_job job = p ? (enum lc_job)p->job : LC_JOB_NONE;
	spin_unlock_irqrestore(&lc_lock, f);
	if (job == LC_JOB_NONE)
		return;
	/* only this CPU runs p's jobs, and nothing else moves p meanwhile:
	 * STARTING and a queued release refuse claims and builds */
	int e = 0;
	if (job == LC_JOB_BUILD)
		e = ops->build(p);
	else
		ops->release(p);
	finish_job(cpu, p, job, e);
}

int lc_cpu_on(struct lc_part *p, unsigned idx, uint64_t entry, uint64_t arg)
{
	struct lc_vcpu *v = &p->vcpu[idx];
	uint64_t f = spin_lock_irqsave(&lc_lock);
	int e = 0;
	if (p->state != PART_RUNNING)
		e = -EBUSY;
	else if (v->power == VCPU_ON || v->loaded)
		e = -EEXIST;
	else {
		ops->reset_vcpu(p, idx, entry, arg);
		__atomic_store_n(&v->power, VCPU_ON, __ATOMIC_RELEASE);
		ops->kick(v->cpu);
	}
	spin_unlock_irqrestore(&lc_lock, f);
	return e;
}

void lc_cpu_off(struct lc_part *p, unsigned idx)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	p->vcpu[idx].power = VCPU_OFF;
	spin_unlock_irqrestore(&lc_lock, f);
}

bool lc_vcpu_off(const struct lc_part *p, unsigned idx)
{
	const struct lc_vcpu *v = &p->vcpu[idx];
	return v->power == VCPU_OFF && !v->loaded;
}

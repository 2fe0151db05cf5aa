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
 *            pause           paused job done
 *   RUNNING ------> PAUSED --------------------> RUNNING
 *                     (a stop asked meanwhile: -> STOPPING instead)
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
 * - Pausing (a snapshot save) takes the vCPUs off their CPUs as a stop
 *   does, but runs the paused job instead of a release and then places
 *   them again. A stop meanwhile, operator's or guest's (a vCPU may be
 *   finishing an exit that asks for one), is remembered as in STARTING and
 *   acted on after the job, the operator's winning.
 * - A restore is a start whose build restores a snapshot: the vCPUs the
 *   snapshot had on come up on, instead of vCPU 0 alone.
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

void lc_init(const struct lc_ops *o)
{
	ops = o;
	nparts = 0;
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

void lc_part_share(struct lc_part *p, uint64_t shared)
{
	p->cpu_shared = shared & p->cpu_mask;
	if (p->cpu_mask & ~p->cpu_shared)
		p->job_cpu = lowest_cpu(p->cpu_mask & ~p->cpu_shared);
}

static bool holds_cpus(const struct lc_part *q)
{
	return q->state != PART_STOPPED && q->state != PART_FAILED;
}

/* No other partition holds (runs on, builds on or releases on) our CPUs,
 * but for those both may share. */
static bool cpus_free(const struct lc_part *p)
{
	for (unsigned i = 0; i < nparts; i++) {
		const struct lc_part *q = parts[i];
		if (q != p && holds_cpus(q) &&
		    (q->cpu_mask & p->cpu_mask & ~(q->cpu_shared & p->cpu_shared)))
			return false;
	}
	return ops->cpus_usable(p->cpu_mask);
}

static void queue_job(struct lc_part *p, enum lc_job job)
{
	__atomic_store_n(&p->job, (uint8_t)job, __ATOMIC_RELEASE);
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
	p->restart = p->stop_asked = p->stop_by_op = false;
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

static int start(struct lc_part *p, bool restoring)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	int e = 0;
	if (p->state == PART_FAILED)
		e = -EPERM;
	else if (p->state != PART_STOPPED)
		e = -EBUSY;
	else if (!cpus_free(p))
		e = -EAGAIN;
	else {
		p->restoring = restoring;
		begin_build(p);
	}
	spin_unlock_irqrestore(&lc_lock, f);
	return e;
}

int lc_start(struct lc_part *p)
{
	return start(p, false);
}

int lc_start_restore(struct lc_part *p)
{
	return start(p, true);
}

int lc_pause(struct lc_part *p)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	int e = p->state == PART_FAILED ? -EPERM : p->state != PART_RUNNING ? -EBUSY : 0;
	if (!e) {
		p->state = PART_PAUSED;
		p->stop_asked = p->stop_by_op = false;
		ops->unplace(p);
		if (!any_claimed(p))
			queue_job(p, LC_JOB_PAUSED);
	}
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
	case PART_PAUSED:
		p->stop_asked = p->stop_by_op = true;
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
	} else if (p->state == PART_PAUSED && !p->stop_by_op) {
		p->stop_asked = true;
		p->restart = restart;
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
	if (p->job == LC_JOB_NONE && !any_claimed(p)) {
		if (p->state == PART_STOPPING)
			queue_job(p, LC_JOB_RELEASE);
		else if (p->state == PART_PAUSED)
			queue_job(p, LC_JOB_PAUSED);
	}
	spin_unlock_irqrestore(&lc_lock, f);
}

/* The first partition with a job queued on cpu (partitions sharing a CPU
 * may share their job CPU too); read without the lock as a hint, or under
 * it. */
static struct lc_part *job_on(unsigned cpu)
{
	for (unsigned i = 0; i < nparts; i++)
		if (parts[i]->job_cpu == cpu &&
		    __atomic_load_n(&parts[i]->job, __ATOMIC_ACQUIRE) != LC_JOB_NONE)
			return parts[i];
	return NULL;
}

bool lc_job_pending(unsigned cpu)
{
	return job_on(cpu) != NULL;
}

/* A build ended (e = its result): run, or release what was built. */
static void built(struct lc_part *p, int e)
{
	if (e || p->stop_asked) {
		bool restart = !e && p->restart;
		p->restoring = false;
		p->state = PART_STOPPING;
		if (e)
			ops->note(p, LC_START_FAILED, e);
		p->restart = restart;
		queue_job(p, LC_JOB_RELEASE);
		return;
	}
	if (p->restoring)
		for (unsigned i = 0; i < p->nvcpus; i++)
			p->vcpu[i].power = p->restored_on & BIT(i) ? VCPU_ON : VCPU_OFF;
	p->restoring = false;
	p->state = PART_RUNNING;
	ops->note(p, LC_STARTED, 0);
	ops->place(p);
}

/* The paused job ended: run again, or stop as asked meanwhile. */
static void resumed(struct lc_part *p)
{
	if (p->stop_asked) {
		begin_stop(p, p->restart);
		return;
	}
	p->state = PART_RUNNING;
	ops->note(p, LC_RESUMED, 0);
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
	__atomic_store_n(&p->job, LC_JOB_NONE, __ATOMIC_RELEASE);
	if (job == LC_JOB_BUILD)
		built(p, e);
	else if (job == LC_JOB_PAUSED)
		resumed(p);
	else
		released(p);
	spin_unlock_irqrestore(&lc_lock, f);
}

void lc_run_job(unsigned cpu)
{
	uint64_t f = spin_lock_irqsave(&lc_lock);
	struct lc_part *p = job_on(cpu);
	enum lc_job job = p ? (enum lc_job)p->job : LC_JOB_NONE;
	spin_unlock_irqrestore(&lc_lock, f);
	if (job == LC_JOB_NONE)
		return;
	/* only this CPU runs p's jobs, and nothing else moves p meanwhile:
	 * STARTING and a queued release refuse claims and builds */
	int e = 0;
	if (job == LC_JOB_BUILD)
		e = ops->build(p);
	else if (job == LC_JOB_PAUSED)
		ops->paused(p);
	else
		ops->release(p);
	finish_job(cpu, p, job, e);
}

int lc_cpu_on(struct lc_part *p, unsigned idx, uint64_t entry, uint64_t arg)
{
	struct lc_vcpu *v = &p->vcpu[idx];
	uint64_t f = spin_lock_irqsave(&lc_lock);
	int e = 0;
	/* PAUSED too: the caller's exit may have begun before the pause */
	if (p->state != PART_RUNNING && p->state != PART_PAUSED)
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

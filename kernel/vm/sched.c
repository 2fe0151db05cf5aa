/*
 * The per-CPU loop. Each physical CPU runs the vCPUs pinned to it (the list
 * at percpu.vcpu, set by partition start/stop on any CPU), loads and
 * unloads vCPU state on this CPU only, and sleeps in WFI when nothing is
 * runnable. Several vCPUs on one CPU share it round robin: a slice ends
 * after SLICE_MS (the EL2 timer forces the exit) or when the vCPU waits in
 * WFI. A vCPU alone on its CPU waits in the guest instead (WFI does not
 * trap: the CPU has nothing else to run, and any interrupt for it exits).
 * Requests from other CPUs arrive as a field change plus SGI_KICK; an
 * interrupt for a vCPU as SGI_VIRQ (the fast exit path's, fast_exit.c).
 *
 * A CPU whose /scheduler policy is cyclic or priority (docs/config.md) is
 * an engine CPU instead: every vCPU that may run there (of any partition)
 * is in its table, the policy engine (sched_policy.c) decides at every
 * turn which one runs, and the EL2 timer is armed once for the next
 * scheduling event it names (or a waiting vCPU's timer): tickless. WFI
 * always gives the CPU back to the engine there.
 */
#include "kernel/vm/vm.h"
#include "kernel/io/io.h"
#include <errno.h>
#include <stdio.h>

#define SLICE_MS   10
#define ICH_HCR_EN BIT(0)

void sched_kick(unsigned pcpu)
{
	dsb(ishst);
	if (pcpu != this_cpu()->id)
		gic_send_sgi(pcpu, SGI_KICK);
}

void sched_kick_virq(unsigned pcpu)
{
	dsb(ishst);
	if (pcpu != this_cpu()->id)
		gic_send_sgi(pcpu, SGI_VIRQ);
}

/* A hint read without the lock: lc_claim decides. */
static bool runnable(const struct vcpu *v)
{
	return v && vcpu_power(v) == VCPU_ON && partition_state(v->part) == PART_RUNNING;
}

static bool on_list(const struct vcpu *head, const struct vcpu *v)
{
	for (; head; head = head->next_on_cpu)
		if (head == v)
			return true;
	return false;
}

/* Its saved virtual timer (it is not loaded) has fired. */
static bool timer_due(const struct vcpu *v)
{
	uint64_t ctl = v->ctx.cntv_ctl;
	uint64_t vnow = timer_now() - v->part->cntvoff;
	return (ctl & 1) && !(ctl & 2) && v->ctx.cntv_cval <= vnow;
}

/* A waiting vCPU becomes eligible again on an interrupt or its timer. */
static bool eligible(struct vcpu *v)
{
	if (!runnable(v))
		return false;
	if (v->waiting &&
	    (vgic_pending(&v->part->vgic, v->idx) || timer_due(v) || vcpu_wake_due(v, timer_now())))
		v->waiting = false;
	return !v->waiting;
}

/* Round robin: the first eligible vCPU after cur (wrapping), cur last. */
static struct vcpu *pick(struct vcpu *head, struct vcpu *cur)
{
	struct vcpu *v = cur ? cur->next_on_cpu : head;
	for (unsigned n = 0; n < 2 * GUEST_MAX_VCPUS; n++, v = v ? v->next_on_cpu : head) {
		if (!v)
			continue;
		if (eligible(v))
			return v;
		if (v == cur)
			break;
	}
	return NULL;
}

/* ---- engine CPUs (cyclic, priority) ---- */

struct engine {
	bool on;
	struct vcpu *v[SP_MAX_VCPUS]; /* the engine's vCPU i */
	/* its partition and index: v[i] is all zero until the partition's
	 * first build (and rewritten by each), so look at it only while its
	 * partition runs */
	struct partition *part[SP_MAX_VCPUS];
	unsigned idx[SP_MAX_VCPUS];
	struct sp_cpu sp;
};
static struct engine engines[MAX_CPUS];
static enum sched_policy policies[MAX_CPUS];

static bool engine_cpu(unsigned cpu)
{
	return cpu < MAX_CPUS && engines[cpu].on;
}

static bool engine_running(const struct engine *e, unsigned i)
{
	return partition_state(e->part[i]) == PART_RUNNING;
}

bool sched_others_eligible(struct vcpu *self)
{
	if (engine_cpu(this_cpu()->id))
		return true; /* WFI blocks: the engine decides who runs meanwhile */
	for (struct vcpu *v = this_cpu()->vcpu; v; v = v->next_on_cpu)
		if (v != self && eligible(v))
			return true;
	return false;
}

/* The EL2 timer ends a slice, or wakes the CPU for a waiting vCPU's timer;
 * an expiry only needs the exit or wake-up it causes (timer_hyp_irq masks
 * it). */
static void arm_hyp_timer(uint64_t when)
{
	when = MIN(when, disk_next_poll()); /* the disk shares this timer */
	write_sysreg(cnthp_cval_el2, when);
	write_sysreg(cnthp_ctl_el2, 1);
	isb();
}

/* When the first waiting (unloaded) vCPU's timer fires, or UINT64_MAX. */
static uint64_t earliest_wakeup(struct vcpu *head)
{
	uint64_t when = UINT64_MAX;
	for (struct vcpu *v = head; v; v = v->next_on_cpu) {
		if (!runnable(v) || !v->waiting)
			continue;
		if ((v->ctx.cntv_ctl & 3) == 1)
			when = MIN(when, v->ctx.cntv_cval + v->part->cntvoff);
		when = MIN(when, v->wake_at); /* WFIT's deadline, or UINT64_MAX */
	}
	return when;
}

/* The same over an engine CPU's table. */
static uint64_t engine_wakeup(const struct engine *e)
{
	uint64_t when = UINT64_MAX;
	for (unsigned i = 0; i < e->sp.n; i++) {
		const struct vcpu *v = e->v[i];
		if (!engine_running(e, i) || !runnable(v) || !v->waiting)
			continue;
		if ((v->ctx.cntv_ctl & 3) == 1)
			when = MIN(when, v->ctx.cntv_cval + v->part->cntvoff);
		when = MIN(when, v->wake_at);
	}
	return when;
}

static void arm_wakeup(struct vcpu *head)
{
	uint64_t when = MIN(earliest_wakeup(head), disk_next_poll());
	if (when != UINT64_MAX)
		arm_hyp_timer(when);
}

/* A shared CPU: the running vCPU must exit when its slice ends or when a
 * waiting one's timer fires (nothing else would make it exit then). */
static void arm_shared(struct vcpu *head, uint64_t *slice_end)
{
	uint64_t now = timer_now();
	if (!head || !head->next_on_cpu)
		return;
	if (now >= *slice_end)
		*slice_end = now + timer_ns_to_ticks(SLICE_MS * 1000000ull);
	arm_hyp_timer(MIN(*slice_end, earliest_wakeup(head)));
}

static void load(struct vcpu *v)
{
	struct partition *p = v->part;
	vtcr_set(p->vtcr);
	stage2_load(p->vttbr);
	write_sysreg(cntvoff_el2, p->cntvoff);
	vcpu_ctx_load(&v->ctx);
	vcpu_fp_load(&v->ctx);
	ich_hcr_write(ICH_HCR_EN); /* stays set while the vCPU is loaded */
	guest_hcr_set(true);
	this_cpu()->loaded = v;
}

/* The guest's timers stop and their interrupts, possibly forwarded and
 * still active, are deactivated so the next guest starts clean. */
static void unload(struct vcpu *v)
{
	vcpu_ctx_save(&v->ctx);
	vcpu_fp_put(&v->ctx);
	gic_deactivate(PPI_VTIMER);
	gic_deactivate(PPI_PTIMER);
	vgic_unload(&v->part->vgic, v->idx);
	ich_hcr_write(0);
	guest_hcr_set(false);
	stage2_load(0);
	__atomic_store_n(&this_cpu()->loaded, NULL, __ATOMIC_RELEASE);
	lc_unclaim(&v->part->lc, v->idx);
}

/* Hypervisor work that belongs to no partition (the snapshot commands
 * list, verify, delete): at most one per CPU, run between vCPUs like a
 * partition's job. */
static struct sched_job *volatile cpu_job[MAX_CPUS];

int sched_job(unsigned cpu, struct sched_job *j)
{
	struct sched_job *none = NULL;
	if (cpu >= MAX_CPUS || !percpu_data[cpu].online)
		return -EINVAL;
	if (!__atomic_compare_exchange_n(&cpu_job[cpu], &none, j, false, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		return -EBUSY;
	sched_kick(cpu);
	return 0;
}

static bool cpu_job_pending(unsigned cpu)
{
	return __atomic_load_n(&cpu_job[cpu], __ATOMIC_ACQUIRE) != NULL;
}

/* Taken off the slot before it runs: from then on sched_job_cancel fails
 * and the next job may be queued. */
static void run_cpu_job(struct percpu *c)
{
	struct sched_job *j = __atomic_exchange_n(&cpu_job[c->id], NULL, __ATOMIC_ACQUIRE);
	if (!j)
		return; /* cancelled meanwhile */
	irq_enable();
	j->fn(j);
	irq_disable();
}

bool sched_job_cancel(unsigned cpu, struct sched_job *j)
{
	return cpu < MAX_CPUS && __atomic_compare_exchange_n(&cpu_job[cpu], &j, NULL, false,
							     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* Building or releasing a partition (lifecycle.c) is long: interrupts
 * stay open meanwhile so this CPU keeps answering (the shell on CPU 0). */
static void run_job(struct percpu *c)
{
	irq_enable();
	lc_run_job(c->id);
	irq_disable();
}

/* Sleeps until an interrupt; checks and sleeps with IRQs masked so a wake-up
 * between the two is not lost (WFI wakes on a pending masked IRQ). */
void sched_idle(void)
{
	wfi();
	irq_enable();
	isb();
	irq_disable();
}

static void run_once(struct vcpu *v)
{
	struct partition *p = v->part;
	uint64_t maint = vgic_flush(&p->vgic, v->idx);
	/* Maintenance interrupts (underflow, no pending) only while the guest
	 * runs: at EL2 they would fire until the next flush. */
	if (maint)
		ich_hcr_write(ICH_HCR_EN | maint);
	unsigned kind = guest_enter(&v->ctx);
	if (maint)
		ich_hcr_write(ICH_HCR_EN);
	vgic_sync(&p->vgic, v->idx);
	this_cpu()->exits++;
	vcpu_handle_exit(v, kind);
}

/* Whether cur must leave the CPU: gone from the list, stopped, waiting
 * while others can run, or its slice is over and another vCPU is eligible. */
static bool must_leave(struct vcpu *head, struct vcpu *cur, uint64_t slice_end)
{
	if (!on_list(head, cur) || !runnable(cur) || cpu_job_pending(this_cpu()->id))
		return true;
	if (cur->waiting)
		return true;
	return timer_now() >= slice_end && sched_others_eligible(cur);
}

static unsigned nth_cpu(uint64_t mask, unsigned n)
{
	for (unsigned c = 0; c < 64; c++)
		if ((mask & BIT(c)) && n-- == 0)
			return c;
	return 0;
}

static uint64_t us_ticks(uint64_t us)
{
	return timer_ns_to_ticks(us * 1000);
}

/* The vCPUs of every valid partition that go to cpu (as init_vcpus puts
 * them), with their scheduling parameters. */
static void engine_add_vcpus(struct engine *e, unsigned cpu, uint64_t now)
{
	for (unsigned i = 0; i < npartitions; i++) {
		struct partition *p = &partitions[i];
		const struct part_cfg *pc = &p->cfg;
		unsigned ncpus = (unsigned)__builtin_popcountll(pc->cpu_mask);
		bool prio = e->sp.policy == SCHED_PRIORITY;
		if (!pc->valid || !(pc->cpu_mask & BIT(cpu)))
			continue;
		for (unsigned k = 0; k < pc->vcpus; k++) {
			if (nth_cpu(pc->cpu_mask, k % ncpus) != cpu)
				continue;
			int at = sp_add_vcpu(&e->sp, (int)i, prio ? pc->sched_prio : 0,
					     prio ? us_ticks(pc->sched_budget_us) : 0,
					     prio ? us_ticks(pc->sched_period_us) : 0, now);
			if (at < 0)
				continue;
			e->v[at] = &p->vcpus[k];
			e->part[at] = p;
			e->idx[at] = k;
		}
	}
}

void sched_configure(const struct sched_cfg *s)
{
	uint64_t now = timer_now();
	for (unsigned cpu = 0; cpu < MAX_CPUS; cpu++) {
		const struct sched_cpu_cfg *c = &s->cpu[cpu];
		struct engine *e = &engines[cpu];
		bool listed = (s->listed & BIT(cpu)) && c->valid;
		policies[cpu] = listed ? c->policy : SCHED_DEFAULT;
		e->on = listed && (c->policy == SCHED_CYCLIC || c->policy == SCHED_PRIORITY);
		if (!e->on)
			continue;
		sp_init(&e->sp, c->policy, us_ticks(c->frame_us), us_ticks(c->slice_us),
			us_ticks(1), now);
		for (unsigned w = 0; w < c->nwin; w++)
			sp_add_window(&e->sp, us_ticks(c->win[w].offset_us),
				      us_ticks(c->win[w].length_us), c->win[w].part);
		engine_add_vcpus(e, cpu, now);
	}
}

static unsigned long long ticks_us(uint64_t t)
{
	uint64_t f = timer_freq();
	return (unsigned long long)(t / f * 1000000 + t % f * 1000000 / f);
}

static void report_engine(const struct percpu *c, const struct engine *e)
{
	static const char *const buckets[SP_HIST] = {"<10us", "<100us", "<1ms",
						     "<10ms", "<100ms", ">=100ms"};
	kprintf("    %-20s %4s %12s %8s %8s %10s  latency", "vcpu", "prio", "runtime-us", "wakeups",
		"overruns", "lat-max-us");
	for (unsigned b = 0; b < SP_HIST; b++)
		kprintf(" %s", buckets[b]);
	kprintf("\n");
	for (unsigned i = 0; i < e->sp.n; i++) {
		const struct vcpu *v = e->v[i];
		const struct sp_vcpu *sv = &e->sp.v[i];
		char name[48];
		snprintf(name, sizeof(name), "%s/vcpu%u%s", e->part[i]->cfg.name, e->idx[i],
			 c->loaded == v ? "*" : "");
		kprintf("    %-20s %4u %12llu %8llu %8llu %10llu  latency", name, sv->prio,
			ticks_us(sv->st.runtime), (unsigned long long)sv->st.wakeups,
			(unsigned long long)sv->st.overruns, ticks_us(sv->st.lat_max));
		for (unsigned b = 0; b < SP_HIST; b++)
			kprintf(" %llu", (unsigned long long)sv->st.hist[b]);
		kprintf("\n");
	}
}

void sched_report(void)
{
	kprintf("  now %llu us\n", ticks_us(timer_now()));
	for (unsigned cpu = 0; cpu < hw.ncpus && cpu < MAX_CPUS; cpu++) {
		const struct percpu *c = &percpu_data[cpu];
		const struct engine *e = &engines[cpu];
		kprintf("  cpu%u  %s", cpu, sp_policy_name(policies[cpu]));
		if (e->on && e->sp.policy == SCHED_CYCLIC)
			kprintf(", major frame %llu us, %u windows", ticks_us(e->sp.frame),
				e->sp.nwin);
		if (e->on)
			kprintf(", slice %llu us\n", ticks_us(e->sp.slice));
		if (e->on) {
			report_engine(c, e);
			continue;
		}
		kprintf("  ");
		const struct vcpu *v = c->vcpu;
		for (; v; v = v->next_on_cpu)
			kprintf(" %s/vcpu%u%s", v->part->cfg.name, v->idx,
				c->loaded == v ? "*" : "");
		kprintf("\n");
	}
}

bool sched_vcpu_stats(const struct vcpu *v, struct sp_stats *out)
{
	const struct engine *e = v->pcpu < MAX_CPUS ? &engines[v->pcpu] : NULL;
	for (unsigned i = 0; e && e->on && i < e->sp.n; i++)
		if (e->v[i] == v) {
			*out = e->sp.v[i].st;
			return true;
		}
	return false;
}

/* The engine's view brought up to date: who can run now. */
static void engine_update(struct engine *e, uint64_t now)
{
	for (unsigned i = 0; i < e->sp.n; i++) {
		if (engine_running(e, i) && eligible(e->v[i]))
			sp_wake(&e->sp, (int)i, now);
		else
			sp_block(&e->sp, (int)i, now);
	}
}

/* An engine CPU's turn: the engine decides; cur leaves if it is not the
 * one, then jobs, then the one it chose runs until the next event. */
static void engine_step(struct percpu *c, struct engine *e)
{
	struct vcpu *cur = c->loaded;
	/* A WFI blocks it: off the CPU first, so that its timer state is
	 * saved and eligible() sees the timer it armed, not the one it had
	 * when it was last unloaded. */
	if (cur && cur->waiting) {
		unload(cur);
		return;
	}
	uint64_t now = timer_now();
	engine_update(e, now);
	struct sp_pick pk = sp_decide(&e->sp, now);
	struct vcpu *want = pk.vcpu == SP_NONE ? NULL : e->v[pk.vcpu];
	if (cur && (cur != want || !runnable(cur) || cpu_job_pending(c->id))) {
		unload(cur);
		return;
	}
	if (!cur && lc_job_pending(c->id)) {
		run_job(c);
		return;
	}
	if (!cur && cpu_job_pending(c->id)) {
		run_cpu_job(c);
		return;
	}
	if (!cur && want) {
		if (!lc_claim(&e->part[pk.vcpu]->lc, e->idx[pk.vcpu])) {
			sp_block(&e->sp, pk.vcpu, now); /* stopped meanwhile */
			return;
		}
		load(want);
		cur = want;
	}
	arm_hyp_timer(MIN(pk.until, engine_wakeup(e)));
	if (cur) {
		guest_wfi_trap(true);
		run_once(cur);
	} else {
		sched_idle();
	}
}

/* One turn of the loop: unload, run a job, load, or run/idle once. */
void sched_step(struct sched_cpu *s)
{
	struct percpu *c = this_cpu();
	if (engine_cpu(c->id)) {
		engine_step(c, &engines[c->id]);
		return;
	}
	struct vcpu *head = __atomic_load_n((struct vcpu **)&c->vcpu, __ATOMIC_ACQUIRE);
	struct vcpu *cur = c->loaded;
	if (cur && must_leave(head, cur, s->slice_end)) {
		s->last = cur;
		unload(cur);
		return;
	}
	if (!cur && lc_job_pending(c->id)) {
		run_job(c);
		return;
	}
	if (!cur && cpu_job_pending(c->id)) {
		run_cpu_job(c);
		return;
	}
	if (!cur && (cur = pick(head, on_list(head, s->last) ? s->last : NULL))) {
		if (!lc_claim(&cur->part->lc, cur->idx))
			return; /* stopped meanwhile: its list is gone now */
		load(cur);
		s->slice_end = timer_now() + timer_ns_to_ticks(SLICE_MS * 1000000ull);
	}
	if (cur) {
		arm_shared(head, &s->slice_end);
		guest_wfi_trap(head != cur || cur->next_on_cpu);
		run_once(cur);
	} else {
		arm_wakeup(head);
		sched_idle();
	}
}

void sched_loop(void)
{
	struct sched_cpu s = {NULL, 0};
	irq_disable();
	for (;;)
		sched_step(&s);
}

/*
 * The per-CPU loop. Each physical CPU runs the vCPU pinned to it (field
 * percpu.vcpu, set by partition start/stop on any CPU), loads and unloads
 * vCPU state on this CPU only, and sleeps in WFI when it has nothing to run.
 * Requests from other CPUs arrive as a field change plus SGI_KICK.
 */
#include "kernel/partition.h"

void sched_kick(unsigned pcpu)
{
	dsb(ishst);
	if (pcpu != this_cpu()->id)
		gic_send_sgi(pcpu, SGI_KICK);
}

static bool runnable(const struct vcpu *v)
{
	return v && v->power == VCPU_ON && v->part->state == PART_RUNNING;
}

static void load(struct vcpu *v)
{
	struct partition *p = v->part;
	vtcr_set(p->vtcr);
	stage2_load(p->vttbr);
	write_sysreg(cntvoff_el2, p->cntvoff);
	vcpu_ctx_load(&v->ctx);
	guest_hcr_set(true);
	this_cpu()->loaded = v;
}

/* The guest's timers stop and their interrupts, possibly forwarded and
 * still active, are deactivated so the next guest starts clean. */
static void unload(struct vcpu *v)
{
	vcpu_ctx_save(&v->ctx);
	gic_deactivate(PPI_VTIMER);
	gic_deactivate(PPI_PTIMER);
	for (unsigned i = 0; i < gic_get_info()->lrs; i++)
		ich_lr_write(i, 0);
	ich_hcr_write(0);
	guest_hcr_set(false);
	stage2_load(0);
	__atomic_store_n(&this_cpu()->loaded, NULL, __ATOMIC_RELEASE);
	partition_vcpu_unloaded(v);
}

/* Sleeps until an interrupt; checks and sleeps with IRQs masked so a wake-up
 * between the two is not lost (WFI wakes on a pending masked IRQ). */
static void idle(void)
{
	wfi();
	irq_enable();
	isb();
	irq_disable();
}

static void run_once(struct vcpu *v)
{
	struct partition *p = v->part;
	vgic_flush(&p->vgic, v->idx);
	ich_hcr_write(1 | (vgic_wants_underflow(&p->vgic, v->idx) ? 2 : 0)); /* En, UIE */
	unsigned kind = guest_enter(&v->ctx);
	ich_hcr_write(0);
	vgic_sync(&p->vgic, v->idx);
	this_cpu()->exits++;
	v->exits++;
	vcpu_handle_exit(v, kind);
}

void sched_loop(void)
{
	struct percpu *c = this_cpu();
	irq_disable();
	for (;;) {
		struct vcpu *want = __atomic_load_n((struct vcpu **)&c->vcpu, __ATOMIC_ACQUIRE);
		struct vcpu *cur = c->loaded;
		if (cur && (cur != want || !runnable(cur))) {
			unload(cur);
			continue; /* unloading may have placed a new vCPU (restart) */
		}
		if (!cur && runnable(want))
			load(want), cur = want;
		if (cur)
			run_once(cur);
		else
			idle();
	}
}

/*
 * A paused partition's vCPUs and timers in the snapshot format and back.
 * Portable: what the hardware holds was put into each vCPU's context when
 * it left its CPU (sched.c unload), so this is field copying plus the
 * checks a damaged or foreign record must fail.
 *
 * Not saved, because tessera never creates them: a pending virtual SError
 * (nothing injects one) and a CPU_ON not yet run (lc_cpu_on resets the
 * target's context at once, so it is saved as an on vCPU at its entry).
 * ACTLR_EL1 is not trapped or switched: saved as 0 and ignored.
 */
#include "kernel/vm/snap_state.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PSTATE_M_MASK 0xfu   /* M[3:0]: exception level and stack */
#define PSTATE_M_EL2  0x8u   /* EL2t and above: never a guest's */
#define PSTATE_NRW    BIT(4) /* AArch32: tessera's guests are AArch64 */

_Static_assert(DBG_MAX_BPS == 16, "snap_vcpu holds 16 breakpoints and watchpoints");
_Static_assert(PMU_MAX_COUNTERS == 31, "snap_vcpu holds 31 event counters");

static void el1_from(const struct vcpu_ctx *c, struct snap_vcpu *o)
{
	o->sp_el0 = c->sp_el0, o->sp_el1 = c->sp_el1, o->pc = c->pc, o->pstate = c->pstate;
	o->elr_el1 = c->elr_el1, o->spsr_el1 = c->spsr_el1;
	o->sctlr = c->sctlr, o->cpacr = c->cpacr, o->ttbr0 = c->ttbr0, o->ttbr1 = c->ttbr1;
	o->tcr = c->tcr, o->mair = c->mair, o->amair = c->amair, o->vbar = c->vbar;
	o->contextidr = c->contextidr, o->tpidr_el0 = c->tpidr_el0;
	o->tpidrro_el0 = c->tpidrro_el0, o->tpidr_el1 = c->tpidr_el1, o->csselr = c->csselr;
	o->esr = c->esr, o->far = c->far, o->afsr0 = c->afsr0, o->afsr1 = c->afsr1;
	o->par = c->par;
}

static void el1_into(struct vcpu_ctx *c, const struct snap_vcpu *o)
{
	c->sp_el0 = o->sp_el0, c->sp_el1 = o->sp_el1, c->pc = o->pc, c->pstate = o->pstate;
	c->elr_el1 = o->elr_el1, c->spsr_el1 = o->spsr_el1;
	c->sctlr = o->sctlr, c->cpacr = o->cpacr, c->ttbr0 = o->ttbr0, c->ttbr1 = o->ttbr1;
	c->tcr = o->tcr, c->mair = o->mair, c->amair = o->amair, c->vbar = o->vbar;
	c->contextidr = o->contextidr, c->tpidr_el0 = o->tpidr_el0;
	c->tpidrro_el0 = o->tpidrro_el0, c->tpidr_el1 = o->tpidr_el1, c->csselr = o->csselr;
	c->esr = o->esr, c->far = o->far, c->afsr0 = o->afsr0, c->afsr1 = o->afsr1;
	c->par = o->par;
}

static void debug_pmu_from(const struct vcpu_ctx *c, struct snap_vcpu *o)
{
	o->mdscr = c->mdscr, o->oslsr = c->oslk, o->osdlr = c->osdlr, o->mdccint = c->mdccint;
	memcpy(o->dbg_bvr, c->dbg_bvr, sizeof(o->dbg_bvr));
	memcpy(o->dbg_bcr, c->dbg_bcr, sizeof(o->dbg_bcr));
	memcpy(o->dbg_wvr, c->dbg_wvr, sizeof(o->dbg_wvr));
	memcpy(o->dbg_wcr, c->dbg_wcr, sizeof(o->dbg_wcr));
	o->pmcr = c->pmcr, o->pmselr = c->pmselr, o->pmcnten = c->pmcnten;
	o->pminten = c->pminten, o->pmovs = c->pmovs, o->pmuserenr = c->pmuserenr;
	o->pmccntr = c->pmccntr, o->pmccfiltr = c->pmccfiltr;
	memcpy(o->pmevcntr, c->pmevcntr, sizeof(o->pmevcntr));
	memcpy(o->pmevtyper, c->pmevtyper, sizeof(o->pmevtyper));
}

static void debug_pmu_into(struct vcpu_ctx *c, const struct snap_vcpu *o)
{
	c->mdscr = o->mdscr, c->oslk = o->oslsr, c->osdlr = o->osdlr, c->mdccint = o->mdccint;
	memcpy(c->dbg_bvr, o->dbg_bvr, sizeof(o->dbg_bvr));
	memcpy(c->dbg_bcr, o->dbg_bcr, sizeof(o->dbg_bcr));
	memcpy(c->dbg_wvr, o->dbg_wvr, sizeof(o->dbg_wvr));
	memcpy(c->dbg_wcr, o->dbg_wcr, sizeof(o->dbg_wcr));
	c->pmcr = o->pmcr, c->pmselr = o->pmselr, c->pmcnten = o->pmcnten;
	c->pminten = o->pminten, c->pmovs = o->pmovs, c->pmuserenr = o->pmuserenr;
	c->pmccntr = o->pmccntr, c->pmccfiltr = o->pmccfiltr;
	memcpy(c->pmevcntr, o->pmevcntr, sizeof(o->pmevcntr));
	memcpy(c->pmevtyper, o->pmevtyper, sizeof(o->pmevtyper));
}

void snap_vcpu_from(const struct vcpu *v, struct snap_vcpu *o)
{
	const struct vcpu_ctx *c = &v->ctx;
	*o = (struct snap_vcpu){.index = v->idx, .mpidr = c->vmpidr};
	o->flags = SNAP_VCPU_F_PAUTH | SNAP_VCPU_F_DEBUG | SNAP_VCPU_F_PMU |
		   (v->waiting ? SNAP_VCPU_F_WFI : 0);
	o->power = vcpu_power(v) == VCPU_ON ? SNAP_POWER_ON : SNAP_POWER_OFF;
	memcpy(o->x, c->x, sizeof(o->x));
	el1_from(c, o);
	memcpy(o->v, c->fp_v, sizeof(o->v));
	o->fpsr = c->fpsr, o->fpcr = c->fpcr;
	memcpy(o->pac_keys, c->pac_keys, sizeof(o->pac_keys));
	debug_pmu_from(c, o);
}

int snap_vcpu_into(struct vcpu *v, const struct snap_vcpu *o, char *why, size_t whylen)
{
	struct vcpu_ctx *c = &v->ctx;
	if (o->index != v->idx) {
		snprintf(why, whylen, "vCPU record %u where vCPU %u's was expected", o->index,
			 v->idx);
		return -EINVAL;
	}
	if (o->power > SNAP_POWER_ON || (o->flags & SNAP_VCPU_F_SERROR)) {
		snprintf(why, whylen,
			 "vCPU %u: power state %u or a pending SError tessera cannot "
			 "recreate",
			 o->index, o->power);
		return -EINVAL;
	}
	if ((o->pstate & PSTATE_NRW) || (o->pstate & PSTATE_M_MASK) >= PSTATE_M_EL2) {
		snprintf(why, whylen, "vCPU %u: PSTATE 0x%llx is not an AArch64 EL0/EL1 state",
			 o->index, (unsigned long long)o->pstate);
		return -EINVAL;
	}
	c->vmpidr = o->mpidr;
	memcpy(c->x, o->x, sizeof(o->x));
	el1_into(c, o);
	memcpy(c->fp_v, o->v, sizeof(o->v));
	c->fpsr = o->fpsr, c->fpcr = o->fpcr;
	if (o->flags & SNAP_VCPU_F_PAUTH)
		memcpy(c->pac_keys, o->pac_keys, sizeof(o->pac_keys));
	if ((o->flags & (SNAP_VCPU_F_DEBUG | SNAP_VCPU_F_PMU)) ==
	    (SNAP_VCPU_F_DEBUG | SNAP_VCPU_F_PMU))
		debug_pmu_into(c, o);
	v->waiting = false; /* WFI may return early: the guest's loop waits again */
	return 0;
}

void snap_timer_from(const struct partition *p, uint64_t now, uint64_t freq, struct snap_timer *t,
		     struct snap_timer_cpu *cpus)
{
	*t = (struct snap_timer){.cntfrq = freq,
				 .cntvoff = p->cntvoff,
				 .vcount = now - p->cntvoff,
				 .pcount = now,
				 .policy = SNAP_CLOCK_FREEZE,
				 .nvcpus = p->nvcpus};
	for (unsigned i = 0; i < p->nvcpus; i++) {
		const struct vcpu_ctx *c = &p->vcpus[i].ctx;
		cpus[i] = (struct snap_timer_cpu){c->cntv_ctl, c->cntv_cval, c->cntp_ctl,
						  c->cntp_cval, c->cntkctl};
	}
}

int snap_timer_into(struct partition *p, const struct snap_timer *t,
		    const struct snap_timer_cpu *cpus, uint64_t now, uint64_t freq, char *why,
		    size_t whylen)
{
	if (t->nvcpus != p->nvcpus || t->cntfrq != freq) {
		snprintf(why, whylen,
			 "timer record for %u vCPUs at %llu Hz; the partition has %u "
			 "at %llu Hz",
			 t->nvcpus, (unsigned long long)t->cntfrq, p->nvcpus,
			 (unsigned long long)freq);
		return -EINVAL;
	}
	/* freeze (catch-up is not offered yet): virtual time resumes at vcount */
	p->cntvoff = now - t->vcount;
	for (unsigned i = 0; i < p->nvcpus; i++) {
		struct vcpu_ctx *c = &p->vcpus[i].ctx;
		c->cntv_ctl = cpus[i].cntv_ctl, c->cntv_cval = cpus[i].cntv_cval;
		c->cntp_ctl = cpus[i].cntp_ctl, c->cntp_cval = cpus[i].cntp_cval;
		c->cntkctl = cpus[i].cntkctl;
	}
	return 0;
}

unsigned snap_mmio_ranges(const struct partition *p, uint64_t ipa[3], uint64_t bytes[3])
{
	ipa[0] = GUEST_GICD_BASE, bytes[0] = GUEST_GICD_SIZE;
	ipa[1] = GUEST_GICR_BASE, bytes[1] = GUEST_GICR_STRIDE * p->nvcpus;
	ipa[2] = GUEST_UART_BASE, bytes[2] = GUEST_UART_SIZE;
	return 3;
}

/*
 * Guest exits. Everything a guest can cause ends here and is either
 * emulated or turned into an exception injected into that guest; nothing a
 * guest does reaches panic().
 */
#include "kernel/vm/vm.h"

#define EC_WFX	    0x01
#define EC_HVC64    0x16
#define EC_SMC64    0x17
#define EC_SYS64    0x18
#define EC_SVE	    0x19
#define EC_IABT_LOW 0x20
#define EC_DABT_LOW 0x24
#define KIND_SYNC   8
#define KIND_IRQ    9
#define KIND_FIQ    10
#define KIND_SERROR 11
#define ESR_FNV	    BIT(10) /* data and instruction aborts: FAR_EL2 not valid */
#define ESR_WNR	    BIT(6)
#define WFX_TI_MASK 3ull /* ISS.TI: 0 WFI, 1 WFE, 2 WFIT, 3 WFET */
#define WFX_TI_WFIT 2ull
#define WFX_RV	    BIT(2)	/* ISS.RV: ISS.Rn holds the WFIT/WFET register */
#define SYSREG_MASK 0x3ffc1eull /* Op0, Op2, Op1, CRn, CRm in ISS */

#define PSTATE_SS BIT(21)

/* The trapped instruction is done (emulated): move past it. Done, it also
 * completes a software step the guest may be taking: PSTATE.SS goes to 0,
 * so the step exception is taken on return, before the next instruction,
 * as if the hardware had executed it. */
static void skip_instr(struct vcpu *v)
{
	v->ctx.pc += 4;
	v->ctx.pstate &= ~PSTATE_SS;
}

/* Injection changes EL1 registers, which live in the CPU while the vCPU is
 * loaded: bring the ones it uses into the context, inject, put them back. */
enum inject_kind { INJ_DABT, INJ_IABT, INJ_UNDEF };
static void inject(struct vcpu *v, enum inject_kind k, uint64_t va, bool va_valid, bool write)
{
	vcpu_ctx_save_exc(&v->ctx);
	if (k == INJ_DABT)
		vcpu_inject_dabt(&v->ctx, va, va_valid, write);
	else if (k == INJ_IABT)
		vcpu_inject_iabt(&v->ctx, va, va_valid);
	else
		vcpu_inject_undef(&v->ctx);
	vcpu_ctx_load_exc(&v->ctx);
	v->injected++;
}

#define FAULT_LOG_MAX 32

/* A guest looping on a fault must not flood the console everyone shares:
 * the first FAULT_LOG_MAX injections of a run are logged, then a note. */
static bool log_fault(struct partition *p)
{
	p->faults++;
	if (p->faults == FAULT_LOG_MAX + 1)
		kprintf("%s: more than %u faults injected; not logging further ones (see 'list')\n",
			p->cfg.name, FAULT_LOG_MAX);
	return p->faults <= FAULT_LOG_MAX;
}

void vcpu_inject_abort(struct vcpu *v, uint64_t ipa, uint64_t va, bool va_valid, bool write,
		       bool instr, const char *why)
{
	struct partition *p = v->part;
	if (log_fault(p))
		kprintf("%s: vCPU %u: %s at IPA 0x%llx (VA 0x%llx%s, pc 0x%llx): injected a "
			"synchronous external abort\n",
			p->cfg.name, v->idx, why, (unsigned long long)ipa, (unsigned long long)va,
			va_valid ? "" : " not valid", (unsigned long long)v->ctx.pc);
	inject(v, instr ? INJ_IABT : INJ_DABT, va, va_valid, write);
}

static void undef(struct vcpu *v, uint64_t esr, const char *why)
{
	char buf[160];
	esr_describe(esr, buf, sizeof(buf));
	if (log_fault(v->part))
		kprintf("%s: vCPU %u: %s (%s) at pc 0x%llx: injected an undefined instruction\n",
			v->part->cfg.name, v->idx, why, buf, (unsigned long long)v->ctx.pc);
	inject(v, INJ_UNDEF, 0, false, false);
}

static uint64_t fault_ipa(uint64_t far)
{
	uint64_t hpfar = read_sysreg(hpfar_el2);
	return ((hpfar >> 4) << 12) | (far & 0xfff);
}

/* DFSC: a permission fault (levels 0-3), or a translation fault */
#define DFSC_MASK  0x3cu
#define DFSC_PERM  0x0cu
#define DFSC_TRANS 0x04u
#define ESR_S1PTW  BIT(7)

/* Stage-2 dirty tracking's faults: the first write to a protected page,
 * and a translation fault on a block another vCPU is splitting. */
static bool tracked(struct vcpu *v, uint64_t esr, uint64_t ipa)
{
	unsigned fsc = esr & DFSC_MASK;
	if (fsc != DFSC_PERM && fsc != DFSC_TRANS)
		return false;
	bool write = fsc == DFSC_PERM && (esr & (ESR_WNR | ESR_S1PTW));
	return dirty_fault(v->part, ipa, write);
}

static void data_abort(struct vcpu *v, uint64_t esr, uint64_t far)
{
	uint64_t ipa = fault_ipa(far);
	if (tracked(v, esr, ipa))
		return; /* the access runs again, now writable */
	if (mmio_emulate(v, ipa, esr)) {
		v->mmios++;
		skip_instr(v);
		return;
	}
	vcpu_inject_abort(v, ipa, far, !(esr & ESR_FNV), esr & ESR_WNR, false,
			  "access to unmapped or unemulated IPA");
}

/* WFIT's register when the trap does not name it (ISS.RV clear, as QEMU
 * 10 reports it): decoded from the instruction itself, read through the
 * guest's translation, and only from inside the partition's RAM. */
#define INSN_WFIT      0xd5031020u /* WFIT X0; Rd in bits [4:0] */
#define INSN_WFIT_MASK 0xffffffe0u
static bool wfit_reg_from_insn(const struct vcpu *v, unsigned *rn)
{
	const struct partition *p = v->part;
	uint64_t pa;
	uint32_t insn;
	if (!guest_va_to_pa(v->ctx.pc, &pa) || pa < p->ram_pa || pa - p->ram_pa >= p->cfg.mem_size)
		return false;
	insn = *(volatile const uint32_t *)pa;
	if ((insn & INSN_WFIT_MASK) != INSN_WFIT)
		return false;
	*rn = insn & 0x1f;
	return true;
}

/* WFIT's deadline is a virtual count in a register (ISS.Rn, or the
 * instruction's Rd); as a physical count it is that plus CNTVOFF
 * (saturating: a deadline past the end of time is none). UINT64_MAX if the
 * register cannot be known: the WFIT then waits as a WFI does. Called
 * before the PC moves past the instruction. */
static uint64_t wfit_deadline(const struct vcpu *v, uint64_t esr)
{
	unsigned rn = (esr >> 5) & 0x1f;
	uint64_t vcval, when;
	if (!(esr & WFX_RV) && !wfit_reg_from_insn(v, &rn))
		return UINT64_MAX;
	vcval = rn == 31 ? 0 : v->ctx.x[rn];
	return __builtin_add_overflow(vcval, v->part->cntvoff, &when) ? UINT64_MAX : when;
}

/* This vCPU has its CPU to itself: sleep until an interrupt arrives or the
 * WFIT deadline passes. The EL2 timer wakes the CPU at the deadline
 * (timer_hyp_irq masks it when it fires); whatever sched.c had set it to is
 * kept if earlier, and put back afterwards. */
#define CNTHP_ENABLE BIT(0)
#define CNTHP_IMASK  BIT(1)
static void idle_until(uint64_t when)
{
	uint64_t ctl = read_sysreg(cnthp_ctl_el2) & (CNTHP_ENABLE | CNTHP_IMASK);
	uint64_t cval = read_sysreg(cnthp_cval_el2);
	bool mine = when != UINT64_MAX && (ctl != CNTHP_ENABLE || when < cval);
	if (mine) {
		write_sysreg(cnthp_cval_el2, when);
		write_sysreg(cnthp_ctl_el2, CNTHP_ENABLE);
		isb();
	}
	sched_idle();
	if (mine) {
		write_sysreg(cnthp_cval_el2, cval);
		write_sysreg(cnthp_ctl_el2, ctl);
		isb();
	}
}

/* WFI and WFIT (WFE and WFET are not trapped; if they were, they would just
 * yield). Any wake-up may come early, as on hardware: the guest's loop
 * around WFI/WFIT checks its condition again. */
static void wfx(struct vcpu *v, uint64_t esr)
{
	uint64_t when = UINT64_MAX;
	if ((esr & WFX_TI_MASK) == WFX_TI_WFIT)
		when = wfit_deadline(v, esr);
	skip_instr(v);
	if (esr & 1 || timer_now() >= when)
		return;
	v->wfis++;
	if (vgic_pending(&v->part->vgic, v->idx))
		return;
	if (sched_others_eligible(v)) {
		/* Give the CPU to another vCPU until an interrupt, its timer or
		 * the WFIT deadline (sched.c: eligible, earliest_wakeup). */
		v->wake_at = when;
		v->waiting = true;
		return;
	}
	idle_until(when);
}

static bool sysreg_write_value(struct vcpu *v, uint64_t esr, uint64_t *val)
{
	unsigned rt = (esr >> 5) & 0x1f;
	*val = rt == 31 ? 0 : v->ctx.x[rt];
	return !(esr & 1); /* direction: 0 = write (MSR) */
}

static void sysreg(struct vcpu *v, uint64_t esr)
{
	uint64_t key = esr & SYSREG_MASK, val;
	bool write = sysreg_write_value(v, esr, &val);
	unsigned crn = (esr >> 10) & 0xf, op0 = (esr >> 20) & 3;
	unsigned rt = (esr >> 5) & 0x1f, op1 = (esr >> 14) & 7, crm = (esr >> 1) & 0xf;
	if (key == 0x3a3016 && write) { /* ICC_SGI1R_EL1: Op0 3, Op1 0, C12, C11, 5 */
		vgic_sgi(&v->part->vgic, v->idx, val);
	} else if (op0 == 3 && op1 == 0 && crn == 0 && !write) { /* ID registers (TID3) */
		if (rt != 31)
			v->ctx.x[rt] =
			    idreg_read_opt(crm, (esr >> 17) & 7, v->ctx.sve ? IDREG_SVE : 0);
	} else if (key == 0x320400) { /* ACTLR_EL1 (TACR): reads 0, writes ignored */
		if (!write && rt != 31)
			v->ctx.x[rt] = 0;
	} else if (op0 == 1) {
		/* DC ISW/CSW/CISW (HCR_EL2.TSW): set/way maintenance means nothing
		 * to a guest whose memory is coherent; treat as done */
	} else if (op0 == 3 && (crn == 9 || crn == 14)) {
		/* PMU and timer-adjacent registers we trap: read as zero */
		if (!write && ((esr >> 5) & 0x1f) != 31)
			v->ctx.x[(esr >> 5) & 0x1f] = 0;
	} else {
		undef(v, esr, "trapped system register access");
		return;
	}
	skip_instr(v);
}

static void sync_exit(struct vcpu *v)
{
	uint64_t esr = read_sysreg(esr_el2), far = read_sysreg(far_el2);
	switch (ESR_EC(esr)) {
	case EC_WFX:
		wfx(v, esr);
		break;
	case EC_HVC64:
		v->hvcs++;
		psci_handle(v);
		break;
	case EC_SMC64:
		v->hvcs++;
		skip_instr(v); /* unlike HVC, ELR points at the SMC itself */
		psci_handle(v);
		break;
	case EC_SYS64:
		sysreg(v, esr);
		break;
	case EC_SVE: /* first SVE use (retried once enabled), or no SVE here */
		if (!vcpu_sve_trap(&v->ctx))
			undef(v, esr, "SVE in a partition without SVE");
		break;
	case EC_DABT_LOW:
		data_abort(v, esr, far);
		break;
	case EC_IABT_LOW:
		if (!tracked(v, esr & ~ESR_WNR, fault_ipa(far)))
			vcpu_inject_abort(v, fault_ipa(far), far, !(esr & ESR_FNV), false, true,
					  "instruction fetch from unmapped IPA");
		break;
	default:
		undef(v, esr, "unhandled exception class");
	}
}

static void serror_exit(struct vcpu *v)
{
	kprintf("%s: vCPU %u: SError (ESR 0x%llx) at pc 0x%llx: stopping the partition\n",
		v->part->cfg.name, v->idx, (unsigned long long)read_sysreg(esr_el2),
		(unsigned long long)v->ctx.pc);
	partition_guest_stop(v->part, false);
}

/* An SError was pending when the guest exited: it is this guest's (an error
 * from one of its own accesses), so it stops this partition and not the
 * next one to run here. */
static void serror_pending(struct vcpu *v, unsigned kind)
{
	kprintf("%s: vCPU %u: SError pending at a guest exit (exit kind %u, pc 0x%llx): stopping "
		"the partition\n",
		v->part->cfg.name, v->idx, kind, (unsigned long long)v->ctx.pc);
	partition_guest_stop(v->part, false);
}

void vcpu_handle_exit(struct vcpu *v, unsigned kind)
{
	if (kind & GUEST_EXIT_SERROR) {
		kind &= GUEST_EXIT_KIND;
		serror_pending(v, kind);
		if (kind != KIND_IRQ && kind != KIND_FIQ)
			return; /* the partition is stopping: the exit's cause no longer matters */
	}
	vlines_sync(v); /* first: MMIO reads of GICR_ISPENDR0 and WFI see the lines */
	switch (kind) {
	case KIND_SYNC:
		sync_exit(v);
		break;
	case KIND_IRQ:
	case KIND_FIQ:
		arch_irq_entry(NULL, kind);
		break;
	case KIND_SERROR:
		serror_exit(v);
		break;
	default: /* from AArch32 EL0: tessera does not run AArch32 guests */
		kprintf("%s: vCPU %u: exception from AArch32 state: stopping the partition\n",
			v->part->cfg.name, v->idx);
		partition_guest_stop(v->part, false);
	}
}

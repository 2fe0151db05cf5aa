/*
 * The fast exit path. Most exits change nothing about scheduling or
 * interrupt delivery beyond what can be done right here: a PSCI version
 * query, an unknown HVC, a read of a vGIC ID or configuration register, an
 * SGI, the guest's own timer firing, an interrupt another CPU made
 * pending for it (SGI_VIRQ). entry.S fast_vector calls this with
 * only the general registers saved; a handled exit returns straight to
 * the guest, with no FP/SIMD switch, no list-register sync and flush and
 * no scheduler pass. Anything else goes the full way (guest_exit, then
 * vcpu_handle_exit), and so does every exit that may need this CPU to
 * do something else: a kick, a slice end or a stop request arrives as a
 * physical interrupt, which is pending when the guest is re-entered and
 * exits again at once.
 *
 * The guest's FP/SIMD and SVE registers are live here: only code built
 * with -mgeneral-regs-only runs, and no library call (memset, printf).
 */
#include "kernel/vm/vm.h"

#define KIND_SYNC   8
#define KIND_IRQ    9
#define EC_HVC64    0x16
#define EC_SMC64    0x17
#define EC_SYS64    0x18
#define EC_DABT_LOW 0x24
#define PSTATE_SS   BIT(21)
#define SYSREG_MASK 0x3ffc1eull /* Op0, Op2, Op1, CRn, CRm in ISS */
#define KEY_SGI1R   0x3a3016ull /* ICC_SGI1R_EL1: Op0 3, Op1 0, C12, C11, 5 */
#define DISR_EL1    S3_0_C12_C1_1

/* With FEAT_RAS the vector's ESB moved a pending SError of this guest
 * into DISR_EL1: the full path must see it (guest.S exit_common). */
static bool serror_deferred(void)
{
	return guest_serror_ras && read_sysreg(DISR_EL1) != 0;
}

/* Past the emulated instruction, completing a software step as
 * vcpu_exit.c skip_instr does. */
static void skip(void)
{
	uint64_t spsr = read_sysreg(spsr_el2);
	write_sysreg(elr_el2, read_sysreg(elr_el2) + 4);
	if (spsr & PSTATE_SS)
		write_sysreg(spsr_el2, spsr & ~PSTATE_SS);
}

static bool fast_call(struct vcpu *v, bool smc)
{
	if (!psci_fast(v))
		return false;
	v->hvcs++;
	if (smc) /* ELR points at the SMC itself */
		skip();
	return true;
}

/* Guest registers the vector left live (entry.S light_vector): their
 * copies in ctx are stale, so an exit naming one goes the full way. */
static bool live(unsigned rt)
{
	return rt - 19 < 10;
}

static bool fast_sysreg(struct vcpu *v, uint64_t esr)
{
	unsigned rt = (esr >> 5) & 0x1f;
	if ((esr & SYSREG_MASK) != KEY_SGI1R || (esr & 1) || live(rt))
		return false;
	uint64_t sgi1r = rt == 31 ? 0 : v->ctx.x[rt], lr;
	int i = vgic_sgi_self_lr(&v->part->vgic, v->idx, sgi1r, ich_elrsr_get(), &lr);
	if (i >= 0)
		ich_lr_put((unsigned)i, lr);
	else if (!vgic_sgi_mail(&v->part->vgic, v->idx, sgi1r) &&
		 !vgic_sgi_fast(&v->part->vgic, v->idx, sgi1r))
		return false;
	skip();
	return true;
}

/* A load of a vGIC register that holds a constant or one field, answered
 * without the register tables; *val is the raw register value. */
static bool fast_gic_read(struct vcpu *v, uint64_t ipa, unsigned size, uint64_t *val)
{
	const struct vgic *g = &v->part->vgic;
	if (ipa - GUEST_GICD_BASE < GUEST_GICD_SIZE)
		return vgic_dist_read_fast(g, ipa - GUEST_GICD_BASE, size, val);
	if (ipa >= GUEST_GICR_BASE)
		return vgic_redist_read_fast(g, ipa - GUEST_GICR_BASE, size, val);
	return false;
}

/* Loads only (a store changes state the full path owns), decoded once
 * by esr.h's decoder for both readers. */
static bool fast_dabt(struct vcpu *v, uint64_t esr)
{
	struct mmio_access a;
	uint64_t val;
	if (!esr_mmio_iss(esr, &a) || a.write || live(a.reg))
		return false;
	uint64_t ipa = ((read_sysreg(hpfar_el2) >> 4) << 12) | (read_sysreg(far_el2) & 0xfff);
	if (!fast_gic_read(v, ipa, a.size, &val) && !mmio_fast_read(v, ipa, a.size, &val))
		return false;
	if (a.reg != 31)
		v->ctx.x[a.reg] = mmio_load(&a, val);
	v->mmios++;
	skip();
	return true;
}

static bool fast_sync(struct vcpu *v)
{
	uint64_t esr = read_sysreg(esr_el2);
	switch (ESR_EC(esr)) {
	case EC_HVC64:
		return fast_call(v, false);
	case EC_SMC64:
		return fast_call(v, true);
	case EC_SYS64:
		return fast_sysreg(v, esr);
	case EC_DABT_LOW:
		return fast_dabt(v, esr);
	}
	return false;
}

/* The guest's virtual timer becomes a HW-linked virtual interrupt in a
 * free list register at once; the physical one stays active until the
 * guest's EOI deactivates it (EOImode 1: only the priority drops here).
 * Any other interrupt is left, acknowledged, to arch_irq_entry. */
/* SGI_VIRQ: another CPU made an interrupt pending for the vCPU loaded
 * here (vgic_kick). It goes into a free LR and the guest goes on; what
 * vgic_kicked_fast cannot settle (nothing of this vCPU's found: the kick
 * was for another vCPU of this CPU, or to rewrite an LR) takes the full
 * exit. The SGI is deactivated either way: the full path only needs the
 * exit it causes. */
/* SGIs from the mail, lock-free into empty LRs; any that cannot go
 * there are latched in the model for the full exit's flush. */
static bool mail_place(struct vgic *g, unsigned vcpu, uint32_t mail)
{
	uint32_t empty = ich_elrsr_get(), left = 0;
	for (; mail; mail &= mail - 1) {
		unsigned intid = (unsigned)__builtin_ctz(mail);
		uint64_t lr;
		int i = vgic_mail_lr(g, vcpu, intid, empty, &lr);
		if (i < 0) {
			left |= BIT(intid);
			continue;
		}
		ich_lr_put((unsigned)i, lr);
		empty &= ~BIT(i);
	}
	if (left)
		vgic_mail_latch(g, vcpu, left);
	return !left;
}

static bool fast_virq(struct vcpu *v)
{
	struct vgic *g = &v->part->vgic;
	uint32_t mail = vgic_mail_take(g, v->idx);
	bool placed = mail ? mail_place(g, v->idx, mail) : vgic_kicked_fast(g, v->idx);
	icc_drop(SGI_VIRQ);
	icc_deactivate(SGI_VIRQ);
	return placed;
}

static bool fast_irq(struct vcpu *v)
{
	struct percpu *c = this_cpu();
	unsigned intid = icc_ack();
	if (intid == SGI_VIRQ) {
		c->irqs++;
		return fast_virq(v);
	}
	if (intid != PPI_VTIMER) {
		if (intid < GIC_NO_IRQ || intid >= GITS_LPI_MIN) /* an LPI too (gits.c) */
			c->acked_irq = intid;
		return false;
	}
	c->irqs++;
	uint64_t lr;
	int i = vgic_hw_lr(&v->part->vgic, v->idx, intid, intid, ich_elrsr_get(), &lr);
	bool placed = true;
	if (i >= 0)
		ich_lr_put((unsigned)i, lr);
	else
		placed = vgic_inject_hw_fast(&v->part->vgic, v->idx, intid, intid);
	icc_drop_eret(intid);
	return placed;
}

unsigned vcpu_fast_exit(struct vcpu_ctx *ctx, unsigned kind)
{
	struct vcpu *v = this_cpu()->loaded;
	if (!v || &v->ctx != ctx || serror_deferred())
		return kind;
	if (kind == KIND_SYNC ? !fast_sync(v) : kind != KIND_IRQ || !fast_irq(v))
		return kind;
	this_cpu()->exits++;
	return 0;
}

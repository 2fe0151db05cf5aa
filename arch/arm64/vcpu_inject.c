/*
 * Exception injection: makes the guest take a synchronous exception at EL1
 * exactly as the hardware would (portable: works on a saved context).
 */
#include "arch/arm64/arch.h"

#define PSTATE_M_MASK	   0xfull
#define PSTATE_NRW	   BIT(4)
#define PSTATE_EL1H_MASKED 0x3c5ull
#define ESR_IL_BIT	   BIT(25)
#define EC_UNKNOWN	   0x00
#define EC_IABT_LOW	   0x20
#define EC_DABT_LOW	   0x24
#define FSC_SEA		   0x10

static bool from_el1(const struct vcpu_ctx *c)
{
	return !(c->pstate & PSTATE_NRW) && (c->pstate & PSTATE_M_MASK) >= 4;
}

/* Offset into VBAR_EL1 the exception uses, from where it was taken. */
static uint64_t vector_offset(const struct vcpu_ctx *c)
{
	if (c->pstate & PSTATE_NRW)
		return 0x600; /* lower EL, AArch32 */
	switch (c->pstate & PSTATE_M_MASK) {
	case 4:
		return 0x000; /* EL1t */
	case 5:
		return 0x200; /* EL1h */
	default:
		return 0x400; /* EL0 */
	}
}

void vcpu_inject_sync(struct vcpu_ctx *c, uint64_t esr, uint64_t far, bool set_far)
{
	c->esr = esr;
	if (set_far)
		c->far = far;
	c->elr_el1 = c->pc;
	c->spsr_el1 = c->pstate;
	c->pc = c->vbar + vector_offset(c);
	c->pstate = PSTATE_EL1H_MASKED;
}

void vcpu_inject_undef(struct vcpu_ctx *c)
{
	vcpu_inject_sync(c, (uint64_t)EC_UNKNOWN << 26 | ESR_IL_BIT, 0, false);
}

void vcpu_inject_dabt(struct vcpu_ctx *c, uint64_t far, bool write)
{
	uint64_t ec = EC_DABT_LOW + from_el1(c);
	vcpu_inject_sync(c, ec << 26 | ESR_IL_BIT | (write ? BIT(6) : 0) | FSC_SEA, far, true);
}

void vcpu_inject_iabt(struct vcpu_ctx *c, uint64_t far)
{
	uint64_t ec = EC_IABT_LOW + from_el1(c);
	vcpu_inject_sync(c, ec << 26 | ESR_IL_BIT | FSC_SEA, far, true);
}

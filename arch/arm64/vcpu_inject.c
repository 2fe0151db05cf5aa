/*
 * Exception injection: makes the guest take a synchronous exception to EL1
 * exactly as the hardware would (portable: works on a saved context, and
 * host tests build it). The rules are the Arm ARM's for taking an exception
 * to AArch64 EL1 (the pseudocode's AArch64.TakeException): the old PSTATE
 * goes to SPSR_EL1 and the return address to ELR_EL1, the vector is chosen
 * by where the exception came from, and the new PSTATE keeps only what the
 * architecture says it keeps.
 */
#include "arch/arm64/arch.h"

/* PSTATE (SPSR) fields */
#define PSTATE_M_MASK 0xfull
#define PSTATE_NRW    BIT(4) /* 1: AArch32 */
#define PSTATE_F      BIT(6)
#define PSTATE_I      BIT(7)
#define PSTATE_A      BIT(8)
#define PSTATE_D      BIT(9)
#define PSTATE_BTYPE  (3ull << 10)
#define PSTATE_SSBS   BIT(12)
#define PSTATE_IL     BIT(20)
#define PSTATE_SS     BIT(21)
#define PSTATE_PAN    BIT(22)
#define PSTATE_UAO    BIT(23)
#define PSTATE_DIT    BIT(24)
#define PSTATE_NZCV   (0xfull << 28)
#define A32_DIT	      BIT(21) /* PSTATE.DIT as an AArch32 SPSR holds it */
#define MODE_EL1T     4
#define MODE_EL1H     5

/* SCTLR_EL1 bits that decide part of the new PSTATE */
#define SCTLR_SPAN  BIT(23) /* 0: PSTATE.PAN is set on exception entry */
#define SCTLR_DSSBS BIT(44) /* the value PSTATE.SSBS takes on exception entry */

/* ESR_ELx */
#define ESR_EC_SHIFT 26
#define ESR_IL_BIT   BIT(25)
#define ESR_FNV	     BIT(10) /* FAR not valid */
#define ESR_WNR	     BIT(6)
#define EC_UNKNOWN   0x00
#define EC_IABT_LOW  0x20 /* +1: taken without a change of EL */
#define EC_DABT_LOW  0x24
#define FSC_SEA	     0x10 /* synchronous external abort, not on a table walk */

/* VBAR_EL1 offsets (the synchronous slot of each group) */
#define VEC_CUR_SP0 0x000
#define VEC_CUR_SPX 0x200
#define VEC_LOW_A64 0x400
#define VEC_LOW_A32 0x600
#define VBAR_MASK   (~0x7ffull) /* VBAR_EL1[10:0] are RES0 */

static bool from_el1(const struct vcpu_ctx *c)
{
	uint64_t m = c->pstate & PSTATE_M_MASK;
	return !(c->pstate & PSTATE_NRW) && (m == MODE_EL1T || m == MODE_EL1H);
}

/* Offset into VBAR_EL1 of the synchronous vector for where it was taken. */
static uint64_t vector_offset(const struct vcpu_ctx *c)
{
	if (c->pstate & PSTATE_NRW)
		return VEC_LOW_A32;
	switch (c->pstate & PSTATE_M_MASK) {
	case MODE_EL1T:
		return VEC_CUR_SP0;
	case MODE_EL1H:
		return VEC_CUR_SPX;
	default:
		return VEC_LOW_A64;
	}
}

/* PSTATE on entry to EL1h: NZCV, DIT and a set PAN survive; D, A, I, F are
 * set; PAN is also set when SCTLR_EL1.SPAN is 0; SSBS comes from
 * SCTLR_EL1.DSSBS; UAO, SS, IL and BTYPE (like every other field) are 0.
 * (NZCV and PAN sit at the same bits in an AArch32 SPSR; DIT does not.) */
static uint64_t entry_pstate(const struct vcpu_ctx *c)
{
	uint64_t old = c->pstate;
	uint64_t new = (old & (PSTATE_NZCV | PSTATE_PAN)) | PSTATE_D | PSTATE_A | PSTATE_I |
		       PSTATE_F | MODE_EL1H;
	if (old & (old & PSTATE_NRW ? A32_DIT : PSTATE_DIT))
		new |= PSTATE_DIT;
	if (!(c->sctlr & SCTLR_SPAN))
		new |= PSTATE_PAN;
	if (c->sctlr & SCTLR_DSSBS)
		new |= PSTATE_SSBS;
	return new;
}

void vcpu_inject_sync(struct vcpu_ctx *c, uint64_t esr, uint64_t far, bool set_far)
{
	c->esr = esr;
	if (set_far)
		c->far = far;
	c->elr_el1 = c->pc;
	c->spsr_el1 = c->pstate;
	c->pc = (c->vbar & VBAR_MASK) + vector_offset(c);
	c->pstate = entry_pstate(c);
}

void vcpu_inject_undef(struct vcpu_ctx *c)
{
	vcpu_inject_sync(c, (uint64_t)EC_UNKNOWN << ESR_EC_SHIFT | ESR_IL_BIT, 0, false);
}

/* EC from EL1 or from EL0, IL (a 32-bit instruction; AArch64 has no other),
 * FSC "synchronous external abort", FnV when the address is unknown (FAR_EL1
 * is then UNKNOWN: it is given 0 rather than a stale value). */
static uint64_t abort_esr(const struct vcpu_ctx *c, unsigned ec_low, bool va_valid)
{
	uint64_t ec = ec_low + (from_el1(c) ? 1 : 0);
	return ec << ESR_EC_SHIFT | ESR_IL_BIT | (va_valid ? 0 : ESR_FNV) | FSC_SEA;
}

void vcpu_inject_dabt(struct vcpu_ctx *c, uint64_t va, bool va_valid, bool write)
{
	uint64_t esr = abort_esr(c, EC_DABT_LOW, va_valid) | (write ? ESR_WNR : 0);
	vcpu_inject_sync(c, esr, va_valid ? va : 0, true);
}

void vcpu_inject_iabt(struct vcpu_ctx *c, uint64_t va, bool va_valid)
{
	vcpu_inject_sync(c, abort_esr(c, EC_IABT_LOW, va_valid), va_valid ? va : 0, true);
}

/*
 * ID registers as guests see them (HCR_EL2.TID3 traps their reads). Guests
 * get the CPU's own values minus features tessera does not virtualize:
 * SVE (unless the partition has it: IDREG_SVE, sve.c), SME, MTE, AMU
 * (trapped by CPTR_EL2.TAM), MPAM, SPE, trace buffers and LORegions
 * (trapped by HCR_EL2.TLOR). The PMU is the CPU's (pmu.c)
 * unless it is IMPLEMENTATION DEFINED (PMUVer/PerfMon 0xF): then its
 * registers trap and read as zero, and guests are told there is none.
 * What is switched with the vCPU stays visible: the debug architecture
 * with the CPU's breakpoints and watchpoints, and FEAT_WFxT (WFIT's
 * timeout is honoured, vcpu_exit.c).
 */
#include "arch/arm64/arch.h"

#define FIELD(shift) (0xfull << (shift))

/* A PMU version field of 0xF (IMPLEMENTATION DEFINED) reads as 0 (none). */
static uint64_t impdef_pmu_hidden(uint64_t v, unsigned shift)
{
	return ((v >> shift) & 0xf) == 0xf ? v & ~FIELD(shift) : v;
}

/* Portable: the value a guest reads for ID register (CRm, op2) of Op0 3,
 * Op1 0, CRn 0, given the hardware's value. */
uint64_t idreg_sanitize(unsigned crm, unsigned op2, uint64_t v)
{
	switch (crm << 3 | op2) {
	case 1 << 3 | 0: /* ID_PFR0_EL1: AMU */
		return v & ~FIELD(20);
	case 4 << 3 | 0: /* ID_AA64PFR0_EL1: SVE, MPAM, AMU */
		return v & ~(FIELD(32) | FIELD(40) | FIELD(44));
	case 4 << 3 | 1: /* ID_AA64PFR1_EL1: MTE, SME, MPAM_frac, RNDR_trap, NMI */
		return v & ~(FIELD(8) | FIELD(24) | FIELD(16) | FIELD(36) | FIELD(28));
	case 4 << 3 | 4: /* ID_AA64ZFR0_EL1 */
	case 4 << 3 | 5: /* ID_AA64SMFR0_EL1 */
		return 0;
	case 5 << 3 | 0: /* ID_AA64DFR0_EL1: PMSVer (SPE), TraceBuffer, BRBE; PMUVer */
		return impdef_pmu_hidden(v & ~(FIELD(32) | FIELD(44) | FIELD(52)), 8);
	case 1 << 3 | 2: /* ID_DFR0_EL1: PerfMon */
		return impdef_pmu_hidden(v, 24);
	case 5 << 3 | 1: /* ID_AA64DFR1_EL1: PMICNTR, EBEP (PMU state pmu.c does not switch) */
		return v & ~(FIELD(36) | FIELD(48));
	case 7 << 3 | 1: /* ID_AA64MMFR1_EL1: LO */
		return v & ~FIELD(16);
	}
	return v;
}

/* Portable: the same for a partition with the optional features opts. SVE
 * shows as the CPU has it (ID_AA64PFR0_EL1.SVE, ID_AA64ZFR0_EL1: SVE2 and
 * the extensions are the CPU's, the vector length is the partition's);
 * SME stays hidden. */
uint64_t idreg_sanitize_opt(unsigned crm, unsigned op2, uint64_t v, unsigned opts)
{
	uint64_t s = idreg_sanitize(crm, op2, v);
	if (!(opts & IDREG_SVE))
		return s;
	switch (crm << 3 | op2) {
	case 4 << 3 | 0: /* ID_AA64PFR0_EL1 */
		return s | (v & FIELD(32));
	case 4 << 3 | 4: /* ID_AA64ZFR0_EL1 */
		return v;
	}
	return s;
}

#if !defined(TESSERA_HOST)
#define ID_CASE(crm, op2)                                                                          \
	case crm << 3 | op2:                                                                       \
		return read_sysreg(S3_0_C0_C##crm##_##op2)
#define ID_ROW(crm)                                                                                \
	ID_CASE(crm, 0);                                                                           \
	ID_CASE(crm, 1);                                                                           \
	ID_CASE(crm, 2);                                                                           \
	ID_CASE(crm, 3);                                                                           \
	ID_CASE(crm, 4);                                                                           \
	ID_CASE(crm, 5);                                                                           \
	ID_CASE(crm, 6);                                                                           \
	ID_CASE(crm, 7)

static uint64_t idreg_hw(unsigned crm, unsigned op2)
{
	switch (crm << 3 | op2) {
		ID_ROW(1);
		ID_ROW(2);
		ID_ROW(3);
		ID_ROW(4);
		ID_ROW(5);
		ID_ROW(6);
		ID_ROW(7);
	}
	return 0;
}

uint64_t idreg_read(unsigned crm, unsigned op2)
{
	return idreg_sanitize(crm, op2, idreg_hw(crm, op2));
}

uint64_t idreg_read_opt(unsigned crm, unsigned op2, unsigned opts)
{
	return idreg_sanitize_opt(crm, op2, idreg_hw(crm, op2), opts);
}
#endif

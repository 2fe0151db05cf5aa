/* EL2 controls every CPU sets once, ahead of running guests. */
#include "arch/arm64/arch.h"

#define HCR_FMO	   BIT(3)
#define HCR_IMO	   BIT(4)
#define HCR_AMO	   BIT(5)
#define HCR_FB	   BIT(9)
#define HCR_BSU_IS (1ull << 10)
#define HCR_TSC	   BIT(19)
#define HCR_TIDCP  BIT(20)
#define HCR_TACR   BIT(21)
#define HCR_TSW	   BIT(22)
#define HCR_RW	   BIT(31)
/* Guests: AArch64 EL1, physical interrupts and SError to EL2, SMC, set/way
 * and implementation-defined registers trapped. HCR_EL2.VM is set per
 * partition when it first runs; TGE (set by the firmware) must go. */
#define HCR_HOST                                                                                   \
	(HCR_RW | HCR_FMO | HCR_IMO | HCR_AMO | HCR_FB | HCR_BSU_IS | HCR_TSC | HCR_TIDCP |        \
	 HCR_TACR | HCR_TSW)

/* FP/SIMD usable at EL2 and EL1 (TFP=0); SVE trapped (TZ=1) until a vCPU
 * of a partition with SVE uses it (sve.c); SME trapped (TSM): not offered.
 * Activity monitors trapped (TAM): their counters are not switched, so a
 * guest must not see another's; the trap answers with an UNDEF. */
#define CPTR_TAM       BIT(30)
#define CPTR_EL2_VALUE 0x33ffull

#define HCR_VM	 BIT(0)
#define HCR_TWI	 BIT(13)
#define HCR_TID3 BIT(18)
#define HCR_TLOR BIT(35)
#define HCR_APK	 BIT(40)
#define HCR_API	 BIT(41)
/* Guests read sanitized ID registers (TID3) and use pointer authentication
 * without trapping (API, APK); their keys are switched with the vCPU.
 * LORegions registers trap (TLOR; answered with an UNDEF, and the ID
 * registers hide FEAT_LOR): they are not switched. TLOR and TAM are RES0
 * without their features, so they are set only where the CPU has them. */
#define HCR_GUEST (HCR_HOST | HCR_VM | HCR_TWI | HCR_TID3 | HCR_API | HCR_APK)

/* Running a guest adds stage-2 (VM) and traps WFI (a vCPU that waits gives
 * its CPU back to EL2). WFE is not trapped: guests spin with it. */
static uint64_t hcr_guest = HCR_GUEST; /* the same on every CPU */
/* guest.S: FEAT_RAS, so the exit path reads DISR_EL1 for a deferred SError. */
uint8_t guest_serror_ras;

void guest_hcr_set(bool vm)
{
	write_sysreg(hcr_el2, vm ? hcr_guest : HCR_HOST);
	isb();
}

/* A vCPU alone on its CPU waits in the guest: its WFI halts the CPU
 * until an interrupt, which exits to EL2 anyway (a kick, its timer, a
 * device), so trapping WFI would only add an unload and a reload. */
void guest_wfi_trap(bool trap)
{
	uint64_t h = read_sysreg(hcr_el2);
	uint64_t want = trap ? h | HCR_TWI : h & ~HCR_TWI;
	if (want != h) {
		write_sysreg(hcr_el2, want);
		isb();
	}
}

void el2_cpu_init(void)
{
	uint64_t pfr0 = read_sysreg(id_aa64pfr0_el1);
	bool amu = (pfr0 >> 44) & 0xf;
	guest_serror_ras = ((pfr0 >> 28) & 0xf) != 0;
	if ((read_sysreg(id_aa64mmfr1_el1) >> 16) & 0xf) /* LO */
		hcr_guest = HCR_GUEST | HCR_TLOR;
	write_sysreg(mdcr_el2, pmu_mdcr_el2()); /* the guests' PMU: pmu.c */
	write_sysreg(hcr_el2, HCR_HOST);
	write_sysreg(cptr_el2, CPTR_EL2_VALUE | (amu ? CPTR_TAM : 0));
	write_sysreg(vttbr_el2, 0);
	/* Guests' MIDR_EL1 reads return VPIDR_EL2, which resets to an UNKNOWN
	 * value: give them this CPU's own. */
	write_sysreg(vpidr_el2, read_sysreg(midr_el1));
	isb();
	sve_cpu_init();
}

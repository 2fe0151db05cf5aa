/*
 * The PMU as guests see it: PMUv3 itself, not an emulation. MDCR_EL2.HPMN
 * gives the guest every event counter the CPU has (so PMCR_EL0.N reads the
 * real number at EL1), PMCEID0/1 are the CPU's, and nothing traps. Counting
 * covers only the guest: MDCR_EL2.HPMD (PMUv3p1) stops the event counters
 * at EL2 and MDCR_EL2.HCCD (PMUv3p5) the cycle counter, whatever filter
 * bits (PMEVTYPER/PMCCFILTR.NSH) the guest sets. The state is switched
 * with the vCPU (vcpu_ctx_load/save), and on the way out every counter and
 * overflow interrupt is stopped so nothing carries into the next guest.
 * The overflow interrupt (PPI 23 on QEMU virt, PPI_PMU) is forwarded like
 * the timers': a HW-linked level PPI whose line is PMOVSSET & PMINTENSET
 * (guest_ppi_lines, timer.c).
 */
#include "arch/arm64/arch.h"

#define DFR0_PMUVER(v)	 (((v) >> 8) & 0xf)
#define PMUVER_V3P1	 4
#define PMUVER_V3P5	 6
#define PMUVER_IMPDEF	 0xf
#define MDCR_TPMCR	 BIT(5)
#define MDCR_TPM	 BIT(6)
#define MDCR_HPMD	 BIT(17)
#define MDCR_HCCD	 BIT(23)
#define PMCR_N(v)	 (((v) >> 11) & 0x1f)
#define PMCR_GUEST_BITS	 0xf9ull       /* E, D, X, DP, LC, LP: P and C only act when written */
#define PMU_ALL_COUNTERS 0xffffffffull /* C (bit 31) and P0..P30 */

static unsigned pmu_version(void)
{
	return DFR0_PMUVER(read_sysreg(id_aa64dfr0_el1));
}

bool pmu_guest_available(void)
{
	unsigned ver = pmu_version();
	return ver != 0 && ver != PMUVER_IMPDEF;
}

unsigned pmu_counters(void)
{
	return pmu_guest_available() ? PMCR_N(read_sysreg(pmcr_el0)) : 0;
}

bool pmu_present;

/* HPMN = N: every counter in the guest's range (none kept for EL2). No
 * PMU (or an IMPLEMENTATION DEFINED one): its registers trap and the exit
 * handler reads them as zero. */
uint64_t pmu_mdcr_el2(void)
{
	uint64_t mdcr = PMCR_N(read_sysreg(pmcr_el0));
	pmu_present = pmu_guest_available();
	if (!pmu_present)
		return mdcr | MDCR_TPM | MDCR_TPMCR;
	if (pmu_version() >= PMUVER_V3P1)
		mdcr |= MDCR_HPMD;
	if (pmu_version() >= PMUVER_V3P5)
		mdcr |= MDCR_HCCD;
	return mdcr;
}

/* PMEVCNTR<n>/PMEVTYPER<n> through the selector: one code path for all
 * 31, at the price of an ISB each (this runs on load/unload only). */
static void select_counter(unsigned n)
{
	write_sysreg(pmselr_el0, n);
	isb();
}

void pmu_ctx_save(struct vcpu_ctx *c)
{
	unsigned n = pmu_counters();
	if (!pmu_guest_available())
		return;
	c->pmcr = read_sysreg(pmcr_el0) & PMCR_GUEST_BITS;
	/* stop first, so the counts saved are the counts restored */
	write_sysreg(pmcr_el0, c->pmcr & ~1ull);
	isb();
	c->pmselr = read_sysreg(pmselr_el0);
	c->pmcnten = read_sysreg(pmcntenset_el0);
	c->pminten = read_sysreg(pmintenset_el1);
	c->pmovs = read_sysreg(pmovsset_el0);
	c->pmuserenr = read_sysreg(pmuserenr_el0);
	c->pmccntr = read_sysreg(pmccntr_el0);
	c->pmccfiltr = read_sysreg(pmccfiltr_el0);
	for (unsigned i = 0; i < n && i < PMU_MAX_COUNTERS; i++) {
		select_counter(i);
		c->pmevcntr[i] = read_sysreg(pmxevcntr_el0);
		c->pmevtyper[i] = read_sysreg(pmxevtyper_el0);
	}
	/* nothing of this guest's keeps counting or interrupting */
	write_sysreg(pmcntenclr_el0, PMU_ALL_COUNTERS);
	write_sysreg(pmintenclr_el1, PMU_ALL_COUNTERS);
	write_sysreg(pmovsclr_el0, PMU_ALL_COUNTERS);
	write_sysreg(pmuserenr_el0, 0);
	isb();
	gic_deactivate(PPI_PMU); /* forwarded, maybe still active (as the timers' PPIs) */
}

void pmu_ctx_load(const struct vcpu_ctx *c)
{
	unsigned n = pmu_counters();
	if (!pmu_guest_available())
		return;
	write_sysreg(pmcr_el0, 0);
	isb();
	for (unsigned i = 0; i < n && i < PMU_MAX_COUNTERS; i++) {
		select_counter(i);
		write_sysreg(pmxevtyper_el0, c->pmevtyper[i]);
		write_sysreg(pmxevcntr_el0, c->pmevcntr[i]);
	}
	write_sysreg(pmselr_el0, c->pmselr);
	write_sysreg(pmccfiltr_el0, c->pmccfiltr);
	write_sysreg(pmccntr_el0, c->pmccntr);
	write_sysreg(pmuserenr_el0, c->pmuserenr);
	write_sysreg(pmovsclr_el0, PMU_ALL_COUNTERS);
	write_sysreg(pmovsset_el0, c->pmovs);
	write_sysreg(pmintenclr_el1, PMU_ALL_COUNTERS);
	write_sysreg(pmintenset_el1, c->pminten);
	write_sysreg(pmcntenclr_el0, PMU_ALL_COUNTERS);
	write_sysreg(pmcntenset_el0, c->pmcnten);
	isb();
	write_sysreg(pmcr_el0, c->pmcr); /* E last: counting resumes here */
	isb();
}

/* The generic timer: the system counter for time, and EL2 defaults. */
#include "arch/arm64/arch.h"

#define CNTHCTL_EL1PCTEN BIT(0)
#define CNTHCTL_EL1PCEN	 BIT(1)

void timer_init_cpu(void)
{
	/* EL1 may read the physical counter; guests get their own policy later. */
	write_sysreg(cnthctl_el2, CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN);
	write_sysreg(cntvoff_el2, 0);
	write_sysreg(cnthp_ctl_el2, 0);
	write_sysreg(cntv_ctl_el0, 0);
	isb();
}

uint64_t timer_now(void)
{
	isb();
	return read_sysreg(cntpct_el0);
}

uint64_t timer_freq(void)
{
	return read_sysreg(cntfrq_el0);
}

uint64_t timer_ns_to_ticks(uint64_t ns)
{
	return ns / 1000 * timer_freq() / 1000000 + (ns % 1000) * timer_freq() / 1000000000;
}

void timer_udelay(uint64_t us)
{
	uint64_t end = timer_now() + timer_ns_to_ticks(us * 1000);
	while (timer_now() < end)
		cpu_relax();
}

/* The EL2 timer has no user yet beyond timeouts; a stray expiry is masked
 * rather than left to fire forever. */
void timer_hyp_irq(void)
{
	write_sysreg(cnthp_ctl_el2, 2); /* IMASK */
	isb();
}

#define CTL_ENABLE  BIT(0)
#define CTL_IMASK   BIT(1)
#define CTL_ISTATUS BIT(2)

/* A timer's interrupt output: enabled, not masked, condition met (ISTATUS
 * is UNKNOWN while ENABLE is 0, so it alone does not say). */
static bool line(uint64_t ctl)
{
	return (ctl & (CTL_ENABLE | CTL_IMASK | CTL_ISTATUS)) == (CTL_ENABLE | CTL_ISTATUS);
}

/* On every exit: a handful of register reads, no calls. */
unsigned guest_ppi_lines(void)
{
	unsigned v = line(read_sysreg(cntv_ctl_el0)) ? GUEST_LINE_VTIMER : 0;
	v |= line(read_sysreg(cntp_ctl_el0)) ? GUEST_LINE_PTIMER : 0;
	if (pmu_present && (read_sysreg(pmovsset_el0) & read_sysreg(pmintenset_el1)))
		v |= GUEST_LINE_PMU; /* an overflow whose interrupt is enabled */
	return v;
}

/*
 * mode=ipi: every SGI delivered, none twice (tguest.count=N per pass,
 * default 100000). vCPU0 starts vCPU1 and sends it SGI_FLAG, one at a time,
 * waiting for vCPU1's handler to count it before the next, in three passes:
 *   spin: vCPU1 polls with YIELD and IRQs on (it never exits by itself;
 *         its handler only counts, so nothing it does traps)
 *   wfi:  vCPU1 waits in WFI between SGIs
 *   both: vCPU1 spins sending SGI_BURST to vCPU0, paced the same way,
 *         while vCPU0 sends to it: both directions at once
 * A pass fails at the first SGI not taken within 1 s. Prints one line per
 * pass, then TGUEST-IPI-DONE.
 */
#include "tguest.h"

#define SPIN_BUDGET 65536

static uint64_t ms(unsigned n)
{
	return timer_freq() * n / 1000;
}

volatile uint32_t ipi_bursts; /* SGI_BURST taken by vCPU0 */

static unsigned parse_count(void)
{
	char buf[12];
	unsigned n = 0;
	if (!bootarg(dt.bootargs, "tguest.count", buf, sizeof(buf)))
		return 100000;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (unsigned)(*p - '0');
	return n ? n : 1;
}

/* Waits for *p > was: first SPIN_BUDGET YIELD spins (how long a polling
 * sender on bare hardware would wait), then up to 1 s. 0 on time, 1 late,
 * -1 never. */
static int wait_taken(volatile uint32_t *p, uint32_t was)
{
	for (unsigned i = 0; i < SPIN_BUDGET; i++) {
		if (*p != was)
			return 0;
		__asm__ volatile("yield" ::: "memory");
	}
	return wait_until(p, was + 1, ms(1000)) ? 1 : -1;
}

/* vCPU1 in the "both" pass: sends SGI_BURST to vCPU0 paced by its count. */
void ipi_secondary_burst(struct cpu_state *c)
{
	while (c->spin == 2) {
		uint32_t was = ipi_bursts;
		if (c->bursts_sent >= c->burst_goal) {
			__asm__ volatile("yield" ::: "memory");
			continue;
		}
		gic_send_sgi(SGI_BURST, dt.mpidr[boot_cpu]);
		c->bursts_sent++;
		while (ipi_bursts == was && c->spin == 2)
			__asm__ volatile("yield" ::: "memory");
	}
}

static bool pass(const char *name, unsigned t, unsigned mode, unsigned n)
{
	struct cpu_state *c = &cpus[t];
	unsigned late = 0, b0 = ipi_bursts;
	uint32_t f0 = c->flags;
	c->burst_goal = mode == 2 ? n : 0;
	c->bursts_sent = 0;
	c->spin = mode;
	dsb();
	gic_send_sgi(SGI_KICK, dt.mpidr[t]); /* out of WFI into the new mode */
	for (unsigned i = 0; i < n; i++) {
		uint32_t was = c->flags;
		gic_send_sgi(SGI_FLAG, dt.mpidr[t]);
		int r = wait_taken(&c->flags, was);
		if (r < 0) {
			tg_printf("TGUEST-IPI %s FAIL: SGI %u of %u never taken\n", name, i + 1, n);
			c->spin = 0;
			return false;
		}
		late += (unsigned)r;
	}
	if (mode == 2 && !wait_until(&ipi_bursts, b0 + n, ms(5000)))
		tg_printf("TGUEST-IPI %s FAIL: %u of %u SGIs from vCPU%u taken\n", name,
			  ipi_bursts - b0, n, t);
	c->spin = 0;
	dsb();
	gic_send_sgi(SGI_KICK, dt.mpidr[t]);
	unsigned got = c->flags - f0, back = ipi_bursts - b0;
	bool ok = got == n && back == (mode == 2 ? n : 0);
	tg_printf("TGUEST-IPI %s %s sent=%u taken=%u late=%u back=%u\n", name, ok ? "PASS" : "FAIL",
		  n, got, late, back);
	return ok;
}

void run_ipi(void)
{
	unsigned n = parse_count(), t = boot_cpu == 0 ? 1 : 0, fails = 0;
	uint32_t boots = cpus[t].boots;
	if (dt.ncpus < 2 || hvc_call(PSCI_CPU_ON, dt.mpidr[t], (uintptr_t)secondary_entry, t) ||
	    !wait_until(&cpus[t].boots, boots + 1, ms(1000))) {
		tg_printf("TGUEST-IPI FAIL: no second vCPU\n");
		return;
	}
	fails += !pass("spin", t, 1, n);
	fails += !pass("wfi", t, 0, n);
	fails += !pass("both", t, 2, n);
	tg_printf("TGUEST-IPI-DONE fail=%u\n", fails);
}

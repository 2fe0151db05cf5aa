/*
 * mode=exits: what each kind of exit costs, timed from inside the guest
 * with CNTVCT (issue 8's table; `make bench` runs the same binary under
 * tessera and on bare QEMU, both with -icount shift=0, and subtracts).
 * Each row is 65,536 iterations (the timer: 64 expiries) and prints
 * picoseconds of counter time per iteration: under icount, instructions
 * of all vCPUs times 1000.
 */
#include "tguest.h"

#define ITERS	    65536u
#define EXPIRIES    64u
#define UNKNOWN_HVC 0x8600ff00u
#define GICD_TYPER  0x0004
#define GICR_TYPER  0x0008

static uint64_t ps_per(uint64_t ticks, uint64_t iters)
{
	return ticks * 1000000 / iters * 1000000 / timer_freq();
}

static uint64_t row_hvc(uint32_t fid)
{
	uint64_t t0 = now();
	for (unsigned i = 0; i < ITERS; i++)
		hvc_call(fid, 0, 0, 0);
	return now() - t0;
}

static uint64_t row_read(uintptr_t reg)
{
	uint64_t t0 = now();
	for (unsigned i = 0; i < ITERS; i++)
		(void)mmio_read32(reg);
	return now() - t0;
}

/* SGI_FLAG to vCPU t, waiting until its handler counted it. */
static uint64_t row_sgi(unsigned t)
{
	volatile uint32_t *flags = &cpus[t].flags;
	uint64_t t0 = now();
	for (unsigned i = 0; i < ITERS; i++) {
		uint32_t was = *flags;
		gic_send_sgi(SGI_FLAG, dt.mpidr[t]);
		while (*flags == was)
			__asm__ volatile("yield" ::: "memory");
	}
	return now() - t0;
}

static uint64_t row_eoi(void)
{
	uint64_t t0 = now();
	for (unsigned i = 0; i < ITERS; i++)
		write_sysreg(S3_0_C12_C12_1, 1023); /* ICC_EOIR1_EL1, spurious: ignored */
	return now() - t0;
}

/* Expiry to handler: the handler stamps timer_hit; 10 ms apart. The vCPU
 * spins rather than WFI (under -icount an idle machine's clock follows the
 * host's, a spinning one's counts instructions), without YIELD: under
 * icount each YIELD hands QEMU's thread to the next vCPU, which is slow,
 * and the other vCPU sleeps in WFI anyway. */
static uint64_t row_timer(void)
{
	struct cpu_state *c = &cpus[this_cpu()];
	uint64_t late = 0, period = timer_freq() / 100;
	for (unsigned i = 0; i < EXPIRIES; i++) {
		uint64_t cval = now() + period;
		c->timer_hit = 0;
		write_sysreg(cntv_cval_el0, cval);
		write_sysreg(cntv_ctl_el0, 1);
		isb();
		while (!c->timer_hit)
			__asm__ volatile("nop" ::: "memory");
		late += c->timer_hit - cval;
	}
	return late;
}

static uint64_t row_loop(void)
{
	uint64_t t0 = now(), n = ITERS;
	__asm__ volatile("1: nop\n\tsubs %0, %0, #1\n\tb.ne 1b" : "+r"(n));
	return now() - t0;
}

/* tguest.row=<name> (profiling, tools/tbprof.py): only that row runs,
 * the others print 0. */
static char only[16];

static bool want(const char *row)
{
	const char *a = only, *b = row;
	while (*a && *a == *b)
		a++, b++;
	return !only[0] || *a == *b;
}

void run_exitbench(void)
{
	unsigned t = boot_cpu == 0 ? 1 : 0;
	uint32_t boots = cpus[t].boots;
	uintptr_t gicr = GICR_BASE + GICR_STRIDE * boot_cpu;
	if (dt.ncpus < 2 || hvc_call(PSCI_CPU_ON, dt.mpidr[t], (uintptr_t)secondary_entry, t) ||
	    !wait_until(&cpus[t].boots, boots + 1, timer_freq())) {
		tg_printf("TGUEST-EXITS FAIL: no second vCPU\n");
		return;
	}
	if (dt.bootargs)
		bootarg(dt.bootargs, "tguest.row", only, sizeof(only));
	uint64_t hvc = want("hvc") ? row_hvc(0x84000000u) : 0;
	uint64_t unk = want("unknown_hvc") ? row_hvc(UNKNOWN_HVC) : 0;
	uint64_t gicd = want("gicd_read") ? row_read(GICD_BASE + GICD_TYPER) : 0;
	uint64_t gicr_r = want("gicr_read") ? row_read(gicr + GICR_TYPER) : 0;
	tg_printf("TGUEST-EXITS hvc=%lu unknown_hvc=%lu gicd_read=%lu gicr_read=%lu\n",
		  ps_per(hvc, ITERS), ps_per(unk, ITERS), ps_per(gicd, ITERS),
		  ps_per(gicr_r, ITERS));
	uint64_t sgi = want("sgi_wfi") ? row_sgi(t) : 0;
	tg_printf("TGUEST-EXITS-SGI %lu\n", ps_per(sgi, ITERS));
	uint64_t self = want("sgi_self") ? row_sgi(boot_cpu) : 0;
	tg_printf("TGUEST-EXITS-SELF %lu\n", ps_per(self, ITERS));
	uint64_t eoi = want("eoi") ? row_eoi() : 0;
	uint64_t timer = want("timer") ? row_timer() : 0, loop = row_loop();
	tg_printf("TGUEST-EXITS sgi_wfi=%lu sgi_self=%lu eoi=%lu timer=%lu loop=%lu\n",
		  ps_per(sgi, ITERS), ps_per(self, ITERS), ps_per(eoi, ITERS),
		  ps_per(timer, EXPIRIES), ps_per(loop, ITERS));
}

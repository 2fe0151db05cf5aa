/*
 * tguest boot: find the device tree, pick the mode from the bootargs, bring
 * up the GIC for vCPU0, then run the mode. Secondaries (started by the
 * cpu_on test) come in at secondary_main() and serve SGIs until told to
 * switch off.
 */
#include "tguest.h"

#define DEFAULT_CPUS 2

void tguest_main(uint64_t x0);
void secondary_main(unsigned idx);
void irq_dispatch(uint32_t intid);

struct cpu_state cpus[MAX_CPUS];
volatile uint32_t pongs;
struct dt_info dt;
unsigned boot_cpu;

/*
 * Waits for *p to reach at least want. WFE sleeps between checks: a
 * secondary's SEV or the counter event stream (CNTKCTL_EL1, start.S) wakes
 * it, so the timeout is noticed even if nothing ever arrives.
 */
bool wait_until(volatile uint32_t *p, uint32_t want, uint64_t timeout_ticks)
{
	uint64_t start = now();

	while (*p < want) {
		if (now() - start > timeout_ticks)
			return *p >= want;
		wfe();
	}
	dmb(); /* what the writer stored before the flag is visible now */
	return true;
}

void timer_irq(void)
{
	cpus[this_cpu()].timer_hit = read_sysreg(cntvct_el0);
	/* Disable it: the level stays high until the next CVAL write otherwise. */
	write_sysreg(cntv_ctl_el0, 0);
	isb();
}

/* Arms the virtual timer for cval and sleeps in WFI until its handler ran,
 * calling on_wake (if any) at each wake-up; how late the handler was, in
 * counter ticks. */
uint64_t timer_sleep(uint64_t cval, void (*on_wake)(void))
{
	struct cpu_state *c = &cpus[this_cpu()];

	c->timer_hit = 0;
	write_sysreg(cntv_cval_el0, cval);
	write_sysreg(cntv_ctl_el0, 1);
	isb();
	while (!c->timer_hit) {
		irq_disable();
		if (!c->timer_hit)
			wfi();
		irq_enable();
		if (on_wake)
			on_wake();
	}
	return c->timer_hit - cval;
}

void irq_dispatch(uint32_t intid)
{
	unsigned me = this_cpu();

	if (flood_irq(intid) || storm_irq(intid) || timers_irq(intid) || pmu_irq(intid) ||
	    snap_irq(intid) || its_irq(intid))
		return;
	switch (intid) {
	case TIMER_PPI:
		timer_irq();
		break;
	case UART_SPI:
		rx_irq();
		break;
	case SGI_PING:
		/* Record it before replying: vCPU0 checks both. */
		cpus[me].pings++;
		gic_send_sgi(SGI_PONG, dt.mpidr[boot_cpu]);
		break;
	case SGI_PONG:
		pongs++;
		sev();
		break;
	case SGI_FLAG: /* SEV: the sender may wait in WFE */
		cpus[me].flags++;
		sev();
		break;
	case SGI_BURST:
		ipi_bursts++;
		sev();
		break;
	default:
		break; /* SGI_KICK only wakes a secondary from WFI */
	}
}

void secondary_main(unsigned idx)
{
	struct cpu_state *c = &cpus[idx];

	c->gic_ok = gic_cpu_init();
	__asm__ volatile("msr daifclr, #4" ::: "memory"); /* SErrors: report them */
	irq_enable();
	dmb(); /* gic_ok before the report */
	c->boots++;
	dsb();
	sev();
	if (c->storm)
		storm_secondary();
	for (;;) {
		/* Masked while checking, so a kick between check and WFI still wakes it. */
		irq_disable();
		if (c->off_req) {
			c->off_req = 0;
			dsb();
			c->off_err = (int32_t)hvc_call(PSCI_CPU_OFF, 0, 0, 0);
		}
		dbg_serve(c);
		pmu_secondary_poll(idx);
		sve_serve(c);
		fpsimd_serve(c);
		if (c->spin) { /* mode=ipi: poll, never exit by itself */
			irq_enable();
			while (c->spin == 1)
				__asm__ volatile("yield" ::: "memory");
			ipi_secondary_burst(c);
			continue;
		}
		wfi();
		irq_enable();
	}
}

/*
 * The DTB is in x0 under tessera. Bare QEMU passes none for an ELF kernel
 * (x0 = 0), but loads one given with -dtb at the start of RAM if it fits
 * below the image: look there next. Both are read through a probe so a bad
 * pointer cannot kill the guest. No DTB: mode "all", 2 vCPUs.
 */
static const void *find_dtb(uint64_t x0, const char **where)
{
	uint64_t cand[2] = {x0, RAM_BASE};
	static const char *const names[2] = {"x0", "ram"};
	struct fault_rec rec;

	for (unsigned i = 0; i < 2; i++) {
		if (cand[i] < RAM_BASE || (cand[i] & 7))
			continue;
		if (probe_read32(cand[i], &rec) == 0xedfe0dd0U && !rec.hit &&
		    dt_is_valid((const void *)cand[i])) {
			*where = names[i];
			return (const void *)cand[i];
		}
	}
	*where = "none";
	return NULL;
}

/* Which DT cpu entry is the one running this code (boot_cpu). */
/* tguest.period=<ms>, 0 if absent or not a number. */
static unsigned parse_ms(const char *args)
{
	char buf[12];
	unsigned ms = 0;
	if (!bootarg(args, "tguest.period", buf, sizeof(buf)))
		return 0;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		ms = ms * 10 + (unsigned)(*p - '0');
	return ms;
}

static unsigned find_self(void)
{
	uint64_t aff = mpidr_aff(read_sysreg(mpidr_el1));

	for (unsigned i = 0; i < dt.ncpus; i++)
		if (mpidr_aff(dt.mpidr[i]) == aff)
			return i;
	return 0;
}

/* tguest.fill=<MiB>: that much RAM from 16 MiB up gets noise (xorshift
 * from a fixed seed), so a snapshot of it has chunks that do not compress;
 * the sum printed lets a test compare it from outside. */
static void fill_ram(const char *args)
{
	char v[12];
	uint64_t mib = 0, x = 0x9e3779b97f4a7c15ull, sum = 0;
	if (!bootarg(args, "tguest.fill", v, sizeof(v)))
		return;
	for (const char *c = v; *c >= '0' && *c <= '9'; c++)
		mib = mib * 10 + (uint64_t)(*c - '0');
	volatile uint64_t *w = (volatile uint64_t *)(RAM_BASE + (16UL << 20));
	for (uint64_t i = 0; i < (mib << 20) / 8; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		w[i] = x;
		sum += x;
	}
	tg_printf("TGUEST-FILL mib=%lu sum=0x%lx\n", mib, sum);
}

void tguest_main(uint64_t x0)
{
	char mode[16] = "all", name[32] = "tguest";
	const char *where;
	const void *blob = find_dtb(x0, &where);

	if (blob)
		dt_parse(blob, &dt);
	if (!dt.ncpus) {
		/* no usable /cpus: assume the usual MPIDRs Aff0 = 0, 1 */
		dt.ncpus = DEFAULT_CPUS;
		for (unsigned i = 0; i < DEFAULT_CPUS; i++)
			dt.mpidr[i] = i;
	}
	boot_cpu = find_self();
	write_sysreg(tpidr_el1, boot_cpu);
	isb();
	bootarg(dt.bootargs, "tguest.mode", mode, sizeof(mode));
	/* tguest.period=<ms>: the idle heartbeat (default 200 ms) */
	bootarg(dt.bootargs, "tguest.name", name, sizeof(name));

	tg_printf("TGUEST: start mode=%s vcpus=%u dtb=%s\n", mode, dt.ncpus, where);
	fill_ram(dt.bootargs);
	gic_dist_init();
	if (!gic_cpu_init())
		tg_printf("TGUEST: no redistributor for MPIDR 0x%lx\n", read_sysreg(mpidr_el1));
	__asm__ volatile("msr daifclr, #4" ::: "memory");
	irq_enable();

	if (!tg_strncmp(mode, "reset", 6))
		run_reset();
	if (!tg_strncmp(mode, "idle", 5))
		run_idle(name, parse_ms(dt.bootargs));
	if (!tg_strncmp(mode, "bench", 6))
		run_bench();
	if (!tg_strncmp(mode, "pmu", 4))
		run_pmu();
	if (!tg_strncmp(mode, "sve", 4)) {
		run_sve();
		system_off();
	}
	if (!tg_strncmp(mode, "ipi", 4)) {
		run_ipi();
		system_off();
	}
	if (!tg_strncmp(mode, "storm", 6)) {
		run_storm();
		system_off();
	}
	if (!tg_strncmp(mode, "probe", 6))
		run_probe();
	if (!tg_strncmp(mode, "dirty", 6))
		run_dirty();
	if (!tg_strncmp(mode, "exits", 6)) {
		run_exitbench();
		system_off();
	}
	if (!tg_strncmp(mode, "snap", 5))
		run_snap();
	if (!tg_strncmp(mode, "its", 4)) {
		run_its();
		system_off();
	}
	if (!tg_strncmp(mode, "itsbench", 9)) {
		run_its_bench();
		system_off();
	}
	if (!tg_strncmp(mode, "itswait", 8))
		run_its_wait();
	if (!tg_strncmp(mode, "itsscribble", 12))
		run_its_scribble();
	if (!tg_strncmp(mode, "rx", 3))
		run_rx();
	if (!tg_strncmp(mode, "edu", 4))
		run_edu();
	if (!tg_strncmp(mode, "victim", 7))
		run_victim();
	if (!tg_strncmp(mode, "scribble", 9))
		run_scribble();
	if (!tg_strncmp(mode, "msixscribble", 13))
		run_msix_scribble();
	if (!tg_strncmp(mode, "edumsi", 7))
		run_edu_msi();
	if (!tg_strncmp(mode, "rt", 3))
		run_rt(parse_ms(dt.bootargs));
	if (!tg_strncmp(mode, "hog", 4))
		run_hog();
	if (!tg_strncmp(mode, "share", 6))
		run_share();
	if (!tg_strncmp(mode, "rtstat", 7))
		run_rtstat();
	if (!tg_strncmp(mode, "gap", 4))
		run_gap();
	if (!tg_strncmp(mode, "flood", 6))
		run_flood();
	if (!tg_strncmp(mode, "livew", 6))
		run_livew();
	if (tg_strncmp(mode, "all", 4))
		tg_printf("TGUEST: unknown mode %s, running all\n", mode);
	run_all();
	system_off();
}

/*
 * The PMU a partition sees: PMUv3 with event counters (PMCR_EL0.N > 0), the
 * cycle counter, the events the CPU has (PMCEID0), counting only the guest
 * (a loop that traps to the hypervisor on every iteration counts its own
 * instructions, not the hypervisor's, even with the filters' NSH bit asking
 * for EL2), the overflow interrupt as PPI 23 through the GIC, and counters
 * that belong to this vCPU (another vCPU, possibly time-sharing the same
 * physical CPU, programming its own counter 0 leaves ours alone).
 */
#include "tguest.h"

#define GICR_SGI	  0x10000
#define GICR_ISENABLER0	  0x0100
#define GICR_ICENABLER0	  0x0180
#define GICR_ISPENDR0	  0x0200
#define GICD_TYPER	  0x0004
#define PMU_PPI		  23
#define PMCR_E		  (1U << 0)
#define PMCR_P		  (1U << 1)
#define PMCR_C		  (1U << 2)
#define PMCR_N(v)	  (((v) >> 11) & 0x1f)
#define CCNT		  (1U << 31)
#define EV_SW_INCR	  0x00
#define EV_INST_RETIRED	  0x08
#define EV_CPU_CYCLES	  0x11
#define FILTER_NSH	  (1U << 27) /* count at EL2 too, if the hypervisor allowed it */
#define LOOP_ITERS	  1000
#define LOOP_INSNS	  3 /* ldr, subs, b.ne */
#define OVF_HEADROOM	  20000
#define SCRAMBLE_BASE	  0xbad00000U
#define MINE		  0x1234567U
#define SECONDARY_WAIT_MS 2000
#define OVERFLOW_WAIT_MS  1000

/* Last measurement, for mode=pmu's report line. */
static struct {
	unsigned ver, n;
	uint64_t insns, cycles, ev_cycles;
	bool have_insns;
} m;

static struct {
	volatile bool armed;
	volatile uint32_t hits;
	volatile uint64_t ovs;	   /* PMOVSCLR in the handler */
	volatile uint32_t pending; /* GICR_ISPENDR0 bit 23 after clearing it */
} ovf;

static volatile uint32_t scramble_req[MAX_CPUS], scramble_done[MAX_CPUS];

static uint64_t ms_ticks(unsigned n)
{
	return timer_freq() * n / 1000;
}

static void select_ev(unsigned ctr, uint64_t type)
{
	write_sysreg(pmselr_el0, ctr);
	isb();
	write_sysreg(pmxevtyper_el0, type);
}

static void set_ev(unsigned ctr, uint64_t val)
{
	write_sysreg(pmselr_el0, ctr);
	isb();
	write_sysreg(pmxevcntr_el0, val);
}

static uint64_t get_ev(unsigned ctr)
{
	write_sysreg(pmselr_el0, ctr);
	isb();
	return read_sysreg(pmxevcntr_el0);
}

static uint64_t get_type(unsigned ctr)
{
	write_sysreg(pmselr_el0, ctr);
	isb();
	return read_sysreg(pmxevtyper_el0);
}

/* The counters in mask run over LOOP_ITERS iterations of a 3-instruction
 * loop whose load is an MMIO read of the GIC distributor: under a
 * hypervisor every iteration exits to it. */
static void trapping_loop(uint32_t mask)
{
	uint64_t n = LOOP_ITERS;

	__asm__ volatile("msr pmcntenset_el0, %[m]\n\t"
			 "isb\n\t"
			 "1: ldr w3, [%[a]]\n\t"
			 "subs %[n], %[n], #1\n\t"
			 "b.ne 1b\n\t"
			 "msr pmcntenclr_el0, %[m]\n\t"
			 "isb"
			 : [n] "+r"(n)
			 : [m] "r"((uint64_t)mask), [a] "r"(GICD_BASE + GICD_TYPER)
			 : "x3", "memory", "cc");
}

static void pmu_reset(void)
{
	write_sysreg(pmcntenclr_el0, 0xffffffffUL);
	write_sysreg(pmintenclr_el1, 0xffffffffUL);
	write_sysreg(pmovsclr_el0, 0xffffffffUL);
	write_sysreg(pmcr_el0, PMCR_P | PMCR_C); /* counters to zero, E off */
	isb();
}

bool pmu_irq(uint32_t intid)
{
	if (intid != PMU_PPI || !ovf.armed)
		return false;
	ovf.ovs = read_sysreg(pmovsclr_el0);
	write_sysreg(pmovsclr_el0, ovf.ovs); /* the line drops */
	isb();
	ovf.pending = mmio_read32(gic_redist() + GICR_SGI + GICR_ISPENDR0) & (1U << PMU_PPI);
	ovf.hits++;
	return true;
}

void pmu_secondary_poll(unsigned me)
{
	if (me >= MAX_CPUS || scramble_req[me] == scramble_done[me])
		return;
	/* this vCPU's own counter 0: a value and an event of its own */
	set_ev(0, SCRAMBLE_BASE + me);
	select_ev(0, EV_CPU_CYCLES);
	write_sysreg(pmcntenset_el0, 1);
	write_sysreg(pmcr_el0, PMCR_E);
	isb();
	dsb();
	scramble_done[me] = scramble_req[me];
	sev();
}

#define FAILW(...)                                                                                 \
	do {                                                                                       \
		tg_snprintf(why, why_size, __VA_ARGS__);                                           \
		return 1;                                                                          \
	} while (0)

/* Instructions and cycles of the trapping loop, with NSH set where the
 * PMU version lets the hypervisor override it (HPMD: PMUv3p1, HCCD: p5). */
static int count_loop(bool strict, char *why, size_t why_size)
{
	uint64_t nsh_ev = m.ver >= 4 ? FILTER_NSH : 0, nsh_cc = m.ver >= 6 ? FILTER_NSH : 0;
	uint64_t lo = LOOP_ITERS * (LOOP_INSNS - 1), hi = LOOP_ITERS * LOOP_INSNS + 16;
	uint64_t ceid0 = read_sysreg(pmceid0_el0);
	uint32_t mask = CCNT | 1;

	if (!(ceid0 & (1UL << EV_CPU_CYCLES)))
		FAILW("PMCEID0 0x%lx: no CPU_CYCLES event", ceid0);
	m.have_insns = ceid0 & (1UL << EV_INST_RETIRED);
	pmu_reset();
	write_sysreg(pmccfiltr_el0, nsh_cc);
	select_ev(0, EV_CPU_CYCLES | nsh_ev);
	if (m.have_insns && m.n > 1) {
		select_ev(1, EV_INST_RETIRED | nsh_ev);
		mask |= 2;
	}
	write_sysreg(pmcr_el0, PMCR_E);
	isb();
	trapping_loop(mask);
	m.cycles = read_sysreg(pmccntr_el0);
	m.ev_cycles = get_ev(0);
	m.insns = (mask & 2) ? get_ev(1) : 0;
	pmu_reset();
	if (!m.cycles || !m.ev_cycles)
		FAILW(
		    "cycle counter %lu, CPU_CYCLES event counter %lu over the loop: want both > 0",
		    m.cycles, m.ev_cycles);
	if ((mask & 2) && (m.insns < lo || m.insns > hi))
		FAILW("INST_RETIRED %lu over a %u x %u-instruction loop, want %lu..%lu", m.insns,
		      LOOP_ITERS, LOOP_INSNS, lo, hi);
	/* under -icount a cycle is an instruction's time: only EL2 adds more */
	if (strict && (m.cycles > 4 * hi || m.ev_cycles > 4 * hi))
		FAILW("cycles %lu (counter) %lu (event) for about %u instructions: hypervisor "
		      "time counted",
		      m.cycles, m.ev_cycles, LOOP_ITERS * LOOP_INSNS);
	return 0;
}

/* Counter 0 overflows (32 bits) after OVF_HEADROOM cycles: PPI 23 must
 * arrive, with the overflow flag set, and stop pending once cleared. */
static int overflow_irq(char *why, size_t why_size)
{
	uintptr_t sgi = gic_redist() + GICR_SGI;
	uint64_t start;

	pmu_reset();
	ovf.hits = 0;
	ovf.armed = true;
	mmio_write32(sgi + GICR_ISENABLER0, 1U << PMU_PPI);
	select_ev(0, EV_CPU_CYCLES);
	set_ev(0, 0xffffffffUL - OVF_HEADROOM);
	write_sysreg(pmintenset_el1, 1);
	write_sysreg(pmcntenset_el0, 1);
	write_sysreg(pmcr_el0, PMCR_E);
	isb();
	start = now();
	/* The GIC read changes nothing on hardware; QEMU under -icount
	 * notices an overflow only at a PMU control write or an exception
	 * level change, which the read causes under a hypervisor. */
	while (!ovf.hits && now() - start < ms_ticks(OVERFLOW_WAIT_MS)) {
		(void)mmio_read32(GICD_BASE + GICD_TYPER);
		__asm__ volatile("yield");
	}
	pmu_reset();
	ovf.armed = false;
	mmio_write32(sgi + GICR_ICENABLER0, 1U << PMU_PPI);
	if (!ovf.hits)
		FAILW("no PPI %u within 1 s of counter 0 overflowing (PMOVSSET 0x%lx)", PMU_PPI,
		      read_sysreg(pmovsset_el0));
	if (!(ovf.ovs & 1) || ovf.pending)
		FAILW("in the handler: PMOVSCLR 0x%lx (want bit 0), PPI %u %s after clearing it",
		      ovf.ovs, PMU_PPI, ovf.pending ? "still pending" : "not pending");
	return 0;
}

/* Every online secondary programs its own counter 0; ours must keep its
 * value and event (a hypervisor that does not switch PMU state with the
 * vCPU fails this when they share a physical CPU). */
static int own_counters(char *why, size_t why_size)
{
	unsigned asked = 0;
	uint64_t v, t;

	pmu_reset();
	select_ev(0, EV_SW_INCR);
	set_ev(0, MINE);
	write_sysreg(pmcntenset_el0, 1);
	write_sysreg(pmcr_el0, PMCR_E);
	isb();
	for (unsigned i = 0; i < dt.ncpus && i < MAX_CPUS; i++) {
		if (i == boot_cpu || !cpus[i].boots)
			continue;
		scramble_req[i]++;
		gic_send_sgi(SGI_KICK, dt.mpidr[i]);
		asked++;
	}
	for (unsigned i = 0; i < dt.ncpus && i < MAX_CPUS; i++)
		if (i != boot_cpu && cpus[i].boots &&
		    !wait_until(&scramble_done[i], scramble_req[i], ms_ticks(SECONDARY_WAIT_MS)))
			FAILW("vCPU%u did not program its PMU within 2 s", i);
	write_sysreg(pmswinc_el0, 1); /* SW_INCR: exactly one more */
	isb();
	v = get_ev(0);
	t = get_type(0) & 0xffff;
	pmu_reset();
	if (v != MINE + 1 || t != EV_SW_INCR)
		FAILW("after %u other vCPUs programmed theirs: counter 0 = 0x%lx event 0x%lx, want "
		      "0x%x event 0x%x",
		      asked, v, t, MINE + 1, EV_SW_INCR);
	return 0;
}

int pmu_check(bool strict, char *why, size_t why_size)
{
	int r;

	m.ver = (unsigned)(read_sysreg(id_aa64dfr0_el1) >> 8) & 0xf;
	if (m.ver == 0 || m.ver == 0xf)
		FAILW("ID_AA64DFR0_EL1.PMUVer = 0x%x: no PMUv3", m.ver);
	m.n = PMCR_N(read_sysreg(pmcr_el0));
	if (!m.n)
		FAILW("PMCR_EL0.N = 0: no event counters");
	r = count_loop(strict, why, why_size);
	if (!r)
		r = overflow_irq(why, why_size);
	if (!r)
		r = own_counters(why, why_size);
	return r;
}

void pmu_report(void)
{
	tg_printf("TGUEST-PMU pmuver=%u counters=%u insns=%lu%s cycles=%lu cpu_cycles=%lu "
		  "loop=%u\n",
		  m.ver, m.n, m.insns, m.have_insns ? "" : "(no INST_RETIRED)", m.cycles,
		  m.ev_cycles, LOOP_ITERS * LOOP_INSNS);
}

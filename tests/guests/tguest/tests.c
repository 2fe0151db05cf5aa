/*
 * mode=all: the test list. Each test returns PASS, FAIL or SKIP (the last
 * two with a reason written into why: SKIP only when the machine has no
 * secondary vCPU to test with); run_all() prints one line per test, then
 * the totals (skips count in neither), and the caller powers off.
 */
#include "tguest.h"

#define PSCI_1_1      0x10001
#define UNKNOWN_FID   0x8400ffffU
#define EC_DABT_CUR   0x25
#define EC_IABT_CUR   0x21
#define FSC_SEA	      0x10 /* synchronous external abort, not on a table walk */
#define UNMAPPED_DATA 0x20000000UL
#define UNMAPPED_CODE 0x30000000UL
#define BELOW_RAM     0x3ffff000UL
#define HIGH_IPA      0x8000000000UL
#define UART_FR	      0x18
#define UART_IMSC     0x38
#define UART_RIS      0x3c
#define UART_MIS      0x40
#define UART_ICR      0x44
#define UART_ID	      0xfe0
#define FR_TXFE	      (1U << 7)
#define INT_TX	      (1U << 5)
#define IMSC_TEST     0x50 /* RTIM | RXIM: nothing that fires while idle */

/* vCPUs the cpu_on test brought up (bit per logical index). */
static uint32_t online;

uint32_t tests_online(void)
{
	return online;
}

static uint64_t ms(unsigned n)
{
	return timer_freq() * n / 1000;
}

static int64_t psci(uint32_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return hvc_call(fid, a1, a2, a3);
}

static enum result t_psci_version(char *why)
{
	int64_t v = psci(PSCI_VERSION, 0, 0, 0);

	if (v != PSCI_1_1)
		FAILF("PSCI_VERSION=0x%lx, want 0x10001", v);
	return PASS;
}

static enum result t_psci_features(char *why)
{
	int64_t on = psci(PSCI_FEATURES, PSCI_CPU_ON, 0, 0);
	int64_t unk = psci(PSCI_FEATURES, UNKNOWN_FID, 0, 0);

	if (on < 0)
		FAILF("PSCI_FEATURES(CPU_ON)=%ld", on);
	if (unk != PSCI_NOT_SUPPORTED)
		FAILF("PSCI_FEATURES(0x%x)=%ld, want -1", UNKNOWN_FID, unk);
	return PASS;
}

static enum result t_unknown_fid(char *why)
{
	struct fault_rec rec;
	int64_t r;

	/* An HVC the implementation does not know must return -1, not UNDEF. */
	probe_arm();
	r = psci(UNKNOWN_FID, 0, 0, 0);
	if (probe_result(&rec))
		FAILF("HVC 0x%x raised an exception, ESR=0x%lx", UNKNOWN_FID, rec.esr);
	if (r != PSCI_NOT_SUPPORTED)
		FAILF("HVC 0x%x returned %ld, want -1", UNKNOWN_FID, r);
	return PASS;
}

/*
 * PSCI argument checks on a secondary that is still off: CPU_ON with an
 * entry point outside the partition's RAM must answer INVALID_ADDRESS and
 * leave it off; an SMC32 call must ignore the upper halves of its argument
 * registers (garbage there would make the MPIDR and level invalid).
 */
static enum result t_psci_args(char *why)
{
	const uint64_t junk = 0xdeadbeef00000000UL;
	int64_t r;

	if (dt.ncpus < 2) {
		tg_snprintf(why, WHY_SIZE, "only one vCPU");
		return SKIP;
	}
	unsigned i = boot_cpu == 0 ? 1 : 0;
	r = psci(PSCI_CPU_ON, dt.mpidr[i], 0x1000, 0);
	if (r != PSCI_INVALID_ADDRESS)
		FAILF("CPU_ON(vCPU%u, entry 0x1000)=%ld, want -9 (INVALID_ADDRESS)", i, r);
	r = psci(PSCI_CPU_ON, dt.mpidr[i], dt.mem_base + dt.mem_size, 0);
	if (dt.mem_size && r != PSCI_INVALID_ADDRESS)
		FAILF("CPU_ON(vCPU%u, entry just past RAM)=%ld, want -9", i, r);
	r = psci(PSCI_AFFINITY_INFO32, junk | dt.mpidr[i], junk, 0);
	if (r != AFF_OFF)
		FAILF("AFFINITY_INFO32 with junk upper halves=%ld, want 1 (OFF)", r);
	r = psci(PSCI_AFFINITY_INFO32, junk | dt.mpidr[boot_cpu], junk, 0);
	if (r != AFF_ON)
		FAILF("AFFINITY_INFO32(self) with junk upper halves=%ld, want 0 (ON)", r);
	return PASS;
}

/* Starts secondary i and waits until it reports in (boots goes up). */
static enum result start_secondary(unsigned i, char *why)
{
	uint32_t boots = cpus[i].boots;
	int64_t r;

	cpus[i].off_req = 0;
	r = psci(PSCI_CPU_ON, dt.mpidr[i], (uintptr_t)secondary_entry, i);
	if (r != PSCI_SUCCESS)
		FAILF("CPU_ON(vCPU%u) returned %ld", i, r);
	if (!wait_until(&cpus[i].boots, boots + 1, ms(1000)))
		FAILF("vCPU%u did not report in within 1 s", i);
	if (!cpus[i].gic_ok)
		FAILF("vCPU%u found no redistributor", i);
	r = psci(PSCI_AFFINITY_INFO, dt.mpidr[i], 0, 0);
	if (r != AFF_ON)
		FAILF("AFFINITY_INFO(vCPU%u)=%ld after it started, want 0 (ON)", i, r);
	return PASS;
}

static enum result t_cpu_on(char *why)
{
	if (dt.ncpus < 2) {
		tg_snprintf(why, WHY_SIZE, "only one vCPU");
		return SKIP;
	}
	for (unsigned i = 0; i < dt.ncpus; i++) {
		enum result res;
		int64_t r;

		if (i == boot_cpu)
			continue;
		res = start_secondary(i, why);
		if (res != PASS)
			return res;
		online |= 1U << i;
		r = psci(PSCI_CPU_ON, dt.mpidr[i], (uintptr_t)secondary_entry, i);
		if (r != PSCI_ALREADY_ON)
			FAILF("second CPU_ON(vCPU%u)=%ld, want -4 (ALREADY_ON)", i, r);
	}
	return PASS;
}

/* SGI_PING to vCPU i; it must count it and answer with SGI_PONG. */
static enum result ping(unsigned i, char *why)
{
	uint32_t pings = cpus[i].pings, p = pongs;

	gic_send_sgi(SGI_PING, dt.mpidr[i]);
	if (!wait_until(&cpus[i].pings, pings + 1, ms(1000)))
		FAILF("vCPU%u did not get SGI %u", i, SGI_PING);
	if (!wait_until(&pongs, p + 1, ms(1000)))
		FAILF("no SGI %u back from vCPU%u", SGI_PONG, i);
	return PASS;
}

static enum result t_sgi(char *why)
{
	if (!online) {
		tg_snprintf(why, WHY_SIZE, "no secondary vCPU online");
		return SKIP;
	}
	for (unsigned i = 0; i < dt.ncpus; i++) {
		if (!(online & (1U << i)))
			continue;
		if (ping(i, why) != PASS)
			return FAIL;
	}
	return PASS;
}

static enum result t_timer(char *why)
{
	struct cpu_state *c = &cpus[this_cpu()];
	uint64_t start = now(), deadline = start + ms(10), give_up = start + ms(1000);

	c->timer_hit = 0;
	write_sysreg(cntv_cval_el0, deadline);
	write_sysreg(cntv_ctl_el0, 1); /* ENABLE, not masked */
	isb();
	while (!c->timer_hit && now() < give_up) {
		/* IRQs masked across check + WFI: a pending one still wakes WFI. */
		irq_disable();
		if (!c->timer_hit)
			wfi();
		irq_enable();
	}
	write_sysreg(cntv_ctl_el0, 2); /* IMASK, disabled */
	isb();
	if (!c->timer_hit)
		FAILF("no PPI %u within 1 s", TIMER_PPI);
	if (c->timer_hit < deadline)
		FAILF("PPI %u at 0x%lx, before CVAL 0x%lx", TIMER_PPI, c->timer_hit, deadline);
	if (c->timer_hit > give_up)
		FAILF("PPI %u took %lu ms", TIMER_PPI,
		      (c->timer_hit - start) * 1000 / timer_freq());
	return PASS;
}

static enum result t_pl011(char *why)
{
	static const uint8_t ids[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
	uint64_t give_up = now() + ms(100);
	uint32_t v;

	for (unsigned i = 0; i < 8; i++) {
		v = mmio_read32(PL011_BASE + UART_ID + 4 * i) & 0xff;
		if (v != ids[i])
			FAILF("ID register 0x%x = 0x%x, want 0x%x", UART_ID + 4 * i, v, ids[i]);
	}
	/* The runner just sent "<name> ": TX must drain, and raise TXRIS. */
	while (!(mmio_read32(PL011_BASE + UART_FR) & FR_TXFE))
		if (now() > give_up)
			FAILF("UARTFR.TXFE not set within 100 ms");
	mmio_write32(PL011_BASE + UART_IMSC, IMSC_TEST);
	v = mmio_read32(PL011_BASE + UART_IMSC);
	mmio_write32(PL011_BASE + UART_IMSC, 0);
	if (v != IMSC_TEST)
		FAILF("UARTIMSC read back 0x%x, want 0x%x", v, IMSC_TEST);
	if (mmio_read32(PL011_BASE + UART_IMSC) != 0)
		FAILF("UARTIMSC not cleared");
	if (!(mmio_read32(PL011_BASE + UART_RIS) & INT_TX))
		FAILF("UARTRIS.TX clear after a transmit (RIS=0x%x)",
		      mmio_read32(PL011_BASE + UART_RIS));
	if (mmio_read32(PL011_BASE + UART_MIS) & INT_TX)
		FAILF("UARTMIS.TX set with TXIM masked");
	mmio_write32(PL011_BASE + UART_ICR, INT_TX);
	v = mmio_read32(PL011_BASE + UART_RIS);
	if (v & INT_TX)
		FAILF("UARTRIS.TX still set after ICR (RIS=0x%x)", v);
	return PASS;
}

/* Adds a reason to why ("; " between several), so a test can report every
 * address that misbehaved, not just the first. */
static void note(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(char *why, const char *fmt, ...)
{
	size_t n = tg_strlen(why);
	va_list ap;

	if (n && n + 2 < WHY_SIZE) {
		why[n++] = ';';
		why[n++] = ' ';
		why[n] = '\0';
	}
	va_start(ap, fmt);
	tg_vsnprintf(why + n, WHY_SIZE - n, fmt, ap);
	va_end(ap);
}

/* A load from addr must fault with a synchronous external abort. */
static bool expect_sea_load(uintptr_t addr, char *why)
{
	struct fault_rec rec;
	uint32_t v = probe_read32(addr, &rec);
	unsigned ec = (unsigned)(rec.esr >> 26) & 0x3f, fsc = rec.esr & 0x3f;

	if (!rec.hit)
		note(why, "load 0x%lx: no fault (read 0x%x)", addr, v);
	else if (ec != EC_DABT_CUR || fsc != FSC_SEA)
		note(why, "load 0x%lx: EC 0x%x DFSC 0x%x (ESR 0x%lx), want EC 0x25 DFSC 0x10", addr,
		     ec, fsc, rec.esr);
	else if (rec.far != addr)
		note(why, "load 0x%lx: FAR 0x%lx", addr, rec.far);
	else
		return true;
	return false;
}

/* A BLR to addr must fault on the fetch; the handler returns here via LR. */
static bool expect_sea_fetch(uintptr_t addr, char *why)
{
	struct fault_rec rec;
	unsigned ec, fsc;

	probe_exec(addr, &rec);
	ec = (unsigned)(rec.esr >> 26) & 0x3f;
	fsc = rec.esr & 0x3f;
	if (!rec.hit)
		note(why, "call 0x%lx: returned without a fault", addr);
	else if (ec != EC_IABT_CUR || fsc != FSC_SEA)
		note(why, "fetch 0x%lx: EC 0x%x IFSC 0x%x (ESR 0x%lx), want EC 0x21 IFSC 0x10",
		     addr, ec, fsc, rec.esr);
	else if (rec.far != addr || rec.elr != addr)
		note(why, "fetch 0x%lx: FAR 0x%lx ELR 0x%lx", addr, rec.far, rec.elr);
	else
		return true;
	return false;
}

static enum result t_unmapped_abort(char *why)
{
	bool ok = expect_sea_load(UNMAPPED_DATA, why);

	ok &= expect_sea_fetch(UNMAPPED_CODE, why);
	return ok ? PASS : FAIL;
}

static enum result t_isolation(char *why)
{
	bool ok = expect_sea_load(BELOW_RAM, why);

	if (dt.mem_size) {
		ok &= expect_sea_load(dt.mem_base + dt.mem_size, why);
	} else {
		ok = false;
		note(why, "no /memory in the device tree: end of RAM unknown");
	}
	ok &= expect_sea_load(HIGH_IPA, why);
	return ok ? PASS : FAIL;
}

/* Polls AFFINITY_INFO(vCPU i) until it returns want, for up to 1 s. */
/* Every 2 MiB of the range QEMU virt puts RAM in (0x4000_0000, 4 GiB), read
 * as an IPA: only this partition's own RAM may answer. Whatever physical
 * address the hypervisor and the neighbours got, it lies in this range. */
#define SWEEP_START 0x40000000UL
#define SWEEP_END   0x140000000UL
#define SWEEP_STEP  0x200000UL

static enum result t_ram_sweep(char *why)
{
	unsigned bad = 0, probed = 0;

	if (!dt.mem_size) {
		note(why, "no /memory in the device tree");
		return FAIL;
	}
	for (uintptr_t a = SWEEP_START; a < SWEEP_END && bad < 4; a += SWEEP_STEP) {
		if (a >= dt.mem_base && a < dt.mem_base + dt.mem_size)
			continue;
		probed++;
		if (!expect_sea_load(a, why))
			bad++;
	}
	if (!bad && probed < 1000)
		note(why, "only %u addresses probed", probed);
	return bad || probed < 1000 ? FAIL : PASS;
}

static bool wait_affinity(unsigned i, int64_t want, int64_t *last)
{
	uint64_t give_up = now() + ms(1000);

	do {
		*last = psci(PSCI_AFFINITY_INFO, dt.mpidr[i], 0, 0);
		if (*last == want)
			return true;
		wfe();
	} while (now() < give_up);
	return false;
}

static enum result t_cpu_off(char *why)
{
	unsigned i;
	int64_t r;

	for (i = 0; i < dt.ncpus && !(online & (1U << i)); i++)
		;
	if (i == dt.ncpus) {
		tg_snprintf(why, WHY_SIZE, "no secondary vCPU online");
		return SKIP;
	}
	cpus[i].off_err = 0;
	cpus[i].off_req = 1;
	gic_send_sgi(SGI_KICK, dt.mpidr[i]);
	if (!wait_affinity(i, AFF_OFF, &r))
		FAILF("AFFINITY_INFO(vCPU%u)=%ld after CPU_OFF, want 1 (OFF); CPU_OFF said %d", i,
		      r, cpus[i].off_err);
	online &= ~(1U << i);
	if (start_secondary(i, why) != PASS)
		return FAIL;
	online |= 1U << i;
	/* It came back with a working GIC, too. */
	return ping(i, why);
}

/* timers.c */
static enum result t_vtimer_gic(char *why)
{
	return (enum result)timers_gic_check(0, why, WHY_SIZE);
}
static enum result t_ptimer_gic(char *why)
{
	return (enum result)timers_gic_check(1, why, WHY_SIZE);
}

/* pmu.c */
static enum result t_pmu(char *why)
{
	return (enum result)pmu_check(false, why, WHY_SIZE);
}

/* mode=pmu (run under -icount): the PMU check, strict about cycles, and
 * what it measured. */
void run_pmu(void)
{
	char why[WHY_SIZE] = "";
	bool strict = bootarg(dt.bootargs, "tguest.icount", why, sizeof(why));

	why[0] = '\0';
	bool fail = pmu_check(strict, why, WHY_SIZE) != PASS;

	tg_printf("TGUEST: pmu %s%s\n", fail ? "FAIL " : "PASS", fail ? why : "");
	pmu_report();
	tg_printf("TGUEST-DONE pass=%u fail=%u skip=0\n", fail ? 0U : 1U, fail ? 1U : 0U);
	system_off();
}

struct test {
	const char *name;
	enum result (*fn)(char *why);
};

static const struct test tests[] = {
    {"psci_version", t_psci_version},
    {"psci_features", t_psci_features},
    {"unknown_fid", t_unknown_fid},
    {"psci_args", t_psci_args},
    {"cpu_on", t_cpu_on},
    {"sgi", t_sgi},
    {"timer", t_timer},
    {"pl011", t_pl011},
    {"unmapped_abort", t_unmapped_abort},
    {"isolation", t_isolation},
    {"ram_sweep", t_ram_sweep},
    {"cpu_off", t_cpu_off},
    /* vmstate.c: what guests see (injected exceptions, debug, traps, WFIT) */
    {"abort_state", t_abort_state},
    {"abort_va", t_abort_va},
    {"debug_self", t_debug_self},
    {"debug_switch", t_debug_switch},
    {"lor_amu", t_lor_amu},
    {"wfit", t_wfit},
    {"vtimer_gic", t_vtimer_gic},
    {"ptimer_gic", t_ptimer_gic},
    {"pmu", t_pmu},
    /* fpsimd.c: FP/SIMD state kept across exits and vCPU switches */
    {"fpsimd_state", t_fpsimd_state},
    /* sve.c: SVE as configured (tguest.sve), its state switched */
    {"sve_id", t_sve_id},
    {"sve_vl", t_sve_vl},
    {"sve_state", t_sve_state},
};

/* Totals so far; an unexpected exception (exc.c) reports them too. */
unsigned tests_passed, tests_failed, tests_skipped;

void run_all(void)
{
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		char why[WHY_SIZE] = "";
		enum result r;

		/* The name goes out first so a hang shows which test hung; the
		 * pl011 test also relies on this transmit. */
		tg_printf("TGUEST: %s ", tests[i].name);
		r = tests[i].fn(why);
		if (r == PASS) {
			tests_passed++;
			tg_printf("PASS\n");
		} else if (r == SKIP) {
			tests_skipped++;
			tg_printf("SKIP %s\n", why);
		} else {
			tests_failed++;
			tg_printf("FAIL %s\n", why);
		}
	}
	tg_printf("TGUEST-DONE pass=%u fail=%u skip=%u\n", tests_passed, tests_failed,
		  tests_skipped);
}

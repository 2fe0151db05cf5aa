/*
 * fpsimd_state: a vCPU's V0-V31, FPSR and FPCR, filled with a pattern,
 * survive bit for bit
 * - exits the hypervisor answers (HVC, a trapped UART read, an unknown
 *   HVC), and exits on which it runs library code at EL2 while the
 *   guest's registers are live: an UNDEF injected for a trapped system
 *   register (described with snprintf, logged) and an abort injected for
 *   an unmapped IPA (logged);
 * - a timer interrupt taken through WFI (the hypervisor idles, takes the
 *   interrupt at EL2, or runs another vCPU meanwhile);
 * - every secondary filling its own registers with its own pattern and
 *   doing the same (under time-sharing one of them shares this vCPU's CPU,
 *   so the state must be switched when vCPUs are); the secondaries check
 *   theirs too.
 * tessera keeps a loaded vCPU's FP/SIMD state in the registers across
 * exits, so any EL2 code that used a vector register would show here.
 *
 * Built -mgeneral-regs-only like all of tguest: the compiler never touches
 * vector registers, so between the asm that loads them and the asm that
 * reads them back nothing but the hypervisor can change them.
 */
#include "tguest.h"

#define VBYTES	(32 * 16)
#define FPSR_RW 0x0800009fUL /* QC, IDC, IXC, UFC, OFC, DZC, IOC */
#define FPCR_RW 0x07c00000UL /* AHP, DN, FZ, RMode */
#define UART_FR 0x18
#define EXITS	8
#define FPEN	(3UL << 20) /* CPACR_EL1: FP/SIMD not trapped at EL1/EL0 */

struct fp_state {
	uint8_t v[VBYTES];
	uint64_t fpsr, fpcr;
};

static struct fp_state want[MAX_CPUS] __attribute__((aligned(16)));
static struct fp_state got[MAX_CPUS] __attribute__((aligned(16)));
/* What each vCPU leaves in its registers: sve_state (sve.c) expects a
 * secondary's first SVE use to find Z (and so V) zero. */
static const struct fp_state zero __attribute__((aligned(16)));

static uint64_t ms(unsigned n)
{
	return timer_freq() * n / 1000;
}

static void fp_enable(void)
{
	write_sysreg(cpacr_el1, read_sysreg(cpacr_el1) | FPEN);
	isb();
}

static void regs_load(const struct fp_state *s)
{
	__asm__ volatile("ldp q0, q1, [%0, #0]\n\t"
			 "ldp q2, q3, [%0, #32]\n\t"
			 "ldp q4, q5, [%0, #64]\n\t"
			 "ldp q6, q7, [%0, #96]\n\t"
			 "ldp q8, q9, [%0, #128]\n\t"
			 "ldp q10, q11, [%0, #160]\n\t"
			 "ldp q12, q13, [%0, #192]\n\t"
			 "ldp q14, q15, [%0, #224]\n\t"
			 "ldp q16, q17, [%0, #256]\n\t"
			 "ldp q18, q19, [%0, #288]\n\t"
			 "ldp q20, q21, [%0, #320]\n\t"
			 "ldp q22, q23, [%0, #352]\n\t"
			 "ldp q24, q25, [%0, #384]\n\t"
			 "ldp q26, q27, [%0, #416]\n\t"
			 "ldp q28, q29, [%0, #448]\n\t"
			 "ldp q30, q31, [%0, #480]\n\t"
			 "msr fpsr, %1\n\t"
			 "msr fpcr, %2\n\t"
			 "isb" ::"r"(s->v),
			 "r"(s->fpsr), "r"(s->fpcr)
			 : "memory");
}

static void regs_store(struct fp_state *s)
{
	uint64_t fpsr, fpcr;

	__asm__ volatile("stp q0, q1, [%2, #0]\n\t"
			 "stp q2, q3, [%2, #32]\n\t"
			 "stp q4, q5, [%2, #64]\n\t"
			 "stp q6, q7, [%2, #96]\n\t"
			 "stp q8, q9, [%2, #128]\n\t"
			 "stp q10, q11, [%2, #160]\n\t"
			 "stp q12, q13, [%2, #192]\n\t"
			 "stp q14, q15, [%2, #224]\n\t"
			 "stp q16, q17, [%2, #256]\n\t"
			 "stp q18, q19, [%2, #288]\n\t"
			 "stp q20, q21, [%2, #320]\n\t"
			 "stp q22, q23, [%2, #352]\n\t"
			 "stp q24, q25, [%2, #384]\n\t"
			 "stp q26, q27, [%2, #416]\n\t"
			 "stp q28, q29, [%2, #448]\n\t"
			 "stp q30, q31, [%2, #480]\n\t"
			 "mrs %0, fpsr\n\t"
			 "mrs %1, fpcr"
			 : "=&r"(fpsr), "=&r"(fpcr)
			 : "r"(s->v)
			 : "memory");
	s->fpsr = fpsr;
	s->fpcr = fpcr;
}

/* Every byte differs with the seed, the register and the position; FPSR
 * and FPCR get seeded values of their writable bits (never 0, their reset
 * value). */
static void pattern(struct fp_state *s, unsigned seed)
{
	for (unsigned i = 0; i < VBYTES; i++)
		s->v[i] = (uint8_t)((seed * 0x3bu + (i / 16) * 0x1du + (i % 16) * 7u) ^ 0xc3u);
	s->fpsr = ((0x9e3779b9UL * (seed + 1)) & FPSR_RW) | 1; /* IOC at least */
	s->fpcr = ((uint64_t)(seed % 4) << 22) | (seed & 1 ? 1UL << 24 : 0) | 1UL << 25 |
		  (seed & 2 ? 1UL << 26 : 0);
}

/* 0 if the registers match s, else 1 + the offset of the first wrong
 * byte of V0-V31, or VBYTES + 1 for FPSR, VBYTES + 2 for FPCR. */
static uint32_t compare(const struct fp_state *a, const struct fp_state *b)
{
	for (unsigned i = 0; i < VBYTES; i++)
		if (a->v[i] != b->v[i])
			return i + 1;
	if ((a->fpsr & FPSR_RW) != (b->fpsr & FPSR_RW))
		return VBYTES + 1;
	if ((a->fpcr & FPCR_RW) != (b->fpcr & FPCR_RW))
		return VBYTES + 2;
	return 0;
}

static void describe(char *buf, size_t n, uint32_t bad, const struct fp_state *g,
		     const struct fp_state *w)
{
	if (bad == VBYTES + 1)
		tg_snprintf(buf, n, "FPSR 0x%lx, wrote 0x%lx", g->fpsr, w->fpsr);
	else if (bad == VBYTES + 2)
		tg_snprintf(buf, n, "FPCR 0x%lx, wrote 0x%lx", g->fpcr, w->fpcr);
	else
		tg_snprintf(buf, n, "V%u byte %u 0x%02x, wrote 0x%02x", (bad - 1) / 16,
			    (bad - 1) % 16, g->v[bad - 1], w->v[bad - 1]);
}

/* This vCPU's registers against its pattern; false with why if not. */
static bool check_regs(const char *when, char *why)
{
	unsigned me = this_cpu();
	uint32_t bad;
	char what[64];

	regs_store(&got[me]);
	bad = compare(&got[me], &want[me]);
	if (!bad)
		return true;
	describe(what, sizeof(what), bad, &got[me], &want[me]);
	tg_snprintf(why, WHY_SIZE, "%s: %s", when, what);
	return false;
}

/* Exits the hypervisor answers at once. */
static void plain_exits(void)
{
	for (unsigned i = 0; i < EXITS; i++) {
		(void)hvc_call(PSCI_VERSION, 0, 0, 0);
		(void)hvc_call(0x8400ffffUL, 0, 0, 0); /* unknown: NOT_SUPPORTED */
		(void)mmio_read32(PL011_BASE + UART_FR);
	}
}

/* Exits on which the hypervisor formats and prints (newlib's snprintf at
 * EL2): an UNDEF it injects for a trapped LORID_EL1 read (FEAT_LOR is
 * hidden), an abort for an unmapped IPA. On bare QEMU neither may fault;
 * either way the probe returns here. */
static void logged_exits(void)
{
	struct fault_rec r;

	probe_arm();
	__asm__ volatile("mrs x0, S3_0_C10_C4_7" ::: "x0", "memory");
	probe_result(&r);
	(void)probe_read32(0x20000000UL, &r);
}

/* A timer interrupt taken through WFI: the hypervisor idles this CPU or
 * runs another vCPU on it until then. */
static bool timer_wait(void)
{
	struct cpu_state *c = &cpus[this_cpu()];
	uint64_t give_up = now() + ms(1000);

	c->timer_hit = 0;
	write_sysreg(cntv_cval_el0, now() + ms(2));
	write_sysreg(cntv_ctl_el0, 1);
	isb();
	while (!c->timer_hit && now() < give_up) {
		irq_disable();
		if (!c->timer_hit)
			wfi();
		irq_enable();
	}
	write_sysreg(cntv_ctl_el0, 2);
	isb();
	return c->timer_hit != 0;
}

/* The secondary's side: its own pattern, kept while vCPU0 checks its own,
 * then through its own exits and a timer wait. Called with IRQs masked. */
void fpsimd_serve(struct cpu_state *c)
{
	unsigned me = this_cpu(), req = c->fp_req;

	if (req == c->fp_done)
		return;
	fp_enable();
	pattern(&want[me], me + 1);
	regs_load(&want[me]);
	dmb();
	c->fp_ack = req;
	dsb();
	sev();
	wait_until(&c->fp_go, req, ms(2000));
	plain_exits();
	logged_exits();
	c->fp_timer = timer_wait();
	irq_disable();
	regs_store(&got[me]);
	regs_load(&zero);
	c->fp_bad = compare(&got[me], &want[me]);
	dmb();
	c->fp_done = req;
	dsb();
	sev();
}

/* One secondary's round: it fills, this vCPU checks, it checks. */
static enum result with_secondary(unsigned i, char *why)
{
	struct cpu_state *c = &cpus[i];
	unsigned req = c->fp_done + 1;
	char when[48], what[64];

	c->fp_req = req;
	dsb();
	gic_send_sgi(SGI_KICK, dt.mpidr[i]);
	if (!wait_until(&c->fp_ack, req, ms(2000)))
		FAILF("vCPU%u did not fill its FP/SIMD registers within 2 s", i);
	tg_snprintf(when, sizeof(when), "after vCPU%u filled its own", i);
	if (!check_regs(when, why))
		return FAIL;
	c->fp_go = req;
	dsb();
	sev();
	if (!wait_until(&c->fp_done, req, ms(3000)))
		FAILF("vCPU%u did not finish within 3 s", i);
	if (c->fp_bad) {
		describe(what, sizeof(what), c->fp_bad, &got[i], &want[i]);
		FAILF("vCPU%u: its %s after its exits", i, what);
	}
	if (!c->fp_timer)
		FAILF("vCPU%u: no timer interrupt within 1 s", i);
	tg_snprintf(when, sizeof(when), "after vCPU%u checked its own", i);
	return check_regs(when, why) ? PASS : FAIL;
}

enum result t_fpsimd_state(char *why)
{
	unsigned me = this_cpu();
	uint32_t online = tests_online();
	enum result res = PASS;

	fp_enable();
	pattern(&want[me], 0);
	regs_load(&want[me]);
	if (!check_regs("at once (no exit yet)", why))
		return FAIL;
	plain_exits();
	if (!check_regs("after HVCs and trapped UART reads", why))
		return FAIL;
	logged_exits();
	if (!check_regs("after an injected UNDEF and abort (logged at EL2)", why))
		return FAIL;
	if (!timer_wait())
		FAILF("no timer interrupt within 1 s");
	if (!check_regs("after a timer interrupt in WFI", why))
		return FAIL;
	for (unsigned i = 0; i < dt.ncpus && res == PASS; i++)
		if (online & (1U << i))
			res = with_secondary(i, why);
	regs_load(&zero);
	return res;
}

void fp_fill(unsigned seed)
{
	unsigned me = this_cpu();

	fp_enable();
	pattern(&want[me], seed);
	regs_load(&want[me]);
}

/* Reading the registers back leaves them as they are. */
bool fp_intact(char *buf, size_t n)
{
	unsigned me = this_cpu();
	uint32_t bad;

	regs_store(&got[me]);
	bad = compare(&got[me], &want[me]);
	if (bad)
		describe(buf, n, bad, &got[me], &want[me]);
	return !bad;
}

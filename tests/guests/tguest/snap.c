/*
 * mode=snap: state a snapshot must carry. The guest fills general
 * registers (held in x9-x29 by snap_hold while it polls the counter, never
 * exiting by itself), V0-V31/FPSR/FPCR, thread and EL1 system registers,
 * arms the virtual timer TIMER_AT_MS ahead, and leaves two SGIs pending:
 * one held back by the priority mask (ICC_PMR_EL1), one disabled at the
 * redistributor. It prints "TGUEST-SNAP ready", then a tick every 200 ms
 * of virtual time for tguest.snapwin ms (default 3000), and checks that
 * everything is intact, that virtual time never jumped (clock policy:
 * freeze), the timer fired at its deadline, and each SGI is taken exactly
 * once when unmasked. Then TGUEST-SNAP PASS or FAIL <what>; then idle.
 */
#include "tguest.h"

#define HOLD_REGS    21
#define TICK_MS	     200
#define TIMER_AT_MS  2000
#define MAX_GAP_MS   1000 /* a host stall, not a stopped partition */
#define TICK_SLACK   300
#define TIMER_LATE   150
#define SGI_MASKED   8 /* priority 0xc0, behind PMR 0xa0 */
#define SGI_DISABLED 9 /* pending, disabled at the redistributor */
#define PMR_HOLD     0xa0
#define GICR_SGI_F   0x10000
#define ISENABLER0   0x0100
#define ICENABLER0   0x0180
#define ISPENDR0     0x0200

void snap_hold(const uint64_t *pat, uint64_t until, uint64_t *out); /* snaphold.S */

static volatile uint32_t sgi_hits[2];
static uint64_t pat[HOLD_REGS], out[HOLD_REGS + 2];
static char why[WHY_SIZE];

bool snap_irq(uint32_t intid)
{
	if (intid != SGI_MASKED && intid != SGI_DISABLED)
		return false;
	sgi_hits[intid - SGI_MASKED]++;
	return true;
}

enum {
	R_TPIDR0,
	R_TPIDRRO,
	R_TPIDR1,
	R_CTXID,
	R_TTBR0,
	R_MAIR,
	R_TCR,
	R_PAR,
	R_FAR,
	R_SPEL0,
	R_CSSELR,
	R_PMR,
	R_BPR1,
	R_CNTKCTL,
	R_CVAL,
	NREGS
};
static const char *const reg_names[NREGS] = {
    "TPIDR_EL0",  "TPIDRRO_EL0", "TPIDR_EL1",	 "CONTEXTIDR_EL1", "TTBR0_EL1",
    "MAIR_EL1",	  "TCR_EL1",	 "PAR_EL1",	 "FAR_EL1",	   "SP_EL0",
    "CSSELR_EL1", "ICC_PMR_EL1", "ICC_BPR1_EL1", "CNTKCTL_EL1",	   "CNTV_CVAL_EL0"};
static uint64_t want_reg[NREGS];

static void read_regs(uint64_t *r)
{
	r[R_TPIDR0] = read_sysreg(tpidr_el0);
	r[R_TPIDRRO] = read_sysreg(tpidrro_el0);
	r[R_TPIDR1] = read_sysreg(tpidr_el1);
	r[R_CTXID] = read_sysreg(contextidr_el1);
	r[R_TTBR0] = read_sysreg(ttbr0_el1);
	r[R_MAIR] = read_sysreg(mair_el1);
	r[R_TCR] = read_sysreg(tcr_el1);
	r[R_PAR] = read_sysreg(par_el1);
	r[R_FAR] = read_sysreg(far_el1);
	r[R_SPEL0] = read_sysreg(sp_el0);
	r[R_CSSELR] = read_sysreg(csselr_el1);
	r[R_PMR] = read_sysreg(icc_pmr_el1);
	r[R_BPR1] = read_sysreg(icc_bpr1_el1);
	r[R_CNTKCTL] = read_sysreg(cntkctl_el1);
	r[R_CVAL] = read_sysreg(cntv_cval_el0);
}

/* Values no reset or zeroed restore gives; what they read back as is the
 * reference (RES0 bits and implemented widths vary). */
static void write_regs(uint64_t cval)
{
	write_sysreg(tpidr_el0, 0x7e1d0e1d00c0ffeeUL);
	write_sysreg(tpidrro_el0, 0x0123456789abcdefUL);
	write_sysreg(tpidr_el1, 0xa5a5000000000000UL | this_cpu());
	write_sysreg(contextidr_el1, 0x5eed1234UL);
	write_sysreg(ttbr0_el1, 0x00a5000012345000UL);
	write_sysreg(mair_el1, 0xffbb44040c080400UL);
	write_sysreg(tcr_el1, 0x0000000280193519UL);
	write_sysreg(par_el1, 0x0000000076543000UL);
	write_sysreg(far_el1, 0xdeadbeef00001230UL);
	write_sysreg(sp_el0, 0x4000f00dUL);
	write_sysreg(csselr_el1, 2);
	write_sysreg(icc_pmr_el1, PMR_HOLD);
	write_sysreg(icc_bpr1_el1, 3);
	write_sysreg(cntv_cval_el0, cval);
	write_sysreg(cntv_ctl_el0, 1);
	isb();
	read_regs(want_reg);
}

static bool regs_intact(void)
{
	uint64_t r[NREGS];

	read_regs(r);
	for (unsigned i = 0; i < NREGS; i++)
		if (r[i] != want_reg[i]) {
			tg_snprintf(why, WHY_SIZE, "%s 0x%lx, wrote 0x%lx", reg_names[i], r[i],
				    want_reg[i]);
			return false;
		}
	return true;
}

static bool held_intact(uint64_t freq)
{
	for (unsigned i = 0; i < HOLD_REGS; i++)
		if (out[i] != pat[i]) {
			tg_snprintf(why, WHY_SIZE, "x%u 0x%lx, held 0x%lx", 9 + i, out[i], pat[i]);
			return false;
		}
	if (out[HOLD_REGS + 1]) {
		tg_snprintf(why, WHY_SIZE, "SP moved by %ld", (int64_t)out[HOLD_REGS + 1]);
		return false;
	}
	if (out[HOLD_REGS] > freq * MAX_GAP_MS / 1000) {
		tg_snprintf(why, WHY_SIZE, "virtual time jumped %lu ms between two reads",
			    out[HOLD_REGS] * 1000 / freq);
		return false;
	}
	return true;
}

static unsigned parse_win(void)
{
	char buf[12];
	unsigned ms = 0;

	if (!bootarg(dt.bootargs, "tguest.snapwin", buf, sizeof(buf)))
		return 3000;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		ms = ms * 10 + (unsigned)(*p - '0');
	return ms ? ms : 3000;
}

static void pend_sgis(void)
{
	uintptr_t sgi = gic_redist() + GICR_SGI_F;
	uint64_t self = dt.mpidr[this_cpu()];

	gic_set_priority_of(SGI_MASKED, self, 0xc0);
	mmio_write32(sgi + ISENABLER0, 1U << SGI_MASKED);
	mmio_write32(sgi + ICENABLER0, 1U << SGI_DISABLED);
	gic_send_sgi(SGI_MASKED, self);
	gic_send_sgi(SGI_DISABLED, self);
}

/* After the window: both SGIs still pending, then each taken once. */
static bool sgis_once(uint64_t freq)
{
	uintptr_t sgi = gic_redist() + GICR_SGI_F;
	uint32_t pend = mmio_read32(sgi + ISPENDR0);
	uint64_t until;

	if (sgi_hits[0] || sgi_hits[1]) {
		tg_snprintf(why, WHY_SIZE, "masked SGIs taken early: %u, %u", sgi_hits[0],
			    sgi_hits[1]);
		return false;
	}
	if ((pend & (3U << SGI_MASKED)) != (3U << SGI_MASKED)) {
		tg_snprintf(why, WHY_SIZE, "SGIs %u/%u no longer pending (ISPENDR0 0x%x)",
			    SGI_MASKED, SGI_DISABLED, pend);
		return false;
	}
	write_sysreg(icc_pmr_el1, 0xff);
	isb();
	mmio_write32(sgi + ISENABLER0, 1U << SGI_DISABLED);
	until = now() + freq / 20;
	while (now() < until)
		;
	if (sgi_hits[0] != 1 || sgi_hits[1] != 1) {
		tg_snprintf(why, WHY_SIZE, "unmasked SGIs taken %u and %u times, want once each",
			    sgi_hits[0], sgi_hits[1]);
		return false;
	}
	return true;
}

static bool timer_ok(uint64_t cval, uint64_t freq)
{
	uint64_t hit = cpus[this_cpu()].timer_hit;

	if (!hit) {
		tg_snprintf(why, WHY_SIZE, "virtual timer (CVAL %lu) never fired", cval);
		return false;
	}
	if (hit < cval || hit - cval > freq * TIMER_LATE / 1000) {
		tg_snprintf(why, WHY_SIZE, "virtual timer fired at %lu, CVAL %lu", hit, cval);
		return false;
	}
	return true;
}

static bool run_window(uint64_t start, unsigned win, uint64_t freq)
{
	uint64_t tick = freq * TICK_MS / 1000, prev = start;
	char fp[64];

	for (unsigned k = 1; k <= win / TICK_MS; k++) {
		uint64_t t;

		snap_hold(pat, start + k * tick, out);
		t = now();
		tg_printf("TGUEST-SNAP tick %u cntvct=%lu\n", k, t);
		if (!held_intact(freq))
			return false;
		if (!fp_intact(fp, sizeof(fp))) {
			tg_snprintf(why, WHY_SIZE, "tick %u: %s", k, fp);
			return false;
		}
		if (!regs_intact())
			return false;
		if (t - prev > tick + freq * TICK_SLACK / 1000) {
			tg_snprintf(why, WHY_SIZE, "tick %u came %lu ms after the one before", k,
				    (t - prev) * 1000 / freq);
			return false;
		}
		prev = t;
	}
	return true;
}

void run_snap(void)
{
	uint64_t freq = timer_freq(), start, cval;
	unsigned win = parse_win();

	for (unsigned i = 0; i < HOLD_REGS; i++)
		pat[i] = (0x9e3779b97f4a7c15UL * (i + 1)) ^ 0x5eed000000000000UL;
	cpus[this_cpu()].timer_hit = 0;
	fp_fill(7);
	start = now();
	cval = start + freq * TIMER_AT_MS / 1000;
	write_regs(cval);
	pend_sgis();
	tg_printf("TGUEST-SNAP ready cntvct=%lu\n", start);
	/* the timer's interrupt is taken in the window (priority 0x80 < PMR) */
	want_reg[R_CVAL] = cval;
	if (run_window(start, win, freq) && timer_ok(cval, freq) && sgis_once(freq))
		tg_printf("TGUEST-SNAP PASS\n");
	else
		tg_printf("TGUEST-SNAP FAIL %s\n", why);
	for (;;)
		wfi();
}

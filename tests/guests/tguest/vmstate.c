/*
 * mode=all tests of the machine state a guest sees: the exact state an
 * injected abort leaves (ESR, FAR, SPSR, the handler's PSTATE, the vector)
 * from EL1h, EL1t and EL0 and with the MMU on; self-hosted debug
 * (breakpoint, watchpoint, software step); debug registers that do not
 * leak between vCPUs sharing a CPU or across a partition reset; LORegions
 * and activity monitors answered with an UNDEF; WFIT's timeout.
 */
#include "tguest.h"

#define UNMAPPED_DATA 0x20000000UL
#define UNMAPPED_CODE 0x30000000UL
#define ESR_UNDEF     0x02000000UL /* EC 0 (unknown reason), IL */
#define EC(esr)	      ((unsigned)((esr) >> 26) & 0x3f)
#define DAIF_ALL      0x3c0UL
#define SPSR_MODE     0x3ffUL /* D A I F, nRW, M[3:0] */
#define SPSR_PAN      (1UL << 22)
#define SPSR_CLEARED  (0xfUL << 20) /* IL, SS, PAN, UAO: all 0 in these tests */
#define SCTLR_M	      (1UL << 0)
#define SCTLR_SPAN    (1UL << 23)
#define MDSCR_SS      (1UL << 0)
#define MDSCR_KDE     (1UL << 13)
#define MDSCR_MDE     (1UL << 15)
#define OSLSR_OSLK    (1UL << 1)

static uint64_t ms(unsigned n)
{
	return timer_freq() * n / 1000;
}

static uint64_t daif(void)
{
	return read_sysreg(daif);
}

/* One injected abort, checked field by field against what it must be. */
struct want {
	uint64_t esr, far, elr;
	unsigned kind;	    /* vector taken */
	uint64_t spsr_mode; /* SPSR_EL1[9:0]: the interrupted DAIF and mode */
	uint64_t pan;	    /* PSTATE.PAN in the handler */
};

static bool check_rec(const char *what, const struct fault_rec *r, const struct want *w, char *why)
{
	if (!r->hit)
		tg_snprintf(why, WHY_SIZE, "%s: no exception", what);
	else if (r->esr != w->esr)
		tg_snprintf(why, WHY_SIZE, "%s: ESR_EL1 0x%lx, want 0x%lx", what, r->esr, w->esr);
	else if (r->far != w->far)
		tg_snprintf(why, WHY_SIZE, "%s: FAR_EL1 0x%lx, want 0x%lx", what, r->far, w->far);
	else if (w->elr && r->elr != w->elr)
		tg_snprintf(why, WHY_SIZE, "%s: ELR_EL1 0x%lx, want 0x%lx", what, r->elr, w->elr);
	else if (r->kind != w->kind)
		tg_snprintf(why, WHY_SIZE, "%s: vector 0x%x, want 0x%x", what, r->kind * 0x80,
			    w->kind * 0x80);
	else if ((r->spsr & SPSR_MODE) != w->spsr_mode || (r->spsr & SPSR_CLEARED))
		tg_snprintf(why, WHY_SIZE, "%s: SPSR_EL1 0x%lx, want [9:0] 0x%lx and [23:20] 0",
			    what, r->spsr, w->spsr_mode);
	else if (r->daif != DAIF_ALL)
		tg_snprintf(why, WHY_SIZE, "%s: handler DAIF 0x%lx, want 0x3c0", what, r->daif);
	else if (r->pan != w->pan)
		tg_snprintf(why, WHY_SIZE, "%s: handler PSTATE.PAN 0x%lx, want 0x%lx", what, r->pan,
			    w->pan);
	else
		return true;
	return false;
}

static bool has_pan(void)
{
	return (read_sysreg(id_aa64mmfr1_el1) >> 20) & 0xf;
}

uint32_t el1t_load32(uintptr_t addr);	     /* start.S */
void probe_store64(uintptr_t a, uint64_t v); /* start.S */
void el0_load32(void);			     /* start.S, runs at EL0 */
void bkpt_target(void);			     /* start.S */
void ss_target(void);			     /* start.S */
void ss_mmio(void);			     /* start.S */

/* Injected aborts from EL1h (load, store), EL1t and EL0, and with
 * SCTLR_EL1.SPAN clear (PSTATE.PAN must then be set on entry). */
enum result t_abort_state(char *why)
{
	uint64_t d = daif(), sctlr = read_sysreg(sctlr_el1), pan_on = 0;
	struct fault_rec r;
	struct want w = {0x96000010, UNMAPPED_DATA, 0, 4, d | 5, 0};

	probe_has_pan = has_pan();
	(void)probe_read32(UNMAPPED_DATA, &r);
	if (!check_rec("EL1h load", &r, &w, why))
		return FAIL;

	probe_arm();
	probe_store64(UNMAPPED_DATA, 1);
	probe_result(&r);
	w.esr = 0x96000050; /* WnR */
	if (!check_rec("EL1h store", &r, &w, why))
		return FAIL;

	probe_arm();
	(void)el1t_load32(UNMAPPED_DATA);
	probe_result(&r);
	w = (struct want){0x96000010, UNMAPPED_DATA, 0, 0, d | 4, 0};
	if (!check_rec("EL1t load", &r, &w, why))
		return FAIL;

	probe_el0((uintptr_t)el0_load32, UNMAPPED_DATA, &r);
	w = (struct want){0x92000010, UNMAPPED_DATA, (uintptr_t)el0_load32, 8, DAIF_ALL, 0};
	if (!check_rec("EL0 load", &r, &w, why))
		return FAIL;

	if (probe_has_pan) {
		write_sysreg(sctlr_el1, sctlr & ~SCTLR_SPAN);
		isb();
		(void)probe_read32(UNMAPPED_DATA, &r);
		write_sysreg(sctlr_el1, sctlr);
		isb();
		pan_on = read_sysreg(S3_0_C4_C2_3);
		w = (struct want){0x96000010, UNMAPPED_DATA, 0, 4, d | 5, SPSR_PAN};
		if (!check_rec("EL1h load, SCTLR_EL1.SPAN=0", &r, &w, why))
			return FAIL;
		if (pan_on)
			FAILF("PSTATE.PAN still set after the return (0x%lx)", pan_on);
	}
	probe_has_pan = false;
	return PASS;
}

/*
 * With the MMU on, FAR_EL1 holds the virtual address. Stage 1: 1 GiB blocks
 * (4 KiB granule, 39-bit VA, walk from level 1); VA 0-1 GiB is Device (the
 * UART and GIC), VA 1-2 GiB maps RAM where it is, and VA 2-3 GiB aliases
 * IPA 0-1 GiB, so VA 0x8000_0000 + x faults at IPA x (unmapped there).
 */
#define ALIAS	   0x80000000UL
#define BLK_DEVICE (0x1UL | (0UL << 2) | (1UL << 10) | (3UL << 53)) /* attr 0, AF, XN */
#define BLK_NORMAL (0x1UL | (1UL << 2) | (1UL << 10))		    /* attr 1, AF */
#define MAIR_VAL   0x4400UL		/* attr 0 Device-nGnRnE, attr 1 Normal non-cacheable */
#define TCR_VAL	   (25UL | (1UL << 23)) /* T0SZ 25, EPD1, IPS 32 bits, walks non-cacheable */
static uint64_t stage1[512] __attribute__((aligned(4096)));

static void mmu(bool on)
{
	uint64_t sctlr = read_sysreg(sctlr_el1);

	dsb();
	__asm__ volatile("tlbi vmalle1\n\tdsb nsh" ::: "memory");
	isb();
	write_sysreg(sctlr_el1, on ? sctlr | SCTLR_M : sctlr & ~SCTLR_M);
	isb();
}

enum result t_abort_va(char *why)
{
	uint64_t d = daif();
	struct fault_rec r;
	struct want w;
	bool ok;

	stage1[0] = 0x00000000UL | BLK_DEVICE;
	stage1[1] = 0x40000000UL | BLK_NORMAL;
	stage1[2] = 0x00000000UL | BLK_NORMAL;
	write_sysreg(mair_el1, MAIR_VAL);
	write_sysreg(tcr_el1, TCR_VAL);
	write_sysreg(ttbr0_el1, (uintptr_t)stage1);
	isb();
	mmu(true);
	(void)probe_read32(ALIAS + UNMAPPED_DATA, &r);
	w = (struct want){0x96000010, ALIAS + UNMAPPED_DATA, 0, 4, d | 5, 0};
	ok = check_rec("load at VA 0xa0000000 (IPA 0x20000000)", &r, &w, why);
	if (ok) {
		probe_exec(ALIAS + UNMAPPED_CODE, &r);
		w = (struct want){
		    0x86000010, ALIAS + UNMAPPED_CODE, ALIAS + UNMAPPED_CODE, 4, d | 5, 0};
		ok = check_rec("fetch at VA 0xb0000000 (IPA 0x30000000)", &r, &w, why);
	}
	mmu(false);
	write_sysreg(ttbr0_el1, 0);
	isb();
	return ok ? PASS : FAIL;
}

/* ---- debug registers ---- */
#define DBG_CASES(X)                                                                               \
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define RD_BP(n)                                                                                   \
	case n:                                                                                    \
		v[0] = read_sysreg(dbgbvr##n##_el1);                                               \
		v[1] = read_sysreg(dbgbcr##n##_el1);                                               \
		break;
#define RD_WP(n)                                                                                   \
	case n:                                                                                    \
		v[2] = read_sysreg(dbgwvr##n##_el1);                                               \
		v[3] = read_sysreg(dbgwcr##n##_el1);                                               \
		break;
#define WR_BP(n)                                                                                   \
	case n:                                                                                    \
		write_sysreg(dbgbvr##n##_el1, bvr);                                                \
		write_sysreg(dbgbcr##n##_el1, bcr);                                                \
		break;
#define WR_WP(n)                                                                                   \
	case n:                                                                                    \
		write_sysreg(dbgwvr##n##_el1, wvr);                                                \
		write_sysreg(dbgwcr##n##_el1, wcr);                                                \
		break;

static unsigned brps(void)
{
	return ((read_sysreg(id_aa64dfr0_el1) >> 12) & 0xf) + 1;
}

static unsigned wrps(void)
{
	return ((read_sysreg(id_aa64dfr0_el1) >> 20) & 0xf) + 1;
}

/* Pair n's BVR, BCR, WVR, WCR; those the CPU does not have (they would
 * UNDEF) read as 0. */
static void dbg_read(unsigned n, uint64_t v[4])
{
	v[0] = v[1] = v[2] = v[3] = 0;
	if (n < brps())
		switch (n) {
			DBG_CASES(RD_BP)
		}
	if (n < wrps())
		switch (n) {
			DBG_CASES(RD_WP)
		}
}

static void bp_write(unsigned n, uint64_t bvr, uint64_t bcr)
{
	switch (n) {
		DBG_CASES(WR_BP)
	}
}

static void wp_write(unsigned n, uint64_t wvr, uint64_t wcr)
{
	switch (n) {
		DBG_CASES(WR_WP)
	}
}

/* A recognisable value for every register, with E (bit 0) clear so that
 * nothing fires: PMC/BAS/LSC set in the controls, addresses in RAM. */
static void pattern(unsigned seed, unsigned n, uint64_t v[4])
{
	v[0] = 0x40000000UL + seed * 0x10000UL + n * 0x100UL;
	v[1] = 0x1e6;
	v[2] = 0x40800000UL + seed * 0x10000UL + n * 0x40UL;
	v[3] = 0x1ff6;
}

void dbg_fill(unsigned seed)
{
	uint64_t v[4];

	for (unsigned n = 0; n < brps(); n++) {
		pattern(seed, n, v);
		bp_write(n, seed ? v[0] : 0, seed ? v[1] : 0);
	}
	for (unsigned n = 0; n < wrps(); n++) {
		pattern(seed, n, v);
		wp_write(n, seed ? v[2] : 0, seed ? v[3] : 0);
	}
	write_sysreg(mdscr_el1, seed ? MDSCR_KDE : 0);
	write_sysreg(oslar_el1, seed ? 0 : 1); /* a pattern also unlocks the OS lock */
	isb();
}

/* Which register differs from its reset value (0 for all of them, the OS
 * lock set): 1 + 4 * pair + {0 BVR, 1 BCR, 2 WVR, 3 WCR}, 65 MDSCR_EL1,
 * 66 OSLSR_EL1.OSLK; 0 if none. */
unsigned dbg_scan(uint64_t *val)
{
	uint64_t v[4];

	for (unsigned n = 0; n < 16; n++) {
		dbg_read(n, v);
		for (unsigned k = 0; k < 4; k++) {
			if ((k < 2 ? n < brps() : n < wrps()) && v[k]) {
				*val = v[k];
				return 1 + 4 * n + k;
			}
		}
	}
	*val = read_sysreg(mdscr_el1);
	if (*val)
		return 65;
	*val = read_sysreg(oslsr_el1);
	if (!(*val & OSLSR_OSLK))
		return 66;
	return 0;
}

const char *dbg_reg_name(unsigned which, char *buf, size_t n)
{
	static const char *const kinds[4] = {"DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR"};

	if (which == 65)
		return "MDSCR_EL1";
	if (which == 66)
		return "OSLSR_EL1 (OS lock clear)";
	tg_snprintf(buf, n, "%s%u_EL1", kinds[(which - 1) % 4], (which - 1) / 4);
	return buf;
}

/* The pattern of seed, as this vCPU reads it back; false (and why) if not. */
static bool dbg_check(unsigned seed, char *why)
{
	uint64_t v[4], want[4];
	char name[24];

	for (unsigned n = 0; n < 16; n++) {
		dbg_read(n, v);
		pattern(seed, n, want);
		for (unsigned k = 0; k < 4; k++) {
			if ((k < 2 ? n < brps() : n < wrps()) && v[k] != want[k]) {
				tg_snprintf(why, WHY_SIZE, "own %s reads 0x%lx, wrote 0x%lx",
					    dbg_reg_name(1 + 4 * n + k, name, sizeof(name)), v[k],
					    want[k]);
				return false;
			}
		}
	}
	if (read_sysreg(mdscr_el1) != MDSCR_KDE) {
		tg_snprintf(why, WHY_SIZE, "own MDSCR_EL1 reads 0x%lx", read_sysreg(mdscr_el1));
		return false;
	}
	return true;
}

void dbg_serve(struct cpu_state *c)
{
	uint64_t val = 0;

	if (c->dbg_req == c->dbg_done)
		return;
	c->dbg_bad = dbg_scan(&val);
	c->dbg_val = val;
	dmb(); /* the answer before the flag */
	c->dbg_done = c->dbg_req;
	dsb();
	sev();
}

static uint64_t watched;

/* Self-hosted debug works in a partition: an address breakpoint, a store
 * watchpoint and a software step, each taken at EL1 as on bare hardware. */
enum result t_debug_self(char *why)
{
	uint64_t mdscr = read_sysreg(mdscr_el1);
	struct fault_rec r;
	enum result res = FAIL;

	write_sysreg(oslar_el1, 0); /* the OS lock is set out of reset */
	write_sysreg(mdscr_el1, mdscr | MDSCR_KDE | MDSCR_MDE);
	isb();
	__asm__ volatile("msr daifclr, #8" ::: "memory");
	bp_write(0, (uintptr_t)bkpt_target, 0x1e7); /* E, PMC EL1+EL0, BAS all */
	isb();
	probe_exec((uintptr_t)bkpt_target, &r);
	bp_write(0, 0, 0);
	isb();
	if (!r.hit || EC(r.esr) != 0x31 || r.elr != (uintptr_t)bkpt_target) {
		tg_snprintf(why, WHY_SIZE,
			    "breakpoint: hit %d ESR 0x%lx ELR 0x%lx, want EC 0x31 at 0x%lx", r.hit,
			    r.esr, r.elr, (uintptr_t)bkpt_target);
		goto out;
	}
	wp_write(0, (uintptr_t)&watched, 0x1ff7); /* E, PAC EL1+EL0, stores, 8 bytes */
	isb();
	probe_arm();
	probe_store64((uintptr_t)&watched, 1);
	probe_result(&r);
	wp_write(0, 0, 0);
	isb();
	if (!r.hit || EC(r.esr) != 0x35 || !(r.esr & (1UL << 6)) || r.far < (uintptr_t)&watched ||
	    r.far >= (uintptr_t)&watched + 8) {
		tg_snprintf(why, WHY_SIZE,
			    "watchpoint: hit %d ESR 0x%lx FAR 0x%lx, want EC 0x35 WnR at 0x%lx",
			    r.hit, r.esr, r.far, (uintptr_t)&watched);
		goto out;
	}
	/* with debug exceptions masked, or the step would be taken at once
	 * (active-pending); ss_step unmasks them for the stepped instruction */
	__asm__ volatile("msr daifset, #8" ::: "memory");
	write_sysreg(mdscr_el1, read_sysreg(mdscr_el1) | MDSCR_SS);
	isb();
	probe_step((uintptr_t)ss_target, 0, &r);
	if (!r.hit || EC(r.esr) != 0x33 || r.elr != (uintptr_t)ss_target + 4) {
		tg_snprintf(why, WHY_SIZE,
			    "software step: hit %d ESR 0x%lx ELR 0x%lx, want EC 0x33 at 0x%lx",
			    r.hit, r.esr, r.elr, (uintptr_t)ss_target + 4);
		goto out;
	}
	/* Stepping a load the hypervisor emulates (the UART's flag register)
	 * also stops right after it, not one instruction later. */
	__asm__ volatile("msr daifset, #8" ::: "memory");
	write_sysreg(mdscr_el1, read_sysreg(mdscr_el1) | MDSCR_SS);
	isb();
	probe_step((uintptr_t)ss_mmio, PL011_BASE + 0x18, &r);
	if (!r.hit || EC(r.esr) != 0x33 || r.elr != (uintptr_t)ss_mmio + 4) {
		tg_snprintf(why, WHY_SIZE,
			    "software step over a UARTFR load: hit %d ESR 0x%lx ELR 0x%lx, want EC "
			    "0x33 at 0x%lx",
			    r.hit, r.esr, r.elr, (uintptr_t)ss_mmio + 4);
		goto out;
	}
	res = PASS;
out:
	__asm__ volatile("msr daifset, #8" ::: "memory");
	write_sysreg(mdscr_el1, mdscr);
	isb();
	return res;
}

/* Debug state is the vCPU's: the secondaries (under time-sharing, one of
 * them on this vCPU's CPU) read their own reset values while this vCPU has a
 * pattern in every register, and this vCPU still reads its pattern after
 * they ran. */
enum result t_debug_switch(char *why)
{
	uint32_t online = tests_online();
	unsigned asked = 0;
	char name[24];

	if (!online) {
		tg_snprintf(why, WHY_SIZE, "no secondary vCPU online");
		return SKIP;
	}
	dbg_fill(1);
	for (unsigned i = 0; i < dt.ncpus; i++) {
		if (!(online & (1U << i)))
			continue;
		cpus[i].dbg_req++;
		dsb();
		gic_send_sgi(SGI_KICK, dt.mpidr[i]);
		if (!wait_until(&cpus[i].dbg_done, cpus[i].dbg_req, ms(1000))) {
			dbg_fill(0);
			FAILF("vCPU%u did not answer within 1 s", i);
		}
		if (cpus[i].dbg_bad) {
			dbg_fill(0);
			FAILF("vCPU%u reads %s = 0x%lx, want its reset value", i,
			      dbg_reg_name(cpus[i].dbg_bad, name, sizeof(name)), cpus[i].dbg_val);
		}
		asked++;
	}
	if (!dbg_check(1, why)) {
		dbg_fill(0);
		return FAIL;
	}
	dbg_fill(0);
	return asked ? PASS : FAIL;
}

/* LORegions (HCR_EL2.TLOR) and activity monitors (CPTR_EL2.TAM) are not
 * offered: hidden in the ID registers, and their registers UNDEF. */
enum result t_lor_amu(char *why)
{
	uint64_t mmfr1 = read_sysreg(id_aa64mmfr1_el1), pfr0 = read_sysreg(id_aa64pfr0_el1);
	struct fault_rec r;

	if ((mmfr1 >> 16) & 0xf)
		FAILF("ID_AA64MMFR1_EL1.LO = %lu, want 0", (mmfr1 >> 16) & 0xf);
	if ((pfr0 >> 44) & 0xf)
		FAILF("ID_AA64PFR0_EL1.AMU = %lu, want 0", (pfr0 >> 44) & 0xf);
	probe_arm();
	__asm__ volatile("mrs x0, S3_0_C10_C4_7" ::: "x0", "memory"); /* LORID_EL1 */
	probe_result(&r);
	if (!r.hit || r.esr != ESR_UNDEF)
		FAILF("LORID_EL1 read: exception %d ESR 0x%lx, want an UNDEF (0x%lx)", r.hit, r.esr,
		      ESR_UNDEF);
	probe_arm();
	__asm__ volatile("msr S3_0_C10_C4_3, xzr" ::: "memory"); /* LORC_EL1 */
	probe_result(&r);
	if (!r.hit || r.esr != ESR_UNDEF)
		FAILF("LORC_EL1 write: exception %d ESR 0x%lx, want an UNDEF", r.hit, r.esr);
	probe_arm();
	__asm__ volatile("mrs x0, S3_3_C13_C2_0" ::: "x0", "memory"); /* AMCR_EL0 */
	probe_result(&r);
	if (!r.hit || r.esr != ESR_UNDEF)
		FAILF("AMCR_EL0 read: exception %d ESR 0x%lx, want an UNDEF", r.hit, r.esr);
	return PASS;
}

#define WFIT_MAX_RETURNS 20

static void wfit(uint64_t deadline)
{
	/* WFIT x0 (FEAT_WFxT; older assemblers do not know it) */
	__asm__ volatile("mov x0, %0\n\t.inst 0xd5031020" ::"r"(deadline) : "x0", "memory");
}

/* WFIT with a 1 ms timeout and nothing pending (IRQs masked, no timer
 * armed) returns at its deadline, having slept: a handful of returns, not a
 * spin. The virtual timer at 1 s is a backstop that turns "never wakes"
 * into a failure rather than a hang. */
enum result t_wfit(char *why)
{
	uint64_t isar2 = read_sysreg(S3_0_C0_C6_2), start, deadline, end;
	unsigned n = 0;

	if (!(isar2 & 0xf)) {
		tg_snprintf(why, WHY_SIZE, "no FEAT_WFxT (ID_AA64ISAR2_EL1.WFxT = 0)");
		return SKIP;
	}
	irq_disable();
	start = now();
	deadline = start + ms(1);
	write_sysreg(cntv_cval_el0, start + ms(1000));
	write_sysreg(cntv_ctl_el0, 1);
	isb();
	while (now() < deadline && n < 100000) {
		wfit(deadline);
		n++;
	}
	end = now();
	write_sysreg(cntv_ctl_el0, 0);
	isb();
	irq_enable();
	if (end - start >= ms(1000))
		FAILF("WFIT with a 1 ms timeout returned after %lu ms (the backstop timer)",
		      (end - start) / ms(1));
	if (n > WFIT_MAX_RETURNS)
		FAILF("WFIT returned %u times before its 1 ms deadline: it does not sleep", n);
	return PASS;
}

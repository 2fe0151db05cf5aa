/*
 * A vCPU's EL1 state on the CPU: loaded once when a vCPU is pinned to a
 * physical CPU and saved when it leaves (tessera never runs two vCPUs on one
 * CPU at once, so nothing here is on the exit path).
 */
#include "arch/arm64/arch.h"

#define CNTHCTL_EL1PCTEN   BIT(0)
#define CNTHCTL_EL1PCEN	   BIT(1)
#define SCTLR_EL1_RESET	   0x30d00800ull /* RES1 bits, MMU and caches off */
#define PSTATE_EL1H_MASKED 0x3c5ull

static void load_el1(const struct vcpu_ctx *c)
{
	write_sysreg(sp_el0, c->sp_el0);
	write_sysreg(sp_el1, c->sp_el1);
	write_sysreg(elr_el1, c->elr_el1);
	write_sysreg(spsr_el1, c->spsr_el1);
	write_sysreg(sctlr_el1, c->sctlr);
	write_sysreg(ttbr0_el1, c->ttbr0);
	write_sysreg(ttbr1_el1, c->ttbr1);
	write_sysreg(tcr_el1, c->tcr);
	write_sysreg(mair_el1, c->mair);
	write_sysreg(amair_el1, c->amair);
	write_sysreg(vbar_el1, c->vbar);
	write_sysreg(contextidr_el1, c->contextidr);
	write_sysreg(cpacr_el1, c->cpacr);
}

static void load_el1_misc(const struct vcpu_ctx *c)
{
	write_sysreg(tpidr_el0, c->tpidr_el0);
	write_sysreg(tpidrro_el0, c->tpidrro_el0);
	write_sysreg(tpidr_el1, c->tpidr_el1);
	write_sysreg(csselr_el1, c->csselr);
	write_sysreg(esr_el1, c->esr);
	write_sysreg(far_el1, c->far);
	write_sysreg(afsr0_el1, c->afsr0);
	write_sysreg(afsr1_el1, c->afsr1);
	write_sysreg(par_el1, c->par);
	write_sysreg(mdscr_el1, c->mdscr);
	write_sysreg(cntkctl_el1, c->cntkctl);
	write_sysreg(vmpidr_el2, c->vmpidr);
}

static void save_el1(struct vcpu_ctx *c)
{
	c->sp_el0 = read_sysreg(sp_el0);
	c->sp_el1 = read_sysreg(sp_el1);
	c->elr_el1 = read_sysreg(elr_el1);
	c->spsr_el1 = read_sysreg(spsr_el1);
	c->sctlr = read_sysreg(sctlr_el1);
	c->ttbr0 = read_sysreg(ttbr0_el1);
	c->ttbr1 = read_sysreg(ttbr1_el1);
	c->tcr = read_sysreg(tcr_el1);
	c->mair = read_sysreg(mair_el1);
	c->amair = read_sysreg(amair_el1);
	c->vbar = read_sysreg(vbar_el1);
	c->contextidr = read_sysreg(contextidr_el1);
	c->cpacr = read_sysreg(cpacr_el1);
}

static void save_el1_misc(struct vcpu_ctx *c)
{
	c->tpidr_el0 = read_sysreg(tpidr_el0);
	c->tpidrro_el0 = read_sysreg(tpidrro_el0);
	c->tpidr_el1 = read_sysreg(tpidr_el1);
	c->csselr = read_sysreg(csselr_el1);
	c->esr = read_sysreg(esr_el1);
	c->far = read_sysreg(far_el1);
	c->afsr0 = read_sysreg(afsr0_el1);
	c->afsr1 = read_sysreg(afsr1_el1);
	c->par = read_sysreg(par_el1);
	c->mdscr = read_sysreg(mdscr_el1);
	c->cntkctl = read_sysreg(cntkctl_el1);
}

/* Timers: the guest owns the EL1 virtual and physical timers of its CPU;
 * their interrupts reach EL2 and are forwarded as HW-linked vIRQs. */
static void load_timers(const struct vcpu_ctx *c)
{
	write_sysreg(cnthctl_el2, CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN);
	write_sysreg(cntv_cval_el0, c->cntv_cval);
	write_sysreg(cntp_cval_el0, c->cntp_cval);
	isb();
	write_sysreg(cntv_ctl_el0, c->cntv_ctl);
	write_sysreg(cntp_ctl_el0, c->cntp_ctl);
}

static void save_timers(struct vcpu_ctx *c)
{
	c->cntv_ctl = read_sysreg(cntv_ctl_el0);
	c->cntv_cval = read_sysreg(cntv_cval_el0);
	c->cntp_ctl = read_sysreg(cntp_ctl_el0);
	c->cntp_cval = read_sysreg(cntp_cval_el0);
	write_sysreg(cntv_ctl_el0, 0);
	write_sysreg(cntp_ctl_el0, 0);
	isb();
}

/* Key registers by name: APIAKeyLo_EL1 is S3_0_C2_C1_0 and so on. */
static bool has_pauth(void)
{
	uint64_t isar1 = read_sysreg(id_aa64isar1_el1);
	return (isar1 >> 4 & 0xff) || (isar1 >> 24 & 0xff) ||
	       (read_sysreg(S3_0_C0_C6_2) >> 12 & 0xff); /* ISAR2 APA3/GPA3 */
}

static void load_keys(const struct vcpu_ctx *c)
{
	if (!has_pauth())
		return;
	write_sysreg(S3_0_C2_C1_0, c->pac_keys[0]);
	write_sysreg(S3_0_C2_C1_1, c->pac_keys[1]);
	write_sysreg(S3_0_C2_C1_2, c->pac_keys[2]);
	write_sysreg(S3_0_C2_C1_3, c->pac_keys[3]);
	write_sysreg(S3_0_C2_C2_0, c->pac_keys[4]);
	write_sysreg(S3_0_C2_C2_1, c->pac_keys[5]);
	write_sysreg(S3_0_C2_C2_2, c->pac_keys[6]);
	write_sysreg(S3_0_C2_C2_3, c->pac_keys[7]);
	write_sysreg(S3_0_C2_C3_0, c->pac_keys[8]);
	write_sysreg(S3_0_C2_C3_1, c->pac_keys[9]);
}

static void save_keys(struct vcpu_ctx *c)
{
	if (!has_pauth())
		return;
	c->pac_keys[0] = read_sysreg(S3_0_C2_C1_0);
	c->pac_keys[1] = read_sysreg(S3_0_C2_C1_1);
	c->pac_keys[2] = read_sysreg(S3_0_C2_C1_2);
	c->pac_keys[3] = read_sysreg(S3_0_C2_C1_3);
	c->pac_keys[4] = read_sysreg(S3_0_C2_C2_0);
	c->pac_keys[5] = read_sysreg(S3_0_C2_C2_1);
	c->pac_keys[6] = read_sysreg(S3_0_C2_C2_2);
	c->pac_keys[7] = read_sysreg(S3_0_C2_C2_3);
	c->pac_keys[8] = read_sysreg(S3_0_C2_C3_0);
	c->pac_keys[9] = read_sysreg(S3_0_C2_C3_1);
}

/* ---- self-hosted debug ----
 * Breakpoints, watchpoints and the debug controls belong to the vCPU: a
 * guest's MDSCR_EL1 and DBGB/W*R are used as they are (MDCR_EL2.TDA is
 * clear, so nothing traps), and switching them here keeps one guest's
 * breakpoints and watchpoints from firing in, or being read by, the next.
 * Only the pairs the CPU has (ID_AA64DFR0_EL1.BRPs, WRPs) exist.
 * DBGPRCR_EL1 (a core powerdown request) and the claim tags
 * (DBGCLAIMSET/CLR_EL1) serve an external debugger and are left alone:
 * QEMU implements neither (they UNDEF at EL2 there). */
#define DBG_PAIR_CASES(X)                                                                          \
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define BP_SAVE(n)                                                                                 \
	case n:                                                                                    \
		c->dbg_bvr[n] = read_sysreg(dbgbvr##n##_el1);                                      \
		c->dbg_bcr[n] = read_sysreg(dbgbcr##n##_el1);                                      \
		break;
#define BP_LOAD(n)                                                                                 \
	case n:                                                                                    \
		write_sysreg(dbgbvr##n##_el1, c->dbg_bvr[n]);                                      \
		write_sysreg(dbgbcr##n##_el1, c->dbg_bcr[n]);                                      \
		break;
#define WP_SAVE(n)                                                                                 \
	case n:                                                                                    \
		c->dbg_wvr[n] = read_sysreg(dbgwvr##n##_el1);                                      \
		c->dbg_wcr[n] = read_sysreg(dbgwcr##n##_el1);                                      \
		break;
#define WP_LOAD(n)                                                                                 \
	case n:                                                                                    \
		write_sysreg(dbgwvr##n##_el1, c->dbg_wvr[n]);                                      \
		write_sysreg(dbgwcr##n##_el1, c->dbg_wcr[n]);                                      \
		break;
#define OSLSR_OSLK BIT(1)

static unsigned brps(void)
{
	return ((read_sysreg(id_aa64dfr0_el1) >> 12) & 0xf) + 1;
}
static unsigned wrps(void)
{
	return ((read_sysreg(id_aa64dfr0_el1) >> 20) & 0xf) + 1;
}

static void save_debug(struct vcpu_ctx *c)
{
	for (unsigned i = 0, n = brps(); i < n; i++)
		switch (i) {
			DBG_PAIR_CASES(BP_SAVE)
		}
	for (unsigned i = 0, n = wrps(); i < n; i++)
		switch (i) {
			DBG_PAIR_CASES(WP_SAVE)
		}
	c->oslk = read_sysreg(oslsr_el1) & OSLSR_OSLK ? 1 : 0;
	c->osdlr = read_sysreg(osdlr_el1);
	c->mdccint = read_sysreg(mdccint_el1);
}

static void load_debug(const struct vcpu_ctx *c)
{
	for (unsigned i = 0, n = brps(); i < n; i++)
		switch (i) {
			DBG_PAIR_CASES(BP_LOAD)
		}
	for (unsigned i = 0, n = wrps(); i < n; i++)
		switch (i) {
			DBG_PAIR_CASES(WP_LOAD)
		}
	write_sysreg(oslar_el1, c->oslk);
	write_sysreg(osdlr_el1, c->osdlr);
	write_sysreg(mdccint_el1, c->mdccint);
}

void vcpu_ctx_load(const struct vcpu_ctx *c)
{
	load_keys(c);
	load_el1(c);
	load_el1_misc(c);
	load_debug(c);
	load_timers(c);
	pmu_ctx_load(c);
	write_sysreg(S3_4_C12_C11_7, c->ich_vmcr); /* ICH_VMCR_EL2 */
	write_sysreg(S3_4_C12_C8_0, c->ich_ap0r0); /* ICH_AP0R0_EL2 */
	write_sysreg(S3_4_C12_C9_0, c->ich_ap1r0); /* ICH_AP1R0_EL2 */
	isb();
}

void vcpu_ctx_save(struct vcpu_ctx *c)
{
	save_keys(c);
	save_el1(c);
	save_el1_misc(c);
	save_debug(c);
	save_timers(c);
	pmu_ctx_save(c);
	c->ich_vmcr = read_sysreg(S3_4_C12_C11_7);
	c->ich_ap0r0 = read_sysreg(S3_4_C12_C8_0);
	c->ich_ap1r0 = read_sysreg(S3_4_C12_C9_0);
}

void vcpu_ctx_reset(struct vcpu_ctx *c, uint64_t pc, uint64_t x0, uint64_t vmpidr)
{
	uint8_t *sve = c->sve; /* the partition's SVE set-up stays, its state goes */
	unsigned vl = (unsigned)(c->zcr_el2 + 1) * 16;
	*c = (struct vcpu_ctx){0};
	if (sve)
		vcpu_sve_init(c, sve, vl);
	c->x[0] = x0;
	c->pc = pc;
	c->pstate = PSTATE_EL1H_MASKED;
	c->sctlr = SCTLR_EL1_RESET;
	c->vmpidr = vmpidr;
	c->ich_vmcr = 0; /* the guest enables its interface and sets its PMR itself */
	c->oslk = 1;	 /* the OS lock is set out of a cold reset; breakpoints start off */
}

#define PAR_F	    BIT(0)
#define PAR_PA_MASK 0x000ffffffffff000ull /* PA[51:12] */

bool guest_va_to_pa(uint64_t va, uint64_t *pa)
{
	uint64_t saved = read_sysreg(par_el1), par;
	__asm__ volatile("at s12e1r, %0" : : "r"(va) : "memory");
	isb();
	par = read_sysreg(par_el1);
	write_sysreg(par_el1, saved);
	if (par & PAR_F)
		return false;
	*pa = (par & PAR_PA_MASK) | (va & 0xfff);
	return true;
}

/* An injection reads SCTLR_EL1 and VBAR_EL1 and writes ELR, SPSR, ESR and
 * FAR_EL1: only those move, so the timers and the rest stay as they are. */
void vcpu_ctx_save_exc(struct vcpu_ctx *c)
{
	c->sctlr = read_sysreg(sctlr_el1);
	c->vbar = read_sysreg(vbar_el1);
	c->elr_el1 = read_sysreg(elr_el1);
	c->spsr_el1 = read_sysreg(spsr_el1);
	c->esr = read_sysreg(esr_el1);
	c->far = read_sysreg(far_el1);
}

void vcpu_ctx_load_exc(const struct vcpu_ctx *c)
{
	write_sysreg(elr_el1, c->elr_el1);
	write_sysreg(spsr_el1, c->spsr_el1);
	write_sysreg(esr_el1, c->esr);
	write_sysreg(far_el1, c->far);
}

/* ---- stage-2 ---- */
uint64_t stage2_vtcr(const struct pt *pt)
{
	uint64_t ps = read_sysreg(id_aa64mmfr0_el1) & 7;
	return BIT(31) | (ps << 16) | (3ull << 12) | (1ull << 10) | (1ull << 8) |
	       ((uint64_t)pt_vtcr_sl0(pt) << 6) | pt_t0sz(pt);
}

void vtcr_set(uint64_t vtcr)
{
	write_sysreg(vtcr_el2, vtcr);
	isb();
}

void stage2_load(uint64_t vttbr)
{
	write_sysreg(vttbr_el2, vttbr);
	isb();
}

void stage2_flush_vmid(uint64_t vttbr)
{
	uint64_t old = read_sysreg(vttbr_el2);
	dsb(ishst);
	write_sysreg(vttbr_el2, vttbr);
	isb();
	__asm__ volatile("tlbi vmalls12e1is" ::: "memory");
	dsb(ish);
	isb();
	write_sysreg(vttbr_el2, old);
	isb();
}

/* ---- GIC virtual interface ---- */
#define LR_CASE(n, crm, op2)                                                                       \
	case n:                                                                                    \
		return read_sysreg(S3_4_C12_##crm##_##op2)
uint64_t ich_lr_read(unsigned i)
{
	switch (i) {
		LR_CASE(0, C12, 0);
		LR_CASE(1, C12, 1);
		LR_CASE(2, C12, 2);
		LR_CASE(3, C12, 3);
		LR_CASE(4, C12, 4);
		LR_CASE(5, C12, 5);
		LR_CASE(6, C12, 6);
		LR_CASE(7, C12, 7);
		LR_CASE(8, C13, 0);
		LR_CASE(9, C13, 1);
		LR_CASE(10, C13, 2);
		LR_CASE(11, C13, 3);
		LR_CASE(12, C13, 4);
		LR_CASE(13, C13, 5);
		LR_CASE(14, C13, 6);
		LR_CASE(15, C13, 7);
	}
	return 0;
}
#undef LR_CASE

#define LR_CASE(n, crm, op2)                                                                       \
	case n:                                                                                    \
		write_sysreg(S3_4_C12_##crm##_##op2, v);                                           \
		break
void ich_lr_write(unsigned i, uint64_t v)
{
	switch (i) {
		LR_CASE(0, C12, 0);
		LR_CASE(1, C12, 1);
		LR_CASE(2, C12, 2);
		LR_CASE(3, C12, 3);
		LR_CASE(4, C12, 4);
		LR_CASE(5, C12, 5);
		LR_CASE(6, C12, 6);
		LR_CASE(7, C12, 7);
		LR_CASE(8, C13, 0);
		LR_CASE(9, C13, 1);
		LR_CASE(10, C13, 2);
		LR_CASE(11, C13, 3);
		LR_CASE(12, C13, 4);
		LR_CASE(13, C13, 5);
		LR_CASE(14, C13, 6);
		LR_CASE(15, C13, 7);
	}
}
#undef LR_CASE

void ich_hcr_write(uint64_t v)
{
	write_sysreg(S3_4_C12_C11_0, v);
	isb();
}

uint32_t ich_elrsr_read(void)
{
	return (uint32_t)read_sysreg(S3_4_C12_C11_5);
}

uint64_t ich_misr_read(void)
{
	return read_sysreg(S3_4_C12_C11_2);
}

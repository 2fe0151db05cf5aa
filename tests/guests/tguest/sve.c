/*
 * SVE as a partition sees it (mode=all checks, and mode=sve: only these).
 * tguest.sve=<bytes> in the bootargs is the vector length the partition
 * must have (its sve-max-vl capped by the CPU); absent or 0: no SVE.
 *
 * - sve_id: ID_AA64PFR0_EL1.SVE and ID_AA64ZFR0_EL1 shown exactly when the
 *   partition has SVE; SME hidden always.
 * - sve_vl: RDVL gives the expected length for ZCR_EL1.LEN = 15 and the
 *   power-of-two lengths below it; without SVE, RDVL and ZCR_EL1 accesses
 *   are UNDEFINED (the hypervisor injects the UNDEF and goes on).
 * - sve_state: Z0-Z31, P0-P15 and FFR filled with a pattern survive, bit
 *   for bit up to the vector length, HVCs, trapped MMIO, a timer interrupt
 *   taken through WFI, and every secondary filling its own registers with
 *   its own pattern and ZCR_EL1 (under time-sharing one of them shares
 *   this vCPU's CPU, so both are descheduled in between); the secondaries
 *   check theirs too, and that their state was all zero at their first
 *   SVE use (nothing of this vCPU's leaked into it).
 * - mode=reset: each boot finds its SVE state zero although the boot
 *   before left a pattern (sve_reset_check).
 *
 * Built with SVE in -march (guests.mk) but still -mgeneral-regs-only: the
 * compiler never touches vector registers, so between the asm that loads
 * them and the asm that reads them back nothing but the hypervisor can
 * change them. Registers are moved through buffers laid out like
 * tessera's save area: Z at n * VL, P and FFR after them at VL / 8 each.
 */
#include "tguest.h"

#define VL_MAX	     256
#define AREA	     (32 * VL_MAX + 17 * (VL_MAX / 8))
#define CPACR_FP_ZEN ((3UL << 20) | (3UL << 16)) /* FPEN, ZEN: no traps at EL1/EL0 */
#define ESR_UNDEF    0x02000000UL
#define UART_FR	     0x18
#define SEC_ZCR	     1 /* secondaries ask for 32 bytes: not what vCPU0 has */
#define EXITS	     20

#define ZCR_EL1 "S3_0_C1_C2_0"

static uint8_t want[MAX_CPUS][AREA] __attribute__((aligned(256)));
static uint8_t got[MAX_CPUS][AREA] __attribute__((aligned(256)));

static uint64_t ms(unsigned n)
{
	return timer_freq() * n / 1000;
}

static size_t area_size(unsigned vl)
{
	return 32u * vl + 17u * (vl / 8);
}

/* tguest.sve=<bytes>; 0 if absent. */
static unsigned expected_vl(void)
{
	char buf[12];
	unsigned v = 0;

	if (!bootarg(dt.bootargs, "tguest.sve", buf, sizeof(buf)))
		return 0;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned)(*p - '0');
	return v;
}

static unsigned rdvl(void)
{
	uint64_t v;

	__asm__ volatile("rdvl %0, #1" : "=r"(v));
	return (unsigned)v;
}

static void zcr_write(uint64_t v)
{
	__asm__ volatile("msr " ZCR_EL1 ", %0\n\tisb" ::"r"(v) : "memory");
}

static uint64_t zcr_read(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, " ZCR_EL1 : "=r"(v));
	return v;
}

static void sve_enable(void)
{
	write_sysreg(cpacr_el1, read_sysreg(cpacr_el1) | CPACR_FP_ZEN);
	isb();
}

/* All of Z, P and FFR from buf (FFR goes in through P0, first). */
static void regs_load(const uint8_t *buf)
{
	__asm__ volatile("addvl x9, %0, #16\n\t"
			 "addvl x9, x9, #16\n\t"
			 "ldr p0, [x9, #16, MUL VL]\n\t"
			 "wrffr p0.b\n\t"
			 ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
			 "ldr p\\n, [x9, #\\n, MUL VL]\n\t"
			 ".endr\n\t"
			 ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
			 "25,26,27,28,29,30,31\n\t"
			 "ldr z\\n, [%0, #\\n, MUL VL]\n\t"
			 ".endr" ::"r"(buf)
			 : "x9", "memory");
}

/* All of Z, P and FFR into buf; FFR comes out through P0 (already saved),
 * which is then reloaded so the registers stay as they were. */
static void regs_store(uint8_t *buf)
{
	__asm__ volatile(".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
			 "25,26,27,28,29,30,31\n\t"
			 "str z\\n, [%0, #\\n, MUL VL]\n\t"
			 ".endr\n\t"
			 "addvl x9, %0, #16\n\t"
			 "addvl x9, x9, #16\n\t"
			 ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
			 "str p\\n, [x9, #\\n, MUL VL]\n\t"
			 ".endr\n\t"
			 "rdffr p0.b\n\t"
			 "str p0, [x9, #16, MUL VL]\n\t"
			 "ldr p0, [x9, #0, MUL VL]" ::"r"(buf)
			 : "x9", "memory");
}

/* A pattern for seed at vector length vl: every byte of every Z and P
 * register differs with the seed, the register and the position; FFR is
 * a monotonic prefix (what first-fault loads leave) of a seeded length. */
static void pattern(uint8_t *b, unsigned seed, unsigned vl)
{
	size_t z = 32u * vl, p = vl / 8;
	unsigned ffr_bits = vl - 1 - seed % 8;

	for (size_t i = 0; i < z; i++)
		b[i] =
		    (uint8_t)((seed * 0x35u + (i / vl) * 0x1du + (i % vl) * 7u + (i >> 9)) ^ 0xa5u);
	for (size_t i = 0; i < 16 * p; i++)
		b[z + i] = (uint8_t)((seed * 0x6bu + (i / p) * 0x3bu + (i % p) * 0x11u) ^ 0x5au);
	for (size_t i = 0; i < p; i++) {
		unsigned bits = ffr_bits > 8 * i ? ffr_bits - 8 * (unsigned)i : 0;
		b[z + 16 * p + i] = bits >= 8 ? 0xff : (uint8_t)((1u << bits) - 1);
	}
}

/* Offset of the first byte that differs, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* Names the register and byte at offset off of an area. */
static void where(char *buf, size_t n, long off, unsigned vl)
{
	size_t z = 32u * vl, p = vl / 8;

	if ((size_t)off < z)
		tg_snprintf(buf, n, "Z%lu byte %lu%s", (unsigned long)off / vl,
			    (unsigned long)off % vl, off % vl >= 16 ? " (above bit 128)" : "");
	else if ((size_t)off < z + 16 * p)
		tg_snprintf(buf, n, "P%lu byte %lu", (unsigned long)(off - z) / p,
			    (unsigned long)(off - z) % p);
	else
		tg_snprintf(buf, n, "FFR byte %lu", (unsigned long)(off - z - 16 * p));
}

/* This vCPU's registers against its pattern; false with why if not. */
static bool check_regs(unsigned vl, const char *when, char *why)
{
	unsigned me = this_cpu();
	long off;
	char reg[48];

	regs_store(got[me]);
	off = first_diff(got[me], want[me], area_size(vl));
	if (off < 0)
		return true;
	where(reg, sizeof(reg), off, vl);
	tg_snprintf(why, WHY_SIZE, "%s: %s reads 0x%02x, wrote 0x%02x", when, reg, got[me][off],
		    want[me][off]);
	return false;
}

/* A vCPU's SVE state on its first use after a reset is zero (tguest leaves
 * its V registers zero: fpsimd_state clears what it wrote): nothing of
 * another vCPU or of the boot before may show. Offset + 1 of the first non-zero byte, or 0. */
static uint32_t fresh_state(unsigned vl)
{
	unsigned me = this_cpu();
	long off;

	memset(want[me], 0, area_size(vl));
	regs_store(got[me]);
	off = first_diff(got[me], want[me], area_size(vl));
	return off < 0 ? 0 : (uint32_t)off + 1;
}

enum result t_sve_id(char *why)
{
	uint64_t pfr0 = read_sysreg(id_aa64pfr0_el1), pfr1 = read_sysreg(id_aa64pfr1_el1);
	uint64_t zfr0 = read_sysreg(S3_0_C0_C4_4);
	unsigned sve = (pfr0 >> 32) & 0xf;

	if ((pfr1 >> 24) & 0xf)
		FAILF("ID_AA64PFR1_EL1.SME = %lu, want 0 (SME is not offered)", (pfr1 >> 24) & 0xf);
	if (read_sysreg(S3_0_C0_C4_5))
		FAILF("ID_AA64SMFR0_EL1 = 0x%lx, want 0", read_sysreg(S3_0_C0_C4_5));
	if (!expected_vl()) {
		if (sve || zfr0)
			FAILF("no SVE configured, but ID_AA64PFR0_EL1.SVE = %u, ZFR0 = 0x%lx", sve,
			      zfr0);
		return PASS;
	}
	if (sve != 1)
		FAILF("SVE configured, but ID_AA64PFR0_EL1.SVE = %u", sve);
	return PASS;
}

/* An UNDEF (EC 0) from the instruction probe runs. */
#define EXPECT_UNDEF(what, insn)                                                                   \
	do {                                                                                       \
		struct fault_rec r;                                                                \
		probe_arm();                                                                       \
		__asm__ volatile(insn ::: "x0", "memory");                                         \
		probe_result(&r);                                                                  \
		if (!r.hit || r.esr != ESR_UNDEF)                                                  \
			FAILF("%s without SVE: exception %d ESR 0x%lx, want an UNDEF", what,       \
			      r.hit, r.esr);                                                       \
	} while (0)

static enum result no_sve(char *why)
{
	uint64_t cpacr = read_sysreg(cpacr_el1);

	sve_enable(); /* so that only the hypervisor's traps can stop them */
	EXPECT_UNDEF("RDVL", "rdvl x0, #1");
	EXPECT_UNDEF("MRS ZCR_EL1", "mrs x0, " ZCR_EL1);
	EXPECT_UNDEF("MSR ZCR_EL1", "msr " ZCR_EL1 ", xzr");
	EXPECT_UNDEF("PTRUE", "ptrue p0.b");
	write_sysreg(cpacr_el1, cpacr);
	isb();
	return PASS;
}

enum result t_sve_vl(char *why)
{
	unsigned exp = expected_vl(), vl;

	if (!exp)
		return no_sve(why);
	sve_enable();
	zcr_write(15);
	if ((vl = rdvl()) != exp)
		FAILF("RDVL = %u bytes with ZCR_EL1.LEN = 15, want %u (the configured maximum)", vl,
		      exp);
	if ((zcr_read() & 0xf) != 15)
		FAILF("ZCR_EL1 reads 0x%lx after writing 15", zcr_read());
	for (unsigned len = 0; (len + 1) * 16 <= exp; len = 2 * len + 1) {
		zcr_write(len);
		if ((vl = rdvl()) != (len + 1) * 16)
			FAILF("RDVL = %u bytes with ZCR_EL1.LEN = %u, want %u", vl, len,
			      (len + 1) * 16);
	}
	zcr_write(15);
	return PASS;
}

static void some_exits(void)
{
	for (unsigned i = 0; i < EXITS; i++) {
		(void)hvc_call(PSCI_VERSION, 0, 0, 0);
		(void)mmio_read32(PL011_BASE + UART_FR);
	}
}

/* The secondary's side of sve_state: its own length and pattern, checked
 * after vCPU0 ran (and, time-shared, after vCPU0 had the CPU). */
void sve_serve(struct cpu_state *c)
{
	unsigned me = this_cpu(), req = c->sve_req, vl;
	long off;

	if (req == c->sve_done)
		return;
	sve_enable();
	zcr_write(SEC_ZCR);
	vl = rdvl();
	if (c->sve_done == 0) /* its first use since it was switched on */
		c->sve_fresh_bad = fresh_state(vl);
	pattern(want[me], me + 1, vl);
	regs_load(want[me]);
	dmb();
	c->sve_ack = req;
	dsb();
	sev();
	wait_until(&c->sve_go, req, ms(2000));
	some_exits();
	regs_store(got[me]);
	off = first_diff(got[me], want[me], area_size(vl));
	c->sve_bad = off < 0 ? 0 : (uint32_t)off + 1;
	c->sve_vl = rdvl();
	dmb();
	c->sve_done = req;
	dsb();
	sev();
}

/* One secondary's round: it fills, this vCPU checks, it checks. */
static enum result with_secondary(unsigned i, unsigned vl, char *why)
{
	struct cpu_state *c = &cpus[i];
	unsigned req = c->sve_done + 1, sec_vl = vl < 32 ? vl : 32;
	char reg[48], when[48];

	c->sve_req = req;
	dsb();
	gic_send_sgi(SGI_KICK, dt.mpidr[i]);
	if (!wait_until(&c->sve_ack, req, ms(2000)))
		FAILF("vCPU%u did not fill its SVE registers within 2 s", i);
	if (c->sve_fresh_bad) {
		where(reg, sizeof(reg), (long)c->sve_fresh_bad - 1, sec_vl);
		FAILF("vCPU%u's first SVE use found %s not zero (another vCPU's state?)", i, reg);
	}
	tg_snprintf(when, sizeof(when), "after vCPU%u filled its own", i);
	if (!check_regs(vl, when, why))
		return FAIL;
	c->sve_go = req;
	dsb();
	sev();
	if (!wait_until(&c->sve_done, req, ms(2000)))
		FAILF("vCPU%u did not finish within 2 s", i);
	if (c->sve_bad) {
		where(reg, sizeof(reg), (long)c->sve_bad - 1, sec_vl);
		FAILF("vCPU%u: its %s changed across exits", i, reg);
	}
	if (c->sve_vl != sec_vl)
		FAILF("vCPU%u: RDVL = %u after its exits, want %u (its ZCR_EL1.LEN = %u)", i,
		      c->sve_vl, sec_vl, SEC_ZCR);
	tg_snprintf(when, sizeof(when), "after vCPU%u checked its own", i);
	return check_regs(vl, when, why) ? PASS : FAIL;
}

/* A timer interrupt taken through WFI (an exit to the hypervisor, which
 * may idle or run another vCPU meanwhile). */
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

enum result t_sve_state(char *why)
{
	unsigned exp = expected_vl(), me = this_cpu(), vl;
	uint32_t online = tests_online();
	enum result res = PASS;

	if (!exp) {
		tg_snprintf(why, WHY_SIZE, "no SVE configured (tguest.sve)");
		return SKIP;
	}
	sve_enable();
	zcr_write(15);
	vl = rdvl();
	if (vl != exp)
		FAILF("RDVL = %u, want %u", vl, exp);
	pattern(want[me], 0, vl);
	regs_load(want[me]);
	if (!check_regs(vl, "at once (no exit yet)", why))
		return FAIL;
	some_exits();
	if (!check_regs(vl, "after HVCs and trapped UART reads", why))
		return FAIL;
	if (!timer_wait())
		FAILF("no timer interrupt within 1 s");
	if (!check_regs(vl, "after a timer interrupt in WFI", why))
		return FAIL;
	for (unsigned i = 0; i < dt.ncpus && res == PASS; i++)
		if (online & (1U << i))
			res = with_secondary(i, vl, why);
	if (res == PASS && (vl = rdvl()) != exp)
		FAILF("RDVL = %u at the end, want %u", vl, exp);
	return res;
}

/* mode=reset with tguest.sve: reports whether this boot found its SVE
 * state fresh ("TGUEST-SVE clean" / "dirty <register>"), then leaves a
 * pattern in it that the next boot must not find. */
void sve_reset_check(void)
{
	unsigned me = this_cpu(), vl;
	uint32_t bad;
	char reg[48];

	if (!expected_vl())
		return;
	sve_enable();
	zcr_write(15);
	vl = rdvl();
	bad = fresh_state(vl);
	if (bad) {
		where(reg, sizeof(reg), (long)bad - 1, vl);
		tg_printf("TGUEST-SVE dirty %s=0x%02x\n", reg, got[me][bad - 1]);
	} else {
		tg_printf("TGUEST-SVE clean vl=%u\n", vl);
	}
	pattern(want[me], 7, vl);
	regs_load(want[me]);
}

/* mode=bench with tguest.sve: SVE in use (enabled by its first
 * instruction) before the loops, so they time the SVE exit path. */
void sve_touch(void)
{
	if (!expected_vl())
		return;
	sve_enable();
	zcr_write(15);
	__asm__ volatile("ptrue p0.b" ::: "memory");
}

/* mode=sve: only these checks, then the totals (as mode=all prints). */
void run_sve(void)
{
	static const struct {
		const char *name;
		enum result (*fn)(char *why);
	} t[] = {{"sve_id", t_sve_id}, {"sve_vl", t_sve_vl}, {"sve_state", t_sve_state}};

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char why[WHY_SIZE] = "";
		enum result r;

		tg_printf("TGUEST: %s ", t[i].name);
		r = t[i].fn(why);
		if (r == PASS)
			tests_passed++;
		else if (r == SKIP)
			tests_skipped++;
		else
			tests_failed++;
		tg_printf("%s %s\n", r == PASS ? "PASS" : r == SKIP ? "SKIP" : "FAIL", why);
	}
	tg_printf("TGUEST-DONE pass=%u fail=%u skip=%u\n", tests_passed, tests_failed,
		  tests_skipped);
}

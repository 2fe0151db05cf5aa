/*
 * SVE for guests. A partition configured with sve-max-vl gets the vector
 * length its CPUs support up to that maximum (ZCR_EL2.LEN while its vCPUs
 * run) and a save area per vCPU for Z0-Z31, P0-P15 and FFR.
 *
 * Lazily: SVE stays trapped (CPTR_EL2.TZ) until a vCPU first executes an
 * SVE instruction or touches ZCR_EL1 after its reset. That trap takes the
 * guest's live V registers as the low 128 bits of the Z registers of a
 * zeroed area, enables SVE and loads the area; from then on the vCPU's
 * loads and unloads (fpsimd.c) switch Z/P/FFR instead of q0-q31. Exits
 * switch nothing: the state stays in the registers while the vCPU is
 * loaded, as plain FP/SIMD state does.
 *
 * Why not re-trap on every load: a guest's write to a V register zeroes
 * the upper bits of that Z register. Entering with SVE trapped loads only
 * q0-q31, so the upper bits would be lost; telling which V registers the
 * guest then wrote is not possible. A vCPU that used SVE once keeps the
 * full switch until reset.
 */
#include "arch/arm64/arch.h"
#include <string.h>

#define CPTR_TZ	     BIT(8)
#define ZCR_LEN_MASK 0xfull /* ZCR_EL2 is S3_4_C1_C2_0, ZCR_EL1 S3_0_C1_C2_0 */

/* The smallest maximum of the CPUs probed; UINT32_MAX before the first. */
static unsigned max_vl = UINT32_MAX;
/* Whether this CPU runs a vCPU with SVE enabled (CPTR_EL2.TZ clear): its
 * state is Z/P/FFR, and vcpu_sve_put has to save that and trap again. */
static bool cpu_sve_on[MAX_CPUS];

static bool cpu_has_sve(void)
{
	return (read_sysreg(id_aa64pfr0_el1) >> 32) & 0xf;
}

static unsigned rdvl(void)
{
	uint64_t v;
	__asm__ volatile(".arch_extension sve\n\trdvl %0, #1" : "=r"(v));
	return (unsigned)v;
}

unsigned sve_effective_vl(unsigned vl)
{
	uint64_t cptr, old;
	unsigned got;
	if (!cpu_has_sve() || vl < 16)
		return 0;
	/* TZ traps EL2's own ZCR_EL2 accesses and RDVL too */
	cptr = read_sysreg(cptr_el2);
	write_sysreg(cptr_el2, cptr & ~CPTR_TZ);
	isb();
	old = read_sysreg(S3_4_C1_C2_0);
	write_sysreg(S3_4_C1_C2_0, MIN(vl / 16 - 1, ZCR_LEN_MASK));
	isb();
	got = rdvl();
	write_sysreg(S3_4_C1_C2_0, old);
	write_sysreg(cptr_el2, cptr);
	isb();
	return got;
}

void sve_cpu_init(void)
{
	unsigned mine = sve_effective_vl(SVE_VL_MAX),
		 cur = __atomic_load_n(&max_vl, __ATOMIC_RELAXED);
	while (mine < cur && !__atomic_compare_exchange_n(&max_vl, &cur, mine, false,
							  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

unsigned sve_max_vl(void)
{
	unsigned v = __atomic_load_n(&max_vl, __ATOMIC_RELAXED);
	return v == UINT32_MAX ? 0 : v;
}

void vcpu_sve_init(struct vcpu_ctx *c, void *area, unsigned vl)
{
	c->sve = area;
	c->zcr_el2 = vl / 16 - 1;
	c->zcr_el1 = ZCR_LEN_MASK; /* UNKNOWN out of reset: ask for the most */
	c->sve_used = 0;
}

/* The guest's V registers (live: the vCPU is loaded, SVE trapped) become
 * the low 128 bits of its Z registers; at the first use since reset the
 * rest of Z, P and FFR start at zero. */
static void from_v_regs(struct vcpu_ctx *c)
{
	unsigned vl = (unsigned)(c->zcr_el2 + 1) * 16;
	fpsimd_save(c);
	if (!c->sve_used)
		memset(c->sve, 0, sve_state_size(vl));
	for (unsigned n = 0; n < 32; n++)
		memcpy(c->sve + (size_t)n * vl, &c->fp_v[2 * n], 16);
	c->sve_used = 1;
}

static void enable(struct vcpu_ctx *c)
{
	write_sysreg(cptr_el2, read_sysreg(cptr_el2) & ~CPTR_TZ);
	isb();
	write_sysreg(S3_4_C1_C2_0, c->zcr_el2);
	write_sysreg(S3_0_C1_C2_0, c->zcr_el1);
	isb();
	sve_regs_load(c);
	cpu_sve_on[this_cpu()->id] = true;
}

bool vcpu_sve_trap(struct vcpu_ctx *c)
{
	if (!c->sve)
		return false;
	if (!cpu_sve_on[this_cpu()->id]) {
		from_v_regs(c);
		enable(c);
	}
	return true;
}

bool vcpu_sve_load(struct vcpu_ctx *c)
{
	if (!c->sve || !c->sve_used)
		return false;
	enable(c);
	return true;
}

bool vcpu_sve_put(struct vcpu_ctx *c)
{
	unsigned cpu = this_cpu()->id;
	if (!cpu_sve_on[cpu])
		return false;
	sve_regs_save(c);
	c->zcr_el1 = read_sysreg(S3_0_C1_C2_0);
	write_sysreg(cptr_el2, read_sysreg(cptr_el2) | CPTR_TZ);
	isb();
	cpu_sve_on[cpu] = false;
	return true;
}

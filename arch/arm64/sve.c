/*
 * SVE for guests. A partition configured with sve-max-vl gets the vector
 * length its CPUs support up to that maximum (ZCR_EL2.LEN while its vCPUs
 * run) and a save area per vCPU for Z0-Z31, P0-P15 and FFR.
 *
 * Lazily: SVE stays trapped (CPTR_EL2.TZ) until a vCPU first executes an
 * SVE instruction or touches ZCR_EL1 after its reset. That trap moves its
 * V registers (saved by guest.S) into the low 128 bits of the Z registers
 * of a zeroed area, and from then on the vCPU runs with SVE enabled:
 * guest.S loads and saves Z/P/FFR instead of q0-q31, and the CPU takes
 * its exits through vectors_sve, so no other vCPU's exit path changes.
 *
 * Why not re-trap on every load: FP/SIMD is never trapped (EL2 code uses
 * it), and a guest's write to a V register zeroes the upper bits of that Z
 * register. Entering with SVE trapped loads only q0-q31, so the upper bits
 * would be lost; telling which V registers the guest then wrote is not
 * possible. A vCPU that used SVE once keeps the full switch until reset.
 *
 * EL2's own vector use (newlib memcpy/memset, IRQs at EL2) is harmless: by
 * the time C runs after an exit, the whole Z/P/FFR state is in the area.
 */
#include "arch/arm64/arch.h"
#include <string.h>

#define CPTR_TZ	     BIT(8)
#define ZCR_LEN_MASK 0xfull /* ZCR_EL2 is S3_4_C1_C2_0, ZCR_EL1 S3_0_C1_C2_0 */

/* guest.S uses these offsets */
_Static_assert(__builtin_offsetof(struct vcpu_ctx, fpsr) == 776, "guest.S CTX_FPSR");
_Static_assert(__builtin_offsetof(struct vcpu_ctx, sve) == 792, "guest.S CTX_SVE");
_Static_assert(__builtin_offsetof(struct vcpu_ctx, sve_on) == 816, "guest.S CTX_SVE_ON");

extern char vectors[], vectors_sve[]; /* entry.S */

/* The smallest maximum of the CPUs probed; UINT32_MAX before the first. */
static unsigned max_vl = UINT32_MAX;
/* Whether this CPU runs a vCPU with SVE enabled (CPTR_EL2.TZ clear,
 * VBAR_EL2 = vectors_sve): what vcpu_sve_put has to undo. */
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
	c->sve_on = 0;
	c->sve_used = 0;
}

/* First use since reset: the registers the guest has are its V registers
 * (in fp_v); the rest of Z, P and FFR start at zero. */
static void first_use(struct vcpu_ctx *c)
{
	unsigned vl = (unsigned)(c->zcr_el2 + 1) * 16;
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
	write_sysreg(vbar_el2, (uintptr_t)vectors_sve);
	isb();
	c->sve_on = 1;
	cpu_sve_on[this_cpu()->id] = true;
}

bool vcpu_sve_trap(struct vcpu_ctx *c)
{
	if (!c->sve)
		return false;
	if (!c->sve_used)
		first_use(c);
	enable(c);
	return true;
}

void vcpu_sve_load(struct vcpu_ctx *c)
{
	c->sve_on = 0;
	if (c->sve && c->sve_used)
		enable(c);
}

void vcpu_sve_put(struct vcpu_ctx *c)
{
	unsigned cpu = this_cpu()->id;
	c->sve_on = 0;
	if (!cpu_sve_on[cpu])
		return;
	c->zcr_el1 = read_sysreg(S3_0_C1_C2_0);
	write_sysreg(vbar_el2, (uintptr_t)vectors);
	write_sysreg(cptr_el2, read_sysreg(cptr_el2) | CPTR_TZ);
	isb();
	cpu_sve_on[cpu] = false;
}

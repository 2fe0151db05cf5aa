/*
 * A guest's FP/SIMD and SVE state, switched when its vCPU is loaded onto a
 * CPU and unloaded from it (kernel/vm/sched.c load/unload), never on an
 * exit.
 *
 * Where the live state is: while a vCPU is loaded (vcpu_fp_load until
 * vcpu_fp_put), its V registers (or Z/P/FFR), FPSR and FPCR are in the
 * CPU's registers, and struct vcpu_ctx's fp_v/fpsr/fpcr (or SVE area) hold
 * stale values. Only after vcpu_fp_put are they the guest's. So whatever
 * reads or writes that state (a reset, a snapshot, a debugger) does it on
 * an unloaded vCPU; the lifecycle and the scheduler already make every
 * such change wait for the unload (lc_claim/lc_unclaim).
 *
 * That is safe because no code at EL2 other than fp_regs.S touches those
 * registers: tessera and the libraries it links (newlib, libfdt, zstd) are
 * built with -mgeneral-regs-only, libgcc's routines that use SIMD are
 * replaced (lib/libgcc_nofp.c), and tools/check-nofp.py (make check-nofp,
 * part of make test) fails on any other instruction that names one. Exits,
 * interrupts taken at EL2, the shell and the lifecycle's jobs all run with
 * a guest's registers in place and leave them alone.
 */
#include "arch/arm64/arch.h"

/* fp_regs.S uses these offsets */
_Static_assert(__builtin_offsetof(struct vcpu_ctx, fp_v) == 264, "fp_regs.S CTX_FP");
_Static_assert(__builtin_offsetof(struct vcpu_ctx, fpsr) == 776, "fp_regs.S CTX_FPSR");
_Static_assert(__builtin_offsetof(struct vcpu_ctx, fpcr) == 784, "fp_regs.S CTX_FPSR + 8");
_Static_assert(__builtin_offsetof(struct vcpu_ctx, sve) == 792, "fp_regs.S CTX_SVE");

void vcpu_fp_load(struct vcpu_ctx *c)
{
	if (!vcpu_sve_load(c))
		fpsimd_load(c);
}

void vcpu_fp_put(struct vcpu_ctx *c)
{
	if (!vcpu_sve_put(c))
		fpsimd_save(c);
}

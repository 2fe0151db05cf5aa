/*
 * The only code in tessera that touches FP/SIMD or SVE registers: moving a
 * guest's state between the CPU and its struct vcpu_ctx when its vCPU is
 * loaded or unloaded (fpsimd.c). Everything else at EL2 is built, and
 * checked (tools/check-nofp.py, whose ALLOWED list names these four) to use
 * general registers only, so the guest's registers stay live across exits.
 */
#define CTX_FP	 264	/* struct vcpu_ctx.fp_v; fpsimd.c checks these offsets */
#define CTX_FPSR 776	/* fpsr, fpcr */
#define CTX_SVE	 792	/* the Z/P/FFR area */

	.arch_extension sve
	.text
/* void fpsimd_save(struct vcpu_ctx *c): q0-q31, FPSR, FPCR */
	.globl	fpsimd_save
fpsimd_save:
	add	x1, x0, #CTX_FP
	stp	q0, q1, [x1, #32 * 0]
	stp	q2, q3, [x1, #32 * 1]
	stp	q4, q5, [x1, #32 * 2]
	stp	q6, q7, [x1, #32 * 3]
	stp	q8, q9, [x1, #32 * 4]
	stp	q10, q11, [x1, #32 * 5]
	stp	q12, q13, [x1, #32 * 6]
	stp	q14, q15, [x1, #32 * 7]
	stp	q16, q17, [x1, #32 * 8]
	stp	q18, q19, [x1, #32 * 9]
	stp	q20, q21, [x1, #32 * 10]
	stp	q22, q23, [x1, #32 * 11]
	stp	q24, q25, [x1, #32 * 12]
	stp	q26, q27, [x1, #32 * 13]
	stp	q28, q29, [x1, #32 * 14]
	stp	q30, q31, [x1, #32 * 15]
	mrs	x2, fpsr
	mrs	x3, fpcr
	add	x4, x0, #CTX_FPSR
	stp	x2, x3, [x4]
	ret

/* void fpsimd_load(const struct vcpu_ctx *c) */
	.globl	fpsimd_load
fpsimd_load:
	add	x1, x0, #CTX_FP
	ldp	q0, q1, [x1, #32 * 0]
	ldp	q2, q3, [x1, #32 * 1]
	ldp	q4, q5, [x1, #32 * 2]
	ldp	q6, q7, [x1, #32 * 3]
	ldp	q8, q9, [x1, #32 * 4]
	ldp	q10, q11, [x1, #32 * 5]
	ldp	q12, q13, [x1, #32 * 6]
	ldp	q14, q15, [x1, #32 * 7]
	ldp	q16, q17, [x1, #32 * 8]
	ldp	q18, q19, [x1, #32 * 9]
	ldp	q20, q21, [x1, #32 * 10]
	ldp	q22, q23, [x1, #32 * 11]
	ldp	q24, q25, [x1, #32 * 12]
	ldp	q26, q27, [x1, #32 * 13]
	ldp	q28, q29, [x1, #32 * 14]
	ldp	q30, q31, [x1, #32 * 15]
	add	x4, x0, #CTX_FPSR
	ldp	x2, x3, [x4]
	msr	fpsr, x2
	msr	fpcr, x3
	ret

/*
 * The same for a vCPU running with SVE enabled (sve.c), at the vector
 * length ZCR_EL2 gives it: Z0-Z31 (which hold q0-q31 in their low 128
 * bits), P0-P15, FFR, FPSR and FPCR. Area layout (VL = vector length in
 * bytes): Z0-Z31 at n * VL, then P0-P15 and FFR at 32 * VL + n * VL / 8.
 */
/* void sve_regs_save(struct vcpu_ctx *c) */
	.globl	sve_regs_save
sve_regs_save:
	ldr	x1, [x0, #CTX_SVE]
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	str	z\n, [x1, #\n, MUL VL]
	.endr
	addvl	x2, x1, #16
	addvl	x2, x2, #16		/* x2 = the predicates */
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	str	p\n, [x2, #\n, MUL VL]
	.endr
	rdffr	p0.b			/* FFR comes out through p0 (saved) */
	str	p0, [x2, #16, MUL VL]
	mrs	x2, fpsr
	mrs	x3, fpcr
	add	x4, x0, #CTX_FPSR
	stp	x2, x3, [x4]
	ret

/* void sve_regs_load(const struct vcpu_ctx *c) */
	.globl	sve_regs_load
sve_regs_load:
	ldr	x1, [x0, #CTX_SVE]
	addvl	x2, x1, #16
	addvl	x2, x2, #16
	ldr	p0, [x2, #16, MUL VL]	/* FFR goes in through p0 */
	wrffr	p0.b
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	ldr	p\n, [x2, #\n, MUL VL]
	.endr
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ldr	z\n, [x1, #\n, MUL VL]
	.endr
	add	x4, x0, #CTX_FPSR
	ldp	x2, x3, [x4]
	msr	fpsr, x2
	msr	fpcr, x3
	ret

/*
 * The world switch: entering a guest and coming back. Host callee-saved
 * registers stay on the EL2 stack across the guest run; the guest's general
 * registers and FP/SIMD state go straight into its struct vcpu_ctx, so no C
 * code (and no library that may use vector registers) runs before they are
 * safe.
 */
#define PERCPU_HOST_SP	 56
#define PERCPU_GUEST_CTX 64
#define CTX_PC		 248
#define CTX_FP		 264
#define CTX_FPSR	 776	/* fpsr, fpcr */
#define CTX_SVE		 792	/* struct vcpu_ctx.sve: the Z/P/FFR area */
#define CTX_SVE_ON	 816	/* .sve_on; sve.c checks these offsets */
#define EXIT_SERROR	 0x10	/* GUEST_EXIT_SERROR, arch.h */
#define DISR_EL1	 S3_0_C12_C1_1

	.arch_extension sve
	.text
/* unsigned guest_enter(struct vcpu_ctx *ctx) */
	.globl	guest_enter
guest_enter:
	stp	x29, x30, [sp, #-96]!
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	mrs	x1, tpidr_el2
	mov	x2, sp
	str	x2, [x1, #PERCPU_HOST_SP]
	str	x0, [x1, #PERCPU_GUEST_CTX]
	ldrb	w2, [x0, #CTX_SVE_ON]
	cbnz	w2, enter_sve
	/* guest FP/SIMD */
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
	ldp	q30, q31, [x1, #32 * 15]!	/* x1 += 480: fpsr is at x1 + 32 */
enter_fpsr:				/* x1 = &ctx->fpsr - 32 */
	ldp	x2, x3, [x1, #32]
	msr	fpsr, x2
	msr	fpcr, x3
	ldp	x1, x2, [x0, #CTX_PC]
	msr	elr_el2, x1
	msr	spsr_el2, x2
	ldp	x2, x3, [x0, #16 * 1]
	ldp	x4, x5, [x0, #16 * 2]
	ldp	x6, x7, [x0, #16 * 3]
	ldp	x8, x9, [x0, #16 * 4]
	ldp	x10, x11, [x0, #16 * 5]
	ldp	x12, x13, [x0, #16 * 6]
	ldp	x14, x15, [x0, #16 * 7]
	ldp	x16, x17, [x0, #16 * 8]
	ldp	x18, x19, [x0, #16 * 9]
	ldp	x20, x21, [x0, #16 * 10]
	ldp	x22, x23, [x0, #16 * 11]
	ldp	x24, x25, [x0, #16 * 12]
	ldp	x26, x27, [x0, #16 * 13]
	ldp	x28, x29, [x0, #16 * 14]
	ldr	x30, [x0, #16 * 15]
	ldp	x0, x1, [x0, #16 * 0]
	eret

/*
 * Reached from a lower-EL vector with the guest's x0..x30 already in its
 * context (see entry.S) and x1 = the vector slot.
 */
	.globl	guest_exit
guest_exit:
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_CTX]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x0, #CTX_PC]
	add	x2, x0, #CTX_FP
	stp	q0, q1, [x2, #32 * 0]
	stp	q2, q3, [x2, #32 * 1]
	stp	q4, q5, [x2, #32 * 2]
	stp	q6, q7, [x2, #32 * 3]
	stp	q8, q9, [x2, #32 * 4]
	stp	q10, q11, [x2, #32 * 5]
	stp	q12, q13, [x2, #32 * 6]
	stp	q14, q15, [x2, #32 * 7]
	stp	q16, q17, [x2, #32 * 8]
	stp	q18, q19, [x2, #32 * 9]
	stp	q20, q21, [x2, #32 * 10]
	stp	q22, q23, [x2, #32 * 11]
	stp	q24, q25, [x2, #32 * 12]
	stp	q26, q27, [x2, #32 * 13]
	stp	q28, q29, [x2, #32 * 14]
	stp	q30, q31, [x2, #32 * 15]!	/* x2 += 480: fpsr is at x2 + 32 */
	mrs	x3, fpsr
	mrs	x4, fpcr
	stp	x3, x4, [x2, #32]
exit_common:
	/*
	 * An SError the guest caused may still be pending (the vector's ESB
	 * deferred it, or it has not been taken yet): find it now, while it is
	 * still attributable to this guest, and flag the exit. With FEAT_RAS
	 * the ESB recorded it in DISR_EL1; without, unmask SErrors for one
	 * instruction: el2_serror_vector (entry.S) recognises the window,
	 * or's EXIT_SERROR into x1 and returns with SErrors masked.
	 */
	adrp	x2, guest_serror_ras
	ldrb	w2, [x2, :lo12:guest_serror_ras]
	cbz	w2, 1f
	mrs	x2, DISR_EL1
	cbz	x2, 2f
	msr	DISR_EL1, xzr
	orr	x1, x1, #EXIT_SERROR
	b	2f
1:	msr	daifclr, #4
	.globl	guest_serror_window
guest_serror_window:
	isb
	.globl	guest_serror_window_end
guest_serror_window_end:
	msr	daifset, #4
2:	mrs	x2, tpidr_el2
	ldr	x3, [x2, #PERCPU_HOST_SP]
	mov	sp, x3
	mov	x0, x1
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #96
	ret

/*
 * The same two halves for a vCPU running with SVE enabled (sve.c): its
 * Z, P and FFR registers at the vector length ZCR_EL2 gives it. The Z
 * registers hold q0-q31 in their low 128 bits, so they replace the V
 * registers. Area layout (x1 = ctx->sve, VL = vector length in bytes):
 * Z0-Z31 at n * VL, then P0-P15 and FFR at 32 * VL + n * VL / 8.
 */
enter_sve:
	ldr	x1, [x0, #CTX_SVE]
	addvl	x2, x1, #16
	addvl	x2, x2, #16		/* x2 = the predicates */
	ldr	p0, [x2, #16, MUL VL]	/* FFR goes in through p0 */
	wrffr	p0.b
	ldr	p0, [x2, #0, MUL VL]
	ldr	p1, [x2, #1, MUL VL]
	ldr	p2, [x2, #2, MUL VL]
	ldr	p3, [x2, #3, MUL VL]
	ldr	p4, [x2, #4, MUL VL]
	ldr	p5, [x2, #5, MUL VL]
	ldr	p6, [x2, #6, MUL VL]
	ldr	p7, [x2, #7, MUL VL]
	ldr	p8, [x2, #8, MUL VL]
	ldr	p9, [x2, #9, MUL VL]
	ldr	p10, [x2, #10, MUL VL]
	ldr	p11, [x2, #11, MUL VL]
	ldr	p12, [x2, #12, MUL VL]
	ldr	p13, [x2, #13, MUL VL]
	ldr	p14, [x2, #14, MUL VL]
	ldr	p15, [x2, #15, MUL VL]
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ldr	z\n, [x1, #\n, MUL VL]
	.endr
	add	x1, x0, #CTX_FPSR - 32
	b	enter_fpsr

/* Reached from vectors_sve (entry.S) like guest_exit from vectors. */
	.globl	guest_exit_sve
guest_exit_sve:
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_CTX]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x0, #CTX_PC]
	ldr	x2, [x0, #CTX_SVE]
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	str	z\n, [x2, #\n, MUL VL]
	.endr
	addvl	x3, x2, #16
	addvl	x3, x3, #16
	str	p0, [x3, #0, MUL VL]
	str	p1, [x3, #1, MUL VL]
	str	p2, [x3, #2, MUL VL]
	str	p3, [x3, #3, MUL VL]
	str	p4, [x3, #4, MUL VL]
	str	p5, [x3, #5, MUL VL]
	str	p6, [x3, #6, MUL VL]
	str	p7, [x3, #7, MUL VL]
	str	p8, [x3, #8, MUL VL]
	str	p9, [x3, #9, MUL VL]
	str	p10, [x3, #10, MUL VL]
	str	p11, [x3, #11, MUL VL]
	str	p12, [x3, #12, MUL VL]
	str	p13, [x3, #13, MUL VL]
	str	p14, [x3, #14, MUL VL]
	str	p15, [x3, #15, MUL VL]
	rdffr	p0.b			/* FFR comes out through p0 (saved) */
	str	p0, [x3, #16, MUL VL]
	mrs	x3, fpsr
	mrs	x4, fpcr
	add	x2, x0, #CTX_FPSR
	stp	x3, x4, [x2]
	b	exit_common

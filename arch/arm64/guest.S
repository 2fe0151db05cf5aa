/*
 * The world switch: entering a guest and coming back. Host callee-saved
 * registers stay on the EL2 stack across the guest run; the guest's general
 * registers go straight into its struct vcpu_ctx. Its FP/SIMD and SVE
 * registers are not switched here: they stay live while the vCPU is loaded
 * (fpsimd.c), and nothing at EL2 touches them.
 */
#define PERCPU_HOST_SP	 56
#define PERCPU_GUEST_CTX 64
#define CTX_PC		 248
#define EXIT_SERROR	 0x10	/* GUEST_EXIT_SERROR, arch.h */
#define DISR_EL1	 S3_0_C12_C1_1

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
	ldp	x1, x2, [x0, #CTX_PC]
	msr	elr_el2, x1
	msr	spsr_el2, x2
/* x0 = the context: its general registers, then into the guest at
 * ELR_EL2/SPSR_EL2 (also the fast exit path's way back, entry.S). */
	.globl	guest_resume
guest_resume:
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

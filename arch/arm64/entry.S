/*
 * EL2 exception vectors and the low-level entry points that cannot be C:
 * secondary CPU start (MMU off), stack switch, MMU switch, cache maintenance.
 */
#define FRAME_SIZE	(36 * 8)	/* struct exc_frame, 16-byte aligned */
#define PERCPU_SIZE	128
#define PERCPU_STACK_HI	24
#define PERCPU_GUEST_CTX 64
#define PERCPU_EMERG_SP	104
#define STACK_SHIFT	14	/* stacks are the upper half of a 2*16 KiB aligned block */

.macro save_frame
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #16 * 0]
	stp	x2, x3, [sp, #16 * 1]
	stp	x4, x5, [sp, #16 * 2]
	stp	x6, x7, [sp, #16 * 3]
	stp	x8, x9, [sp, #16 * 4]
	stp	x10, x11, [sp, #16 * 5]
	stp	x12, x13, [sp, #16 * 6]
	stp	x14, x15, [sp, #16 * 7]
	stp	x16, x17, [sp, #16 * 8]
	stp	x18, x19, [sp, #16 * 9]
	stp	x20, x21, [sp, #16 * 10]
	stp	x22, x23, [sp, #16 * 11]
	stp	x24, x25, [sp, #16 * 12]
	stp	x26, x27, [sp, #16 * 13]
	stp	x28, x29, [sp, #16 * 14]
	add	x0, sp, #FRAME_SIZE
	stp	x30, x0, [sp, #16 * 15]
	mrs	x0, elr_el2
	mrs	x1, spsr_el2
	stp	x0, x1, [sp, #16 * 16]
	mrs	x0, esr_el2
	mrs	x1, far_el2
	stp	x0, x1, [sp, #16 * 17]
	/* a frame record so backtraces run through the exception */
	ldr	x0, [sp, #16 * 16]
	stp	x29, x0, [sp, #-16]!
	mov	x29, sp
	add	x0, sp, #16
.endm

.macro restore_frame
	add	sp, sp, #16
	ldp	x0, x1, [sp, #16 * 16]
	msr	elr_el2, x0
	msr	spsr_el2, x1
	ldp	x0, x1, [sp, #16 * 0]
	ldp	x2, x3, [sp, #16 * 1]
	ldp	x4, x5, [sp, #16 * 2]
	ldp	x6, x7, [sp, #16 * 3]
	ldp	x8, x9, [sp, #16 * 4]
	ldp	x10, x11, [sp, #16 * 5]
	ldp	x12, x13, [sp, #16 * 6]
	ldp	x14, x15, [sp, #16 * 7]
	ldp	x16, x17, [sp, #16 * 8]
	ldp	x18, x19, [sp, #16 * 9]
	ldp	x20, x21, [sp, #16 * 10]
	ldp	x22, x23, [sp, #16 * 11]
	ldp	x24, x25, [sp, #16 * 12]
	ldp	x26, x27, [sp, #16 * 13]
	ldp	x28, x29, [sp, #16 * 14]
	ldr	x30, [sp, #16 * 15]
	add	sp, sp, #FRAME_SIZE
.endm

.macro vector target, kind
	.align 7
	save_frame
	mov	x1, #\kind
	b	\target
.endm

/* Guest x0..x30 go to the running vCPU's context; x0/x1 pass through
 * the stack because they are needed as scratch. The ESB first (a NOP
 * without FEAT_RAS) defers an SError the guest left pending into DISR_EL1,
 * where guest_exit finds it. */
.macro guest_vector kind, exit=guest_exit
	.align 7
	hint	#16			/* esb */
	stp	x0, x1, [sp, #-16]!
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_CTX]
	stp	x2, x3, [x0, #16 * 1]
	stp	x4, x5, [x0, #16 * 2]
	stp	x6, x7, [x0, #16 * 3]
	stp	x8, x9, [x0, #16 * 4]
	stp	x10, x11, [x0, #16 * 5]
	stp	x12, x13, [x0, #16 * 6]
	stp	x14, x15, [x0, #16 * 7]
	stp	x16, x17, [x0, #16 * 8]
	stp	x18, x19, [x0, #16 * 9]
	stp	x20, x21, [x0, #16 * 10]
	stp	x22, x23, [x0, #16 * 11]
	stp	x24, x25, [x0, #16 * 12]
	stp	x26, x27, [x0, #16 * 13]
	stp	x28, x29, [x0, #16 * 14]
	str	x30, [x0, #16 * 15]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #16 * 0]
	mov	x1, #\kind
	b	\exit
.endm

/* Synchronous exits and IRQs first try the fast path (kernel/vm/
 * fast_exit.c), which runs C on the EL2 stack with the guest's FP/SIMD
 * state still live (C code here is built with -mgeneral-regs-only) and
 * either returns to the guest at once or hands the exit to the full path.
 * Only the registers the call may clobber (x0-x18, x30) and x29 (cleared
 * for the call, so a backtrace stops there instead of following the
 * guest's frame pointer) are saved first: x19-x28 are callee-saved, live
 * through the call (the fast path leaves exits naming them to the full
 * path), and stored only if the exit goes the full way. */
.macro light_vector kind
	.align 7
	hint	#16			/* esb */
	stp	x0, x1, [sp, #-16]!
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_CTX]
	stp	x2, x3, [x0, #16 * 1]
	stp	x4, x5, [x0, #16 * 2]
	stp	x6, x7, [x0, #16 * 3]
	stp	x8, x9, [x0, #16 * 4]
	stp	x10, x11, [x0, #16 * 5]
	stp	x12, x13, [x0, #16 * 6]
	stp	x14, x15, [x0, #16 * 7]
	stp	x16, x17, [x0, #16 * 8]
	str	x18, [x0, #16 * 9]
	stp	x29, x30, [x0, #16 * 14 + 8]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #16 * 0]
	mov	x1, #\kind
	b	light_tail
.endm


/* Synchronous exception at EL2. Before touching the stack, check that SP
 * still lies in a stack (bit STACK_SHIFT set): an overflow into the guard
 * page below would fault again on the first store, forever. The check uses
 * only SP and x0 (Linux's trick: no other register is free). */
.macro el2_sync_vector
	.align 7
	add	sp, sp, x0
	sub	x0, sp, x0		/* x0 = SP */
	tbz	x0, #STACK_SHIFT, el2_overflow
	sub	x0, sp, x0		/* x0 restored */
	sub	sp, sp, x0		/* SP restored */
	b	el2_sync_tail
.endm

/* SError at EL2. Taken in guest_exit's window (guest.S, SErrors unmasked for
 * one instruction), it is the guest's: flag the exit (x1 holds the exit
 * kind there) and return with SErrors masked again. Anywhere else it is
 * tessera's own and reported as a crash. */
.macro el2_serror_vector
	.align 7
	stp	x0, x1, [sp, #-16]!
	mrs	x0, elr_el2
	adr	x1, guest_serror_window
	cmp	x0, x1
	b.lo	1f
	adr	x1, guest_serror_window_end
	cmp	x0, x1
	b.hi	1f
	mrs	x0, spsr_el2
	orr	x0, x0, #(1 << 8)	/* PSTATE.A */
	msr	spsr_el2, x0
	ldp	x0, x1, [sp], #16
	orr	x1, x1, #0x10		/* GUEST_EXIT_SERROR */
	eret
1:	ldp	x0, x1, [sp], #16
	b	el2_serror_tail
.endm

	.text
/* Shared tails, out of line: a vector slot holds only 32 instructions. */
light_tail:
	mov	x29, xzr
	bl	vcpu_fast_exit
	mrs	x2, tpidr_el2
	ldr	x2, [x2, #PERCPU_GUEST_CTX]
	cbnz	w0, 1f
	ldp	x0, x1, [x2, #16 * 0]	/* handled: back with what was saved */
	ldp	x3, x4, [x2, #16 * 1 + 8]
	ldp	x5, x6, [x2, #16 * 2 + 8]
	ldp	x7, x8, [x2, #16 * 3 + 8]
	ldp	x9, x10, [x2, #16 * 4 + 8]
	ldp	x11, x12, [x2, #16 * 5 + 8]
	ldp	x13, x14, [x2, #16 * 6 + 8]
	ldp	x15, x16, [x2, #16 * 7 + 8]
	ldp	x17, x18, [x2, #16 * 8 + 8]
	ldp	x29, x30, [x2, #16 * 14 + 8]
	ldr	x2, [x2, #16 * 1]
	eret
1:	str	x19, [x2, #16 * 9 + 8]	/* the full way: the rest of them */
	stp	x20, x21, [x2, #16 * 10]
	stp	x22, x23, [x2, #16 * 11]
	stp	x24, x25, [x2, #16 * 12]
	stp	x26, x27, [x2, #16 * 13]
	str	x28, [x2, #16 * 14]
	mov	w1, w0			/* the exit kind */
	b	guest_exit
el2_sync_tail:
	save_frame
	mov	x1, #4
	b	unexpected_tail

/* x0 = SP at the fault, SP = that + the old x0. Switch to this CPU's
 * emergency stack; TPIDR(RO)_EL0 are scratch here, the machine is going
 * down. Without per-CPU data yet (early boot on the firmware's stack) the
 * test means nothing: take the ordinary path. */
el2_overflow:
	msr	tpidrro_el0, x0
	sub	x0, sp, x0
	msr	tpidr_el0, x0
	mrs	x0, tpidr_el2
	cbz	x0, 1f
	ldr	x0, [x0, #PERCPU_EMERG_SP]
	cbz	x0, 1f
	mov	sp, x0
	mrs	x0, tpidr_el0
	save_frame
	mrs	x1, tpidrro_el0
	str	x1, [x0, #8 * 31]	/* exc_frame.sp: where it overflowed */
	bl	el2_stack_overflow
	b	.
1:	mrs	x0, tpidrro_el0
	mov	sp, x0
	mrs	x0, tpidr_el0
	b	el2_sync_tail

unexpected_tail:
	bl	el2_sync_unexpected
	b	.
el2_serror_tail:
	save_frame
	mov	x1, #7
	b	unexpected_tail
/* An IRQ taken at EL2 interrupts tessera's own code (the idle loop, a
 * lifecycle job, an exit being handled), possibly with a guest's FP/SIMD
 * state live: nothing at EL2 uses those registers (fpsimd.c), so only the
 * general registers need keeping. x0/x1 (frame, kind) pass through. */
irq_tail:
	bl	arch_irq_entry
	restore_frame
	eret

	.align 11
	.globl	vectors
vectors:
	/* current EL with SP_EL0: tessera never runs on SP_EL0 */
	vector unexpected_tail, 0
	vector unexpected_tail, 1
	vector unexpected_tail, 2
	vector unexpected_tail, 3
	/* current EL with SP_EL2: synchronous is a hypervisor bug */
	el2_sync_vector
	vector irq_tail, 5
	vector unexpected_tail, 6
	el2_serror_vector
	/* lower EL (a guest): save its registers, return from guest_enter */
	light_vector 8
	light_vector 9
	guest_vector 10
	guest_vector 11
	guest_vector 12
	guest_vector 13
	guest_vector 14
	guest_vector 15

	.globl	vectors_install
vectors_install:
	adr	x0, vectors
	msr	vbar_el2, x0
	isb
	ret

/*
 * PSCI CPU_ON lands here at EL2 with the MMU and caches off and x0 = the
 * logical CPU id. Only PC-relative addressing until the MMU is on; the boot
 * CPU cleaned everything read here to the point of coherency.
 */
	.globl	secondary_entry
secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	adr	x1, vectors
	msr	vbar_el2, x1
	adrp	x1, mmu_params
	add	x1, x1, :lo12:mmu_params
	ldp	x2, x3, [x1]		/* ttbr0, tcr */
	ldp	x4, x5, [x1, #16]	/* mair, sctlr */
	msr	mair_el2, x4
	msr	tcr_el2, x3
	msr	ttbr0_el2, x2
	isb
	tlbi	alle2
	dsb	ish
	isb
	msr	sctlr_el2, x5
	isb
	adrp	x1, percpu_data
	add	x1, x1, :lo12:percpu_data
	mov	x2, #PERCPU_SIZE
	madd	x1, x19, x2, x1
	msr	tpidr_el2, x1
	ldr	x2, [x1, #PERCPU_STACK_HI]
	mov	sp, x2
	mov	x29, #0
	mov	x30, #0
	mov	x0, x19
	bl	arch_secondary_main
	b	.

/* void call_on_stack(uint64_t sp, void (*fn)(void *), void *arg): no return */
	.globl	call_on_stack
call_on_stack:
	mov	sp, x0
	mov	x29, #0
	mov	x30, #0
	mov	x0, x2
	blr	x1
	b	.

/* void mmu_switch(ttbr0, tcr, mair, sctlr): identity-mapped both sides */
	.globl	mmu_switch
mmu_switch:
	dsb	ish
	msr	mair_el2, x2
	msr	tcr_el2, x1
	msr	ttbr0_el2, x0
	isb
	tlbi	alle2
	dsb	ish
	isb
	msr	sctlr_el2, x3
	isb
	ret

.macro dcache_op op
	mrs	x3, ctr_el0
	ubfx	x3, x3, #16, #4
	mov	x2, #4
	lsl	x2, x2, x3		/* smallest D-cache line */
	add	x1, x0, x1
	sub	x3, x2, #1
	bic	x0, x0, x3
1:	dc	\op, x0
	add	x0, x0, x2
	cmp	x0, x1
	b.lo	1b
	dsb	sy
	ret
.endm

	.globl	dcache_clean_range
dcache_clean_range:
	dcache_op cvac
	.globl	dcache_clean_inval_range
dcache_clean_inval_range:
	dcache_op civac

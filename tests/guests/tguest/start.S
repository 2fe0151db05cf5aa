/*
 * tguest entry points, EL1 exception vectors and the few helpers that must
 * be exact instructions (HVC, the faulting load and call of the probes).
 */

#define MAX_CPUS    8
#define STACK_SHIFT 14 /* 16 KiB per vCPU */
#define FRAME_SIZE  272 /* struct exc_frame: x0-x30, elr, spsr, pad */

/*
 * SCTLR_EL1: MMU and data cache off (everything is Device memory, so no
 * cache maintenance is ever needed between vCPUs or against the loader),
 * instruction cache on, alignment checks off; RES1 bits of ARMv8.0
 * (EOS, EIS, SPAN, nTWE, nTWI, TSCXT) set.
 */
#define SCTLR_VAL   ((1 << 29) | (1 << 28) | (1 << 23) | (1 << 22) | (1 << 20) | (1 << 18) | \
		     (1 << 16) | (1 << 12) | (1 << 11))

/* Counter event stream on (CNTKCTL_EL1.EVNTEN, EVNTI = bit 8) so that WFE
 * in the wait loops wakes up by itself and timeouts are seen. */
#define CNTKCTL_VAL ((8 << 4) | (1 << 2))

/* Address of sym, PC-relative (the image runs where it is linked, but
 * this needs no literal pool). */
	.macro	adr_l, reg, sym
	adrp	\reg, \sym
	add	\reg, \reg, :lo12:\sym
	.endm

	.section .text.boot, "ax"
	.global _start
_start:
	/* x0: DTB address from the loader (may be garbage on bare QEMU). */
	msr	daifset, #0xf
	mov	x19, x0
	ldr	x1, =SCTLR_VAL
	msr	sctlr_el1, x1
	isb
	adr_l	x1, vectors
	msr	vbar_el1, x1
	msr	tpidr_el1, xzr
	ldr	x1, =CNTKCTL_VAL
	msr	cntkctl_el1, x1
	adr_l	x1, boot_stack_top
	mov	sp, x1
	/* Clear .bss (8-byte stores: it is 16-aligned and padded). */
	adr_l	x1, __bss_start
	adr_l	x2, __bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	isb
	mov	x0, x19
	bl	tguest_main
	b	halt

/* PSCI CPU_ON entry: x0 = context id = logical vCPU index. */
	.global secondary_entry
secondary_entry:
	msr	daifset, #0xf
	ldr	x1, =SCTLR_VAL
	msr	sctlr_el1, x1
	isb
	cmp	x0, #MAX_CPUS
	b.hs	halt
	adr_l	x1, vectors
	msr	vbar_el1, x1
	msr	tpidr_el1, x0
	ldr	x1, =CNTKCTL_VAL
	msr	cntkctl_el1, x1
	adr_l	x1, cpu_stacks
	add	x2, x0, #1
	add	x1, x1, x2, lsl #STACK_SHIFT
	mov	sp, x1
	isb
	bl	secondary_main
halt:
	wfi
	b	halt

/* int64_t hvc_call(fid, a1, a2, a3): SMCCC 1.1 call through the HVC conduit. */
	.text
	.global hvc_call
hvc_call:
	hvc	#0
	ret

/* uint32_t probe_load32(addr): one plain LDR, so a fault handler can skip
 * exactly this instruction (ELR += 4). */
	.global probe_load32
probe_load32:
	ldr	w0, [x0]
	ret

/* void probe_call(addr): BLR to addr; a faulting fetch returns here via LR. */
	.global probe_call
probe_call:
	stp	x29, x30, [sp, #-16]!
	mov	x29, sp
	blr	x0
	ldp	x29, x30, [sp], #16
	ret

/* void probe_store64(addr, v): one plain STR (a probe skips it, ELR += 4). */
	.global probe_store64
probe_store64:
	str	x1, [x0]
	ret

/* uint32_t el1t_load32(addr): one LDR at EL1 on SP_EL0 (EL1t), whose fault
 * takes the "current EL with SP0" vector; back on SP_EL1 afterwards. */
	.global el1t_load32
el1t_load32:
	mov	x1, sp
	msr	sp_el0, x1
	msr	spsel, #0
	ldr	w0, [x0]
	msr	spsel, #1
	ret

/* void el0_run(fn, arg): runs fn(arg) at EL0t (DAIF masked, no stack) until
 * it takes an exception to EL1; the handler (exc.c) resumes at el0_back
 * with el0_spsr, i.e. in EL1h with the caller's DAIF. */
	.global el0_run
el0_run:
	stp	x29, x30, [sp, #-16]!
	mrs	x2, daif
	orr	x2, x2, #4		/* EL1h: M = 0b0101 */
	orr	x2, x2, #1
	adr_l	x3, el0_spsr
	str	x2, [x3]
	msr	elr_el1, x0
	mov	x2, #0x3c0		/* EL0t, D A I F masked */
	msr	spsr_el1, x2
	msr	sp_el0, xzr
	mov	x0, x1
	isb
	eret
	.global el0_back
el0_back:
	ldp	x29, x30, [sp], #16
	ret

/* EL0 code for el0_run: a load from x0, then an SVC to come back if the
 * load did not fault. */
	.global el0_load32
el0_load32:
	ldr	w1, [x0]
	svc	#0

/* Targets for the debug tests: a breakpoint and a software step. */
	.global bkpt_target
bkpt_target:
	nop
	ret
	.global ss_target
ss_target:
	nop
	nop
	ret
/* A load from x1 (an emulated device register) to step over. */
	.global ss_mmio
ss_mmio:
	ldr	w3, [x1]
	nop
	ret

/* void ss_step(target, arg): enters target (x1 = arg) in EL1h with PSTATE.SS
 * set and debug exceptions unmasked, so it runs one instruction and takes a
 * software step exception; the probe handler returns to the caller (LR). */
	.global ss_step
ss_step:
	msr	elr_el1, x0
	mrs	x2, daif
	bic	x2, x2, #(1 << 9)	/* D clear */
	orr	x2, x2, #4		/* EL1h: M = 0b0101 */
	orr	x2, x2, #1
	orr	x2, x2, #(1 << 21)	/* SS */
	msr	spsr_el1, x2
	isb
	eret

/*
 * Vectors: each entry saves x0/x1 and passes its number (0-15: current EL
 * SP0, current EL SPx, lower EL AArch64, lower EL AArch32; each sync, IRQ,
 * FIQ, SError) to exc_common.
 */
	.macro	ventry, kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x1, #\kind
	b	exc_common
	.endm

	.balign	2048
vectors:
	.irp	k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	ventry	\k
	.endr

exc_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x2, elr_el1
	mrs	x3, spsr_el1
	stp	x30, x2, [sp, #240]
	str	x3, [sp, #256]
	mov	x0, sp
	bl	exc_entry
	/* The handler may have changed elr (probes) in the frame. */
	ldr	x3, [sp, #256]
	ldp	x30, x2, [sp, #240]
	msr	elr_el1, x2
	msr	spsr_el1, x3
	ldp	x28, x29, [sp, #224]
	ldp	x26, x27, [sp, #208]
	ldp	x24, x25, [sp, #192]
	ldp	x22, x23, [sp, #176]
	ldp	x20, x21, [sp, #160]
	ldp	x18, x19, [sp, #144]
	ldp	x16, x17, [sp, #128]
	ldp	x14, x15, [sp, #112]
	ldp	x12, x13, [sp, #96]
	ldp	x10, x11, [sp, #80]
	ldp	x8, x9, [sp, #64]
	ldp	x6, x7, [sp, #48]
	ldp	x4, x5, [sp, #32]
	ldp	x2, x3, [sp, #16]
	ldp	x0, x1, [sp, #0]
	add	sp, sp, #FRAME_SIZE
	eret

	.data
	.balign	8
	.global	el0_spsr
el0_spsr:
	.quad	0

	.bss
	.balign	16
boot_stack:
	.skip	1 << STACK_SHIFT
boot_stack_top:
	.global	cpu_stacks
cpu_stacks:
	.skip	MAX_CPUS << STACK_SHIFT

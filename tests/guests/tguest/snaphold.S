/*
 * snap_hold(pat, until, out): holds pat[0..20] in x9-x29 while spinning on
 * CNTVCT until `until` (no exit of its own: a polling guest), then stores
 * what those registers hold into out[0..20], the longest step of the
 * counter between two reads into out[21] (a frozen clock keeps it small
 * across a pause) and the change of SP into out[22]. A hypervisor that
 * loses or clobbers a register across a pause or a restore shows in out.
 */
	.text
	.global snap_hold
snap_hold:
	stp	x19, x20, [sp, #-96]!
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	ldp	x9, x10, [x0, #0]
	ldp	x11, x12, [x0, #16]
	ldp	x13, x14, [x0, #32]
	ldp	x15, x16, [x0, #48]
	ldp	x17, x18, [x0, #64]
	ldp	x19, x20, [x0, #80]
	ldp	x21, x22, [x0, #96]
	ldp	x23, x24, [x0, #112]
	ldp	x25, x26, [x0, #128]
	ldp	x27, x28, [x0, #144]
	ldr	x29, [x0, #160]
	mov	x7, sp
	isb
	mrs	x5, cntvct_el0
	mov	x6, #0
1:	mrs	x3, cntvct_el0
	sub	x4, x3, x5
	cmp	x4, x6
	csel	x6, x4, x6, hi
	mov	x5, x3
	eor	x8, x8, x3
	cmp	x3, x1
	b.lo	1b
	stp	x9, x10, [x2, #0]
	stp	x11, x12, [x2, #16]
	stp	x13, x14, [x2, #32]
	stp	x15, x16, [x2, #48]
	stp	x17, x18, [x2, #64]
	stp	x19, x20, [x2, #80]
	stp	x21, x22, [x2, #96]
	stp	x23, x24, [x2, #112]
	stp	x25, x26, [x2, #128]
	stp	x27, x28, [x2, #144]
	mov	x4, sp
	sub	x4, x4, x7
	stp	x29, x6, [x2, #160]
	str	x4, [x2, #176]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	x19, x20, [sp], #96
	ret

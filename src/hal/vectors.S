/*
 * EL1 exception vectors. Every entry saves the whole interrupted context as
 * a struct trap_frame (src/hal/trap.h) on the current stack, calls C, and
 * restores from the same place. Because the frame lives on the interrupted
 * thread's own stack, the scheduler may switch threads from the IRQ exit hook
 * (sched_irq_exit, include/levblk/hal/trap_hooks.h): the frame waits on that stack until the thread is
 * switched back in and returns through here.
 */
#include "trap_offsets.h"

.macro SAVE_FRAME
	sub	sp, sp, #TF_SIZE
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
	mrs	x9, elr_el1
	stp	x30, x9, [sp, #16 * 15]
	mrs	x10, spsr_el1
	add	x11, sp, #TF_SIZE
	stp	x10, x11, [sp, #16 * 16]
.endm

.macro RESTORE_FRAME
	ldp	x10, x11, [sp, #16 * 16]
	msr	spsr_el1, x10
	ldp	x30, x9, [sp, #16 * 15]
	msr	elr_el1, x9
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
	add	sp, sp, #TF_SIZE
.endm

.macro VECTOR handler, kind
	.balign 0x80
	SAVE_FRAME
	mov	x0, sp
	mov	x1, #\kind
	bl	\handler
	b	exception_return
.endm

	.section .vectors, "ax"
	.balign 2048
	.globl exception_vectors
exception_vectors:
	/* Current EL with SP_EL0: never used (we always run on SP_EL1). */
	VECTOR trap_bad, 0
	VECTOR trap_bad, 1
	VECTOR trap_bad, 2
	VECTOR trap_bad, 3
	/* Current EL with SP_ELx: the kernel itself. */
	VECTOR trap_sync, 4
	VECTOR trap_irq, 5
	VECTOR trap_fiq, 6
	VECTOR trap_serror, 7
	/* Lower EL, AArch64 and AArch32: there is no lower EL in levblk. */
	VECTOR trap_bad, 8
	VECTOR trap_bad, 9
	VECTOR trap_bad, 10
	VECTOR trap_bad, 11
	VECTOR trap_bad, 12
	VECTOR trap_bad, 13
	VECTOR trap_bad, 14
	VECTOR trap_bad, 15

	.text
	.globl exception_return
exception_return:
	RESTORE_FRAME
	eret

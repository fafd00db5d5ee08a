/*
 * void ctx_switch(struct cpu_context *from, const struct cpu_context *to)
 *
 * Called with IRQs masked. Stores the callee-saved registers, lr and sp of
 * the caller in *from, loads those of *to and returns into whatever called
 * ctx_switch on that side (or into a new thread's entry, see sched.c).
 */
#include "switch.h"

	.text
	.globl ctx_switch
	.type ctx_switch, %function
ctx_switch:
	stp	x19, x20, [x0, #CTX_X19 + 0]
	stp	x21, x22, [x0, #CTX_X19 + 16]
	stp	x23, x24, [x0, #CTX_X19 + 32]
	stp	x25, x26, [x0, #CTX_X19 + 48]
	stp	x27, x28, [x0, #CTX_X19 + 64]
	stp	x29, x30, [x0, #CTX_X29]
	mov	x9, sp
	str	x9, [x0, #CTX_SP]

	ldp	x19, x20, [x1, #CTX_X19 + 0]
	ldp	x21, x22, [x1, #CTX_X19 + 16]
	ldp	x23, x24, [x1, #CTX_X19 + 32]
	ldp	x25, x26, [x1, #CTX_X19 + 48]
	ldp	x27, x28, [x1, #CTX_X19 + 64]
	ldp	x29, x30, [x1, #CTX_X29]
	ldr	x9, [x1, #CTX_SP]
	mov	sp, x9
	ret
	.size ctx_switch, . - ctx_switch

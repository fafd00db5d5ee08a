/*
 * Saved context of a thread that is not running, as switch.S lays it out:
 * the AAPCS64 callee-saved registers x19..x28, the frame pointer x29, the
 * return address x30 and sp. Caller-saved registers need no saving: the
 * switch is an ordinary function call for the compiler. No FP/SIMD state:
 * the kernel is integer-only (-mgeneral-regs-only, CPACR_EL1.FPEN = 0).
 */
#ifndef LEVBLK_KERN_SWITCH_H
#define LEVBLK_KERN_SWITCH_H

#define CTX_X19	 0
#define CTX_X29	 80
#define CTX_SP	 96
#define CTX_SIZE 104

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct cpu_context {
	uint64_t x19_x28[10];
	uint64_t x29, x30;
	uint64_t sp;
};

_Static_assert(offsetof(struct cpu_context, x29) == CTX_X29, "switch.S layout");
_Static_assert(offsetof(struct cpu_context, sp) == CTX_SP, "switch.S layout");
_Static_assert(sizeof(struct cpu_context) == CTX_SIZE, "switch.S layout");

/* Saves the caller's context in *from and resumes *to. IRQs must be masked. */
void ctx_switch(struct cpu_context *from, const struct cpu_context *to);
#endif

#endif

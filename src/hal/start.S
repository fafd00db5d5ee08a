/*
 * Entry from QEMU's ELF loader: CPU 0 only, MMU and caches off, DAIF masked,
 * at EL1 (default virt) or EL2 (virt,virtualization=on). x0 holds nothing
 * useful: the device tree is found at the start of RAM instead.
 *
 * Order: exception vectors first (VBAR_EL1 resets to 0, i.e. into flash,
 * where any early fault would loop silently), then the stack, then BSS, then C.
 */
#include "sysregs.h"
#include "cpu_start.h"

.macro EL2_TO_EL1_SETUP
	/* EL1 runs AArch64; EL1 may use both counters and timers. */
	mov	x9, #HCR_EL2_RW
	msr	hcr_el2, x9
	mov	x9, #(CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN)
	msr	cnthctl_el2, x9
	msr	cntvoff_el2, xzr
	/* No traps of EL1 FP/SIMD to EL2 (our own FP policy is decided at EL1). */
	mov	x9, #CPTR_EL2_RES1
	msr	cptr_el2, x9
	/* Stage 2 off, EL1 sees its own MIDR/MPIDR. */
	mrs	x9, midr_el1
	msr	vpidr_el2, x9
	mrs	x9, mpidr_el1
	msr	vmpidr_el2, x9
	/*
	 * GICv3 (ID_AA64PFR0_EL1.GIC != 0): EL1 reaches the CPU interface through
	 * ICC_*_EL1 only if ICC_SRE_EL2 has SRE and Enable; otherwise its accesses
	 * trap to EL2 (QEMU happens to reset them set; hardware need not).
	 */
	mrs	x9, id_aa64pfr0_el1
	ubfx	x9, x9, #ID_AA64PFR0_GIC_SHIFT, #4
	cbz	x9, 55f
	mrs	x9, icc_sre_el2
	orr	x9, x9, #ICC_SRE_EL2_SRE
	orr	x9, x9, #ICC_SRE_EL2_ENABLE
	msr	icc_sre_el2, x9
	isb
55:
	ldr	x9, =SCTLR_EL1_RESET
	msr	sctlr_el1, x9
	mov	x9, #SPSR_EL1H_DAIF_MASKED
	msr	spsr_el2, x9
.endm

	.section .text.boot, "ax"
	.globl _start
_start:
	mrs	x9, CurrentEL
	lsr	x9, x9, #2
	cmp	x9, #2
	b.eq	from_el2
	cmp	x9, #1
	b.eq	at_el1
	/* EL3 (virt,secure=on) is not supported: park the CPU. */
1:	wfe
	b	1b

from_el2:
	EL2_TO_EL1_SETUP
	adr	x9, at_el1
	msr	elr_el2, x9
	mov	x9, #1
	adrp	x10, hal_booted_at_el2
	str	w9, [x10, :lo12:hal_booted_at_el2]
	eret

at_el1:
	/* The boot CPU is logical CPU 0 (levblk/hal/percpu.h): TPIDR_EL1 has no defined reset value. */
	msr	tpidr_el1, xzr
	/* No thread runs yet (the scheduler keeps the current thread in TPIDRRO_EL0). */
	msr	tpidrro_el0, xzr
	adrp	x9, exception_vectors
	add	x9, x9, :lo12:exception_vectors
	msr	vbar_el1, x9
	isb
	adrp	x9, __boot_stack_top
	add	x9, x9, :lo12:__boot_stack_top
	mov	sp, x9
	/* Zero BSS (16-byte aligned at both ends, see link.ld). */
	adrp	x9, __bss_start
	add	x9, x9, :lo12:__bss_start
	adrp	x10, __bss_end
	add	x10, x10, :lo12:__bss_end
2:	cmp	x9, x10
	b.hs	3f
	stp	xzr, xzr, [x9], #16
	b	2b
3:	mov	x29, xzr
	mov	x30, xzr
	bl	kmain
4:	wfe
	b	4b

/*
 * Every other CPU, started by PSCI CPU_ON (cpu_start.c) with x0 = its
 * logical number, MMU off, DAIF masked, at EL2 or EL1 like the boot CPU.
 * It gets the same EL1 set-up, its number in TPIDR_EL1, its own stack
 * (hal_cpu_stacks), then C: hal_secondary_main turns the MMU on.
 */
	.globl hal_secondary_entry
hal_secondary_entry:
	mov	x19, x0
	mrs	x9, CurrentEL
	lsr	x9, x9, #2
	cmp	x9, #2
	b.ne	6f
	EL2_TO_EL1_SETUP
	adr	x9, 6f
	msr	elr_el2, x9
	eret
6:	adrp	x9, exception_vectors
	add	x9, x9, :lo12:exception_vectors
	msr	vbar_el1, x9
	msr	tpidr_el1, x19
	msr	tpidrro_el0, xzr
	isb
	/* sp = hal_cpu_stacks + (cpu + 1) * HAL_CPU_STACK_SIZE */
	adrp	x9, hal_cpu_stacks
	add	x9, x9, :lo12:hal_cpu_stacks
	add	x10, x19, #1
	mov	x11, #HAL_CPU_STACK_SIZE
	madd	x9, x10, x11, x9
	mov	sp, x9
	mov	x29, xzr
	mov	x30, xzr
	mov	x0, x19
	bl	hal_secondary_main
7:	wfe
	b	7b

	/* Written before BSS is zeroed, so it lives in .data. */
	.section .data
	.globl hal_booted_at_el2
	.balign 4
hal_booted_at_el2:
	.word 0

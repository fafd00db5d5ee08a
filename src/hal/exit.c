/*
 * Leaving QEMU: semihosting SYS_EXIT with an exit code (docs/qemu-virt.md,
 * "Leaving QEMU"), or PSCI SYSTEM_OFF when semihosting is not enabled (the HLT
 * then traps as UNDEFINED; trap.c recognises it and comes back here).
 */
#include <stdint.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include "semihost.h"

#define SEMIHOST_SYS_EXIT             0x18
#define SEMIHOST_ADP_APPLICATION_EXIT 0x20026
#define PSCI_SYSTEM_OFF               0x84000008u

extern uint32_t hal_booted_at_el2;
volatile int hal_semihost_missing;

/* Returns only when semihosting is off (the trap handler skips the HLT). */
static void semihost_exit(int status)
{
	uint64_t block[2] = {SEMIHOST_ADP_APPLICATION_EXIT, (uint64_t)(unsigned int)status};
	register uint64_t x0 __asm__("x0") = SEMIHOST_SYS_EXIT;
	register uint64_t x1 __asm__("x1") = (uint64_t)block;

	__asm__ volatile(".globl semihost_hlt_insn\nsemihost_hlt_insn:\n\thlt #0xf000"
			 : "+r"(x0)
			 : "r"(x1)
			 : "memory");
}

static void psci_off(void)
{
	register uint64_t x0 __asm__("x0") = PSCI_SYSTEM_OFF;
	int smc = dt_info()->psci_smc;

	/* Booted at EL2, QEMU's PSCI answers SMC; at EL1 it answers HVC. */
	if (smc < 0)
		smc = hal_booted_at_el2 != 0;
	if (smc)
		__asm__ volatile("smc #0" : "+r"(x0) : : "memory");
	else
		__asm__ volatile("hvc #0" : "+r"(x0) : : "memory");
}

_Noreturn void hal_exit(int status)
{
	irq_save();
	if (!hal_semihost_missing)
		semihost_exit(status);
	psci_off();
	for (;;)
		__asm__ volatile("wfi");
}

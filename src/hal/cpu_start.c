/*
 * Starting the other CPUs (levblk/hal/percpu.h): PSCI CPU_ON through the
 * conduit the device tree's /psci node names (hvc, or smc when booted at
 * EL2), entering hal_secondary_entry (start.S) with the logical number as
 * the context argument.
 */
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/mem.h>
#include <levblk/hal/percpu.h>
#include "cpu_start.h"
#include "mem_private.h"

#define PSCI_CPU_ON_64		0xc4000003u
#define PSCI_SUCCESS		0
#define PSCI_INVALID_PARAMETERS -2
#define PSCI_DENIED		-3
#define PSCI_ALREADY_ON		-4
#define PSCI_ON_PENDING		-5
#define MPIDR_AFF_MASK		0xff00ffffffull /* Aff3 [39:32], Aff2..Aff0 [23:0] */

extern uint32_t hal_booted_at_el2;
extern char hal_secondary_entry[];

/* Index 0 is unused (the boot CPU has its own boot stack); start.S computes (cpu + 1) * size. */
uint8_t hal_cpu_stacks[CPU_MAX][HAL_CPU_STACK_SIZE] __attribute__((aligned(16)));

/*
 * What each CPU runs once its MMU is on. Written by the boot CPU before
 * CPU_ON and read by the new CPU only after it has turned its MMU and
 * caches on (so through the same coherent, cacheable view): the PSCI call
 * is a full barrier for the boot CPU's earlier stores (an exception to the
 * hypervisor/firmware, which starts the CPU only after it).
 */
static void (*secondary_fn[CPU_MAX])(void);

static int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	int smc = dt_info()->psci_smc;

	/* Booted at EL2, QEMU's PSCI answers SMC; at EL1 it answers HVC (docs/qemu-virt.md). */
	if (smc < 0)
		smc = hal_booted_at_el2 != 0;
	if (smc)
		__asm__ volatile("smc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
	else
		__asm__ volatile("hvc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
	return (int64_t)x0;
}

int cpu_start(unsigned int cpu, uint64_t mpidr, void (*fn)(void))
{
	if (cpu == 0 || cpu >= CPU_MAX || !fn)
		return -EINVAL;
	if (dt_info()->psci_smc < 0 && !hal_booted_at_el2)
		return -ENODEV; /* no PSCI node: nobody to ask */
	secondary_fn[cpu] = fn;
	int64_t r = psci_call(PSCI_CPU_ON_64, mpidr, (uint64_t)(uintptr_t)hal_secondary_entry, cpu);

	switch (r) {
	case PSCI_SUCCESS:
		return 0;
	case PSCI_INVALID_PARAMETERS:
		return -EINVAL;
	case PSCI_ALREADY_ON:
	case PSCI_ON_PENDING:
		return -EBUSY;
	case PSCI_DENIED:
		return -EPERM;
	default:
		return -EIO;
	}
}

uint64_t cpu_read_mpidr(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(v));
	return v & MPIDR_AFF_MASK;
}

/* From start.S on the new CPU: MMU off, IRQs masked, on its own stack. */
_Noreturn void hal_secondary_main(unsigned int cpu);
_Noreturn void hal_secondary_main(unsigned int cpu)
{
	hal_mmu_enable_secondary();
	secondary_fn[cpu]();
	panic("CPU %u: its start function returned", cpu);
}

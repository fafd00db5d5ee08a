/*
 * Which CPU is running, and how many are online.
 *
 * cpu_id() is this CPU's logical number, 0 .. CPU_MAX-1: 0 for the boot CPU,
 * then 1, 2, ... in the order the device tree's `cpus` node lists the others
 * that came up. It lives in TPIDR_EL1 (set once per CPU before its first C
 * code, never changed), so reading it costs one system-register read and
 * needs no lock. Per-CPU data is an array indexed by it.
 *
 * A thread can move between CPUs whenever it can be preempted: a cpu_id()
 * read with IRQs enabled may be stale by the time it is used. That is fine
 * for choosing a per-CPU structure that is itself locked (e.g. a submission
 * queue), not for anything that must stay on one CPU; mask IRQs (or pin the
 * thread) for that.
 *
 * cpu_count() is the number of CPUs online: 1 until the others are brought
 * up, then fixed. Logical numbers 0 .. cpu_count()-1 are the online CPUs.
 */
#ifndef LEVBLK_HAL_PERCPU_H
#define LEVBLK_HAL_PERCPU_H

#define CPU_MAX 8u /* QEMU virt's GICv2 serves 8 CPUs; the kernel's tables are sized on it */

#include <stdbool.h>

/* True while this CPU runs an interrupt handler (src/hal/trap.c counts them per CPU). */
bool cpu_in_irq(void);

#ifdef LEVBLK_HOST
/* The host HAL lets a test choose both (test/hal_host/hal_host.h). */
unsigned int cpu_id(void);
unsigned int cpu_count(void);
#else
#include <stdint.h>

static inline unsigned int cpu_id(void)
{
	uint64_t id;

	/*
	 * volatile: the value is fixed per CPU, but a thread may move to another
	 * CPU between two calls, so the compiler must not reuse an earlier read.
	 */
	__asm__ volatile("mrs %0, tpidr_el1" : "=r"(id));
	return (unsigned int)id;
}

/* CPUs online (src/hal/percpu.c). */
unsigned int cpu_count(void);

/*
 * Bring-up, for the scheduler (src/kern): starts the CPU whose MPIDR
 * affinity is `mpidr` as logical CPU `cpu` (1 .. CPU_MAX-1) with PSCI
 * CPU_ON. It runs fn() on its own stack with its MMU and caches on and IRQs
 * masked; fn never returns. 0 once PSCI accepted it (whether it arrives is
 * for the caller to see), -EINVAL, -EBUSY (already on), -EPERM, -ENODEV (no
 * PSCI), -EIO.
 */
int cpu_start(unsigned int cpu, uint64_t mpidr, void (*fn)(void));
/* This CPU's MPIDR_EL1 affinity fields (Aff3..Aff0), as the device tree's cpu reg gives them. */
uint64_t cpu_read_mpidr(void);
/* Boot CPU only: CPUs 0 .. n-1 are ready to run threads (release: their set-up is visible). */
void cpu_set_online(unsigned int n);
#endif

#endif

/*
 * The scheduler's hooks for the boot code and the interrupt path, and its
 * accounting. Threads themselves are in levblk/kern/thread.h.
 */
#ifndef LEVBLK_KERN_SCHED_H
#define LEVBLK_KERN_SCHED_H

#include <stdint.h>

#define SCHED_SLICE_NS (10ull * 1000 * 1000) /* round-robin time slice: 10 ms */

/*
 * Called once by kmain on the boot stack with IRQs masked, after the
 * interrupt controller is up: starts the timer tick and the idle thread,
 * brings up the other CPUs (each with its own idle thread and tick; prints
 * "smp: N CPUs online"), then runs fn in a new thread ("main") with IRQs
 * enabled. Never returns; the boot stack is abandoned.
 */
_Noreturn void sched_start(void (*fn)(void));

/* Total time the idle threads of all CPUs have spent in WFI since boot, in ns (for cpu_util). */
uint64_t sched_idle_ns(void);
/* The same for one CPU. */
uint64_t sched_cpu_idle_ns(unsigned int cpu);
/* Reschedule SGIs sent to wake or preempt another CPU (diagnostics). */
uint64_t sched_kick_count(void);
/* Times the idle threads spun instead of WFI (sched_idle_poll_until; diagnostics), all CPUs / one. */
uint64_t sched_idle_polls(void);
uint64_t sched_cpu_idle_polls(unsigned int cpu);
/* The latest sched_idle_poll_until() deadline of any CPU (clock_ns; 0 if none was ever given). */
uint64_t sched_idle_poll_deadline(void);
/* Thread switches since boot (diagnostics). */
uint64_t sched_switch_count(void);
/*
 * The scheduler lock's acquisitions and waiting-loop turns since boot
 * (contention between CPUs: wake-ups, blocks, idle passes). Any context.
 */
void sched_lock_stats(uint64_t *acquired, uint64_t *spins);

#endif

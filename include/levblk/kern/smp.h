/*
 * Several CPUs: running a function on a chosen one. Which CPU runs and how
 * many are online: levblk/hal/percpu.h; pinning threads: levblk/thread.h.
 */
#ifndef LEVBLK_KERN_SMP_H
#define LEVBLK_KERN_SMP_H

#include <stdint.h>

/*
 * Runs fn(arg) on CPU `cpu` in interrupt context (the call SGI) and waits
 * until it has returned. fn must not sleep. Thread context, IRQs enabled
 * (it sleeps). 0 or -EINVAL (no such CPU online).
 */
int smp_call_on(unsigned int cpu, void (*fn)(void *arg), void *arg);
/* Calls CPU `cpu` has run (diagnostics, tests). */
uint64_t smp_calls_taken(unsigned int cpu);

#endif

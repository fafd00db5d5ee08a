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
/*
 * Work another CPU hands over without waiting: smp_kick_work(cpu) makes CPU
 * `cpu` run the function set with smp_set_work() in interrupt context (the
 * work SGI), soon; kicks may merge, so the function drains whatever was
 * handed to it. Set once at init (thread context); kick from any context.
 */
void smp_set_work(void (*fn)(void));
void smp_kick_work(unsigned int cpu);

#endif

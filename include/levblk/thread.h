/*
 * Kernel threads: preemptive round-robin on a timer tick, on every CPU
 * (levblk/hal/percpu.h). A thread runs with IRQs enabled unless it masks
 * them itself; it may be preempted at any point where IRQs are enabled, and
 * then continue on another CPU unless it is pinned.
 *
 * Context rules: thread_create/thread_join/thread_sleep_ns/thread_yield are
 * for thread context only (never from an interrupt handler or with a
 * spinlock held). Before the scheduler starts (EARLY and IRQ initcalls, on
 * the boot stack) thread_sleep_ns busy-waits, thread_yield does nothing and
 * anything that would block panics.
 */
#ifndef LEVBLK_THREAD_H
#define LEVBLK_THREAD_H

#include <stdint.h>

struct thread;

#define THREAD_STACK_SIZE (16 * 1024)

/* Starts fn(arg) in a new thread, on any CPU. Returns NULL when out of thread slots. */
struct thread *thread_create(const char *name, void (*fn)(void *arg), void *arg);
/*
 * The same, pinned to CPU `cpu` (0 .. cpu_count()-1) from its first
 * instruction; cpu < 0: any CPU. NULL also for a CPU that is not online.
 */
struct thread *thread_create_on(const char *name, void (*fn)(void *arg), void *arg, int cpu);
/*
 * Pins t to CPU `cpu` (< 0: unpins). A thread pinning itself elsewhere moves
 * there before this returns. 0 or -EINVAL (CPU not online).
 */
int thread_pin(struct thread *t, int cpu);
/* The CPU t runs on now, or last ran on. */
int thread_cpu(const struct thread *t);
/* Waits until t has returned from its function, then frees it. */
void thread_join(struct thread *t);
void thread_yield(void);
void thread_sleep_ns(uint64_t ns);
struct thread *thread_current(void);
const char *thread_name(const struct thread *t);

#endif

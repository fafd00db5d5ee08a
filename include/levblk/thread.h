/*
 * Kernel threads: preemptive round-robin on a timer tick, one CPU.
 * A thread runs with IRQs enabled unless it masks them itself; it may be
 * preempted at any point where IRQs are enabled.
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

/* Starts fn(arg) in a new thread. Returns NULL when out of thread slots. */
struct thread *thread_create(const char *name, void (*fn)(void *arg), void *arg);
/* Waits until t has returned from its function, then frees it. */
void thread_join(struct thread *t);
void thread_yield(void);
void thread_sleep_ns(uint64_t ns);
struct thread *thread_current(void);
const char *thread_name(const struct thread *t);

#endif

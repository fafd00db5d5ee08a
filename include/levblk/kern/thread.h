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
#ifndef LEVBLK_KERN_THREAD_H
#define LEVBLK_KERN_THREAD_H

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

/*
 * A thread's plug: the block layer parks the current thread's batch of held
 * bios here (struct blk_plug, levblk/bio.h), opaque to the scheduler, like
 * Linux's current->plug. The scheduler calls hook(plug, why) with IRQs
 * masked, possibly in interrupt context, so the hook must not sleep:
 *   THREAD_PLUG_SWITCH  the thread is about to stop running (it blocks,
 *                       sleeps, yields or is preempted); also when a wake-up
 *                       makes it keep the CPU after all;
 *   THREAD_PLUG_TICK    a scheduler tick (every SCHED_SLICE_NS) interrupted it.
 * A wake-up of the thread from inside the hook (an end_io it caused) is not
 * lost: the hook runs before the thread is taken off the CPU.
 * thread_set_plug(NULL, NULL) clears it. Thread context only.
 */
enum thread_plug_event {
	THREAD_PLUG_SWITCH,
	THREAD_PLUG_TICK,
};
typedef void thread_plug_hook_fn(void *plug, enum thread_plug_event why);
void thread_set_plug(void *plug, thread_plug_hook_fn *hook);
/* The current thread's plug, NULL if none (or before the scheduler started). */
void *thread_plug(void);

/*
 * A hint that an interrupt is due soon: until deadline_ns (clock_ns time),
 * the idle thread spins on the CPU's pending-interrupt flag instead of
 * sleeping in WFI. Under emulation a halted vCPU is woken through the host
 * scheduler, which costs more than a short completion takes; a spinning one
 * takes the interrupt at once. The interrupt is still taken, so nothing
 * changes for the code it runs. Hints only extend: a later deadline wins.
 * Any context, IRQs masked or not (one CPU: a plain store).
 */
void sched_idle_poll_until(uint64_t deadline_ns);

#endif

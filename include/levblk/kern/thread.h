/*
 * What the layers themselves add to kernel threads (levblk/thread.h): the
 * block layer's per-thread plug and the drivers' idle-polling hint. Code on
 * top of levblk does not need these.
 */
#ifndef LEVBLK_KERN_THREAD_H
#define LEVBLK_KERN_THREAD_H

#include <stdint.h>
#include <levblk/thread.h>

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
 * The hint is for the calling CPU's idle thread only (a spinning vCPU takes
 * a host CPU from the others). Any context, IRQs masked or not.
 */
void sched_idle_poll_until(uint64_t deadline_ns);

#endif

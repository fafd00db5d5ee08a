/*
 * Plugging: a thread's bios are held on its plug and handed to the queue
 * together (blk_submit_list), so adjacent bios merge before any is
 * dispatched and each device is kicked once per batch.
 *
 * The plug hangs off the thread (thread_set_plug), and the scheduler calls
 * plug_sched_hook with it when the thread stops running and at each tick;
 * the bound this gives is spelled out in levblk/bio.h. No per-plug timer:
 * under QEMU reprogramming the virtual timer for every batch (arm, then
 * cancel) cost more than the batch's I/O.
 *
 * The list is shared with the hook, which runs in interrupt context (the
 * tick, a preemption), so it is only touched with IRQs masked (one CPU:
 * that excludes the hook).
 */
#include <levblk/bio.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/kern/thread.h>
#include "blk_queue.h"

/* Non-empty plug lists handed to the queue, by cause; atomic (threads on every CPU flush). */
static uint64_t plug_flushes;
static uint64_t plug_timeouts;

/* IRQs masked. Takes every held bio off the plug. */
static struct bio *plug_take_locked(struct blk_plug *plug, bool by_time)
{
	struct bio *head = plug->head;

	plug->head = plug->tail = NULL;
	plug->count = 0;
	/* Plugs of threads on several CPUs flush at once: atomic, or counts get lost. */
	if (head)
		__atomic_fetch_add(&plug_flushes, 1, __ATOMIC_RELAXED);
	if (head && by_time)
		__atomic_fetch_add(&plug_timeouts, 1, __ATOMIC_RELAXED);
	return head;
}

/* The scheduler's hook (levblk/kern/thread.h): IRQs masked, maybe interrupt context. */
static void plug_sched_hook(void *arg, enum thread_plug_event why)
{
	struct blk_plug *plug = arg;

	if (!plug->head)
		return;
	/* A tick flushes only an old plug; a switch flushes any (no clock read). */
	if (why == THREAD_PLUG_TICK && clock_ns() - plug->first_ns < BLK_PLUG_TIMEOUT_NS)
		return;
	struct bio *head = plug_take_locked(plug, why == THREAD_PLUG_TICK);
	blk_submit_list(head);
}

void blk_start_plug(struct blk_plug *plug)
{
	plug->head = plug->tail = NULL;
	plug->count = 0;
	plug->first_ns = 0;
	plug->active = false;
	if (thread_plug())
		return; /* nested: the outer plug does the work */
	thread_set_plug(plug, plug_sched_hook);
	/* Before the scheduler starts there is no thread: the plug stays inactive. */
	plug->active = thread_plug() == plug;
}

bool blk_plug_add(struct bio *bio)
{
	/*
	 * With IRQs masked we may be in an interrupt handler (an end_io that
	 * resubmits), where "the current thread" is whoever was interrupted:
	 * its plug is not ours to fill.
	 */
	if (irqs_disabled())
		return false;
	struct blk_plug *plug = thread_plug();

	if (!plug)
		return false;
	irqflags_t f = irq_save();
	bio_fifo_push(&plug->head, &plug->tail, bio);
	/*
	 * The age check reads the clock, which under QEMU's TCG takes the
	 * emulator's global lock: done for the first bio and then every
	 * BLK_PLUG_CLOCK_EVERY bios, not for each (the bound in levblk/bio.h).
	 */
	bool by_time = false;
	if (plug->count == 0)
		plug->first_ns = clock_ns();
	else if (plug->count % BLK_PLUG_CLOCK_EVERY == 0)
		by_time = clock_ns() - plug->first_ns >= BLK_PLUG_TIMEOUT_NS;
	plug->count++;
	struct bio *head = NULL;
	if (by_time || plug->count >= BLK_PLUG_MAX_BIOS)
		head = plug_take_locked(plug, by_time);
	irq_restore(f);
	if (head)
		blk_submit_list(head);
	return true;
}

void blk_plug_flush_current(void)
{
	struct blk_plug *plug = thread_plug();

	if (!plug)
		return;
	irqflags_t f = irq_save();
	struct bio *head = plug_take_locked(plug, false);
	irq_restore(f);
	if (head)
		blk_submit_list(head);
}

void blk_finish_plug(struct blk_plug *plug)
{
	if (!plug->active)
		return;
	blk_plug_flush_current();
	thread_set_plug(NULL, NULL);
	plug->active = false;
}

void blk_plug_stats(uint64_t *flushes, uint64_t *timeouts)
{
	irqflags_t f = irq_save();
	*flushes = __atomic_load_n(&plug_flushes, __ATOMIC_RELAXED);
	*timeouts = __atomic_load_n(&plug_timeouts, __ATOMIC_RELAXED);
	irq_restore(f);
}

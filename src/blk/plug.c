/*
 * Plugging: a thread's bios are held on its plug and handed to the queue
 * together (blk_submit_list), so adjacent bios merge before any is
 * dispatched and each device is kicked once per batch.
 *
 * Bound: a plug holds bios for at most BLK_PLUG_TIMEOUT_NS after the first
 * one arrived (a one-shot timer submits them from interrupt context) and at
 * most BLK_PLUG_MAX_BIOS bios, so a forgotten blk_finish_plug() delays I/O
 * by 100 µs, never stalls it.
 *
 * Plugs are per thread: a small table maps the owning thread to its plug.
 * The list is shared with the timer callback, so it is only touched with
 * IRQs masked (one CPU: that excludes the timer interrupt).
 */
#include <levblk/bio.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/kern/thread.h>
#include "blk/blk_queue.h"

#define PLUG_SLOTS 64u /* threads that may hold a plug at the same time */

static struct blk_plug *plug_slots[PLUG_SLOTS];
/* Non-empty plug lists handed to the queue, by cause; guarded by masking IRQs. */
static uint64_t plug_flushes;
static uint64_t plug_timeouts;

static struct blk_plug *blk_current_plug(void);
static struct bio *plug_take(struct blk_plug *plug);
static void plug_timer_fn(void *arg);

static struct blk_plug *blk_current_plug(void)
{
	const void *me = thread_current();

	for (unsigned int i = 0; i < PLUG_SLOTS; i++) {
		if (plug_slots[i] && plug_slots[i]->owner == me)
			return plug_slots[i];
	}
	return NULL;
}

void blk_start_plug(struct blk_plug *plug)
{
	plug->head = plug->tail = NULL;
	plug->count = 0;
	plug->active = false;
	plug->owner = thread_current();
	plug->timer.pending = false;
	plug->timer.next = NULL;
	if (blk_current_plug())
		return; /* nested: the outer plug does the work */
	irqflags_t f = irq_save();
	for (unsigned int i = 0; i < PLUG_SLOTS; i++) {
		if (!plug_slots[i]) {
			plug_slots[i] = plug;
			plug->active = true;
			break;
		}
	}
	irq_restore(f);
	/* No free slot: the plug stays inactive and bios go straight to the queue. */
}

/* Takes every held bio off the plug (IRQs masked inside). */
static struct bio *plug_take(struct blk_plug *plug)
{
	irqflags_t f = irq_save();
	struct bio *head = plug->head;

	plug->head = plug->tail = NULL;
	plug->count = 0;
	plug_flushes += head != NULL;
	irq_restore(f);
	return head;
}

/* The time bound ran out: interrupt context. */
static void plug_timer_fn(void *arg)
{
	struct bio *head = plug_take(arg);

	plug_timeouts += head != NULL;
	if (head)
		blk_submit_list(head);
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
	struct blk_plug *plug = blk_current_plug();

	if (!plug)
		return false;
	irqflags_t f = irq_save();
	bio->bio_next = NULL;
	if (plug->tail)
		plug->tail->bio_next = bio;
	else
		plug->head = bio;
	plug->tail = bio;
	plug->count++;
	bool full = plug->count >= BLK_PLUG_MAX_BIOS;
	if (plug->count == 1 && !full)
		timer_arm(&plug->timer, clock_ns() + BLK_PLUG_TIMEOUT_NS, plug_timer_fn, plug);
	irq_restore(f);
	if (full)
		blk_plug_flush_current();
	return true;
}

void blk_plug_flush_current(void)
{
	struct blk_plug *plug = blk_current_plug();

	if (!plug)
		return;
	timer_cancel(&plug->timer);
	struct bio *head = plug_take(plug);
	if (head)
		blk_submit_list(head);
}

void blk_finish_plug(struct blk_plug *plug)
{
	if (!plug->active)
		return;
	blk_plug_flush_current();
	irqflags_t f = irq_save();
	for (unsigned int i = 0; i < PLUG_SLOTS; i++) {
		if (plug_slots[i] == plug)
			plug_slots[i] = NULL;
	}
	plug->active = false;
	irq_restore(f);
}

void blk_plug_stats(uint64_t *flushes, uint64_t *timeouts)
{
	irqflags_t f = irq_save();
	*flushes = plug_flushes;
	*timeouts = plug_timeouts;
	irq_restore(f);
}

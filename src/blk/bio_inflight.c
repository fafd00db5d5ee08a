/*
 * Ending a bio, and waiting for one in flight (bio_wait_inflight,
 * levblk/bio.h).
 *
 * A waiter does not sleep on the bio (its memory may be freed by end_io):
 * it puts a record on its own stack in `waiters`, marks the bio
 * bio_waited, and sleeps on the record's completion. bio_end_call(), the
 * one place the layer calls end_io, clears bio_inflight, completes and
 * unlinks every record for that bio, and runs end_io, all with IRQs masked.
 *
 * Why nothing is lost or early (one CPU; `waiters`, bio_inflight and
 * bio_waited only change with IRQs masked):
 *   - a waiter tests bio_inflight and links its record in one masked
 *     section, so the end either happened before (it returns at once) or
 *     finds the record (it completes it);
 *   - the record's completion counts, so an end between the masked section
 *     and wait_for_completion() is not lost;
 *   - the woken waiter cannot run until bio_end_call() unmasks, after
 *     end_io returned, so it sees what end_io did; the status is copied into
 *     the record before end_io runs, so it never reads the bio afterwards.
 */
#include <stddef.h>
#include <levblk/bio.h>
#include <levblk/hal/cpu.h>
#include <levblk/completion.h>
#include "blk_queue.h"

struct bio_waiter {
	struct bio *bio;
	int status;
	struct completion done;
	struct bio_waiter *next;
};

static struct bio_waiter *waiters; /* IRQs masked */

/* IRQs masked. Completes and unlinks every waiter of bio. */
static void wake_waiters(struct bio *bio)
{
	for (struct bio_waiter **pp = &waiters; *pp;) {
		struct bio_waiter *w = *pp;
		if (w->bio != bio) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->status = bio->bio_status;
		complete(&w->done);
	}
}

void bio_end_call(struct bio *bio)
{
	irqflags_t f = irq_save();

	bio->bio_inflight = 0;
	if (bio->bio_waited) {
		bio->bio_waited = 0;
		wake_waiters(bio);
	}
	/* From here the layer no longer touches bio: end_io may free or resubmit it. */
	if (bio->bio_end_io)
		bio->bio_end_io(bio);
	irq_restore(f);
}

int bio_wait_inflight(struct bio *bio)
{
	struct bio_waiter w = {.bio = bio};

	completion_init(&w.done);
	/* If it sits in this thread's own plug, it would wait for the plug's timeout. */
	blk_plug_flush_current();
	irqflags_t f = irq_save();
	if (!bio->bio_inflight) {
		int status = bio->bio_status;
		irq_restore(f);
		return status;
	}
	w.next = waiters;
	waiters = &w;
	bio->bio_waited = 1;
	irq_restore(f);
	wait_for_completion(&w.done);
	return w.status;
}

/*
 * Ending a bio, and waiting for one in flight (bio_wait_inflight,
 * levblk/bio.h).
 *
 * A waiter does not sleep on the bio (its memory may be freed by end_io):
 * it puts a record on its own stack in `waiters`, marks the bio
 * bio_waited, and sleeps on the record's completion. bio_end_call(), the
 * one place the layer calls end_io, clears bio_inflight, takes every
 * record for that bio off the list, runs end_io, and only then completes
 * the records: a waiter returns after end_io has returned.
 *
 * Several CPUs end bios at once, so `waiters`, bio_inflight, bio_waited and
 * each CPU's `ending` (the bio whose end_io it runs, compared by address
 * only, never read through) change under waiters_lock, which is never held
 * while end_io runs. Why nothing is lost or early:
 *   - a waiter tests bio_inflight and links its record under the lock, so
 *     the end either happened before (it returns at once) or finds the
 *     record (and completes it after end_io);
 *   - a waiter that comes while end_io runs on some CPU (bio_inflight 0,
 *     that CPU's `ending` is the bio) links a record marked `late`, which
 *     that CPU completes when end_io has returned; a record linked while
 *     the bio is in flight again (end_io resubmitted it) is left for that
 *     flight's end;
 *   - the record's completion counts, so an end between the locked section
 *     and wait_for_completion() is not lost; the status is copied into the
 *     record before end_io runs, so the waiter never reads the bio after.
 * What end_io did is visible to the woken waiter: complete() and
 * wait_for_completion() pair through the wait lock.
 */
#include <stddef.h>
#include <levblk/bio.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/completion.h>
#include "blk_queue.h"

struct bio_waiter {
	struct bio *bio;
	int status;
	bool late; /* came while end_io ran: woken by that end, not the next one */
	struct completion done;
	struct bio_waiter *next;
};

static spinlock_t waiters_lock = SPINLOCK_INIT("bio_waiters");
static struct bio_waiter *waiters; /* waiters_lock */
static struct bio *ending[CPU_MAX]; /* waiters_lock: each CPU's bio in end_io, or NULL */

/* waiters_lock held. Moves bio's records (only the late ones if `late`) to *out. */
static void take_waiters(struct bio *bio, bool late, int status, struct bio_waiter **out)
{
	for (struct bio_waiter **pp = &waiters; *pp;) {
		struct bio_waiter *w = *pp;
		if (w->bio != bio || (late && !w->late)) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (!late)
			w->status = status;
		w->next = *out;
		*out = w;
	}
}

static void complete_waiters(struct bio_waiter *w)
{
	while (w) {
		struct bio_waiter *next = w->next; /* w may vanish once completed */
		complete(&w->done);
		w = next;
	}
}

void bio_end_call(struct bio *bio)
{
	struct bio_waiter *mine = NULL;
	irqflags_t f = spin_lock_irqsave(&waiters_lock);
	unsigned int cpu = cpu_id(); /* IRQs masked: we stay on this CPU */

	bio->bio_inflight = 0;
	if (bio->bio_waited) {
		bio->bio_waited = 0;
		take_waiters(bio, false, bio->bio_status, &mine);
	}
	ending[cpu] = bio;
	spin_unlock(&waiters_lock);
	/* From here the layer no longer touches bio: end_io may free or resubmit it. */
	if (bio->bio_end_io)
		bio->bio_end_io(bio);
	spin_lock(&waiters_lock);
	ending[cpu] = NULL;
	take_waiters(bio, true, 0, &mine); /* by address only: bio may be gone */
	spin_unlock(&waiters_lock);
	complete_waiters(mine);
	irq_restore(f);
}

/* waiters_lock held: true if some CPU runs bio's end_io right now. */
static bool ending_now(const struct bio *bio)
{
	for (unsigned int c = 0; c < CPU_MAX; c++) {
		if (ending[c] == bio)
			return true;
	}
	return false;
}

int bio_wait_inflight(struct bio *bio)
{
	struct bio_waiter w = {.bio = bio};

	completion_init(&w.done);
	/* If it sits in this thread's own plug, it would wait for the plug's timeout. */
	blk_plug_flush_current();
	irqflags_t f = spin_lock_irqsave(&waiters_lock);
	if (!bio->bio_inflight) {
		int status = bio->bio_status;
		if (!ending_now(bio)) {
			spin_unlock_irqrestore(&waiters_lock, f);
			return status;
		}
		w.late = true; /* its end_io runs on another CPU: wait until it returned */
		w.status = status;
	} else {
		bio->bio_waited = 1;
	}
	w.next = waiters;
	waiters = &w;
	spin_unlock_irqrestore(&waiters_lock, f);
	wait_for_completion(&w.done);
	return w.status;
}

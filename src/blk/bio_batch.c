/*
 * Bio batches (levblk/bio.h): a count of bios not yet ended plus one for
 * the submitter, the first error, and a completion.
 *
 * Why the extra one: bios may end (in interrupt context, or at once in
 * bio_batch_add for a refused bio) before the submitter has added the rest;
 * without the submitter's reference the count could reach 0 early. It is
 * dropped by bio_batch_wait, which completes nothing itself: if that drop
 * reaches 0, every bio has ended and it returns at once.
 *
 * Lifetime: the batch may be on the waiter's stack. Its last use by an
 * end_io is complete(), made with IRQs masked; the waiter cannot run before
 * that end_io has returned (one CPU, and the layer runs end_io with IRQs
 * masked), so the batch outlives every use.
 */
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/hal/cpu.h>
#include "blk_queue.h"

void bio_batch_init(struct bio_batch *batch)
{
	batch->pending = 1;
	batch->count = 0;
	batch->status = 0;
	completion_init(&batch->done);
}

static void bio_batch_end_io(struct bio *bio)
{
	struct bio_batch *batch = bio->bio_private;
	int none = 0;

	/* Ended: the bio is the caller's again, ready for another add or wait. */
	bio->bio_end_io = NULL;
	bio->bio_private = NULL;

	/*
	 * Bios of one batch end on several CPUs at once: the first error wins
	 * by compare-and-swap, and the count drops atomically. Release on the
	 * decrement: this bio's data and status are visible to whoever sees the
	 * count reach 0 (bio_batch_wait's acquire, or complete()'s lock).
	 */
	if (bio->bio_status)
		__atomic_compare_exchange_n(&batch->status, &none, bio->bio_status, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	if (__atomic_sub_fetch(&batch->pending, 1, __ATOMIC_ACQ_REL) == 0)
		complete(&batch->done);
}

int bio_batch_add(struct bio_batch *batch, struct bio *bio)
{
	if (bio->bio_end_io)
		return -EBUSY;
	__atomic_add_fetch(&batch->pending, 1, __ATOMIC_RELAXED);
	batch->count++; /* the adding thread's own */
	bio->bio_end_io = bio_batch_end_io;
	bio->bio_private = batch;
	submit_bio(bio);
	return 0;
}

int bio_batch_wait(struct bio_batch *batch)
{
	blk_plug_flush_current(); /* none of the batch may sit in this thread's plug */
	/* Acquire: pairs with the last end_io's release (its status, its data). */
	bool all_ended = __atomic_sub_fetch(&batch->pending, 1, __ATOMIC_ACQ_REL) == 0;

	if (!all_ended)
		wait_for_completion(&batch->done);
	int status = batch->status;

	bio_batch_init(batch); /* ready for another round */
	return status;
}

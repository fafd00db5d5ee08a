/*
 * submit_bio (levblk/bio.h): where a bio enters the block layer. It sits
 * above both the plug (plug.c) and the queue (blk_core.c): a checked bio is
 * held in the thread's plug, or deferred while end_io callbacks run
 * (blk_end_done), or handed to the queue at once. plug.c hands its lists to
 * the queue (blk_submit_list) and blk_core.c never calls into the plug, so
 * the three files call each other in one direction only.
 */
#include <levblk/bio.h>
#include <levblk/hal/percpu.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include "blk_part.h"
#include "blk_queue.h"

/*
 * The checks every submission makes: a bio already in flight is refused
 * untouched (false), a bio that fails blk_bio_check ends with its error
 * (false); true: accepted (BIO_STAGE_ACCEPTED). Always inline: submit_bio
 * is every bio's way in; blk_bio_accept is the polled path's copy.
 */
static inline __attribute__((always_inline)) bool bio_accept(struct bio *bio, uint8_t cpu)
{
	struct blkdev *dev = bio->bio_dev;

	if (bio->bio_stage != BIO_STAGE_IDLE && bio->bio_stage != BIO_STAGE_ENDED) {
		/*
		 * Submitted again before it ended: its fields belong to the queue,
		 * and its one end_io call is still to come. Refuse loudly, touch nothing.
		 */
		kprintf("blk: bio %p submitted while in flight: ignored\n", (void *)bio);
		return false;
	}
	bio->bio_inflight = 1; /* until bio_end_call(): bio_wait_inflight waits for it */
	bio->bio_cpu = cpu;
	int err = dev ? blk_bio_check(dev, bio) : -ENODEV;

	if (err) {
		/* An accepted bio is counted by start_bio_locked, under its lock. */
		if (dev) {
			dev = dev->whole; /* a partition counts in its disk */
			irqflags_t f = blk_lock(dev);
			dev->ctr.bios++;
			dev->ctr.errors++;
			blk_unlock(dev, f);
		}
		/* Ended like any other bio, so an end_io that resubmits it does not nest. */
		struct blk_done done = {bio, bio};
		bio->bio_end_ns = clock_ns(); /* end_list reads no clock: bio_end_locked stamps the rest */
		bio->bio_status = err;
		bio->bio_stage = BIO_STAGE_ENDED;
		bio->bio_next = NULL;
		blk_end_done(&done);
		return false;
	}
	bio->bio_stage = BIO_STAGE_ACCEPTED;
	blk_part_remap(bio); /* from here on a partition's bio is its disk's */
	return true;
}

bool blk_bio_accept(struct bio *bio)
{
	/* Polled: its caller spins for it with IRQs masked, so it ends wherever it ends. */
	return bio_accept(bio, BIO_CPU_ANY);
}

void submit_bio(struct bio *bio)
{
	/* Where it is ended with blk.complete_ipi=1 (blk_remote_end.c); the thread may move. */
	if (!bio_accept(bio, (uint8_t)cpu_id()))
		return;
	if (blk_resubmit_defer(bio))
		return;
	if (!(bio->bio_flags & BIO_SYNC) && blk_plug_add(bio))
		return;
	bio->bio_next = NULL;
	blk_submit_list(bio);
}

/*
 * submit_bio_poll() (levblk/bio.h): a bio completed by polling the device
 * instead of by its interrupt, through the same queue as every other bio
 * (as Linux's polled queues do): the same checks, requests, counters,
 * retries and deadlines; only the completion is found by the driver's poll
 * operation (blk_driver.h) rather than by its interrupt handler.
 *
 * The caller holds the device's queue lock, IRQs masked, from before the
 * bio enters the queue until it has ended: the device's interrupt cannot be
 * taken meanwhile, and before IRQs come back on the driver's last poll
 * quiets whatever the device raised (for a level-triggered line, such as
 * virtio-mmio's, that means the handler never runs for the bio: the
 * device's `irqs` counter does not move). Completions of other requests
 * that the poll finds are completed as the interrupt would have done.
 *
 * Deadlines: the core's timer cannot fire while IRQs are masked, so the
 * loop makes the timer's check itself (blk_timeout_check_locked) once the
 * oldest request is due: a stuck device is reset and the request sent
 * again, exactly as for a queued bio.
 *
 * A bio that does not end because its device was fenced with the bio's
 * request still on it (a reset that was not confirmed,
 * virtio_blk_recover.c "Fencing") is quarantined: its buffer may still be
 * written by the device, so the call never returns; the thread sleeps for
 * good, with the lock released and IRQs on.
 *
 * Cost: the CPU spins with IRQs masked for the bio's whole life (the timer
 * tick waits): the benchmark's engine=sync baseline shows what that costs.
 */
#include <stddef.h>
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/kern/thread.h>
#include "blk_queue.h"

/* The bio's end_io while it is polled: ending is seen by its stage, nothing to do. */
static void bio_poll_end_io(struct bio *bio)
{
	(void)bio;
}

/* True once the oldest request in flight is past its deadline. */
static bool oldest_due_locked(struct blkdev *dev)
{
	struct request *rq = blk_oldest_inflight_locked(dev);

	return rq && clock_ns() >= rq->rq_deadline_ns;
}

int submit_bio_poll(struct bio *bio)
{
	struct blkdev *dev = bio->bio_dev;
	struct blk_done done = BLK_DONE_INIT;
	bool quarantined = false;

	if (bio->bio_end_io)
		return -EBUSY;
	if (!dev || !dev->whole->ops->poll)
		return submit_bio_wait(bio); /* nothing to poll: wait for the interrupt */
	bio->bio_end_io = bio_poll_end_io;
	bio->bio_private = NULL;
	bio->bio_flags |= BIO_SYNC;
	/* Bios this thread holds in a plug go first, so they are not overtaken. */
	blk_plug_flush_current();
	if (!blk_bio_accept(bio))
		goto out; /* refused: ended with its error already */
	/* A partition's bio is now on its disk (blk_part.h); it moves back as it ends. */
	dev = bio->bio_dev;

	irqflags_t f = blk_lock(dev);
	blk_start_bio_locked(dev, bio, &done);
	bool kick = blk_dispatch_locked(dev, &done);
	for (;;) {
		if (kick)
			blk_notify(dev); /* lock held: notify() never takes it (blk_driver.h) */
		kick = false;
		if (bio->bio_stage == BIO_STAGE_ENDED)
			break;
		if (dev->broken) {
			/* Broken ends everything but what a fenced device still holds. */
			quarantined = true;
			break;
		}
		/* A new run for the clock (blkdev.run_ns): what ends in this poll ends now. */
		dev->run_ns = 0;
		if (dev->ops->poll(dev->drv, false, &done)) {
			kick = blk_dispatch_locked(dev, &done); /* retries, our bio's next parts */
			continue;
		}
		if (oldest_due_locked(dev)) {
			kick = blk_timeout_check_locked(dev, &done);
			continue;
		}
		cpu_relax();
	}
	dev->ops->poll(dev->drv, true, &done);
	kick = blk_dispatch_locked(dev, &done);
	blk_unlock(dev, f);
	if (kick)
		blk_notify(dev);
	blk_end_done(&done);
	if (quarantined) {
		kprintf("%s: polled bio at sector %llu quarantined with its device: the call "
			"never returns\n",
			blkdev_info(dev)->name, (unsigned long long)bio->bio_sector);
		for (;;)
			thread_sleep_ns(UINT64_MAX);
	}
out:
	bio->bio_end_io = NULL;
	return bio->bio_status;
}

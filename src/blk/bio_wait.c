/*
 * submit_bio_wait(): a kernel thread submits a bio and sleeps until its
 * end_io has run. The completion lives on the waiter's stack, which stays
 * valid because the waiter cannot return before complete() was called.
 * A bio that brings its own end_io is refused (levblk/bio.h): replacing it
 * would silently drop the caller's callback.
 */
#include <stddef.h>
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/completion.h>
#include "blk_queue.h"

static void bio_wait_end_io(struct bio *bio)
{
	complete(bio->bio_private);
}

int submit_bio_wait(struct bio *bio)
{
	struct completion done;

	if (bio->bio_end_io)
		return -EBUSY;
	completion_init(&done);
	bio->bio_end_io = bio_wait_end_io;
	bio->bio_private = &done;
	bio->bio_flags |= BIO_SYNC; /* not held in a plug: we are about to sleep */
	/* Bios this thread holds in a plug go first, so they are not overtaken. */
	blk_plug_flush_current();
	submit_bio(bio);
	wait_for_completion(&done);
	bio->bio_end_io = NULL;
	bio->bio_private = NULL;
	return bio->bio_status;
}

/*
 * Bio batches, waiting on a bio in flight, bio_init_buf and the end_io
 * rule of submit_bio_wait, through the real block core with the fake
 * driver. The host has one thread: a wait that would sleep runs
 * thread_stub_sleep, where each test completes requests in the order it
 * wants, as interrupts would while the thread sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/container_of.h>
#include <levblk/errno.h>
#include "blk/blk_params.h"
#include "blk/blk_queue.h"
#include "blk/fake_drv.h"
#include "hal_host/hal_host.h"
#include "thread_stub.h"

void blk_dev_host_reset(void);

#define NBIO	 16u
#define DISK_SEC 4096u

static struct fake_drv *fd;
static uint8_t bufs[NBIO][SECTOR_SIZE];

static int setup(void **state)
{
	(void)state;
	hal_host_quiet = true;
	blk_param_merge = 0; /* one request per bio: the tests pick each one's end */
	blk_param_retries = 0;
	fd = fake_create(DISK_SEC, SECTOR_SIZE, 8, 65536, 256, 64, 64, false, false);
	thread_stub_sleep = NULL;
	thread_stub_sleeps = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_destroy(fd);
	free(fd);
	blk_dev_host_reset();
	thread_stub_sleep = NULL;
	return 0;
}

/* --- sleep hooks: the "interrupts" ------------------------------------------- */

/* Completes the in-flight requests newest first: ends in reverse submission order. */
static void sleep_complete_newest_first(void)
{
	int idx;
	uint32_t n = 0;

	while ((idx = fake_inflight_index(fd, 0)) >= 0) {
		uint32_t last = 0;
		while (fake_inflight_index(fd, last + 1) >= 0)
			last++;
		fake_complete(fd, fake_inflight_index(fd, last), 0);
		n++;
	}
	assert_true(n > 0);
}

/* Completes every other request first, then the rest: an interleaved order. */
static void sleep_complete_interleaved(void)
{
	for (uint32_t i = 0; fake_inflight_index(fd, i) >= 0; i++)
		fake_complete(fd, fake_inflight_index(fd, i), 0);
	fake_complete_all(fd);
}

static void sleep_complete_all(void)
{
	fake_complete_all(fd);
}

/* One request only (an end_io that resubmits leaves the new one in flight). */
static void sleep_complete_oldest(void)
{
	fake_complete(fd, fake_inflight_index(fd, 0), 0);
}

/* --- batches ----------------------------------------------------------------- */

static void test_batch_of_zero_returns_at_once(void **state)
{
	(void)state;
	struct bio_batch batch;

	bio_batch_init(&batch);
	assert_int_equal(bio_batch_wait(&batch), 0);
	assert_int_equal(thread_stub_sleeps, 0); /* no sleep hook: it would have panicked */
	assert_int_equal(batch.count, 0);
}

static void run_batch(void (*order)(void))
{
	static struct bio b[NBIO];
	struct bio_batch batch;

	thread_stub_sleep = order;
	bio_batch_init(&batch);
	for (unsigned int i = 0; i < NBIO; i++) {
		memset(bufs[i], 0, SECTOR_SIZE);
		bio_init_buf(&b[i], fd->dev, BIO_OP_READ, i * 8u, bufs[i], SECTOR_SIZE, NULL, NULL);
		assert_int_equal(bio_batch_add(&batch, &b[i]), 0);
	}
	assert_int_equal(batch.count, NBIO);
	assert_int_equal(fd->in_ring, NBIO); /* nothing ended yet */
	assert_int_equal(bio_batch_wait(&batch), 0);
	assert_int_equal(thread_stub_sleeps, 1);
	assert_int_equal(fd->in_ring, 0);
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(b[i].bio_status, 0);
		assert_false(bio_is_inflight(&b[i]));
		/* The read data is the disk's (the fake moves it at completion). */
		assert_memory_equal(bufs[i], fd->disk + (size_t)i * 8u * SECTOR_SIZE, SECTOR_SIZE);
	}
}

static void test_batch_ends_in_reverse_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < fd->disk_bytes; i++)
		fd->disk[i] = (uint8_t)(i * 13 + (i >> 9));
	run_batch(sleep_complete_newest_first);
}

static void test_batch_ends_interleaved(void **state)
{
	(void)state;
	for (size_t i = 0; i < fd->disk_bytes; i++)
		fd->disk[i] = (uint8_t)(i * 7 + (i >> 9));
	run_batch(sleep_complete_interleaved);
}

/* Every bio ends before the wait: it returns without sleeping. */
static void test_batch_all_ended_before_wait(void **state)
{
	(void)state;
	struct bio b[4];
	struct bio_batch batch;

	bio_batch_init(&batch);
	for (unsigned int i = 0; i < 4; i++) {
		bio_init_buf(&b[i], fd->dev, BIO_OP_WRITE, i, bufs[i], SECTOR_SIZE, NULL, NULL);
		bio_batch_add(&batch, &b[i]);
	}
	fake_complete_all(fd);
	assert_int_equal(bio_batch_wait(&batch), 0);
	assert_int_equal(thread_stub_sleeps, 0);
}

/* The first bio to end with an error decides; a later error does not replace it. */
static void test_batch_keeps_first_error(void **state)
{
	(void)state;
	struct bio b[4];
	struct bio_batch batch;

	thread_stub_sleep = sleep_complete_all;
	fake_add_bad(fd, 24, -1); /* the bio at sector 24 always fails: -EIO */
	bio_batch_init(&batch);
	bio_init_buf(&b[0], fd->dev, BIO_OP_READ, 0, bufs[0], SECTOR_SIZE, NULL, NULL);
	bio_init_buf(&b[1], fd->dev, BIO_OP_READ, 24, bufs[1], SECTOR_SIZE, NULL, NULL);
	bio_batch_add(&batch, &b[0]);
	bio_batch_add(&batch, &b[1]);
	fake_complete_all(fd); /* b[1] ends with -EIO now */
	assert_int_equal(b[1].bio_status, -EIO);
	/* Past the end of the disk: ends at once with -EINVAL, after the -EIO. */
	bio_init_buf(&b[2], fd->dev, BIO_OP_READ, DISK_SEC, bufs[2], SECTOR_SIZE, NULL, NULL);
	bio_batch_add(&batch, &b[2]);
	assert_int_equal(b[2].bio_status, -EINVAL);
	bio_init_buf(&b[3], fd->dev, BIO_OP_READ, 8, bufs[3], SECTOR_SIZE, NULL, NULL);
	bio_batch_add(&batch, &b[3]);
	assert_int_equal(bio_batch_wait(&batch), -EIO);
	assert_int_equal(b[0].bio_status, 0);
	assert_int_equal(b[3].bio_status, 0);
	for (unsigned int i = 0; i < 4; i++) {
		assert_null(b[i].bio_end_io); /* the caller's again */
		assert_null(b[i].bio_private);
	}

	/* Batch and bios reused as they are, the other way round: the -EINVAL first stays. */
	bio_batch_add(&batch, &b[2]);
	bio_batch_add(&batch, &b[1]);
	assert_int_equal(bio_batch_wait(&batch), -EINVAL);
	assert_int_equal(b[1].bio_status, -EIO);
}

static void mark_end_io(struct bio *b)
{
	(*(int *)b->bio_private)++;
}

static void test_batch_refuses_bio_with_end_io(void **state)
{
	(void)state;
	struct bio b;
	struct bio_batch batch;
	int calls = 0;

	bio_batch_init(&batch);
	bio_init_buf(&b, fd->dev, BIO_OP_READ, 0, bufs[0], SECTOR_SIZE, mark_end_io, &calls);
	assert_int_equal(bio_batch_add(&batch, &b), -EBUSY);
	assert_int_equal(batch.count, 0);
	assert_int_equal(fd->nlog, 0); /* not submitted */
	assert_ptr_equal(b.bio_end_io, mark_end_io);
	assert_int_equal(bio_batch_wait(&batch), 0);
	assert_int_equal(calls, 0);
}

/* --- submit_bio_wait and the caller's end_io ---------------------------------- */

/*
 * Regression: submit_bio_wait() used to replace a caller's end_io with its
 * own without a word, so the caller's callback never ran. It now refuses
 * such a bio with -EBUSY and leaves it as it was.
 */
static void test_submit_bio_wait_keeps_callers_end_io(void **state)
{
	(void)state;
	struct bio b;
	int calls = 0;

	bio_init_buf(&b, fd->dev, BIO_OP_READ, 0, bufs[0], SECTOR_SIZE, mark_end_io, &calls);
	assert_int_equal(submit_bio_wait(&b), -EBUSY);
	assert_ptr_equal(b.bio_end_io, mark_end_io);
	assert_ptr_equal(b.bio_private, &calls);
	assert_int_equal(fd->nlog, 0);
	assert_int_equal(calls, 0);

	/* Without an end_io it works, and can be waited on again. */
	thread_stub_sleep = sleep_complete_all;
	bio_init_buf(&b, fd->dev, BIO_OP_READ, 0, bufs[0], SECTOR_SIZE, NULL, NULL);
	assert_int_equal(submit_bio_wait(&b), 0);
	assert_null(b.bio_end_io);
	assert_null(b.bio_private);
	assert_int_equal(submit_bio_wait(&b), 0);
	assert_int_equal(fd->nlog, 2);
}

/* --- waiting for a bio someone else submitted ---------------------------------- */

struct readahead {
	struct bio bio;
	int ended;
	bool waiter_returned_before_end_io; /* what a too-early wake-up would show */
	bool free_in_end_io;
	int resubmit;
};

static bool waiter_returned;

static void ra_end_io(struct bio *b)
{
	struct readahead *ra = container_of(b, struct readahead, bio);

	ra->ended++;
	if (waiter_returned)
		ra->waiter_returned_before_end_io = true;
	if (ra->resubmit-- > 0) {
		submit_bio(b);
		return;
	}
	if (ra->free_in_end_io) {
		memset(ra, 0x6b, sizeof(*ra));
		free(ra);
	}
}

static void test_wait_inflight(void **state)
{
	(void)state;
	struct readahead *ra = calloc(1, sizeof(*ra));

	waiter_returned = false;
	thread_stub_sleep = sleep_complete_all;
	bio_init_buf(&ra->bio, fd->dev, BIO_OP_READ, 16, bufs[0], SECTOR_SIZE, ra_end_io, NULL);
	assert_false(bio_is_inflight(&ra->bio));
	assert_int_equal(bio_wait_inflight(&ra->bio), 0); /* never submitted: at once */
	submit_bio(&ra->bio);
	assert_true(bio_is_inflight(&ra->bio));
	assert_int_equal(bio_wait_inflight(&ra->bio), 0);
	waiter_returned = true;
	assert_int_equal(thread_stub_sleeps, 1);
	assert_int_equal(ra->ended, 1);
	assert_false(ra->waiter_returned_before_end_io);
	assert_false(bio_is_inflight(&ra->bio));
	/* Ended: a second wait returns at once with its status. */
	assert_int_equal(bio_wait_inflight(&ra->bio), 0);
	assert_int_equal(thread_stub_sleeps, 1);
	free(ra);
}

/* end_io frees the bio: the waiter gets the status without touching it (ASan watches). */
static void test_wait_inflight_bio_freed_by_end_io(void **state)
{
	(void)state;
	struct readahead *ra = calloc(1, sizeof(*ra));

	thread_stub_sleep = sleep_complete_all;
	fake_add_bad(fd, 40, -1);
	ra->free_in_end_io = true;
	bio_init_buf(&ra->bio, fd->dev, BIO_OP_READ, 40, bufs[0], SECTOR_SIZE, ra_end_io, NULL);
	submit_bio(&ra->bio);
	assert_int_equal(bio_wait_inflight(&ra->bio), -EIO);
}

/* Two waiters on one bio, and end_io resubmitting: each wait ends at the first end. */
static struct readahead *two_ra;
static int second_status = 1;

static void sleep_second_waiter_then_complete(void)
{
	thread_stub_sleep = sleep_complete_oldest;
	/* A second "thread" comes to wait while the first sleeps. */
	second_status = bio_wait_inflight(&two_ra->bio);
}

static void test_wait_inflight_two_waiters_resubmit(void **state)
{
	(void)state;
	two_ra = calloc(1, sizeof(*two_ra));
	two_ra->resubmit = 1;
	thread_stub_sleep = sleep_second_waiter_then_complete;
	bio_init_buf(&two_ra->bio, fd->dev, BIO_OP_READ, 48, bufs[0], SECTOR_SIZE, ra_end_io, NULL);
	submit_bio(&two_ra->bio);
	assert_int_equal(bio_wait_inflight(&two_ra->bio), 0);
	assert_int_equal(second_status, 0);
	assert_int_equal(two_ra->ended, 1);
	assert_true(bio_is_inflight(&two_ra->bio)); /* resubmitted by its end_io */
	fake_complete_all(fd);
	assert_int_equal(two_ra->ended, 2);
	assert_false(bio_is_inflight(&two_ra->bio));
	free(two_ra);
}

static void test_init_buf_and_container_of(void **state)
{
	(void)state;
	struct readahead ra;

	bio_init_buf(&ra.bio, fd->dev, BIO_OP_WRITE, 8, bufs[1], 1024, NULL, &ra);
	assert_ptr_equal(ra.bio.bio_segs, &ra.bio.bio_seg1);
	assert_int_equal(ra.bio.bio_nsegs, 1);
	assert_ptr_equal(ra.bio.bio_segs[0].va, bufs[1]);
	assert_int_equal(ra.bio.bio_segs[0].len, 1024);
	assert_int_equal(ra.bio.bio_op, BIO_OP_WRITE);
	assert_ptr_equal(container_of(&ra.bio, struct readahead, bio), &ra);
	assert_ptr_equal(container_of(&ra.ended, struct readahead, ended), &ra);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_batch_of_zero_returns_at_once),
	    T(test_batch_ends_in_reverse_order),
	    T(test_batch_ends_interleaved),
	    T(test_batch_all_ended_before_wait),
	    T(test_batch_keeps_first_error),
	    T(test_batch_refuses_bio_with_end_io),
	    T(test_submit_bio_wait_keeps_callers_end_io),
	    T(test_wait_inflight),
	    T(test_wait_inflight_bio_freed_by_end_io),
	    T(test_wait_inflight_two_waiters_resubmit),
	    T(test_init_buf_and_container_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

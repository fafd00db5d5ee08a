/*
 * Host tests of end_io callbacks that submit again from inside the ending
 * (block core, fake driver): a bio resubmitted every time it ends -ENODEV on
 * a broken device, or -EINVAL, must end again without end_io calls nesting,
 * from thread context and from a completion interrupt alike, however many
 * times it goes round.
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
#include <levblk/errno.h>
#include "blk/blk_driver.h"
#include "blk/blk_queue.h"
#include "blk/fake_drv.h"
#include "hal_host/hal_host.h"
#include "thread_stub.h"

void blk_dev_host_reset(void);

#define ROUNDS	    2000u   /* resubmissions counted exactly */
#define MANY_ROUNDS 200000u /* far deeper than a stack would take if they nested */

/* One bio that resubmits itself `left` times, recording how deep end_io nests. */
struct rb {
	struct bio bio;
	struct bio_seg seg;
	uint32_t left, ends, depth, max_depth;
	int last_status;
};

static void rb_end_io(struct bio *b)
{
	struct rb *r = b->bio_private;

	r->depth++;
	if (r->depth > r->max_depth)
		r->max_depth = r->depth;
	r->ends++;
	r->last_status = b->bio_status;
	if (r->left) {
		r->left--;
		submit_bio(b);
	}
	r->depth--;
}

static struct fake_drv *fd;
static uint8_t buf[4096];

static int setup(void **state)
{
	(void)state;
	hal_host_quiet = true;
	fd = fake_create(1024, 512, 16, 65536, 256, 8, 8, false, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_destroy(fd);
	free(fd);
	blk_dev_host_reset();
	return 0;
}

static void break_device(void)
{
	struct blk_done done = BLK_DONE_INIT;
	irqflags_t f = blk_lock(fd->dev);

	blk_mark_broken_locked(fd->dev, &done);
	blk_unlock(fd->dev, f);
	blk_end_done(&done);
}

static void rb_init(struct rb *r, uint64_t sector, uint32_t len, uint32_t rounds)
{
	memset(r, 0, sizeof(*r));
	r->seg = (struct bio_seg){buf, len};
	r->left = rounds;
	bio_init_rw(&r->bio, fd->dev, BIO_OP_READ, sector, &r->seg, 1, rb_end_io, r);
}

static void assert_iterative(const struct rb *r, uint32_t rounds, int status)
{
	assert_int_equal(r->ends, rounds + 1);
	assert_int_equal(r->left, 0);
	assert_int_equal(r->last_status, status);
	assert_int_equal(r->max_depth, 1); /* every end_io call returned before the next */
	assert_int_equal(r->bio.bio_stage, BIO_STAGE_ENDED);
}

/* Thread context: each resubmission ended inside the submit_bio of the one before. */
static void test_resubmit_to_broken_device_does_not_nest(void **state)
{
	struct rb r;

	(void)state;
	break_device();
	rb_init(&r, 0, 512, ROUNDS);
	submit_bio(&r.bio);
	assert_iterative(&r, ROUNDS, -ENODEV);
}

static void test_resubmit_to_broken_device_many_times(void **state)
{
	struct rb r;

	(void)state;
	break_device();
	rb_init(&r, 0, 512, MANY_ROUNDS);
	submit_bio(&r.bio);
	assert_iterative(&r, MANY_ROUNDS, -ENODEV);
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.queued, 0);
}

/* A bio the checks refuse (past the end of the disk) ends -EINVAL the same way. */
static void test_resubmit_of_refused_bio_does_not_nest(void **state)
{
	struct rb r;

	(void)state;
	rb_init(&r, 1024, 512, ROUNDS);
	submit_bio(&r.bio);
	assert_iterative(&r, ROUNDS, -EINVAL);
}

/* Interrupt context (IRQs masked, as in a completion handler): the same. */
static void test_resubmit_masked_does_not_nest(void **state)
{
	struct rb r;

	(void)state;
	break_device();
	rb_init(&r, 0, 512, ROUNDS);
	irqflags_t m = irq_save();
	submit_bio(&r.bio);
	irq_restore(m);
	assert_iterative(&r, ROUNDS, -ENODEV);
}

#define RB_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    RB_TEST(test_resubmit_to_broken_device_does_not_nest),
	    RB_TEST(test_resubmit_to_broken_device_many_times),
	    RB_TEST(test_resubmit_of_refused_bio_does_not_nest),
	    RB_TEST(test_resubmit_masked_does_not_nest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

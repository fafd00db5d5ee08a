/*
 * Host tests of the block core's list of bios waiting for a free request
 * (fake driver): a parked bio that ends while it is placed (here: a block
 * that no request can carry, -EINVAL) must not take the bios parked behind
 * it down with it.
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
#include "blk/fake_drv.h"
#include "hal_host/hal_host.h"

void blk_dev_host_reset(void);

struct pb {
	struct bio bio;
	struct bio_seg seg[2];
	int ends, status;
};

static void pb_end_io(struct bio *b)
{
	struct pb *p = b->bio_private;

	p->ends++;
	p->status = b->bio_status;
}

static uint8_t buf[3][4096];

/* Found by the fuzzer (block mode): the bios behind the failed one never ended. */
static void test_parked_bio_failing_at_placement_keeps_the_rest(void **state)
{
	/*
	 * One request (the second bio on waits), and limits no 4 KiB block fits:
	 * one segment of 512 bytes per request. A driver refuses such a device;
	 * the core must still not lose bios over it.
	 */
	struct fake_drv *fd = fake_create(1024, 4096, 1, 512, 256, 1, 1, true, false);
	struct pb a, bad, c, d;

	(void)state;
	hal_host_quiet = true;
	memset(&a, 0, sizeof(a));
	memset(&bad, 0, sizeof(bad));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	/* A flush takes the only request; the reads wait behind it. */
	bio_init_nodata(&a.bio, fd->dev, BIO_OP_FLUSH, 0, 0, pb_end_io, &a);
	bad.seg[0] = (struct bio_seg){buf[0], 4096};
	bio_init_rw(&bad.bio, fd->dev, BIO_OP_READ, 8, bad.seg, 1, pb_end_io, &bad);
	c.seg[0] = (struct bio_seg){buf[1], 4096};
	bio_init_rw(&c.bio, fd->dev, BIO_OP_READ, 16, c.seg, 1, pb_end_io, &c);
	d.seg[0] = (struct bio_seg){buf[2], 4096};
	bio_init_rw(&d.bio, fd->dev, BIO_OP_READ, 24, d.seg, 1, pb_end_io, &d);

	submit_bio(&a.bio);
	submit_bio(&bad.bio);
	submit_bio(&c.bio);
	submit_bio(&d.bio);
	assert_int_equal(fd->in_ring, 1); /* the flush in flight, the reads parked */
	assert_int_equal(bad.ends + c.ends + d.ends, 0);

	fake_complete_all(fd);
	assert_int_equal(a.ends, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(bad.ends, 1);
	assert_int_equal(bad.status, -EINVAL);
	assert_int_equal(c.ends, 1); /* lost with bad, before */
	assert_int_equal(c.status, -EINVAL);
	assert_int_equal(d.ends, 1);
	assert_int_equal(d.status, -EINVAL);
	struct blk_counters ctr;
	blkdev_counters(fd->dev, &ctr);
	assert_int_equal(ctr.queued, 0);
	fake_destroy(fd);
	free(fd);
	blk_dev_host_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parked_bio_failing_at_placement_keeps_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

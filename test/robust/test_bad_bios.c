/*
 * Every kind of bad submission, table-driven, against the fake driver of
 * test/blk: each case builds one bio, submits it, and checks its documented
 * result (bio.h "Errors"), how many times end_io ran, and how many requests
 * reached the driver. A bad bio never reaches the device and never panics;
 * the one case that is not an error (too many segments for one request) is
 * split into requests, and its data must arrive intact.
 *
 * The disks: vda, 4 KiB logical blocks, 1024 sectors (128 blocks), at most
 * 4 segments and 32 sectors per request, no write-zeroes; vdb, the same but
 * read-only with 512-byte blocks.
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
#include "blk/blk_params.h"
#include "blk/blk_driver.h"
#include "blk/fake_drv.h"
#include "hal_host/hal_host.h"

void blk_dev_host_reset(void);

#define CAPACITY   1024u /* 512-byte sectors */
#define LBS	   4096u
#define MAX_SEGS   4u
#define NSEGS_MANY 10u /* more than MAX_SEGS: split into 3 requests */
#define BUF_BYTES  (NSEGS_MANY * LBS)

struct case_bio {
	struct bio bio;
	struct bio_seg seg[NSEGS_MANY];
	int ended, status;
};

static uint8_t buf[BUF_BYTES], back[BUF_BYTES];
static struct fake_drv *rw_dev, *ro_dev;

static void case_end(struct bio *b)
{
	struct case_bio *c = b->bio_private;
	c->ended++;
	c->status = b->bio_status;
}

/* A good write of one block at sector 8: each case spoils one thing of it. */
static void good_write(struct case_bio *c, struct fake_drv *fd)
{
	memset(c, 0, sizeof(*c));
	c->seg[0] = (struct bio_seg){buf, LBS};
	bio_init_rw(&c->bio, fd->dev, BIO_OP_WRITE, 8, c->seg, 1, case_end, c);
}

static void mk_empty(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_segs = NULL;
	c->bio.bio_nsegs = 0;
}
static void mk_zero_segments(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_nsegs = 0;
}
static void mk_zero_length_segment(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->seg[1] = (struct bio_seg){buf + LBS, 0};
	c->bio.bio_nsegs = 2;
}
static void mk_null_segment_address(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->seg[0].va = NULL;
}
static void mk_discard_no_sectors(struct case_bio *c)
{
	memset(c, 0, sizeof(*c));
	bio_init_nodata(&c->bio, rw_dev->dev, BIO_OP_DISCARD, 8, 0, case_end, c);
}
static void mk_length_not_block_multiple(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->seg[0].len = LBS + 512;
}
static void mk_start_not_block_aligned(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_sector = 9;
}
static void mk_discard_misaligned(struct case_bio *c)
{
	memset(c, 0, sizeof(*c));
	bio_init_nodata(&c->bio, rw_dev->dev, BIO_OP_DISCARD, 8, 4, case_end, c);
}
static void mk_past_end(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_sector = CAPACITY - 8;
	c->seg[0].len = 2 * LBS; /* one block inside, one past the end */
}
static void mk_starting_at_end(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_sector = CAPACITY;
}
static void mk_wrapping_sector_space(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_sector = UINT64_MAX - 7; /* aligned; start + length wraps past 2^64 */
}
static void mk_discard_wrapping(struct case_bio *c)
{
	memset(c, 0, sizeof(*c));
	bio_init_nodata(&c->bio, rw_dev->dev, BIO_OP_DISCARD, UINT64_MAX - 7, 16, case_end, c);
}
static void mk_write_read_only(struct case_bio *c)
{
	good_write(c, ro_dev);
}
static void mk_discard_read_only(struct case_bio *c)
{
	memset(c, 0, sizeof(*c));
	bio_init_nodata(&c->bio, ro_dev->dev, BIO_OP_DISCARD, 8, 8, case_end, c);
}
static void mk_op_not_offered(struct case_bio *c)
{
	memset(c, 0, sizeof(*c));
	bio_init_nodata(&c->bio, rw_dev->dev, BIO_OP_WRITE_ZEROES, 8, 8, case_end, c);
}
static void mk_unknown_op(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_op = BIO_OP_COUNT;
}
static void mk_get_id_wrong_size(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_op = BIO_OP_GET_ID;
	c->seg[0].len = BIO_ID_BYTES - 1;
}
static void mk_no_device(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_dev = NULL;
}
static void mk_null_end_io(struct case_bio *c)
{
	good_write(c, rw_dev);
	c->bio.bio_end_io = NULL;
}
static void mk_too_many_segments(struct case_bio *c)
{
	memset(c, 0, sizeof(*c));
	for (unsigned int i = 0; i < NSEGS_MANY; i++)
		c->seg[i] = (struct bio_seg){buf + i * LBS, LBS};
	bio_init_rw(&c->bio, rw_dev->dev, BIO_OP_WRITE, 16, c->seg, NSEGS_MANY, case_end, c);
}

struct bad_case {
	const char *name;
	void (*make)(struct case_bio *c);
	int status;	   /* bio_status afterwards */
	int ended;	   /* end_io calls (0: there is none to call) */
	uint32_t requests; /* requests that reach the driver */
};

static const struct bad_case bad_cases[] = {
    {"empty: no segment array", mk_empty, -EINVAL, 1, 0},
    {"zero segments", mk_zero_segments, -EINVAL, 1, 0},
    {"a segment of length 0", mk_zero_length_segment, -EINVAL, 1, 0},
    {"a segment without an address", mk_null_segment_address, -EINVAL, 1, 0},
    {"discard of no sectors", mk_discard_no_sectors, -EINVAL, 1, 0},
    {"length not a multiple of the logical block", mk_length_not_block_multiple, -EINVAL, 1, 0},
    {"start not aligned to the logical block", mk_start_not_block_aligned, -EINVAL, 1, 0},
    {"discard range not whole logical blocks", mk_discard_misaligned, -EINVAL, 1, 0},
    {"past the end of the disk", mk_past_end, -EINVAL, 1, 0},
    {"starting at the end of the disk", mk_starting_at_end, -EINVAL, 1, 0},
    {"wrapping the 64-bit sector space", mk_wrapping_sector_space, -EINVAL, 1, 0},
    {"discard wrapping the 64-bit sector space", mk_discard_wrapping, -EINVAL, 1, 0},
    {"write on a read-only disk", mk_write_read_only, -EROFS, 1, 0},
    {"discard on a read-only disk", mk_discard_read_only, -EROFS, 1, 0},
    {"an op the device did not offer", mk_op_not_offered, -EOPNOTSUPP, 1, 0},
    {"an op that does not exist", mk_unknown_op, -EOPNOTSUPP, 1, 0},
    {"get-id of the wrong size", mk_get_id_wrong_size, -EINVAL, 1, 0},
    {"no device", mk_no_device, -ENODEV, 1, 0},
    {"a NULL end_io", mk_null_end_io, -EINVAL, 0, 0},
    /* Not an error: split to the limits, 10 blocks in 4 + 4 + 2 segments. */
    {"too many segments for one request", mk_too_many_segments, 0, 1, 3},
};

static int setup(void **state)
{
	hal_host_quiet = true;
	blk_param_merge = 1;
	blk_param_retries = 3;
	rw_dev = fake_create(CAPACITY, LBS, MAX_SEGS, 65536, 32 * 8, 8, 8, true, false);
	ro_dev = fake_create(CAPACITY, 512, MAX_SEGS, 65536, 32 * 8, 8, 8, true, true);
	for (unsigned int i = 0; i < BUF_BYTES; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	return 0;
}

static int teardown(void **state)
{
	fake_destroy(rw_dev);
	fake_destroy(ro_dev);
	free(rw_dev);
	free(ro_dev);
	blk_dev_host_reset();
	return 0;
}

static void test_bad_bio_table(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *k = &bad_cases[i];
		struct case_bio c;
		uint32_t before = rw_dev->nlog + ro_dev->nlog;

		print_message("case: %s\n", k->name);
		k->make(&c);
		c.bio.bio_status = 1; /* not a status: must be overwritten */
		submit_bio(&c.bio);
		fake_complete_all(rw_dev);
		fake_complete_all(ro_dev);
		assert_int_equal(c.bio.bio_status, k->status);
		if (k->ended)
			assert_int_equal(c.status, k->status);
		assert_int_equal(c.ended, k->ended);
		assert_int_equal(rw_dev->nlog + ro_dev->nlog - before, k->requests);
	}
	/* The split write arrived whole. */
	memcpy(back, rw_dev->disk + 16 * 512, BUF_BYTES);
	assert_memory_equal(back, buf, BUF_BYTES);
	/* Nothing is left anywhere; every bad bio counted as an error of its disk. */
	struct blk_counters c;
	blkdev_counters(rw_dev->dev, &c);
	assert_int_equal(c.in_flight, 0);
	assert_int_equal(c.queued, 0);
	assert_int_equal(c.errors, 16); /* the rw-disk cases with an error, less "no device" */
	blkdev_counters(ro_dev->dev, &c);
	assert_int_equal(c.errors, 2);
}

/* Submitted again while in flight: refused, nothing changes, it ends once. */
static void test_bio_submitted_twice(void **state)
{
	struct case_bio c;

	good_write(&c, rw_dev);
	submit_bio(&c.bio);
	assert_int_equal(rw_dev->nlog, 1);
	submit_bio(&c.bio); /* still in flight */
	assert_int_equal(rw_dev->nlog, 1);
	assert_int_equal(c.ended, 0);
	fake_complete_all(rw_dev);
	assert_int_equal(rw_dev->nlog, 1);
	assert_int_equal(c.ended, 1);
	assert_int_equal(c.status, 0);
	/* Once ended it may go again. */
	submit_bio(&c.bio);
	fake_complete_all(rw_dev);
	assert_int_equal(rw_dev->nlog, 2);
	assert_int_equal(c.ended, 2);
	struct blk_counters k;
	blkdev_counters(rw_dev->dev, &k);
	assert_int_equal(k.errors, 0);
	assert_int_equal(k.in_flight, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_bio_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bio_submitted_twice, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

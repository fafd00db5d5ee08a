/*
 * Host tests of what the block core records about its own work, with the
 * fake driver and the host's settable clock: the per-disk latency
 * histograms by op (blkdev_latency), and the trace ring (levblk/blk_trace.h):
 * its events for a plain, a merged and a requeued request, their order,
 * the ring wrapping, and nothing recorded with blk.trace=0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/bio.h>
#include <levblk/blk_trace.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include "blk/blk_driver.h"
#include "blk/blk_params.h"
#include "blk/blk_queue.h"
#include "blk/fake_drv.h"
#include "hal_host/hal_host.h"
#include "thread_stub.h"

void blk_dev_host_reset(void);

struct sb {
	struct bio bio;
	struct bio_seg seg;
	int ended, status;
};

static void sb_end(struct bio *b)
{
	struct sb *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
}

static void sb_rw(struct sb *t, struct fake_drv *fd, enum bio_op op, uint64_t sector, void *buf,
		  uint32_t len)
{
	memset(t, 0, sizeof(*t));
	t->seg = (struct bio_seg){buf, len};
	bio_init_rw(&t->bio, fd->dev, op, sector, &t->seg, 1, sb_end, t);
}

static struct fake_drv *fd;
static struct blk_trace_event ev[BLK_TRACE_EVENTS];

static int setup(void **state)
{
	hal_host_quiet = true;
	blk_param_merge = 1;
	blk_param_retries = 3;
	blk_param_trace = 0;
	hal_host_now_ns = 1000000;
	blk_trace_clear();
	/* 4096 sectors, 512-byte blocks, 16 segments, 64 KiB requests, 8 requests, ring of 8, cache. */
	fd = fake_create(4096, 512, 16, 65536, 128, 8, 8, true, false);
	return 0;
}

static int teardown(void **state)
{
	fake_destroy(fd);
	free(fd);
	blk_dev_host_reset();
	blk_param_trace = 0;
	return 0;
}

/* Submits t at the current time, completes everything `lat` ns later. */
static void run_one(struct sb *t, uint64_t lat)
{
	submit_bio(&t->bio);
	hal_host_now_ns += lat;
	fake_complete_all(fd);
	assert_int_equal(t->ended, 1);
	assert_int_equal(t->status, 0);
}

static void test_latency_by_op(void **state)
{
	static uint8_t buf[4096];
	struct blk_latency lat;
	struct sb t;

	sb_rw(&t, fd, BIO_OP_READ, 0, buf, 4096);
	run_one(&t, 5000);
	sb_rw(&t, fd, BIO_OP_READ, 64, buf, 4096);
	run_one(&t, 9000);
	sb_rw(&t, fd, BIO_OP_WRITE, 128, buf, 4096);
	run_one(&t, 70000);
	memset(&t, 0, sizeof(t));
	bio_init_nodata(&t.bio, fd->dev, BIO_OP_FLUSH, 0, 0, sb_end, &t);
	run_one(&t, 300000);
	memset(&t, 0, sizeof(t));
	bio_init_nodata(&t.bio, fd->dev, BIO_OP_DISCARD, 256, 8, sb_end, &t);
	run_one(&t, 1234);

	blkdev_latency(fd->dev, &lat);
	assert_int_equal(lat.op[BLK_LAT_READ].count, 2);
	assert_int_equal(lat.op[BLK_LAT_READ].min, 5000);
	assert_int_equal(lat.op[BLK_LAT_READ].max, 9000);
	assert_int_equal(lat.op[BLK_LAT_READ].sum, 14000);
	assert_int_equal(lat.op[BLK_LAT_WRITE].count, 1);
	assert_int_equal(lat.op[BLK_LAT_WRITE].max, 70000);
	assert_int_equal(lat.op[BLK_LAT_FLUSH].count, 1);
	assert_int_equal(lat.op[BLK_LAT_FLUSH].max, 300000);
	assert_int_equal(lat.op[BLK_LAT_OTHER].count, 1);
	assert_int_equal(lat.op[BLK_LAT_OTHER].max, 1234);
	assert_string_equal(blk_lat_op_name(BLK_LAT_OTHER), "other");

	/* A failed bio counts too; one the checks refuse never entered the queue: not counted. */
	fake_add_bad(fd, 512, -1);
	sb_rw(&t, fd, BIO_OP_READ, 512, buf, 512);
	submit_bio(&t.bio);
	hal_host_now_ns += 100;
	for (int i = 0; i < 16 && !t.ended; i++)
		fake_complete_all(fd);
	assert_int_equal(t.status, -EIO);
	sb_rw(&t, fd, BIO_OP_READ, 4096, buf, 512); /* past the end */
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
	blkdev_latency(fd->dev, &lat);
	assert_int_equal(lat.op[BLK_LAT_READ].count, 3);
}

/* The events recorded for one (dev, tag), in order. */
static unsigned int events_of(unsigned int n, uint32_t tag, uint8_t *out, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && k < max; i++)
		if (ev[i].tag == tag && ev[i].dev == fd->dev)
			out[k++] = ev[i].ev;
	return k;
}

static void test_trace_off_records_nothing(void **state)
{
	static uint8_t buf[4096];
	struct sb t;
	uint64_t dropped = 1;

	sb_rw(&t, fd, BIO_OP_WRITE, 0, buf, 4096);
	run_one(&t, 10);
	assert_int_equal(blk_trace_read(ev, BLK_TRACE_EVENTS, &dropped), 0);
	assert_int_equal(dropped, 0);
}

static void test_trace_merged_request(void **state)
{
	static uint8_t buf[3][4096];
	struct sb t[3];
	struct blk_plug plug;
	uint8_t seq[8];

	blk_param_trace = 1;
	/* Three adjacent writes under a plug: one request, made by the first, two merges. */
	blk_start_plug(&plug);
	for (int i = 0; i < 3; i++) {
		sb_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 8, buf[i], 4096);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	hal_host_now_ns += 777;
	fake_complete_all(fd);

	unsigned int n = blk_trace_read(ev, BLK_TRACE_EVENTS, NULL);
	assert_int_equal(n, 5);
	uint32_t tag = ev[0].tag;
	assert_int_equal(events_of(n, tag, seq, 8), 5);
	const uint8_t want[5] = {BLK_TRACE_QUEUE, BLK_TRACE_MERGE, BLK_TRACE_MERGE,
				 BLK_TRACE_DISPATCH, BLK_TRACE_COMPLETE};
	assert_memory_equal(seq, want, 5);
	assert_int_equal(ev[0].sectors, 8);  /* made with the first bio */
	assert_int_equal(ev[2].sectors, 24); /* the range after the second merge */
	assert_int_equal(ev[3].sector, 0);
	assert_int_equal(ev[3].sectors, 24);
	assert_int_equal(ev[3].op, BIO_OP_WRITE);
	assert_int_equal(ev[4].status, 0);
	assert_true(ev[4].ns - ev[3].ns == 777); /* completed in a later lock hold */
	for (unsigned int i = 1; i < n; i++)
		assert_true(ev[i].ns >= ev[i - 1].ns);
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.requests, 1); /* one dispatch: what tools/blk-trace counts */
}

static void test_trace_requeue_after_error(void **state)
{
	static uint8_t buf[512];
	struct sb t;
	uint8_t seq[16];

	blk_param_trace = 1;
	fake_add_bad(fd, 100, 1); /* fails once, then succeeds */
	sb_rw(&t, fd, BIO_OP_READ, 100, buf, 512);
	submit_bio(&t.bio);
	for (int i = 0; i < 8 && !t.ended; i++)
		fake_complete_all(fd);
	assert_int_equal(t.status, 0);

	unsigned int n = blk_trace_read(ev, BLK_TRACE_EVENTS, NULL);
	unsigned int k = events_of(n, ev[0].tag, seq, 16);
	const uint8_t want[6] = {BLK_TRACE_QUEUE,   BLK_TRACE_DISPATCH, BLK_TRACE_COMPLETE,
				 BLK_TRACE_REQUEUE, BLK_TRACE_DISPATCH, BLK_TRACE_COMPLETE};
	assert_int_equal(k, 6);
	assert_memory_equal(seq, want, 6);
	assert_int_equal(ev[2].status, -EIO);
	assert_int_equal(ev[5].status, 0);
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.requests, 2); /* both dispatches */
}

static void test_trace_ring_wraps(void **state)
{
	static uint8_t buf[512];
	struct sb t;
	uint64_t dropped;
	const unsigned int ios = BLK_TRACE_EVENTS / 3 + 10; /* 3 events each: queue, dispatch, complete */

	blk_param_trace = 1;
	for (unsigned int i = 0; i < ios; i++) {
		sb_rw(&t, fd, BIO_OP_READ, i % 4096, buf, 512);
		run_one(&t, 1);
	}
	unsigned int n = blk_trace_read(ev, BLK_TRACE_EVENTS, &dropped);
	assert_int_equal(n, BLK_TRACE_EVENTS);
	assert_int_equal(dropped, 3ull * ios - BLK_TRACE_EVENTS);
	/* Oldest first: times never go back, and the last event is the last completion. */
	for (unsigned int i = 1; i < n; i++)
		assert_true(ev[i].ns >= ev[i - 1].ns);
	assert_int_equal(ev[n - 1].ev, BLK_TRACE_COMPLETE);
	assert_int_equal(ev[n - 1].sector, (ios - 1) % 4096);
	/* The oldest kept is event number `dropped` (0-based): its place in the q/d/c cycle. */
	static const uint8_t cycle[3] = {BLK_TRACE_QUEUE, BLK_TRACE_DISPATCH, BLK_TRACE_COMPLETE};
	assert_int_equal(ev[0].ev, cycle[dropped % 3]);
	/* A short read gets the oldest ones. */
	struct blk_trace_event few[4];
	assert_int_equal(blk_trace_read(few, 4, NULL), 4);
	assert_memory_equal(few, ev, sizeof(few));
	blk_trace_clear();
	assert_int_equal(blk_trace_read(ev, BLK_TRACE_EVENTS, &dropped), 0);
	assert_int_equal(dropped, 0);
}

static void test_trace_dump_lines(void **state)
{
	static uint8_t buf[512];
	struct sb t;

	blk_param_trace = 1;
	sb_rw(&t, fd, BIO_OP_WRITE, 40, buf, 512);
	run_one(&t, 5);
	hal_host_console_clear();
	blk_trace_dump();
	assert_true(hal_host_console_has(" ev=queue op=write tag="));
	assert_true(hal_host_console_has(" ev=dispatch op=write tag="));
	assert_true(hal_host_console_has(" sector=40 sectors=1 status=0\n"));
	assert_true(hal_host_console_has("TRACE_END events=3 dropped=0\n"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_latency_by_op),	   T(test_trace_off_records_nothing),
	    T(test_trace_merged_request),	   T(test_trace_requeue_after_error),
	    T(test_trace_ring_wraps),	   T(test_trace_dump_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

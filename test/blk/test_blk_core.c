/*
 * Host tests of the block core (src/blk) with a fake driver: bio checks,
 * merging at each limit, splitting, the elevator's sweep and expiry, flush
 * ordering, backpressure, retries, plugging.
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
#include "blk/blk_bounce.h"
#include "blk/blk_params.h"
#include "blk/blk_queue.h"
#include "thread_stub.h"
#include "blk/blk_driver.h"
#include "blk/fake_drv.h"
#include "hal_host/hal_host.h"

void blk_dev_host_reset(void);

#define MAX_TSEGS 64

/* A bio with its own segments and a record of how it ended. */
struct tbio {
	struct bio bio;
	struct bio_seg seg[MAX_TSEGS];
	int ended;
	int status;
};

static void tbio_end(struct bio *b)
{
	struct tbio *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
}

/* One-segment data bio over buf. */
static void tbio_rw(struct tbio *t, struct fake_drv *fd, enum bio_op op, uint64_t sector, void *buf,
		    uint32_t len)
{
	memset(t, 0, sizeof(*t));
	t->seg[0] = (struct bio_seg){buf, len};
	bio_init_rw(&t->bio, fd->dev, op, sector, t->seg, 1, tbio_end, t);
}

static int setup(void **state)
{
	hal_host_quiet = true;
	blk_param_merge = 1;
	blk_param_retries = 3;
	blk_param_bounce = 0;
	return 0;
}

static struct fake_drv *all_fds[16];
static unsigned int n_fds;

static int teardown(void **state)
{
	for (unsigned int i = 0; i < n_fds; i++) {
		fake_destroy(all_fds[i]);
		free(all_fds[i]);
	}
	n_fds = 0;
	blk_dev_host_reset();
	blk_param_bounce = 0;
	return 0;
}

static struct fake_drv *mkdev(uint64_t cap, uint32_t lbs, uint32_t max_segs, uint32_t msb,
			      uint32_t max_sectors, uint32_t nr, uint32_t ring, bool cache, bool ro)
{
	struct fake_drv *fd =
	    fake_create(cap, lbs, max_segs, msb, max_sectors, nr, ring, cache, ro);
	all_fds[n_fds++] = fd;
	return fd;
}

/* Devices are freed by teardown (also when an assertion jumped out of the test). */
static void freedev(struct fake_drv *fd)
{
}

static void fill_buf(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

/* ---------------------------------------------------------------------------- */

static void expect_bad(struct tbio *t, int code)
{
	t->ended = 0;
	submit_bio(&t->bio);
	assert_int_equal(t->ended, 1);
	assert_int_equal(t->status, code);
}

static void test_bad_bios(void **state)
{
	struct fake_drv *fd = mkdev(1024, 4096, 16, 65536, 256, 8, 8, true, false);
	static uint8_t buf[8192];
	struct tbio t;

	/* empty: no segments */
	tbio_rw(&t, fd, BIO_OP_WRITE, 0, buf, 4096);
	t.bio.bio_nsegs = 0;
	expect_bad(&t, -EINVAL);
	/* a zero-length segment */
	tbio_rw(&t, fd, BIO_OP_WRITE, 0, buf, 4096);
	t.seg[1] = (struct bio_seg){buf, 0};
	t.bio.bio_nsegs = 2;
	expect_bad(&t, -EINVAL);
	/* length not a whole logical block (4 KiB disk) */
	tbio_rw(&t, fd, BIO_OP_READ, 0, buf, 512);
	expect_bad(&t, -EINVAL);
	/* start not aligned to the logical block */
	tbio_rw(&t, fd, BIO_OP_READ, 1, buf, 4096);
	expect_bad(&t, -EINVAL);
	/* past the end, by one block and by starting there */
	tbio_rw(&t, fd, BIO_OP_READ, 1016, buf, 8192);
	expect_bad(&t, -EINVAL);
	tbio_rw(&t, fd, BIO_OP_READ, 1024, buf, 4096);
	expect_bad(&t, -EINVAL);
	/* wrapping the 64-bit sector space */
	tbio_rw(&t, fd, BIO_OP_READ, UINT64_MAX - 7, buf, 4096);
	expect_bad(&t, -EINVAL);
	/* an op the device does not offer, and no op at all */
	tbio_rw(&t, fd, BIO_OP_READ, 0, buf, 4096);
	t.bio.bio_op = BIO_OP_WRITE_ZEROES;
	t.bio.bio_nsectors = 8;
	expect_bad(&t, -EOPNOTSUPP);
	t.bio.bio_op = 77;
	expect_bad(&t, -EOPNOTSUPP);
	/* identification must be exactly BIO_ID_BYTES */
	tbio_rw(&t, fd, BIO_OP_GET_ID, 0, buf, 10);
	expect_bad(&t, -EINVAL);
	/* discard of a misaligned range */
	memset(&t, 0, sizeof(t));
	bio_init_nodata(&t.bio, fd->dev, BIO_OP_DISCARD, 0, 4, tbio_end, &t);
	expect_bad(&t, -EINVAL);
	/* no device */
	tbio_rw(&t, fd, BIO_OP_READ, 0, buf, 4096);
	t.bio.bio_dev = NULL;
	expect_bad(&t, -ENODEV);
	/* the last block is fine: this one reaches the driver */
	tbio_rw(&t, fd, BIO_OP_READ, 1016, buf, 4096);
	submit_bio(&t.bio);
	assert_int_equal(fd->nlog, 1);
	/* submitted again while in flight: refused, nothing changes */
	submit_bio(&t.bio);
	assert_int_equal(fd->nlog, 1);
	assert_int_equal(t.ended, 0);
	fake_complete_all(fd);
	assert_int_equal(t.ended, 1);
	assert_int_equal(t.status, 0);

	/* read-only disk: writes and discards refused, reads allowed */
	struct fake_drv *ro = mkdev(1024, 512, 16, 65536, 256, 8, 8, true, true);
	tbio_rw(&t, ro, BIO_OP_WRITE, 0, buf, 512);
	expect_bad(&t, -EROFS);
	memset(&t, 0, sizeof(t));
	bio_init_nodata(&t.bio, ro->dev, BIO_OP_DISCARD, 0, 8, tbio_end, &t);
	expect_bad(&t, -EROFS);
	assert_int_equal(ro->nlog, 0);

	/* a broken device ends everything -ENODEV */
	struct blk_done done = BLK_DONE_INIT;
	irqflags_t f = blk_lock(ro->dev);
	blk_mark_broken_locked(ro->dev, &done);
	blk_unlock(ro->dev, f);
	tbio_rw(&t, ro, BIO_OP_READ, 0, buf, 512);
	expect_bad(&t, -ENODEV);
	assert_int_equal(ro->nlog, 0);

	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.errors, 11); /* the bio without a device is nobody's */
	assert_int_equal(c.in_flight, 0);
	assert_int_equal(c.queued, 0);
	freedev(fd);
	freedev(ro);
}

/* Occupies the only ring slot so that later bios stay queued. */
static void block_ring(struct fake_drv *fd, struct tbio *t, uint8_t *buf)
{
	tbio_rw(t, fd, BIO_OP_READ, 4000, buf, 512);
	submit_bio(&t->bio);
	assert_int_equal(fd->in_ring, 1);
}

static void test_back_and_front_merge(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 4096, 64, 8, 1, false, false);
	static uint8_t blk[512], a[4096], b[4096], c[4096], back[12288];
	struct tbio tb, ta, tb2, tc, tr;

	fill_buf(a, sizeof(a), 1);
	fill_buf(b, sizeof(b), 2);
	fill_buf(c, sizeof(c), 3);
	block_ring(fd, &tb, blk);
	tbio_rw(&ta, fd, BIO_OP_WRITE, 100, a, 4096);
	tbio_rw(&tb2, fd, BIO_OP_WRITE, 108, b, 4096); /* back merge */
	tbio_rw(&tc, fd, BIO_OP_WRITE, 92, c, 4096);   /* front merge */
	submit_bio(&ta.bio);
	submit_bio(&tb2.bio);
	submit_bio(&tc.bio);
	struct blk_counters ctr;
	blkdev_counters(fd->dev, &ctr);
	assert_int_equal(ctr.merges, 2);
	fake_complete(fd, fake_inflight_index(fd, 0), 0);
	assert_int_equal(fd->nlog, 2);
	assert_int_equal(fd->log[1].sector, 92);
	assert_int_equal(fd->log[1].sectors, 24);
	assert_int_equal(fd->log[1].nsegs, 3);
	fake_complete_all(fd);
	assert_int_equal(ta.status + tb2.status + tc.status, 0);
	assert_int_equal(ta.ended + tb2.ended + tc.ended, 3);
	assert_memory_equal(fd->disk + 92 * 512, c, 4096);
	assert_memory_equal(fd->disk + 100 * 512, a, 4096);
	assert_memory_equal(fd->disk + 108 * 512, b, 4096);

	/* And back: one read of all three */
	tbio_rw(&tr, fd, BIO_OP_READ, 92, back, sizeof(back));
	submit_bio(&tr.bio);
	fake_complete_all(fd);
	assert_int_equal(tr.status, 0);
	assert_memory_equal(back, c, 4096);
	assert_memory_equal(back + 8192, b, 4096);
	freedev(fd);
}

/* Submits n adjacent one-segment writes of `len` bytes from sector 0 behind a busy ring. */
static uint32_t requests_for(struct fake_drv *fd, uint32_t n, uint32_t len, enum bio_op op2)
{
	static uint8_t blk[512], bufs[16][8192];
	struct tbio tb, t[16];

	block_ring(fd, &tb, blk);
	uint32_t before = fd->nlog;
	uint64_t sector = 0;
	for (uint32_t i = 0; i < n; i++) {
		tbio_rw(&t[i], fd, (i == n - 1) ? op2 : BIO_OP_WRITE, sector, bufs[i], len);
		sector += len / 512;
		submit_bio(&t[i].bio);
	}
	fake_complete_all(fd);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, 0);
	}
	return fd->nlog - before;
}

static void test_merge_limits(void **state)
{
	struct fake_drv *fd;

	/* seg_max 8: ten 512-byte bios -> 8 + 2 */
	fd = mkdev(8192, 512, 8, 65536, 1024, 16, 1, false, false);
	assert_int_equal(requests_for(fd, 10, 512, BIO_OP_WRITE), 2);
	assert_int_equal(fd->max_nsegs_seen, 8);
	freedev(fd);
	/* max request size 16 sectors: three 8-sector bios -> 16 + 8 */
	fd = mkdev(8192, 512, 8, 65536, 16, 16, 1, false, false);
	assert_int_equal(requests_for(fd, 3, 4096, BIO_OP_WRITE), 2);
	freedev(fd);
	/* size_max 1 KiB: a 4 KiB buffer is 4 segments; seg_max 8 -> 2 bios per request */
	fd = mkdev(8192, 512, 8, 1024, 1024, 16, 1, false, false);
	assert_int_equal(requests_for(fd, 3, 4096, BIO_OP_WRITE), 2);
	assert_int_equal(fd->max_nsegs_seen, 8);
	freedev(fd);
	/* a different op never merges */
	fd = mkdev(8192, 512, 8, 65536, 1024, 16, 1, false, false);
	assert_int_equal(requests_for(fd, 3, 512, BIO_OP_READ), 2);
	freedev(fd);
	/* blk.merge=0 */
	blk_param_merge = 0;
	fd = mkdev(8192, 512, 8, 65536, 1024, 16, 1, false, false);
	assert_int_equal(requests_for(fd, 4, 512, BIO_OP_WRITE), 4);
	freedev(fd);
	blk_param_merge = 1;
	/* nothing merges into a request the driver already has */
	fd = mkdev(8192, 512, 8, 65536, 1024, 16, 16, false, false);
	static uint8_t bufs[4][512];
	struct tbio t[4];
	for (int i = 0; i < 4; i++) {
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i, bufs[i], 512);
		submit_bio(&t[i].bio);
	}
	assert_int_equal(fd->nlog, 4);
	fake_complete_all(fd);
	freedev(fd);
}

static void test_split(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 4, 4096, 16, 16, 16, false, false);
	/* Uneven segments in separate buffers: 10 KiB in 7 pieces. */
	static const uint32_t lens[] = {700, 324, 1000, 3072, 24, 2000, 3120};
	static uint8_t src[7][4096], dst[7][4096];
	struct tbio w, r;
	uint32_t total = 0;

	memset(&w, 0, sizeof(w));
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 7; i++) {
		fill_buf(src[i], lens[i], (uint32_t)i + 10);
		w.seg[i] = (struct bio_seg){src[i], lens[i]};
		r.seg[i] = (struct bio_seg){dst[i], lens[i]};
		total += lens[i];
	}
	assert_int_equal(total, 10240);
	bio_init_rw(&w.bio, fd->dev, BIO_OP_WRITE, 64, w.seg, 7, tbio_end, &w);
	submit_bio(&w.bio);
	/* 4 segments per request: 700+324+1000+3072 -> 9 sectors, the rest 11. */
	assert_int_equal(fd->nlog, 2);
	assert_int_equal(fd->log[0].sectors, 9);
	assert_int_equal(fd->log[1].sector, 73);
	assert_int_equal(fd->log[1].sectors, 11);
	for (uint32_t i = 0; i < fd->nlog; i++)
		assert_true(fd->log[i].nsegs <= 4);
	assert_int_equal(w.ended, 0); /* not before every piece is done */
	fake_complete_all(fd);
	assert_int_equal(w.ended, 1);
	assert_int_equal(w.status, 0);
	bio_init_rw(&r.bio, fd->dev, BIO_OP_READ, 64, r.seg, 7, tbio_end, &r);
	submit_bio(&r.bio);
	fake_complete_all(fd);
	assert_int_equal(r.status, 0);
	for (int i = 0; i < 7; i++)
		assert_memory_equal(src[i], dst[i], lens[i]);
	/* One 64 KiB buffer, 16-sector requests: 8 pieces. */
	static uint8_t one[65536], back[65536];
	struct tbio o;
	fill_buf(one, sizeof(one), 99);
	tbio_rw(&o, fd, BIO_OP_WRITE, 1024, one, sizeof(one));
	uint32_t before = fd->nlog;
	submit_bio(&o.bio);
	assert_int_equal(fd->nlog - before, 8);
	fake_complete_all(fd);
	assert_int_equal(o.status, 0);
	tbio_rw(&o, fd, BIO_OP_READ, 1024, back, sizeof(back));
	submit_bio(&o.bio);
	fake_complete_all(fd);
	assert_memory_equal(one, back, sizeof(one));
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.splits, 1 + 1 + 7 + 7);
	freedev(fd);

	/* A 4 KiB disk where not one logical block fits 4 segments of 1000 bytes. */
	fd = mkdev(8192, 4096, 4, 1000, 64, 16, 16, false, false);
	static uint8_t big[8192];
	struct tbio u;
	tbio_rw(&u, fd, BIO_OP_WRITE, 0, big, 4096);
	submit_bio(&u.bio);
	assert_int_equal(u.ended, 1);
	assert_int_equal(u.status, -EINVAL);
	assert_int_equal(fd->nlog, 0);
	freedev(fd);
}

static void test_sorted_sweep(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 1, false, false);
	static uint8_t bufs[5][512];
	static const uint64_t order_in[] = {800, 100, 500, 300};
	struct tbio t[5];

	tbio_rw(&t[0], fd, BIO_OP_READ, 400, bufs[0], 512);
	submit_bio(&t[0].bio);
	for (int i = 0; i < 4; i++) {
		tbio_rw(&t[i + 1], fd, BIO_OP_READ, order_in[i], bufs[i + 1], 512);
		submit_bio(&t[i + 1].bio);
	}
	fake_complete_all(fd);
	/* One-way sweep from 401 upwards, then wrap to the lowest: C-LOOK. */
	static const uint64_t want[] = {400, 500, 800, 100, 300};
	assert_int_equal(fd->nlog, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fd->log[i].sector, want[i]);
	freedev(fd);
}

/*
 * A stream of adjacent reads always ahead of the sweep, one completion per
 * millisecond; a bio far behind it (sector 8) must still go out: a read
 * only by FIFO expiry (so not before 500 ms, and not much after), a write
 * through the writes-starved bound, long before its 5 s deadline.
 */
static uint64_t far_dispatch_ms(enum bio_op far_op)
{
	struct fake_drv *fd = mkdev(1 << 22, 512, 8, 65536, 8, 64, 1, false, false);
	static uint8_t buf[512], fbuf[512];
	static struct tbio stream[64];
	struct tbio far;
	uint64_t next = 100000, t0 = hal_host_now_ns, when = UINT64_MAX;

	tbio_rw(&stream[0], fd, BIO_OP_READ, next++, buf, 512);
	submit_bio(&stream[0].bio);
	tbio_rw(&far, fd, far_op, 8, fbuf, 512);
	submit_bio(&far.bio);
	for (uint32_t step = 1; step < 20000 && when == UINT64_MAX; step++) {
		struct tbio *s = &stream[step % 64];
		tbio_rw(s, fd, BIO_OP_READ, next, buf, 512);
		next += 8; /* adjacent requests, each a full 8-sector request */
		s->bio.bio_sector = next - 8;
		s->seg[0].len = 512;
		submit_bio(&s->bio);
		hal_host_advance(NSEC_PER_MSEC);
		fake_complete(fd, fake_inflight_index(fd, 0), 0);
		for (uint32_t i = 0; i < fd->nlog; i++) {
			if (fd->log[i].sector == 8)
				when = (hal_host_now_ns - t0) / NSEC_PER_MSEC;
		}
	}
	fake_complete_all(fd);
	assert_int_equal(far.ended, 1);
	freedev(fd);
	return when;
}

static void test_fifo_expiry_bounds_read_starvation(void **state)
{
	uint64_t ms = far_dispatch_ms(BIO_OP_READ);
	assert_true(ms >= 500);
	assert_true(ms <= 500 + 2 * 16);
}

static void test_far_write_not_starved(void **state)
{
	uint64_t ms = far_dispatch_ms(BIO_OP_WRITE);
	assert_true(ms < 5000);
}

static void test_flush_ordering(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 8, true, false);
	static uint8_t a[512], b[512], c[512], d[512];
	struct tbio ta, tf, tb, tc, td;

	tbio_rw(&ta, fd, BIO_OP_WRITE, 0, a, 512);
	submit_bio(&ta.bio);
	memset(&tf, 0, sizeof(tf));
	bio_init_nodata(&tf.bio, fd->dev, BIO_OP_FLUSH, 0, 0, tbio_end, &tf);
	submit_bio(&tf.bio);
	tbio_rw(&tb, fd, BIO_OP_WRITE, 100, b, 512);
	submit_bio(&tb.bio);
	/* The flush waits for A; B waits for the flush. */
	assert_int_equal(fd->nlog, 1);
	fake_complete(fd, 0, 0);
	assert_int_equal(fd->nlog, 2);
	assert_int_equal(fd->log[1].op, BIO_OP_FLUSH);
	assert_int_equal(tf.ended, 0);
	fake_complete(fd, 1, 0);
	assert_int_equal(tf.ended, 1);
	assert_int_equal(fd->nlog, 3);
	assert_int_equal(fd->log[2].sector, 100);
	fake_complete(fd, 2, 0);

	/* PREFLUSH: a flush first, then the write. */
	tbio_rw(&tc, fd, BIO_OP_WRITE, 200, c, 512);
	tc.bio.bio_flags = BIO_PREFLUSH;
	submit_bio(&tc.bio);
	assert_int_equal(fd->nlog, 4);
	assert_int_equal(fd->log[3].op, BIO_OP_FLUSH);
	fake_complete(fd, 3, 0);
	assert_int_equal(fd->log[4].op, BIO_OP_WRITE);
	assert_int_equal(tc.ended, 0);
	fake_complete(fd, 4, 0);
	assert_int_equal(tc.ended, 1);

	/* FUA: the write, then a flush; end_io only after both. */
	tbio_rw(&td, fd, BIO_OP_WRITE, 300, d, 512);
	td.bio.bio_flags = BIO_FUA;
	submit_bio(&td.bio);
	fake_complete(fd, 5, 0);
	assert_int_equal(td.ended, 0);
	assert_int_equal(fd->log[6].op, BIO_OP_FLUSH);
	fake_complete(fd, 6, 0);
	assert_int_equal(td.ended, 1);
	assert_int_equal(td.status, 0);

	/* A failing flush fails the FUA write that depends on it. */
	blk_param_retries = 0;
	tbio_rw(&td, fd, BIO_OP_WRITE, 300, d, 512);
	td.bio.bio_flags = BIO_FUA;
	submit_bio(&td.bio);
	fake_complete(fd, 7, 0);
	fake_complete(fd, 8, -EIO);
	assert_int_equal(td.ended, 1);
	assert_int_equal(td.status, -EIO);
	freedev(fd);

	/* Without a volatile cache a flush ends at once and FUA adds nothing. */
	fd = mkdev(8192, 512, 8, 65536, 64, 16, 8, false, false);
	memset(&tf, 0, sizeof(tf));
	bio_init_nodata(&tf.bio, fd->dev, BIO_OP_FLUSH, 0, 0, tbio_end, &tf);
	submit_bio(&tf.bio);
	assert_int_equal(tf.ended, 1);
	assert_int_equal(tf.status, 0);
	tbio_rw(&td, fd, BIO_OP_WRITE, 300, d, 512);
	td.bio.bio_flags = BIO_FUA | BIO_PREFLUSH;
	submit_bio(&td.bio);
	assert_int_equal(fd->nlog, 1);
	fake_complete(fd, 0, 0);
	assert_int_equal(td.ended, 1);
	assert_int_equal(fd->nlog, 1);
	freedev(fd);
}

static void test_backpressure(void **state)
{
	/* 4 requests, a ring of 2, 64 scattered writes: all accepted, all done. */
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 4, 2, false, false);
	static uint8_t bufs[64][512];
	static struct tbio t[64];

	for (int i = 0; i < 64; i++) {
		fill_buf(bufs[i], 512, (uint32_t)i);
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 16, bufs[i], 512);
		submit_bio(&t[i].bio);
		assert_true(fd->in_ring <= 2);
	}
	assert_int_equal(fd->in_ring, 2);
	fake_complete_all(fd);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(fd->disk + i * 16 * 512, bufs[i], 512);
	}
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.in_flight, 0);
	assert_int_equal(c.queued, 0);
	assert_int_equal(c.requests, 64);
	freedev(fd);

	/* One kick for a batch: ten bios under a plug. */
	fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	struct blk_plug plug;
	blk_start_plug(&plug);
	for (int i = 0; i < 10; i++) {
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 16, bufs[i], 512);
		submit_bio(&t[i].bio);
	}
	assert_int_equal(fd->nlog, 0);
	blk_finish_plug(&plug);
	assert_int_equal(fd->nlog, 10);
	assert_int_equal(fd->notifies, 1);
	fake_complete_all(fd);
	freedev(fd);
}

static void test_retry_isolation(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 1, false, false);
	static uint8_t blk[512], bufs[4][4096];
	struct tbio tb, t[4];

	block_ring(fd, &tb, blk);
	for (int i = 0; i < 4; i++) {
		fill_buf(bufs[i], 4096, (uint32_t)i + 40);
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 8, bufs[i], 4096);
		submit_bio(&t[i].bio);
	}
	fake_add_bad(fd, 17, -1); /* inside the third bio */
	fake_complete_all(fd);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, i == 2 ? -EIO : 0);
		if (i != 2)
			assert_memory_equal(fd->disk + i * 8 * 512, bufs[i], 4096);
	}
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.errors, 1);
	assert_int_equal(c.retries, 1 + 3); /* the split into parts, then 3 tries of the bad one */
	assert_int_equal(c.in_flight, 0);
	freedev(fd);

	/* A transient error: retried, every bio succeeds. */
	fd = mkdev(8192, 512, 8, 65536, 64, 16, 1, false, false);
	block_ring(fd, &tb, blk);
	for (int i = 0; i < 4; i++) {
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 8, bufs[i], 4096);
		submit_bio(&t[i].bio);
	}
	fake_add_bad(fd, 9, 1);
	fake_complete_all(fd);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(fd->disk + i * 8 * 512, bufs[i], 4096);
	}
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.errors, 0);
	assert_true(c.retries >= 1);
	freedev(fd);
}

/* The deterministic merge test: counters, not time. */
static void test_plug_merges_256_writes(void **state)
{
	struct fake_drv *fd = mkdev(1 << 20, 512, 126, 65536, 2048, 64, 64, false, false);
	static uint8_t bufs[256][4096];
	static struct tbio t[256];
	struct blk_plug plug;

	blk_start_plug(&plug);
	for (int i = 0; i < 256; i++) {
		fill_buf(bufs[i], 4096, (uint32_t)i);
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 8, bufs[i], 4096);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	fake_complete_all(fd);
	struct blk_counters c;
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.bios, 256);
	assert_true(c.requests <= 8);
	assert_int_equal(c.merges, 256 - c.requests);
	for (int i = 0; i < 256; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(fd->disk + i * 4096, bufs[i], 4096);
	}
	freedev(fd);
}

/*
 * The plug's bound without a timer (levblk/bio.h): a tick flushes it only
 * once the oldest bio is BLK_PLUG_TIMEOUT_NS old, a submission after that
 * age flushes everything held, and a switch away flushes at once.
 */
static void test_plug_times_out(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 32, 65536, 64, 32, 32, false, false);
	enum { N = 2 * BLK_PLUG_CLOCK_EVERY + 8 };
	static uint8_t bufs[N][512];
	struct tbio t[N];
	struct blk_plug plug;
	uint64_t fl0, to0, fl, to;
	uint32_t n = 0;

	blk_plug_stats(&fl0, &to0);
	blk_start_plug(&plug);
	for (int i = 0; i < 3; i++, n++) {
		tbio_rw(&t[n], fd, BIO_OP_WRITE, n, bufs[n], 512);
		submit_bio(&t[n].bio);
	}
	hal_host_advance(BLK_PLUG_TIMEOUT_NS - 1);
	thread_stub_plug_event(THREAD_PLUG_TICK); /* too young: still held */
	assert_int_equal(fd->nlog, 0);
	hal_host_advance(1);
	assert_int_equal(fd->nlog, 0); /* no timer: time alone submits nothing */
	thread_stub_plug_event(THREAD_PLUG_TICK);
	assert_int_equal(fd->nlog, 1); /* all three, merged */
	blk_plug_stats(&fl, &to);
	assert_int_equal(fl - fl0, 1);
	assert_int_equal(to - to0, 1);

	/*
	 * Submissions look at the oldest held bio's age every
	 * BLK_PLUG_CLOCK_EVERY bios: one that looks and finds it too old
	 * flushes it and itself; the ones between do not look.
	 */
	uint32_t first = n;
	tbio_rw(&t[n], fd, BIO_OP_WRITE, n, bufs[n], 512);
	submit_bio(&t[n++].bio);
	hal_host_advance(BLK_PLUG_TIMEOUT_NS - 1);
	while (n < first + BLK_PLUG_CLOCK_EVERY + 1) { /* the last one looks: still young */
		tbio_rw(&t[n], fd, BIO_OP_WRITE, n, bufs[n], 512);
		submit_bio(&t[n++].bio);
	}
	assert_int_equal(fd->nlog, 1);
	hal_host_advance(1);
	while (n < first + 2 * BLK_PLUG_CLOCK_EVERY) { /* old now, but these do not look */
		tbio_rw(&t[n], fd, BIO_OP_WRITE, n, bufs[n], 512);
		submit_bio(&t[n++].bio);
	}
	assert_int_equal(fd->nlog, 1);
	tbio_rw(&t[n], fd, BIO_OP_WRITE, n, bufs[n], 512);
	submit_bio(&t[n++].bio); /* looks: too old */
	assert_int_equal(fd->nlog, 2);
	assert_int_equal(fd->log[1].sectors, 2 * BLK_PLUG_CLOCK_EVERY + 1);
	blk_plug_stats(&fl, &to);
	assert_int_equal(to - to0, 2);

	/* Stopping to run (block, sleep, yield, preemption) flushes whatever age. */
	fake_complete_all(fd);
	tbio_rw(&t[n], fd, BIO_OP_WRITE, n, bufs[n], 512);
	submit_bio(&t[n++].bio);
	assert_int_equal(fd->nlog, 2);
	thread_stub_plug_event(THREAD_PLUG_SWITCH);
	assert_int_equal(fd->nlog, 3);
	fake_complete_all(fd);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(t[i].status, 0);
	blk_finish_plug(&plug);
	assert_null(thread_plug());
	blk_plug_stats(&fl, &to);
	assert_int_equal(fl - fl0, 3);
	assert_int_equal(to - to0, 2);
	freedev(fd);
}

static void test_nodata_ops(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	struct tbio t;
	char id[BIO_ID_BYTES];

	memset(&t, 0, sizeof(t));
	bio_init_nodata(&t.bio, fd->dev, BIO_OP_DISCARD, 8, 200, tbio_end, &t);
	submit_bio(&t.bio);
	assert_int_equal(fd->nlog, 4); /* 64 + 64 + 64 + 8 */
	assert_int_equal(fd->log[3].sectors, 8);
	assert_int_equal(fd->log[3].nsegs, 0);
	fake_complete_all(fd);
	assert_int_equal(t.status, 0);

	memset(id, 0, sizeof(id));
	tbio_rw(&t, fd, BIO_OP_GET_ID, 0, id, sizeof(id));
	submit_bio(&t.bio);
	fake_complete_all(fd);
	assert_int_equal(t.status, 0);
	assert_string_equal(id, "fake-disk");
	freedev(fd);
}

/*
 * The core owns the deadlines: its timer calls the driver's timeout with
 * the oldest request once that one is due (not before), and after a reset
 * takes every in-flight request back and sends it again, ending each once.
 */
static void test_core_timeout_resends_after_reset(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	static uint8_t a[512], b[512];
	struct tbio ta, tb;
	struct blk_counters c;

	blk_param_timeout_ms = 30000;
	fd->reset_on_timeout = true;
	tbio_rw(&ta, fd, BIO_OP_WRITE, 0, a, 512);
	submit_bio(&ta.bio);
	hal_host_advance(NSEC_PER_MSEC);
	tbio_rw(&tb, fd, BIO_OP_WRITE, 100, b, 512);
	submit_bio(&tb.bio);
	assert_int_equal(fd->nlog, 2);
	struct request *first = fd->log[0].rq;
	hal_host_advance(30000 * NSEC_PER_MSEC - NSEC_PER_MSEC - 1);
	assert_int_equal(fd->timeouts, 0); /* one nanosecond early */
	hal_host_advance(1);
	assert_int_equal(fd->timeouts, 1);
	assert_ptr_equal(fd->timeout_rq, first);
	/* Both went out again, the one taken back first last (reverse order). */
	assert_int_equal(fd->nlog, 4);
	assert_int_equal(fd->log[2].sector, 100);
	assert_int_equal(fd->log[3].sector, 0);
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.timeouts, 1); /* only the first was overdue */
	assert_int_equal(c.in_flight, 2);
	fake_complete_all(fd);
	assert_int_equal(ta.ended, 1);
	assert_int_equal(ta.status, 0);
	assert_int_equal(tb.ended, 1);
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.errors, 0);
	assert_int_equal(c.in_flight, 0);
	/* Nothing in flight: the timer stays quiet. */
	hal_host_advance(100000 * NSEC_PER_MSEC);
	assert_int_equal(fd->timeouts, 1);
	freedev(fd);
}

/* A request stuck through blk.retries + 1 resets ends -ETIMEDOUT; a lost-interrupt answer resets nothing. */
static void test_core_timeout_gives_up_after_retries(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	static uint8_t a[512];
	struct tbio ta;

	blk_param_timeout_ms = 1000;
	blk_param_retries = 1;
	tbio_rw(&ta, fd, BIO_OP_READ, 0, a, 512);
	submit_bio(&ta.bio);
	/* The driver says it handled it (no reset): the request stays with it, a new deadline. */
	hal_host_advance(1000 * NSEC_PER_MSEC);
	assert_int_equal(fd->timeouts, 1);
	assert_int_equal(fd->nlog, 1);
	assert_int_equal(ta.ended, 0);
	fd->reset_on_timeout = true;
	hal_host_advance(1000 * NSEC_PER_MSEC); /* due again */
	assert_int_equal(fd->timeouts, 2);
	assert_int_equal(fd->nlog, 2); /* sent again */
	hal_host_advance(1000 * NSEC_PER_MSEC);
	assert_int_equal(fd->timeouts, 3);
	assert_int_equal(ta.ended, 1);
	assert_int_equal(ta.status, -ETIMEDOUT);
	assert_int_equal(fd->nlog, 2);
	blk_param_retries = 3;
	freedev(fd);
}

/* end_io resubmits from the completion interrupt: one batch, one kick. */
static int resubmits_left;
static void resubmit_end_io(struct bio *b)
{
	struct tbio *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
	if (resubmits_left > 0) {
		resubmits_left--;
		b->bio_sector += 1000; /* far from the others: no merging */
		submit_bio(b);
	}
}

static void test_resubmit_from_irq_is_batched(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	static uint8_t bufs[8][512];
	struct tbio t[8];

	for (int i = 0; i < 8; i++) {
		tbio_rw(&t[i], fd, BIO_OP_READ, (uint64_t)i * 64, bufs[i], 512);
		t[i].bio.bio_end_io = resubmit_end_io;
		submit_bio(&t[i].bio);
	}
	assert_int_equal(fd->nlog, 8);
	uint32_t kicks = fd->notifies;
	resubmits_left = 8;
	fake_complete_irq(fd, 8);
	assert_int_equal(fd->nlog, 16);		   /* all eight went out again ... */
	assert_int_equal(fd->notifies, kicks + 1); /* ... with one kick */
	fake_complete_all(fd);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(t[i].ended, 2);
		assert_int_equal(t[i].status, 0);
	}
}

/* bio_end_ns: the clock when the layer ended the bio, for good and bad bios alike. */
static void test_end_stamp(void **state)
{
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	static uint8_t buf[2][512];
	struct tbio t[3];

	tbio_rw(&t[0], fd, BIO_OP_READ, 0, buf[0], 512);
	tbio_rw(&t[1], fd, BIO_OP_READ, 64, buf[1], 512);
	tbio_rw(&t[2], fd, BIO_OP_READ, 8192, buf[1], 512); /* past the end */
	submit_bio(&t[0].bio);
	submit_bio(&t[1].bio);
	hal_host_now_ns += 5000;
	submit_bio(&t[2].bio);
	assert_int_equal(t[2].status, -EINVAL);
	assert_true(t[2].bio.bio_end_ns == hal_host_now_ns);
	hal_host_now_ns += 7000;
	fake_complete_all(fd);
	assert_int_equal(t[0].ended + t[1].ended, 2);
	assert_true(t[0].bio.bio_end_ns == hal_host_now_ns);
	assert_true(t[1].bio.bio_end_ns == hal_host_now_ns);
}

/*
 * The core tells the driver which request ends a run (queue_rq's `last`)
 * and rings once after it; ringing earlier is the driver's choice (the
 * fake never does). Full-size or small, merged or not: one doorbell per run.
 */
static void test_last_of_run(void **state)
{
	/* max_sectors 64: a 32 KiB bio is a full request and cannot merge. */
	struct fake_drv *fd = mkdev(8192, 512, 8, 65536, 64, 16, 16, false, false);
	static uint8_t bufs[6][32768];
	struct tbio t[6];
	struct blk_plug plug;
	struct blk_counters c;

	blk_start_plug(&plug);
	for (int i = 0; i < 4; i++) {
		tbio_rw(&t[i], fd, BIO_OP_READ, (uint64_t)i * 64, bufs[i], 32768);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	assert_int_equal(fd->nlog, 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(fd->log[i].sectors, 64);
		assert_int_equal(fd->log[i].notifies, 0); /* the core rings only after the run */
		assert_int_equal(fd->log[i].last, i == 3);
	}
	assert_int_equal(fd->notifies, 1);
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.kicks, 1);
	fake_complete_all(fd);

	/* Adjacent small requests, not merged: the last of six says so. */
	blk_param_merge = 0;
	blk_start_plug(&plug);
	for (int i = 0; i < 6; i++) {
		tbio_rw(&t[i], fd, BIO_OP_WRITE, 4000 + (uint64_t)i * 8, bufs[i], 4096);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	assert_int_equal(fd->nlog, 10);
	for (uint32_t i = 4; i < 10; i++)
		assert_int_equal(fd->log[i].last, i == 9);
	assert_int_equal(fd->notifies, 2);

	/* A run cut short by a full ring: none of it was "last"; a completion goes on. */
	fake_complete_all(fd);
	blk_start_plug(&plug);
	for (int i = 0; i < 6; i++) {
		tbio_rw(&t[i], fd, BIO_OP_WRITE, 5000 + (uint64_t)i * 8, bufs[i], 4096);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	fake_complete_all(fd);
	assert_true(fd->log[fd->nlog - 1].last);
	for (int i = 0; i < 6; i++)
		assert_int_equal(t[i].status, 0);
	freedev(fd);
}

/* ---------------------------------------------------------------------------- */
/* Blocks that straddle more segments than a request carries (bounce buffers). */

/* Cuts len bytes of buf into segments of the sizes in lens[], repeated. */
static uint32_t cut(struct tbio *t, uint8_t *buf, uint32_t len, const uint32_t *lens, uint32_t nl)
{
	uint32_t n = 0, off = 0;

	while (off < len) {
		assert_true(n < MAX_TSEGS);
		uint32_t l = lens[n % nl];
		if (l > len - off)
			l = len - off;
		t->seg[n++] = (struct bio_seg){buf + off, l};
		off += l;
	}
	return n;
}

static void assert_at_rest(struct fake_drv *fd)
{
	struct blk_resources r;
	struct blk_counters c;

	blkdev_resources(fd->dev, &r);
	blkdev_counters(fd->dev, &c);
	assert_true(r.bounce_slots > 0);
	assert_int_equal(r.bounce_free, r.bounce_slots);
	assert_true(blkdev_at_rest(&r, &c));
}

/* Writes and reads back len bytes at sector, cut by wlens and rlens. */
static void roundtrip_cut(struct fake_drv *fd, uint64_t sector, uint32_t len, const uint32_t *wlens,
			  uint32_t nw, const uint32_t *rlens, uint32_t nr)
{
	static uint8_t w[65536], r[65536];
	static struct tbio tw, tr;

	assert_true(len <= sizeof(w));
	fill_buf(w, len, (uint32_t)sector);
	memset(r, 0xee, len);
	memset(&tw, 0, sizeof(tw));
	bio_init_rw(&tw.bio, fd->dev, BIO_OP_WRITE, sector, tw.seg, cut(&tw, w, len, wlens, nw),
		    tbio_end, &tw);
	submit_bio(&tw.bio);
	fake_complete_all(fd);
	assert_int_equal(tw.ended, 1);
	assert_int_equal(tw.status, 0);
	assert_memory_equal(fd->disk + sector * 512, w, len);
	memset(&tr, 0, sizeof(tr));
	bio_init_rw(&tr.bio, fd->dev, BIO_OP_READ, sector, tr.seg, cut(&tr, r, len, rlens, nr),
		    tbio_end, &tr);
	submit_bio(&tr.bio);
	fake_complete_all(fd);
	assert_int_equal(tr.ended, 1);
	assert_int_equal(tr.status, 0);
	assert_memory_equal(r, w, len);
	assert_true(fd->max_nsegs_seen <= blkdev_info(fd->dev)->limits.max_segs);
}

/*
 * A device that takes one segment per request (no SEG_MAX), bios cut into
 * uneven segments: every block that lies in two or more of them used to
 * end the bio with -EINVAL; now it goes through a bounce buffer. 512-byte
 * and 4 KiB blocks, a 2-request ring.
 */
static void test_straddling_blocks_bounced(void **state)
{
	static const uint32_t wl[] = {8, 1000, 24, 3072, 40, 456, 2000};
	static const uint32_t rl[] = {1536, 8, 8, 511, 1, 4000};
	struct blk_counters c;

	for (int k = 0; k < 2; k++) {
		uint32_t lbs = k ? 4096 : 512;
		struct fake_drv *fd = mkdev(8192, lbs, 1, 65536, 64, 4, 2, false, false);
		roundtrip_cut(fd, 64, 32768, wl, 7, rl, 6);
		roundtrip_cut(fd, 1024, 4096, rl, 6, wl, 7);
		blkdev_counters(fd->dev, &c);
		assert_true(c.bounces > 0);
		assert_int_equal(c.errors, 0);
		assert_at_rest(fd);
	}
	/* seg_max 3 and 2000-byte segments (vq.indirect_segs-like limits): same. */
	struct fake_drv *fd = mkdev(8192, 512, 3, 2000, 64, 4, 2, false, false);
	roundtrip_cut(fd, 8, 40960, wl, 7, rl, 6);
	blkdev_counters(fd->dev, &c);
	assert_true(c.bounces > 0);
	assert_at_rest(fd);
}

/*
 * Only the straddling block is copied: the blocks around it go from the
 * caller's memory. Two segments per request; block 1 lies in four.
 */
static void test_only_straddling_blocks_copied(void **state)
{
	static const uint32_t lens[] = {512, 100, 100, 100, 212, 1536};
	struct fake_drv *fd = mkdev(8192, 512, 2, 65536, 64, 4, 4, false, false);
	static uint8_t w[2560];
	struct tbio t;
	struct blk_counters c;

	fill_buf(w, sizeof(w), 3);
	memset(&t, 0, sizeof(t));
	bio_init_rw(&t.bio, fd->dev, BIO_OP_WRITE, 0, t.seg, cut(&t, w, sizeof(w), lens, 6),
		    tbio_end, &t);
	submit_bio(&t.bio);
	fake_complete_all(fd);
	assert_int_equal(t.status, 0);
	assert_memory_equal(fd->disk, w, sizeof(w));
	blkdev_counters(fd->dev, &c);
	assert_int_equal(c.bounces, 1);
	assert_at_rest(fd);
}

/*
 * More straddling data in flight than the pool holds: bios wait for a
 * buffer (never fail), and all complete with the right data once buffers
 * come back.
 */
static void test_bounce_pool_exhausted_waits(void **state)
{
	enum { N = 8, LEN = 65536, SEG = 64, NSEG = LEN / SEG };
	static uint8_t bufs[N][LEN];
	static struct bio_seg segs[N][NSEG];
	static struct tbio t[N];
	struct fake_drv *fd = mkdev(8192, 512, 1, 65536, 128, 16, 16, false, false);
	struct blk_counters c;
	struct blk_resources r;

	/* Every block lies in 8 segments: each bio is copied whole, 64 KiB at a time. */
	for (int i = 0; i < N; i++) {
		fill_buf(bufs[i], LEN, (uint32_t)i + 1);
		for (int k = 0; k < NSEG; k++)
			segs[i][k] = (struct bio_seg){bufs[i] + k * SEG, SEG};
		memset(&t[i], 0, sizeof(t[i]));
		bio_init_rw(&t[i].bio, fd->dev, BIO_OP_WRITE, (uint64_t)i * 256, segs[i], NSEG,
			    tbio_end, &t[i]);
		submit_bio(&t[i].bio);
	}
	blkdev_counters(fd->dev, &c);
	blkdev_resources(fd->dev, &r);
	assert_true(c.bounce_waits > 0); /* the pool ran out ... */
	assert_true(r.pending_bios > 0); /* ... and bios wait for it, */
	assert_int_equal(r.bounce_free, 0);
	assert_true(r.free_requests > 0); /* not for requests */
	for (int i = 0; i < N; i++)
		assert_int_equal(t[i].ended, 0);
	fake_complete_all(fd);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(fd->disk + (uint64_t)i * 256 * 512, bufs[i], LEN);
	}
	assert_at_rest(fd);
}

/* ---------------------------------------------------------------------------- */
/* blk.bounce=1: the device is never given caller memory. */

/* Caller memory of the bounce-mode tests: whatever the "wire" shows must lie outside. */
static uint8_t bm_caller[6][16384];
static uint32_t bm_segs_seen, bm_segs_caller;

static void bm_seg_seen(void *ctx, const void *va, uint32_t len)
{
	const uint8_t *p = va, *lo = &bm_caller[0][0], *hi = lo + sizeof(bm_caller);

	(void)ctx;
	bm_segs_seen++;
	if (p < hi && p + len > lo)
		bm_segs_caller++;
}

/*
 * Writes, merged writes under a plug, a transient device error (the retry
 * sends the same buffer again), reads into uneven segments and GET_ID, all
 * checked for data, with every wire segment recorded: with blk.bounce=0
 * the caller's memory is on the wire (the control), with blk.bounce=1
 * never, and the pool is whole again afterwards.
 */
static void bounce_mode_run(bool bounce)
{
	static const uint32_t rl[] = {1536, 8, 8, 511, 1, 4000, 200};
	struct fake_drv *fd;
	struct tbio t[4], r;
	struct blk_plug plug;
	struct blk_counters c;

	blk_param_bounce = bounce;
	fd = mkdev(8192, 512, 16, 4096, 64, 16, 16, false, false);
	fd->seg_seen = bm_seg_seen;
	bm_segs_seen = bm_segs_caller = 0;
	blk_start_plug(&plug);
	for (int i = 0; i < 4; i++) { /* adjacent: they merge */
		fill_buf(bm_caller[i], 16384, (uint32_t)i + 70);
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 32, bm_caller[i], 16384);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	fake_add_bad(fd, 40, 1);
	fake_complete_all(fd);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(fd->disk + (uint64_t)i * 32 * 512, bm_caller[i], 16384);
	}
	memset(&r, 0, sizeof(r));
	bio_init_rw(&r.bio, fd->dev, BIO_OP_READ, 16, r.seg, cut(&r, bm_caller[4], 16384, rl, 7),
		    tbio_end, &r);
	submit_bio(&r.bio);
	fake_complete_all(fd);
	assert_int_equal(r.status, 0);
	assert_memory_equal(bm_caller[4], fd->disk + 16 * 512, 16384);
	tbio_rw(&r, fd, BIO_OP_GET_ID, 0, bm_caller[5], BIO_ID_BYTES);
	submit_bio(&r.bio);
	fake_complete_all(fd);
	assert_int_equal(r.status, 0);
	assert_string_equal((char *)bm_caller[5], "fake-disk");

	blkdev_counters(fd->dev, &c);
	assert_true(c.merges > 0);
	assert_true(c.retries > 0);
	assert_true(bm_segs_seen > 0);
	if (bounce) {
		assert_int_equal(bm_segs_caller, 0);
		assert_true(c.bounces >= 4 + 1 + 1);
	} else {
		assert_true(bm_segs_caller > 0);
		assert_int_equal(c.bounces, 0);
	}
	assert_at_rest(fd);
	assert_true(fd->max_nsegs_seen <= 16);
}

static void test_bounce_mode_hides_caller_memory(void **state)
{
	bounce_mode_run(false);
	bounce_mode_run(true);
}

/* blk.bounce=1 with the smallest pool (64 KiB): more data in flight than it holds waits. */
static void test_bounce_mode_small_pool_waits(void **state)
{
	static uint8_t bufs[8][16384];
	static struct tbio t[8];
	struct blk_resources res;
	struct blk_counters c;

	blk_param_bounce = 1;
	blk_param_bounce_kib = 64;
	struct fake_drv *fd = mkdev(8192, 4096, 8, 65536, 64, 16, 16, false, false);
	blk_param_bounce_kib = 8192;
	for (int i = 0; i < 8; i++) { /* far apart: no merges */
		fill_buf(bufs[i], sizeof(bufs[i]), (uint32_t)i + 90);
		tbio_rw(&t[i], fd, BIO_OP_WRITE, (uint64_t)i * 512, bufs[i], sizeof(bufs[i]));
		submit_bio(&t[i].bio);
	}
	blkdev_resources(fd->dev, &res);
	blkdev_counters(fd->dev, &c);
	assert_int_equal(res.bounce_slots, 16);
	assert_int_equal(fd->in_ring, 4); /* 4 x 16 KiB fill the pool ... */
	assert_true(c.bounce_waits > 0);  /* ... the rest wait */
	fake_complete_all(fd);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(fd->disk + (uint64_t)i * 512 * 512, bufs[i], sizeof(bufs[i]));
	}
	assert_at_rest(fd);
}

#define CORE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CORE_TEST(test_bad_bios),
	    CORE_TEST(test_back_and_front_merge),
	    CORE_TEST(test_merge_limits),
	    CORE_TEST(test_split),
	    CORE_TEST(test_sorted_sweep),
	    CORE_TEST(test_fifo_expiry_bounds_read_starvation),
	    CORE_TEST(test_far_write_not_starved),
	    CORE_TEST(test_flush_ordering),
	    CORE_TEST(test_backpressure),
	    CORE_TEST(test_retry_isolation),
	    CORE_TEST(test_plug_merges_256_writes),
	    CORE_TEST(test_plug_times_out),
	    CORE_TEST(test_nodata_ops),
	    CORE_TEST(test_core_timeout_resends_after_reset),
	    CORE_TEST(test_core_timeout_gives_up_after_retries),
	    CORE_TEST(test_resubmit_from_irq_is_batched),
	    CORE_TEST(test_end_stamp),
	    CORE_TEST(test_last_of_run),
	    CORE_TEST(test_straddling_blocks_bounced),
	    CORE_TEST(test_only_straddling_blocks_copied),
	    CORE_TEST(test_bounce_pool_exhausted_waits),
	    CORE_TEST(test_bounce_mode_hides_caller_memory),
	    CORE_TEST(test_bounce_mode_small_pool_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Robustness of the virtio-blk driver and the block core against the
 * simulated device (test/sim):
 *  - stuck and lost completions: a swallowed request is found by its
 *    deadline, the device is reset and the request sent again; a dropped
 *    interrupt is found in the used ring and counted, without a reset; a
 *    request that stays stuck ends -ETIMEDOUT after blk.retries resets;
 *    nothing happens before the deadline;
 *  - hostile devices at the block level, one test each: a wrong status
 *    byte, a used length too large and too short, a completion for a
 *    request not in flight, a used index jump, a device that completes
 *    twice. (Completions out of order: test_vblk's
 *    test_out_of_order_completions.) In each, the affected bios end -EIO or
 *    -ENODEV, the device is broken exactly when the virtqueue says so, a
 *    second device keeps working, and nothing leaks;
 *  - with blk.bounce=1: a reset resends from the same bounce buffer, which
 *    goes back to the pool only at completion; after a reset that is not
 *    confirmed the bio ends (the device never had the caller's memory) but
 *    the buffer stays with the device and its late write lands there; a
 *    flush, which holds no caller memory either, ends too without bouncing.
 * The clock is the host HAL's: hal_host_advance() fires the deadline timer.
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
#include <levblk/hal/clock.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtio_spec.h>
#include "blk/blk_bounce.h"
#include "blk/blk_params.h"
#include "blk/virtio_blk.h"
#include "hal_host/hal_host.h"
#include "blk/vblk_fixture.h"
#include "sim/sim.h"

#define TIMEOUT_MS 1000u
#define NDEV	   2u
#define NBIO	   4u
#define BIO_BYTES  2048u

struct tb {
	struct bio bio;
	struct bio_seg seg;
	int ended, status;
};

static struct sim_dev *sims[NDEV];
static uint8_t wbuf[NDEV][NBIO][BIO_BYTES], rbuf[NBIO][BIO_BYTES];
static struct tb tbs[NBIO], tbs_other[NBIO];

static void tb_end(struct bio *b)
{
	struct tb *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
}

static void count_end(struct bio *b)
{
	(*(int *)b->bio_private)++;
}

static void tb_rw(struct tb *t, struct blkdev *dev, enum bio_op op, uint64_t sector, uint8_t *buf)
{
	memset(t, 0, sizeof(*t));
	t->seg = (struct bio_seg){buf, BIO_BYTES};
	bio_init_rw(&t->bio, dev, op, sector, &t->seg, 1, tb_end, t);
}

/* Bio i of a batch: far apart, so no two merge (one request each). */
static uint64_t bio_sector(unsigned int i)
{
	return 64u * i + 8u;
}

static void bring_up(void)
{
	struct sim_blk_cfg c[NDEV];

	for (unsigned int i = 0; i < NDEV; i++)
		sim_blk_cfg_default(&c[i]);
	vblk_fixture_bring_up(c, NDEV, sims);
	for (unsigned int d = 0; d < NDEV; d++)
		for (unsigned int i = 0; i < NBIO; i++)
			for (unsigned int k = 0; k < BIO_BYTES; k++)
				wbuf[d][i][k] = (uint8_t)(d * 71 + i * 13 + k * 7 + (k >> 8));
}

static int setup(void **state)
{
	vblk_fixture_setup(state);
	blk_param_timeout_ms = TIMEOUT_MS;
	bring_up();
	return 0;
}

static void submit_batch_to(struct tb *t, unsigned int d, enum bio_op op)
{
	for (unsigned int i = 0; i < NBIO; i++) {
		tb_rw(&t[i], blkdev_get(d), op, bio_sector(i),
		      op == BIO_OP_WRITE ? wbuf[d][i] : rbuf[i]);
		submit_bio(&t[i].bio);
	}
}

static void submit_batch(unsigned int d, enum bio_op op)
{
	submit_batch_to(tbs, d, op);
}

static void run_dev(unsigned int d)
{
	while (sim_pending(sims[d]))
		sim_process(sims[d], 16, SIM_ORDER_FIFO);
}

/* Everything back at rest: no request, descriptor or bio held anywhere. */
static void assert_at_rest(unsigned int d)
{
	struct blk_resources r;
	struct blk_counters c;

	blkdev_resources(blkdev_get(d), &r);
	blkdev_counters(blkdev_get(d), &c);
	assert_int_equal(c.in_flight, 0);
	assert_int_equal(c.queued, 0);
	assert_int_equal(r.free_requests, r.nr_requests);
	assert_int_equal(r.ring_in_flight, 0);
	assert_int_equal(r.pending_bios, 0);
	if (!blkdev_broken(blkdev_get(d)))
		assert_int_equal(r.ring_free, r.ring_size);
	assert_true(blkdev_at_rest(&r, &c) || blkdev_broken(blkdev_get(d)));
}

/* The other device still reads and writes correctly. */
static void assert_other_works(unsigned int d)
{
	submit_batch(d, BIO_OP_WRITE);
	run_dev(d);
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, 0);
		assert_memory_equal(sim_blk_data(sims[d]) + bio_sector(i) * 512, wbuf[d][i],
				    BIO_BYTES);
	}
	submit_batch(d, BIO_OP_READ);
	run_dev(d);
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs[i].status, 0);
		assert_memory_equal(rbuf[i], wbuf[d][i], BIO_BYTES);
	}
	assert_at_rest(d);
}

static void assert_written(unsigned int d)
{
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, 0);
		assert_memory_equal(sim_blk_data(sims[d]) + bio_sector(i) * 512, wbuf[d][i],
				    BIO_BYTES);
	}
}

/* --- stuck and lost completions ---------------------------------------------- */

static void test_timeout_swallowed_request_reset_and_resubmitted(void **state)
{
	struct blk_counters c;
	struct sim_stats st;

	submit_batch(0, BIO_OP_WRITE);
	sim_set_hostile(sims[0], SIM_HOSTILE_SWALLOW); /* the first request is never completed */
	run_dev(0);
	assert_int_equal(tbs[0].ended, 0);
	for (unsigned int i = 1; i < NBIO; i++)
		assert_int_equal(tbs[i].ended, 1);
	/* Just before the deadline nothing happens. */
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC - 1);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 0);
	assert_int_equal(c.in_flight, 1);
	/* At the deadline: reset, set up again, the request is sent again. */
	hal_host_advance(1);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 1);
	assert_int_equal(c.timeouts, 1);
	assert_int_equal(c.lost_irqs, 0);
	assert_int_equal(c.in_flight, 1);
	assert_int_equal(sim_pending(sims[0]), 1);
	assert_false(blkdev_broken(blkdev_get(0)));
	run_dev(0);
	assert_written(0);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.errors, 0);
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.driver_errors, 0);
	assert_at_rest(0);
	/* The watch is idle again: time passing changes nothing. */
	hal_host_advance(10ull * TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 1);
	/* The device works after its reset; so does the other one. */
	assert_other_works(0);
	assert_other_works(1);
}

static void test_timeout_lost_irq_counted_without_reset(void **state)
{
	struct blk_counters c;

	submit_batch(0, BIO_OP_WRITE);
	sim_set_hostile(sims[0], SIM_HOSTILE_DROP_IRQ);
	sim_process(sims[0], NBIO, SIM_ORDER_FIFO); /* all done, but no interrupt */
	for (unsigned int i = 0; i < NBIO; i++)
		assert_int_equal(tbs[i].ended, 0);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.lost_irqs, 1);
	assert_int_equal(c.resets, 0);
	assert_int_equal(c.timeouts, 0);
	assert_written(0);
	assert_at_rest(0);
	assert_other_works(0);
}

/*
 * vq.coalesce: completions held back by a delayed interrupt are not lost
 * interrupts, and never wait for a request that may not come beyond the
 * deadline. Four writes in flight, vq.coalesce_min=2: the first completion
 * interrupts and re-arms three quarters of the way through the three left
 * (the third completion from then); the device completes one more and
 * stops. At the deadline (the same for all four) the one waiting in the
 * ring ends, not counted as a lost interrupt: first, when it is the oldest
 * (FIFO), or on the way to resetting for the oldest (LIFO). Either way the
 * two stuck on the device then cost one reset and two timeouts, and are
 * sent again.
 */
static void coalesced_then_stall(enum sim_order order)
{
	struct blk_counters c;

	vblk_param_coalesce = 1;
	vblk_param_coalesce_min = 2;
	submit_batch(0, BIO_OP_WRITE);
	sim_process(sims[0], 1, order); /* an interrupt: re-armed two completions ahead */
	sim_process(sims[0], 1, order); /* in the ring, no interrupt yet */
	unsigned int waiting = order == SIM_ORDER_FIFO ? 1 : NBIO - 2;
	assert_int_equal(tbs[waiting].ended, 0);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.in_flight, NBIO - 1);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	assert_int_equal(tbs[waiting].ended, 1);
	assert_int_equal(tbs[waiting].status, 0);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.lost_irqs, 0);
	assert_int_equal(c.resets, 1);
	assert_int_equal(c.timeouts, 2);
	run_dev(0);
	vblk_param_coalesce = 0;
	vblk_param_coalesce_min = 8;
	assert_written(0);
	assert_at_rest(0);
	assert_other_works(0);
}

static void test_coalesced_oldest_waiting_ended_at_deadline(void **state)
{
	coalesced_then_stall(SIM_ORDER_FIFO);
}

static void test_coalesced_with_stuck_oldest_resets(void **state)
{
	coalesced_then_stall(SIM_ORDER_LIFO);
}

static void test_timeout_gives_up_with_etimedout(void **state)
{
	struct blk_counters c;

	blk_param_retries = 2;
	tb_rw(&tbs[0], blkdev_get(0), BIO_OP_READ, 8, rbuf[0]);
	submit_bio(&tbs[0].bio);
	/* Swallowed on every attempt: the first send and blk.retries resends. */
	for (unsigned int attempt = 0; attempt <= blk_param_retries; attempt++) {
		assert_int_equal(tbs[0].ended, 0);
		assert_int_equal(sim_pending(sims[0]), 1);
		sim_set_hostile(sims[0], SIM_HOSTILE_SWALLOW);
		run_dev(0);
		hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	}
	assert_int_equal(tbs[0].ended, 1);
	assert_int_equal(tbs[0].status, -ETIMEDOUT);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, blk_param_retries + 1);
	assert_int_equal(c.timeouts, blk_param_retries + 1);
	assert_int_equal(c.errors, 1);
	assert_false(blkdev_broken(blkdev_get(0))); /* the device answers again after a reset */
	assert_at_rest(0);
	assert_other_works(0);
	assert_other_works(1);
}

/*
 * A stuck device whose reset never completes: it may still write into the
 * buffers it holds, so the in-flight bios are quarantined (never end) and
 * the device is fenced. Shown by the device doing so: a read it held past
 * the deadline is completed after the driver gave up, and its bio still
 * has not ended (before the fix it had ended -ETIMEDOUT, and the late
 * completion wrote into a buffer its owner had got back).
 */
static void test_timeout_reset_unconfirmed_quarantines(void **state)
{
	struct sim_blk_cfg cfg;
	struct blk_counters c;

	sim_blk_cfg_default(&cfg);
	vblk_fixture_bring_up(&cfg, 1, sims);
	memset(sim_blk_data(sims[0]) + 8 * 512, 0xd7, BIO_BYTES);
	tb_rw(&tbs[0], blkdev_get(0), BIO_OP_READ, 8, rbuf[0]);
	submit_bio(&tbs[0].bio);
	assert_int_equal(sim_pending(sims[0]), 1); /* held by the device, not completed */
	sim_set_reset_hangs(sims[0], true);	   /* from now on a reset is ignored */
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	assert_int_equal(tbs[0].ended, 0);
	assert_true(blkdev_broken(blkdev_get(0)));
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.in_flight, 1); /* the quarantined request */
	/* The device does write the buffer later: its bio has still not ended. */
	memset(rbuf[0], 0x11, BIO_BYTES);
	assert_int_equal(sim_process(sims[0], 1, SIM_ORDER_FIFO), 1);
	assert_int_equal(rbuf[0][0], 0xd7);
	hal_host_advance(10ull * TIMEOUT_MS * NSEC_PER_MSEC);
	assert_int_equal(tbs[0].ended, 0);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 1); /* fenced: no further attempts */
	/* Fenced: new bios end -ENODEV at once and never reach the device. */
	tb_rw(&tbs[1], blkdev_get(0), BIO_OP_READ, 8, rbuf[1]);
	submit_bio(&tbs[1].bio);
	assert_int_equal(tbs[1].ended, 1);
	assert_int_equal(tbs[1].status, -ENODEV);
	assert_int_equal(sim_pending(sims[0]), 0);
}

/*
 * A broken queue (the device wrote an impossible used entry) is reset
 * before its bios end: the chains it still held are dropped by the reset,
 * so a buffer the owner reuses after the -ENODEV is never written. Before
 * the fix the device stayed live and wrote the three other reads' data
 * into buffers whose bios had ended.
 */
static void test_broken_queue_reset_before_bios_end(void **state)
{
	blk_param_retries = 0;
	for (unsigned int i = 0; i < NBIO; i++)
		memset(sim_blk_data(sims[0]) + bio_sector(i) * 512, 0xd7, BIO_BYTES);
	submit_batch(0, BIO_OP_READ);
	assert_int_equal(sim_pending(sims[0]), NBIO);
	sim_set_hostile(sims[0], SIM_HOSTILE_LEN_TOO_LARGE);
	sim_process(sims[0], 1, SIM_ORDER_FIFO); /* breaks the queue */
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, -ENODEV);
	}
	assert_true(blkdev_broken(blkdev_get(0)));
	assert_int_equal(sim_status(sims[0]) & VIRTIO_STATUS_DRIVER_OK, 0);
	/* The owners reuse their buffers; whatever the device still does, they stay theirs. */
	memset(rbuf, 0x11, sizeof(rbuf));
	sim_process(sims[0], NBIO, SIM_ORDER_FIFO);
	for (unsigned int i = 0; i < NBIO; i++)
		for (unsigned int k = 0; k < BIO_BYTES; k++)
			assert_int_equal(rbuf[i][k], 0x11);
	assert_at_rest(0);
	assert_other_works(1);
}

/* A broken queue whose reset is not confirmed: its bios never end (quarantined). */
static void test_broken_queue_reset_unconfirmed_quarantines(void **state)
{
	struct blk_counters c;

	blk_param_retries = 0;
	submit_batch(0, BIO_OP_READ);
	sim_set_reset_hangs(sims[0], true);
	sim_set_hostile(sims[0], SIM_HOSTILE_LEN_TOO_LARGE);
	sim_process(sims[0], 1, SIM_ORDER_FIFO);
	assert_true(blkdev_broken(blkdev_get(0)));
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.in_flight, NBIO);
	/* The device goes on writing into their buffers: none of them has ended. */
	assert_int_equal(sim_process(sims[0], NBIO, SIM_ORDER_FIFO), NBIO - 1);
	hal_host_advance(10ull * TIMEOUT_MS * NSEC_PER_MSEC);
	for (unsigned int i = 0; i < NBIO; i++)
		assert_int_equal(tbs[i].ended, 0);
	blk_param_retries = 3;
	assert_other_works(1);
}

static void test_no_timeout_before_deadline(void **state)
{
	struct blk_counters c;

	submit_batch(0, BIO_OP_WRITE);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC / 2);
	run_dev(0); /* slow but in time */
	hal_host_advance(10ull * TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets + c.timeouts + c.lost_irqs, 0);
	assert_written(0);
	assert_at_rest(0);
}

/* --- hostile devices ----------------------------------------------------------- */

/*
 * Runs a batch of reads on vda with the hostile mode applied to the first
 * completion, then checks the outcome: `first` for the first bio, `rest`
 * for the others, whether vda is broken, and that vdb is unaffected.
 */
static void hostile_case(enum sim_hostile mode, int first, int rest, bool broken)
{
	blk_param_retries = 0; /* a one-shot fault must show, not be retried away */
	/* vdb has work in flight while vda misbehaves. */
	submit_batch_to(tbs_other, 1, BIO_OP_WRITE);
	assert_int_equal(sim_pending(sims[1]), NBIO);

	for (unsigned int i = 0; i < NBIO; i++) {
		tb_rw(&tbs[i], blkdev_get(0), BIO_OP_READ, bio_sector(i), rbuf[i]);
		submit_bio(&tbs[i].bio);
	}
	sim_set_hostile(sims[0], mode);
	sim_process(sims[0], 1, SIM_ORDER_FIFO); /* the hostile completion alone first */
	run_dev(0);
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, i == 0 ? first : rest);
	}
	assert_int_equal(blkdev_broken(blkdev_get(0)), broken);
	assert_at_rest(0);
	if (!broken) {
		assert_other_works(0);
	} else {
		tb_rw(&tbs[0], blkdev_get(0), BIO_OP_READ, 0, rbuf[0]);
		submit_bio(&tbs[0].bio);
		assert_int_equal(tbs[0].status, -ENODEV);
	}
	/* vdb: its in-flight writes complete, it goes on working. */
	blk_param_retries = 3;
	run_dev(1);
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs_other[i].ended, 1);
		assert_int_equal(tbs_other[i].status, 0);
	}
	assert_at_rest(1);
	assert_other_works(1);
}

/* Every chain completed in one batch, the first one twice: the queue breaks at once. */
static void hostile_case_all_at_once(enum sim_hostile mode)
{
	blk_param_retries = 0;
	submit_batch(0, BIO_OP_READ);
	sim_set_hostile(sims[0], mode);
	run_dev(0);
	for (unsigned int i = 0; i < NBIO; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, -ENODEV);
	}
	assert_true(blkdev_broken(blkdev_get(0)));
	assert_at_rest(0);
	blk_param_retries = 3;
	assert_other_works(1);
}

/* The first completion's status byte is 0x5a: not OK, IOERR or UNSUPP. */
static void test_hostile_wrong_status_byte(void **state)
{
	hostile_case(SIM_HOSTILE_GARBAGE_STATUS, -EIO, 0, false);
}

static void test_hostile_used_len_too_large(void **state)
{
	/* The virtqueue refuses the entry and breaks: everything ends -ENODEV. */
	hostile_case(SIM_HOSTILE_LEN_TOO_LARGE, -ENODEV, -ENODEV, true);
}

static void test_hostile_used_len_short(void **state)
{
	/* A read whose data the device says it did not write: that bio fails, nothing else. */
	hostile_case(SIM_HOSTILE_LEN_SHORT, -EIO, 0, false);
}

static void test_hostile_completion_not_in_flight(void **state)
{
	hostile_case(SIM_HOSTILE_ID_NOT_IN_FLIGHT, -ENODEV, -ENODEV, true);
}

static void test_hostile_used_idx_jump(void **state)
{
	/* The first entry is valid and consumed; the impossible index then breaks the queue. */
	hostile_case(SIM_HOSTILE_USED_IDX_JUMP, -ENODEV, -ENODEV, true);
}

static void test_hostile_completes_twice(void **state)
{
	/* The first completion is genuine (its data is there); the repeat breaks the queue. */
	hostile_case(SIM_HOSTILE_DOUBLE_COMPLETION, 0, -ENODEV, true);
	/* Everything completed twice at once: more used entries than chains in flight. */
	bring_up();
	hostile_case_all_at_once(SIM_HOSTILE_DOUBLE_COMPLETION);
}

/* A broken device stays broken: its recovery watch does not try to reset it. */
static void test_hostile_broken_device_not_reset(void **state)
{
	struct blk_counters c;

	hostile_case(SIM_HOSTILE_ID_OUT_OF_RANGE, -ENODEV, -ENODEV, true);
	hal_host_advance(10ull * TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 0);
}

/* Every test starts from setup (short blk.timeout_ms, devices up) and leaves nothing behind. */
/* --- recovery with blk.bounce=1 ---------------------------------------------------- */

/*
 * A swallowed write in bounce mode: the reset gives nothing back early; the
 * request is sent again from the same bounce buffer (the data is right),
 * and only its completion returns the buffer to the pool.
 */
static void test_bounce_reset_resends_from_its_buffer(void **state)
{
	struct blk_resources r;
	struct blk_counters c;

	blk_param_bounce = 1;
	bring_up();
	submit_batch(0, BIO_OP_WRITE);
	sim_set_hostile(sims[0], SIM_HOSTILE_SWALLOW);
	run_dev(0);
	assert_int_equal(tbs[0].ended, 0);
	blkdev_resources(blkdev_get(0), &r);
	assert_true(r.bounce_free < r.bounce_slots); /* the swallowed write's buffer */
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 1);
	blkdev_resources(blkdev_get(0), &r);
	assert_true(r.bounce_free < r.bounce_slots); /* still held: sent again */
	run_dev(0);
	assert_written(0);
	blkdev_counters(blkdev_get(0), &c);
	assert_true(c.bounces >= NBIO);
	assert_at_rest(0); /* the pool whole again */
	assert_other_works(1);
}

/*
 * A reset that is not confirmed, in bounce mode: the device never had the
 * caller's memory, so the read ends (-ENODEV) at once instead of being
 * quarantined; its bounce buffer stays with the device, never given back to
 * the pool, and the device's late write lands there, not in the caller's
 * buffer (without bouncing, test_timeout_reset_unconfirmed_quarantines
 * sees the bio never end and the caller's buffer overwritten).
 */
static void test_bounce_unconfirmed_reset_ends_bio_keeps_buffer(void **state)
{
	struct sim_blk_cfg cfg;
	struct blk_resources r;
	struct blk_counters c;

	blk_param_bounce = 1;
	sim_blk_cfg_default(&cfg);
	vblk_fixture_bring_up(&cfg, 1, sims);
	memset(sim_blk_data(sims[0]) + 8 * 512, 0xd7, BIO_BYTES);
	memset(rbuf[0], 0x11, BIO_BYTES);
	tb_rw(&tbs[0], blkdev_get(0), BIO_OP_READ, 8, rbuf[0]);
	submit_bio(&tbs[0].bio);
	assert_int_equal(sim_pending(sims[0]), 1);
	sim_set_reset_hangs(sims[0], true);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	assert_true(blkdev_broken(blkdev_get(0)));
	assert_int_equal(tbs[0].ended, 1);
	assert_int_equal(tbs[0].status, -ENODEV);
	blkdev_resources(blkdev_get(0), &r);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(r.bounce_free, r.bounce_slots - 1);	      /* stays with the device */
	assert_int_equal(c.in_flight, 1);			      /* so does the request */
	assert_int_equal(c.queued, 0);				      /* but no bio waits */
	assert_int_equal(sim_process(sims[0], 1, SIM_ORDER_FIFO), 1); /* the late write */
	for (unsigned int k = 0; k < BIO_BYTES; k++)
		assert_int_equal(rbuf[0][k], 0x11);
	hal_host_advance(10ull * TIMEOUT_MS * NSEC_PER_MSEC);
	assert_int_equal(tbs[0].ended, 1);
	blkdev_resources(blkdev_get(0), &r);
	assert_int_equal(r.bounce_free, r.bounce_slots - 1);
}

/*
 * Without bouncing too, a request that holds no caller memory (a flush)
 * ends -ENODEV when the reset is not confirmed; only requests with the
 * caller's buffers stay quarantined.
 */
static void test_unconfirmed_reset_ends_flush(void **state)
{
	struct sim_blk_cfg cfg;
	struct blk_counters c;
	struct bio f;
	int ended = 0;

	sim_blk_cfg_default(&cfg);
	vblk_fixture_bring_up(&cfg, 1, sims);
	bio_init_nodata(&f, blkdev_get(0), BIO_OP_FLUSH, 0, 0, count_end, &ended);
	submit_bio(&f);
	assert_int_equal(sim_pending(sims[0]), 1);
	sim_set_reset_hangs(sims[0], true);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	assert_true(blkdev_broken(blkdev_get(0)));
	assert_int_equal(ended, 1);
	assert_int_equal(f.bio_status, -ENODEV);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.queued, 0);
}

#define ROBUST_TEST(f) cmocka_unit_test_setup_teardown(f, setup, vblk_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    ROBUST_TEST(test_timeout_swallowed_request_reset_and_resubmitted),
	    ROBUST_TEST(test_timeout_lost_irq_counted_without_reset),
	    ROBUST_TEST(test_coalesced_oldest_waiting_ended_at_deadline),
	    ROBUST_TEST(test_coalesced_with_stuck_oldest_resets),
	    ROBUST_TEST(test_timeout_gives_up_with_etimedout),
	    ROBUST_TEST(test_timeout_reset_unconfirmed_quarantines),
	    ROBUST_TEST(test_broken_queue_reset_before_bios_end),
	    ROBUST_TEST(test_broken_queue_reset_unconfirmed_quarantines),
	    ROBUST_TEST(test_no_timeout_before_deadline),
	    ROBUST_TEST(test_hostile_wrong_status_byte),
	    ROBUST_TEST(test_hostile_used_len_too_large),
	    ROBUST_TEST(test_hostile_used_len_short),
	    ROBUST_TEST(test_hostile_completion_not_in_flight),
	    ROBUST_TEST(test_hostile_used_idx_jump),
	    ROBUST_TEST(test_hostile_completes_twice),
	    ROBUST_TEST(test_hostile_broken_device_not_reset),
	    ROBUST_TEST(test_bounce_reset_resends_from_its_buffer),
	    ROBUST_TEST(test_bounce_unconfirmed_reset_ends_bio_keeps_buffer),
	    ROBUST_TEST(test_unconfirmed_reset_ends_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

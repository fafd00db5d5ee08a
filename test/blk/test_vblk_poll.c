/*
 * Host tests of polled bios (submit_bio_poll, src/blk/bio_poll.c, and the
 * virtio-blk driver's poll operation) with the real driver, block core,
 * virtqueue and transport against the simulated device (test/sim), whose
 * interrupt line is level-triggered like QEMU's: data both ways, no
 * interrupt ever taken for a polled bio (the line is quieted before IRQs
 * come back), bios longer than a request split into several, device
 * errors, argument checks, queued I/O completed alongside, and a
 * misbehaving device.
 *
 * The poll has two defences against its interrupt: it asks the device not
 * to interrupt (vq_disable_cb, which the simulator honours like QEMU), and
 * it acks InterruptStatus before IRQs come back on (for a device that does
 * not).
 *
 * The device's time does not pass on the host, so the deadline paths
 * (blk.timeout_ms) are not exercised here.
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
#include <levblk/kern/thread.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtio_spec.h>
#include "blk/blk_params.h"
#include "blk/blk_bounce.h"
#include "blk/virtio_blk.h"
#include "hal_host/hal_host.h"
#include "blk/vblk_fixture.h"
#include "sim/sim.h"

static struct sim_dev *sim;

/* One polled bio over buf, as run=bench engine=sync makes them. */
static int poll_io(struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf, uint32_t len)
{
	struct bio b;

	bio_init_buf(&b, dev, op, sector, buf, len, NULL, NULL);
	return submit_bio_poll(&b);
}

static struct blkdev *bring_up(const struct sim_blk_cfg *cfg)
{
	vblk_fixture_bring_up(cfg, 1, &sim);
	sim_set_autocomplete(sim, true);
	return blkdev_get(0);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void end_count(struct bio *b)
{
	(*(int *)b->bio_private)++;
}

/* Any interrupt still pending would be taken now: IRQs are on in the test. */
static void assert_no_irq_taken(struct blkdev *dev)
{
	struct blk_counters ctr;

	sim_deliver_irqs();
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.irqs, 0);
	assert_int_equal(ctr.in_flight, 0);
}

static void test_roundtrip_without_interrupts(void **state)
{
	static uint8_t w[8192], r[8192];
	struct sim_blk_cfg c;
	struct blk_counters ctr;
	struct sim_stats st;

	sim_blk_cfg_default(&c);
	struct blkdev *dev = bring_up(&c);
	fill(w, sizeof(w), 3);
	assert_int_equal(poll_io(dev, BIO_OP_WRITE, 64, w, sizeof(w)), 0);
	assert_memory_equal(sim_blk_data(sim) + 64 * 512, w, sizeof(w));
	assert_int_equal(poll_io(dev, BIO_OP_READ, 64, r, sizeof(r)), 0);
	assert_memory_equal(r, w, sizeof(w));
	assert_no_irq_taken(dev);

	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.bios, 2);
	assert_int_equal(ctr.requests, 2);
	assert_int_equal(ctr.kicks, 2);
	assert_int_equal(ctr.errors, 0);
	sim_get_stats(sim, &st);
	assert_int_equal(st.driver_errors, 0);
	assert_int_equal(st.reads, 1);
	assert_int_equal(st.writes, 1);

	/* The queued path still works afterwards, interrupt and all. */
	struct bio b;
	struct bio_seg seg = {r, 4096};
	int ended = 0;
	bio_init_rw(&b, dev, BIO_OP_READ, 0, &seg, 1, end_count, &ended);
	submit_bio(&b);
	sim_process(sim, UINT32_MAX, SIM_ORDER_FIFO);
	assert_int_equal(ended, 1);
	assert_int_equal(b.bio_status, 0);
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.irqs, 1);
}

/* The same on a legacy device without event index (the NO_INTERRUPT flag path). */
static void test_legacy_no_event_idx(void **state)
{
	static uint8_t w[4096], r[4096];
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	c.version = 1;
	c.event_idx = false;
	c.indirect = false;
	struct blkdev *dev = bring_up(&c);
	fill(w, sizeof(w), 9);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(poll_io(dev, BIO_OP_WRITE, (uint64_t)i * 8, w, sizeof(w)), 0);
		assert_int_equal(poll_io(dev, BIO_OP_READ, (uint64_t)i * 8, r, sizeof(r)), 0);
		assert_memory_equal(r, w, sizeof(w));
	}
	assert_no_irq_taken(dev);
}

/* 2 MiB is two requests of the driver's 1 MiB: one bio, split as any other. */
static void test_split_into_requests(void **state)
{
	static uint8_t w[2u << 20];
	struct sim_blk_cfg c;
	struct blk_counters ctr;
	struct sim_stats st;

	sim_blk_cfg_default(&c);
	c.capacity = 8192; /* 4 MiB */
	struct blkdev *dev = bring_up(&c);
	uint32_t max = blkdev_info(dev)->limits.max_sectors * 512;
	assert_true(max < sizeof(w)); /* it does split */
	fill(w, sizeof(w), 1);
	assert_int_equal(poll_io(dev, BIO_OP_WRITE, 2048, w, sizeof(w)), 0);
	assert_memory_equal(sim_blk_data(sim) + 2048 * 512, w, sizeof(w));
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.bios, 1);
	assert_int_equal(ctr.requests, (sizeof(w) + max - 1) / max);
	sim_get_stats(sim, &st);
	assert_int_equal(st.driver_errors, 0);
	assert_no_irq_taken(dev);
}

static void test_device_error(void **state)
{
	static uint8_t buf[4096];
	struct sim_blk_cfg c;
	struct blk_counters ctr;

	sim_blk_cfg_default(&c);
	struct blkdev *dev = bring_up(&c);
	sim_set_io_error(sim, 19);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 16, buf, sizeof(buf)), -EIO);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 24, buf, sizeof(buf)), 0);
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.errors, 1);
	assert_false(blkdev_broken(dev));
	assert_no_irq_taken(dev);
}

static void test_bad_arguments(void **state)
{
	static uint8_t buf[8192];
	struct sim_blk_cfg c[2];
	struct blk_counters ctr;

	sim_blk_cfg_default(&c[0]);
	c[0].capacity = 64;
	struct blkdev *dev = bring_up(&c[0]);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, 0), -EINVAL);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, 1000), -EINVAL);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 60, buf, 4096), -EINVAL); /* past the end */
	assert_int_equal(poll_io(dev, BIO_OP_READ, UINT64_MAX - 3, buf, 4096), -EINVAL);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 56, buf, 4096), 0); /* the last 8 sectors */
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.requests, 1);

	sim_blk_cfg_default(&c[1]);
	c[1].ro = true;
	dev = bring_up(&c[1]);
	assert_int_equal(poll_io(dev, BIO_OP_WRITE, 0, buf, 512), -EROFS);

	sim_blk_cfg_default(&c[1]);
	c[1].blk_size = 4096;
	dev = bring_up(&c[1]);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 1, buf, 4096), -EINVAL); /* not block-aligned */
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, 512), -EINVAL);  /* part of a block */
	assert_int_equal(poll_io(dev, BIO_OP_READ, 8, buf, 8192), 0);
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.requests, 1);
}

/*
 * Queued requests on the ring: the polled bio does not wait for them; what
 * the poll finds of theirs it completes as the interrupt would, the rest
 * completes by interrupt later.
 */
static void test_alongside_queued_io(void **state)
{
	static uint8_t q[4][4096], p[4096];
	struct bio b[4];
	struct bio_seg seg[4];
	struct sim_blk_cfg c;
	struct blk_counters ctr;
	int ended = 0;

	sim_blk_cfg_default(&c);
	struct blkdev *dev = bring_up(&c);
	sim_set_autocomplete(sim, false);
	for (int i = 0; i < 4; i++) {
		seg[i] = (struct bio_seg){q[i], sizeof(q[i])};
		bio_init_rw(&b[i], dev, BIO_OP_READ, (uint64_t)i * 64, &seg[i], 1, end_count,
			    &ended);
		submit_bio(&b[i]);
	}
	assert_true(sim_pending(sim) > 0);
	sim_set_autocomplete(sim, true);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 512, p, sizeof(p)), 0);
	sim_process(sim, UINT32_MAX, SIM_ORDER_FIFO);
	assert_int_equal(ended, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(b[i].bio_status, 0);
	sim_deliver_irqs();
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.errors, 0);
	assert_int_equal(ctr.in_flight, 0);
}

/* The fixture's default device, set to misbehave as `how` says (sim_set_hostile). */
static struct blkdev *bring_up_hostile(enum sim_hostile how)
{
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	struct blkdev *dev = bring_up(&c);
	sim_set_hostile(sim, how);
	return dev;
}

/* A used entry for a chain that is not in flight breaks the device: -ENODEV from then on. */
static void test_hostile_device(void **state)
{
	static uint8_t buf[4096];
	struct blkdev *dev = bring_up_hostile(SIM_HOSTILE_ID_OUT_OF_RANGE);

	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), -ENODEV);
	assert_true(blkdev_broken(dev));
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), -ENODEV);
}

/*
 * The polled request's -ENODEV comes only after the device was reset (it
 * can no longer write into the caller's buffer): before the fix the device
 * stayed live (DRIVER_OK) after the call returned.
 */
static void test_hostile_device_reset_before_return(void **state)
{
	static uint8_t buf[4096];
	struct blkdev *dev = bring_up_hostile(SIM_HOSTILE_ID_OUT_OF_RANGE);

	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), -ENODEV);
	assert_int_equal(sim_status(sim) & VIRTIO_STATUS_DRIVER_OK, 0);
}

/* A status byte the spec does not allow is an I/O error, not success. */
static void test_garbage_status(void **state)
{
	static uint8_t buf[4096];
	struct blkdev *dev = bring_up_hostile(SIM_HOSTILE_GARBAGE_STATUS);

	blk_param_retries = 0; /* polled bios are retried like any other: the fault must show */
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), 0);
	assert_no_irq_taken(dev);
}

/* A read whose used len does not cover its data is an I/O error, as on the queued path. */
static void test_short_used_len(void **state)
{
	static uint8_t buf[4096];
	struct blkdev *dev = bring_up_hostile(SIM_HOSTILE_LEN_SHORT);

	blk_param_retries = 0; /* polled bios are retried like any other: the fault must show */
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), -EIO);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 0, buf, sizeof(buf)), 0);
	assert_no_irq_taken(dev);
}

/* Every test starts from the fixture's defaults and leaves nothing behind. */
/* blk.bounce=1 holds for polled bios too: the device is given no caller address. */
static uint8_t bounce_caller[2][65536];
static uint32_t bounce_seen, bounce_in_caller;

static void bounce_addr_seen(void *ctx, uint64_t addr, uint32_t len)
{
	uintptr_t lo = (uintptr_t)bounce_caller, hi = lo + sizeof(bounce_caller);

	(void)ctx;
	bounce_seen++;
	if (addr < hi && addr + len > lo)
		bounce_in_caller++;
}

static void test_bounce_mode_polled(void **state)
{
	struct sim_blk_cfg c;
	struct blk_resources res;
	struct blk_counters ctr;

	blk_param_bounce = 1;
	sim_blk_cfg_default(&c);
	c.capacity = 4096;
	struct blkdev *dev = bring_up(&c);
	sim_set_seg_hook(sim, bounce_addr_seen, NULL);
	bounce_seen = bounce_in_caller = 0;
	fill(bounce_caller[0], sizeof(bounce_caller[0]), 31);
	assert_int_equal(poll_io(dev, BIO_OP_WRITE, 8, bounce_caller[0], 65536), 0);
	assert_int_equal(poll_io(dev, BIO_OP_READ, 8, bounce_caller[1], 65536), 0);
	assert_memory_equal(bounce_caller[1], bounce_caller[0], 65536);
	assert_memory_equal(sim_blk_data(sim) + 8 * 512, bounce_caller[0], 65536);
	assert_true(bounce_seen > 0);
	assert_int_equal(bounce_in_caller, 0);
	assert_no_irq_taken(dev);
	blkdev_counters(dev, &ctr);
	blkdev_resources(dev, &res);
	assert_true(ctr.bounces >= 2);
	assert_true(blkdev_at_rest(&res, &ctr));
}

#define VBLK_TEST(f) cmocka_unit_test_setup_teardown(f, vblk_fixture_setup, vblk_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VBLK_TEST(test_roundtrip_without_interrupts),
	    VBLK_TEST(test_legacy_no_event_idx),
	    VBLK_TEST(test_split_into_requests),
	    VBLK_TEST(test_device_error),
	    VBLK_TEST(test_bad_arguments),
	    VBLK_TEST(test_alongside_queued_io),
	    VBLK_TEST(test_hostile_device),
	    VBLK_TEST(test_hostile_device_reset_before_return),
	    VBLK_TEST(test_garbage_status),
	    VBLK_TEST(test_short_used_len),
	    VBLK_TEST(test_bounce_mode_polled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

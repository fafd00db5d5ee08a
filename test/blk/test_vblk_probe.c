/*
 * Host tests of what the virtio-blk driver does with a device's geometry and
 * of its probe's failure paths, against the simulated device (test/sim):
 * a geometry the layer cannot serve is refused in one line naming the disk
 * and the reason, never served with another geometry; a refused disk keeps
 * its name so the disks after it keep theirs; disks past the layer's limit
 * get a line; a failed probe gives its queue back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtio_spec.h>
#include "blk/blk_driver.h"
#include "blk/vblk_fixture.h"
#include "blk/virtio_blk.h"
#include "blk/virtio_blk_spec.h"
#include "hal_host/hal_host.h"
#include "sim/sim.h"

#define MANY_DISKS (BLKDEV_MAX + 2u)

static struct sim_dev *sims[MANY_DISKS];

/* A fresh bus with one device per cfg; returns the disks the driver took. */
static int probe(const struct sim_blk_cfg *cfgs, unsigned int n)
{
	unsigned int nslots;

	vblk_fixture_reset();
	hal_host_console_clear();
	for (unsigned int i = 0; i < n; i++)
		sims[i] = sim_add_blk(&cfgs[i]);
	assert_int_equal(vmmio_probe(sim_slots(&nslots), nslots), (int)n);
	return vblk_probe_all();
}

/* One default device whose configuration says capacity `cap` (the RAM disk stays small). */
static int probe_capacity(uint32_t blk_size, uint64_t cap)
{
	struct sim_blk_cfg c;
	unsigned int nslots;

	vblk_fixture_reset();
	hal_host_console_clear();
	sim_blk_cfg_default(&c);
	c.blk_size = blk_size;
	sims[0] = sim_add_blk(&c);
	sim_set_config(sims[0], VIRTIO_BLK_CFG_CAPACITY, &cap, sizeof(cap));
	assert_int_equal(vmmio_probe(sim_slots(&nslots), nslots), 1);
	return vblk_probe_all();
}

static void assert_refused(void)
{
	assert_int_equal(blkdev_count(), 0);
	assert_true(sim_status(sims[0]) & VIRTIO_STATUS_FAILED);
	assert_false(sim_status(sims[0]) & VIRTIO_STATUS_DRIVER_OK);
	assert_true(hal_host_console_has("virtio-blk: vda refused: "));
}

/* Was shown as 512-byte blocks, and every I/O then failed. */
static void test_blk_size_128k_refused(void **state)
{
	struct sim_blk_cfg c;

	(void)state;
	sim_blk_cfg_default(&c);
	c.blk_size = 128u << 10;
	assert_int_equal(probe(&c, 1), 0);
	assert_refused();
	assert_true(hal_host_console_has("logical block size not served"));
	assert_true(hal_host_console_has("131072-byte blocks"));
}

static void test_blk_size_odd_or_small_refused(void **state)
{
	static const uint32_t bad[] = {0, 256, 511, 1536, 4097, 3u << 12, 0x80000000u};
	struct sim_blk_cfg c;

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sim_blk_cfg_default(&c);
		c.blk_size = 4096; /* offers BLK_SIZE; the field is overwritten below */
		vblk_fixture_reset();
		hal_host_console_clear();
		sims[0] = sim_add_blk(&c);
		sim_set_config(sims[0], VIRTIO_BLK_CFG_BLK_SIZE, &bad[i], sizeof(bad[i]));
		unsigned int nslots;
		assert_int_equal(vmmio_probe(sim_slots(&nslots), nslots), 1);
		assert_int_equal(vblk_probe_all(), 0);
		assert_refused();
	}
}

static int io_status, io_ended;

static void io_end(struct bio *b)
{
	io_ended++;
	io_status = b->bio_status;
}

/* One bio of one segment through the simulated device; its status. */
static int io(enum bio_op op, uint64_t sector, void *buf, uint32_t len)
{
	struct bio b;
	struct bio_seg seg = {buf, len};

	io_ended = 0;
	bio_init_rw(&b, blkdev_get(0), op, sector, &seg, 1, io_end, NULL);
	submit_bio(&b);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 8, SIM_ORDER_FIFO);
	assert_int_equal(io_ended, 1);
	return io_status;
}

/* Every block size the layer accepts works: a block written is read back. */
static void test_served_blk_sizes_do_io(void **state)
{
	static uint8_t w[64 << 10], r[64 << 10];
	struct sim_blk_cfg c;

	(void)state;
	for (uint32_t lbs = 512; lbs <= BLK_MAX_LBS; lbs <<= 1) {
		sim_blk_cfg_default(&c);
		c.blk_size = lbs;
		c.capacity = 4 * (lbs / SECTOR_SIZE);
		assert_int_equal(probe(&c, 1), 1);
		const struct blkdev_info *d = blkdev_info(blkdev_get(0));
		assert_int_equal(d->lbs, lbs);
		assert_int_equal(d->capacity, c.capacity);
		for (uint32_t i = 0; i < lbs; i++)
			w[i] = (uint8_t)(i * 7 + lbs);
		uint64_t last = c.capacity - lbs / SECTOR_SIZE;
		assert_int_equal(io(BIO_OP_WRITE, last, w, lbs), 0);
		memset(r, 0, lbs);
		assert_int_equal(io(BIO_OP_READ, last, r, lbs), 0);
		assert_memory_equal(r, w, lbs);
	}
}

static void test_capacity_not_whole_blocks_refused(void **state)
{
	(void)state;
	assert_int_equal(probe_capacity(4096, 4097), 0);
	assert_refused();
	assert_true(hal_host_console_has("capacity not a whole number of logical blocks"));
	assert_true(hal_host_console_has("capacity 4097 sectors"));
}

static void test_capacity_zero_refused(void **state)
{
	(void)state;
	assert_int_equal(probe_capacity(512, 0), 0);
	assert_refused();
	assert_true(hal_host_console_has("no blocks"));
}

/* Near 2^64: fill's stripe count and bench's byte size wrapped. */
static void test_capacity_near_2_64_refused(void **state)
{
	(void)state;
	assert_int_equal(probe_capacity(4096, UINT64_MAX - 7), 0);
	assert_refused();
	assert_int_equal(probe_capacity(512, BLK_MAX_CAPACITY + 1), 0);
	assert_refused();
	assert_true(hal_host_console_has("capacity beyond what the layer addresses"));
}

/* One segment of 512 bytes per request: no 4 KiB block fits one (every bio failed). */
static void test_block_larger_than_a_request_refused(void **state)
{
	struct sim_blk_cfg c;

	(void)state;
	sim_blk_cfg_default(&c);
	c.blk_size = 4096;
	c.seg_max = 1;
	c.size_max = 512;
	assert_int_equal(probe(&c, 1), 0);
	assert_refused();
	assert_true(hal_host_console_has("a logical block does not fit one request"));
	/* A segment bound below a sector was replaced by 4 MiB, and the device's bound broken. */
	c.size_max = 1;
	assert_int_equal(probe(&c, 1), 0);
	assert_refused();
	assert_true(hal_host_console_has("size_max below one sector"));
	/* Two segments of 2 KiB carry one: served. */
	c.seg_max = 2;
	c.size_max = 2048;
	assert_int_equal(probe(&c, 1), 1);
}

/* The largest capacity served is taken as it is, and its byte size fits. */
static void test_capacity_at_limit_served(void **state)
{
	(void)state;
	uint64_t cap = BLK_MAX_CAPACITY & ~(uint64_t)7;
	assert_int_equal(probe_capacity(4096, cap), 1);
	assert_int_equal(blkdev_info(blkdev_get(0))->capacity, cap);
	assert_true(cap << SECTOR_SHIFT >> SECTOR_SHIFT == cap);
	assert_int_equal(probe_capacity(512, 2ull << 32), 1); /* 2 TiB */
	assert_int_equal(blkdev_info(blkdev_get(0))->capacity, 2ull << 32);
}

/* A refused disk keeps its name: the one after it is still vdb. */
static void test_refused_disk_keeps_its_name(void **state)
{
	struct sim_blk_cfg c[3];

	(void)state;
	for (unsigned int i = 0; i < 3; i++)
		sim_blk_cfg_default(&c[i]);
	c[1].blk_size = 128u << 10;
	assert_int_equal(probe(c, 3), 2);
	assert_true(hal_host_console_has("virtio-blk: vdb refused: "));
	assert_string_equal(blkdev_info(blkdev_get(0))->name, "vda");
	assert_string_equal(blkdev_info(blkdev_get(1))->name, "vdc");
	assert_null(blkdev_find("vdb"));
}

/* Disks past the layer's limit were dropped without a word. */
static void test_disks_past_limit_get_a_line(void **state)
{
	struct sim_blk_cfg c[MANY_DISKS];

	(void)state;
	for (unsigned int i = 0; i < MANY_DISKS; i++) {
		sim_blk_cfg_default(&c[i]);
		c[i].capacity = 8;
	}
	assert_int_equal(probe(c, MANY_DISKS), (int)BLKDEV_MAX);
	assert_int_equal(blkdev_count(), BLKDEV_MAX);
	assert_true(
	    hal_host_console_has("virtio-blk: vdq not used: the layer serves at most 16 disks"));
	assert_true(
	    hal_host_console_has("virtio-blk: vdr not used: the layer serves at most 16 disks"));
}

/*
 * A probe that fails after its queue was set up (here: a ring of two
 * descriptors, too small for header, data and status) used to keep the queue.
 */
static void test_failed_probe_frees_its_queue(void **state)
{
	struct sim_blk_cfg c;

	(void)state;
	sim_blk_cfg_default(&c);
	c.indirect = false;
	c.queue_num_max = 2;
	assert_int_equal(probe(&c, 1), 0);
	assert_int_equal(blkdev_count(), 0);
	assert_null(vmmio_get(0)->vq[0]);
	assert_true(sim_status(sims[0]) & VIRTIO_STATUS_FAILED);
	assert_true(hal_host_console_has("virtio-blk: vda not used: "));
}

#define VP_TEST(f) cmocka_unit_test_setup_teardown(f, vblk_fixture_setup, vblk_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VP_TEST(test_blk_size_128k_refused),
	    VP_TEST(test_blk_size_odd_or_small_refused),
	    VP_TEST(test_served_blk_sizes_do_io),
	    VP_TEST(test_capacity_not_whole_blocks_refused),
	    VP_TEST(test_capacity_zero_refused),
	    VP_TEST(test_capacity_near_2_64_refused),
	    VP_TEST(test_capacity_at_limit_served),
	    VP_TEST(test_block_larger_than_a_request_refused),
	    VP_TEST(test_refused_disk_keeps_its_name),
	    VP_TEST(test_disks_past_limit_get_a_line),
	    VP_TEST(test_failed_probe_frees_its_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

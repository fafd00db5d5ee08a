/*
 * Host tests of how the virtio-blk driver encodes the operations without a
 * data transfer of sectors (src/blk/virtio_blk.c): DISCARD, WRITE_ZEROES and
 * GET_ID, as the simulated device (test/sim) finds them on the wire: the
 * header's type and sector, the one 16-byte segment (sector, num_sectors,
 * flags) that discard and write-zeroes carry, and the 20-byte id buffer.
 * Legacy and modern transports, 512-byte and 4 KiB blocks. The same
 * operations on QEMU: test/qemu/blk_ops_test.
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
#include "blk/vblk_fixture.h"
#include "sim/sim.h"

/* virtio 1.2, 5.2.6: the request types under test. */
#define WIRE_T_GET_ID	     8U
#define WIRE_T_DISCARD	     11U
#define WIRE_T_WRITE_ZEROES  13U
#define WIRE_HDR_BYTES	     16U
#define WIRE_RANGE_BYTES     16U /* sector u64, num_sectors u32, flags u32 */
#define WIRE_ID_BYTES	     20U

struct ow {
	struct bio bio;
	int ended, status;
};

static void ow_end(struct bio *b)
{
	struct ow *o = b->bio_private;
	o->ended++;
	o->status = b->bio_status;
}

static void run_to_end(struct sim_dev *sim, struct ow *o)
{
	submit_bio(&o->bio);
	for (int i = 0; i < 64 && sim_pending(sim); i++)
		sim_process(sim, 8, SIM_ORDER_FIFO);
	assert_int_equal(o->ended, 1);
}

static void bring_up_one(unsigned int version, uint32_t blk_size, struct sim_dev **sim)
{
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	c.version = version;
	c.capacity = 65536;
	c.blk_size = blk_size;
	vblk_fixture_bring_up(&c, 1, sim);
}

/* Fills the RAM disk with a non-zero pattern, so zeroing is seen. */
static void fill_disk(struct sim_dev *sim, uint64_t sectors)
{
	uint8_t *p = sim_blk_data(sim);

	for (uint64_t i = 0; i < sectors * 512; i++)
		p[i] = (uint8_t)(0x5a ^ (i * 7) ^ (i >> 9)) | 1u;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void check_range_op(enum bio_op op, uint32_t type, unsigned int version, uint32_t blk_size)
{
	struct sim_dev *sim;
	struct sim_wire w;
	struct sim_stats st;
	struct ow o = {0};
	const uint64_t sector = 4096;
	const uint32_t n = 64; /* 32 KiB, a whole number of 4 KiB blocks */

	bring_up_one(version, blk_size, &sim);
	fill_disk(sim, sector + 2 * n);
	uint8_t *disk = sim_blk_data(sim);
	uint8_t before = disk[(sector + n) * 512]; /* first byte past the range */

	bio_init_nodata(&o.bio, blkdev_get(0), op, sector, n, ow_end, &o);
	run_to_end(sim, &o);
	assert_int_equal(o.status, 0);

	sim_last_wire(sim, &w);
	assert_int_equal(w.type, type);
	assert_int_equal(w.hdr_sector, 0); /* the range is in the segment, not the header */
	assert_int_equal(w.hdr_reserved, 0);
	assert_true(w.has_range);
	assert_int_equal(w.data_out, WIRE_RANGE_BYTES); /* exactly one segment */
	assert_int_equal(w.data_in, 0);			/* only the status byte is writable */
	assert_int_equal(w.nseg, 3);			/* header, segment, status */
	assert_int_equal(w.range_sector, sector);
	assert_int_equal(w.range_sectors, n);
	/*
	 * flags: 0 for both. Discard must not set unmap (the device refuses it);
	 * write-zeroes does not set it either, so the device keeps the blocks
	 * allocated (the choice is the driver's: unmap would only allow it to
	 * deallocate them), and the reserved bits stay 0.
	 */
	assert_int_equal(w.range_flags, 0);

	assert_true(all_zero(disk + sector * 512, (size_t)n * 512));
	assert_int_equal(disk[(sector + n) * 512], before); /* nothing past the range */
	assert_true(disk[sector * 512 - 1] != 0);	     /* nor before it */
	sim_get_stats(sim, &st);
	assert_int_equal(st.driver_errors, 0);
	assert_int_equal(op == BIO_OP_DISCARD ? st.discards : st.write_zeroes, 1);
	vblk_fixture_reset();
}

static void test_discard_on_the_wire(void **state)
{
	check_range_op(BIO_OP_DISCARD, WIRE_T_DISCARD, 2, 0);
	check_range_op(BIO_OP_DISCARD, WIRE_T_DISCARD, 1, 0);
	check_range_op(BIO_OP_DISCARD, WIRE_T_DISCARD, 2, 4096);
}

static void test_write_zeroes_on_the_wire(void **state)
{
	check_range_op(BIO_OP_WRITE_ZEROES, WIRE_T_WRITE_ZEROES, 2, 0);
	check_range_op(BIO_OP_WRITE_ZEROES, WIRE_T_WRITE_ZEROES, 1, 0);
	check_range_op(BIO_OP_WRITE_ZEROES, WIRE_T_WRITE_ZEROES, 1, 4096);
}

static void check_get_id(unsigned int version, const char *id, unsigned int len)
{
	struct sim_dev *sim;
	struct sim_wire w;
	struct ow o = {0};
	uint8_t buf[WIRE_ID_BYTES + 4];

	bring_up_one(version, 0, &sim);
	sim_set_id(sim, id, len);
	memset(buf, 0xee, sizeof(buf));
	bio_init_buf(&o.bio, blkdev_get(0), BIO_OP_GET_ID, 0, buf, BIO_ID_BYTES, ow_end, &o);
	run_to_end(sim, &o);
	assert_int_equal(o.status, 0);

	sim_last_wire(sim, &w);
	assert_int_equal(w.type, WIRE_T_GET_ID);
	assert_int_equal(w.hdr_sector, 0);
	assert_false(w.has_range);
	assert_int_equal(w.data_out, 0);	     /* the header alone is readable */
	assert_int_equal(w.data_in, WIRE_ID_BYTES); /* 20 bytes, then the status byte */
	/* The id as the device wrote it, zero-padded when shorter, not NUL-terminated when full. */
	assert_memory_equal(buf, id, len);
	assert_true(all_zero(buf + len, WIRE_ID_BYTES - len));
	assert_int_equal(buf[WIRE_ID_BYTES], 0xee); /* nothing past the 20 bytes */
	vblk_fixture_reset();
}

static void test_get_id_on_the_wire(void **state)
{
	check_get_id(2, "serial-42", 9);
	check_get_id(1, "legacy-id", 9);
	check_get_id(2, "ABCDEFGHIJKLMNOPQRST", WIRE_ID_BYTES); /* full: no NUL */
}

#define VBLK_TEST(f) cmocka_unit_test_setup_teardown(f, vblk_fixture_setup, vblk_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VBLK_TEST(test_discard_on_the_wire),
	    VBLK_TEST(test_write_zeroes_on_the_wire),
	    VBLK_TEST(test_get_id_on_the_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

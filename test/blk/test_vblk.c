/*
 * Host tests of the virtio-blk driver (src/blk/virtio_blk.c) with the real
 * block core, virtqueue and transport, against the simulated device of
 * test/sim: configuration and negotiation, data through scatter-gather
 * chains, completions in any order, a tiny ring, device errors isolated to
 * the bios that caused them, flushes, 4 KiB blocks, a hostile status byte.
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
#include <levblk/virtio/virtio_mmio.h>
#include "blk/blk_params.h"
#include "blk/blk_bounce.h"
#include "blk/thread_stub.h"
#include "blk/virtio_blk.h"
#include "hal_host/hal_host.h"
#include "blk/vblk_fixture.h"
#include "sim/sim.h"
#include "virtio/virtqueue_private.h"

struct tb {
	struct bio bio;
	struct bio_seg seg[8];
	int ended, status;
};

static void tb_end(struct bio *b)
{
	struct tb *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
}

static struct sim_dev *sims[4];

/* A fresh bus with one device per cfg, probed by the driver. */
static void bring_up(const struct sim_blk_cfg *cfgs, unsigned int n)
{
	vblk_fixture_bring_up(cfgs, n, sims);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

/* Splits buf into nseg uneven segments. */
static void tb_rw(struct tb *t, struct blkdev *dev, enum bio_op op, uint64_t sector, uint8_t *buf,
		  uint32_t len, unsigned int nseg)
{
	uint32_t off = 0;

	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < nseg; i++) {
		uint32_t l = i == nseg - 1 ? len - off : (len / nseg) - 8 * (i + 1);
		t->seg[i] = (struct bio_seg){buf + off, l};
		off += l;
	}
	bio_init_rw(&t->bio, dev, op, sector, t->seg, nseg, tb_end, t);
}

static void test_probe_config(void **state)
{
	struct sim_blk_cfg c[3];

	sim_blk_cfg_default(&c[0]);
	c[0].capacity = 4096;
	sim_blk_cfg_default(&c[1]);
	c[1].version = 1;
	c[1].ro = true;
	c[1].indirect = false;
	c[1].event_idx = false;
	c[1].seg_max = 0;
	sim_blk_cfg_default(&c[2]);
	c[2].blk_size = 4096;
	c[2].capacity = 8192;
	c[2].config_wce = false;
	c[2].flush = false;
	c[2].size_max = 8192;
	bring_up(c, 3);

	const struct blkdev_info *a = blkdev_info(blkdev_find("vda"));
	assert_string_equal(a->name, "vda");
	assert_int_equal(a->capacity, 4096);
	assert_int_equal(a->lbs, 512);
	assert_false(a->ro);
	assert_true(a->volatile_cache);
	char attach[64];
	blkdev_describe(blkdev_find("vda"), attach, sizeof(attach));
	assert_non_null(strstr(attach, "transport=2 irq="));
	assert_int_equal(a->limits.max_segs,
			 126); /* indirect tables of 128, minus header and status */
	assert_true(a->ops & (1u << BIO_OP_DISCARD));
	assert_true(a->ops & (1u << BIO_OP_WRITE_ZEROES));

	const struct blkdev_info *b = blkdev_info(blkdev_find("vdb"));
	assert_true(b->ro);
	blkdev_describe(blkdev_find("vdb"), attach, sizeof(attach));
	assert_non_null(strstr(attach, "transport=1 irq="));
	assert_int_equal(b->limits.max_segs, 1); /* no SEG_MAX: one segment per request */

	const struct blkdev_info *k = blkdev_info(blkdev_find("vdc"));
	assert_int_equal(k->lbs, 4096);
	assert_int_equal(k->capacity, 8192); /* still 512-byte sectors */
	assert_false(k->volatile_cache);
	assert_int_equal(k->limits.max_seg_bytes, 8192);
}

static void test_data_roundtrip_sg(void **state)
{
	struct sim_blk_cfg c;
	static uint8_t w[65536], r[65536];
	struct tb tw, tr;
	struct sim_stats st;

	sim_blk_cfg_default(&c);
	c.size_max = 4096;
	bring_up(&c, 1);
	struct blkdev *dev = blkdev_get(0);
	fill(w, sizeof(w), 5);
	tb_rw(&tw, dev, BIO_OP_WRITE, 100, w, sizeof(w), 5);
	submit_bio(&tw.bio);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 64, SIM_ORDER_FIFO);
	assert_int_equal(tw.ended, 1);
	assert_int_equal(tw.status, 0);
	assert_memory_equal(sim_blk_data(sims[0]) + 100 * 512, w, sizeof(w));
	tb_rw(&tr, dev, BIO_OP_READ, 100, r, sizeof(r), 7);
	submit_bio(&tr.bio);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 64, SIM_ORDER_FIFO);
	assert_int_equal(tr.status, 0);
	assert_memory_equal(r, w, sizeof(w));
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.driver_errors, 0);
	assert_true(st.max_segments >= 16); /* 64 KiB cut at size_max 4 KiB */

	struct blk_counters ctr;
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.in_flight, 0);
	assert_true(ctr.irqs >= 1);
	assert_true(ctr.kicks >= 2);
}

/* Many bios, completions in random and reverse order, a ring of 8 without indirect. */
static void run_many(const struct sim_blk_cfg *c, enum sim_order order)
{
	enum { N = 200 };
	static uint8_t bufs[N][1024], back[N][1024];
	static struct tb t[N];

	bring_up(c, 1);
	struct blkdev *dev = blkdev_get(0);
	for (int i = 0; i < N; i++) {
		fill(bufs[i], 1024, (unsigned int)i);
		/* Scattered: every other 2-sector slot, in a shuffled order. */
		uint64_t slot = (uint64_t)((i * 37) % N);
		tb_rw(&t[i], dev, BIO_OP_WRITE, slot * 4, bufs[i], 1024, 1 + i % 3);
		submit_bio(&t[i].bio);
		if (i % 7 == 0)
			sim_process(sims[0], 3, order);
	}
	while (sim_pending(sims[0]))
		sim_process(sims[0], 5, order);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, 0);
		uint64_t slot = (uint64_t)((i * 37) % N);
		assert_memory_equal(sim_blk_data(sims[0]) + slot * 4 * 512, bufs[i], 1024);
	}
	for (int i = 0; i < N; i++) {
		uint64_t slot = (uint64_t)((i * 37) % N);
		tb_rw(&t[i], dev, BIO_OP_READ, slot * 4, back[i], 1024, 2);
		submit_bio(&t[i].bio);
	}
	while (sim_pending(sims[0]))
		sim_process(sims[0], 5, order);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(back[i], bufs[i], 1024);
	}
	struct sim_stats st;
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.driver_errors, 0);
	struct blk_counters ctr;
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.in_flight, 0);
	assert_int_equal(ctr.queued, 0);
}

static void test_out_of_order_completions(void **state)
{
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	c.capacity = 2048;
	sim_seed(42);
	run_many(&c, SIM_ORDER_RANDOM);
	run_many(&c, SIM_ORDER_LIFO);
}

static void test_tiny_ring_legacy(void **state)
{
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	c.capacity = 2048;
	c.version = 1;
	c.indirect = false;
	c.event_idx = false;
	c.queue_num_max = 8;
	run_many(&c, SIM_ORDER_FIFO);
	assert_int_equal(blkdev_info(blkdev_get(0))->limits.max_segs, 6);
}

/*
 * The whole driver on the packed ring: out-of-order completions with and
 * without indirect descriptors and event index, on a queue whose size is
 * not a power of two (QueueNumMax 12), so that the ring wraps many times
 * with chains straddling its end; the busy device's kick suppression through
 * the device event area.
 */
static void test_packed_ring(void **state)
{
	struct sim_blk_cfg c;

	for (int v = 0; v < 4; v++) {
		sim_blk_cfg_default(&c);
		c.capacity = 2048;
		c.packed = true;
		c.indirect = v & 1;
		c.event_idx = v & 2;
		c.queue_num_max = 12;
		sim_seed(7 + (uint64_t)v);
		run_many(&c, v & 1 ? SIM_ORDER_RANDOM : SIM_ORDER_LIFO);
		assert_int_equal(blkdev_info(blkdev_get(0))->limits.nr_requests, 12);
		assert_string_equal(sim_last_error(sims[0]), "");
	}
}

/*
 * Interrupts taken for `depth` reads in flight, completed one at a time in
 * order (each sim_process may raise one interrupt), with vq.coalesce on or
 * off. The simulator decides from the event index exactly as a device must,
 * so the counts are deterministic.
 */
static uint64_t coalesce_irqs(bool coalesce, bool packed, unsigned int depth)
{
	enum { MAXD = 64 };
	static uint8_t bufs[MAXD][512];
	static struct tb t[MAXD];
	struct sim_blk_cfg c;
	struct sim_stats st;

	assert_true(depth <= MAXD);
	sim_blk_cfg_default(&c);
	c.packed = packed;
	bring_up(&c, 1);
	vblk_param_coalesce = coalesce;
	struct blkdev *dev = blkdev_get(0);
	for (unsigned int i = 0; i < depth; i++) {
		tb_rw(&t[i], dev, BIO_OP_READ, (uint64_t)i * 16, bufs[i], 512, 1);
		submit_bio(&t[i].bio);
	}
	assert_int_equal(sim_pending(sims[0]), depth);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 1, SIM_ORDER_FIFO);
	vblk_param_coalesce = 0;
	for (unsigned int i = 0; i < depth; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, 0);
	}
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.driver_errors, 0);
	assert_int_equal(st.completions, depth);
	return st.irqs_raised;
}

/*
 * vq.coalesce=1 (vq.coalesce_min=8): 32 reads in flight end with 9
 * interrupts instead of 32: the first completion's, then one three quarters
 * of the way through the 31 left (23 more: the 25th completion), then one
 * each for the last 7, below the depth where it delays. At depth 4 nothing
 * changes: one interrupt per completion. Both rings.
 */
static void test_coalesce_interrupts(void **state)
{
	for (int packed = 0; packed < 2; packed++) {
		assert_int_equal(coalesce_irqs(false, packed, 32), 32);
		assert_int_equal(coalesce_irqs(true, packed, 32), 9);
		assert_int_equal(coalesce_irqs(false, packed, 4), 4);
		assert_int_equal(coalesce_irqs(true, packed, 4), 4);
		assert_int_equal(coalesce_irqs(true, packed, 1), 1);
	}
}

/* vq.packed=0: a device offering the packed ring gets the split ring. */
static void test_packed_ring_turned_off(void **state)
{
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	c.packed = true;
	c.queue_num_max = 12; /* packed: 12 entries; split: the power of two below, 8 */
	vq_param_packed = 0;
	bring_up(&c, 1);
	vq_param_packed = 1;
	assert_int_equal(blkdev_info(blkdev_get(0))->limits.nr_requests, 8);
	bring_up(&c, 1);
	assert_int_equal(blkdev_info(blkdev_get(0))->limits.nr_requests, 12);
}

/* Four adjacent writes merged into one chain; one bad sector fails only its bio. */
static void test_error_isolated_to_its_bio(void **state)
{
	struct sim_blk_cfg c;
	static uint8_t bufs[4][4096];
	struct tb t[4];
	struct blk_plug plug;

	sim_blk_cfg_default(&c);
	bring_up(&c, 1);
	struct blkdev *dev = blkdev_get(0);
	sim_set_io_error(sims[0], 8 * 2 + 3);
	blk_start_plug(&plug);
	for (int i = 0; i < 4; i++) {
		fill(bufs[i], 4096, (unsigned int)i + 100);
		tb_rw(&t[i], dev, BIO_OP_WRITE, (uint64_t)i * 8, bufs[i], 4096, 2);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 8, SIM_ORDER_FIFO);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, i == 2 ? -EIO : 0);
		if (i != 2)
			assert_memory_equal(sim_blk_data(sims[0]) + i * 8 * 512, bufs[i], 4096);
	}
	struct blk_counters ctr;
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.merges, 3);
	assert_int_equal(ctr.errors, 1);
	assert_int_equal(ctr.retries, 1 + 3);
	assert_int_equal(ctr.in_flight, 0);
}

static void test_flush_and_fua(void **state)
{
	struct sim_blk_cfg c[2];
	static uint8_t buf[512];
	struct tb t;
	struct sim_stats st;

	sim_blk_cfg_default(&c[0]);
	sim_blk_cfg_default(&c[1]);
	c[1].flush = false;
	c[1].config_wce = false;
	bring_up(c, 2);
	for (int d = 0; d < 2; d++) {
		tb_rw(&t, blkdev_get((unsigned int)d), BIO_OP_WRITE, 8, buf, 512, 1);
		t.bio.bio_flags = BIO_FUA;
		submit_bio(&t.bio);
		while (sim_pending(sims[d]))
			sim_process(sims[d], 8, SIM_ORDER_FIFO);
		assert_int_equal(t.ended, 1);
		assert_int_equal(t.status, 0);
		sim_get_stats(sims[d], &st);
		assert_int_equal(st.writes, 1);
		assert_int_equal(st.flushes, d == 0 ? 1 : 0); /* no cache, no flush */
		assert_int_equal(st.driver_errors, 0);
	}
}

static void test_4k_device(void **state)
{
	struct sim_blk_cfg c;
	static uint8_t w[8192], r[8192];
	struct tb t;

	sim_blk_cfg_default(&c);
	c.blk_size = 4096;
	c.capacity = 1024;
	bring_up(&c, 1);
	struct blkdev *dev = blkdev_get(0);
	tb_rw(&t, dev, BIO_OP_WRITE, 4, w, 4096, 1);
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
	tb_rw(&t, dev, BIO_OP_WRITE, 8, w, 2048, 1);
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
	fill(w, sizeof(w), 9);
	tb_rw(&t, dev, BIO_OP_WRITE, 1024 - 16, w, 8192, 3);
	submit_bio(&t.bio);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 8, SIM_ORDER_FIFO);
	assert_int_equal(t.status, 0);
	/* The wire counts 512-byte sectors: the last two 4 KiB blocks. */
	assert_memory_equal(sim_blk_data(sims[0]) + (1024 - 16) * 512, w, 8192);
	tb_rw(&t, dev, BIO_OP_READ, 1024 - 16, r, 8192, 1);
	submit_bio(&t.bio);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 8, SIM_ORDER_FIFO);
	assert_memory_equal(r, w, 8192);
}

static void test_garbage_status_is_eio(void **state)
{
	struct sim_blk_cfg c;
	static uint8_t buf[512];
	struct tb t;

	sim_blk_cfg_default(&c);
	bring_up(&c, 1);
	blk_param_retries = 0;
	tb_rw(&t, blkdev_get(0), BIO_OP_READ, 0, buf, 512, 1);
	submit_bio(&t.bio);
	sim_set_hostile(sims[0], SIM_HOSTILE_GARBAGE_STATUS);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 8, SIM_ORDER_FIFO);
	assert_int_equal(t.ended, 1);
	assert_int_equal(t.status, -EIO);
	/* The device is still usable. */
	tb_rw(&t, blkdev_get(0), BIO_OP_READ, 0, buf, 512, 1);
	submit_bio(&t.bio);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 8, SIM_ORDER_FIFO);
	assert_int_equal(t.status, 0);
}

static void test_hostile_id_breaks_device(void **state)
{
	struct sim_blk_cfg c;
	static uint8_t buf[4][512];
	struct tb t[4];

	sim_blk_cfg_default(&c);
	bring_up(&c, 1);
	for (int i = 0; i < 4; i++) {
		tb_rw(&t[i], blkdev_get(0), BIO_OP_READ, (uint64_t)i * 64, buf[i], 512, 1);
		submit_bio(&t[i].bio);
	}
	sim_set_hostile(sims[0], SIM_HOSTILE_ID_OUT_OF_RANGE);
	sim_process(sims[0], 1, SIM_ORDER_FIFO);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, -ENODEV);
	}
	assert_true(blkdev_broken(blkdev_get(0)));
	tb_rw(&t[0], blkdev_get(0), BIO_OP_READ, 0, buf[0], 512, 1);
	submit_bio(&t[0].bio);
	assert_int_equal(t[0].status, -ENODEV);
	struct blk_counters ctr;
	blkdev_counters(blkdev_get(0), &ctr);
	assert_int_equal(ctr.in_flight, 0);
}

/* A busy device (QEMU's iothread): later kicks are suppressed, nothing is lost. */
static void test_busy_device_suppresses_kicks(void **state)
{
	/* Split and packed ring (the device event area), event index off and on. */
	for (int v = 0; v < 4; v++) {
		struct sim_blk_cfg c;
		static uint8_t bufs[64][512];
		static struct tb t[64];
		struct sim_stats st;

		sim_blk_cfg_default(&c);
		c.event_idx = v & 1;
		c.packed = v & 2;
		bring_up(&c, 1);
		sim_set_deferred_fetch(sims[0], true);
		struct blkdev *dev = blkdev_get(0);
		for (int i = 0; i < 64; i++) {
			tb_rw(&t[i], dev, BIO_OP_READ, (uint64_t)i * 16, bufs[i], 512, 1);
			submit_bio(&t[i].bio);
		}
		while (sim_process(sims[0], 4, SIM_ORDER_RANDOM) || sim_pending(sims[0]))
			;
		for (int i = 0; i < 64; i++) {
			assert_int_equal(t[i].ended, 1);
			assert_int_equal(t[i].status, 0);
		}
		sim_get_stats(sims[0], &st);
		assert_int_equal(st.driver_errors, 0);
		assert_true(st.notifies < 64);
		struct blk_counters ctr;
		blkdev_counters(dev, &ctr);
		assert_int_equal(ctr.kicks, st.notifies);
		assert_int_equal(ctr.in_flight, 0);
	}
}

/* --- blocks in more segments than a request carries ------------------------ */

enum { SG_BIOS = 6, SG_LEN = 16384, SG_MAXSEG = 512 };

struct sg_bio {
	struct bio bio;
	struct bio_seg seg[SG_MAXSEG];
	int ended, status;
};

static void sg_end(struct bio *b)
{
	struct sg_bio *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
}

/* A bio over buf cut into the repeated segment sizes lens[0..nl). */
static void sg_rw(struct sg_bio *t, struct blkdev *dev, enum bio_op op, uint64_t sector,
		  uint8_t *buf, uint32_t len, const uint32_t *lens, uint32_t nl)
{
	uint32_t n = 0;

	memset(t, 0, sizeof(*t));
	for (uint32_t off = 0; off < len; n++) {
		assert_true(n < SG_MAXSEG);
		uint32_t l = lens[n % nl] < len - off ? lens[n % nl] : len - off;
		t->seg[n] = (struct bio_seg){buf + off, l};
		off += l;
	}
	bio_init_rw(&t->bio, dev, op, sector, t->seg, n, sg_end, t);
}

static void sg_run(struct sim_dev *sim)
{
	while (sim_pending(sim))
		sim_process(sim, 3, SIM_ORDER_RANDOM);
}

/*
 * Writes SG_BIOS bios cut one way at once, reads them back cut another way,
 * through the real driver; every chain within the device's limits.
 */
static void sg_roundtrip(struct sim_dev *sim, struct blkdev *dev)
{
	static const uint32_t wl[] = {8, 1000, 24, 3072, 40, 456, 2000, 64, 64};
	static const uint32_t rl[] = {1536, 8, 8, 511, 1, 4000, 200};
	static uint8_t w[SG_BIOS][SG_LEN], r[SG_BIOS][SG_LEN];
	static struct sg_bio t[SG_BIOS];
	struct sim_stats st;
	struct blk_resources res;
	struct blk_counters ctr;

	for (int i = 0; i < SG_BIOS; i++) {
		fill(w[i], SG_LEN, (unsigned int)i + 40);
		sg_rw(&t[i], dev, BIO_OP_WRITE, (uint64_t)i * 64, w[i], SG_LEN, wl, 9);
		submit_bio(&t[i].bio);
	}
	sg_run(sim);
	for (int i = 0; i < SG_BIOS; i++) {
		assert_int_equal(t[i].ended, 1);
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(sim_blk_data(sim) + (uint64_t)i * 64 * 512, w[i], SG_LEN);
		sg_rw(&t[i], dev, BIO_OP_READ, (uint64_t)i * 64, r[i], SG_LEN, rl, 7);
		submit_bio(&t[i].bio);
	}
	sg_run(sim);
	for (int i = 0; i < SG_BIOS; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(r[i], w[i], SG_LEN);
	}
	sim_get_stats(sim, &st);
	assert_int_equal(st.driver_errors, 0);
	assert_true(st.max_segments <= blkdev_info(dev)->limits.max_segs);
	blkdev_counters(dev, &ctr);
	blkdev_resources(dev, &res);
	assert_true(ctr.bounces > 0);
	assert_int_equal(ctr.errors, 0);
	assert_true(blkdev_at_rest(&res, &ctr));
}

/*
 * A device without SEG_MAX takes one segment per request: bios whose blocks
 * lie in several segments used to fail with -EINVAL; now such blocks go
 * through the layer's bounce buffers. Legacy, a 4-entry ring without
 * indirect descriptors, 512-byte and 4 KiB blocks; and a device whose
 * seg_max is 2.
 */
static void test_no_seg_max_straddling_blocks(void **state)
{
	struct sim_blk_cfg c;

	for (int k = 0; k < 2; k++) {
		sim_blk_cfg_default(&c);
		c.version = 1;
		c.seg_max = 0;
		c.indirect = false;
		c.event_idx = false;
		c.queue_num_max = 4;
		c.blk_size = k ? 4096 : 512;
		bring_up(&c, 1);
		assert_int_equal(blkdev_info(blkdev_get(0))->limits.max_segs, 1);
		assert_int_equal(blkdev_info(blkdev_get(0))->limits.nr_requests, 4);
		sg_roundtrip(sims[0], blkdev_get(0));
	}
	sim_blk_cfg_default(&c);
	c.seg_max = 2;
	c.size_max = 1024;
	bring_up(&c, 1);
	sg_roundtrip(sims[0], blkdev_get(0));
}

/* --- blk.bounce=1 --------------------------------------------------------------- */

/* Every address the simulated device was given, checked against the caller's memory. */
static struct {
	uintptr_t lo, hi; /* the caller buffers of the test */
	uint32_t seen, in_caller;
} addr_watch;

static void addr_seen(void *ctx, uint64_t addr, uint32_t len)
{
	(void)ctx;
	addr_watch.seen++;
	if (addr < addr_watch.hi && addr + len > addr_watch.lo)
		addr_watch.in_caller++;
}

/*
 * The device records every address it is given while it takes writes,
 * reads (through SG_BIOS bios cut into uneven segments, on a ring of 4
 * without SEG_MAX, and on QEMU's defaults) and GET_ID; with blk.bounce=1
 * none lies in the caller's buffers. With blk.bounce=0 the same run shows
 * caller addresses (the control that the watch sees them).
 */
static void bounce_watch_run(bool bounce, bool tiny)
{
	static uint8_t caller[SG_BIOS + 1][SG_LEN];
	static const uint32_t wl[] = {4096, 1000, 24, 3072, 40, 456, 2000, 64, 64};
	static const uint32_t rl[] = {8192, 1536, 8, 8, 511, 1, 4000, 200};
	static struct sg_bio t[SG_BIOS];
	struct sim_blk_cfg c;
	struct sim_stats st;
	struct blk_counters ctr;
	struct blk_resources res;

	blk_param_bounce = bounce;
	sim_blk_cfg_default(&c);
	if (tiny) {
		c.seg_max = 0;
		c.indirect = false;
		c.queue_num_max = 4;
	}
	bring_up(&c, 1);
	struct blkdev *dev = blkdev_get(0);
	sim_set_seg_hook(sims[0], addr_seen, NULL);
	addr_watch.lo = (uintptr_t)caller;
	addr_watch.hi = (uintptr_t)caller + sizeof(caller);
	addr_watch.seen = addr_watch.in_caller = 0;
	for (int i = 0; i < SG_BIOS; i++) {
		fill(caller[i], SG_LEN, (unsigned int)i + 60);
		sg_rw(&t[i], dev, BIO_OP_WRITE, (uint64_t)i * 32, caller[i], SG_LEN, wl, 9);
		submit_bio(&t[i].bio);
	}
	sg_run(sims[0]);
	for (int i = 0; i < SG_BIOS; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(sim_blk_data(sims[0]) + (uint64_t)i * 32 * 512, caller[i],
				    SG_LEN);
	}
	for (int i = 0; i < SG_BIOS; i++) {
		memset(caller[i], 0, SG_LEN);
		sg_rw(&t[i], dev, BIO_OP_READ, (uint64_t)i * 32, caller[i], SG_LEN, rl, 8);
		submit_bio(&t[i].bio);
	}
	sg_run(sims[0]);
	for (int i = 0; i < SG_BIOS; i++) {
		assert_int_equal(t[i].status, 0);
		assert_memory_equal(sim_blk_data(sims[0]) + (uint64_t)i * 32 * 512, caller[i],
				    SG_LEN);
	}
	memset(caller[SG_BIOS], 0, BIO_ID_BYTES);
	sg_rw(&t[0], dev, BIO_OP_GET_ID, 0, caller[SG_BIOS], BIO_ID_BYTES, wl, 1);
	submit_bio(&t[0].bio);
	sg_run(sims[0]);
	assert_int_equal(t[0].status, 0);
	assert_true(caller[SG_BIOS][0] != 0); /* the device's id arrived */

	sim_get_stats(sims[0], &st);
	assert_int_equal(st.driver_errors, 0);
	assert_true(addr_watch.seen > 0);
	blkdev_counters(dev, &ctr);
	blkdev_resources(dev, &res);
	assert_true(blkdev_at_rest(&res, &ctr));
	if (bounce) {
		assert_int_equal(addr_watch.in_caller, 0);
		assert_true(ctr.bounces >= 2 * SG_BIOS + 1);
	} else {
		assert_true(addr_watch.in_caller > 0);
	}
}

static void test_bounce_mode_device_never_sees_caller_memory(void **state)
{
	bounce_watch_run(false, false);
	bounce_watch_run(true, false);
	bounce_watch_run(true, true);
}

/* Every test starts from the fixture's defaults and leaves nothing behind. */
#define VBLK_TEST(f) cmocka_unit_test_setup_teardown(f, vblk_fixture_setup, vblk_fixture_teardown)

/*
 * Full-size requests go one per doorbell, a choice of the driver (QEMU
 * merges the adjacent requests of one notification into one host I/O):
 * each full one that others follow is rung at once, the last by the core
 * after the run. Small ones share one doorbell, even when adjacent and
 * unmerged.
 */
static void test_full_size_requests_rung_alone(void **state)
{
	static uint8_t big[4][1u << 20];
	static struct tb t[6];
	struct sim_blk_cfg c;
	struct sim_stats st;
	struct blk_counters ctr;
	struct blk_plug plug;

	sim_blk_cfg_default(&c);
	c.capacity = 16384; /* 8 MiB */
	bring_up(&c, 1);
	struct blkdev *dev = blkdev_get(0);
	assert_int_equal(blkdev_info(dev)->limits.max_sectors * 512u, sizeof(big[0]));
	blk_start_plug(&plug);
	for (unsigned int i = 0; i < 4; i++) {
		tb_rw(&t[i], dev, BIO_OP_READ, (uint64_t)i * 2048, big[i], sizeof(big[i]), 1);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.chains, 4);
	assert_int_equal(st.notifies, 4);
	blkdev_counters(dev, &ctr);
	assert_int_equal(ctr.kicks, 4);
	assert_int_equal(ctr.requests, 4);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);

	blk_param_merge = 0;
	blk_start_plug(&plug);
	for (unsigned int i = 0; i < 6; i++) {
		tb_rw(&t[i], dev, BIO_OP_WRITE, 8192 + (uint64_t)i * 8, big[0] + i * 4096, 4096, 1);
		submit_bio(&t[i].bio);
	}
	blk_finish_plug(&plug);
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.chains, 10);
	assert_int_equal(st.notifies, 5);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(t[i].status, 0);
	blk_param_merge = 1;
}

/*
 * The idle-poll hint (blk.poll_us, blk.poll_depth; the driver's): a
 * dispatch that leaves the device with at most poll_depth requests in
 * flight asks the idle thread to spin until now + poll_us; a deeper queue
 * does not; poll_us=0 never.
 */
static void test_idle_poll_hint(void **state)
{
	static uint8_t bufs[4][512];
	static struct tb t[4];
	struct sim_blk_cfg c;
	uint64_t saved_us = vblk_param_poll_us, saved_depth = vblk_param_poll_depth;

	sim_blk_cfg_default(&c);
	bring_up(&c, 1);
	struct blkdev *dev = blkdev_get(0);
	vblk_param_poll_us = 100;
	vblk_param_poll_depth = 2;
	thread_stub_poll_hints = 0;
	thread_stub_poll_deadline = 0;
	for (int i = 0; i < 4; i++)
		tb_rw(&t[i], dev, BIO_OP_READ, (uint64_t)i * 64, bufs[i], 512, 1);

	submit_bio(&t[0].bio); /* 1 in flight */
	assert_int_equal(thread_stub_poll_hints, 1);
	assert_true(thread_stub_poll_deadline == hal_host_now_ns + 100 * 1000);
	hal_host_now_ns += 1000;
	submit_bio(&t[1].bio); /* 2 in flight: still shallow, the deadline moves */
	assert_int_equal(thread_stub_poll_hints, 2);
	assert_true(thread_stub_poll_deadline == hal_host_now_ns + 100 * 1000);
	submit_bio(&t[2].bio); /* 3 in flight: deep, no hint */
	assert_int_equal(thread_stub_poll_hints, 2);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);
	vblk_param_poll_us = 0;
	submit_bio(&t[3].bio); /* off */
	assert_int_equal(thread_stub_poll_hints, 2);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);
	for (int i = 0; i < 4; i++)
		assert_int_equal(t[i].status, 0);
	vblk_param_poll_us = saved_us;
	vblk_param_poll_depth = saved_depth;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VBLK_TEST(test_probe_config),
	    VBLK_TEST(test_full_size_requests_rung_alone),
	    VBLK_TEST(test_idle_poll_hint),
	    VBLK_TEST(test_data_roundtrip_sg),
	    VBLK_TEST(test_out_of_order_completions),
	    VBLK_TEST(test_packed_ring),
	    VBLK_TEST(test_packed_ring_turned_off),
	    VBLK_TEST(test_coalesce_interrupts),
	    VBLK_TEST(test_tiny_ring_legacy),
	    VBLK_TEST(test_error_isolated_to_its_bio),
	    VBLK_TEST(test_flush_and_fua),
	    VBLK_TEST(test_4k_device),
	    VBLK_TEST(test_garbage_status_is_eio),
	    VBLK_TEST(test_hostile_id_breaks_device),
	    VBLK_TEST(test_busy_device_suppresses_kicks),
	    VBLK_TEST(test_no_seg_max_straddling_blocks),
	    VBLK_TEST(test_bounce_mode_device_never_sees_caller_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Host tests of virtio-blk multi-queue (src/blk/virtio_blk.c, "Multi-queue")
 * with the real block core, virtqueues and transport against the simulated
 * device (test/sim) offering several request queues. The test acts as
 * several CPUs one after the other (hal_host_cpu): each CPU's requests go
 * to its own queue; completions on several queues are taken in one
 * interrupt; a hostile used entry on queue 2 gives the whole device up
 * (reset before any bio ends); a stuck request resets every queue and the
 * device works on all of them again; a lost interrupt on queue 3 is found
 * by the deadline check; blk.mq=0 and blk.queues limit the queues.
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
#include <levblk/virtio/virtio_spec.h>
#include "blk/blk_params.h"
#include "blk/vblk_fixture.h"
#include "blk/virtio_blk.h"
#include "hal_host/hal_host.h"
#include "sim/sim.h"

#define TIMEOUT_MS 1000u
#define NCPU	   4u
#define BIO_BYTES  4096u
#define MQ_BIT	   (1ull << 12) /* VIRTIO_BLK_F_MQ */

struct tb {
	struct bio bio;
	struct bio_seg seg;
	int ended, status;
};

static struct sim_dev *sims[2];
static struct tb tbs[NCPU];
static uint8_t wbuf[NCPU][BIO_BYTES], rbuf[NCPU][BIO_BYTES];

static void tb_end(struct bio *b)
{
	struct tb *t = b->bio_private;
	t->ended++;
	t->status = b->bio_status;
}

/* CPU c's bio: far from the others', so none merge. */
static uint64_t cpu_sector(unsigned int c)
{
	return 64u * c + 16u;
}

/* One disk offering nq queues (0: no MQ), probed with ncpus CPUs. */
static void bring_up(unsigned int nq, unsigned int ncpus, unsigned int version)
{
	struct sim_blk_cfg c;

	sim_blk_cfg_default(&c);
	c.num_queues = nq;
	c.version = version;
	hal_host_cpus = ncpus;
	hal_host_cpu = 0;
	vblk_fixture_bring_up(&c, 1, sims);
	for (unsigned int i = 0; i < NCPU; i++)
		for (unsigned int k = 0; k < BIO_BYTES; k++)
			wbuf[i][k] = (uint8_t)(i * 31 + k * 7 + (k >> 9));
}

/* The queues the driver of disk 0 set up, as the device sees them. */
static unsigned int queues_in_use(void)
{
	return sim_queues_ready(sims[0]);
}

static uint64_t negotiated(void)
{
	char attach[96];
	const char *p;

	blkdev_describe(blkdev_get(0), attach, sizeof(attach));
	p = strstr(attach, "features=0x");
	assert_non_null(p);
	return strtoull(p + 11, NULL, 16);
}

/* Each of CPUs 0..n-1 submits one bio (op) to the disk, as that CPU. */
static void submit_from_cpus(unsigned int n, enum bio_op op)
{
	for (unsigned int c = 0; c < n; c++) {
		hal_host_cpu = c;
		memset(&tbs[c], 0, sizeof(tbs[c]));
		tbs[c].seg = (struct bio_seg){op == BIO_OP_WRITE ? wbuf[c] : rbuf[c], BIO_BYTES};
		bio_init_rw(&tbs[c].bio, blkdev_get(0), op, cpu_sector(c), &tbs[c].seg, 1, tb_end,
			    &tbs[c]);
		submit_bio(&tbs[c].bio);
	}
	hal_host_cpu = 0;
}

static void assert_at_rest(void)
{
	struct blk_resources r;
	struct blk_counters c;

	blkdev_resources(blkdev_get(0), &r);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(r.ring_in_flight, 0);
	assert_int_equal(r.free_requests, r.nr_requests);
	if (!blkdev_broken(blkdev_get(0)))
		assert_int_equal(r.ring_free, r.ring_size);
	assert_true(blkdev_at_rest(&r, &c) || blkdev_broken(blkdev_get(0)));
}

/* Writes from every CPU, each on its own queue, then reads them back the same way. */
static void assert_all_queues_work(unsigned int nq)
{
	struct sim_stats before, after;

	sim_get_stats(sims[0], &before);
	submit_from_cpus(NCPU, BIO_OP_WRITE);
	sim_get_stats(sims[0], &after);
	for (unsigned int q = 0; q < nq; q++)
		assert_int_equal(after.queue_chains[q] - before.queue_chains[q], NCPU / nq);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_RANDOM);
	for (unsigned int c = 0; c < NCPU; c++) {
		assert_int_equal(tbs[c].ended, 1);
		assert_int_equal(tbs[c].status, 0);
		assert_memory_equal(sim_blk_data(sims[0]) + cpu_sector(c) * 512, wbuf[c], BIO_BYTES);
	}
	memset(rbuf, 0, sizeof(rbuf));
	submit_from_cpus(NCPU, BIO_OP_READ);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_LIFO);
	for (unsigned int c = 0; c < NCPU; c++) {
		assert_int_equal(tbs[c].status, 0);
		assert_memory_equal(rbuf[c], wbuf[c], BIO_BYTES);
	}
	sim_get_stats(sims[0], &after);
	assert_int_equal(after.driver_errors, 0);
	assert_at_rest();
}

static int setup(void **state)
{
	vblk_fixture_setup(state);
	blk_param_timeout_ms = TIMEOUT_MS;
	vblk_param_mq = 1;
	vblk_param_queues = 0;
	return 0;
}

static int teardown(void **state)
{
	vblk_fixture_teardown(state);
	vblk_param_mq = 1;
	vblk_param_queues = 0;
	hal_host_cpu = 0;
	hal_host_cpus = 1;
	return 0;
}

static void test_mq_queue_count_negotiated(void **state)
{
	(void)state;
	/* One per CPU, up to what the device offers. */
	bring_up(4, 4, 2);
	assert_int_equal(queues_in_use(), 4);
	assert_true(negotiated() & MQ_BIT);
	bring_up(4, 8, 2);
	assert_int_equal(queues_in_use(), 4);
	bring_up(8, 2, 2);
	assert_int_equal(queues_in_use(), 2);
	/* No MQ offered: one queue. */
	bring_up(0, 4, 2);
	assert_int_equal(queues_in_use(), 1);
	assert_false(negotiated() & MQ_BIT);
	/* Legacy transport too. */
	bring_up(4, 4, 1);
	assert_int_equal(queues_in_use(), 4);
	/* blk.queues caps; blk.mq=0 does not even negotiate it. */
	vblk_param_queues = 2;
	bring_up(4, 4, 2);
	assert_int_equal(queues_in_use(), 2);
	vblk_param_queues = 0;
	vblk_param_mq = 0;
	bring_up(4, 4, 2);
	assert_int_equal(queues_in_use(), 1);
	assert_false(negotiated() & MQ_BIT);
	assert_all_queues_work(1);
}

/*
 * Each CPU's request goes to its own queue (and its doorbell rings that
 * queue); the device completes all four at once and one interrupt ends
 * them all.
 */
static void test_mq_each_cpu_own_queue_one_interrupt(void **state)
{
	struct sim_stats st;
	struct blk_counters c;

	(void)state;
	bring_up(4, 4, 2);
	submit_from_cpus(NCPU, BIO_OP_WRITE);
	sim_get_stats(sims[0], &st);
	for (unsigned int q = 0; q < NCPU; q++) {
		assert_int_equal(st.queue_chains[q], 1);
		assert_int_equal(sim_pending_queue(sims[0], q), 1);
		assert_true(st.queue_notifies[q] >= 1);
	}
	assert_int_equal(sim_process(sims[0], 16, SIM_ORDER_FIFO), NCPU);
	sim_get_stats(sims[0], &st);
	for (unsigned int q = 0; q < NCPU; q++)
		assert_int_equal(st.queue_completions[q], 1);
	assert_int_equal(st.irqs_raised, 1);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.irqs, 1);
	for (unsigned int i = 0; i < NCPU; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, 0);
	}
	assert_all_queues_work(4);
	/* Legacy: the same. */
	bring_up(4, 4, 1);
	assert_all_queues_work(4);
}

/* Fewer queues than CPUs: neighbours share (CPUs 0,1 on queue 0; 2,3 on queue 1). */
static void test_mq_cpus_share_fewer_queues(void **state)
{
	struct sim_stats st;

	(void)state;
	bring_up(2, 4, 2);
	assert_int_equal(queues_in_use(), 2);
	submit_from_cpus(NCPU, BIO_OP_WRITE);
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.queue_chains[0], 2);
	assert_int_equal(st.queue_chains[1], 2);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);
	assert_all_queues_work(2);
}

/*
 * A hostile used entry on queue 2 breaks the device: every queue is reset
 * before any bio ends, so the reads still held by queues 0, 1 and 3 never
 * write into buffers whose bios ended -ENODEV.
 */
static void test_mq_hostile_used_ring_on_queue_2(void **state)
{
	(void)state;
	blk_param_retries = 0;
	bring_up(4, 4, 2);
	for (unsigned int c = 0; c < NCPU; c++)
		memset(sim_blk_data(sims[0]) + cpu_sector(c) * 512, 0xd7, BIO_BYTES);
	submit_from_cpus(NCPU, BIO_OP_READ);
	assert_int_equal(sim_pending_queue(sims[0], 2), 1);
	hal_host_console_clear();
	sim_set_hostile(sims[0], SIM_HOSTILE_ID_OUT_OF_RANGE);
	assert_int_equal(sim_process_queue(sims[0], 2, 1, SIM_ORDER_FIFO), 1);
	assert_true(hal_host_console_has("queue 2"));
	assert_true(blkdev_broken(blkdev_get(0)));
	assert_int_equal(sim_status(sims[0]) & VIRTIO_STATUS_DRIVER_OK, 0);
	for (unsigned int c = 0; c < NCPU; c++) {
		assert_int_equal(tbs[c].ended, 1);
		assert_int_equal(tbs[c].status, -ENODEV);
	}
	/* The reset dropped the other queues' chains: nothing writes the reused buffers. */
	assert_int_equal(sim_pending(sims[0]), 0);
	memset(rbuf, 0x11, sizeof(rbuf));
	sim_process(sims[0], 16, SIM_ORDER_FIFO);
	for (unsigned int c = 0; c < NCPU; c++)
		for (unsigned int k = 0; k < BIO_BYTES; k++)
			assert_int_equal(rbuf[c][k], 0x11);
	assert_at_rest();
	blk_param_retries = 3;
}

/*
 * A request swallowed on queue 1 while the others complete: at the deadline
 * the device is reset (all queues), set up again with all four queues, and
 * the request is sent again; then every CPU's queue works.
 */
static void test_mq_reset_with_several_queues(void **state)
{
	struct blk_counters c;
	struct sim_stats st;

	(void)state;
	bring_up(4, 4, 2);
	submit_from_cpus(NCPU, BIO_OP_WRITE);
	sim_set_hostile(sims[0], SIM_HOSTILE_SWALLOW);
	sim_process_queue(sims[0], 1, 1, SIM_ORDER_FIFO);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);
	assert_int_equal(tbs[1].ended, 0);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.resets, 1);
	assert_int_equal(c.timeouts, 1);
	assert_false(blkdev_broken(blkdev_get(0)));
	assert_int_equal(sim_pending(sims[0]), 1);
	while (sim_pending(sims[0]))
		sim_process(sims[0], 16, SIM_ORDER_FIFO);
	for (unsigned int i = 0; i < NCPU; i++) {
		assert_int_equal(tbs[i].ended, 1);
		assert_int_equal(tbs[i].status, 0);
		assert_memory_equal(sim_blk_data(sims[0]) + cpu_sector(i) * 512, wbuf[i], BIO_BYTES);
	}
	assert_int_equal(queues_in_use(), 4);
	assert_all_queues_work(4);
	sim_get_stats(sims[0], &st);
	assert_int_equal(st.driver_errors, 0);
}

/* Completions on queue 3 whose interrupt never came: found by the deadline check, no reset. */
static void test_mq_lost_irq_on_queue_3(void **state)
{
	struct blk_counters c;

	(void)state;
	bring_up(4, 4, 2);
	submit_from_cpus(NCPU, BIO_OP_WRITE);
	while (sim_pending_queue(sims[0], 0) + sim_pending_queue(sims[0], 1) +
	       sim_pending_queue(sims[0], 2))
		sim_process_queue(sims[0], sim_pending_queue(sims[0], 0) ? 0
					   : sim_pending_queue(sims[0], 1) ? 1
									  : 2,
				  16, SIM_ORDER_FIFO);
	sim_set_hostile(sims[0], SIM_HOSTILE_DROP_IRQ);
	sim_process_queue(sims[0], 3, 1, SIM_ORDER_FIFO);
	assert_int_equal(tbs[3].ended, 0);
	hal_host_advance((uint64_t)TIMEOUT_MS * NSEC_PER_MSEC);
	blkdev_counters(blkdev_get(0), &c);
	assert_int_equal(c.lost_irqs, 1);
	assert_int_equal(c.resets, 0);
	assert_int_equal(tbs[3].ended, 1);
	assert_int_equal(tbs[3].status, 0);
	assert_all_queues_work(4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mq_queue_count_negotiated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mq_each_cpu_own_queue_one_interrupt, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mq_cpus_share_fewer_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mq_hostile_used_ring_on_queue_2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mq_reset_with_several_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mq_lost_irq_on_queue_3, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

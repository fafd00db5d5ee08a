/*
 * Index wrap: more than 70 000 chains through a small queue (4 entries with
 * indirect chains, 16 with direct ones, so that several chains of 3-4
 * descriptors are in flight at once), so the
 * free-running 16-bit avail and used indices (and event index comparisons)
 * wrap at least once, with completions in order, reversed and shuffled.
 * Completions arrive only through the interrupt handler and chains reach the
 * device only through kicks, so a wrong wrap-around decision (a missed kick
 * or a missed interrupt) stalls the loop and fails the test.
 *
 * The packed ring runs the same loop at several queue sizes, powers of two
 * and not (the packed format allows any): its ring positions and wrap
 * counters flip at every lap, chains of several descriptors straddle the
 * end of the ring, and out-of-order completion hands slots back out of
 * ring order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include "hal_host/hal_host.h"
#include "virtio/vtest.h"

#define SECTOR 512U
#define QMAX   128U
#define OPS    70001U
#define NSECT  64U

static uint64_t wrap_rng = 12345;

static unsigned wrap_rand(unsigned n)
{
	wrap_rng = wrap_rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((wrap_rng >> 33) % n);
}

static void wrap_ring(unsigned qsize, bool indirect, bool event_idx, enum sim_order order,
		      bool packed)
{
	struct sim_blk_cfg c;
	struct vt t;
	static struct vt_req req[QMAX];
	static uint8_t buf[QMAX][2 * SECTOR];
	bool busy[QMAX] = {false};
	unsigned submitted = 0, checked = 0;
	struct vq_stats vs;
	struct sim_stats ss;

	memset(req, 0, sizeof(req));
	sim_seed(order + 1);
	sim_blk_cfg_default(&c);
	c.indirect = indirect;
	c.event_idx = event_idx;
	c.capacity = NSECT;
	c.packed = packed;
	assert_true(qsize <= QMAX);
	assert_int_equal(vt_setup(&t, &c, qsize, VT_WANT_ALL), 0);
	assert_int_equal(vq_size(t.vq), qsize);
	assert_int_equal(vq_is_packed(t.vq), packed);
	for (unsigned s = 0; s < NSECT; s++)
		memset(sim_blk_data(t.sim) + s * SECTOR, (int)s + 1, SECTOR);

	while (checked < OPS) {
		unsigned added = 0;

		/* Fill what the ring takes (direct chains need 3 or 4 descriptors). */
		for (unsigned i = 0; i < qsize && submitted < OPS; i++) {
			unsigned sector = submitted % (NSECT - 1);
			unsigned nseg = 1 + wrap_rand(2);
			int err;

			if (busy[i])
				continue;
			req[i].seq = submitted;
			err = vt_submit(&t, &req[i], VT_T_IN, sector, buf[i], 2 * SECTOR, nseg);
			if (err == -ENOSPC)
				break;
			assert_int_equal(err, 0);
			busy[i] = true;
			submitted++;
			added++;
		}
		if (added)
			assert_true(vt_kick(&t)); /* the device always caught up: a kick is due */
		unsigned pending = sim_pending(t.sim);
		assert_true(pending > 0);
		unsigned before = t.completed;
		assert_int_equal(sim_process(t.sim, 1 + wrap_rand(pending), order),
				 t.completed - before);
		assert_true(t.completed > before); /* the interrupt came and was drained */
		for (unsigned i = 0; i < qsize; i++) {
			if (!busy[i] || !req[i].done)
				continue;
			unsigned sector = req[i].seq % (NSECT - 1);

			assert_int_equal(req[i].status, VT_S_OK);
			assert_int_equal(req[i].used_len, 2 * SECTOR + 1);
			assert_int_equal(buf[i][0], (uint8_t)(sector + 1));
			assert_int_equal(buf[i][2 * SECTOR - 1], (uint8_t)(sector + 2));
			busy[i] = false;
			checked++;
		}
	}
	vq_get_stats(t.vq, &vs);
	sim_get_stats(t.sim, &ss);
	assert_int_equal(vs.adds, OPS);
	assert_int_equal(vs.used, OPS);
	assert_true(vs.adds > 65536);
	assert_int_equal(vq_free_count(t.vq), qsize);
	assert_int_equal(vq_in_flight(t.vq), 0);
	assert_int_equal(ss.completions, OPS);
	assert_int_equal(ss.driver_errors, 0);
	assert_false(vq_is_broken(t.vq));
	if (order != SIM_ORDER_FIFO)
		assert_true(ss.max_pending > 1);
	vt_teardown(&t);
}

static void wrap(unsigned qsize, bool indirect, bool event_idx, enum sim_order order)
{
	wrap_ring(qsize, indirect, event_idx, order, false);
}

static void wrap_direct_fifo_flags(void **s)
{
	wrap(16, false, false, SIM_ORDER_FIFO);
}
static void wrap_indirect_lifo_event(void **s)
{
	wrap(4, true, true, SIM_ORDER_LIFO);
}
static void wrap_direct_random_event(void **s)
{
	wrap(16, false, true, SIM_ORDER_RANDOM);
}
static void wrap_indirect_random_flags(void **s)
{
	wrap(4, true, false, SIM_ORDER_RANDOM);
}

static void packed_direct_fifo_flags_16(void **s)
{
	wrap_ring(16, false, false, SIM_ORDER_FIFO, true);
}
static void packed_direct_random_event_7(void **s)
{
	wrap_ring(7, false, true, SIM_ORDER_RANDOM, true);
}
static void packed_direct_lifo_event_100(void **s)
{
	wrap_ring(100, false, true, SIM_ORDER_LIFO, true);
}
static void packed_direct_random_flags_9(void **s)
{
	wrap_ring(9, false, false, SIM_ORDER_RANDOM, true);
}
static void packed_indirect_lifo_event_3(void **s)
{
	wrap_ring(3, true, true, SIM_ORDER_LIFO, true);
}
static void packed_indirect_random_flags_6(void **s)
{
	wrap_ring(6, true, false, SIM_ORDER_RANDOM, true);
}
static void packed_indirect_fifo_event_2(void **s)
{
	wrap_ring(2, true, true, SIM_ORDER_FIFO, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wrap_direct_fifo_flags),
	    cmocka_unit_test(wrap_indirect_lifo_event),
	    cmocka_unit_test(wrap_direct_random_event),
	    cmocka_unit_test(wrap_indirect_random_flags),
	    cmocka_unit_test(packed_direct_fifo_flags_16),
	    cmocka_unit_test(packed_direct_random_event_7),
	    cmocka_unit_test(packed_direct_lifo_event_100),
	    cmocka_unit_test(packed_direct_random_flags_9),
	    cmocka_unit_test(packed_indirect_lifo_event_3),
	    cmocka_unit_test(packed_indirect_random_flags_6),
	    cmocka_unit_test(packed_indirect_fifo_event_2),
	};

	hal_host_quiet = getenv("VT_VERBOSE") == NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

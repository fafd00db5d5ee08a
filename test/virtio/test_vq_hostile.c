/*
 * A hostile device (test/sim hostile modes). Each case is one named test
 * showing the damage is contained: the queue is marked broken with a reason,
 * nothing more is read from the used ring, later vq_ calls fail cleanly, every
 * in-flight cookie comes back exactly once through vq_detach_unused, no
 * cookie is completed twice (vtest aborts if so), and no array is indexed
 * with the bad value (ASan would stop the test). The device can then be
 * reset and restarted.
 *
 * Every case runs on the split ring and again on the packed ring (the
 * *_packed tests), where the used descriptor carries the bad id or length,
 * and where a used descriptor with the wrong wrap bit is the packed form
 * of an index the device may not write.
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
#define NREQ   4U

/* The ring format of the running case (the *_packed wrappers set it). */
static bool hostile_packed;

struct hostile {
	struct vt t;
	struct vt_req r[NREQ];
	uint8_t buf[NREQ][2 * SECTOR];
};

/* Four reads in flight on an 8-entry queue, the next completion misbehaving. */
static void start(struct hostile *h, bool indirect, enum sim_hostile mode)
{
	struct sim_blk_cfg c;

	memset(h, 0, sizeof(*h));
	sim_blk_cfg_default(&c);
	c.indirect = indirect;
	c.packed = hostile_packed;
	assert_int_equal(vt_setup(&h->t, &c, indirect ? 8 : 16, VT_WANT_ALL), 0);
	assert_int_equal(vq_is_packed(h->t.vq), hostile_packed);
	for (unsigned i = 0; i < NREQ; i++) {
		h->r[i].seq = i;
		assert_int_equal(vt_submit(&h->t, &h->r[i], VT_T_IN, i, h->buf[i], 2 * SECTOR, 2),
				 0);
	}
	assert_true(vt_kick(&h->t));
	sim_set_hostile(h->t.sim, mode);
}

static void assert_contained(struct hostile *h, const char *reason)
{
	struct vt *t = &h->t;
	struct vt_req extra = {0};
	bool back[NREQ] = {false};
	unsigned done = 0, detached = 0;
	struct vq_stats vs;
	uint32_t len;
	void *c;

	assert_true(vq_is_broken(t->vq));
	assert_non_null(vq_broken_reason(t->vq));
	assert_non_null(strstr(vq_broken_reason(t->vq), reason));
	assert_null(vq_get_used(t->vq, &len));
	assert_false(vq_has_used(t->vq));
	assert_int_equal(vt_submit(t, &extra, VT_T_IN, 0, h->buf[0], SECTOR, 1), -ENODEV);
	assert_false(vq_kick_prepare(t->vq));

	/* The device goes on completing: nothing more is consumed. */
	sim_process(t->sim, NREQ, SIM_ORDER_FIFO);
	assert_null(vq_get_used(t->vq, &len));

	for (unsigned i = 0; i < NREQ; i++)
		done += h->r[i].done;
	while ((c = vq_detach_unused(t->vq))) {
		struct vt_req *q = c;
		unsigned i = (unsigned)(q - h->r);

		assert_true(i < NREQ);
		assert_false(q->done);
		assert_false(back[i]);
		back[i] = true;
		detached++;
	}
	assert_int_equal(done + detached, NREQ);
	assert_int_equal(vq_in_flight(t->vq), 0);
	vq_get_stats(t->vq, &vs);
	assert_int_equal(vs.violations, 1);

	/* Recovery: reset, restart, and the queue works again. */
	assert_int_equal(vmmio_reset(t->dev), 0);
	assert_int_equal(vmmio_restart(t->dev), 0);
	assert_false(vq_is_broken(t->vq));
	assert_int_equal(vt_submit(t, &extra, VT_T_IN, 0, h->buf[0], SECTOR, 1), 0);
	vt_kick(t);
	sim_process(t->sim, 1, SIM_ORDER_FIFO);
	assert_true(extra.done);
	assert_int_equal(extra.status, VT_S_OK);
	vt_teardown(t);
}

/* used.id >= queue size: never used as an index. */
static void used_id_out_of_range(void **s)
{
	static struct hostile h;

	start(&h, true, SIM_HOSTILE_ID_OUT_OF_RANGE);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_false(h.r[0].done);
	assert_contained(&h, "out of range");
}

/* used.id is a descriptor that heads no chain in flight (direct: a body descriptor). */
static void used_id_not_in_flight(void **s)
{
	static struct hostile h;

	start(&h, false, SIM_HOSTILE_ID_NOT_IN_FLIGHT);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_int_equal(h.t.completed, 0);
	assert_contained(&h, "not a chain in flight");
}

/* The same chain completed twice: the second entry finds no chain in flight. */
static void used_double_completion(void **s)
{
	static struct hostile h;

	start(&h, true, SIM_HOSTILE_DOUBLE_COMPLETION);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_true(h.r[0].done); /* the first entry was genuine */
	assert_int_equal(h.t.completed, 1);
	assert_contained(&h, "not a chain in flight");
}

/* used.len beyond the chain's writable bytes: the caller never sees it. */
static void used_len_too_large(void **s)
{
	static struct hostile h;

	start(&h, true, SIM_HOSTILE_LEN_TOO_LARGE);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_false(h.r[0].done);
	assert_contained(&h, "used len");
}

/* used.idx jumps by more than the queue size. */
static void used_idx_jump(void **s)
{
	static struct hostile h;

	start(&h, true, SIM_HOSTILE_USED_IDX_JUMP);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_int_equal(h.t.completed, 0);
	assert_contained(&h, "used idx");
}

/*
 * A status byte that is not OK/IOERR/UNSUPP is not a ring violation: the
 * queue stays healthy and the byte reaches the caller unchanged, for the
 * block layer to map to -EIO.
 */
static void garbage_status_byte(void **s)
{
	static struct hostile h;

	start(&h, true, SIM_HOSTILE_GARBAGE_STATUS);
	sim_process(h.t.sim, NREQ, SIM_ORDER_FIFO);
	assert_int_equal(h.t.completed, NREQ);
	assert_int_equal(h.r[0].status, 0x5a);
	assert_int_equal(h.r[0].used_len, 2 * SECTOR + 1);
	for (unsigned i = 1; i < NREQ; i++)
		assert_int_equal(h.r[i].status, VT_S_OK);
	assert_false(vq_is_broken(h.t.vq));
	vt_teardown(&h.t);
}

/*
 * A swallowed request never completes; the others do. Its cookie stays in
 * flight until recovery (reset) hands it back.
 */
static void swallowed_request(void **s)
{
	static struct hostile h;
	void *c;

	start(&h, true, SIM_HOSTILE_SWALLOW);
	sim_process(h.t.sim, NREQ, SIM_ORDER_FIFO);
	assert_int_equal(h.t.completed, NREQ - 1);
	assert_false(h.r[0].done);
	assert_false(vq_is_broken(h.t.vq));
	assert_int_equal(vq_in_flight(h.t.vq), 1);
	assert_int_equal(vmmio_reset(h.t.dev), 0);
	c = vq_detach_unused(h.t.vq);
	assert_ptr_equal(c, &h.r[0]);
	assert_null(vq_detach_unused(h.t.vq));
	assert_int_equal(vmmio_restart(h.t.dev), 0);
	vt_teardown(&h.t);
}

/*
 * A dropped interrupt loses nothing. Without event index the next interrupt
 * finds both completions. With event index the device has legitimately
 * crossed used_event already and will not interrupt again until the driver
 * moves used_event, so only polling (the block layer's timeout path must
 * poll vq_has_used before declaring a request lost) recovers it; after
 * that, interrupts flow again.
 */
static void dropped_interrupt(bool event_idx)
{
	static struct hostile h;
	struct sim_blk_cfg c;

	memset(&h, 0, sizeof(h));
	sim_blk_cfg_default(&c);
	c.event_idx = event_idx;
	c.packed = hostile_packed;
	assert_int_equal(vt_setup(&h.t, &c, 8, VT_WANT_ALL), 0);
	/* Armed as a driver's handler leaves it (a packed ring starts at ENABLE, not at an offset). */
	assert_true(vq_enable_cb(h.t.vq));
	for (unsigned i = 0; i < NREQ; i++)
		assert_int_equal(vt_submit(&h.t, &h.r[i], VT_T_IN, i, h.buf[i], SECTOR, 1), 0);
	vt_kick(&h.t);
	sim_set_hostile(h.t.sim, SIM_HOSTILE_DROP_IRQ);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_int_equal(h.t.irqs, 0);
	assert_false(h.r[0].done);
	assert_true(vq_has_used(h.t.vq));
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	if (event_idx) {
		assert_int_equal(h.t.irqs, 0);
		assert_int_equal(vt_poll(&h.t), 2);
		assert_true(vq_enable_cb(h.t.vq));
	} else {
		assert_int_equal(h.t.irqs, 1);
	}
	assert_true(h.r[0].done);
	assert_true(h.r[1].done);
	sim_process(h.t.sim, NREQ, SIM_ORDER_FIFO);
	assert_int_equal(h.t.irqs, 1 + !event_idx);
	assert_int_equal(h.t.completed, NREQ);
	assert_false(vq_is_broken(h.t.vq));
	vt_teardown(&h.t);
}

static void dropped_interrupt_flags(void **s)
{
	dropped_interrupt(false);
}
static void dropped_interrupt_event_idx(void **s)
{
	dropped_interrupt(true);
}

/* Packed ring: a used descriptor whose AVAIL/USED pair has the wrong wrap counter. */
static void used_wrong_wrap_bit(void **s)
{
	static struct hostile h;

	start(&h, true, SIM_HOSTILE_WRONG_WRAP);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_int_equal(h.t.completed, 0);
	assert_contained(&h, "wrong wrap bit");
}

/* The wrong wrap bit on a later lap, after the ring went round a few times. */
static void used_wrong_wrap_bit_after_laps(void **s)
{
	static struct hostile h;
	struct vt_req r = {0};

	start(&h, false, SIM_HOSTILE_NONE);
	sim_process(h.t.sim, NREQ, SIM_ORDER_FIFO);
	assert_int_equal(h.t.completed, NREQ);
	for (unsigned i = 0; i < 37; i++) {
		assert_int_equal(vt_submit(&h.t, &r, VT_T_IN, i % 8, h.buf[0], SECTOR, 1), 0);
		vt_kick(&h.t);
		sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
		assert_true(r.done);
	}
	for (unsigned i = 0; i < NREQ; i++)
		assert_int_equal(vt_submit(&h.t, &h.r[i], VT_T_IN, i, h.buf[i], 2 * SECTOR, 2), 0);
	vt_kick(&h.t);
	sim_set_hostile(h.t.sim, SIM_HOSTILE_WRONG_WRAP);
	sim_process(h.t.sim, 1, SIM_ORDER_FIFO);
	assert_contained(&h, "wrong wrap bit");
}

#define PACKED(name)                                                                               \
	static void name##_packed(void **s)                                                        \
	{                                                                                          \
		hostile_packed = true;                                                             \
		name(s);                                                                           \
		hostile_packed = false;                                                            \
	}
PACKED(used_id_out_of_range)
PACKED(used_id_not_in_flight)
PACKED(used_double_completion)
PACKED(used_len_too_large)
PACKED(used_wrong_wrap_bit)
PACKED(used_wrong_wrap_bit_after_laps)
PACKED(garbage_status_byte)
PACKED(swallowed_request)
PACKED(dropped_interrupt_flags)
PACKED(dropped_interrupt_event_idx)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(used_id_out_of_range),
	    cmocka_unit_test(used_id_not_in_flight),
	    cmocka_unit_test(used_double_completion),
	    cmocka_unit_test(used_len_too_large),
	    cmocka_unit_test(used_idx_jump),
	    cmocka_unit_test(garbage_status_byte),
	    cmocka_unit_test(swallowed_request),
	    cmocka_unit_test(dropped_interrupt_flags),
	    cmocka_unit_test(dropped_interrupt_event_idx),
	    cmocka_unit_test(used_id_out_of_range_packed),
	    cmocka_unit_test(used_id_not_in_flight_packed),
	    cmocka_unit_test(used_double_completion_packed),
	    cmocka_unit_test(used_len_too_large_packed),
	    cmocka_unit_test(used_wrong_wrap_bit_packed),
	    cmocka_unit_test(used_wrong_wrap_bit_after_laps_packed),
	    cmocka_unit_test(garbage_status_byte_packed),
	    cmocka_unit_test(swallowed_request_packed),
	    cmocka_unit_test(dropped_interrupt_flags_packed),
	    cmocka_unit_test(dropped_interrupt_event_idx_packed),
	};

	hal_host_quiet = getenv("VT_VERBOSE") == NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Normal operation of the split virtqueue against the simulated device:
 * direct and indirect chains, with and without event index (kick and
 * interrupt suppression counted on both sides), legacy and modern rings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/hal/dma.h>
#include "hal_host/hal_host.h"
#include "virtio/vtest.h"

#define SECTOR 512U

static void cfg_for(struct sim_blk_cfg *c, unsigned version, bool indirect, bool event_idx)
{
	sim_blk_cfg_default(c);
	c->version = version;
	c->indirect = indirect;
	c->event_idx = event_idx;
	c->capacity = 256;
}

/* Writes then reads back a multi-segment buffer; checks data, lengths and chain shape. */
static void roundtrip(unsigned version, bool indirect, bool event_idx)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req w = {0}, r = {0};
	uint8_t *out = malloc(8 * SECTOR), *in = calloc(8, SECTOR);
	struct sim_stats ss;
	struct vq_stats vs;

	assert_non_null(out);
	assert_non_null(in);
	for (unsigned i = 0; i < 8 * SECTOR; i++)
		out[i] = (uint8_t)(i * 7 + version);
	cfg_for(&c, version, indirect, event_idx);
	assert_int_equal(vt_setup(&t, &c, 16, VT_WANT_ALL), 0);
	assert_int_equal(vq_has_indirect(t.vq), indirect);
	assert_int_equal(vq_has_event_idx(t.vq), event_idx);
	assert_int_equal(vq_max_sg(t.vq), indirect ? 128 : 16);
	if (version == 1)
		assert_false(t.features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	else
		assert_true(t.features & VIRTIO_BIT(VIRTIO_F_VERSION_1));

	assert_int_equal(vt_submit(&t, &w, VT_T_OUT, 10, out, 8 * SECTOR, 5), 0);
	/* 7 descriptors direct, 1 through an indirect table */
	assert_int_equal(vq_free_count(t.vq), indirect ? 15 : 9);
	assert_true(vt_kick(&t));
	assert_int_equal(sim_pending(t.sim), 1);
	assert_int_equal(sim_process(t.sim, 10, SIM_ORDER_FIFO), 1);
	assert_true(w.done);
	assert_int_equal(w.status, VT_S_OK);
	assert_int_equal(w.used_len, 1);
	assert_memory_equal(sim_blk_data(t.sim) + 10 * SECTOR, out, 8 * SECTOR);
	assert_int_equal(vq_free_count(t.vq), 16);

	assert_int_equal(vt_submit(&t, &r, VT_T_IN, 10, in, 8 * SECTOR, 3), 0);
	vt_kick(&t);
	sim_process(t.sim, 10, SIM_ORDER_FIFO);
	assert_true(r.done);
	assert_int_equal(r.status, VT_S_OK);
	assert_int_equal(r.used_len, 8 * SECTOR + 1);
	assert_memory_equal(in, out, 8 * SECTOR);

	sim_get_stats(t.sim, &ss);
	vq_get_stats(t.vq, &vs);
	assert_int_equal(ss.driver_errors, 0);
	assert_int_equal(ss.chains, 2);
	assert_int_equal(ss.chains_indirect, indirect ? 2 : 0);
	assert_int_equal(vs.adds, 2);
	assert_int_equal(vs.adds_indirect, indirect ? 2 : 0);
	assert_int_equal(vs.used, 2);
	assert_int_equal(vs.irqs, 2);
	assert_int_equal(vs.irqs_with_work, 2);
	assert_int_equal(t.irqs, 2);
	assert_int_equal(ss.irqs_raised, 2);
	assert_int_equal(t.dev->irq_vring, 2);
	free(out);
	free(in);
	vt_teardown(&t);
}

/* The transport and ring options of one roundtrip case (its cmocka state). */
struct rt_case {
	unsigned version;
	bool indirect, event_idx;
};

static void roundtrip_case(void **s)
{
	const struct rt_case *p = *s;

	roundtrip(p->version, p->indirect, p->event_idx);
}

/*
 * A busy device (deferred fetch) has not caught up with the first kick, so
 * the driver's second kick is unnecessary: suppressed by avail_event with
 * event index, by VRING_USED_F_NO_NOTIFY without.
 */
static void kick_suppression(bool event_idx)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req r[4] = {0};
	uint8_t buf[4][SECTOR];
	struct vq_stats vs;
	struct sim_stats ss;

	cfg_for(&c, 2, true, event_idx);
	assert_int_equal(vt_setup(&t, &c, 8, VT_WANT_ALL), 0);
	sim_set_deferred_fetch(t.sim, true);
	for (unsigned i = 0; i < 4; i++)
		r[i].seq = i;
	assert_int_equal(vt_submit(&t, &r[0], VT_T_IN, 0, buf[0], SECTOR, 1), 0);
	assert_true(vt_kick(&t));
	assert_int_equal(vt_submit(&t, &r[1], VT_T_IN, 1, buf[1], SECTOR, 1), 0);
	assert_int_equal(vt_submit(&t, &r[2], VT_T_IN, 2, buf[2], SECTOR, 1), 0);
	assert_false(vt_kick(&t)); /* device has not looked yet */
	assert_int_equal(sim_process(t.sim, 8, SIM_ORDER_FIFO), 3);
	/* The device caught up: a new chain needs a kick again. */
	assert_int_equal(vt_submit(&t, &r[3], VT_T_IN, 3, buf[3], SECTOR, 1), 0);
	assert_true(vt_kick(&t));
	assert_int_equal(sim_process(t.sim, 8, SIM_ORDER_FIFO), 1);
	vq_get_stats(t.vq, &vs);
	sim_get_stats(t.sim, &ss);
	assert_int_equal(vs.kicks, 2);
	assert_int_equal(vs.kicks_suppressed, 1);
	assert_int_equal(ss.notifies, 2);
	assert_int_equal(t.completed, 4);
	assert_int_equal(ss.driver_errors, 0);
	vt_teardown(&t);
}

/* The state is a bool: event index negotiated or not. */
static void kick_suppression_case(void **s)
{
	kick_suppression(*(const bool *)*s);
}

/*
 * With callbacks disabled the device raises no interrupt (used_event parked
 * far away / NO_INTERRUPT); vq_enable_cb then reports the completions that
 * arrived meanwhile, and with callbacks enabled a batch raises one interrupt.
 */
static void irq_suppression(bool event_idx)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req r[6] = {0};
	uint8_t buf[6][SECTOR];
	struct sim_stats ss;
	struct vq_stats vs;

	cfg_for(&c, 2, false, event_idx);
	assert_int_equal(vt_setup(&t, &c, 32, VT_WANT_ALL), 0);
	vq_disable_cb(t.vq);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vt_submit(&t, &r[i], VT_T_IN, i, buf[i], SECTOR, 1), 0);
	vt_kick(&t);
	assert_int_equal(sim_process(t.sim, 1, SIM_ORDER_FIFO), 1);
	assert_int_equal(sim_process(t.sim, 2, SIM_ORDER_FIFO), 2);
	sim_get_stats(t.sim, &ss);
	assert_int_equal(ss.irqs_raised, 0);
	assert_int_equal(ss.irqs_suppressed, 2);
	assert_int_equal(t.irqs, 0);
	assert_true(vq_has_used(t.vq));
	/* The race-free re-check: buffers arrived while callbacks were off. */
	assert_false(vq_enable_cb(t.vq));
	assert_int_equal(vt_poll(&t), 3);
	assert_true(vq_enable_cb(t.vq));

	for (unsigned i = 3; i < 6; i++)
		assert_int_equal(vt_submit(&t, &r[i], VT_T_IN, i, buf[i], SECTOR, 1), 0);
	vt_kick(&t);
	assert_int_equal(sim_process(t.sim, 3, SIM_ORDER_LIFO), 3);
	sim_get_stats(t.sim, &ss);
	vq_get_stats(t.vq, &vs);
	assert_int_equal(ss.irqs_raised, 1);
	assert_int_equal(t.irqs, 1);
	assert_int_equal(t.completed, 6);
	assert_int_equal(vs.cb_rechecks, 1);
	assert_int_equal(ss.driver_errors, 0);
	vt_teardown(&t);
}

/* The state is a bool: event index negotiated or not. */
static void irq_suppression_case(void **s)
{
	irq_suppression(*(const bool *)*s);
}

/*
 * vq_enable_cb_delayed with event index, on one ring format: 8 chains in
 * flight, the interrupt asked for three quarters of the way through them
 * (after 6 more completions: the 7th crosses it). Five completions raise
 * nothing, the next two raise one interrupt that finds all seven. Then the
 * race: with callbacks off, the device completes the last one, beyond the
 * point vq_enable_cb_delayed is about to set; it must say so (false)
 * rather than wait for an interrupt that will not come.
 */
static void delayed_interrupt(bool packed)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req r[8] = {0};
	uint8_t buf[8][SECTOR];
	struct sim_stats ss;

	cfg_for(&c, 2, true, true);
	c.packed = packed;
	assert_int_equal(vt_setup(&t, &c, 16, VT_WANT_ALL), 0);
	assert_int_equal(vq_is_packed(t.vq), packed);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(vt_submit(&t, &r[i], VT_T_IN, i, buf[i], SECTOR, 1), 0);
	vt_kick(&t);
	assert_true(vq_enable_cb_delayed(t.vq));
	assert_int_equal(sim_process(t.sim, 5, SIM_ORDER_FIFO), 5);
	assert_int_equal(t.irqs, 0);
	assert_int_equal(t.completed, 0);
	assert_int_equal(sim_process(t.sim, 1, SIM_ORDER_FIFO), 1);
	assert_int_equal(t.irqs, 0); /* the 6th ends where the point is: not crossed yet */
	assert_int_equal(sim_process(t.sim, 1, SIM_ORDER_FIFO), 1);
	assert_int_equal(t.irqs, 1);
	assert_int_equal(t.completed, 7); /* the handler re-armed at the next completion */

	vq_disable_cb(t.vq);
	assert_int_equal(sim_process(t.sim, 1, SIM_ORDER_FIFO), 1);
	assert_int_equal(t.irqs, 1);
	assert_false(vq_enable_cb_delayed(t.vq));
	assert_int_equal(vt_poll(&t), 1);
	assert_true(vq_enable_cb_delayed(t.vq)); /* nothing in flight: armed at the next */
	sim_get_stats(t.sim, &ss);
	assert_int_equal(ss.driver_errors, 0);
	assert_int_equal(t.completed, 8);
	vt_teardown(&t);
}

static void delayed_interrupt_case(void **s)
{
	delayed_interrupt(*(const bool *)*s);
}

/* Full ring: -ENOSPC until a completion frees descriptors. */
static void ring_full_enospc(void **s)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req a = {0}, b = {0};
	uint8_t buf[4 * SECTOR];
	struct vq_stats vs;

	cfg_for(&c, 2, false, false);
	assert_int_equal(vt_setup(&t, &c, 8, VT_WANT_ALL), 0);
	assert_int_equal(vt_submit(&t, &a, VT_T_IN, 0, buf, sizeof(buf), 4), 0); /* 6 descriptors */
	assert_int_equal(vq_free_count(t.vq), 2);
	assert_int_equal(vt_submit(&t, &b, VT_T_IN, 0, buf, sizeof(buf), 4), -ENOSPC);
	vt_kick(&t);
	sim_process(t.sim, 1, SIM_ORDER_FIFO);
	assert_true(a.done);
	assert_int_equal(vt_submit(&t, &b, VT_T_IN, 0, buf, sizeof(buf), 4), 0);
	vq_get_stats(t.vq, &vs);
	assert_int_equal(vs.add_nospc, 1);
	vt_kick(&t);
	sim_process(t.sim, 1, SIM_ORDER_FIFO);
	assert_true(b.done);
	vt_teardown(&t);
}

static void add_bad_arguments(void **s)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req a = {0};
	uint8_t buf[SECTOR];
	struct vq_sg sg[2] = {{hal_virt_to_bus(buf), 16}, {hal_virt_to_bus(buf + 16), 0}};

	cfg_for(&c, 2, true, true);
	assert_int_equal(vt_setup(&t, &c, 8, VT_WANT_ALL), 0);
	assert_int_equal(vq_add(t.vq, &a, sg, 1, 1), -EINVAL); /* zero-length segment */
	sg[1].len = 1;
	assert_int_equal(vq_add(t.vq, NULL, sg, 1, 1), -EINVAL);
	assert_int_equal(vq_add(t.vq, &a, sg, 0, 0), -EINVAL);
	/* more segments than an indirect table holds */
	assert_int_equal(vt_submit(&t, &a, VT_T_IN, 0, buf, SECTOR, 127), -EINVAL);
	assert_int_equal(vq_in_flight(t.vq), 0);
	assert_int_equal(vq_free_count(t.vq), 8);
	vt_teardown(&t);
}

/* Indirect tables belong to their chain until it completes, even out of order. */
static void indirect_tables_not_reused_early(void **s)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req r[4] = {0};
	uint8_t *data = malloc(4 * 4 * SECTOR), *back = malloc(4 * 4 * SECTOR);

	assert_non_null(data);
	assert_non_null(back);
	for (unsigned i = 0; i < 4 * 4 * SECTOR; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	cfg_for(&c, 2, true, true);
	assert_int_equal(vt_setup(&t, &c, 4, VT_WANT_ALL), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(
		    vt_submit(&t, &r[i], VT_T_OUT, 4 * i, data + i * 4 * SECTOR, 4 * SECTOR, 4), 0);
	vt_kick(&t);
	sim_process(t.sim, 2, SIM_ORDER_LIFO);
	/* two slots free again: reuse them while the other two chains are pending */
	assert_int_equal(vt_submit(&t, &r[3], VT_T_IN, 0, back, 4 * SECTOR, 2), 0);
	assert_int_equal(vt_submit(&t, &r[2], VT_T_IN, 4, back + 4 * SECTOR, 4 * SECTOR, 4), 0);
	vt_kick(&t);
	sim_process(t.sim, 1, SIM_ORDER_FIFO); /* r[0], r[1] writes */
	sim_process(t.sim, 1, SIM_ORDER_FIFO);
	sim_process(t.sim, 2, SIM_ORDER_FIFO);
	assert_memory_equal(back, data, 8 * SECTOR);
	assert_memory_equal(sim_blk_data(t.sim), data, 16 * SECTOR);
	free(data);
	free(back);
	vt_teardown(&t);
}

int main(void)
{
	static struct rt_case modern_direct_noevent = {2, false, false},
			      modern_indirect_noevent = {2, true, false},
			      modern_direct_event = {2, false, true},
			      modern_indirect_event = {2, true, true},
			      legacy_direct_noevent = {1, false, false},
			      legacy_indirect_event = {1, true, true};
	static bool event_idx = true, flags = false;
	static bool split_ring = false, packed_ring = true;
	/* Parametrised cases: name, test, no fixtures, the parameters as the initial state. */
	const struct CMUnitTest tests[] = {
	    {"modern_direct_noevent", roundtrip_case, NULL, NULL, &modern_direct_noevent},
	    {"modern_indirect_noevent", roundtrip_case, NULL, NULL, &modern_indirect_noevent},
	    {"modern_direct_event", roundtrip_case, NULL, NULL, &modern_direct_event},
	    {"modern_indirect_event", roundtrip_case, NULL, NULL, &modern_indirect_event},
	    {"legacy_direct_noevent", roundtrip_case, NULL, NULL, &legacy_direct_noevent},
	    {"legacy_indirect_event", roundtrip_case, NULL, NULL, &legacy_indirect_event},
	    {"kick_suppression_event_idx", kick_suppression_case, NULL, NULL, &event_idx},
	    {"kick_suppression_flags", kick_suppression_case, NULL, NULL, &flags},
	    {"irq_suppression_event_idx", irq_suppression_case, NULL, NULL, &event_idx},
	    {"irq_suppression_flags", irq_suppression_case, NULL, NULL, &flags},
	    {"delayed_interrupt_split", delayed_interrupt_case, NULL, NULL, &split_ring},
	    {"delayed_interrupt_packed", delayed_interrupt_case, NULL, NULL, &packed_ring},
	    cmocka_unit_test(ring_full_enospc),
	    cmocka_unit_test(add_bad_arguments),
	    cmocka_unit_test(indirect_tables_not_reused_early),
	};

	hal_host_quiet = getenv("VT_VERBOSE") == NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * virtio-mmio transport: discovery order, initialisation on both versions,
 * feature negotiation failures (FAILED set, device left alone), queue sizing,
 * consistent configuration reads, separate config-change interrupts, and the
 * reset/restart recovery path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/hal/mmio.h>
#include "hal_host/hal_host.h"
#include "virtio/vmmio_regs.h"
#include "virtio/vtest.h"

#define SECTOR 512U

static int probe_bus(void)
{
	unsigned n;

	return vmmio_probe(sim_slots(&n), n);
}

/* QEMU fills slots from the top; -device order must come out as index order. */
static void probe_order_descending_slots(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *a, *b;
	uint64_t cap;

	sim_reset_bus();
	sim_blk_cfg_default(&c);
	c.capacity = 100;
	a = sim_add_blk(&c);
	sim_add_other(VIRTIO_ID_RNG, 2);
	c.capacity = 300;
	c.version = 1;
	b = sim_add_blk(&c);
	assert_int_equal(probe_bus(), 3);
	assert_int_equal(vmmio_count(), 3);
	assert_int_equal(vmmio_get(0)->base, sim_base(a));
	assert_int_equal(vmmio_get(0)->intid, 79);
	assert_int_equal(vmmio_get(1)->device_id, VIRTIO_ID_RNG);
	assert_int_equal(vmmio_get(2)->base, sim_base(b));
	assert_null(vmmio_get(3));
	assert_ptr_equal(vmmio_find(VIRTIO_ID_BLOCK, 0), vmmio_get(0));
	assert_ptr_equal(vmmio_find(VIRTIO_ID_BLOCK, 1), vmmio_get(2));
	assert_null(vmmio_find(VIRTIO_ID_BLOCK, 2));
	assert_ptr_equal(vmmio_find(VIRTIO_ID_RNG, 0), vmmio_get(1));
	assert_int_equal(vmmio_get(2)->version, 1);

	/* capacity from the configuration space, modern (generation) and legacy (read twice) */
	assert_int_equal(vmmio_init(vmmio_get(0), 0, 0, NULL), 0);
	assert_int_equal(vmmio_config_read(vmmio_get(0), 0, &cap, 8), 0);
	assert_int_equal(cap, 100);
	assert_int_equal(vmmio_init(vmmio_get(2), 0, 0, NULL), 0);
	assert_int_equal(vmmio_config_read(vmmio_get(2), 0, &cap, 8), 0);
	assert_int_equal(cap, 300);
	assert_int_equal(vmmio_config_read(vmmio_get(2), 0, &cap, 3), -EINVAL);
	assert_int_equal(vmmio_config_read(vmmio_get(2), 0x100, &cap, 4), -EINVAL);
	assert_int_equal(vmmio_config_read(vmmio_get(2), UINT32_MAX - 1, &cap, 4), -EINVAL);
	/* rng: no queue to set up */
	assert_int_equal(vmmio_init(vmmio_get(1), 0, 0, NULL), 0);
	struct virtqueue *vq;
	assert_int_equal(vmmio_setup_queue(vmmio_get(1), 0, 8, &vq), -ENODEV);
}

static void empty_bus(void **s)
{
	sim_reset_bus();
	assert_int_equal(probe_bus(), 0);
	assert_int_equal(vmmio_count(), 0);
	assert_null(vmmio_find(VIRTIO_ID_BLOCK, 0));
}

/* Every test leaves an empty bus behind, whatever it asserted on the way. */
static int bus_teardown(void **s)
{
	sim_reset_bus();
	return 0;
}

static struct vmmio_dev *one_device(const struct sim_blk_cfg *c, struct sim_dev **sd)
{
	sim_reset_bus();
	*sd = sim_add_blk(c);
	assert_int_equal(probe_bus(), 1);
	return vmmio_get(0);
}

static void features_ok_refused_sets_failed(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;
	struct virtqueue *vq;
	uint64_t f = 0;

	sim_blk_cfg_default(&c);
	c.refuse_features_ok = true;
	dev = one_device(&c, &sd);
	assert_int_equal(vmmio_init(dev, VT_WANT_ALL, 0, &f), -EIO);
	assert_true(dev->failed);
	assert_true(sim_status(sd) & VIRTIO_STATUS_FAILED);
	/* ACKNOWLEDGE and DRIVER were kept (bits accumulate) */
	assert_int_equal(sim_status(sd) & 3, 3);
	assert_false(sim_status(sd) & VIRTIO_STATUS_FEATURES_OK);
	/* left alone: nothing else goes ahead */
	assert_int_equal(vmmio_setup_queue(dev, 0, 8, &vq), -ENODEV);
	assert_int_equal(vmmio_driver_ok(dev), -ENODEV);
	assert_false(sim_status(sd) & VIRTIO_STATUS_DRIVER_OK);
}

static void modern_without_version_1_refused(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;

	sim_blk_cfg_default(&c);
	c.omit_version_1 = true;
	dev = one_device(&c, &sd);
	assert_int_equal(vmmio_init(dev, VT_WANT_ALL, 0, NULL), -ENODEV);
	assert_true(sim_status(sd) & VIRTIO_STATUS_FAILED);
}

static void legacy_never_accepts_version_1(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;
	uint64_t f = 0;
	struct sim_stats ss;

	sim_blk_cfg_default(&c);
	c.version = 1;
	c.offer_version_1_legacy = true;
	dev = one_device(&c, &sd);
	assert_int_equal(vmmio_init(dev, ~0ULL, VIRTIO_BIT(VIRTIO_F_VERSION_1), &f), 0);
	assert_false(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	sim_get_stats(sd, &ss);
	assert_int_equal(ss.driver_errors, 0);
}

static void required_feature_missing(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;

	sim_blk_cfg_default(&c);
	c.flush = false;
	dev = one_device(&c, &sd);
	assert_int_equal(vmmio_init(dev, VT_WANT_ALL, VIRTIO_BIT(SIM_BLK_F_FLUSH), NULL), -ENODEV);
	assert_true(dev->failed);
	assert_true(sim_status(sd) & VIRTIO_STATUS_FAILED);
}

static void reset_timeout_bounded(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;

	sim_blk_cfg_default(&c);
	c.reset_never_completes = true;
	dev = one_device(&c, &sd);
	/* make the status non-zero so the reset can be seen not to complete */
	mmio_write32_relaxed(dev->base + VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(vmmio_init(dev, VT_WANT_ALL, 0, NULL), -ETIMEDOUT);
	assert_true(dev->failed);
}

static void features_offered_and_wanted_only(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;
	uint64_t f = 0;
	struct sim_stats ss;

	sim_blk_cfg_default(&c);
	c.indirect = false;
	dev = one_device(&c, &sd);
	assert_int_equal(vmmio_init(dev, VT_WANT_ALL | VIRTIO_BIT(50), 0, &f), 0);
	assert_int_equal(f, (VT_WANT_ALL & ~VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) |
				VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(dev->driver_features, f);
	assert_true(sim_status(sd) & VIRTIO_STATUS_FEATURES_OK);
	sim_get_stats(sd, &ss);
	assert_int_equal(ss.driver_errors, 0);
}

static void queue_size_clamped_and_checked(void **s)
{
	struct sim_blk_cfg c;
	struct sim_dev *sd;
	struct vmmio_dev *dev;
	struct virtqueue *vq = NULL;

	sim_blk_cfg_default(&c);
	c.queue_num_max = 16;
	dev = one_device(&c, &sd);
	assert_int_equal(vmmio_init(dev, VT_WANT_ALL, 0, NULL), 0);
	assert_int_equal(vmmio_setup_queue(dev, 0, 100, &vq), -EINVAL);
	assert_int_equal(vmmio_setup_queue(dev, 0, 1, &vq), -EINVAL);
	assert_int_equal(vmmio_setup_queue(dev, 0, 256, &vq), 0);
	assert_int_equal(vq_size(vq), 16);
	assert_int_equal(vmmio_setup_queue(dev, 0, 256, &vq), -ENODEV); /* already set up */
	assert_int_equal(vmmio_driver_ok(dev), 0);
	assert_int_equal(sim_status(sd), 0xf);
	vmmio_release(dev);
}

static void config_change_interrupt_reported_separately(void **s)
{
	struct sim_blk_cfg c;
	struct vt t;
	uint64_t cap;

	sim_blk_cfg_default(&c);
	assert_int_equal(vt_setup(&t, &c, 8, VT_WANT_ALL), 0);
	sim_config_change(t.sim, 4096);
	assert_int_equal(t.irqs, 1);
	assert_int_equal(t.dev->irq_config, 1);
	assert_int_equal(t.dev->irq_vring, 0);
	assert_int_equal(vmmio_config_read(t.dev, 0, &cap, 8), 0);
	assert_int_equal(cap, 4096);
	vt_teardown(&t);
}

/* Recovery: reset with chains in flight, hand them back, restart, work again. */
static void reset_detach_restart(unsigned version)
{
	struct sim_blk_cfg c;
	struct vt t;
	struct vt_req r[3] = {0}, again = {0};
	uint8_t buf[3][SECTOR];
	bool seen[3] = {false};
	void *cookie;
	unsigned n = 0;

	sim_blk_cfg_default(&c);
	c.version = version;
	assert_int_equal(vt_setup(&t, &c, 8, VT_WANT_ALL), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vt_submit(&t, &r[i], VT_T_IN, i, buf[i], SECTOR, 1), 0);
	vt_kick(&t);
	assert_null(vq_detach_unused(t.vq)); /* not while the device may use them */
	assert_int_equal(vmmio_reset(t.dev), 0);
	assert_int_equal(sim_status(t.sim), 0);
	assert_true(vq_is_broken(t.vq));
	assert_int_equal(vt_submit(&t, &again, VT_T_IN, 0, buf[0], SECTOR, 1), -ENODEV);
	assert_int_equal(vmmio_restart(t.dev), -EBUSY);
	while ((cookie = vq_detach_unused(t.vq))) {
		struct vt_req *q = cookie;

		assert_false(seen[q - r]);
		seen[q - r] = true;
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(vmmio_restart(t.dev), 0);
	assert_false(vq_is_broken(t.vq));
	assert_int_equal(sim_status(t.sim), version == 2 ? 0xf : 0x7);
	assert_int_equal(vt_submit(&t, &again, VT_T_IN, 0, buf[0], SECTOR, 1), 0);
	assert_true(vt_kick(&t));
	assert_int_equal(sim_process(t.sim, 4, SIM_ORDER_FIFO), 1);
	assert_true(again.done);
	assert_int_equal(again.status, VT_S_OK);
	vt_teardown(&t);
}

static void reset_detach_restart_modern(void **s)
{
	reset_detach_restart(2);
}
static void reset_detach_restart_legacy(void **s)
{
	reset_detach_restart(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(probe_order_descending_slots, bus_teardown),
	    cmocka_unit_test_teardown(empty_bus, bus_teardown),
	    cmocka_unit_test_teardown(features_ok_refused_sets_failed, bus_teardown),
	    cmocka_unit_test_teardown(modern_without_version_1_refused, bus_teardown),
	    cmocka_unit_test_teardown(legacy_never_accepts_version_1, bus_teardown),
	    cmocka_unit_test_teardown(required_feature_missing, bus_teardown),
	    cmocka_unit_test_teardown(reset_timeout_bounded, bus_teardown),
	    cmocka_unit_test_teardown(features_offered_and_wanted_only, bus_teardown),
	    cmocka_unit_test_teardown(queue_size_clamped_and_checked, bus_teardown),
	    cmocka_unit_test_teardown(config_change_interrupt_reported_separately, bus_teardown),
	    cmocka_unit_test_teardown(reset_detach_restart_modern, bus_teardown),
	    cmocka_unit_test_teardown(reset_detach_restart_legacy, bus_teardown),
	};

	hal_host_quiet = getenv("VT_VERBOSE") == NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

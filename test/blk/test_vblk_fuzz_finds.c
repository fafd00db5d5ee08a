/*
 * What the block mode of the virtio fuzzer (test/fuzz) found in the driver,
 * each replayed as a named test against the simulated device (test/sim).
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
#include <levblk/hal/clock.h>
#include <levblk/hal/spinlock.h>
#include "blk/blk_params.h"
#include "blk/vblk_fixture.h"
#include "hal_host/hal_host.h"
#include "sim/sim.h"

#define TIMEOUT_MS 100u

static struct sim_dev *sims[1];
static uint8_t buf[512];
static int ends, status;

static void end_io(struct bio *b)
{
	ends++;
	status = b->bio_status;
}

/*
 * The deadline check looks at the used ring for a lost interrupt; when that
 * look itself catches the device misbehaving (used idx far past what is in
 * flight), the check neither recovered nor gave the device up, and re-armed
 * its timer for the deadline already past: a timer interrupt storm.
 */
static void test_deadline_check_that_breaks_the_queue_gives_up(void **state)
{
	struct sim_blk_cfg c;
	struct bio b;
	struct bio_seg seg = {buf, sizeof(buf)};

	(void)state;
	sim_blk_cfg_default(&c);
	vblk_fixture_bring_up(&c, 1, sims);
	blk_param_timeout_ms = TIMEOUT_MS;
	ends = 0;
	bio_init_rw(&b, blkdev_get(0), BIO_OP_READ, 0, &seg, 1, end_io, NULL);
	irqflags_t m = irq_save(); /* the completion's interrupt stays pending */
	submit_bio(&b);
	sim_set_hostile(sims[0], SIM_HOSTILE_USED_IDX_JUMP);
	sim_process(sims[0], 1, SIM_ORDER_FIFO);
	hal_host_advance((uint64_t)(TIMEOUT_MS + 1) * NSEC_PER_MSEC);
	irq_restore(m);
	sim_deliver_irqs();
	assert_int_equal(ends, 1);
	assert_int_equal(status, -ENODEV);
	assert_true(blkdev_broken(blkdev_get(0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_deadline_check_that_breaks_the_queue_gives_up,
					    vblk_fixture_setup, vblk_fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

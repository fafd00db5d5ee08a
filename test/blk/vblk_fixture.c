/* See vblk_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <levblk/blkdev.h>
#include <levblk/virtio/virtio_mmio.h>
#include "blk/blk_params.h"
#include "blk/blk_bounce.h"
#include "blk/virtio_blk.h"
#include "blk/vblk_fixture.h"
#include "hal_host/hal_host.h"

#define FIXTURE_TIMEOUT_MS 30000u /* blk.timeout_ms default (docs/interface.md) */

void vblk_fixture_reset(void)
{
	vblk_host_reset();
	blk_dev_host_reset();
	sim_reset_bus();
}

void vblk_fixture_bring_up(const struct sim_blk_cfg *cfgs, unsigned int n, struct sim_dev **sims)
{
	unsigned int nslots;

	vblk_fixture_reset();
	for (unsigned int i = 0; i < n; i++)
		sims[i] = sim_add_blk(&cfgs[i]);
	const struct dt_virtio_mmio *slots = sim_slots(&nslots);
	assert_int_equal(vmmio_probe(slots, nslots), (int)n);
	assert_int_equal(vblk_probe_all(), (int)n);
	assert_int_equal(blkdev_count(), n);
}

int vblk_fixture_setup(void **state)
{
	(void)state;
	hal_host_quiet = true;
	blk_param_merge = 1;
	blk_param_retries = 3;
	blk_param_timeout_ms = FIXTURE_TIMEOUT_MS;
	blk_param_bounce = 0;
	return 0;
}

int vblk_fixture_teardown(void **state)
{
	(void)state;
	vblk_fixture_reset();
	blk_param_timeout_ms = FIXTURE_TIMEOUT_MS;
	blk_param_bounce = 0;
	return 0;
}

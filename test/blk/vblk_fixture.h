/*
 * Shared set-up of the host tests that run the real virtio-blk driver, block
 * core, virtqueue and transport against the simulated device (test/sim):
 * test_vblk, test_vblk_poll and test/robust/test_robust_vblk.
 */
#ifndef LEVBLK_TEST_VBLK_FIXTURE_H
#define LEVBLK_TEST_VBLK_FIXTURE_H

#include <stdint.h>
#include "sim/sim.h"

/* Host-only resets of the driver's and the core's static device tables. */
void vblk_host_reset(void);
void blk_dev_host_reset(void);

/* Forgets every device: driver, block core and simulated bus. */
void vblk_fixture_reset(void);
/*
 * A fresh bus with one simulated disk per cfg (sims[i] gets device i), probed
 * by the transport and the driver; asserts that all n came up as vda, vdb, ...
 */
void vblk_fixture_bring_up(const struct sim_blk_cfg *cfgs, unsigned int n, struct sim_dev **sims);
/* cmocka group set-up: quiet console, default settings (merge on, 3 retries, 30 s, no bounce). */
int vblk_fixture_setup(void **state);
/* cmocka group tear-down: vblk_fixture_reset() and the default settings back. */
int vblk_fixture_teardown(void **state);

#endif

/*
 * The virtio-blk driver's recovery (virtio_blk_recover.c), for virtio_blk.c.
 * Calls go one way only: virtio_blk.c calls these, and nothing in
 * virtio_blk_recover.c calls back into virtio_blk.c.
 */
#ifndef LEVBLK_BLK_VIRTIO_BLK_RECOVER_H
#define LEVBLK_BLK_VIRTIO_BLK_RECOVER_H

#include "blk_driver.h"

struct vblk;

/*
 * The device holds requests it does not complete: reset it, take its
 * chains back, set it up again. BLK_TIMEOUT_RESET when all of that worked
 * (the core sends the requests again); BLK_TIMEOUT_DONE when it gave up on
 * the device instead. Queue lock held.
 */
enum blk_timeout_ret vblk_reset_locked(struct vblk *vb, struct blk_done *done);
/*
 * Gives up on the device (it misbehaved, or recovery failed): resets it and,
 * only once the reset is confirmed, ends every in-flight request with status;
 * if the reset is not confirmed they are quarantined for good. The device is
 * broken either way. Queue lock held. The argument is at its definition.
 */
void vblk_give_up_locked(struct vblk *vb, const char *why, int status, struct blk_done *done);

#endif

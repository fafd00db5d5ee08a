/* The virtio-blk driver's entry points besides its initcall (virtio_blk.c). */
#ifndef LEVBLK_BLK_VIRTIO_BLK_H
#define LEVBLK_BLK_VIRTIO_BLK_H

#include <stdint.h>

/* Probes every virtio-blk device the transports found, in naming order (virtio_find). Returns how many came up. */
int vblk_probe_all(void);

/* blk.poll_us and blk.poll_depth: the driver's idle-polling hint (virtio_blk.c). */
extern uint64_t vblk_param_poll_us;
extern uint64_t vblk_param_poll_depth;
/* blk.mq and blk.queues: multi-queue on or off, and how many queues (virtio_blk.c). */
extern uint64_t vblk_param_mq;
extern uint64_t vblk_param_queues;
extern uint64_t vblk_param_coalesce;
extern uint64_t vblk_param_coalesce_min;

#endif

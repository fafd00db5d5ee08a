/* The virtio-blk driver's entry points besides its initcall (virtio_blk.c). */
#ifndef LEVBLK_BLK_VIRTIO_BLK_H
#define LEVBLK_BLK_VIRTIO_BLK_H

#include <stdint.h>
#include <levblk/bio.h>

struct blkdev;
struct virtio_blk_outhdr;
struct virtqueue;
struct vmmio_dev;

/* Probes every virtio-blk device vmmio found, in -device order. Returns how many came up. */
int vblk_probe_all(void);

/*
 * What the polled path (virtio_blk_poll.c) drives by hand: the transport,
 * the queue, and the header and status byte of request tag 0, which it
 * borrows only while no request is in flight and the queue lock is held.
 */
struct vblk_poll_parts {
	struct vmmio_dev *vdev;
	struct virtqueue *vq;
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
};
int vblk_poll_parts(struct blkdev *bdev, struct vblk_poll_parts *out);

#define VBLK_CHAIN_EXTRA 2u /* header and status descriptors around the data */
/* Written into the status byte before a chain goes out: a device that never sets it is caught. */
#define VBLK_STATUS_NONE 0xffu
/*
 * A completion's errno, from what the device reported: used len (bytes it
 * wrote, status byte last; a READ must include its data_bytes) and the
 * status byte. Both the queued and the polled path judge completions by it.
 */
int vblk_used_errno(enum bio_op op, uint32_t data_bytes, uint32_t len, uint8_t status);

#endif

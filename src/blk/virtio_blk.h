/* The virtio-blk driver's entry points besides its initcall (virtio_blk.c). */
#ifndef LEVBLK_BLK_VIRTIO_BLK_H
#define LEVBLK_BLK_VIRTIO_BLK_H

struct blkdev;

/* Probes every virtio-blk device vmmio found, in -device order. Returns how many came up. */
int vblk_probe_all(void);
/* Runs the completion path by hand (as the interrupt would). Any context. */
void vblk_poll(struct blkdev *bdev);

#endif

/* The virtio-blk driver's entry points besides its initcall (virtio_blk.c). */
#ifndef LEVBLK_BLK_VIRTIO_BLK_H
#define LEVBLK_BLK_VIRTIO_BLK_H

/* Probes every virtio-blk device vmmio found, in -device order. Returns how many came up. */
int vblk_probe_all(void);

#endif

/*
 * Private to the virtio-blk driver: virtio_blk.c (requests, interrupts,
 * probe) and virtio_blk_recover.c (deadlines, lost interrupts, device reset
 * and resubmission, and the test-only fault injection that exercises them).
 */
#ifndef LEVBLK_BLK_VIRTIO_BLK_PRIVATE_H
#define LEVBLK_BLK_VIRTIO_BLK_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/dma.h>
#include <levblk/virtio/virtqueue.h>
#include "blk_driver.h"
#include "virtio_blk.h"
#include "virtio_blk_spec.h"

/* Per-request DMA memory, indexed by request tag. */
struct vblk_rqmem {
	struct virtio_blk_outhdr hdr;
	struct virtio_blk_discard_write_zeroes range;
	uint8_t status;
} __attribute__((aligned(64)));

struct vblk {
	struct vmmio_dev *vdev;
	struct virtqueue *vq;
	struct blkdev *bdev;
	uint64_t features;
	struct dma_buf rqmem_buf;
	struct vblk_rqmem *rqmem;
	/* Chain being built: used only under the queue lock. */
	struct vq_sg sg[BLK_MAX_SEGS + VBLK_CHAIN_EXTRA];

	/*
	 * Recovery (virtio_blk_recover.c), all under the queue lock.
	 * `watch` is armed whenever a request is in flight, for the oldest
	 * one's deadline; `stuck[tag]` counts the resets a request has been
	 * taken back by without completing (bounded by blk.retries).
	 */
	struct ktimer watch;
	uint8_t stuck[BLK_MAX_REQUESTS];
	/* Fault injection (blk.fault_*; tests only): interrupts and kicks seen, what is on. */
	uint64_t fault_irqs, fault_kicks;
	bool fault_irq_off;   /* interrupts are ignored until the deadline check */
	bool fault_kick_off;  /* kicks are withheld until the device is reset */
	bool fault_irq_done;  /* the one injected lost interrupt has happened */
	bool fault_kick_done; /* the one injected stall has happened */
};

/* virtio_blk.c: drains the used ring, completing requests. Queue lock held. */
void vblk_drain_locked(struct vblk *vb, struct blk_done *done);

/* virtio_blk_recover.c */
/*
 * Gives up on the device (it misbehaved, or recovery failed): resets it and,
 * only once the reset is confirmed, ends every in-flight request with status;
 * if the reset is not confirmed they are quarantined for good. The device is
 * broken either way. Queue lock held. The argument is at its definition.
 */
void vblk_give_up_locked(struct vblk *vb, const char *why, int status, struct blk_done *done);
/* A request went to the device: make sure its deadline is watched. Queue lock held. */
void vblk_watch_arm_locked(struct vblk *vb, struct request *rq);
/* A request came back from the device: it is no longer stuck. Queue lock held. */
void vblk_watch_done_locked(struct vblk *vb, struct request *rq);
/* Test-only fault injection: true when this interrupt is to be "lost". Queue lock held. */
bool vblk_fault_lose_irq_locked(struct vblk *vb);
/* Test-only fault injection: true when this doorbell is to be withheld. Queue lock held. */
bool vblk_fault_hold_kick_locked(struct vblk *vb);

#endif

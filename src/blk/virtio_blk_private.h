/*
 * Private to the virtio-blk driver: the per-device state that virtio_blk.c
 * (requests, interrupts, probe, the timeout operation), virtio_blk_recover.c
 * (device reset, giving up, quarantine; virtio_blk_recover.h) and
 * virtio_blk_fault.c (test-only fault injection) share.
 */
#ifndef LEVBLK_BLK_VIRTIO_BLK_PRIVATE_H
#define LEVBLK_BLK_VIRTIO_BLK_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/percpu.h>
#include <levblk/virtio/virtio_dev.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/kern/timer.h>
#include <levblk/virtio/virtqueue.h>
#include "blk_driver.h"
#include "virtio_blk.h"
#include "virtio_blk_spec.h"

#define VBLK_CHAIN_EXTRA 2u /* header and status descriptors around the data */
/* Written into the status byte before a chain goes out: a device that never sets it is caught. */
#define VBLK_STATUS_NONE 0xffu

#ifdef LEVBLK_FAULT_INJECT
/* Fault injection state (virtio_blk_fault.c): interrupts and kicks seen, what is on. */
struct vblk_fault {
	uint64_t irqs, kicks;
	bool irq_off;	/* interrupts are ignored until the deadline check */
	bool kick_off;	/* kicks are withheld until the device is reset */
	bool irq_done;	/* the one injected lost interrupt has happened */
	bool kick_done; /* the one injected stall has happened */
	uint64_t drains;    /* ring drains with completions waiting (blk.fault_bad_used) */
	bool bad_used_done; /* the one corrupted used entry was written */
};
#endif

/* Per-request DMA memory, indexed by request tag. */
struct vblk_rqmem {
	struct virtio_blk_outhdr hdr;
	struct virtio_blk_discard_write_zeroes range;
	uint8_t status;
} __attribute__((aligned(64)));

/*
 * Virtqueues one disk may use: one per CPU, up to what the device offers
 * (VIRTIO_BLK_F_MQ) and what the transport keeps.
 */
#define VBLK_MAX_QUEUES VMMIO_MAX_QUEUES

struct vblk {
	struct virtio_dev *vdev;
	/*
	 * The request queues, vqs[0 .. nvqs-1]. Over virtio-mmio they share one
	 * interrupt, so the handler drains them all; a reset resets them all.
	 */
	struct virtqueue *vqs[VBLK_MAX_QUEUES];
	unsigned int nvqs;
	/* The queue each CPU adds its chains to (blk_mq_queue_of), set at probe. */
	uint8_t cpu_vq[CPU_MAX];
	/* Queues that got chains since the last kick_prepare: under the queue lock. */
	uint32_t added_mask;
	/*
	 * Queues whose doorbell kick_prepare asked for and notify() has not
	 * rung yet. Set under the queue lock, taken by notify() without it
	 * (atomic exchange, so one caller rings each bit once; a doorbell rung
	 * by another CPU's notify after our kick_prepare still comes after our
	 * chains were published, which is all the device needs).
	 */
	uint32_t notify_mask;
	/*
	 * Queues whose interrupt the last drain delayed (vq.coalesce): their
	 * used rings may hold completions no interrupt has announced yet, and
	 * that is not a lost interrupt. Under the queue lock.
	 */
	uint32_t coalesced_mask;
	struct blkdev *bdev;
	uint64_t features;
	struct dma_buf rqmem_buf;
	struct vblk_rqmem *rqmem;
	/* Chain being built: used only under the queue lock. */
	struct vq_sg sg[BLK_MAX_SEGS + VBLK_CHAIN_EXTRA];

#ifdef LEVBLK_FAULT_INJECT
	struct vblk_fault fault; /* test builds only: virtio_blk_fault.h */
#endif
};

#endif

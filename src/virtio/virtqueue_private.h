/*
 * What the transport (virtio_mmio.c) needs from the virtqueue and no one
 * else may use: creation with the negotiated options, the ring addresses to
 * program, and the reset/re-initialise steps of device recovery.
 */
#ifndef LEVBLK_VIRTIO_VIRTQUEUE_PRIVATE_H
#define LEVBLK_VIRTIO_VIRTQUEUE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/virtio/virtqueue.h>

struct vq_params {
	unsigned index;		/* queue number on the device (QueueSel / QueueNotify value) */
	unsigned size;		/* entries: split a power of two 2..VRING_MAX_SIZE, packed any 2..32768 */
	unsigned indirect_segs; /* entries per indirect table; 0 = no indirect descriptors */
	bool event_idx;		/* VIRTIO_F_EVENT_IDX negotiated */
	bool packed;		/* VIRTIO_F_RING_PACKED negotiated: the packed ring format */
	/* The doorbell, supplied by the transport (the virtqueue never touches MMIO). */
	void (*notify)(void *arg, unsigned index);
	void *notify_arg;
};

/*
 * The ring-format feature bits the virtqueue code can drive and the
 * settings allow (VIRTIO_F_RING_PACKED unless vq.packed=0): a modern
 * transport adds what the device offers of these to what it accepts.
 */
uint64_t vq_ring_features(void);
extern uint64_t vq_param_packed; /* the vq.packed setting (host tests change it) */

/* vq.indirect_segs (virtio_mmio.c): entries per indirect table, for every transport. */
extern uint64_t vmmio_indirect_segs;

/*
 * Fills the ring part of *p for a queue the device allows at most max
 * entries of (max > 0), from the negotiated driver_features: the format
 * (packed or split), event index, indirect tables (vq.indirect_segs), and
 * the size: wanted, lowered to max (a packed ring takes any size, a split
 * ring halves until it fits). Leaves index and notify alone. -EIO when the
 * device allows fewer than two entries. The same for every transport.
 */
int vq_params_negotiated(struct vq_params *p, uint64_t driver_features, unsigned wanted, unsigned max);

/* Allocates rings, shadow and indirect tables (thread context, init time). 0, -EINVAL, -ENOMEM. */
int vq_create(const struct vq_params *p, struct virtqueue **out);
void vq_destroy(struct virtqueue *vq);

/*
 * Bus addresses of the descriptor table, available ring and used ring; for a
 * packed queue, of the descriptor ring, the driver event suppression area
 * and the device event suppression area (what QueueDriver/QueueDevice take).
 */
uint64_t vq_desc_bus(const struct virtqueue *vq);
uint64_t vq_avail_bus(const struct virtqueue *vq);
uint64_t vq_used_bus(const struct virtqueue *vq);
unsigned vq_index(const struct virtqueue *vq);

/* The device was reset: the rings are dead, in-flight chains may be detached. */
void vq_mark_reset(struct virtqueue *vq);
/* Zeroes the rings and restarts the indices; -EBUSY while chains are still in flight. */
int vq_reinit(struct virtqueue *vq);

#endif

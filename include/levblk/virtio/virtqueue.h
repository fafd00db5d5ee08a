/*
 * Virtqueue (virtio 1.2 sections 2.7 and 2.8): the only way the layers above
 * reach a device's rings. Behind one opaque handle is either a split ring
 * (src/virtio/virtqueue.c) or a packed ring (src/virtio/virtqueue_packed.c),
 * chosen at setup from the negotiated features; the ring memory, the free
 * lists and the private shadow of every in-flight chain live there. Callers
 * see cookies and scatter-gather lists and the same rules for both formats.
 *
 * Locking: callers serialise ALL vq_ calls on one queue, with IRQs masked
 * (the queue's user holds its own spinlock, taken with spin_lock_irqsave,
 * around vq_add/vq_kick_prepare/vq_get_used/vq_enable_cb/...). The one
 * exception is vq_notify(), the MMIO doorbell write, which is meant to be
 * called after that lock is dropped. Nothing here sleeps or allocates: every
 * call may be made from interrupt context.
 *
 * The device is not trusted. Every used-ring entry is validated before use
 * (id in range, id is the head of a chain in flight, length within the
 * chain's device-writable bytes, used index never more entries ahead than
 * there are chains in flight). A violation marks the queue broken: it prints
 * one line saying why, vq_add() then fails with -ENODEV, vq_get_used()
 * returns NULL, and vq_detach_unused() hands back every in-flight cookie so
 * the caller can fail (or, after a device reset, resubmit) them.
 */
#ifndef LEVBLK_VIRTIO_VIRTQUEUE_H
#define LEVBLK_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct virtqueue;

/* One scatter-gather segment: a bus address (hal_virt_to_bus) and a length in bytes (> 0). */
struct vq_sg {
	uint64_t bus;
	uint32_t len;
};

/* Counters, monotonic since the queue was created (they survive vmmio_reset). */
struct vq_stats {
	uint64_t adds;		   /* chains added (vq_add returned 0) */
	uint64_t adds_indirect;	   /* ... of which through an indirect table */
	uint64_t add_nospc;	   /* vq_add returned -ENOSPC */
	uint64_t kicks;		   /* vq_kick_prepare said "notify" (device notifications) */
	uint64_t kicks_suppressed; /* vq_kick_prepare said "no need" (event idx or NO_NOTIFY) */
	uint64_t used;		   /* chains handed back by vq_get_used */
	uint64_t irqs;		   /* interrupts taken for this queue (vq_irq_note's n) */
	uint64_t irqs_with_work;   /* vq_irq_note calls that found used buffers waiting */
	uint64_t cb_rechecks;	   /* vq_enable_cb found buffers that raced in */
	uint64_t violations;	   /* device misbehaviour detected (0 or 1: it breaks the queue) */
};

/*
 * Adds one chain: n_out device-readable segments followed by n_in
 * device-writable ones (sg[0 .. n_out+n_in-1]), remembered under `cookie`
 * (non-NULL, handed back by vq_get_used or vq_detach_unused). With indirect
 * descriptors negotiated a chain of two or more segments takes one ring slot
 * and one of the queue's preallocated indirect tables; otherwise it takes
 * n_out+n_in descriptors. The chain is published to the device (avail idx)
 * but the device is not notified: see vq_kick_prepare/vq_notify.
 *
 * Returns 0; -ENOSPC when the ring has no room now (retry after completions);
 * -ENODEV when the queue is broken or reset; -EINVAL on bad arguments (NULL
 * cookie, no segment, a zero-length segment, more than vq_max_sg segments).
 */
int vq_add(struct virtqueue *vq, void *cookie, const struct vq_sg *sg, unsigned n_out,
	   unsigned n_in);

/*
 * After one or more vq_add: does the device want a notification? Uses the
 * device's avail_event with event index (wrap-safe "crossed" test) or the
 * used ring's NO_NOTIFY flag without it (packed: the device event
 * suppression area, its offset or its flags). Counts kicks and suppressed kicks.
 * Call under the caller's lock; if it returns true, call vq_notify() (after
 * dropping the lock is fine).
 */
bool vq_kick_prepare(struct virtqueue *vq);

/* The doorbell: writes QueueNotify. Needs no lock; callable from any context. */
void vq_notify(struct virtqueue *vq);

/*
 * The next completed chain, or NULL when none is waiting or the queue is
 * broken. *len (if len is non-NULL) receives the number of bytes the device
 * says it wrote, already checked to be within the chain's writable bytes.
 * The chain's descriptors (and indirect table) are free again on return.
 */
void *vq_get_used(struct virtqueue *vq, uint32_t *len);
#ifdef LEVBLK_FAULT_INJECT
/* The test kernel only (virtqueue.c): the next used entry's id becomes `id`, as a hostile device would. */
bool vq_fault_corrupt_used(struct virtqueue *vq, uint32_t id);
#endif

/* True when vq_get_used would return a chain (validates the used index too). */
bool vq_has_used(struct virtqueue *vq);

/*
 * For the caller's interrupt handling: counts n interrupts for this queue
 * (several when their work was handled in one pass) and returns
 * vq_has_used(). Purely bookkeeping; the transport acks the line
 * (vmmio_ack_interrupt).
 */
bool vq_irq_note(struct virtqueue *vq, unsigned int n);

/*
 * Ask the device not to interrupt (best effort: it may still do so).
 * Without event index this sets the avail ring's NO_INTERRUPT flag; with it
 * (where the flags must stay 0), used_event is parked half the index space
 * ahead of the last used index. A packed ring writes DISABLE into its driver
 * event suppression area.
 */
void vq_disable_cb(struct virtqueue *vq);

/*
 * Ask for an interrupt at the next used buffer, then re-check: returns false
 * when used buffers arrived before the request became visible, in which case
 * the caller must drain again (the do { drain } while (!vq_enable_cb(vq))
 * pattern). With event index this writes used_event = last seen used index
 * (packed: the driver event offset and wrap of the next used descriptor).
 */
bool vq_enable_cb(struct virtqueue *vq);

/*
 * vq_enable_cb, but with event index the interrupt is asked for only once
 * three quarters of what is in flight has completed (split: used_event that
 * many chains ahead; packed: the driver event offset that many slots ahead),
 * so that one interrupt ends several chains (interrupt coalescing). Never
 * further than the chains in flight: with one in flight it is vq_enable_cb,
 * and the last chain's completion is always signalled. Without event index
 * it is vq_enable_cb. Same return value and re-check contract.
 */
bool vq_enable_cb_delayed(struct virtqueue *vq);

unsigned vq_free_count(const struct virtqueue *vq); /* free descriptors in the ring */
unsigned vq_size(const struct virtqueue *vq);	    /* ring entries (split: a power of two) */
/* Most segments one chain may carry: the indirect table size with indirect, else vq_size. */
unsigned vq_max_sg(const struct virtqueue *vq);
unsigned vq_in_flight(const struct virtqueue *vq); /* chains added and not yet handed back */
bool vq_is_broken(const struct virtqueue *vq);
/* Why the queue broke ("used id out of range", "device reset", ...), or NULL while live. */
const char *vq_broken_reason(const struct virtqueue *vq);
/* True when the queue negotiated VIRTIO_F_INDIRECT_DESC / VIRTIO_F_EVENT_IDX / RING_PACKED. */
bool vq_has_indirect(const struct virtqueue *vq);
bool vq_has_event_idx(const struct virtqueue *vq);
bool vq_is_packed(const struct virtqueue *vq);

/*
 * Hands back one in-flight cookie per call (NULL when none is left) and
 * forgets its chain. Only allowed on a broken queue or one whose device has
 * been reset (vmmio_reset); otherwise returns NULL, since the device may
 * still be using the buffers.
 */
void *vq_detach_unused(struct virtqueue *vq);

void vq_get_stats(const struct virtqueue *vq, struct vq_stats *out);

#endif

/*
 * The packed ring behind the virtqueue interface (virtqueue.c dispatches to
 * it when the queue was created with vq_params.packed). Nobody but
 * virtqueue.c includes this: the layers above see one opaque virtqueue
 * whatever its ring format, and each function here has the contract of the
 * vq_ function of the same name in <levblk/virtio/virtqueue.h>.
 *
 * Locking: as for every vq_ call, the caller serialises all calls on one
 * queue with IRQs masked; nothing here sleeps or allocates after creation.
 */
#ifndef LEVBLK_VIRTIO_VIRTQUEUE_PACKED_H
#define LEVBLK_VIRTIO_VIRTQUEUE_PACKED_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/virtio/virtqueue.h>
#include "virtqueue_private.h"

struct vq_packed;

int vqp_create(const struct vq_params *p, struct vq_packed **out);
void vqp_destroy(struct vq_packed *q);

/* Arguments already checked by vq_add; in_bytes = the device-writable bytes of sg. */
int vqp_add(struct vq_packed *q, void *cookie, const struct vq_sg *sg, unsigned n_out, unsigned n,
	    uint32_t in_bytes);
bool vqp_kick_prepare(struct vq_packed *q);
void vqp_notify(struct vq_packed *q);
void *vqp_get_used(struct vq_packed *q, uint32_t *len);
#ifdef LEVBLK_FAULT_INJECT
bool vqp_fault_corrupt_used(struct vq_packed *q, uint32_t id);
#endif
bool vqp_has_used(struct vq_packed *q);
bool vqp_irq_note(struct vq_packed *q, unsigned int n);
void vqp_disable_cb(struct vq_packed *q);
bool vqp_enable_cb(struct vq_packed *q);
bool vqp_enable_cb_delayed(struct vq_packed *q);
void *vqp_detach_unused(struct vq_packed *q);

unsigned vqp_free_count(const struct vq_packed *q);
unsigned vqp_size(const struct vq_packed *q);
unsigned vqp_max_sg(const struct vq_packed *q);
unsigned vqp_in_flight(const struct vq_packed *q);
bool vqp_is_broken(const struct vq_packed *q);
const char *vqp_broken_reason(const struct vq_packed *q);
bool vqp_has_indirect(const struct vq_packed *q);
bool vqp_has_event_idx(const struct vq_packed *q);
void vqp_get_stats(const struct vq_packed *q, struct vq_stats *out);

/* Bus addresses of the descriptor ring and the driver and device event areas. */
uint64_t vqp_desc_bus(const struct vq_packed *q);
uint64_t vqp_driver_bus(const struct vq_packed *q);
uint64_t vqp_device_bus(const struct vq_packed *q);
unsigned vqp_index(const struct vq_packed *q);
void vqp_mark_reset(struct vq_packed *q);
int vqp_reinit(struct vq_packed *q);

#endif

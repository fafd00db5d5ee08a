/*
 * A minimal virtio-blk driver for the virtio tests: just enough protocol
 * (header, data, status byte) to drive src/virtio against test/sim, with an
 * interrupt handler shaped like the driver's: ack the transport, drain the
 * used ring under the lock, complete after unlocking.
 */
#ifndef LEVBLK_TEST_VIRTIO_VTEST_H
#define LEVBLK_TEST_VIRTIO_VTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>
#include "sim/sim.h"

#define VT_T_IN		0U
#define VT_T_OUT	1U
#define VT_S_OK		0U
#define VT_STATUS_UNSET 0xeeU

struct vt_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct vt_req {
	struct vt_hdr hdr;
	uint8_t status;
	bool done;
	uint32_t used_len;
	unsigned seq;
};

struct vt {
	struct sim_dev *sim;
	struct vmmio_dev *dev;
	struct virtqueue *vq;
	uint64_t features;
	unsigned irqs;	    /* handler invocations */
	unsigned completed; /* requests handed back by vq_get_used */
};

/* Fresh bus with one blk device per cfg; drives it to DRIVER_OK with a queue of qsize. */
int vt_setup(struct vt *t, const struct sim_blk_cfg *cfg, unsigned qsize, uint64_t wanted);
void vt_teardown(struct vt *t);
/*
 * Adds a request: type, sector, data buffer `buf` of `len` bytes split in
 * `nseg` segments (0 for none). Returns vq_add's result.
 */
int vt_submit(struct vt *t, struct vt_req *r, uint32_t type, uint64_t sector, void *buf,
	      uint32_t len, unsigned nseg);
/* kick_prepare + notify; returns whether a notification was sent. */
bool vt_kick(struct vt *t);
/* Drains used entries without an interrupt (polled). Returns how many. */
unsigned vt_poll(struct vt *t);
/* Features every test wants from a block device. */
#define VT_WANT_ALL                                                                                \
	(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                     \
	 VIRTIO_BIT(SIM_BLK_F_FLUSH) | VIRTIO_BIT(SIM_BLK_F_SEG_MAX) |                             \
	 VIRTIO_BIT(SIM_BLK_F_BLK_SIZE))

#endif

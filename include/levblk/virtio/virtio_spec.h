/*
 * Transport-independent constants from the virtio 1.2 specification that the
 * layers above the transport need: device types (section 5), device status
 * bits (2.1) and the reserved feature bits (6). Device-specific feature bits
 * and request formats (virtio-blk, 5.2) belong to that device's driver.
 */
#ifndef LEVBLK_VIRTIO_VIRTIO_SPEC_H
#define LEVBLK_VIRTIO_VIRTIO_SPEC_H

#include <stdint.h>

/* Device types (5). 0 marks an empty virtio-mmio slot. */
#define VIRTIO_ID_NONE	  0U
#define VIRTIO_ID_NET	  1U
#define VIRTIO_ID_BLOCK	  2U
#define VIRTIO_ID_CONSOLE 3U
#define VIRTIO_ID_RNG	  4U

/* Device status field (2.1): bits accumulate during initialisation. */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1U
#define VIRTIO_STATUS_DRIVER		 2U
#define VIRTIO_STATUS_DRIVER_OK		 4U
#define VIRTIO_STATUS_FEATURES_OK	 8U
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64U
#define VIRTIO_STATUS_FAILED		 128U

/* Reserved feature bits (6), as bit numbers in the 64-bit feature word. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_F_RING_PACKED   34
#define VIRTIO_F_RING_RESET    40

#define VIRTIO_BIT(n) ((uint64_t)1 << (n))

#endif

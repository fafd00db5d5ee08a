/*
 * virtio-mmio register offsets (virtio 1.2 section 4.2.2 for Version 2,
 * 4.2.4 for the legacy Version 1 interface). Shared by the transport and
 * the host simulator (test/sim), which implements the device side.
 */
#ifndef LEVBLK_VIRTIO_VMMIO_REGS_H
#define LEVBLK_VIRTIO_VMMIO_REGS_H

#define VMMIO_MAGIC_VALUE	  0x000U /* R: 0x74726976 ("virt") */
#define VMMIO_VERSION		  0x004U /* R: 1 legacy, 2 modern */
#define VMMIO_DEVICE_ID		  0x008U /* R */
#define VMMIO_VENDOR_ID		  0x00cU /* R */
#define VMMIO_DEVICE_FEATURES	  0x010U /* R: the 32 bits selected by ..._SEL */
#define VMMIO_DEVICE_FEATURES_SEL 0x014U /* W */
#define VMMIO_DRIVER_FEATURES	  0x020U /* W */
#define VMMIO_DRIVER_FEATURES_SEL 0x024U /* W */
#define VMMIO_GUEST_PAGE_SIZE	  0x028U /* W, legacy only */
#define VMMIO_QUEUE_SEL		  0x030U /* W */
#define VMMIO_QUEUE_NUM_MAX	  0x034U /* R */
#define VMMIO_QUEUE_NUM		  0x038U /* W */
#define VMMIO_QUEUE_ALIGN	  0x03cU /* W, legacy only */
#define VMMIO_QUEUE_PFN		  0x040U /* RW, legacy only */
#define VMMIO_QUEUE_READY	  0x044U /* RW, modern only */
#define VMMIO_QUEUE_NOTIFY	  0x050U /* W */
#define VMMIO_INTERRUPT_STATUS	  0x060U /* R */
#define VMMIO_INTERRUPT_ACK	  0x064U /* W */
#define VMMIO_STATUS		  0x070U /* RW */
#define VMMIO_QUEUE_DESC_LOW	  0x080U /* W, modern only */
#define VMMIO_QUEUE_DESC_HIGH	  0x084U
#define VMMIO_QUEUE_DRIVER_LOW	  0x090U
#define VMMIO_QUEUE_DRIVER_HIGH	  0x094U
#define VMMIO_QUEUE_DEVICE_LOW	  0x0a0U
#define VMMIO_QUEUE_DEVICE_HIGH	  0x0a4U
#define VMMIO_CONFIG_GENERATION	  0x0fcU /* R, modern only */
#define VMMIO_CONFIG		  0x100U /* device-specific configuration space */

#define VMMIO_MAGIC 0x74726976U

/* The guest page size given to legacy devices: QueuePFN is in these units. */
#define VMMIO_LEGACY_PAGE_SIZE 4096U

#endif

/*
 * virtio-blk as the virtio 1.2 specification defines it (section 5.2):
 * feature bits, the configuration layout, the request header, request
 * types and status values. Fields are little-endian on the wire; levblk runs
 * little-endian (AArch64 and the host build), so they are used as is, and
 * the layouts are pinned with static assertions.
 */
#ifndef LEVBLK_BLK_VIRTIO_BLK_SPEC_H
#define LEVBLK_BLK_VIRTIO_BLK_SPEC_H

#include <stddef.h>
#include <stdint.h>

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_GEOMETRY	  4
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_TOPOLOGY	  10
#define VIRTIO_BLK_F_CONFIG_WCE	  11
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Device configuration layout (5.2.4): byte offsets of the fields we read. */
#define VIRTIO_BLK_CFG_CAPACITY		0x00 /* le64, 512-byte sectors, always */
#define VIRTIO_BLK_CFG_SIZE_MAX		0x08 /* le32, bytes per segment */
#define VIRTIO_BLK_CFG_SEG_MAX		0x0c /* le32, segments per request */
#define VIRTIO_BLK_CFG_BLK_SIZE		0x14 /* le32, logical block bytes */
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP	0x18 /* u8, log2(physical / logical blocks) */
#define VIRTIO_BLK_CFG_WRITEBACK	0x20 /* u8, 1: write-back cache (CONFIG_WCE) */
#define VIRTIO_BLK_CFG_NUM_QUEUES	0x22 /* le16, request queues (MQ) */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECT 0x24 /* le32 */
#define VIRTIO_BLK_CFG_MAX_WZEROES_SECT 0x30 /* le32 */

/* Request types (5.2.6). */
#define VIRTIO_BLK_T_IN		  0U
#define VIRTIO_BLK_T_OUT	  1U
#define VIRTIO_BLK_T_FLUSH	  4U
#define VIRTIO_BLK_T_GET_ID	  8U
#define VIRTIO_BLK_T_DISCARD	  11U
#define VIRTIO_BLK_T_WRITE_ZEROES 13U

/* Status byte values (5.2.6). */
#define VIRTIO_BLK_S_OK	    0U
#define VIRTIO_BLK_S_IOERR  1U
#define VIRTIO_BLK_S_UNSUPP 2U

/* The device-readable header at the start of every request. */
struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t reserved; /* ioprio in legacy devices; 0 */
	uint64_t sector;   /* 512-byte sectors, whatever blk_size is */
};
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio_blk_outhdr is 16 bytes");

/* The one range a DISCARD or WRITE_ZEROES request carries. */
struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags; /* bit 0: unmap (WRITE_ZEROES only) */
};
_Static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16, "discard range is 16 bytes");
_Static_assert(offsetof(struct virtio_blk_discard_write_zeroes, num_sectors) == 8,
	       "num_sectors at 8");

#endif

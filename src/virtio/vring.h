/*
 * Split virtqueue layout (virtio 1.2 section 2.7). Shared with the device:
 * every field is little-endian on the wire, which is also the CPU order on
 * AArch64 (and on the x86-64/arm64 hosts the tests run on), so no swapping
 * is done; the static assert below keeps that assumption honest.
 *
 * Memory layout used for both transports (the legacy one, 2.7.2 / 4.2.4):
 *   descriptor table  16 * num bytes at offset 0           (align 16)
 *   available ring    flags, idx, ring[num], used_event    (align 2)
 *   padding up to VRING_LEGACY_ALIGN
 *   used ring         flags, idx, ring[num], avail_event   (align 4)
 * which satisfies the modern alignments (16/2/4) as well.
 */
#ifndef LEVBLK_VIRTIO_VRING_H
#define LEVBLK_VIRTIO_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vring.h assumes a little-endian CPU (virtio rings are little-endian)"
#endif

/* Descriptor flags (2.7.5). */
#define VRING_DESC_F_NEXT     1U
#define VRING_DESC_F_WRITE    2U
#define VRING_DESC_F_INDIRECT 4U

/* avail->flags (2.7.6) and used->flags (2.7.8), used without event index. */
#define VRING_AVAIL_F_NO_INTERRUPT 1U
#define VRING_USED_F_NO_NOTIFY	   1U

/* QueueAlign the legacy transport is given (and the used ring's offset rounding). */
#define VRING_LEGACY_ALIGN 4096U

/* Largest queue the split ring format allows (2.7: Queue Size <= 32768). */
#define VRING_MAX_SIZE 32768U

/* A queue size the driver uses: a power of two (indices are masked), 2..VRING_MAX_SIZE. */
static inline bool vring_size_ok(unsigned num)
{
	return num >= 2 && num <= VRING_MAX_SIZE && !(num & (num - 1));
}

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [num], then uint16_t used_event */
};

struct vring_used_elem {
	uint32_t id; /* 32 bits on the wire; only ids < num are valid */
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* [num], then uint16_t avail_event */
};

_Static_assert(sizeof(struct vring_desc) == 16, "virtq_desc is 16 bytes (2.7.5)");
_Static_assert(offsetof(struct vring_desc, next) == 14, "virtq_desc.next at 14");
_Static_assert(sizeof(struct vring_avail) == 4, "virtq_avail header is 4 bytes (2.7.6)");
_Static_assert(sizeof(struct vring_used_elem) == 8, "virtq_used_elem is 8 bytes (2.7.8)");
_Static_assert(sizeof(struct vring_used) == 4, "virtq_used header is 4 bytes (2.7.8)");

/* Byte offsets of the three parts and the total size, for `num` entries. */
struct vring_layout {
	size_t avail_off, used_off, size;
};

static inline struct vring_layout vring_layout(unsigned num)
{
	struct vring_layout l;
	size_t avail_end;

	l.avail_off = sizeof(struct vring_desc) * num;
	/* flags + idx + ring[num] + used_event */
	avail_end =
	    l.avail_off + sizeof(struct vring_avail) + sizeof(uint16_t) * num + sizeof(uint16_t);
	l.used_off = (avail_end + VRING_LEGACY_ALIGN - 1) & ~(size_t)(VRING_LEGACY_ALIGN - 1);
	/* flags + idx + ring[num] + avail_event */
	l.size = l.used_off + sizeof(struct vring_used) + sizeof(struct vring_used_elem) * num +
		 sizeof(uint16_t);
	return l;
}

/* used_event lives just after the avail ring, avail_event just after the used ring (2.7.10). */
static inline volatile uint16_t *vring_used_event(volatile struct vring_avail *a, unsigned num)
{
	return &a->ring[num];
}

static inline volatile uint16_t *vring_avail_event(volatile struct vring_used *u, unsigned num)
{
	return (volatile uint16_t *)&u->ring[num];
}

/*
 * The event-index test (2.7.10): after moving an index from old to new_idx,
 * does that cross `event` (i.e. event in [old, new_idx) modulo 2^16)? All
 * arithmetic is on free-running 16-bit indices.
 */
static inline int vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif

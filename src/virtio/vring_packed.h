/*
 * Packed virtqueue layout (virtio 1.2 section 2.8). Shared with the device;
 * little-endian on the wire, which is the CPU order here (vring.h checks
 * that assumption for the whole folder).
 *
 * One ring of `num` 16-byte descriptors, written by both sides in ring order:
 * the driver makes a descriptor available by writing it with its AVAIL flag
 * equal to its avail wrap counter and USED the inverse; the device hands a
 * buffer back by writing one used descriptor (buffer id, bytes written) with
 * AVAIL and USED both equal to its used wrap counter, then skips as many
 * slots as the buffer took. Both counters start at 1 and flip each time
 * their side passes the end of the ring. `num` need not be a power of two.
 *
 * Memory layout (the three areas need 16-, 4- and 4-byte alignment, 2.8.10.1):
 *   descriptor ring          16 * num bytes at offset 0
 *   driver event suppression  4 bytes (the driver writes it: interrupts)
 *   device event suppression  4 bytes (the device writes it: notifications)
 */
#ifndef LEVBLK_VIRTIO_VRING_PACKED_H
#define LEVBLK_VIRTIO_VRING_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vring.h"

/* Largest packed queue (2.8: Queue Size up to 2^15; offsets carry a wrap bit in bit 15). */
#define VRING_PACKED_MAX_SIZE 32768U

/* Descriptor flags (2.8.1): NEXT, WRITE and INDIRECT as in the split ring, plus these two. */
#define VRING_PACKED_DESC_F_AVAIL (1U << 7)
#define VRING_PACKED_DESC_F_USED  (1U << 15)

/* Event suppression flags (2.8.10): what the other side asks of the writer. */
#define VRING_PACKED_EVENT_F_ENABLE  0U /* notify on every event */
#define VRING_PACKED_EVENT_F_DISABLE 1U /* never notify */
#define VRING_PACKED_EVENT_F_DESC    2U /* notify at off_wrap (VIRTIO_F_EVENT_IDX only) */

/* off_wrap: a descriptor ring offset in bits 0-14 and a wrap counter in bit 15. */
#define VRING_PACKED_EVENT_WRAP_SHIFT 15U
#define VRING_PACKED_EVENT_OFF_MASK   0x7fffU

struct vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id; /* buffer id: the driver's, echoed back by the device */
	uint16_t flags;
};

struct vring_packed_event {
	uint16_t off_wrap;
	uint16_t flags;
};

_Static_assert(sizeof(struct vring_packed_desc) == 16, "pvirtq_desc is 16 bytes (2.8.13)");
_Static_assert(offsetof(struct vring_packed_desc, id) == 12, "pvirtq_desc.id at 12");
_Static_assert(offsetof(struct vring_packed_desc, flags) == 14, "pvirtq_desc.flags at 14");
_Static_assert(sizeof(struct vring_packed_event) == 4, "pvirtq_event_suppress is 4 bytes");

/* A queue size the packed ring accepts: 2..VRING_PACKED_MAX_SIZE, any value. */
static inline bool vring_packed_size_ok(unsigned num)
{
	return num >= 2 && num <= VRING_PACKED_MAX_SIZE;
}

struct vring_packed_layout {
	size_t driver_off, device_off, size;
};

static inline struct vring_packed_layout vring_packed_layout(unsigned num)
{
	struct vring_packed_layout l;

	l.driver_off = sizeof(struct vring_packed_desc) * num;
	l.device_off = l.driver_off + sizeof(struct vring_packed_event);
	l.size = l.device_off + sizeof(struct vring_packed_event);
	return l;
}

/* The AVAIL/USED pair of a descriptor made available while the avail wrap counter is `wrap`. */
static inline uint16_t vring_packed_avail_flags(bool wrap)
{
	return (uint16_t)(wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED);
}

/* The AVAIL/USED pair of a used descriptor written while the used wrap counter is `wrap`. */
static inline uint16_t vring_packed_used_flags(bool wrap)
{
	return (uint16_t)(wrap ? VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0U);
}

static inline uint16_t vring_packed_off_wrap(unsigned off, bool wrap)
{
	return (uint16_t)(off | (wrap ? 1U << VRING_PACKED_EVENT_WRAP_SHIFT : 0U));
}

/*
 * The event test of 2.8.10 for a side that moved its ring position from
 * `old` to `new_pos` (each in 0..num-1; new_pos is in the lap of wrap
 * counter `wrap`, old may be in the lap before): did that cross the
 * position off_wrap names? An event in the previous lap is moved num slots
 * back, so that everything is measured on one line, modulo 2^16 as the
 * split ring's test is.
 */
static inline int vring_packed_need_event(uint16_t off_wrap, bool wrap, unsigned num,
					  uint16_t new_pos, uint16_t old)
{
	uint16_t event = (uint16_t)(off_wrap & VRING_PACKED_EVENT_OFF_MASK);

	if (((off_wrap >> VRING_PACKED_EVENT_WRAP_SHIFT) != 0) != wrap)
		event = (uint16_t)(event - num);
	return vring_need_event(event, new_pos, old);
}

#endif

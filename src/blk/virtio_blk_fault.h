/*
 * Fault injection in the virtio-blk driver, for the in-guest robustness
 * tests only: compiled in when LEVBLK_FAULT_INJECT is defined (the CMake
 * option of the same name; the test kernel levblk-test.elf and the host
 * tests have it, the production kernel levblk.elf does not). Without it
 * every hook below is an empty inline function, so the production I/O path
 * carries no trace of it and the blk.fault_* settings do not exist.
 *
 * The settings, one shot each per device (virtio_blk_fault.c):
 *   blk.fault_lost_irq=N  from the N-th interrupt on, interrupts are
 *                         acknowledged but ignored until the deadline check
 *                         finds the completions (a lost interrupt);
 *   blk.fault_bad_used=N  at the N-th drain of a ring with completions
 *                         waiting, the next used entry's id is overwritten
 *                         with 65534 (out of range): a hostile device
 *   blk.fault_stall=N     from the N-th doorbell on, doorbells are withheld
 *                         until the device is reset (a stuck device), or
 *                         for good with blk.fault_stall_sticky=1 (requests
 *                         end -ETIMEDOUT after blk.retries + 1 resets).
 * They drive the real deadline, reset and resubmission code; only the
 * device's side of the conversation is suppressed. All hooks: queue lock held.
 */
#ifndef LEVBLK_BLK_VIRTIO_BLK_FAULT_H
#define LEVBLK_BLK_VIRTIO_BLK_FAULT_H

#include <stdbool.h>

struct vblk;

#ifdef LEVBLK_FAULT_INJECT
/* True when the work of these n interrupts is to be "lost". */
bool vblk_fault_lose_irq_locked(struct vblk *vb, unsigned int n);
/* True when this doorbell is to be withheld. */
bool vblk_fault_hold_kick_locked(struct vblk *vb);
/* The deadline check ran: interrupts are heard again. */
void vblk_fault_deadline_locked(struct vblk *vb);
/* The device was reset: doorbells go through again (unless sticky). */
void vblk_fault_reset_locked(struct vblk *vb);
/* Before a ring drain: at the N-th, the waiting used entry gets an id out of range. */
void vblk_fault_bad_used_locked(struct vblk *vb, struct virtqueue *vq);
#else
static inline bool vblk_fault_lose_irq_locked(struct vblk *vb, unsigned int n)
{
	(void)vb;
	(void)n;
	return false;
}
static inline bool vblk_fault_hold_kick_locked(struct vblk *vb)
{
	(void)vb;
	return false;
}
static inline void vblk_fault_deadline_locked(struct vblk *vb)
{
	(void)vb;
}
static inline void vblk_fault_reset_locked(struct vblk *vb)
{
	(void)vb;
}
static inline void vblk_fault_bad_used_locked(struct vblk *vb, struct virtqueue *vq)
{
	(void)vb;
	(void)vq;
}
#endif

#endif

/*
 * Test-only fault injection in the virtio-blk driver: the settings and
 * hooks described in virtio_blk_fault.h. The whole file is empty unless
 * LEVBLK_FAULT_INJECT is defined (test builds only).
 */
#ifdef LEVBLK_FAULT_INJECT
#include <stdint.h>
#include <levblk/blkdev.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/virtio/virtqueue.h>
#include "virtio_blk_fault.h"
#include "virtio_blk_private.h"

static uint64_t fault_lost_irq;
static uint64_t fault_stall;
static uint64_t fault_stall_sticky;
static uint64_t fault_bad_used;
PARAM_U64("blk.fault_bad_used", fault_bad_used, 0, UINT32_MAX,
	  "tests: at the N-th ring drain with completions waiting, the device writes a used id out of range (0: off)");
PARAM_U64("blk.fault_lost_irq", fault_lost_irq, 0, UINT32_MAX,
	  "tests: ignore interrupts from the N-th on until the deadline check (0: off)");
PARAM_U64("blk.fault_stall", fault_stall, 0, UINT32_MAX,
	  "tests: withhold doorbells from the N-th on until a device reset (0: off)");
PARAM_U64("blk.fault_stall_sticky", fault_stall_sticky, 0, 1,
	  "tests: 1 keeps blk.fault_stall on across resets");

bool vblk_fault_lose_irq_locked(struct vblk *vb, unsigned int n)
{
	struct vblk_fault *ft = &vb->fault;

	if (!fault_lost_irq)
		return false;
	if (!ft->irq_done && (ft->irqs += n) >= fault_lost_irq) {
		ft->irq_done = true;
		ft->irq_off = true;
		kprintf("%s: fault injection: ignoring interrupts until the deadline check\n",
			blkdev_info(vb->bdev)->name);
	}
	return ft->irq_off;
}

bool vblk_fault_hold_kick_locked(struct vblk *vb)
{
	struct vblk_fault *ft = &vb->fault;

	if (!fault_stall)
		return false;
	if (!ft->kick_done && ++ft->kicks >= fault_stall) {
		ft->kick_done = true;
		ft->kick_off = true;
		kprintf("%s: fault injection: withholding doorbells until a reset%s\n",
			blkdev_info(vb->bdev)->name, fault_stall_sticky ? " (and after it)" : "");
	}
	return ft->kick_off;
}

void vblk_fault_bad_used_locked(struct vblk *vb, struct virtqueue *vq)
{
	struct vblk_fault *ft = &vb->fault;

	if (!fault_bad_used || ft->bad_used_done || !vq_has_used(vq))
		return;
	if (++ft->drains < fault_bad_used)
		return;
	/* Out of range for any ring this driver sets up (ids < queue size <= 32768). */
	if (vq_fault_corrupt_used(vq, 0xfffeU)) {
		ft->bad_used_done = true;
		kprintf("%s: fault injection: the device writes used id 65534\n",
			blkdev_info(vb->bdev)->name);
	}
}

void vblk_fault_deadline_locked(struct vblk *vb)
{
	vb->fault.irq_off = false;
}

void vblk_fault_reset_locked(struct vblk *vb)
{
	if (!fault_stall_sticky)
		vb->fault.kick_off = false;
}
#endif

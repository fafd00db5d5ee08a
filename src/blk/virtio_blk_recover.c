/*
 * virtio-blk recovery: what the driver does when the core (blk_timeout.c)
 * says its oldest request is past its deadline and the used ring holds no
 * completion for it (virtio_blk.c checked for a lost interrupt first), and
 * how it gives up on a device.
 *
 * Stuck device: reset it (virtio_reset: Status 0, all its queues stop),
 * collect every chain it held on every queue (vq_detach_unused, allowed only after the reset was
 * confirmed, so the device can no longer touch the buffers), and set it up
 * again with the same features and fresh rings (virtio_restart). The core
 * then takes every in-flight request back and sends it again (or ends it
 * -ETIMEDOUT once it has been stuck blk.retries + 1 times).
 *
 * If the set-up after the reset fails, the device is given up on: reset
 * once more, every in-flight request ends -ETIMEDOUT, the device is
 * declared broken (queued bios end -ENODEV). If a reset is not confirmed,
 * nothing in flight ends: see "Fencing" below.
 *
 * Context: the core's timer interrupt, or the driver's interrupt handler
 * (a broken queue), with the device's queue lock held (IRQs masked). The
 * transport's reset and set-up only spin (bounded) and allocate nothing,
 * so they may run there; a reset of QEMU's device takes microseconds.
 *
 * This file calls nothing in virtio_blk.c: the driver's entry points call
 * down into it.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/irq/irq.h>
#include <levblk/virtio/virtio_dev.h>
#include <levblk/virtio/virtqueue.h>
#include "blk_driver.h"
#include "virtio_blk_fault.h"
#include "virtio_blk_private.h"
#include "virtio_blk_recover.h"

/*
 * Fencing a device that misbehaves or does not answer.
 *
 * The rule: a request's buffers go back to the core (to be ended, which
 * hands them to their owner, or sent again) only once the device can no
 * longer touch them. For a virtio device that moment is a confirmed reset:
 * Status written 0 and read back 0 (virtio_reset); from then on the device
 * holds no queue and no buffer. Until then it may still read or write any
 * buffer of a chain it was given, whatever the rings say (a device caught
 * writing a bad used entry is by definition not following them).
 *
 * So every way of giving up on the device goes through here: reset, and
 * only if the reset is confirmed detach the chains and end the in-flight
 * requests with `status`.
 *
 * A reset that is not confirmed leaves no safe way to hand the buffers
 * back: there is no other handle on a device's DMA here (no IOMMU to
 * revoke its access). Ending the bios would give their owners memory a
 * live device may overwrite later, which is worse than any error. So the
 * in-flight requests are quarantined: they stay in flight for good, their
 * chains stay on the ring, their bios never end, and their buffers (and
 * the ring) stay owned by the layer for as long as the system runs. Except
 * where no buffer is the caller's (a flush, a discard's range, any request
 * with blk.bounce=1): those bios end -ENODEV, and only the layer's memory
 * stays with the device (blk_quarantine_locked). A
 * caller waiting on one of those bios waits forever; that is the price,
 * and it is bounded by what was in flight at that moment (at most
 * nr_requests requests). The device is fenced: declared broken (queued and
 * later bios end -ENODEV at once, never reaching it), marked FAILED
 * (virtio_reset did that), its interrupt masked at the controller (a device
 * that ignores resets might keep its line up) and its deadline watch
 * stopped (blk_mark_broken_locked). A console line reports the quarantine, and the device's
 * in_flight counter stays at the number of quarantined requests.
 */
/*
 * Forgets the chains of every queue: only after a confirmed reset, which
 * stops all of a device's queues at once (one Status register), so no
 * queue can still be using a buffer while another is reset.
 */
static void detach_all(struct vblk *vb)
{
	for (unsigned int q = 0; q < vb->nvqs; q++) {
		while (vq_detach_unused(vb->vqs[q]) != NULL)
			;
	}
}

static void quarantine_locked(struct vblk *vb, const char *why, struct blk_done *done)
{
	uint32_t chains = 0;

	for (unsigned int q = 0; q < vb->nvqs; q++)
		chains += vq_in_flight(vb->vqs[q]);

	virtio_mask_irq(vb->vdev);
	blk_mark_broken_locked(vb->bdev, done);
	/*
	 * Requests whose buffers are all the layer's own (bounce buffers, or no
	 * data) risk no caller memory: their bios end now, -ENODEV, and only
	 * the layer's memory stays with the device (blk_quarantine_locked).
	 */
	uint32_t held = blk_quarantine_locked(vb->bdev, -ENODEV, done);
	kprintf("%s: %s and the reset was not confirmed: the device may still use the buffers "
		"of its %u in-flight requests; the %u holding caller memory are quarantined "
		"(their bios never end), the others end -ENODEV; the device is fenced\n",
		blkdev_info(vb->bdev)->name, why, chains, held);
}

void vblk_give_up_locked(struct vblk *vb, const char *why, int status, struct blk_done *done)
{
	struct request *rq;

	if (virtio_reset(vb->vdev)) {
		quarantine_locked(vb, why, done);
		return;
	}
	/* Reset confirmed: the device no longer owns any buffer, on any queue (see above). */
	detach_all(vb); /* the core still holds each request: it ends it below */
	kprintf("%s: %s: device reset; in-flight requests end %s, device broken\n",
		blkdev_info(vb->bdev)->name, why, status == -ETIMEDOUT ? "-ETIMEDOUT" : "-ENODEV");
	/* Broken first: a retry or a held request the endings release ends at once. */
	blk_mark_broken_locked(vb->bdev, done);
	while ((rq = blk_oldest_inflight_locked(vb->bdev)) != NULL)
		blk_complete_locked(vb->bdev, rq, status, done);
	virtio_fail(vb->vdev, "given up after a reset");
}

enum blk_timeout_ret vblk_reset_locked(struct vblk *vb, struct blk_done *done)
{
	unsigned int chains = 0;

	for (unsigned int q = 0; q < vb->nvqs; q++)
		chains += vq_in_flight(vb->vqs[q]);
	kprintf("%s: no completion in the used ring%s: resetting the device (%u chains held)\n",
		blkdev_info(vb->bdev)->name, vb->nvqs > 1 ? "s" : "", chains);
	blk_count_reset_locked(vb->bdev);
	if (virtio_reset(vb->vdev)) {
		quarantine_locked(vb, "recovery failed", done);
		return BLK_TIMEOUT_DONE;
	}
	/* After the confirmed reset the device no longer owns any buffer: forget the chains. */
	detach_all(vb);
	vblk_fault_reset_locked(vb);
	if (virtio_restart(vb->vdev)) {
		vblk_give_up_locked(vb, "recovery failed (set-up after reset)", -ETIMEDOUT, done);
		return BLK_TIMEOUT_DONE;
	}
	return BLK_TIMEOUT_RESET;
}

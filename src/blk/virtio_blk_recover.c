/*
 * virtio-blk recovery: what happens when a request outlives its deadline.
 *
 * Every request the device holds has a deadline (dispatch time +
 * blk.timeout_ms, set by the core). One timer per device, `watch`, is armed
 * while anything is in flight, for the deadline of the oldest request
 * (in-flight requests are in dispatch order, so that one is due first).
 * When it fires and the oldest request is due:
 *
 *  1. Lost interrupt. If the used ring holds completions, the device did
 *     its work and only the notification went missing: count it
 *     (lost_irqs), drain the ring as the interrupt would have, carry on.
 *     A lost interrupt is not a dead device.
 *  2. Stuck device. Otherwise reset the device (vmmio_reset: Status 0, its
 *     queues stop), collect every chain it held (vq_detach_unused, allowed
 *     only after the reset, so the device can no longer touch the buffers),
 *     set it up again with the same features and fresh rings
 *     (vmmio_restart), and give every in-flight request back to the core
 *     (blk_unissue_locked), ahead of everything queued, to be sent again
 *     (among themselves in reverse order: see recover_locked).
 *     Re-sending is safe: the bios have not ended, so their buffers still
 *     hold what a write must write, and a read or flush may run twice.
 *  3. Bounded. A request that was past its deadline at `blk.retries + 1`
 *     resets in a row without completing ends with -ETIMEDOUT instead of
 *     being sent again (its bios report it; the others go on). If the
 *     set-up after the reset fails, the device is reset once more, every
 *     in-flight request ends -ETIMEDOUT and the device is declared broken
 *     (queued bios end -ENODEV). If a reset is not confirmed, nothing in
 *     flight ends: see "Fencing" below (vblk_give_up_locked).
 *
 * Context: all of this runs in the timer's interrupt context with the
 * device's queue lock held (IRQs masked), so no submission or completion
 * can interleave with a reset: dispatch never sees a queue in the reset
 * state. The transport's reset and set-up only spin (bounded) and allocate
 * nothing, so they may run there; a reset of QEMU's device takes
 * microseconds.
 *
 * Fault injection for the in-guest tests (test/qemu/robust.cmake), off by
 * default, one shot each per device:
 *   blk.fault_lost_irq=N  from the N-th interrupt on, interrupts are
 *                         acknowledged but ignored until the deadline check
 *                         runs (path 1);
 *   blk.fault_stall=N     from the N-th doorbell on, doorbells are withheld
 *                         until the device is reset (path 2), or forever
 *                         with blk.fault_stall_sticky=1 (path 3).
 * They drive the real timer, reset and resubmission code; only the device's
 * side of the conversation is suppressed.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/console.h>
#include <levblk/irq.h>
#include <levblk/kern/init.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>
#include "blk_driver.h"
#include "virtio_blk_private.h"

uint64_t blk_param_fault_lost_irq;
uint64_t blk_param_fault_stall;
uint64_t blk_param_fault_stall_sticky;
PARAM_U64("blk.fault_lost_irq", blk_param_fault_lost_irq, 0, UINT32_MAX,
	  "tests: ignore interrupts from the N-th on until the deadline check (0: off)");
PARAM_U64("blk.fault_stall", blk_param_fault_stall, 0, UINT32_MAX,
	  "tests: withhold doorbells from the N-th on until a device reset (0: off)");
PARAM_U64("blk.fault_stall_sticky", blk_param_fault_stall_sticky, 0, 1,
	  "tests: 1 keeps blk.fault_stall on across resets");

static void vblk_watch_fire(void *arg);

static const char *const vblk_op_names[BIO_OP_COUNT] = {
    "read", "write", "flush", "discard", "write-zeroes", "get-id",
};

static const char *op_name(const struct request *rq)
{
	enum bio_op op = blk_rq_op(rq);
	return op < BIO_OP_COUNT ? vblk_op_names[op] : "?";
}

void vblk_watch_arm_locked(struct vblk *vb, struct request *rq)
{
	/* One CPU and the queue lock held with IRQs masked: the timer cannot fire meanwhile. */
	if (!vb->watch.pending)
		timer_arm(&vb->watch, blk_rq_deadline_ns(rq), vblk_watch_fire, vb);
}

void vblk_watch_done_locked(struct vblk *vb, struct request *rq)
{
	vb->stuck[blk_rq_tag(rq)] = 0;
}

/* Re-arms the watch for the oldest in-flight request, if any. */
static void watch_rearm_locked(struct vblk *vb)
{
	struct request *rq = blk_oldest_inflight_locked(vb->bdev);

	if (rq && !blkdev_broken(vb->bdev)) /* a fenced device's requests stay in flight */
		timer_arm(&vb->watch, blk_rq_deadline_ns(rq), vblk_watch_fire, vb);
}

/*
 * Fencing a device that misbehaves or does not answer.
 *
 * The rule: a request's buffers go back to the core (to be ended, which
 * hands them to their owner, or sent again) only once the device can no
 * longer touch them. For a virtio device that moment is a confirmed reset:
 * Status written 0 and read back 0 (vmmio_reset); from then on the device
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
 * the ring) stay owned by the layer for as long as the system runs. A
 * caller waiting on one of those bios waits forever; that is the price,
 * and it is bounded by what was in flight at that moment (at most
 * nr_requests requests). The device is fenced: declared broken (queued and
 * later bios end -ENODEV at once, never reaching it), marked FAILED
 * (vmmio_reset did that), its interrupt masked at the controller (a device
 * that ignores resets might keep its line up) and its deadline watch
 * stopped. A console line reports the quarantine, and the device's
 * in_flight counter stays at the number of quarantined requests.
 */
static void quarantine_locked(struct vblk *vb, const char *why, struct blk_done *done)
{
	kprintf("%s: %s and the reset was not confirmed: the device may still use the buffers "
		"of its %u in-flight requests; they are quarantined (their bios never end), "
		"the device is fenced\n",
		blkdev_info(vb->bdev)->name, why, vq_in_flight(vb->vq));
	irq_disable(vb->vdev->intid);
	timer_cancel(&vb->watch);
	blk_mark_broken_locked(vb->bdev, done);
}

void vblk_give_up_locked(struct vblk *vb, const char *why, int status, struct blk_done *done)
{
	struct request *rq;

	if (vmmio_reset(vb->vdev)) {
		quarantine_locked(vb, why, done);
		return;
	}
	/* Reset confirmed: the device no longer owns any buffer (see above). */
	while (vq_detach_unused(vb->vq) != NULL)
		; /* the core still holds each request: it ends it below */
	kprintf("%s: %s: device reset; in-flight requests end %s, device broken\n",
		blkdev_info(vb->bdev)->name, why, status == -ETIMEDOUT ? "-ETIMEDOUT" : "-ENODEV");
	timer_cancel(&vb->watch);
	/* Broken first: a retry or a held request the endings release ends at once. */
	blk_mark_broken_locked(vb->bdev, done);
	while ((rq = blk_oldest_inflight_locked(vb->bdev)) != NULL) {
		vb->stuck[blk_rq_tag(rq)] = 0;
		blk_complete_locked(vb->bdev, rq, status, done);
	}
	vmmio_fail(vb->vdev, "given up after a reset");
}

/* Path 2 and 3: the device holds requests it will not complete. */
static void recover_locked(struct vblk *vb, uint64_t now, struct blk_done *done)
{
	struct blkdev *bdev = vb->bdev;
	struct request *oldest = blk_oldest_inflight_locked(bdev);
	struct request *rq;

	kprintf("%s: %s request at sector %llu stuck for %llu ms (%u in flight): resetting the "
		"device\n",
		blkdev_info(bdev)->name, op_name(oldest), (unsigned long long)blk_rq_sector(oldest),
		(unsigned long long)((now - blk_rq_deadline_ns(oldest)) / NSEC_PER_MSEC +
				     blk_param_timeout_ms),
		vq_in_flight(vb->vq));
	blk_count_reset_locked(bdev);
	if (vmmio_reset(vb->vdev)) {
		quarantine_locked(vb, "recovery failed", done);
		return;
	}
	/* After the reset the device no longer owns any buffer: forget the chains. */
	while (vq_detach_unused(vb->vq) != NULL)
		;
	if (!blk_param_fault_stall_sticky)
		vb->fault_kick_off = false;
	if (vmmio_restart(vb->vdev)) {
		vblk_give_up_locked(vb, "recovery failed (set-up after reset)", -ETIMEDOUT, done);
		return;
	}
	/* Take every in-flight request back (oldest taken first); overdue ones count an attempt. */
	while ((rq = blk_oldest_inflight_locked(bdev)) != NULL) {
		uint32_t tag = blk_rq_tag(rq);

		if (blk_rq_deadline_ns(rq) <= now) {
			blk_count_timeout_locked(bdev);
			if (++vb->stuck[tag] > blk_param_retries) {
				kprintf(
				    "%s: %s request at sector %llu timed out %u times: it fails\n",
				    blkdev_info(bdev)->name, op_name(rq),
				    (unsigned long long)blk_rq_sector(rq), vb->stuck[tag]);
				vb->stuck[tag] = 0;
				blk_complete_locked(bdev, rq, -ETIMEDOUT, done);
				continue;
			}
		}
		/*
		 * First in line again. Each goes before the one taken back before
		 * it, so they leave in reverse order: that only reorders requests
		 * that were in flight together (one flush epoch, or a flush alone),
		 * which the device was free to complete in any order anyway.
		 */
		blk_unissue_locked(bdev, rq);
	}
}

static bool watch_locked(struct vblk *vb, struct blk_done *done)
{
	struct request *rq = blk_oldest_inflight_locked(vb->bdev);
	uint64_t now = clock_ns();

	if (!rq || blkdev_broken(vb->bdev))
		return false;
	if (blk_rq_deadline_ns(rq) > now) {
		timer_arm(&vb->watch, blk_rq_deadline_ns(rq), vblk_watch_fire, vb);
		return false;
	}
	vb->fault_irq_off = false;
	if (vq_has_used(vb->vq)) {
		blk_count_lost_irq_locked(vb->bdev);
		kprintf("%s: lost interrupt: completions found in the used ring by the deadline "
			"check\n",
			blkdev_info(vb->bdev)->name);
		vblk_drain_locked(vb, done);
	} else if (!vq_is_broken(vb->vq)) {
		recover_locked(vb, now, done);
	}
	bool kick = blk_dispatch_locked(vb->bdev, done);
	watch_rearm_locked(vb);
	return kick;
}

static void vblk_watch_fire(void *arg)
{
	struct vblk *vb = arg;
	struct blk_done done = BLK_DONE_INIT;
	irqflags_t f = blk_lock(vb->bdev);
	bool kick = watch_locked(vb, &done);

	blk_unlock(vb->bdev, f);
	if (kick)
		blk_notify(vb->bdev);
	blk_end_done(&done);
}

/* --- fault injection (tests only) ----------------------------------------- */

bool vblk_fault_lose_irq_locked(struct vblk *vb)
{
	if (!blk_param_fault_lost_irq)
		return false;
	if (!vb->fault_irq_done && ++vb->fault_irqs >= blk_param_fault_lost_irq) {
		vb->fault_irq_done = true;
		vb->fault_irq_off = true;
		kprintf("%s: fault injection: ignoring interrupts until the deadline check\n",
			blkdev_info(vb->bdev)->name);
	}
	return vb->fault_irq_off;
}

bool vblk_fault_hold_kick_locked(struct vblk *vb)
{
	if (!blk_param_fault_stall)
		return false;
	if (!vb->fault_kick_done && ++vb->fault_kicks >= blk_param_fault_stall) {
		vb->fault_kick_done = true;
		vb->fault_kick_off = true;
		kprintf("%s: fault injection: withholding doorbells until a reset%s\n",
			blkdev_info(vb->bdev)->name,
			blk_param_fault_stall_sticky ? " (and after it)" : "");
	}
	return vb->fault_kick_off;
}

/*
 * blk_poll_io (include/levblk/blk_poll.h): one virtio-blk request at a time,
 * polled, with the device's interrupt unused: the baseline of run=bench
 * engine=sync, the way a first design would have done all I/O.
 *
 * Design. The queued path and this one share one ring, so the poll must
 * never see a completion that belongs to a queued request, and the queued
 * path must never see the poll's. Both follow from one rule: the poll runs
 * only while the ring is empty (vq_in_flight == 0) and holds the device's
 * queue lock, IRQs masked, from before it adds its chain until after it has
 * taken it back. Nobody else can add a chain meanwhile (every vq_add is made
 * under that lock), the interrupt handler cannot run on this CPU, and the
 * only used entry that can appear is the poll's own.
 *
 *   1. Wait (yielding, bounded by blk.timeout_ms) until the ring is empty;
 *      keep the lock from the check on.
 *   2. Ask the device not to interrupt (vq_disable_cb). This is a hint:
 *      with the event index the device may still interrupt for the next
 *      used entry. Either way IRQs are masked here, so it is not taken now.
 *   3. Build [header | data | status] in request tag 0's DMA slot (free:
 *      nothing is in flight), add it, kick if the device wants it.
 *   4. Spin on vq_get_used with a deadline (blk.timeout_ms).
 *   5. Ack InterruptStatus (vmmio_ack_interrupt): whatever the device raised
 *      for this request is cleared before IRQs come back on, so the line
 *      (level-triggered) is low and the handler never runs for it: the
 *      device's `irqs` counter does not move. Then re-arm callbacks
 *      (vq_enable_cb) for the queued path, and unlock. (The ack also
 *      clears a configuration-change bit raised meanwhile; the driver does
 *      not act on those.)
 *
 * A device that does not answer in time, or misbehaves, is reset and
 * declared broken: its buffer may still be written until the reset is
 * confirmed, so the chain is taken back (vq_detach_unused) and the call
 * returns only then. If the reset is not confirmed the call never returns:
 * the caller's buffer stays quarantined with the device (poll_fence_locked).
 *
 * Cost: the CPU spins with IRQs masked for the request's whole life (the
 * timer tick waits), which is exactly what the baseline is meant to show.
 * The counters see a polled request like a queued one: one bio, one
 * request, a kick when the device asked for one, an error if it failed.
 * This file reads the core's counters directly (blk_queue.h) for that.
 */
#include <levblk/blk_poll.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/console.h>
#include <levblk/hal/dma.h>
#include <levblk/irq.h>
#include <levblk/kern/thread.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>
#include "blk_driver.h"
#include "blk_part.h"
#include "blk_queue.h"
#include "virtio_blk.h"
#include "virtio_blk_spec.h"

/* The poll's cookie: never a struct request, so nothing confuses the two. */
static char poll_cookie;

static int poll_check(const struct blkdev *dev, enum bio_op op, uint64_t sector, uint32_t len);
static int poll_lock_idle(struct blkdev *dev, struct virtqueue *vq, uint64_t deadline,
			  irqflags_t *flags);
static int poll_request(struct blkdev *dev, const struct vblk_poll_parts *p, enum bio_op op,
			uint64_t sector, void *buf, uint32_t len, bool count_bio);

static int poll_check(const struct blkdev *dev, enum bio_op op, uint64_t sector, uint32_t len)
{
	const struct blkdev_info *in = &dev->info;

	if (op != BIO_OP_READ && op != BIO_OP_WRITE)
		return -EOPNOTSUPP;
	/* blk.bounce=1 promises the device never sees caller memory; this path has no bounce. */
	if (dev->bounce.all)
		return -EOPNOTSUPP;
	/* Whole blocks in bytes too: the range check alone ignores a tail shorter than a sector. */
	if (len % in->lbs || blk_check_range(in, sector, len >> SECTOR_SHIFT))
		return -EINVAL;
	if (op == BIO_OP_WRITE && in->ro)
		return -EROFS;
	return 0;
}

/* Takes the queue lock once the ring is empty; 0 with the lock held, or -EBUSY without. */
static int poll_lock_idle(struct blkdev *dev, struct virtqueue *vq, uint64_t deadline,
			  irqflags_t *flags)
{
	for (;;) {
		*flags = blk_lock(dev);
		if (vq_in_flight(vq) == 0)
			return 0;
		blk_unlock(dev, *flags);
		if (clock_ns() >= deadline)
			return -EBUSY;
		thread_yield();
	}
}

/*
 * The device misbehaved or kept the chain past the deadline: it is given
 * up on, and the caller's buffer goes back to the caller only once a reset
 * is confirmed (the rule and its argument: virtio_blk_recover.c,
 * "Fencing"). True when it was: the chain is detached. False: the device
 * may still use the buffer; the caller must never return it.
 */
static bool poll_fence_locked(struct blkdev *dev, const struct vblk_poll_parts *p,
			      const char *why, struct blk_done *done)
{
	blk_mark_broken_locked(dev, done);
	if (vmmio_reset(p->vdev)) {
		kprintf("%s: polled request: %s and the reset was not confirmed: its buffer is "
			"quarantined (the request never returns), the device is fenced\n",
			dev->info.name, why);
		irq_disable(p->vdev->intid);
		return false;
	}
	while (vq_detach_unused(p->vq))
		;
	kprintf("%s: polled request: %s; device reset and declared broken\n", dev->info.name,
		why);
	return true;
}

/* A quarantined request's caller: its buffer stays with the device, so it never returns. */
static void poll_quarantine_forever(void)
{
	for (;;)
		thread_sleep_ns(UINT64_MAX);
}

/*
 * One polled request of len bytes (at most one request's worth), steps 1-5
 * of the top comment. `count_bio`: this request starts the caller's bio.
 */
static int poll_request(struct blkdev *dev, const struct vblk_poll_parts *p, enum bio_op op,
			uint64_t sector, void *buf, uint32_t len, bool count_bio)
{
	struct vq_sg sg[BLK_MAX_SEGS + VBLK_CHAIN_EXTRA];
	struct blk_done done = BLK_DONE_INIT;
	uint64_t deadline = clock_ns() + blk_param_timeout_ms * NSEC_PER_MSEC;
	uint32_t max_seg = dev->info.limits.max_seg_bytes;
	unsigned int n = 0, n_out;
	irqflags_t f;
	uint32_t used_len;
	void *cookie;
	const char *why;
	int err;

	/* The chain: header, the buffer in pieces of at most max_seg_bytes, status. */
	sg[n++] = (struct vq_sg){hal_virt_to_bus(p->hdr), sizeof(*p->hdr)};
	for (uint32_t off = 0; off < len; n++) {
		uint32_t piece = len - off < max_seg ? len - off : max_seg;

		sg[n] = (struct vq_sg){hal_virt_to_bus((char *)buf + off), piece};
		off += piece;
	}
	n_out = op == BIO_OP_READ ? 1 : n;
	sg[n++] = (struct vq_sg){hal_virt_to_bus(p->status), sizeof(*p->status)};

	err = poll_lock_idle(dev, p->vq, deadline, &f);
	if (err)
		return err;
	/* From here on: queue lock held, IRQs masked, the ring empty (see the top comment). */
	if (dev->broken) {
		blk_unlock(dev, f);
		return -ENODEV;
	}
	dev->ctr.bios += count_bio;
	vq_disable_cb(p->vq);
	p->hdr->type = op == BIO_OP_READ ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;
	p->hdr->reserved = 0;
	p->hdr->sector = sector;
	*p->status = VBLK_STATUS_NONE;
	err = vq_add(p->vq, &poll_cookie, sg, n_out, n - n_out);
	if (err) {
		err = err == -ENODEV ? -ENODEV : -EIO;
		goto out_unlock;
	}
	dev->ctr.requests++;
	if (vq_kick_prepare(p->vq)) {
		dev->ctr.kicks++;
		vq_notify(p->vq);
	}
	while ((cookie = vq_get_used(p->vq, &used_len)) == NULL) {
		if (vq_is_broken(p->vq)) {
			why = "the device misbehaved"; /* the virtqueue caught it */
			goto out_fence;
		}
		if (clock_ns() >= deadline) {
			why = "no answer within blk.timeout_ms";
			goto out_fence;
		}
		cpu_relax();
	}
	/* Only the poll's chain can be on the ring (step 1); anything else is a broken device. */
	if (cookie != &poll_cookie) {
		why = "completion of a chain not in flight";
		goto out_fence;
	}
	err = vblk_used_errno(op, len, used_len, *p->status);
	goto out_unlock;
out_fence:
	err = -ENODEV;
	if (!poll_fence_locked(dev, p, why, &done)) {
		dev->ctr.errors++;
		blk_unlock(dev, f);
		blk_end_done(&done);
		poll_quarantine_forever();
	}
out_unlock:
	if (!vq_is_broken(p->vq)) {
		/* Quiet the line before IRQs come back on (step 5), then re-arm for the queued
		 * path. */
		(void)vmmio_ack_interrupt(p->vdev);
		(void)vq_enable_cb(p->vq);
	}
	if (err)
		dev->ctr.errors++;
	blk_unlock(dev, f);
	blk_end_done(&done);
	return err;
}

/*
 * A transfer longer than one request may carry (max_sectors, or max_segs
 * segments of max_seg_bytes) becomes several polled requests, one after
 * the other, as the queued path would split the bio: still never more than
 * one request on the device.
 */
int blk_poll_io(struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf, uint32_t len)
{
	const struct blk_limits *lim = &dev->info.limits;
	struct vblk_poll_parts p;
	uint64_t max = (uint64_t)lim->max_sectors << SECTOR_SHIFT;
	int err;

	err = poll_check(dev, op, sector, len);
	if (err)
		return err;
	blk_part_map(&dev, &sector); /* checked against a partition: now on its disk */
	if (vblk_poll_parts(dev, &p) < 0 || blkdev_broken(dev))
		return -ENODEV;
	if ((uint64_t)lim->max_segs * lim->max_seg_bytes < max)
		max = (uint64_t)lim->max_segs * lim->max_seg_bytes;
	max -= max % dev->info.lbs;
	if (!max)
		return -EINVAL;
	for (uint32_t off = 0; off < len;) {
		uint32_t piece = len - off < max ? len - off : (uint32_t)max;

		err = poll_request(dev, &p, op, sector + (off >> SECTOR_SHIFT), (char *)buf + off,
				   piece, off == 0);
		if (err)
			return err;
		off += piece;
	}
	return 0;
}

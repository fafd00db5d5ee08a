/*
 * The block layer's health: the recovery counters a driver bumps
 * (interrupts that never came, device resets; the core counts requests past
 * their deadline itself, blk_timeout.c) and a
 * snapshot of the device's resources, so a test or a job can show that once
 * I/O is over every request, descriptor and bio is back where it started.
 */
#include <levblk/blkdev.h>
#include "blk_list.h"
#include "blk_queue.h"

void blk_count_lost_irq_locked(struct blkdev *dev)
{
	dev->ctr.lost_irqs++;
}

void blk_count_reset_locked(struct blkdev *dev)
{
	dev->ctr.resets++;
}

void blkdev_resources(const struct blkdev *dev, struct blk_resources *out)
{
	dev = dev->whole; /* a partition's resources are its disk's */
	struct blkdev *d = (struct blkdev *)dev; /* the lock is not part of the device's value */
	struct blk_list *n;
	irqflags_t f = blk_lock(d);

	*out = (struct blk_resources){.nr_requests = dev->info.limits.nr_requests};
	blk_list_for_each(n, &d->free)
	{
		out->free_requests++;
	}
	for (const struct bio *b = dev->pending_head; b; b = b->bio_next)
		out->pending_bios++;
	out->bounce_slots = dev->bounce.nslots;
	out->bounce_free = dev->bounce.nfree;
	if (dev->ops->ring_state)
		dev->ops->ring_state(dev->drv, out);
	blk_unlock(d, f);
}

bool blkdev_at_rest(const struct blk_resources *r, const struct blk_counters *c)
{
	return r->free_requests == r->nr_requests && r->ring_free == r->ring_size &&
	       r->ring_in_flight == 0 && r->pending_bios == 0 &&
	       r->bounce_free == r->bounce_slots && c->in_flight == 0 && c->queued == 0;
}

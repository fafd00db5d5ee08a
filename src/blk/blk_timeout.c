/*
 * Request deadlines: the block core's half of recovery.
 *
 * Every request the driver holds has a deadline (dispatch time +
 * blk.timeout_ms, set by blk_dispatch_locked). One timer per queue,
 * blkdev.watch, is armed while anything is in flight, for the deadline of
 * the oldest request (in-flight requests are kept in dispatch order, so
 * that one is due first). When it fires and the oldest request is due, the
 * core asks the driver what happened (blk_driver_ops.timeout), because only
 * the driver knows its device:
 *
 *  - BLK_TIMEOUT_DONE: the driver dealt with it: it found the completions
 *    an interrupt failed to announce and completed them (a lost interrupt
 *    is not a dead device), or it gave up on the device. If the request is
 *    still in flight after that, it gets a new deadline.
 *  - BLK_TIMEOUT_RESET: the driver reset the device, the reset was
 *    confirmed, and the device holds none of the in-flight requests any
 *    more. The core takes every one of them back (blk_unissue_locked),
 *    ahead of everything queued, to be sent again: the bios have not
 *    ended, so a write's buffers still hold what it must write, and a read
 *    or a flush may run twice. A request that was past its deadline counts
 *    a timeout; after blk.retries + 1 resets in a row without completing it
 *    ends -ETIMEDOUT instead (its bios report it; the others go on).
 *    They are taken back oldest first, each going before the one taken
 *    before it, so they leave in reverse order: that only reorders requests
 *    that were in flight together (one flush epoch, or a flush alone),
 *    which the device was free to complete in any order anyway.
 *
 * Context: the timer's callback runs in interrupt context and holds the
 * queue lock (IRQs masked) across the driver's timeout and the take-back,
 * so no submission or completion interleaves with a reset: dispatch never
 * sees a device in the middle of one.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include "blk_list.h"
#include "blk_params.h"
#include "blk_queue.h"
#include "blk_trace.h"

static const char *const blk_op_names[BIO_OP_COUNT] = {
    "read", "write", "flush", "discard", "write-zeroes", "get-id",
};

static const char *op_name(const struct request *rq)
{
	return rq->rq_op < BIO_OP_COUNT ? blk_op_names[rq->rq_op] : "?";
}

/* BLK_TIMEOUT_RESET: the device holds nothing; every in-flight request comes back. */
static void take_back_locked(struct blkdev *dev, uint64_t now, struct blk_done *done)
{
	struct request *rq;

	while ((rq = blk_oldest_inflight_locked(dev)) != NULL) {
		if (rq->rq_deadline_ns <= now) {
			dev->ctr.timeouts++;
			blk_trace_locked(dev, rq, BLK_TRACE_TIMEOUT, 0);
			if (++rq->rq_timeouts > blk_param_retries) {
				kprintf("%s: %s request at sector %llu timed out %u times: it fails\n",
					dev->info.name, op_name(rq), (unsigned long long)rq->rq_sector,
					rq->rq_timeouts);
				blk_complete_locked(dev, rq, -ETIMEDOUT, done);
				continue;
			}
		}
		blk_unissue_locked(dev, rq);
	}
}

bool blk_timeout_check_locked(struct blkdev *dev, struct blk_done *done)
{
	struct request *rq = blk_oldest_inflight_locked(dev);
	uint64_t now = clock_ns();

	if (!rq || dev->broken || !dev->ops->timeout)
		return false;
	if (rq->rq_deadline_ns > now) {
		timer_arm(&dev->watch, rq->rq_deadline_ns, blk_timeout_fire, dev);
		return false;
	}
	kprintf("%s: %s request at sector %llu not done after %llu ms (%llu in flight)\n",
		dev->info.name, op_name(rq), (unsigned long long)rq->rq_sector,
		(unsigned long long)((now - rq->rq_deadline_ns) / NSEC_PER_MSEC +
				     blk_param_timeout_ms),
		(unsigned long long)dev->ctr.in_flight);
	switch (dev->ops->timeout(dev->drv, rq, done)) {
	case BLK_TIMEOUT_RESET:
		take_back_locked(dev, now, done);
		break;
	case BLK_TIMEOUT_DONE:
		if (rq->rq_state == RQ_INFLIGHT && blk_oldest_inflight_locked(dev) == rq) {
			/*
			 * The driver vouches for it (it found other completions,
			 * say): a new deadline, at the back of the dispatch order
			 * so that the oldest stays due first.
			 */
			rq->rq_deadline_ns = now + blk_param_timeout_ms * NSEC_PER_MSEC;
			blk_list_del(&rq->rq_active);
			blk_list_add_tail(&dev->active, &rq->rq_active);
		}
		break;
	}
	bool kick = blk_dispatch_locked(dev, done);
	/* Dispatch may have armed the watch for a newer request: the oldest decides. */
	rq = blk_oldest_inflight_locked(dev);
	if (rq && !dev->broken) /* a fenced device's requests stay in flight for good */
		timer_arm(&dev->watch, rq->rq_deadline_ns, blk_timeout_fire, dev);
	return kick;
}

void blk_timeout_fire(void *arg)
{
	struct blkdev *dev = arg;
	struct blk_done done = BLK_DONE_INIT;
	irqflags_t f = blk_lock(dev);
	bool kick = blk_timeout_check_locked(dev, &done);

	blk_unlock(dev, f);
	if (kick)
		blk_notify(dev);
	blk_end_done(&done);
}

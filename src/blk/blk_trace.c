/*
 * The trace ring (levblk/blk_trace.h): one ring for all disks, its own
 * spin lock taken inside a queue lock (never the other way round), so
 * events of one disk are in the order they happened under its queue lock.
 */
#include <levblk/bio.h>
#include <levblk/blk_trace.h>
#include <levblk/blkdev.h>
#include <levblk/console.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>
#include "blk_queue.h"
#include "blk_trace.h"

uint64_t blk_param_trace;
PARAM_U64("blk.trace", blk_param_trace, 0, 1,
	  "record block events in the trace ring (jobs print it as TRACE lines)");

static struct blk_trace_event blk_trace_ring[BLK_TRACE_EVENTS];
static spinlock_t blk_trace_lock = SPINLOCK_INIT("blk trace");
/* Events ever recorded since the last clear; slot = total % BLK_TRACE_EVENTS. Under blk_trace_lock. */
static uint64_t blk_trace_total;

static const char *const blk_trace_names[BLK_TRACE_EV_COUNT] = {
    [BLK_TRACE_QUEUE] = "queue",	 [BLK_TRACE_MERGE] = "merge",
    [BLK_TRACE_DISPATCH] = "dispatch", [BLK_TRACE_COMPLETE] = "complete",
    [BLK_TRACE_REQUEUE] = "requeue",	 [BLK_TRACE_TIMEOUT] = "timeout",
};

bool blk_trace_enabled(void)
{
	return blk_param_trace != 0;
}

const char *blk_trace_ev_name(unsigned int ev)
{
	return ev < BLK_TRACE_EV_COUNT ? blk_trace_names[ev] : "?";
}

void blk_trace_rq_locked(struct blkdev *dev, const struct request *rq, enum blk_trace_ev ev,
			 int status)
{
	struct blk_trace_event e = {
	    .ns = blk_now_locked(dev),
	    .sector = rq->rq_sector,
	    .dev = dev,
	    .sectors = rq->rq_sectors,
	    .tag = rq->rq_tag,
	    .status = status,
	    .op = rq->rq_op,
	    .ev = (uint8_t)ev,
	};
	irqflags_t f = spin_lock_irqsave(&blk_trace_lock);

	blk_trace_ring[blk_trace_total % BLK_TRACE_EVENTS] = e;
	blk_trace_total++;
	spin_unlock_irqrestore(&blk_trace_lock, f);
}

void blk_trace_clear(void)
{
	irqflags_t f = spin_lock_irqsave(&blk_trace_lock);

	blk_trace_total = 0;
	spin_unlock_irqrestore(&blk_trace_lock, f);
}

unsigned int blk_trace_read(struct blk_trace_event *out, unsigned int max, uint64_t *dropped)
{
	irqflags_t f = spin_lock_irqsave(&blk_trace_lock);
	uint64_t held = blk_trace_total < BLK_TRACE_EVENTS ? blk_trace_total : BLK_TRACE_EVENTS;
	uint64_t first = blk_trace_total - held; /* oldest event still in the ring */
	unsigned int n = 0;

	for (; n < max && n < held; n++)
		out[n] = blk_trace_ring[(first + n) % BLK_TRACE_EVENTS];
	if (dropped)
		*dropped = first;
	spin_unlock_irqrestore(&blk_trace_lock, f);
	return n;
}

static const char *blk_trace_op(uint8_t op)
{
	static const char *const names[BIO_OP_COUNT] = {
	    "read", "write", "flush", "discard", "write_zeroes", "get_id",
	};
	return op < BIO_OP_COUNT ? names[op] : "?";
}

/* Printed from a copy, a chunk at a time, so the ring's lock is never held across console output. */
void blk_trace_dump(void)
{
	static struct blk_trace_event chunk[64];
	irqflags_t f = spin_lock_irqsave(&blk_trace_lock);
	uint64_t total = blk_trace_total;
	spin_unlock_irqrestore(&blk_trace_lock, f);
	uint64_t held = total < BLK_TRACE_EVENTS ? total : BLK_TRACE_EVENTS;
	uint64_t printed = 0;

	for (uint64_t first = total - held; printed < held;) {
		unsigned int n = 0;
		f = spin_lock_irqsave(&blk_trace_lock);
		for (; n < 64 && printed + n < held; n++)
			chunk[n] = blk_trace_ring[(first + printed + n) % BLK_TRACE_EVENTS];
		spin_unlock_irqrestore(&blk_trace_lock, f);
		for (unsigned int i = 0; i < n; i++) {
			const struct blk_trace_event *e = &chunk[i];
			kprintf("TRACE ns=%llu dev=%s ev=%s op=%s tag=%u sector=%llu sectors=%u "
				"status=%d\n",
				(unsigned long long)e->ns, blkdev_info(e->dev)->name,
				blk_trace_ev_name(e->ev), blk_trace_op(e->op), e->tag,
				(unsigned long long)e->sector, e->sectors, e->status);
		}
		printed += n;
	}
	kprintf("TRACE_END events=%llu dropped=%llu\n", (unsigned long long)held,
		(unsigned long long)(total - held));
}

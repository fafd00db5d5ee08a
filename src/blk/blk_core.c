/*
 * The request queue: bios in, requests to the driver out, completions back.
 *
 * A bio's way (bio_stage):
 *   IDLE       fresh from bio_init_*; ENDED bios may be submitted again too.
 *   ACCEPTED   passed the checks (bio_check.c); in a plug or entering here.
 *   PREFLUSH   (WRITE with BIO_PREFLUSH on a volatile cache) waits on a
 *              flush request; when the flush ends well it moves on to DATA.
 *   DATA       its bytes are placed into requests from a cursor: merged at
 *              the back or front of a queued request of the same op and
 *              epoch when the limits allow, else into a new request, split
 *              at logical-block boundaries as the limits demand. With no
 *              free request it waits on the pending list (FIFO), cursor kept.
 *   POSTFLUSH  (FUA, or a FLUSH bio itself) waits on a flush request issued
 *              after its data completed: virtio has no FUA.
 *   ENDED      on a blk_done list; end_io runs once no lock is held.
 * bio_refs counts the requests (parts) and flushes it waits on, plus one
 * while DATA placement is unfinished; the stage ends when it drops to 0.
 *
 * Flush ordering: a flush request is a barrier. New requests get the epoch
 * epoch_tail; a flush takes epoch_tail and bumps it. Requests of epochs
 * after epoch_head wait on the held list; the flush at the head of the
 * barrier list is dispatched only when nothing of its epoch is queued or in
 * flight; when it completes epoch_head moves on and the held requests of
 * the new epoch enter the elevator. So no write crosses a flush either way,
 * and merges only join requests of the newest epoch.
 *
 * Errors: a request that fails with -EIO is retried. If it holds more than
 * one part it is first retried part by part (rq_isolate), so only the bios
 * that touch the failing sectors fail; each try is retried up to
 * blk.retries times before its bios end with the error.
 *
 * Everything here runs under the device's queue lock except blk_submit_list
 * (which takes it) and blk_end_done (which must run without it, and batches
 * what end_io callbacks resubmit from interrupt context). submit_bio, the
 * entry above the plug and this file, is in blk_submit.c.
 */
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/exit.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/string.h>
#include "blk_params.h"
#include "blk_part.h"
#include "blk_queue.h"
#include "blk_rq.h"
#include "blk_trace.h"

static void bio_end_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done);
static void bio_refs_done_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done);
static bool place_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done);
static void place_or_park_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done);

static inline void assert_locked(const struct blkdev *dev)
{
	if (!blk_locked(dev))
		panic("blk %s: queue lock not held", dev->info.name);
}

/*
 * One thing the bio waited on is done; move it to its next stage when all
 * are. Always inline: most puts only count down (the placement reference of
 * a bio whose requests hold it, each part of a multi-part bio), and with
 * many callers the compiler would otherwise make it a call per bio.
 */
static inline __attribute__((always_inline)) void
bio_put_locked(struct blkdev *dev, struct bio *bio, int status, struct blk_done *done)
{
	if (status && !bio->bio_status)
		bio->bio_status = status;
	if (--bio->bio_refs == 0)
		bio_refs_done_locked(dev, bio, done);
}

/* --- request pool ----------------------------------------------------------- */

/* The current lock hold's time (blkdev.run_ns), read on first use. */
static uint64_t run_now(struct blkdev *dev)
{
	if (!dev->run_ns)
		dev->run_ns = clock_ns();
	return dev->run_ns;
}

static struct request *rq_alloc(struct blkdev *dev, uint8_t op)
{
	if (blk_list_empty(&dev->free))
		return NULL;
	struct request *rq = blk_list_entry(dev->free.next, struct request, rq_sort);
	blk_list_del(&rq->rq_sort);
	rq->rq_op = op;
	rq->rq_isolate = false;
	rq->rq_attempts = 0;
	rq->rq_epoch = dev->epoch_tail;
	rq->rq_sector = 0;
	rq->rq_sectors = 0;
	rq->rq_nsegs = 0;
	rq->rq_nparts = 0;
	rq->rq_view = 0;
	rq->rq_fifo_deadline_ns =
	    run_now(dev) +
	    (elv_dir(op) == ELV_READ ? dev->elv.read_expire_ns : dev->elv.write_expire_ns);
	rq->rq_deadline_ns = 0;
	return rq;
}

static void rq_free(struct blkdev *dev, struct request *rq)
{
	rq->rq_state = RQ_FREE;
	blk_list_add_tail(&dev->free, &rq->rq_sort);
}

/* A new data request enters the elevator, or waits for its epoch. */
static void rq_queue_new(struct blkdev *dev, struct request *rq)
{
	if (rq->rq_epoch == dev->epoch_head) {
		elv_add(&dev->elv, rq);
	} else {
		rq->rq_state = RQ_HELD;
		blk_list_add_tail(&dev->held, &rq->rq_sort);
	}
}

static void rq_requeue(struct blkdev *dev, struct request *rq)
{
	rq->rq_state = RQ_REQUEUE;
	blk_list_add_tail(&dev->requeue, &rq->rq_sort);
	blk_trace_locked(dev, rq, BLK_TRACE_REQUEUE, 0);
}

/* The flush at the head of the barrier list completed: the next epoch may go. */
static void epoch_advance(struct blkdev *dev)
{
	struct blk_list *n = dev->held.next;

	dev->epoch_head++;
	while (n != &dev->held) {
		struct request *rq = blk_list_entry(n, struct request, rq_sort);
		n = n->next;
		if (rq->rq_epoch != dev->epoch_head)
			break; /* held is in creation order, so epochs ascend */
		blk_list_del(&rq->rq_sort);
		elv_add(&dev->elv, rq);
	}
}

/* --- placing bios into requests -------------------------------------------- */

static uint64_t max_rq_bytes(const struct blkdev *dev)
{
	return (uint64_t)dev->info.limits.max_sectors << SECTOR_SHIFT;
}

/* Appends (or with front=true prepends) a part made from the bio's cursor. */
static void rq_add_part(struct request *rq, struct bio *bio, uint64_t bytes, uint32_t nsegs,
			bool front)
{
	struct blk_part p = {
	    .bio = bio,
	    .sector = bio->bio_sector + (bio->bio_cur_bytes >> SECTOR_SHIFT),
	    .bytes = (uint32_t)bytes,
	    .seg = bio->bio_cur_seg,
	    .off = bio->bio_cur_off,
	    .nsegs = nsegs,
	};

	if (front) {
		memmove(&rq->rq_parts[1], &rq->rq_parts[0],
			rq->rq_nparts * sizeof(rq->rq_parts[0]));
		rq->rq_parts[0] = p;
		rq->rq_sector = p.sector;
	} else {
		rq->rq_parts[rq->rq_nparts] = p;
		if (rq->rq_nparts == 0)
			rq->rq_sector = p.sector;
	}
	rq->rq_nparts++;
	rq->rq_nsegs += nsegs;
	if (rq->rq_op != BIO_OP_GET_ID)
		rq->rq_sectors += (uint32_t)(bytes >> SECTOR_SHIFT);
	if (bio->bio_op == BIO_OP_READ || bio->bio_op == BIO_OP_WRITE ||
	    bio->bio_op == BIO_OP_GET_ID)
		blk_advance_cursor(bio, &bio->bio_cur_seg, &bio->bio_cur_off, bytes);
	bio->bio_cur_bytes += bytes;
	bio->bio_refs++;
}

/*
 * Bounced pieces (blk_bounce.h). A piece goes through a bounce buffer when
 * its first logical block lies in more caller segments than a request may
 * carry (blk_fit_bytes finds not one block that fits), and with
 * blk.bounce=1 always (direct_segs is then 0, so nothing ever fits). None
 * of this runs for a bio whose blocks fit: the hot path only reads
 * direct_segs where it read limits.max_segs.
 */

/*
 * Bytes of bio from its cursor to copy through one buffer into a request
 * with `segs` wire segments and `room` bytes left; 0 if not one logical
 * block fits even as one contiguous buffer. Without blk.bounce only the
 * run of blocks that cannot go directly is taken (each one alone lies in
 * more segments than a request carries): the blocks after it are placed
 * from the caller's memory again.
 */
static BLK_BOUNCE_PATH uint64_t bounce_bytes(const struct blkdev *dev, const struct bio *bio,
					     uint32_t segs, uint64_t room)
{
	const struct blk_limits *lim = &dev->info.limits;
	uint32_t lbs = dev->info.lbs, seg = bio->bio_cur_seg, off = bio->bio_cur_off;
	uint64_t left = bio->bio_bytes - bio->bio_cur_bytes;
	uint64_t max = (uint64_t)segs * lim->max_seg_bytes, bytes = 0;

	if (max > room)
		max = room;
	if (max > dev->bounce.max_bytes)
		max = dev->bounce.max_bytes;
	if (bio->bio_op == BIO_OP_GET_ID) /* all of it, or nothing: not counted in blocks */
		return left <= max ? left : 0;
	if (max > left)
		max = left;
	if (dev->bounce.all)
		return max - max % lbs;
	while (bytes + lbs <= max &&
	       blk_count_segs(bio, seg, off, lbs, lim->max_seg_bytes) > lim->max_segs) {
		bytes += lbs;
		blk_advance_cursor(bio, &seg, &off, lbs);
	}
	return bytes;
}

/*
 * Adds the next `bytes` of bio to rq as a piece carried by buf (copied in
 * now for a write): one contiguous buffer, cut only at max_seg_bytes.
 */
static void rq_add_bounced(struct blkdev *dev, struct request *rq, struct bio *bio,
			   struct blk_bounce_buf *buf, uint64_t bytes, bool front)
{
	uint32_t max = dev->info.limits.max_seg_bytes;
	uint32_t nsegs = (uint32_t)((bytes + max - 1) / max);

	blk_bounce_fill(buf, bio, bio->bio_cur_seg, bio->bio_cur_off, (uint32_t)bytes);
	rq_add_part(rq, bio, bytes, nsegs, front);
	struct blk_part *p = &rq->rq_parts[front ? 0 : rq->rq_nparts - 1];
	p->seg = BLK_PART_BOUNCED;
	p->off = (uint32_t)(buf - dev->bounce.bufs);
	rq->rq_nbounce++;
	dev->ctr.bounces++;
}

/*
 * Ends the bounce buffers of parts [from, to) of rq, which the device can
 * no longer touch (the request is back from the driver): a read's data is
 * copied out if the part succeeded, and every buffer goes back to the pool.
 * Before the parts' bios are put, so their end_io sees the data.
 */
static BLK_BOUNCE_PATH void bounce_end_parts(struct blkdev *dev, struct request *rq, uint32_t from,
					     uint32_t to, int status)
{
	bool out = !status && (rq->rq_op == BIO_OP_READ || rq->rq_op == BIO_OP_GET_ID);

	for (uint32_t i = from; i < to; i++) {
		struct blk_part *p = &rq->rq_parts[i];
		if (p->seg != BLK_PART_BOUNCED)
			continue;
		struct blk_bounce_buf *buf = &dev->bounce.bufs[p->off];
		if (out)
			blk_bounce_copy_out(buf, p->bio);
		blk_bounce_put(&dev->bounce, buf);
		p->seg = 0; /* given back: never twice */
		rq->rq_nbounce--;
	}
}

static bool rq_mergeable(const struct blkdev *dev, const struct request *rq, uint8_t op)
{
	return rq->rq_op == op && rq->rq_epoch == dev->epoch_tail && !rq->rq_isolate &&
	       (rq->rq_state == RQ_QUEUED || rq->rq_state == RQ_HELD);
}

/*
 * blk.bounce=1: merges the next piece of bio into rq (adjacent, mergeable)
 * through a bounce buffer, as try_merge does with caller memory.
 */
static BLK_BOUNCE_PATH bool merge_bounced(struct blkdev *dev, struct request *rq, struct bio *bio,
					  uint64_t start)
{
	const struct blk_limits *lim = &dev->info.limits;
	bool back = rq->rq_sector + rq->rq_sectors == start;
	uint64_t room = max_rq_bytes(dev) - ((uint64_t)rq->rq_sectors << SECTOR_SHIFT);
	uint64_t bytes;
	struct blk_bounce_buf *buf;

	if (rq->rq_nsegs >= lim->max_segs)
		return false;
	bytes = bounce_bytes(dev, bio, lim->max_segs - rq->rq_nsegs, room);
	if (bytes == 0 || (!back && bytes != bio->bio_bytes - bio->bio_cur_bytes))
		return false;
	buf = blk_bounce_get(&dev->bounce, (uint32_t)bytes);
	if (!buf)
		return false; /* a new request will wait for a buffer instead */
	rq_add_bounced(dev, rq, bio, buf, bytes, !back);
	if (!back && rq->rq_state == RQ_QUEUED)
		elv_resort(&dev->elv, rq);
	dev->ctr.merges++;
	blk_trace_locked(dev, rq, BLK_TRACE_MERGE, 0);
	return true;
}

/*
 * Tries to put the next piece of bio into a queued request: at the back of
 * one that ends where the piece starts, or (the whole remainder only) at
 * the front of one that starts where the bio ends.
 */
static bool try_merge(struct blkdev *dev, struct bio *bio)
{
	const struct blk_limits *lim = &dev->info.limits;
	uint64_t start = bio->bio_sector + (bio->bio_cur_bytes >> SECTOR_SHIFT);
	uint64_t end = bio->bio_sector + (bio->bio_bytes >> SECTOR_SHIFT);
	struct blk_list *head, *n;

	if (!blk_param_merge || (bio->bio_op != BIO_OP_READ && bio->bio_op != BIO_OP_WRITE))
		return false;
	head = dev->epoch_tail == dev->epoch_head ? &dev->elv.sorted[elv_dir(bio->bio_op)]
						  : &dev->held;
	blk_list_for_each(n, head)
	{
		struct request *rq = blk_list_entry(n, struct request, rq_sort);
		uint32_t nsegs;
		uint64_t bytes;

		/* Adjacency first: it rules out nearly every request of a random workload cheaply.
		 */
		if (rq->rq_sector + rq->rq_sectors != start && rq->rq_sector != end)
			continue;
		if (!rq_mergeable(dev, rq, bio->bio_op))
			continue;
		if (rq->rq_nsegs >= dev->direct_segs) {
			/* No room for caller memory; with blk.bounce=1 there never is. */
			if (dev->bounce.all && merge_bounced(dev, rq, bio, start))
				return true;
			continue;
		}
		uint64_t room = max_rq_bytes(dev) - ((uint64_t)rq->rq_sectors << SECTOR_SHIFT);
		if (rq->rq_sector + rq->rq_sectors == start) {
			bytes = blk_fit_bytes(bio, dev->direct_segs - rq->rq_nsegs, room,
					      dev->info.lbs, lim->max_seg_bytes, &nsegs);
			if (bytes == 0)
				continue;
			rq_add_part(rq, bio, bytes, nsegs, false);
			dev->ctr.merges++;
			blk_trace_locked(dev, rq, BLK_TRACE_MERGE, 0);
			return true;
		}
		if (rq->rq_sector == end) {
			bytes = blk_fit_bytes(bio, dev->direct_segs - rq->rq_nsegs, room,
					      dev->info.lbs, lim->max_seg_bytes, &nsegs);
			if (bytes != bio->bio_bytes - bio->bio_cur_bytes)
				continue;
			rq_add_part(rq, bio, bytes, nsegs, true);
			if (rq->rq_state == RQ_QUEUED)
				elv_resort(&dev->elv, rq);
			dev->ctr.merges++;
			blk_trace_locked(dev, rq, BLK_TRACE_MERGE, 0);
			return true;
		}
	}
	return false;
}

/*
 * A fresh request's first piece through a bounce buffer: 0, -EAGAIN (the
 * pool has no buffer free now: the bio waits for one) or -EINVAL (not one
 * logical block fits a request even as one contiguous buffer).
 */
static BLK_BOUNCE_PATH int rq_first_bounced(struct blkdev *dev, struct request *rq, struct bio *bio)
{
	uint64_t bytes = bounce_bytes(dev, bio, dev->info.limits.max_segs, max_rq_bytes(dev));
	struct blk_bounce_buf *buf;

	if (bytes == 0)
		return -EINVAL;
	buf = blk_bounce_get(&dev->bounce, (uint32_t)bytes);
	if (!buf) {
		dev->ctr.bounce_waits++;
		return -EAGAIN;
	}
	rq_add_bounced(dev, rq, bio, buf, bytes, false);
	return 0;
}

/*
 * Fills a fresh request with the next piece of bio: 0, -EAGAIN (waits for
 * a bounce buffer) or -EINVAL (the bio cannot be split into requests).
 */
static int rq_first_part(struct blkdev *dev, struct request *rq, struct bio *bio)
{
	const struct blk_limits *lim = &dev->info.limits;
	uint64_t left = bio->bio_bytes - bio->bio_cur_bytes;
	uint32_t nsegs = 0;
	uint64_t bytes;

	switch (bio->bio_op) {
	case BIO_OP_DISCARD:
	case BIO_OP_WRITE_ZEROES: {
		uint64_t max =
		    (uint64_t)(bio->bio_op == BIO_OP_DISCARD ? lim->max_discard_sectors
							     : lim->max_write_zeroes_sectors)
		    << SECTOR_SHIFT;
		bytes = left < max ? left : max;
		bytes -= bytes % dev->info.lbs;
		break;
	}
	case BIO_OP_GET_ID:
		bytes = left;
		nsegs = blk_count_segs(bio, 0, 0, bytes, lim->max_seg_bytes);
		if (nsegs > dev->direct_segs)
			return rq_first_bounced(dev, rq, bio);
		break;
	default:
		bytes = blk_fit_bytes(bio, dev->direct_segs, max_rq_bytes(dev), dev->info.lbs,
				      lim->max_seg_bytes, &nsegs);
		if (bytes == 0) /* its first block lies in too many segments: copy it */
			return rq_first_bounced(dev, rq, bio);
		break;
	}
	if (bytes == 0)
		return -EINVAL;
	rq_add_part(rq, bio, bytes, nsegs, false);
	return 0;
}

/*
 * DATA stage: place what is left of the bio. False: out of requests or
 * bounce buffers, parked (a completion frees both and drains the parked).
 */
static bool place_data_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done)
{
	while (bio->bio_cur_bytes < bio->bio_bytes) {
		if (try_merge(dev, bio))
			continue;
		struct request *rq = rq_alloc(dev, bio->bio_op);
		if (!rq)
			return false;
		bool split = bio->bio_cur_bytes != 0;
		int err = rq_first_part(dev, rq, bio);
		if (err) {
			rq_free(dev, rq);
			if (err == -EAGAIN) /* the bounce pool is empty: wait, cursor kept */
				return false;
			/* Not one logical block fits the limits: cannot be split into requests. */
			if (!bio->bio_status)
				bio->bio_status = -EINVAL;
			bio->bio_cur_bytes = bio->bio_bytes;
			break;
		}
		dev->ctr.splits += split;
		rq_queue_new(dev, rq);
		blk_trace_locked(dev, rq, BLK_TRACE_QUEUE, 0);
	}
	bio_put_locked(dev, bio, 0, done); /* the placement reference */
	return true;
}

/* Makes bio wait on a flush barrier; false if no request is free for one. */
static bool attach_flush(struct blkdev *dev, struct bio *bio)
{
	if (!blk_list_empty(&dev->barriers)) {
		/* A flush not yet sent covers this bio's needs too: join it. */
		struct request *f = blk_list_entry(dev->barriers.prev, struct request, rq_sort);
		if (f->rq_nparts < BLK_MAX_SEGS) {
			f->rq_parts[f->rq_nparts++] = (struct blk_part){.bio = bio, .sector = 0};
			bio->bio_refs++;
			dev->ctr.merges++;
			blk_trace_locked(dev, f, BLK_TRACE_MERGE, 0);
			return true;
		}
	}
	struct request *rq = rq_alloc(dev, BIO_OP_FLUSH);
	if (!rq)
		return false;
	rq->rq_epoch = dev->epoch_tail++;
	rq->rq_parts[0] = (struct blk_part){.bio = bio, .sector = 0};
	rq->rq_nparts = 1;
	bio->bio_refs++;
	rq->rq_state = RQ_BARRIER;
	blk_list_add_tail(&dev->barriers, &rq->rq_sort);
	blk_trace_locked(dev, rq, BLK_TRACE_QUEUE, 0);
	return true;
}

static bool place_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done)
{
	switch (bio->bio_stage) {
	case BIO_STAGE_PREFLUSH:
	case BIO_STAGE_POSTFLUSH:
		return attach_flush(dev, bio);
	case BIO_STAGE_DATA:
		return place_data_locked(dev, bio, done);
	default:
		panic("blk %s: placing an ended bio", dev->info.name);
	}
}

static void park(struct blkdev *dev, struct bio *bio)
{
	bio_fifo_push(&dev->pending_head, &dev->pending_tail, bio);
}

/* Bios wait their turn: nothing overtakes a parked bio. */
static void place_or_park_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done)
{
	if (dev->broken) { /* nothing will be dispatched any more */
		bio->bio_status = -ENODEV;
		bio_end_locked(dev, bio, done);
		return;
	}
	if (dev->pending_head || !place_locked(dev, bio, done))
		park(dev, bio);
}

/*
 * The bio is unlinked before it is placed: placing may end it (a block no
 * request can carry), and an ended bio's bio_next links the done list, so
 * reading the next parked bio from it afterwards would lose the rest.
 */
static void drain_pending_locked(struct blkdev *dev, struct blk_done *done)
{
	while (dev->pending_head) {
		struct bio *bio = dev->pending_head;
		struct bio *next = bio->bio_next;

		bio->bio_next = NULL;
		if (!place_locked(dev, bio, done)) {
			bio->bio_next = next; /* not placed, not ended: still first in line */
			return;
		}
		dev->pending_head = next;
		if (!next)
			dev->pending_tail = NULL;
	}
}

static void start_data(struct bio *bio)
{
	bio->bio_stage = BIO_STAGE_DATA;
	bio->bio_refs = 1;
	bio->bio_cur_seg = 0;
	bio->bio_cur_off = 0;
	bio->bio_cur_bytes = 0;
}

/* A checked bio enters the queue. */
/* Always inline: blk_submit_list's hot path, and the one other caller is a thin wrapper. */
static inline __attribute__((always_inline)) void start_bio_locked(struct blkdev *dev,
								   struct bio *bio,
								   struct blk_done *done)
{
	bool cache = dev->info.volatile_cache;

	dev->ctr.bios++;
	dev->ctr.queued++;
	bio->bio_start_ns = run_now(dev); /* no extra clock read: rq_alloc and dispatch need it */
	bio->bio_status = 0;
	bio->bio_refs = 0;
	bio->bio_next = NULL;
	if (dev->broken) {
		bio->bio_status = -ENODEV;
		bio_end_locked(dev, bio, done);
		return;
	}
	if (bio->bio_op == BIO_OP_DISCARD || bio->bio_op == BIO_OP_WRITE_ZEROES)
		bio->bio_bytes = (uint64_t)bio->bio_nsectors << SECTOR_SHIFT;
	if (bio->bio_op == BIO_OP_FLUSH) {
		if (!cache) { /* nothing volatile to make durable */
			bio_end_locked(dev, bio, done);
			return;
		}
		bio->bio_stage = BIO_STAGE_POSTFLUSH;
	} else if (bio->bio_op == BIO_OP_WRITE && (bio->bio_flags & BIO_PREFLUSH) && cache) {
		bio->bio_stage = BIO_STAGE_PREFLUSH;
	} else {
		start_data(bio);
	}
	place_or_park_locked(dev, bio, done);
}

/* --- ending ------------------------------------------------------------------ */

static void bio_end_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done)
{
	/* run_now: one clock read per lock hold, shared with dispatch's deadlines. */
	uint64_t now = run_now(dev);

	bio->bio_end_ns = now;
	hist_record(&dev->lat->op[blk_lat_op_of(bio->bio_op)],
		    now > bio->bio_start_ns ? now - bio->bio_start_ns : 0);
	blk_part_unmap(bio); /* the caller gets back the bio it submitted */
	bio->bio_stage = BIO_STAGE_ENDED;
	dev->ctr.queued--;
	if (bio->bio_status)
		dev->ctr.errors++;
	bio_fifo_push(&done->head, &done->tail, bio);
}

/* The bio's last reference is gone: its next stage, or its end. */
static void bio_refs_done_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done)
{
	switch (bio->bio_stage) {
	case BIO_STAGE_PREFLUSH:
		if (bio->bio_status) /* the flush failed: writing now would claim too much */
			break;
		start_data(bio);
		place_or_park_locked(dev, bio, done);
		return;
	case BIO_STAGE_DATA:
		if ((bio->bio_flags & BIO_FUA) && bio->bio_op == BIO_OP_WRITE &&
		    dev->info.volatile_cache && !bio->bio_status) {
			bio->bio_stage = BIO_STAGE_POSTFLUSH;
			place_or_park_locked(dev, bio, done);
			return;
		}
		break;
	default:
		break;
	}
	bio_end_locked(dev, bio, done);
}

static inline void put_parts(struct blkdev *dev, struct request *rq, uint32_t from, uint32_t to,
			     int status, struct blk_done *done)
{
	for (uint32_t i = from; i < to; i++)
		bio_put_locked(dev, rq->rq_parts[i].bio, status, done);
}

/* end_parts for a request with bounced parts: their buffers first, then the bios. */
static BLK_BOUNCE_PATH void end_parts_bounced(struct blkdev *dev, struct request *rq, uint32_t from,
					      uint32_t to, int status, struct blk_done *done)
{
	bounce_end_parts(dev, rq, from, to, status);
	put_parts(dev, rq, from, to, status, done);
}

static void end_parts(struct blkdev *dev, struct request *rq, uint32_t from, uint32_t to,
		      int status, struct blk_done *done)
{
	if (rq->rq_nbounce) { /* a tail call: the common case keeps its registers */
		end_parts_bounced(dev, rq, from, to, status, done);
		return;
	}
	put_parts(dev, rq, from, to, status, done);
}

/* rq came back from the driver (or could not be given to it) with status. */
static void finish_rq(struct blkdev *dev, struct request *rq, int status, struct blk_done *done)
{
	if (status == -EIO && !dev->broken) {
		if (!rq->rq_isolate && rq->rq_nparts > 1 && rq->rq_op != BIO_OP_FLUSH) {
			rq->rq_isolate = true; /* find out which bios the error belongs to */
			rq->rq_view = 0;
			rq->rq_attempts = 0;
			dev->ctr.retries++;
			rq_requeue(dev, rq);
			return;
		}
		if (rq->rq_attempts < blk_param_retries) {
			rq->rq_attempts++;
			dev->ctr.retries++;
			rq_requeue(dev, rq);
			return;
		}
	}
	if (rq->rq_isolate) {
		end_parts(dev, rq, rq->rq_view, rq->rq_view + 1, status, done);
		rq->rq_view++;
		rq->rq_attempts = 0;
		if (rq->rq_view < rq->rq_nparts) {
			if (status != -ENODEV && !dev->broken) {
				rq_requeue(dev, rq);
				return;
			}
			end_parts(dev, rq, rq->rq_view, rq->rq_nparts, status ? status : -ENODEV,
				  done);
		}
	} else {
		if (rq->rq_op == BIO_OP_FLUSH)
			epoch_advance(
			    dev); /* before the bios move on: their data joins the new epoch */
		end_parts(dev, rq, 0, rq->rq_nparts, status, done);
	}
	rq_free(dev, rq);
}

void blk_complete_locked(struct blkdev *dev, struct request *rq, int status, struct blk_done *done)
{
	assert_locked(dev);
	if (rq->rq_state != RQ_INFLIGHT)
		panic("blk %s: completion of request %u that is not in flight", dev->info.name,
		      rq->rq_tag);
	blk_list_del(&rq->rq_active);
	dev->ctr.in_flight--;
	rq->rq_timeouts = 0; /* it came back: no longer stuck */
	blk_trace_locked(dev, rq, BLK_TRACE_COMPLETE, status);
	finish_rq(dev, rq, status, done);
}

struct request *blk_oldest_inflight_locked(struct blkdev *dev)
{
	assert_locked(dev);
	if (blk_list_empty(&dev->active))
		return NULL;
	return blk_list_entry(dev->active.next, struct request, rq_active);
}

void blk_unissue_locked(struct blkdev *dev, struct request *rq)
{
	assert_locked(dev);
	if (rq->rq_state != RQ_INFLIGHT)
		panic("blk %s: unissue of request %u that is not in flight", dev->info.name,
		      rq->rq_tag);
	blk_list_del(&rq->rq_active);
	dev->ctr.in_flight--;
	rq->rq_state = RQ_REQUEUE;
	blk_list_add_head(&dev->requeue, &rq->rq_sort);
	blk_trace_locked(dev, rq, BLK_TRACE_REQUEUE, 0);
}

/* --- dispatch ---------------------------------------------------------------- */

/*
 * The next request to hand to the driver, left where it is (the driver may
 * have no room); NULL if none may go now. take_rq() removes it.
 */
static struct request *peek_rq(struct blkdev *dev, struct elv_pick *pick)
{
	struct request *rq;

	pick->rq = NULL;
	if (!blk_list_empty(&dev->requeue))
		return blk_list_entry(dev->requeue.next, struct request, rq_sort);
	if (!elv_empty(&dev->elv))
		return elv_peek(&dev->elv, run_now(dev), pick);
	if (!blk_list_empty(&dev->barriers) && dev->ctr.in_flight == 0) {
		rq = blk_list_entry(dev->barriers.next, struct request, rq_sort);
		if (rq->rq_epoch == dev->epoch_head)
			return rq;
	}
	return NULL;
}

static void take_rq(struct blkdev *dev, struct request *rq, const struct elv_pick *pick)
{
	if (pick->rq == rq)
		elv_take(&dev->elv, pick);
	else
		blk_list_del(&rq->rq_sort); /* requeue or barrier list */
}

/* After queue_rq: does the device want the doorbell? Counted as a kick if so. */
static bool kick_needed_locked(struct blkdev *dev)
{
	if (!dev->ops->kick_prepare(dev->drv))
		return false;
	dev->ctr.kicks++; /* counted here, under the lock the caller already holds */
	return true;
}

/*
 * Whether rq, about to go to the driver, is the last of this run: nothing
 * else is waiting to be dispatched after it. (A flush barrier waits for
 * the requests in flight, so it cannot follow rq in the same run.)
 */
static bool rq_last_locked(const struct blkdev *dev, const struct request *rq)
{
	uint32_t queued = dev->elv.count[ELV_READ] + dev->elv.count[ELV_WRITE];

	if (rq->rq_state == RQ_REQUEUE)
		return dev->requeue.next->next == &dev->requeue && queued == 0;
	return blk_list_empty(&dev->requeue) && queued <= 1;
}

/*
 * Hands queued requests to the driver until none is left or the ring is
 * full; true if the caller must ring the doorbell (blk_notify) after
 * unlocking. Each request goes with `last`, whether it ends the run; when
 * to ring the doorbell besides the end of the run is the driver's business
 * (blk_driver.h).
 */
bool blk_dispatch_locked(struct blkdev *dev, struct blk_done *done)
{
	bool queued = false;
	struct elv_pick pick;

	assert_locked(dev);
	drain_pending_locked(dev, done);
	/* The clock is read only once something may go (run_now): an interrupt
	 * that completes without dispatching more reads none here. */
	while (!dev->broken) {
		struct request *rq = peek_rq(dev, &pick);
		if (!rq)
			break;
		rq->rq_deadline_ns = run_now(dev) + blk_param_timeout_ms * NSEC_PER_MSEC;
		int err = dev->ops->queue_rq(dev->drv, rq, rq_last_locked(dev, rq));
		if (err == -ENOSPC)
			break; /* ring full: rq stays first in line; a completion dispatches it */
		take_rq(dev, rq, &pick);
		if (err) {
			finish_rq(dev, rq, err, done);
			drain_pending_locked(dev, done);
			continue;
		}
		rq->rq_state = RQ_INFLIGHT;
		blk_list_add_tail(&dev->active, &rq->rq_active);
		/* One CPU, lock held with IRQs masked: the timer cannot fire meanwhile. */
		if (!dev->watch.pending)
			timer_arm(&dev->watch, rq->rq_deadline_ns, blk_timeout_fire, dev);
		dev->ctr.in_flight++;
		dev->ctr.requests++;
		blk_trace_locked(dev, rq, BLK_TRACE_DISPATCH, 0);
		dev->ctr.flushes += rq->rq_op == BIO_OP_FLUSH;
		queued = true;
	}
	if (!queued)
		return false;
	return kick_needed_locked(dev);
}

uint64_t blk_now_locked(struct blkdev *dev)
{
	return run_now(dev);
}

void blk_count_kick_locked(struct blkdev *dev)
{
	dev->ctr.kicks++;
}

void blk_notify(struct blkdev *dev)
{
	dev->ops->notify(dev->drv);
}

/*
 * Ending is never nested. Bios that end_io callbacks resubmit are collected
 * while the callbacks run and submitted together afterwards, so a completion
 * interrupt that restarts many bios dispatches them as one batch with one
 * kick per device instead of one each. Bios that end while callbacks run
 * (a resubmission the checks refuse, or one to a broken device, ends inside
 * submit_bio) are collected too and ended by the outermost blk_end_done,
 * after the callback that submitted them has returned: an end_io that
 * resubmits whenever its bio fails goes round in that loop, not deeper into
 * the stack. blk_end_done masks IRQs for the whole run, also in thread
 * context, so the thread stays on its CPU and that CPU's ending context
 * (blk_end_ctx[cpu_id()]) belongs to this one ending; other CPUs end their
 * own bios in their own contexts at the same time. end_io may run in
 * interrupt context anyway.
 */
struct blk_end_ctx blk_end_ctx[CPU_MAX];

bool blk_resubmit_defer_slow(struct bio *bio)
{
	if (!irqs_disabled())
		return false;
	struct blk_end_ctx *ec = &blk_end_ctx[cpu_id()];
	bio_fifo_push(&ec->resubmit_head, &ec->resubmit_tail, bio);
	return true;
}

/* Runs end_io for a list of ended bios (linked by bio_next). IRQs masked. */
static void end_list(struct bio *bio)
{
	/* bio_end_ns is already set: by bio_end_locked, or by bio_accept (blk_submit.c) for a refused bio. */
	while (bio) {
		struct bio *next = bio->bio_next; /* end_io may resubmit bio */
		bio->bio_next = NULL;
		bio_end_call(bio);
		bio = next;
	}
}

void blk_end_done(struct blk_done *done)
{
	struct bio *bio = done->head;

	if (!bio)
		return;
	done->head = done->tail = NULL;
	irqflags_t f = irq_save();
	struct blk_end_ctx *ec = &blk_end_ctx[cpu_id()]; /* IRQs masked: this CPU's, until restored */
	if (ec->depth) {
		/* Called from inside an ending: the outermost one ends these. */
		if (ec->later.tail)
			ec->later.tail->bio_next = bio;
		else
			ec->later.head = bio;
		while (bio->bio_next)
			bio = bio->bio_next;
		ec->later.tail = bio;
		irq_restore(f);
		return;
	}
	ec->depth = 1;
	if (blk_param_complete_ipi)
		bio = blk_remote_split(bio); /* others' bios to their submitting CPU */
	end_list(bio);
	while (ec->resubmit_head || ec->later.head) {
		if (ec->later.head) {
			struct bio *list = ec->later.head;
			ec->later.head = ec->later.tail = NULL;
			end_list(list);
			continue;
		}
		struct bio *list = ec->resubmit_head;
		ec->resubmit_head = ec->resubmit_tail = NULL;
		blk_submit_list(list);
	}
	ec->depth = 0;
	irq_restore(f);
}

/*
 * blk_driver.h. A released request stays on the active list and counted in
 * flight (the device still holds it), with no parts left: its tag, header
 * and bounce buffers are never reused, since it is never completed.
 */
uint32_t blk_quarantine_locked(struct blkdev *dev, int status, struct blk_done *done)
{
	struct blk_list *n;
	uint32_t held = 0;

	assert_locked(dev);
	blk_list_for_each(n, &dev->active)
	{
		struct request *rq = blk_list_entry(n, struct request, rq_active);
		uint32_t from = rq->rq_isolate ? rq->rq_view : 0;
		bool data = rq->rq_op == BIO_OP_READ || rq->rq_op == BIO_OP_WRITE ||
			    rq->rq_op == BIO_OP_GET_ID;

		if (rq->rq_nparts == 0)
			continue; /* released before */
		if (data && rq->rq_nbounce != rq->rq_nparts - from) {
			held++; /* some part is the caller's memory: it stays */
			continue;
		}
		/* Only the layer's memory: the bios may end; the buffers stay where they are. */
		put_parts(dev, rq, from, rq->rq_nparts, status, done);
		rq->rq_nparts = 0;
	}
	return held;
}

/* Every request and bio not owned by the driver ends -ENODEV. */
void blk_mark_broken_locked(struct blkdev *dev, struct blk_done *done)
{
	struct blk_list *lists[] = {&dev->requeue, &dev->barriers, &dev->held};
	struct request *rq;
	uint64_t now = clock_ns(); /* for the elevator's pick only: the order no longer matters */
	bool again;

	assert_locked(dev);
	dev->broken = true;
	/* Ending a flush promotes held requests into the elevator: repeat until all is empty. */
	do {
		again = false;
		while ((rq = elv_next(&dev->elv, now)) != NULL)
			finish_rq(dev, rq, -ENODEV, done);
		for (unsigned int i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
			while (!blk_list_empty(lists[i])) {
				rq = blk_list_entry(lists[i]->next, struct request, rq_sort);
				blk_list_del(&rq->rq_sort);
				finish_rq(dev, rq, -ENODEV, done);
				again = true;
			}
		}
	} while (again);
	while (dev->pending_head) {
		struct bio *bio = dev->pending_head;
		dev->pending_head = bio->bio_next;
		bio->bio_status = -ENODEV;
		if (bio->bio_stage == BIO_STAGE_DATA) {
			/* Pieces already in requests end with them; the rest is given up. */
			bio->bio_cur_bytes = bio->bio_bytes;
			bio_put_locked(dev, bio, -ENODEV, done);
		} else {
			bio_end_locked(dev, bio, done);
		}
	}
	dev->pending_tail = NULL;
}

/* --- submission ------------------------------------------------------------- */

/*
 * Submission. With one CPU online (or blk.percpu=0) a list of checked bios
 * enters each device's queue under its queue lock, one lock hold per device
 * run (submit_direct). With several, the common path takes no lock that
 * every CPU shares: a CPU stages its bios in its own context on the device
 * (dev->sw[cpu], a lock only it and the mover take), then tries to become
 * the device's mover (dev->sw_mover, one atomic exchange). The mover takes
 * the queue lock, takes every context's staged bios, lets them enter the
 * queue in ticket order, dispatches, and looks again after letting go of
 * the mover flag; a CPU that finds another moving leaves its bios to it and
 * returns at once. So the queue lock, the device's dispatch side, is the
 * one shared point, taken by one submitting CPU at a time.
 *
 * No staged bio is forgotten: the stager publishes its bios (context lock
 * release), then a full barrier, then the exchange; the mover stores 0 to
 * the flag, then a full barrier, then reads every context. Either the
 * stager's exchange sees 0 (it moves) or the mover's reads see its bios.
 *
 * Order: a ticket (dev->sw_ticket, taken with IRQs masked just before
 * staging) orders the runs of bios, and the mover merges the contexts by
 * ticket, so one thread's bios enter the queue in the order it submitted
 * them even if it moved to another CPU in between (its later run has the
 * larger ticket and was staged after the earlier one).
 */
static void submit_direct(struct bio *head)
{
	struct blk_done done = BLK_DONE_INIT;
	struct blkdev *cur = NULL;
	irqflags_t f = 0;

	while (head) {
		struct bio *bio = head;
		head = bio->bio_next;
		if (bio->bio_dev != cur) {
			if (cur) {
				bool kick = blk_dispatch_locked(cur, &done);
				blk_unlock(cur, f);
				if (kick)
					blk_notify(cur);
			}
			cur = bio->bio_dev;
			f = blk_lock(cur);
		}
		start_bio_locked(cur, bio, &done);
	}
	if (cur) {
		bool kick = blk_dispatch_locked(cur, &done);
		blk_unlock(cur, f);
		if (kick)
			blk_notify(cur);
	}
	blk_end_done(&done);
}

/* Stages the run head..tail (one device's bios) in this CPU's context. */
static void sw_stage(struct blkdev *dev, struct bio *head, struct bio *tail)
{
	irqflags_t f = irq_save(); /* on this CPU from the ticket to the push */
	struct blk_sw_ctx *c = &dev->sw[cpu_id()];
	uint64_t ticket = __atomic_fetch_add(&dev->sw_ticket, 1, __ATOMIC_RELAXED);

	for (struct bio *b = head; b; b = b->bio_next)
		b->bio_start_ns = ticket;
	irqflags_t g = spin_lock_irqsave(&c->lock);
	if (c->tail)
		c->tail->bio_next = head;
	else
		__atomic_store_n(&c->head, head, __ATOMIC_RELAXED); /* read unlocked by sw_staged */
	c->tail = tail;
	spin_unlock_irqrestore(&c->lock, g);
	irq_restore(f);
}

/* True if some context holds staged bios (a racy look: see "Submission"). */
static bool sw_staged(struct blkdev *dev)
{
	for (unsigned int c = 0; c < CPU_MAX; c++) {
		if (__atomic_load_n(&dev->sw[c].head, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

/* The mover: every staged bio into the queue, oldest ticket first. Queue lock held. */
static void sw_move_locked(struct blkdev *dev, struct blk_done *done)
{
	struct bio *list[CPU_MAX];
	unsigned int n = 0;

	for (unsigned int c = 0; c < CPU_MAX; c++) {
		struct blk_sw_ctx *x = &dev->sw[c];
		if (!__atomic_load_n(&x->head, __ATOMIC_RELAXED))
			continue;
		irqflags_t g = spin_lock_irqsave(&x->lock);
		list[n] = x->head;
		__atomic_store_n(&x->head, NULL, __ATOMIC_RELAXED);
		x->tail = NULL;
		spin_unlock_irqrestore(&x->lock, g);
		n += list[n] != NULL;
	}
	/* Merge by ticket: each list is already in ticket order. */
	for (;;) {
		unsigned int best = n;
		for (unsigned int i = 0; i < n; i++) {
			if (list[i] && (best == n || list[i]->bio_start_ns < list[best]->bio_start_ns))
				best = i;
		}
		if (best == n)
			break;
		struct bio *bio = list[best];
		list[best] = bio->bio_next;
		start_bio_locked(dev, bio, done);
	}
}

/*
 * The device's runner. The mover flag (dev->sw_mover) is more than the
 * submission's: whoever holds it runs the device, doing in one lock hold
 * the interrupt work left for it (dev->irq_pending), the staged bios and
 * the dispatch. An interrupt (blk_irq_work) counts itself in irq_pending
 * and tries for the flag like a stager: if a submitting CPU holds it, the
 * interrupt returns at once and that CPU drains the rings before it lets
 * go. So neither an interrupt nor a submitter ever spins on the queue lock
 * behind the other; under emulation the spinning vCPU took a host CPU from
 * the very vCPU it waited for and from QEMU's I/O threads, and two vCPUs
 * did less than one (docs/interface.md, CPUs). The queue lock stays, for
 * the deadline timer, polled bios and the statistics, and as the one lock
 * of the driver's rings; its holder is then almost always the runner.
 *
 * Nothing is left behind: a producer (stager or interrupt) publishes its
 * work, then a full barrier, then the exchange; the runner stores 0 to the
 * flag, then a full barrier, then looks at both kinds of work. Either the
 * producer's exchange sees 0 (it runs) or the runner's look sees its work.
 * The interrupt's own acknowledgement at the transport happened before its
 * count (driver, then blk_irq_work), so a completion the runner misses in
 * this pass raises a new interrupt.
 *
 * IRQs are masked while the flag is held: a runner preempted there would
 * leave everyone's work waiting for it; and an interrupt on the runner's
 * own CPU, which would only find the flag taken, is kept for the next pass.
 * Bios that ended are ended (end_io) after each pass, flag let go.
 */
static void dev_run(struct blkdev *dev)
{
	irqflags_t irqs = irq_save();

	for (;;) {
		struct blk_done done = BLK_DONE_INIT;

		/* Our work before the flag: pairs with the barrier after the runner lets go. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_exchange_n(&dev->sw_mover, 1, __ATOMIC_ACQUIRE)) {
			__atomic_fetch_add(&dev->sw_handoffs, 1, __ATOMIC_RELAXED);
			break; /* the runner takes it */
		}
		irqflags_t f = blk_lock(dev);
		uint32_t nirqs = __atomic_exchange_n(&dev->irq_pending, 0, __ATOMIC_RELAXED);
		if (nirqs)
			dev->ops->irq_work(dev->drv, nirqs, &done); /* frees ring room first */
		dev->sw_runs++;
		sw_move_locked(dev, &done);
		bool kick = blk_dispatch_locked(dev, &done);
		blk_unlock(dev, f);
		if (kick)
			blk_notify(dev);
		__atomic_store_n(&dev->sw_mover, 0, __ATOMIC_RELEASE);
		/* The flag's release before the look: pairs with the producers' barrier above. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		blk_end_done(&done);
		if (!sw_staged(dev) && !__atomic_load_n(&dev->irq_pending, __ATOMIC_RELAXED))
			break;
	}
	irq_restore(irqs);
}

void blk_irq_work(struct blkdev *dev)
{
	/* Published before dev_run's barrier and exchange (see "The device's runner"). */
	__atomic_fetch_add(&dev->irq_pending, 1, __ATOMIC_RELAXED);
	dev_run(dev);
}

/* Queues a list of checked bios (linked by bio_next): see "Submission". */
void blk_submit_list(struct bio *head)
{
	if (cpu_count() == 1 || !blk_param_percpu) {
		submit_direct(head);
		return;
	}
	while (head) {
		struct blkdev *dev = head->bio_dev;
		struct bio *tail = head;
		while (tail->bio_next && tail->bio_next->bio_dev == dev)
			tail = tail->bio_next;
		struct bio *next = tail->bio_next;
		tail->bio_next = NULL;
		sw_stage(dev, head, tail);
		dev_run(dev);
		head = next;
	}
}

void blk_start_bio_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done)
{
	start_bio_locked(dev, bio, done);
}

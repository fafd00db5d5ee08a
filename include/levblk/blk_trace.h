/*
 * The block layer's event trace: a fixed-size ring of what happened to
 * requests, for a host script to turn into a timeline (tools/blk-trace;
 * docs/interface.md, "Tracing").
 *
 * With blk.trace=1 the layer records, for every disk, each request made
 * (QUEUE), each bio piece merged into one (MERGE), each hand-over to the
 * driver (DISPATCH), each return from it (COMPLETE, with its status), each
 * return to the queue (REQUEUE: a retry after an error, or a request taken
 * back by a reset) and each deadline passed (TIMEOUT). With blk.trace=0
 * (the default) nothing is recorded and the cost is one predictable branch
 * per event site.
 *
 * The ring keeps the last BLK_TRACE_EVENTS events of all disks; older ones
 * are overwritten (and counted as dropped). Every function here may be
 * called from any context.
 */
#ifndef LEVBLK_BLK_TRACE_H
#define LEVBLK_BLK_TRACE_H

#include <stdbool.h>
#include <stdint.h>

struct blkdev;

#define BLK_TRACE_EVENTS 4096u

enum blk_trace_ev {
	BLK_TRACE_QUEUE = 0,	/* a request was made for a bio piece (or a flush) */
	BLK_TRACE_MERGE = 1,	/* a bio piece joined a queued request (its range now) */
	BLK_TRACE_DISPATCH = 2, /* handed to the driver */
	BLK_TRACE_COMPLETE = 3, /* back from the driver, with status */
	BLK_TRACE_REQUEUE = 4,	/* back in the queue to be dispatched again */
	BLK_TRACE_TIMEOUT = 5,	/* found past its deadline */
	BLK_TRACE_EV_COUNT
};

struct blk_trace_event {
	uint64_t ns;		   /* clock_ns() of the queue lock hold it happened in */
	uint64_t sector;	   /* the request's first 512-byte sector (0: flush) */
	const struct blkdev *dev;  /* the disk */
	uint32_t sectors;	   /* the request's length in 512-byte sectors */
	uint32_t tag;		   /* the request's tag (reused once it completes) */
	int32_t status;		   /* COMPLETE: 0 or a negated errno; else 0 */
	uint8_t op;		   /* enum bio_op */
	uint8_t ev;		   /* enum blk_trace_ev */
};

/* True when blk.trace=1: events are being recorded. */
bool blk_trace_enabled(void);

/* Empties the ring and zeroes the dropped count. */
void blk_trace_clear(void);
/*
 * Copies up to max events, oldest first, into out; returns how many.
 * *dropped (if not NULL): events overwritten since the last clear.
 */
unsigned int blk_trace_read(struct blk_trace_event *out, unsigned int max, uint64_t *dropped);
/* "queue", "merge", ... ("?" outside the enum). */
const char *blk_trace_ev_name(unsigned int ev);
/*
 * Prints the ring, oldest first, as TRACE lines (docs/interface.md,
 * "Tracing"), then a `TRACE_END events=N dropped=D` line; thread context
 * (it prints a lot).
 */
void blk_trace_dump(void);

#endif

/*
 * Private to the block core: the event sites of the trace ring
 * (levblk/blk_trace.h). Each site costs one load and a branch the CPU
 * predicts when blk.trace=0; the recording itself is out of line.
 */
#ifndef LEVBLK_BLK_TRACE_PRIVATE_H
#define LEVBLK_BLK_TRACE_PRIVATE_H

#include <levblk/blk_trace.h>
#include "blk_params.h"

struct blkdev;
struct request;

/* Records ev for rq. Queue lock of dev held (its lock hold's time is the event's). */
void blk_trace_rq_locked(struct blkdev *dev, const struct request *rq, enum blk_trace_ev ev,
			 int status);

static inline void blk_trace_locked(struct blkdev *dev, const struct request *rq,
				    enum blk_trace_ev ev, int status)
{
	if (__builtin_expect(blk_param_trace != 0, 0))
		blk_trace_rq_locked(dev, rq, ev, status);
}

#endif

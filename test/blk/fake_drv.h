/*
 * A fake block driver for host tests of the block core: a RAM disk behind
 * a "ring" of settable capacity. queue_rq records each request and takes a
 * snapshot of its wire view; the test completes requests when it likes
 * (fake_complete), and the data moves at that moment, so ordering bugs show
 * up as wrong data. Sectors can be made to fail, always or a few times.
 */
#ifndef LEVBLK_TEST_FAKE_DRV_H
#define LEVBLK_TEST_FAKE_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include "blk/blk_driver.h"

#define FAKE_MAX_LOG 4096
#define FAKE_MAX_BAD 8

struct fake_rq_log {
	struct request *rq;
	enum bio_op op;
	uint64_t sector;
	uint32_t sectors, nsegs, bytes;
	uint64_t seq;	   /* dispatch order */
	uint32_t notifies; /* doorbells rung before this request was queued */
	bool last;	   /* the core said no other request follows it in its run */
};

struct fake_drv {
	struct blkdev *dev;
	uint8_t *disk;
	uint64_t disk_bytes;
	uint32_t capacity; /* requests the "ring" holds at once */
	uint32_t in_ring;
	struct fake_rq_log log[FAKE_MAX_LOG]; /* every queue_rq that succeeded */
	uint32_t nlog;
	uint32_t notifies;
	uint32_t max_nsegs_seen;
	/* When set: called with every segment queue_rq puts on the "wire". */
	void (*seg_seen)(void *ctx, const void *va, uint32_t len);
	void *seg_seen_ctx;
	struct {
		uint64_t sector;
		int fails_left; /* -1: always */
	} bad[FAKE_MAX_BAD];
	uint32_t nbad;
	/* The timeout operation: calls, the request it was given, and whether it "resets". */
	uint32_t timeouts;
	struct request *timeout_rq;
	bool reset_on_timeout;
	/* Requests a fake_complete_irq "interrupt" finished, for the core's irq_work. */
	struct request *irq_rqs[FAKE_MAX_LOG];
	uint32_t irq_nrqs;
	uint32_t irq_works; /* irq_work calls, and ... */
	uint32_t irq_seen;  /* ... the interrupts they were given in all */
};

/* Makes a device: capacity in 512-byte sectors, lbs, limits, flags. */
struct fake_drv *fake_create(uint64_t capacity, uint32_t lbs, uint32_t max_segs,
			     uint32_t max_seg_bytes, uint32_t max_sectors, uint32_t nr_requests,
			     uint32_t ring_capacity, bool volatile_cache, bool ro);
void fake_destroy(struct fake_drv *fd);
/* Requests currently in the ring, oldest dispatch first: returns the log index. */
int fake_inflight_index(struct fake_drv *fd, uint32_t nth);
/* Completes the log entry's request with status (data moves on success). */
void fake_complete(struct fake_drv *fd, int log_idx, int status);
/* Completes every in-flight request, oldest first, until none is left. */
void fake_complete_all(struct fake_drv *fd);
/*
 * Completes up to n in-flight requests in one "interrupt" (IRQs masked): the
 * data moves, then blk_irq_work, whose irq_work (now, or in the pass of the
 * CPU that runs the device) ends them in one lock hold.
 */
void fake_complete_irq(struct fake_drv *fd, uint32_t n);
void fake_add_bad(struct fake_drv *fd, uint64_t sector, int times);

#endif

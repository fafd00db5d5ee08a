/*
 * Private to the block core (src/blk/blk_*.c, elevator.c): the request, the
 * per-device queue, and the elevator's state. Drivers use blk_driver.h.
 */
#ifndef LEVBLK_BLK_QUEUE_H
#define LEVBLK_BLK_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/kern/timer.h>
#include "blk_bounce.h"
#include "blk_driver.h"
#include "blk_list.h"

/*
 * Appends bio to a singly linked FIFO of bios (linked by bio_next; head and
 * tail both NULL when empty): the plug, the parked, the ended and the
 * resubmitted lists. The caller holds whatever guards the list.
 */
static inline void bio_fifo_push(struct bio **head, struct bio **tail, struct bio *bio)
{
	bio->bio_next = NULL;
	if (*tail)
		(*tail)->bio_next = bio;
	else
		*head = bio;
	*tail = bio;
}

/* Elevator directions. */
enum { ELV_READ = 0, ELV_WRITE = 1, ELV_DIRS = 2 };

/* bio_stage: a bio's way through the queue. */
enum {
	BIO_STAGE_IDLE = 0,	 /* never submitted (bio_init_* zeroes it) */
	BIO_STAGE_ACCEPTED = 1,	 /* passed the checks: in a plug or entering the queue */
	BIO_STAGE_PREFLUSH = 2,	 /* waits for a flush before its data is placed */
	BIO_STAGE_DATA = 3,	 /* data placed into requests (or waiting to be) */
	BIO_STAGE_POSTFLUSH = 4, /* FUA: data done, waits for the flush after it */
	BIO_STAGE_ENDED = 5,	 /* end_io called or about to be: may be submitted again */
};

/*
 * One bio piece inside a request: a contiguous byte range of one bio. Its
 * data starts in the bio's segment `seg` at byte `off`; or, for a piece
 * carried by a bounce buffer (blk_bounce.h), seg is BLK_PART_BOUNCED and
 * off the buffer's slot in the device's pool, and the data starts there.
 * 32 bytes: every part index on the hot path is a shift.
 */
struct blk_part {
	struct bio *bio;
	uint64_t sector; /* 512-byte sector of the first byte */
	uint32_t bytes;	 /* data bytes (DISCARD/WZ: the range in bytes, no data) */
	uint32_t seg;	 /* first bio segment, or BLK_PART_BOUNCED ... */
	uint32_t off;	 /* ... and byte offset in it, or the bounce slot */
	uint32_t nsegs;	 /* data segments it takes on the wire */
};
#define BLK_PART_BOUNCED UINT32_MAX

enum rq_state {
	RQ_FREE = 0,
	RQ_QUEUED,   /* in the elevator (current epoch) */
	RQ_HELD,     /* created after a pending flush: waits for its epoch */
	RQ_BARRIER,  /* a flush waiting for everything before it */
	RQ_REQUEUE,  /* to be dispatched before anything else (ring full, retry) */
	RQ_INFLIGHT, /* owned by the driver */
};

struct request {
	struct blk_list rq_sort;   /* elevator sorted list / held / barrier / requeue / free */
	struct blk_list rq_fifo;   /* elevator FIFO of its direction (QUEUED only) */
	struct blk_list rq_active; /* in-flight list, dispatch order (INFLIGHT only) */
	struct blkdev *rq_dev;
	uint32_t rq_tag;
	uint8_t rq_op;
	uint8_t rq_state;
	bool rq_isolate;     /* retrying a failed merge one part at a time */
	uint8_t rq_attempts; /* dispatches after an error of the part(s) on the wire */
	uint8_t rq_timeouts; /* resets it was taken back by without completing (blk_timeout.c) */
	uint64_t rq_epoch;   /* flush epoch it belongs to */
	uint64_t rq_sector;  /* whole request: first 512-byte sector ... */
	uint32_t rq_sectors; /* ... and length in 512-byte sectors */
	uint32_t rq_nsegs;   /* whole request: data segments */
	uint32_t rq_nparts;
	uint32_t rq_nbounce;	      /* bounced parts; 0 whenever the request is free */
	uint32_t rq_view;	      /* rq_isolate: the part on the wire */
	uint64_t rq_fifo_deadline_ns; /* elevator expiry */
	uint64_t rq_deadline_ns;      /* completion deadline (blk.timeout_ms) */
	struct blk_part *rq_parts;    /* BLK_MAX_SEGS entries, preallocated */
};

/* Deadline elevator state; see elevator.c for its invariants. */
struct blk_elv {
	struct blk_list sorted[ELV_DIRS]; /* ascending rq_sector */
	struct blk_list fifo[ELV_DIRS];	  /* arrival order */
	uint32_t count[ELV_DIRS];
	uint64_t pos[ELV_DIRS]; /* sweep position: end of the last dispatched */
	int batch_dir;		/* direction of the current batch, -1 none */
	uint32_t batch_count;	/* requests dispatched in this batch */
	uint32_t starved;	/* read batches chosen while writes waited */
	uint64_t read_expire_ns, write_expire_ns;
};

#define ELV_READ_EXPIRE_NS  (500ull * 1000000ull)  /* 500 ms */
#define ELV_WRITE_EXPIRE_NS (5000ull * 1000000ull) /* 5 s */
#define ELV_FIFO_BATCH	    16u /* requests per batch before directions are weighed again */
#define ELV_WRITES_STARVED  2u	/* read batches allowed while writes wait */

/*
 * A CPU's submission context on one disk (blk_core.c, "Submission"): bios
 * that CPU submitted, waiting for whichever CPU moves staged bios into the
 * queue. Its lock is taken by its own CPU (to stage) and by that mover (to
 * take the list), never by every CPU. While staged, a bio's bio_start_ns
 * holds its staging ticket (the queue overwrites it on entry).
 */
struct blk_sw_ctx {
	spinlock_t lock;
	struct bio *head, *tail; /* FIFO by bio_next; tickets never decrease along it */
} __attribute__((aligned(64)));

struct blkdev {
	spinlock_t lock; /* the queue lock: see blk_driver.h */
	struct blkdev_info info;
	/*
	 * The disk whose queue serves this device: itself for a disk. A
	 * partition (blk_part.c) is a view: of its own it has only info (name,
	 * capacity, start), whole, and nothing below is used; bios on it move
	 * to whole at submission.
	 */
	struct blkdev *whole;
	struct blkdev *parts; /* a disk: its partitions, consecutive, ascending start */
	uint32_t nparts;
	const struct blk_driver_ops *ops;
	void *drv;
	bool broken;

	struct request *rqs;		 /* nr_requests, preallocated */
	struct dma_buf rq_mem, part_mem; /* where rqs and their part arrays live */
	struct blk_list free;		 /* RQ_FREE requests */
	struct blk_list held;		 /* RQ_HELD, creation order */
	struct blk_list barriers;	 /* RQ_BARRIER flushes, epoch order */
	struct blk_list requeue;	 /* RQ_REQUEUE, dispatch first */
	struct blk_list active;		 /* RQ_INFLIGHT, dispatch order */
	struct ktimer watch;		 /* the oldest RQ_INFLIGHT's deadline (blk_timeout.c) */
	struct blk_elv elv;
	uint64_t epoch_head;			 /* requests of this epoch may be dispatched */
	uint64_t epoch_tail;			 /* epoch given to new data requests */
	struct bio *pending_head, *pending_tail; /* bios waiting for a free request */
	/*
	 * The time of the current lock hold (clock_ns), 0 until someone needs
	 * it; blk_unlock clears it. New requests take their FIFO deadline from
	 * it, dispatch their timeout: one clock read per run instead of one per
	 * request, because under QEMU's TCG a counter read takes the emulator's
	 * global lock. A run lasts microseconds, far below any deadline.
	 */
	uint64_t run_ns;

	/*
	 * Segments of caller memory one request may carry: limits.max_segs, or
	 * 0 with blk.bounce=1, so that placement finds room for none and every
	 * piece takes the bounce path (no test of the mode on the way).
	 */
	uint32_t direct_segs;
	struct blk_bounce bounce;

	struct blk_counters ctr;
	struct blk_latency *lat; /* a disk's own (blk_dev.c), under the queue lock */

	/* Per-CPU submission (blk_core.c, "Submission"); a disk's only, unused on one CPU. */
	struct blk_sw_ctx sw[CPU_MAX];
	/* 1 while a CPU runs the device: moves staged bios, does interrupt work (atomic) */
	uint32_t sw_mover;
	/* Interrupts taken and not yet handed to the driver's irq_work (atomic; blk_core.c) */
	uint32_t irq_pending;
	uint64_t sw_ticket; /* the next staging ticket (atomic) */
	uint64_t sw_runs;   /* mover passes made, and ... */
	uint64_t sw_handoffs; /* ... stagings that left their bios to another CPU's pass */
};

/* elevator.c */
void elv_init(struct blk_elv *e);
void elv_add(struct blk_elv *e, struct request *rq);
void elv_resort(struct blk_elv *e, struct request *rq);
bool elv_empty(const struct blk_elv *e);
struct elv_pick {
	struct request *rq;
	int dir;
	bool new_batch;
};
struct request *elv_peek(struct blk_elv *e, uint64_t now_ns, struct elv_pick *pick);
void elv_take(struct blk_elv *e, const struct elv_pick *pick);
struct request *elv_next(struct blk_elv *e, uint64_t now_ns);
/*
 * The direction an op sorts and batches in: reads and identification one
 * way, everything that changes the disk the other (inline: every merge
 * attempt asks).
 */
static inline int elv_dir(uint8_t op)
{
	return (op == BIO_OP_READ || op == BIO_OP_GET_ID) ? ELV_READ : ELV_WRITE;
}

/* The latency histogram (blkdev.lat) a bio op counts in. */
static inline enum blk_lat_op blk_lat_op_of(uint8_t op)
{
	switch (op) {
	case BIO_OP_READ:
		return BLK_LAT_READ;
	case BIO_OP_WRITE:
		return BLK_LAT_WRITE;
	case BIO_OP_FLUSH:
		return BLK_LAT_FLUSH;
	default:
		return BLK_LAT_OTHER;
	}
}

/* bio_check.c */
int blk_bio_check(const struct blkdev *dev, struct bio *bio);
/* 0 if [sector, +nsectors) is non-empty, whole logical blocks and inside the disk; else -EINVAL. */
int blk_check_range(const struct blkdev_info *info, uint64_t sector, uint64_t nsectors);

/* bio_inflight.c */
/*
 * Runs bio's end_io: the only way the layer ends a bio. Clears
 * bio_inflight and wakes bio_wait_inflight() waiters first, with IRQs
 * masked across all of it (src/blk/bio_inflight.c says why). No queue lock held.
 */
void bio_end_call(struct bio *bio);

/* blk_core.c: checked bios into the queue (plug.c, blk_submit.c). */
void blk_submit_list(struct bio *head);
/* blk_core.c, for bio_poll.c: a checked bio enters the queue. Queue lock held. */
void blk_start_bio_locked(struct blkdev *dev, struct bio *bio, struct blk_done *done);
/*
 * blk_core.c: while end_io callbacks run with IRQs masked (blk_end_done,
 * blk_end_ctx[cpu].depth > 0) a submitted bio is collected and submitted after them;
 * true if bio was taken so. Inline: every submit_bio asks.
 */
/*
 * A CPU's ending context: what blk_end_done keeps while it runs end_io
 * callbacks on that CPU (IRQs masked throughout, so the thread cannot move
 * to another CPU and nothing else on this CPU touches it). Per CPU because
 * endings on different CPUs are independent: each CPU's callbacks resubmit
 * into its own list. Cache-line aligned: no two CPUs write one line.
 */
struct blk_end_ctx {
	unsigned int depth;		     /* > 0 while this CPU runs end_io callbacks */
	struct bio *resubmit_head, *resubmit_tail; /* bios they submitted */
	struct blk_done later;			   /* bios that ended meanwhile */
} __attribute__((aligned(64)));
extern struct blk_end_ctx blk_end_ctx[CPU_MAX];

/*
 * blk.complete_ipi=1 (blk_remote_end.c): takes the bios of `list` that
 * another CPU online submitted off it, hands each to that CPU (which ends
 * it from its work SGI) and returns the rest. IRQs masked.
 */
extern uint64_t blk_param_complete_ipi;
struct bio *blk_remote_split(struct bio *list);
bool blk_resubmit_defer_slow(struct bio *bio);
static inline bool blk_resubmit_defer(struct bio *bio)
{
	/*
	 * With IRQs on, cpu_id() may be stale, but then no ending runs on this
	 * thread's CPU anyway: the slow path sees IRQs on and says no.
	 */
	return blk_end_ctx[cpu_id()].depth && blk_resubmit_defer_slow(bio);
}
/* blk_submit.c, for bio_poll.c: submit_bio's checks (true: accepted). */
bool blk_bio_accept(struct bio *bio);

/* blk_core.c: the driver gives back a request the device will never complete: first in line again */
void blk_unissue_locked(struct blkdev *dev, struct request *rq);

/* blk_timeout.c: the deadline timer's callback (blkdev.watch) */
void blk_timeout_fire(void *arg);
/*
 * The deadline check the timer makes, for a caller that spins with IRQs
 * masked (the timer cannot fire then): queue lock held. True when
 * blk_notify() is needed.
 */
bool blk_timeout_check_locked(struct blkdev *dev, struct blk_done *done);

/* plug.c */
/* Holds bio in the current thread's plug; false when there is none. */
bool blk_plug_add(struct bio *bio);
void blk_plug_flush_current(void);
/* Plug lists handed to the queues so far, and how many of those by the time bound. */
void blk_plug_stats(uint64_t *flushes, uint64_t *timeouts);

#endif

/*
 * The bio: the unit of block I/O that users submit.
 *
 * A bio names a device, a starting sector (always 512-byte units, whatever
 * the device's logical block size), an operation, flags, and the caller's
 * memory as an array of segments of any count and any (non-zero) lengths.
 * The block layer owns nothing: the caller keeps the bio, its segment array
 * and the buffers alive and untouched until end_io has run.
 *
 * Life of a bio:
 *   bio_init_rw(&b, dev, BIO_OP_WRITE, sector, segs, nsegs, my_end_io, my_ctx);
 *   submit_bio(&b);        never blocks, never refuses for lack of ring space
 *   ... my_end_io(&b) runs exactly once, b.bio_status is 0 or a negated errno
 *
 * Where end_io runs (read this before writing one):
 *   - usually in interrupt context, from the device's completion interrupt,
 *     with IRQs masked and no block-layer lock held;
 *   - for a bio that fails the checks below, or a flush on a device without
 *     a volatile cache, directly from submit_bio() in the submitter's context;
 *   - for a bio held in a plug, possibly from the scheduler tick's interrupt
 *     or from wherever its thread stops running.
 * In every case IRQs are masked while it runs (the layer masks them around
 * it: bio_wait_inflight relies on that). So end_io must not sleep, yield,
 * wait for a completion or take a mutex or rwlock; it may call complete(),
 * wake threads, kmalloc()/kfree() (levblk/kmalloc.h: they never sleep, and
 * kmalloc may return NULL), and submit_bio() (resubmitting is safe: no lock
 * is held when it runs). It must be short: other completions wait.
 *
 * A bio may be submitted again once its end_io has started (from end_io
 * itself, too); submitting one that has not ended yet is refused with a
 * console warning and changes nothing. Build bios with bio_init_*.
 *
 * Errors, through bio_status (docs/interface.md, "Errors seen by bio users"):
 *   -EINVAL      empty (no segments, a zero-length segment, no sectors),
 *                not a whole number of logical blocks, start not aligned to
 *                the logical block, past the end of the disk (or wrapping
 *                the 64-bit sector space); and a NULL end_io: then
 *                submit_bio() only sets bio_status (nothing reaches the
 *                device, nothing else happens)
 *   -EROFS       write, discard or write-zeroes on a read-only disk
 *   -EOPNOTSUPP  an op the device does not offer (or an unknown op)
 *   -EIO         the device reported an error (after blk.retries attempts)
 *   -ENODEV      no device, or the device was declared broken
 *   -ETIMEDOUT   the device did not complete it by its deadline
 *                (blk.timeout_ms), also after blk.retries device resets
 * Too many segments for one request is not an error: the bio is split, and
 * a logical block that lies in more segments than one request may carry is
 * copied through the layer's own buffers.
 */
#ifndef LEVBLK_BIO_H
#define LEVBLK_BIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <levblk/container_of.h>
#include <levblk/hal/clock.h>
#include <levblk/completion.h>

struct blkdev;

#define SECTOR_SHIFT 9u
#define SECTOR_SIZE  (1u << SECTOR_SHIFT) /* bytes in the unit of bio_sector */

/* Bytes of a device identification string (BIO_OP_GET_ID); not NUL-terminated when full. */
#define BIO_ID_BYTES 20u

enum bio_op {
	BIO_OP_READ = 0,
	BIO_OP_WRITE = 1,
	BIO_OP_FLUSH = 2,	 /* no data: makes completed writes durable */
	BIO_OP_DISCARD = 3,	 /* no data: bio_nsectors from bio_sector */
	BIO_OP_WRITE_ZEROES = 4, /* no data: bio_nsectors from bio_sector */
	BIO_OP_GET_ID = 5,	 /* reads BIO_ID_BYTES of identification into the segments */
	BIO_OP_COUNT
};

/* bio_flags */
#define BIO_FUA	     (1u << 0) /* write: durable when end_io runs (a write then a flush) */
#define BIO_PREFLUSH (1u << 1) /* write: earlier completed writes are made durable first */
#define BIO_SYNC     (1u << 2) /* someone waits for this one: never held in a plug */

struct bio_seg {
	void *va;     /* kernel virtual address of the caller's buffer */
	uint32_t len; /* bytes, > 0; any alignment */
};

struct bio;
typedef void (*bio_end_io_t)(struct bio *bio);

struct bio {
	/* Set by the caller (bio_init_* does it). */
	struct blkdev *bio_dev;
	uint64_t bio_sector;   /* first sector, 512-byte units */
	uint32_t bio_nsectors; /* DISCARD / WRITE_ZEROES only: length, 512-byte units */
	uint8_t bio_op;	       /* enum bio_op */
	uint32_t bio_flags;    /* BIO_FUA | BIO_PREFLUSH | BIO_SYNC */
	const struct bio_seg *bio_segs;
	uint32_t bio_nsegs;
	bio_end_io_t bio_end_io; /* must not be NULL; see "Where end_io runs" */
	void *bio_private;	 /* for end_io */
	int bio_status;		 /* 0 or a negated errno, valid when end_io runs */
	/*
	 * clock_ns() when the layer ended the bio, valid when end_io runs: the
	 * clock read of the queue lock hold that ended it (one per hold, shared
	 * with the layer's deadlines and latency histograms; blkdev.h), so
	 * end_io can time the bio
	 * without reading the clock itself (under QEMU's TCG each read takes
	 * the emulator's global lock).
	 */
	uint64_t bio_end_ns;

	/* Private to the block layer (src/blk): do not touch while submitted. */
	struct bio *bio_next;	/* plug list, pending list, completion list */
	uint32_t bio_refs;	/* fragments and flushes still outstanding, +1 while placing */
	uint32_t bio_cur_seg;	/* placement cursor: segment index ... */
	uint32_t bio_cur_off;	/* ... and byte offset in it */
	uint64_t bio_cur_bytes; /* bytes placed into requests so far */
	uint64_t bio_bytes;	/* total data bytes (after checks) */
	uint8_t bio_stage;	/* where in preflush -> data -> postflush it is */
	uint8_t bio_inflight;	/* submitted, end_io not yet returned (bio_wait_inflight) */
	uint8_t bio_waited;	/* a thread sleeps in bio_wait_inflight on it */
	uint8_t bio_cpu;	/* the CPU submit_bio ran on; BIO_CPU_ANY: end it where it ends */
	uint64_t bio_start_ns;	/* entered the queue (the lock hold's clock): latency histograms */
	struct bio_seg bio_seg1; /* bio_init_buf's one segment */
	/*
	 * The partition the caller named, while the bio travels on its disk
	 * (bio_dev, bio_sector moved there); put back before end_io. NULL: a disk.
	 */
	struct blkdev *bio_part;
};

#define BIO_CPU_ANY 0xffu

/* Fills a data bio (READ or WRITE) without allocating. */
static inline void bio_init_rw(struct bio *b, struct blkdev *dev, enum bio_op op, uint64_t sector,
			       const struct bio_seg *segs, uint32_t nsegs, bio_end_io_t end_io,
			       void *priv)
{
	*b = (struct bio){.bio_dev = dev,
			  .bio_sector = sector,
			  .bio_op = (uint8_t)op,
			  .bio_segs = segs,
			  .bio_nsegs = nsegs,
			  .bio_end_io = end_io,
			  .bio_private = priv};
}

/*
 * Fills a data bio over one buffer of len bytes, without allocating: the
 * segment lives in the bio itself (bio_seg1), so a bio made this way must
 * not be copied (the copy would point at the original's segment).
 */
static inline void bio_init_buf(struct bio *b, struct blkdev *dev, enum bio_op op, uint64_t sector,
				void *buf, uint32_t len, bio_end_io_t end_io, void *priv)
{
	*b = (struct bio){.bio_dev = dev,
			  .bio_sector = sector,
			  .bio_op = (uint8_t)op,
			  .bio_seg1 = {.va = buf, .len = len},
			  .bio_nsegs = 1,
			  .bio_end_io = end_io,
			  .bio_private = priv};
	b->bio_segs = &b->bio_seg1;
}

/* Fills a bio without data: FLUSH, or DISCARD / WRITE_ZEROES of nsectors from sector. */
static inline void bio_init_nodata(struct bio *b, struct blkdev *dev, enum bio_op op,
				   uint64_t sector, uint32_t nsectors, bio_end_io_t end_io,
				   void *priv)
{
	*b = (struct bio){.bio_dev = dev,
			  .bio_sector = sector,
			  .bio_nsectors = nsectors,
			  .bio_op = (uint8_t)op,
			  .bio_end_io = end_io,
			  .bio_private = priv};
}

/*
 * Submits a bio. Asynchronous: never sleeps, never refuses (a full ring
 * only makes the bio wait in the queue). Any context, including end_io and
 * other interrupt handlers. Errors in the bio arrive through end_io.
 */
void submit_bio(struct bio *bio);

/*
 * Submits a bio and sleeps until it has ended; returns its status.
 * Thread context only. It needs bio_end_io and bio_private for itself, so
 * the bio must come without an end_io (bio_init_*(..., NULL, NULL)): a bio
 * whose bio_end_io is set is refused with -EBUSY, not submitted, and left
 * untouched (its end_io is never called). On return bio_end_io and
 * bio_private are NULL again, so the bio may be waited on again.
 */
int submit_bio_wait(struct bio *bio);

/*
 * Submits a bio and spins until it has ended, finding its completion by
 * polling the device instead of waiting for its interrupt (the device's
 * interrupt is not taken for it; a device whose driver cannot poll is
 * waited on as by submit_bio_wait). Returns its status. The bio goes
 * through the queue like any other: same checks, splits, retries,
 * deadlines and counters. The same end_io rule as submit_bio_wait (a bio
 * with an end_io is refused with -EBUSY, untouched).
 *
 * Thread context only. It holds the device's queue lock with IRQs masked
 * while the bio is in flight: one bio at a time, for latency, never for
 * throughput (the benchmark's engine=sync). If the device is fenced with
 * the bio's request on it (a reset that could not be confirmed), the
 * device may still write the bio's buffers, so the call never returns.
 */
int submit_bio_poll(struct bio *bio);

/*
 * Waiting for a bio someone else submitted (a reader that finds its block
 * under readahead): sleeps until that bio's end_io has returned, and
 * returns the status it ended with (0 or a negated errno). A bio not in
 * flight (never submitted, or its end_io already returned) returns its
 * bio_status at once. If end_io resubmits the bio, the wait ends at the
 * first end all the same.
 *
 * Thread context only. The caller must know the bio's memory stays valid
 * until the call has looked at it (e.g. it belongs to a buffer the caller
 * holds); once the bio has ended the waiter never touches it again, so
 * end_io may free or reuse it. Not lost against the completion: the layer
 * marks the bio ended, wakes its waiters and runs end_io with IRQs masked,
 * so a woken waiter runs only after end_io has returned, and a waiter that
 * arrives later sees the bio ended (src/blk/bio_inflight.c).
 */
int bio_wait_inflight(struct bio *bio);
/* True from submit_bio() until the bio's end_io has returned. Any context. */
static inline bool bio_is_inflight(const struct bio *bio)
{
	return __atomic_load_n(&bio->bio_inflight, __ATOMIC_RELAXED) != 0;
}

/*
 * Batches: submit many bios, then wait for all of them.
 *
 *   struct bio_batch batch;
 *   bio_batch_init(&batch);
 *   for (...) { bio_init_buf(&b[i], dev, BIO_OP_READ, s, buf, len, NULL, NULL);
 *               bio_batch_add(&batch, &b[i]); }
 *   int err = bio_batch_wait(&batch);   0, or the first error a bio ended with
 *
 * bio_batch_add() submits the bio with the batch's own end_io, so, as for
 * submit_bio_wait, a bio that already has an end_io is refused (-EBUSY, not
 * submitted, not counted). Each bio's bio_status is valid after the wait,
 * and its bio_end_io and bio_private are NULL again (it may be added again).
 * "First error" is the first bio to end with an error, in completion order
 * (which may differ from submission order); later errors do not replace it.
 * A batch of no bios returns 0 at once. The batch may live on the waiter's
 * stack (the last end_io's complete() is its last use of it) and may be
 * used again after bio_batch_wait() returned. Bios added from several
 * threads to one batch are fine; only one thread waits.
 *
 * bio_batch_add: any context that may call submit_bio; bio_batch_wait:
 * thread context (it sleeps), and it first hands the thread's plug to the
 * queue so none of the batch is held back.
 */
struct bio_batch {
	/* Private: pending and status change atomically (end_io runs on any CPU). */
	unsigned int pending; /* bios not ended yet, + 1 until bio_batch_wait */
	unsigned int count;   /* bios added since init */
	int status;	      /* first error, or 0 */
	struct completion done; /* completed when pending reaches 0 */
};

void bio_batch_init(struct bio_batch *batch);
int bio_batch_add(struct bio_batch *batch, struct bio *bio);
int bio_batch_wait(struct bio_batch *batch);

/*
 * Plugging: bios a thread submits between blk_start_plug() and
 * blk_finish_plug() are held back and handed to their devices together, so
 * adjacent ones merge into few requests and the device is kicked once.
 *
 * A plug never holds I/O for long. Its bios are handed to the queue
 *   - by blk_finish_plug(), and before submit_bio_wait() sleeps;
 *   - when the thread stops running: it blocks, sleeps, yields or is
 *     preempted (the scheduler's hook, like Linux's sched_submit_work);
 *   - when the plug holds BLK_PLUG_MAX_BIOS bios;
 *   - at a submission that finds the oldest held bio older than
 *     BLK_PLUG_TIMEOUT_NS; the age is looked at every BLK_PLUG_CLOCK_EVERY
 *     submissions (a clock read takes QEMU's global lock under TCG);
 *   - at the first scheduler tick (every SCHED_SLICE_NS, 10 ms) that finds
 *     the oldest held bio older than BLK_PLUG_TIMEOUT_NS.
 * So a forgotten blk_finish_plug() delays a held bio by at most
 * BLK_PLUG_TIMEOUT_NS + SCHED_SLICE_NS (a thread that plugs, then computes
 * without submitting, blocking or yielding), and by at most
 * BLK_PLUG_TIMEOUT_NS + BLK_PLUG_CLOCK_EVERY - 1 further submissions while
 * the thread keeps submitting. No timer is armed
 * per plug: reprogramming the timer costs more than the I/O under QEMU.
 *
 * The plug lives on the caller's stack; thread context only; one plug per
 * thread at a time (a nested blk_start_plug() is ignored, like Linux).
 */
#define BLK_PLUG_TIMEOUT_NS  (100u * 1000u) /* 100 µs */
#define BLK_PLUG_MAX_BIOS    64u
#define BLK_PLUG_CLOCK_EVERY 8u /* submissions between two looks at the plug's age */

struct blk_plug {
	/* Private to the block layer. */
	struct bio *head, *tail; /* held bios in submission order */
	uint32_t count;
	bool active;	   /* the thread's plug (not a nested one) */
	uint64_t first_ns; /* clock_ns() when the oldest held bio arrived */
};

void blk_start_plug(struct blk_plug *plug);
void blk_finish_plug(struct blk_plug *plug);

#endif

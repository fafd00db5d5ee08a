/*
 * The interface between the block core (bio checks, request queue,
 * elevator; blk_core.c, elevator.c) and a block device driver
 * (virtio_blk.c, or the fake driver of the host tests).
 *
 * The core turns bios into requests and hands them to the driver one at a
 * time with queue_rq(), saying which is the last of a run; the driver
 * turns each into whatever the device wants
 * (for virtio-blk: one descriptor chain) and reports each completion back
 * with blk_complete_locked(). The core knows nothing of virtio or of the
 * emulator behind it (when to ring the doorbell, whether to idle-poll for a
 * completion: the driver's choices); the driver knows nothing of merging,
 * sorting, retries or plugging.
 *
 * Locking. Each device has one lock, its queue lock, taken with IRQs masked
 * (blk_lock / blk_unlock). It protects the request pool, the elevator, the
 * pending-bio list, the counters, and (by convention) the driver's ring: the
 * driver calls its virtqueue only with this lock held, except for the
 * doorbell write in notify(). Taken from threads (submit), the scheduler's
 * plug hook (plug.c), the core's deadline timer (blk_timeout.c) and the
 * driver's interrupt handler.
 *
 * Driver shape:
 *   submit:     core: lock, place bios, queue_rq()* until -ENOSPC,
 *               kick_prepare(), unlock, notify() if it said so
 *   interrupt:  driver: ack transport; blk_irq_work(). The core then calls
 *               irq_work() under the lock (here or on the CPU that runs the
 *               device), which drains the ring calling blk_complete_locked()
 *               per request; the core dispatches, rings, ends the bios.
 */
#ifndef LEVBLK_BLK_DRIVER_H
#define LEVBLK_BLK_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/hal/cpu.h>

struct request;
struct blk_done;

/* What a driver's timeout operation did (blk_timeout.c has the whole story). */
enum blk_timeout_ret {
	/*
	 * Handled: the requests it found complete were completed (a lost
	 * interrupt), or the device was given up on (blk_mark_broken_locked).
	 */
	BLK_TIMEOUT_DONE,
	/*
	 * The device was reset, the reset confirmed, and it is set up again: it
	 * holds none of the in-flight requests any more. The core takes them
	 * all back to send again, or ends those stuck too often -ETIMEDOUT.
	 */
	BLK_TIMEOUT_RESET,
};

struct blk_driver_ops {
	/*
	 * Puts rq on the device. Queue lock held. `last`: no other request
	 * follows rq in this dispatch run, so kick_prepare() and the doorbell
	 * come right after; a driver that wants a doorbell earlier (between two
	 * requests of a run) rings it itself, under the lock, counting it with
	 * blk_count_kick_locked. Returns 0 (the driver owns rq until it calls
	 * blk_complete_locked), -ENOSPC (no room now: the core keeps rq first in
	 * line and calls again after a completion), or another negated errno
	 * (-ENODEV, -EIO: the core ends rq with it).
	 */
	int (*queue_rq)(void *drv, struct request *rq, bool last);
	/* After a run of queue_rq: queue lock held; true if notify() is needed. */
	bool (*kick_prepare)(void *drv);
	/*
	 * The doorbell. Called without the queue lock (an MMIO write can be
	 * slow under emulation) or, by a polled bio (bio_poll.c), with it; so
	 * it must not take the lock itself.
	 */
	void (*notify)(void *drv);
	/* Optional: the ring's descriptors (ring_* fields of out). Queue lock held. */
	void (*ring_state)(void *drv, struct blk_resources *out);
	/*
	 * Optional: how the device is attached, as key=value words for people
	 * (blkdev_describe). Any context, no lock: reads only what probing
	 * settled. Writes at most len bytes with the NUL, as snprintf.
	 */
	void (*describe)(void *drv, char *buf, size_t len);
	/* Optional: blkdev_irq_report's words. Any context, no lock; as describe. */
	void (*irq_report)(void *drv, char *buf, size_t len);
	/*
	 * Optional: rq, the oldest request the driver holds, is past its
	 * deadline (blk.timeout_ms; the core's timer, blk_timeout.c). Queue
	 * lock held, timer interrupt context. The driver finds out why and
	 * returns what it did (enum blk_timeout_ret). Without it deadlines are
	 * not watched.
	 */
	enum blk_timeout_ret (*timeout)(void *drv, struct request *rq, struct blk_done *done);
	/*
	 * Optional: completions without the interrupt, for submit_bio_poll
	 * (bio_poll.c), which spins on it with the queue lock held and IRQs
	 * masked. Completes what the device finished (blk_complete_locked) and
	 * returns how many; a broken device is dealt with as the interrupt
	 * would. While the caller polls, the driver may keep the device from
	 * interrupting; `last` says the caller stops after this call: the
	 * driver then quiets whatever the device raised meanwhile (IRQs come
	 * back on right after) and hands completions back to its interrupt.
	 */
	unsigned int (*poll)(void *drv, bool last, struct blk_done *done);
	/*
	 * The work of `nirqs` interrupts (at least 1) the driver announced with
	 * blk_irq_work(): count them, drain the rings (blk_complete_locked per
	 * request), deal with a device that misbehaved. Queue lock held, IRQs
	 * masked, on whichever CPU runs the device at the time (not always the
	 * one that took the interrupts); the core dispatches afterwards.
	 */
	void (*irq_work)(void *drv, unsigned int nirqs, struct blk_done *done);
};

/* Bios ended under the lock, waiting for their end_io outside it. */
struct blk_done {
	struct bio *head, *tail;
};
#define BLK_DONE_INIT                                                                              \
	{                                                                                          \
		NULL, NULL                                                                         \
	}

/*
 * The largest logical block and capacity the layer serves. Capacities stop
 * where a disk's size in bytes would no longer fit 63 bits (QEMU's own
 * limit), so byte offsets and sector sums never wrap anywhere above.
 */
#define BLK_MAX_LBS	 (64u << 10)
#define BLK_MAX_CAPACITY (UINT64_MAX >> (SECTOR_SHIFT + 1))

/*
 * Why the layer cannot serve a disk of this geometry (one phrase), or NULL
 * when it can: a logical block of 512 to BLK_MAX_LBS bytes, a power of two;
 * at least one block; a capacity that is a whole number of blocks and at most
 * BLK_MAX_CAPACITY sectors. A driver refuses such a disk (docs/interface.md,
 * "Segments and device limits"); blk_dev_register refuses it too.
 */
const char *blk_geometry_problem(uint64_t capacity, uint32_t lbs);

/*
 * Hands out the next device name (vda, vdb, ..., vdz, vdaa, ...) without
 * registering a device: a driver calls it for a disk it refuses or cannot
 * take, so that the disks after it keep the names their position gives them.
 */
void blk_dev_take_name(char name[BLKDEV_NAME_MAX]);

/*
 * Registers a device: fills info->name (the next name, see blk_dev_take_name),
 * preallocates info->limits.nr_requests requests with their bookkeeping, and
 * makes it visible to blkdev_find(). Thread context, initialisation only.
 * Returns NULL when out of memory or device slots.
 * The limits are clamped to what the core supports (BLK_MAX_SEGS ...).
 */
struct blkdev *blk_dev_register(struct blkdev_info *info, const struct blk_driver_ops *ops,
				void *drv);

#define BLK_MAX_SEGS	 128u /* data segments per request the core will build */
#define BLK_MAX_REQUESTS 128u /* requests per device */

irqflags_t blk_lock(struct blkdev *dev);
void blk_unlock(struct blkdev *dev, irqflags_t flags);
bool blk_locked(const struct blkdev *dev);

/*
 * The driver is done with rq: status 0, -EIO (the device said so; the core
 * retries), -EOPNOTSUPP (the device refused the op), -ENODEV (broken).
 * Queue lock held. Bios that end are added to *done: call blk_end_done()
 * after unlocking.
 */
void blk_complete_locked(struct blkdev *dev, struct request *rq, int status, struct blk_done *done);
/*
 * Hands queued requests to the driver. Queue lock held. True: the driver
 * asked for a doorbell (counted as a kick here): call blk_notify() after unlocking.
 */
bool blk_dispatch_locked(struct blkdev *dev, struct blk_done *done);
/* Rings the doorbell blk_dispatch_locked() asked for. Queue lock NOT held. */
void blk_notify(struct blkdev *dev);
/*
 * Runs end_io for every bio in *done, IRQs masked. No lock held. Called while
 * another call runs end_io callbacks (from one of them, or from what they
 * submit), it leaves the bios to that outer call: callbacks never nest.
 */
void blk_end_done(struct blk_done *done);
/* Counts n interrupts taken for the device. Queue lock held. */
void blk_count_irq_locked(struct blkdev *dev, unsigned int n);
/*
 * Interrupt context, after the driver acknowledged its transport: the
 * device has completions (or news) for irq_work. If no CPU runs the device,
 * this one does (queue lock, irq_work, dispatch, doorbell, end_io); if one
 * does, the work is left to it and this returns at once, so an interrupt
 * never spins on the queue lock behind a submitting CPU (blk_core.c, "The
 * device's runner").
 */
void blk_irq_work(struct blkdev *dev);
/* Declares the device broken: queued and future bios end -ENODEV. Queue lock held. */
void blk_mark_broken_locked(struct blkdev *dev, struct blk_done *done);
/*
 * The device may touch the buffers of the requests it holds for good (a
 * reset that was not confirmed): those stay in flight, quarantined. But a
 * request whose buffers are all the layer's own (every data part in a bounce
 * buffer, as with blk.bounce=1, or no data: a flush, a discard's range)
 * puts no caller memory at risk: its bios end now with `status`, and only
 * the layer's memory (the request, its bounce buffers) stays with the
 * device, never used again. Returns how many requests stay quarantined
 * because they hold caller memory. Call after blk_mark_broken_locked.
 * Queue lock held.
 */
uint32_t blk_quarantine_locked(struct blkdev *dev, int status, struct blk_done *done);

/* The request the driver has held longest (dispatch order), or NULL. Queue lock held. */
struct request *blk_oldest_inflight_locked(struct blkdev *dev);
/* A doorbell the driver rang itself, from queue_rq (blk_core.c). Queue lock held. */
void blk_count_kick_locked(struct blkdev *dev);
/*
 * The clock as of this lock hold (one read per hold; blk_core.c): for a
 * driver's time hints, without a clock read of its own. Queue lock held.
 */
uint64_t blk_now_locked(struct blkdev *dev);
/* Recovery counters (blk_health.c): an interrupt that never came, a device reset. */
void blk_count_lost_irq_locked(struct blkdev *dev);
void blk_count_reset_locked(struct blkdev *dev);

/*
 * What the driver reads of a request. "Wire" values describe what goes to
 * the device on this dispatch: normally the whole request, but a failed
 * merged request is retried one bio piece at a time, and then they describe
 * only that piece.
 */
enum bio_op blk_rq_op(const struct request *rq);
uint32_t blk_rq_tag(const struct request *rq);	   /* 0 .. nr_requests-1, stable per request */
uint64_t blk_rq_sector(const struct request *rq);  /* 512-byte sectors */
uint32_t blk_rq_sectors(const struct request *rq); /* 512-byte sectors (DISCARD/WZ: the range) */
uint32_t blk_rq_nsegs(const struct request *rq);   /* data segments the iterator yields */
uint32_t blk_rq_bytes(const struct request *rq);   /* data bytes the iterator yields */

struct blk_seg_iter {
	const struct request *rq;
	uint32_t part, part_end;    /* part index, and one past the last on the wire */
	const struct bio_seg *segs; /* the current part's: its bio's, or its bounce buffer */
	uint32_t seg, off;	    /* position in segs */
	uint32_t left;		    /* bytes of the current part still to yield */
	uint32_t max;		    /* bytes per yielded segment */
};
void blk_rq_seg_iter_init(struct blk_seg_iter *it, const struct request *rq);
/* Next data segment (at most max_seg_bytes); false when there are no more. */
bool blk_rq_seg_next(struct blk_seg_iter *it, void **va, uint32_t *len);

#endif

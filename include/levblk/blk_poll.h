/*
 * Polled block I/O: one request at a time, no queue, no interrupt.
 *
 * This is the path a first design would have used for everything, kept as
 * the benchmark's baseline (run=bench engine=sync). It bypasses the request
 * queue and the elevator. The implementation and its reasoning are in
 * src/blk/virtio_blk_poll.c.
 *
 * Context: thread only (it may wait for the device's queue to drain first);
 * never from end_io or an interrupt handler. It spins with IRQs masked while
 * the one request is on the device, so the device's interrupt is never
 * taken for it (its `irqs` counter does not move).
 */
#ifndef LEVBLK_BLK_POLL_H
#define LEVBLK_BLK_POLL_H

#include <stdint.h>
#include <levblk/bio.h>

struct blkdev;

/*
 * Reads or writes `len` bytes at `sector` (512-byte units) from or into
 * `buf`, polled. `len` must be a whole number of logical blocks; `buf` is
 * any contiguous kernel memory (it goes on the ring as it is, cut only at the
 * device's segment size). A transfer longer than one request may carry
 * becomes several requests, one after the other.
 *
 * Counts one bio, each request and each kick in the device's counters, like
 * the queued path would. Returns 0, -EINVAL (bad length, alignment,
 * range), -EOPNOTSUPP (not READ or WRITE), -EROFS, -EIO (the device said
 * so), -ENODEV (the device is broken, or misbehaved or did not answer
 * within blk.timeout_ms: it is then reset and declared broken; if that reset
 * is not confirmed the device may still write the buffer, and the call never
 * returns), -EBUSY (the queue did not drain within blk.timeout_ms).
 */
int blk_poll_io(struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf, uint32_t len);

#endif

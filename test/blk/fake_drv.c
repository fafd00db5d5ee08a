/* The fake block driver of the host tests: see fake_drv.h. */
#include <stdlib.h>
#include <string.h>
#include <levblk/errno.h>
#include "blk/blk_driver.h"
#include "blk/fake_drv.h"

static bool fake_log_live(const struct fake_drv *fd, uint32_t i)
{
	/* A log entry is live while its request is in the ring (completion clears it). */
	return fd->log[i].rq != NULL;
}

static int fake_queue_rq(void *drv, struct request *rq, bool last)
{
	struct fake_drv *fd = drv;

	if (fd->in_ring >= fd->capacity)
		return -ENOSPC;
	if (fd->nlog >= FAKE_MAX_LOG)
		abort();
	struct fake_rq_log *l = &fd->log[fd->nlog];
	l->rq = rq;
	l->op = blk_rq_op(rq);
	l->sector = blk_rq_sector(rq);
	l->sectors = blk_rq_sectors(rq);
	l->nsegs = blk_rq_nsegs(rq);
	l->bytes = blk_rq_bytes(rq);
	l->seq = fd->nlog;
	l->notifies = fd->notifies;
	l->last = last;
	/* The iterator must agree with the counts the core announced. */
	struct blk_seg_iter it;
	void *va;
	uint32_t len, n = 0, bytes = 0;
	blk_rq_seg_iter_init(&it, rq);
	while (blk_rq_seg_next(&it, &va, &len)) {
		if (len == 0 || len > blkdev_info(fd->dev)->limits.max_seg_bytes)
			abort();
		if (fd->seg_seen)
			fd->seg_seen(fd->seg_seen_ctx, va, len);
		n++;
		bytes += len;
	}
	if (n != l->nsegs || bytes != l->bytes)
		abort();
	if (n > fd->max_nsegs_seen)
		fd->max_nsegs_seen = n;
	fd->nlog++;
	fd->in_ring++;
	return 0;
}

static bool fake_kick_prepare(void *drv)
{
	return true;
}

static void fake_notify(void *drv)
{
	struct fake_drv *fd = drv;
	fd->notifies++;
}

/* The core's deadline timer: counted; with reset_on_timeout the "device" is reset (forgets its ring). */
static enum blk_timeout_ret fake_timeout(void *drv, struct request *rq, struct blk_done *done)
{
	struct fake_drv *fd = drv;

	(void)done;
	fd->timeouts++;
	fd->timeout_rq = rq;
	if (!fd->reset_on_timeout)
		return BLK_TIMEOUT_DONE;
	for (uint32_t i = 0; i < fd->nlog; i++)
		fd->log[i].rq = NULL;
	fd->in_ring = 0;
	return BLK_TIMEOUT_RESET;
}

/* The core's irq_work: ends what fake_complete_irq's interrupts finished. Queue lock held. */
static void fake_irq_work(void *drv, unsigned int nirqs, struct blk_done *done)
{
	struct fake_drv *fd = drv;

	fd->irq_works++;
	fd->irq_seen += nirqs;
	blk_count_irq_locked(fd->dev, nirqs);
	for (uint32_t j = 0; j < fd->irq_nrqs; j++)
		blk_complete_locked(fd->dev, fd->irq_rqs[j], 0, done);
	fd->irq_nrqs = 0;
}

static const struct blk_driver_ops fake_ops = {
    .queue_rq = fake_queue_rq,
    .kick_prepare = fake_kick_prepare,
    .notify = fake_notify,
    .timeout = fake_timeout,
    .irq_work = fake_irq_work,
};

struct fake_drv *fake_create(uint64_t capacity, uint32_t lbs, uint32_t max_segs,
			     uint32_t max_seg_bytes, uint32_t max_sectors, uint32_t nr_requests,
			     uint32_t ring_capacity, bool volatile_cache, bool ro)
{
	struct fake_drv *fd = calloc(1, sizeof(*fd));
	struct blkdev_info info = {
	    .capacity = capacity,
	    .lbs = lbs,
	    .pbs = lbs,
	    .ro = ro,
	    .volatile_cache = volatile_cache,
	    .ops = (1u << BIO_OP_READ) | (1u << BIO_OP_WRITE) | (1u << BIO_OP_FLUSH) |
		   (1u << BIO_OP_GET_ID) | (1u << BIO_OP_DISCARD),
	    .limits = {.max_segs = max_segs,
		       .max_seg_bytes = max_seg_bytes,
		       .max_sectors = max_sectors,
		       .max_discard_sectors = 64,
		       .nr_requests = nr_requests},
	};
	fd->disk_bytes = capacity * SECTOR_SIZE;
	fd->disk = calloc(1, fd->disk_bytes);
	fd->capacity = ring_capacity;
	fd->dev = blk_dev_register(&info, &fake_ops, fd);
	if (!fd->dev)
		abort();
	return fd;
}

void fake_destroy(struct fake_drv *fd)
{
	/* The device stays registered (devices are never removed); its memory goes. */
	free(fd->disk);
	fd->disk = NULL;
}

int fake_inflight_index(struct fake_drv *fd, uint32_t nth)
{
	for (uint32_t i = 0; i < fd->nlog; i++) {
		if (fake_log_live(fd, i) && nth-- == 0)
			return (int)i;
	}
	return -1;
}

void fake_add_bad(struct fake_drv *fd, uint64_t sector, int times)
{
	fd->bad[fd->nbad].sector = sector;
	fd->bad[fd->nbad].fails_left = times;
	fd->nbad++;
}

/* A request touching a bad sector fails (and uses up one of its failures). */
static int fake_error(struct fake_drv *fd, const struct fake_rq_log *l)
{
	if (l->op != BIO_OP_READ && l->op != BIO_OP_WRITE)
		return 0;
	for (uint32_t i = 0; i < fd->nbad; i++) {
		if (fd->bad[i].sector >= l->sector && fd->bad[i].sector < l->sector + l->sectors &&
		    fd->bad[i].fails_left != 0) {
			if (fd->bad[i].fails_left > 0)
				fd->bad[i].fails_left--;
			return -EIO;
		}
	}
	return 0;
}

static void fake_transfer(struct fake_drv *fd, struct fake_rq_log *l)
{
	struct blk_seg_iter it;
	void *va;
	uint32_t len;
	uint64_t off = l->sector * SECTOR_SIZE;

	if (l->op != BIO_OP_READ && l->op != BIO_OP_WRITE) {
		if (l->op == BIO_OP_GET_ID) {
			const char *id = "fake-disk";
			blk_rq_seg_iter_init(&it, l->rq);
			while (blk_rq_seg_next(&it, &va, &len))
				memcpy(va, id, len < 10 ? len : 10);
		}
		return;
	}
	blk_rq_seg_iter_init(&it, l->rq);
	while (blk_rq_seg_next(&it, &va, &len)) {
		if (off + len > fd->disk_bytes)
			abort();
		if (l->op == BIO_OP_READ)
			memcpy(va, fd->disk + off, len);
		else
			memcpy(fd->disk + off, va, len);
		off += len;
	}
}

void fake_complete(struct fake_drv *fd, int log_idx, int status)
{
	struct fake_rq_log *l = &fd->log[log_idx];
	struct blk_done done = BLK_DONE_INIT;

	if (!fake_log_live(fd, (uint32_t)log_idx))
		abort();
	if (status == 0)
		status = fake_error(fd, l);
	if (status == 0)
		fake_transfer(fd, l);
	struct request *rq = l->rq;
	l->rq = NULL;
	fd->in_ring--;
	irqflags_t f = blk_lock(fd->dev);
	blk_count_irq_locked(fd->dev, 1);
	blk_complete_locked(fd->dev, rq, status, &done);
	bool kick = blk_dispatch_locked(fd->dev, &done);
	blk_unlock(fd->dev, f);
	if (kick)
		blk_notify(fd->dev);
	blk_end_done(&done);
}

void fake_complete_all(struct fake_drv *fd)
{
	int i;

	while ((i = fake_inflight_index(fd, 0)) >= 0)
		fake_complete(fd, i, 0);
}

void fake_complete_irq(struct fake_drv *fd, uint32_t n)
{
	uint32_t k = 0;
	int i;

	irqflags_t irq = irq_save(); /* "interrupt context" */
	while (k < n && (i = fake_inflight_index(fd, 0)) >= 0) {
		struct fake_rq_log *l = &fd->log[i];
		fake_transfer(fd, l);
		fd->irq_rqs[fd->irq_nrqs++] = l->rq;
		l->rq = NULL;
		fd->in_ring--;
		k++;
	}
	blk_irq_work(fd->dev);
	irq_restore(irq);
}

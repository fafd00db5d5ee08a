/*
 * In-guest selftests of the block layer on whatever disks QEMU attached.
 * Each test that needs a kind of disk (any, read-only, 4 KiB blocks) and
 * finds none passes with a "# skip" note. Tests that write restore what
 * they overwrote, so running them on a disk with data leaves it as it was
 * (unless the machine dies half-way).
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/completion.h>
#include <levblk/init.h>
#include <levblk/kern/sched.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/pattern.h>
#include <levblk/lib/string.h>
#include "blk_queue.h"
#include "virtio_blk.h"

#define ST_MAX_LBS 4096u
#define ST_THREADS 64u
#define ST_SEED	   0x5e1f7e57ull

/* The first device that is writable / read-only / has 4 KiB blocks, or NULL. */
static struct blkdev *st_find(bool want_ro, uint32_t want_lbs)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		const struct blkdev_info *d = blkdev_info(blkdev_get(i));
		if (d->ro == want_ro && (!want_lbs || d->lbs == want_lbs) && d->lbs <= ST_MAX_LBS &&
		    !blkdev_broken(blkdev_get(i)))
			return blkdev_get(i);
	}
	return NULL;
}

static bool st_skip(const char *why)
{
	kprintf("# skip: %s\n", why);
	return true;
}

static int st_io(struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf, uint32_t len)
{
	struct bio b;
	struct bio_seg seg = {buf, len};

	bio_init_rw(&b, dev, op, sector, &seg, 1, NULL, NULL);
	return submit_bio_wait(&b);
}

/* Three logical-block buffers: saved contents, written data, read back. */
struct st_bufs {
	struct dma_buf mem;
	uint8_t *save, *wr, *rd;
};

static bool st_alloc(struct st_bufs *b)
{
	if (dma_alloc(3 * ST_MAX_LBS, 4096, &b->mem)) {
		kprintf("# out of memory\n");
		return false;
	}
	b->save = b->mem.va;
	b->wr = b->save + ST_MAX_LBS;
	b->rd = b->wr + ST_MAX_LBS;
	return true;
}

/* Writes the pattern to one logical block, reads it back, restores the old contents. */
static bool st_write_block(struct blkdev *dev, uint64_t sector, struct st_bufs *b)
{
	uint32_t lbs = blkdev_info(dev)->lbs;
	int err;

	if ((err = st_io(dev, BIO_OP_READ, sector, b->save, lbs)) != 0) {
		kprintf("# read of sector %llu: %d\n", (unsigned long long)sector, err);
		return false;
	}
	for (uint32_t s = 0; s < lbs / SECTOR_SIZE; s++)
		pattern_fill_sector(b->wr + s * SECTOR_SIZE, ST_SEED, sector + s);
	memset(b->rd, 0xa5, lbs);
	bool ok = (err = st_io(dev, BIO_OP_WRITE, sector, b->wr, lbs)) == 0 &&
		  (err = st_io(dev, BIO_OP_READ, sector, b->rd, lbs)) == 0 &&
		  memcmp(b->wr, b->rd, lbs) == 0;
	if (!ok)
		kprintf("# write/read-back of sector %llu: err %d%s\n", (unsigned long long)sector,
			err, err ? "" : ", data differs");
	if ((err = st_io(dev, BIO_OP_WRITE, sector, b->save, lbs)) != 0) {
		kprintf("# restoring sector %llu: %d\n", (unsigned long long)sector, err);
		ok = false;
	}
	return ok;
}

/*
 * Runs body(dev, bufs) with freshly allocated buffers, or passes with a skip
 * note when no suitable device is attached (dev == NULL).
 */
static bool st_run(struct blkdev *dev, const char *skip_why,
		   bool (*body)(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b))
{
	struct st_bufs b;

	if (!dev)
		return st_skip(skip_why);
	if (!st_alloc(&b))
		return false;
	bool ok = body(dev, blkdev_info(dev), &b);
	dma_free(&b.mem);
	return ok;
}

/* The first logical block at or below sector s. */
static uint64_t st_align_down(const struct blkdev_info *d, uint64_t s)
{
	return s - s % (d->lbs / SECTOR_SIZE);
}

static bool st_read_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	uint64_t sector = st_align_down(d, d->capacity / 2);

	/* Two reads of the same block into differently poisoned buffers must agree. */
	memset(b->save, 0x11, d->lbs);
	memset(b->rd, 0x22, d->lbs);
	int e1 = st_io(dev, BIO_OP_READ, sector, b->save, d->lbs);
	int e2 = st_io(dev, BIO_OP_READ, sector, b->rd, d->lbs);
	bool ok = e1 == 0 && e2 == 0 && memcmp(b->save, b->rd, d->lbs) == 0;
	if (!ok)
		kprintf("# read sector %llu: %d %d\n", (unsigned long long)sector, e1, e2);
	return ok;
}

static bool st_read_block(void)
{
	return st_run(blkdev_get(0), "no block device", st_read_body);
}
SELFTEST("blk.read_block", st_read_block);

static bool st_write_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	return st_write_block(dev, st_align_down(d, d->capacity / 3), b);
}

static bool st_write_given_block(void)
{
	return st_run(st_find(false, 0), "no writable block device", st_write_body);
}
SELFTEST("blk.write_block", st_write_given_block);

static bool st_first_last_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	return st_write_block(dev, 0, b) &&
	       st_write_block(dev, d->capacity - d->lbs / SECTOR_SIZE, b);
}

static bool st_first_last(void)
{
	return st_run(st_find(false, 0), "no writable block device", st_first_last_body);
}
SELFTEST("blk.first_and_last_block", st_first_last);

static bool st_past_end_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	uint32_t lb = d->lbs / SECTOR_SIZE;

	/* One block past the end, and a two-block read that starts on the last block. */
	int e1 = st_io(dev, BIO_OP_READ, d->capacity, b->rd, d->lbs);
	int e2 = st_io(dev, BIO_OP_READ, d->capacity - lb, b->wr, 2 * d->lbs);
	bool ok = e1 == -EINVAL && e2 == -EINVAL;
	if (!ok)
		kprintf("# past the end gave %d and %d, want %d\n", e1, e2, -EINVAL);
	return ok;
}

static bool st_past_end(void)
{
	return st_run(blkdev_get(0), "no block device", st_past_end_body);
}
SELFTEST("blk.one_past_the_end", st_past_end);

static bool st_ro_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	int err = st_io(dev, BIO_OP_WRITE, 0, b->wr, d->lbs);
	int rerr = st_io(dev, BIO_OP_READ, 0, b->rd, d->lbs);

	if (err != -EROFS || rerr != 0)
		kprintf("# write to a read-only disk gave %d (want %d), read gave %d\n", err,
			-EROFS, rerr);
	return err == -EROFS && rerr == 0;
}

static bool st_ro_write(void)
{
	return st_run(st_find(true, 0), "no read-only block device", st_ro_body);
}
SELFTEST("blk.write_to_read_only", st_ro_write);

static bool st_misaligned_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	int e1 = st_io(dev, BIO_OP_READ, 1, b->rd, 4096); /* start inside a block */
	int e2 = st_io(dev, BIO_OP_READ, 8, b->rd, 512);  /* not a whole block */
	int e3 = st_io(dev, BIO_OP_READ, 8, b->rd, 4096); /* fine */
	bool ok = e1 == -EINVAL && e2 == -EINVAL && e3 == 0;

	if (!ok)
		kprintf("# 4 KiB disk: misaligned %d, short %d, aligned %d\n", e1, e2, e3);
	if (ok && !d->ro)
		ok = st_write_block(dev, 8, b);
	return ok;
}

static bool st_misaligned_4k(void)
{
	struct blkdev *dev = st_find(false, 4096);

	return st_run(dev ? dev : st_find(true, 4096), "no 4 KiB-block device", st_misaligned_body);
}
SELFTEST("blk.misaligned_on_4k_disk", st_misaligned_4k);

/* --- 64 threads, each blocked in submit_bio_wait -------------------------- */

struct st_thr {
	struct blkdev *dev;
	uint64_t sector;
	uint8_t *buf;
	int err;
	bool same;
};

static void st_thr_fn(void *arg)
{
	struct st_thr *t = arg;
	uint32_t lbs = blkdev_info(t->dev)->lbs;

	/* Each thread reads its block twice; both must succeed and agree. */
	t->err = st_io(t->dev, BIO_OP_READ, t->sector, t->buf, lbs);
	if (!t->err)
		t->err = st_io(t->dev, BIO_OP_READ, t->sector, t->buf + lbs, lbs);
	t->same = memcmp(t->buf, t->buf + lbs, lbs) == 0;
}

static bool st_threads(void)
{
	static struct st_thr thr[ST_THREADS];
	struct thread *tid[ST_THREADS];
	struct blkdev *dev = blkdev_get(0);
	struct dma_buf mem;
	bool ok = true;

	if (!dev)
		return st_skip("no block device");
	const struct blkdev_info *d = blkdev_info(dev);
	uint32_t lb = d->lbs / SECTOR_SIZE;
	if (dma_alloc(ST_THREADS * 2 * ST_MAX_LBS, 4096, &mem))
		return false;
	struct blk_counters before, after;
	blkdev_counters(dev, &before);
	for (unsigned int i = 0; i < ST_THREADS; i++) {
		thr[i] = (struct st_thr){.dev = dev,
					 .sector = ((uint64_t)i * 97 * lb) %
						   (d->capacity - d->capacity % lb),
					 .buf = (uint8_t *)mem.va + i * 2 * ST_MAX_LBS,
					 .err = 1};
		tid[i] = thread_create("bio_wait", st_thr_fn, &thr[i]);
		if (!tid[i]) {
			kprintf("# thread %u: out of threads\n", i);
			ok = false;
		}
	}
	for (unsigned int i = 0; i < ST_THREADS; i++) {
		if (!tid[i])
			continue;
		thread_join(tid[i]);
		if (thr[i].err || !thr[i].same) {
			kprintf("# thread %u: err %d same %d\n", i, thr[i].err, thr[i].same);
			ok = false;
		}
	}
	blkdev_counters(dev, &after);
	if (after.in_flight != 0 || after.bios - before.bios != 2 * ST_THREADS) {
		kprintf("# counters: %llu bios, %llu in flight\n",
			(unsigned long long)(after.bios - before.bios),
			(unsigned long long)after.in_flight);
		ok = false;
	}
	dma_free(&mem);
	return ok;
}
SELFTEST("blk.64_threads_in_submit_bio_wait", st_threads);

/* --- the deterministic merge test, on the real device ----------------------- */

#define ST_MERGE_BIOS	      256u
#define ST_MERGE_BYTES	      4096u
#define ST_MERGE_MAX_REQUESTS 8u

struct st_merge {
	struct bio bio[ST_MERGE_BIOS];
	struct bio_seg seg[ST_MERGE_BIOS];
	unsigned int left, errors; /* guarded by masking IRQs */
	struct completion all;
};

static void st_merge_end_io(struct bio *b)
{
	struct st_merge *m = b->bio_private;

	m->errors += b->bio_status != 0;
	if (--m->left == 0)
		complete(&m->all);
}

/*
 * 256 adjacent 4 KiB bios under a plug become at most 8 requests (counters,
 * not time). Reads, so the disk is left alone; reads and writes merge by
 * the same rules (host test test_plug_merges_256_writes does the writes).
 * Under TCG a loop of 64 submissions can outlast the plug's 100 us bound
 * (checked at each submission);
 * each such early flush may cost one request more, so the bound here is
 * "one request per plug flush" as well as "at most 8 when nothing timed out".
 */
static bool st_plug_merge(void)
{
	static struct st_merge m;
	struct blkdev *dev = blkdev_get(0);
	struct blk_counters before, after;
	struct blk_plug plug;
	struct dma_buf mem;

	if (!dev || blkdev_info(dev)->capacity < ST_MERGE_BIOS * ST_MERGE_BYTES / SECTOR_SIZE ||
	    blkdev_info(dev)->lbs > ST_MERGE_BYTES)
		return st_skip("no block device of 1 MiB or more");
	if (dma_alloc(ST_MERGE_BIOS * ST_MERGE_BYTES, 4096, &mem))
		return false;
	memset(&m, 0, sizeof(m));
	m.left = ST_MERGE_BIOS;
	completion_init(&m.all);
	uint64_t fl0, to0, fl1, to1;
	blkdev_counters(dev, &before);
	blk_plug_stats(&fl0, &to0);
	blk_start_plug(&plug);
	for (unsigned int i = 0; i < ST_MERGE_BIOS; i++) {
		/* Separate buffers, in reverse order: the bios are adjacent on disk only. */
		m.seg[i] = (struct bio_seg){
		    (uint8_t *)mem.va + (ST_MERGE_BIOS - 1 - i) * ST_MERGE_BYTES, ST_MERGE_BYTES};
		bio_init_rw(&m.bio[i], dev, BIO_OP_READ,
			    (uint64_t)i * (ST_MERGE_BYTES / SECTOR_SIZE), &m.seg[i], 1,
			    st_merge_end_io, &m);
		submit_bio(&m.bio[i]);
	}
	blk_finish_plug(&plug);
	wait_for_completion(&m.all);
	blkdev_counters(dev, &after);
	blk_plug_stats(&fl1, &to1);
	uint64_t reqs = after.requests - before.requests;
	uint64_t flushes = fl1 - fl0, timeouts = to1 - to0;
	kprintf("# 256 adjacent 4 KiB reads: %llu requests, %llu merges, %llu kicks, "
		"%llu plug flushes (%llu by the time bound)\n",
		(unsigned long long)reqs, (unsigned long long)(after.merges - before.merges),
		(unsigned long long)(after.kicks - before.kicks), (unsigned long long)flushes,
		(unsigned long long)timeouts);
	dma_free(&mem);
	bool ok = m.errors == 0 && reqs >= 1 && reqs <= flushes;
	if (timeouts == 0)
		ok = ok && reqs <= ST_MERGE_MAX_REQUESTS;
	return ok;
}
SELFTEST("blk.plug_merges_256_adjacent_bios", st_plug_merge);

/*
 * Idle polling (blk.poll_us / blk.poll_depth, the virtio-blk driver's): a dispatch that leaves one
 * request in flight asks the idle thread to spin until dispatch time +
 * blk.poll_us; with blk.poll_us=0 it asks nothing. (Whether the idle thread
 * then spins is sched.idle_poll_hint's business; whether it gets to run at
 * all depends on how fast the host completes the read, so it is not asked
 * here.) Completions still come by interrupt.
 */
static bool st_idle_poll_body(struct blkdev *dev, const struct blkdev_info *d, struct st_bufs *b)
{
	uint64_t saved = vblk_param_poll_us;
	struct blk_counters c0, c1;
	int err;

	blkdev_counters(dev, &c0);
	vblk_param_poll_us = 1000;
	uint64_t t0 = clock_ns();
	err = st_io(dev, BIO_OP_READ, 0, b->rd, d->lbs);
	uint64_t d_on = sched_idle_poll_deadline();
	vblk_param_poll_us = 0;
	uint64_t d0 = sched_idle_poll_deadline();
	if (!err)
		err = st_io(dev, BIO_OP_READ, 0, b->rd, d->lbs);
	uint64_t d_off = sched_idle_poll_deadline();
	vblk_param_poll_us = saved;
	blkdev_counters(dev, &c1);
	kprintf("# hint %lu us after submission with blk.poll_us=1000, moved %lu us with 0; "
		"%lu interrupts for 2 reads\n",
		(unsigned long)((d_on - t0) / NSEC_PER_USEC),
		(unsigned long)((d_off - d0) / NSEC_PER_USEC), (unsigned long)(c1.irqs - c0.irqs));
	return err == 0 && d_on >= t0 + 1000 * NSEC_PER_USEC && d_off == d0 &&
	       c1.irqs - c0.irqs >= 2;
}

static bool st_idle_poll(void)
{
	return st_run(st_find(false, 0), "no writable disk", st_idle_poll_body);
}
SELFTEST("blk.idle_poll_hint_with_one_in_flight", st_idle_poll);

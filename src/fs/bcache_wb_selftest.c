/*
 * In-guest selftests of the buffer cache's write-back (bcache.h, "Writing")
 * on the first writable disk. Each test saves the blocks it overwrites with
 * direct reads and writes them back at the end, so a disk with data is left
 * as it was (unless the machine dies half-way).
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/pattern.h>
#include <levblk/lib/string.h>

#include "bcache.h"

#define WB_FIRST_BLOCK 3000u  /* blocks the tests write: from here */
#define WB_BLOCKS      8u
#define WB_FULL_BLOCKS (BCACHE_MIN_BUFS + 1u)
#define WB_SEED        0x77bc11ull
/*
 * The age test polls the cache's counters every WB_POLL_NS, at most
 * WB_POLL_MAX times (10 s): only a failure waits the bound out. A fixed
 * sleep would make it depend on how soon a loaded host runs the thread.
 */
#define WB_POLL_NS     (10ull * 1000u * 1000u)
#define WB_POLL_MAX    1000u
#define WB_QUICK_MS    20u

struct wb_disk {
	struct blkdev *dev;
	uint32_t bs;
	uint8_t *saved;  /* the blocks as they were, nblocks * bs */
	uint32_t nblocks;
	uint8_t *direct; /* one block for direct reads */
};

static int wb_open(struct wb_disk *w, uint32_t nblocks);
static void wb_close(struct wb_disk *w);
static int wb_direct(struct wb_disk *w, enum bio_op op, uint64_t blk, void *buf);
static void wb_fill(uint8_t *buf, uint32_t bs, uint64_t blk);
static bool wb_write_through_cache(struct bcache *bc, uint32_t bs, uint64_t blk);
static bool wb_on_disk(struct wb_disk *w, uint64_t blk);

static int wb_direct(struct wb_disk *w, enum bio_op op, uint64_t blk, void *buf)
{
	struct bio_seg seg = { buf, w->bs };
	struct bio b;

	bio_init_rw(&b, w->dev, op, blk * (w->bs / SECTOR_SIZE), &seg, 1, NULL, NULL);
	return submit_bio_wait(&b);
}

/* 1: a writable disk, its blocks saved; 0: none ("# skip"); -1: failure. */
static int wb_open(struct wb_disk *w, uint32_t nblocks)
{
	memset(w, 0, sizeof(*w));
	for (unsigned int i = 0; i < blkdev_count() && w->dev == NULL; i++) {
		const struct blkdev_info *d = blkdev_info(blkdev_get(i));
		if (!d->ro && d->lbs <= 4096u && !blkdev_broken(blkdev_get(i)) &&
		    d->capacity >= (uint64_t)(WB_FIRST_BLOCK + WB_FULL_BLOCKS) * (4096u / SECTOR_SIZE))
			w->dev = blkdev_get(i);
	}
	if (w->dev == NULL) {
		kprintf("# skip: no writable block device\n");
		return 0;
	}
	w->bs = blkdev_info(w->dev)->lbs > 1024u ? blkdev_info(w->dev)->lbs : 1024u;
	w->nblocks = nblocks;
	w->saved = kmalloc((size_t)nblocks * w->bs);
	w->direct = kmalloc(w->bs);
	if (w->saved == NULL || w->direct == NULL)
		return -1;
	for (uint32_t i = 0; i < nblocks; i++)
		if (wb_direct(w, BIO_OP_READ, WB_FIRST_BLOCK + i, w->saved + (size_t)i * w->bs) != 0)
			return -1;
	return 1;
}

static void wb_close(struct wb_disk *w)
{
	if (w->saved != NULL)
		for (uint32_t i = 0; i < w->nblocks; i++)
			if (wb_direct(w, BIO_OP_WRITE, WB_FIRST_BLOCK + i, w->saved + (size_t)i * w->bs) != 0)
				kprintf("# could not restore block %u\n", WB_FIRST_BLOCK + i);
	kfree(w->saved);
	kfree(w->direct);
}

static void wb_fill(uint8_t *buf, uint32_t bs, uint64_t blk)
{
	for (uint32_t off = 0; off < bs; off += SECTOR_SIZE)
		pattern_fill_sector(buf + off, WB_SEED, blk * (bs / SECTOR_SIZE) + off / SECTOR_SIZE);
}

/* The pattern into block blk through the cache: get_new, write_begin, fill, mark_dirty, write_end, put. */
static bool wb_write_through_cache(struct bcache *bc, uint32_t bs, uint64_t blk)
{
	struct bcache_buf *b;

	if (bcache_get_new(bc, blk, &b) != 0)
		return false;
	bcache_write_begin(b);
	wb_fill(bcache_data_mut(b), bs, blk);
	bcache_mark_dirty(b, false);
	bcache_write_end(b);
	bcache_put(b);
	return true;
}

static bool wb_on_disk(struct wb_disk *w, uint64_t blk)
{
	uint64_t got, want;

	if (wb_direct(w, BIO_OP_READ, blk, w->direct) != 0)
		return false;
	for (uint32_t off = 0; off < w->bs; off += SECTOR_SIZE)
		if (pattern_check_sector(w->direct + off, WB_SEED, blk * (w->bs / SECTOR_SIZE) + off / SECTOR_SIZE, &got,
					 &want) >= 0)
			return false;
	return true;
}

/* Eight adjacent dirty blocks, then bcache_sync: all on the disk, in fewer requests, and a flush. */
static bool wb_sync_writes(void)
{
	struct blk_counters c0, c1;
	struct bcache_stats st;
	struct bcache *bc;
	struct wb_disk w;
	bool ok = true;
	int usable = wb_open(&w, WB_BLOCKS), err;

	if (usable <= 0) {
		wb_close(&w);
		return usable == 0;
	}
	if (bcache_create(w.dev, w.bs, 64u * w.bs, &bc) != 0) {
		wb_close(&w);
		return false;
	}
	for (uint32_t i = 0; i < WB_BLOCKS && ok; i++)
		ok = wb_write_through_cache(bc, w.bs, WB_FIRST_BLOCK + i);
	bcache_get_stats(bc, &st);
	ok = ok && st.dirty == WB_BLOCKS;
	blkdev_counters(w.dev, &c0);
	err = bcache_sync(bc);
	blkdev_counters(w.dev, &c1);
	bcache_get_stats(bc, &st);
	for (uint32_t i = 0; i < WB_BLOCKS && ok; i++)
		ok = wb_on_disk(&w, WB_FIRST_BLOCK + i);
	/* Adjacent blocks in block order under a plug: merged, far fewer requests than blocks (flush aside). */
	if (!ok || err != 0 || st.dirty != 0 || st.writes != WB_BLOCKS || c1.requests - c0.requests > 3 ||
	    c1.flushes == c0.flushes) {
		kprintf("# ok %d err %d dirty %llu writes %llu requests %llu flushes %llu\n", ok, err,
			(unsigned long long)st.dirty, (unsigned long long)st.writes,
			(unsigned long long)(c1.requests - c0.requests), (unsigned long long)(c1.flushes - c0.flushes));
		ok = false;
	}
	bcache_destroy(bc);
	wb_close(&w);
	return ok;
}
SELFTEST("fs.bcache_wb.sync_writes", wb_sync_writes);

/* A dirty block reaches the disk by itself once it is fs.writeback_ms old, without a sync. */
static bool wb_by_age(void)
{
	uint64_t saved_ms = fs_param_writeback_ms;
	struct bcache_stats st;
	struct bcache *bc;
	struct wb_disk w;
	bool ok;
	int usable = wb_open(&w, 1);

	if (usable <= 0) {
		wb_close(&w);
		return usable == 0;
	}
	if (bcache_create(w.dev, w.bs, 64u * w.bs, &bc) != 0) {
		wb_close(&w);
		return false;
	}
	fs_param_writeback_ms = WB_QUICK_MS;
	ok = wb_write_through_cache(bc, w.bs, WB_FIRST_BLOCK);
	bcache_get_stats(bc, &st);
	for (unsigned int i = 0; i < WB_POLL_MAX && (st.dirty != 0 || st.writes == 0); i++) {
		thread_sleep_ns(WB_POLL_NS);
		bcache_get_stats(bc, &st);
	}
	ok = ok && st.dirty == 0 && st.writes == 1 && wb_on_disk(&w, WB_FIRST_BLOCK);
	if (!ok)
		kprintf("# dirty %llu writes %llu\n", (unsigned long long)st.dirty, (unsigned long long)st.writes);
	fs_param_writeback_ms = saved_ms;
	bcache_destroy(bc);
	wb_close(&w);
	return ok;
}
SELFTEST("fs.bcache_wb.by_age", wb_by_age);

/*
 * Every block of the smallest cache dirty, none old enough to be written:
 * a get of one more block writes them back at once instead of waiting (or
 * evicting a dirty one), and then succeeds.
 */
static bool wb_when_full(void)
{
	uint64_t saved_ms = fs_param_writeback_ms;
	struct bcache_stats st;
	struct bcache_buf *b;
	struct bcache *bc;
	struct wb_disk w;
	bool ok = true;
	int usable = wb_open(&w, WB_FULL_BLOCKS), err;

	if (usable <= 0) {
		wb_close(&w);
		return usable == 0;
	}
	if (bcache_create(w.dev, w.bs, (uint64_t)BCACHE_MIN_BUFS * w.bs, &bc) != 0) {
		wb_close(&w);
		return false;
	}
	fs_param_writeback_ms = 600000;
	for (uint32_t i = 0; i < BCACHE_MIN_BUFS && ok; i++)
		ok = wb_write_through_cache(bc, w.bs, WB_FIRST_BLOCK + i);
	bcache_get_stats(bc, &st);
	ok = ok && st.dirty == BCACHE_MIN_BUFS && st.writes == 0;
	err = ok ? bcache_get(bc, WB_FIRST_BLOCK + BCACHE_MIN_BUFS, &b) : -1;
	if (err == 0)
		bcache_put(b);
	bcache_get_stats(bc, &st);
	for (uint32_t i = 0; i < BCACHE_MIN_BUFS && ok && err == 0; i++)
		ok = wb_on_disk(&w, WB_FIRST_BLOCK + i) || st.dirty != 0;
	if (!ok || err != 0 || st.writes == 0) {
		kprintf("# ok %d err %d writes %llu dirty %llu\n", ok, err, (unsigned long long)st.writes,
			(unsigned long long)st.dirty);
		ok = false;
	}
	fs_param_writeback_ms = saved_ms;
	ok = bcache_sync(bc) == 0 && ok;
	bcache_destroy(bc);
	wb_close(&w);
	return ok;
}
SELFTEST("fs.bcache_wb.when_full", wb_when_full);

/*
 * For a disk whose writes to block WB_FIRST_BLOCK fail (test/qemu/fs.cmake
 * gives one through blkdebug): bcache_sync returns the error, the block stays
 * dirty, and the next sync tries again and fails again. On a disk without
 * that error the test only notes it.
 */
static bool wb_write_error(void)
{
	struct bcache_stats st;
	struct bcache *bc;
	struct wb_disk w;
	bool ok;
	int usable = wb_open(&w, 1), e1, e2;

	if (usable <= 0) {
		wb_close(&w);
		return usable == 0;
	}
	if (bcache_create(w.dev, w.bs, 64u * w.bs, &bc) != 0) {
		wb_close(&w);
		return false;
	}
	ok = wb_write_through_cache(bc, w.bs, WB_FIRST_BLOCK);
	e1 = bcache_sync(bc);
	if (e1 == 0) {
		kprintf("# skip: block %u was written: no write error injected\n", WB_FIRST_BLOCK);
	} else {
		bcache_get_stats(bc, &st);
		ok = ok && e1 == -EIO && st.dirty == 1 && st.write_errors >= 1;
		e2 = bcache_sync(bc);
		bcache_get_stats(bc, &st);
		ok = ok && e2 == -EIO && st.dirty == 1 && st.write_errors >= 2;
		if (!ok)
			kprintf("# first %d second %d dirty %llu write_errors %llu\n", e1, e2, (unsigned long long)st.dirty,
				(unsigned long long)st.write_errors);
	}
	bcache_destroy(bc);
	wb_close(&w);
	return ok;
}
SELFTEST("fs.bcache_wb.write_error", wb_write_error);

struct wb_errors {
	uint32_t calls, meta_calls;
	uint64_t blkno;
};

/* The cache's write-error callback (interrupt context): counts. */
static void wb_count_error(void *ctx, uint64_t blkno, bool meta, int err)
{
	struct wb_errors *e = ctx;

	(void)err;
	e->calls++;
	e->meta_calls += meta ? 1u : 0u;
	e->blkno = blkno;
}

/*
 * For a disk whose writes to block WB_FIRST_BLOCK fail (as for
 * fs.bcache_wb.write_error): that block written as metadata stops the
 * cache. The callback hears of it once, as metadata; then a data block
 * dirtied afterwards is not written by a sync (which fails without writing
 * or flushing anything: the device's write and flush counters stay put), nor
 * by the write-back thread.
 */
static bool wb_meta_write_error(void)
{
	uint64_t saved_ms = fs_param_writeback_ms;
	struct wb_errors seen = { 0 };
	struct blk_counters c0, c1;
	struct bcache_stats st;
	struct bcache *bc;
	struct wb_disk w;
	struct bcache_buf *b;
	bool ok;
	int usable = wb_open(&w, 2), e1, e2;

	if (usable <= 0) {
		wb_close(&w);
		return usable == 0;
	}
	if (bcache_create(w.dev, w.bs, 64u * w.bs, &bc) != 0) {
		wb_close(&w);
		return false;
	}
	bcache_set_write_error_fn(bc, wb_count_error, &seen);
	ok = bcache_get_new(bc, WB_FIRST_BLOCK, &b) == 0;
	if (ok) {
		bcache_write_begin(b);
		wb_fill(bcache_data_mut(b), w.bs, WB_FIRST_BLOCK);
		bcache_mark_dirty(b, true);
		bcache_write_end(b);
		bcache_put(b);
	}
	e1 = bcache_sync(bc);
	if (e1 == 0) {
		kprintf("# skip: block %u was written: no write error injected\n", WB_FIRST_BLOCK);
		goto out;
	}
	ok = ok && e1 == -EIO && bcache_stopped(bc) && seen.calls == 1 && seen.meta_calls == 1 &&
	     seen.blkno == WB_FIRST_BLOCK;
	fs_param_writeback_ms = WB_QUICK_MS;
	ok = ok && wb_write_through_cache(bc, w.bs, WB_FIRST_BLOCK + 1u);
	blkdev_counters(w.dev, &c0);
	/* Several write-back periods: the thread must not write it either. */
	thread_sleep_ns(10u * WB_QUICK_MS * 1000u * 1000u);
	e2 = bcache_sync(bc);
	blkdev_counters(w.dev, &c1);
	bcache_get_stats(bc, &st);
	ok = ok && e2 == -EIO && st.dirty == 2 && c1.requests == c0.requests && c1.flushes == c0.flushes &&
	     !wb_on_disk(&w, WB_FIRST_BLOCK + 1u) && seen.calls == 1;
	if (!ok)
		kprintf("# first %d second %d dirty %llu requests %llu flushes %llu calls %u meta %u\n", e1, e2,
			(unsigned long long)st.dirty, (unsigned long long)(c1.requests - c0.requests),
			(unsigned long long)(c1.flushes - c0.flushes), seen.calls, seen.meta_calls);
out:
	fs_param_writeback_ms = saved_ms;
	bcache_destroy(bc);
	wb_close(&w);
	return ok;
}
SELFTEST("fs.bcache_wb.meta_write_error", wb_meta_write_error);

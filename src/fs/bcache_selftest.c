/*
 * In-guest selftests of the buffer cache on the first disk QEMU attached
 * (only read: any disk with data will do; test/qemu/fs.cmake gives it an
 * ext2 image). The rules tested are those of bcache.h: data equal to the
 * disk's, least recently released evicted first, pinned blocks never
 * evicted, a get that finds every block pinned waits for a put, and one read
 * however many threads ask for a block at once.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#include "bcache.h"

#define ST_BLOCKS      100u /* blocks the data test reads */
#define ST_FAR_BLOCK   1000u
#define ST_GETTERS     4u
#define ST_WAIT_NS     (2u * 1000u * 1000u)

struct st_cache {
	struct blkdev *dev;
	struct bcache *bc;
	uint32_t bs;
};

struct st_getter {
	struct bcache *bc;
	uint64_t blkno;
	struct bcache_buf *buf;
	int err;
	volatile bool done;
};

static int st_open(struct st_cache *c, uint32_t nbufs);
static void st_getter_fn(void *arg);
static uint64_t st_bios(struct blkdev *dev);

/*
 * A cache of nbufs blocks of 1 KiB (or the disk's logical block, if larger)
 * on the first disk: 1, or 0 after a "# skip" note when there is no disk the
 * tests can use (none, blocks over a page, fewer blocks than they read), or
 * -1 on failure.
 */
static int st_open(struct st_cache *c, uint32_t nbufs)
{
	const struct blkdev_info *d;
	int err;

	c->dev = blkdev_count() > 0 ? blkdev_get(0) : NULL;
	d = c->dev != NULL ? blkdev_info(c->dev) : NULL;
	if (d == NULL || d->lbs > 4096u || blkdev_broken(c->dev) ||
	    d->capacity < (uint64_t)(ST_FAR_BLOCK + ST_GETTERS) * (4096u / SECTOR_SIZE)) {
		kprintf("# skip: no usable block device\n");
		return 0;
	}
	c->bs = d->lbs > 1024u ? d->lbs : 1024u;
	err = bcache_create(c->dev, c->bs, (uint64_t)nbufs * c->bs, &c->bc);
	if (err != 0) {
		kprintf("# bcache_create: %d\n", err);
		return -1;
	}
	return 1;
}

static uint64_t st_bios(struct blkdev *dev)
{
	struct blk_counters ctr;

	blkdev_counters(dev, &ctr);
	return ctr.bios;
}

static void st_getter_fn(void *arg)
{
	struct st_getter *g = arg;

	g->err = bcache_get(g->bc, g->blkno, &g->buf);
	g->done = true;
}

/* Every block read through the cache equals the same block read directly, before and after eviction. */
static bool st_matches_disk(void)
{
	struct st_cache c;
	struct bcache_stats st;
	uint8_t *direct;
	bool ok = true;

	int usable = st_open(&c, BCACHE_MIN_BUFS);

	if (usable <= 0)
		return usable == 0;
	direct = kmalloc(c.bs);
	for (unsigned int pass = 0; pass < 2 && ok && direct != NULL; pass++) {
		for (uint32_t blk = 0; blk < ST_BLOCKS && ok; blk++) {
			struct bio_seg seg = { direct, c.bs };
			struct bcache_buf *b;
			struct bio bio;
			int err;

			bio_init_rw(&bio, c.dev, BIO_OP_READ, (uint64_t)blk * (c.bs / SECTOR_SIZE), &seg, 1, NULL, NULL);
			err = submit_bio_wait(&bio);
			if (err == 0)
				err = bcache_get(c.bc, blk, &b);
			if (err != 0) {
				kprintf("# block %u: %d\n", blk, err);
				ok = false;
				break;
			}
			ok = memcmp(bcache_data(b), direct, c.bs) == 0;
			if (!ok)
				kprintf("# block %u differs from the disk\n", blk);
			bcache_put(b);
		}
	}
	bcache_get_stats(c.bc, &st);
	/* Two passes over 100 blocks through 32 buffers: all misses, every block evicted once or twice. */
	if (ok && (st.misses != 2u * ST_BLOCKS || st.hits != 0 || st.evictions != 2u * ST_BLOCKS - BCACHE_MIN_BUFS)) {
		kprintf("# misses %llu hits %llu evictions %llu\n", (unsigned long long)st.misses,
			(unsigned long long)st.hits, (unsigned long long)st.evictions);
		ok = false;
	}
	kfree(direct);
	bcache_destroy(c.bc);
	return ok && direct != NULL;
}
SELFTEST("fs.bcache.matches_disk", st_matches_disk);

/*
 * With 4 blocks pinned and 28 released in order 0..27, a new block takes
 * block 0's buffer (released first), not a pinned one; blocks 1..27 and the
 * pinned ones are still hits.
 */
static bool st_lru_and_pins(void)
{
	struct bcache_buf *pinned[4], *b;
	struct bcache_stats before, after;
	struct st_cache c;
	bool ok = true;

	int usable = st_open(&c, BCACHE_MIN_BUFS);

	if (usable <= 0)
		return usable == 0;
	for (uint32_t i = 0; i < 4 && ok; i++)
		ok = bcache_get(c.bc, ST_FAR_BLOCK + i, &pinned[i]) == 0;
	for (uint32_t blk = 0; blk < BCACHE_MIN_BUFS - 4 && ok; blk++) {
		ok = bcache_get(c.bc, blk, &b) == 0;
		if (ok)
			bcache_put(b);
	}
	ok = ok && bcache_get(c.bc, BCACHE_MIN_BUFS - 4, &b) == 0; /* the 33rd block: one eviction */
	if (ok)
		bcache_put(b);
	bcache_get_stats(c.bc, &before);
	for (uint32_t blk = 1; blk <= BCACHE_MIN_BUFS - 4 && ok; blk++) {
		ok = bcache_get(c.bc, blk, &b) == 0;
		if (ok)
			bcache_put(b);
	}
	for (uint32_t i = 0; i < 4 && ok; i++) {
		ok = bcache_get(c.bc, ST_FAR_BLOCK + i, &b) == 0;
		if (ok)
			bcache_put(b);
	}
	bcache_get_stats(c.bc, &after);
	if (ok && (after.hits - before.hits != BCACHE_MIN_BUFS || after.misses != before.misses ||
		   before.evictions != 1)) {
		kprintf("# hits %llu misses %llu evictions %llu\n", (unsigned long long)(after.hits - before.hits),
			(unsigned long long)(after.misses - before.misses), (unsigned long long)before.evictions);
		ok = false;
	}
	/* Block 0 was the one given up: getting it again reads it. */
	if (ok && bcache_get(c.bc, 0, &b) == 0) {
		bcache_put(b);
		bcache_get_stats(c.bc, &after);
		ok = after.misses == before.misses + 1u;
	}
	for (uint32_t i = 0; i < 4; i++)
		bcache_put(pinned[i]);
	bcache_destroy(c.bc);
	return ok;
}
SELFTEST("fs.bcache.lru_and_pins", st_lru_and_pins);

/* Every buffer pinned: a get from another thread waits until a put frees one, then succeeds. */
static bool st_waits_for_put(void)
{
	struct bcache_buf *pinned[BCACHE_MIN_BUFS];
	struct st_getter g = { 0 };
	struct thread *t;
	struct st_cache c;
	bool ok = true, waited;

	int usable = st_open(&c, BCACHE_MIN_BUFS);

	if (usable <= 0)
		return usable == 0;
	for (uint32_t i = 0; i < BCACHE_MIN_BUFS; i++)
		if (bcache_get(c.bc, i, &pinned[i]) != 0)
			return false;
	g.bc = c.bc;
	g.blkno = ST_FAR_BLOCK;
	t = thread_create("st-getter", st_getter_fn, &g);
	if (t == NULL)
		return false;
	thread_sleep_ns(ST_WAIT_NS);
	waited = !g.done; /* nothing could be evicted: it must still be waiting */
	bcache_put(pinned[0]);
	thread_join(t);
	ok = waited && g.err == 0 && g.done;
	if (!ok)
		kprintf("# waited %d err %d\n", waited, g.err);
	if (g.err == 0)
		bcache_put(g.buf);
	for (uint32_t i = 1; i < BCACHE_MIN_BUFS; i++)
		bcache_put(pinned[i]);
	bcache_destroy(c.bc);
	return ok;
}
SELFTEST("fs.bcache.waits_for_put", st_waits_for_put);

/* A prefetch and four threads asking for the same block at once: one bio reaches the disk. */
static bool st_one_read(void)
{
	struct st_getter g[ST_GETTERS];
	struct thread *t[ST_GETTERS];
	struct bcache_stats st;
	struct st_cache c;
	uint64_t bios;
	bool ok = true;

	int usable = st_open(&c, BCACHE_MIN_BUFS);

	if (usable <= 0)
		return usable == 0;
	bios = st_bios(c.dev);
	bcache_prefetch(c.bc, ST_FAR_BLOCK);
	for (uint32_t i = 0; i < ST_GETTERS; i++) {
		g[i] = (struct st_getter){ .bc = c.bc, .blkno = ST_FAR_BLOCK };
		t[i] = thread_create("st-getter", st_getter_fn, &g[i]);
	}
	for (uint32_t i = 0; i < ST_GETTERS; i++) {
		if (t[i] == NULL) {
			ok = false;
			continue;
		}
		thread_join(t[i]);
		ok = ok && g[i].err == 0 && g[i].buf == g[0].buf;
	}
	bcache_get_stats(c.bc, &st);
	if (st_bios(c.dev) - bios != 1 || st.misses != 0 || st.prefetches != 1 || st.hits + st.waits != ST_GETTERS) {
		kprintf("# bios %llu misses %llu prefetches %llu hits %llu waits %llu\n",
			(unsigned long long)(st_bios(c.dev) - bios), (unsigned long long)st.misses,
			(unsigned long long)st.prefetches, (unsigned long long)st.hits, (unsigned long long)st.waits);
		ok = false;
	}
	for (uint32_t i = 0; i < ST_GETTERS; i++)
		if (t[i] != NULL && g[i].err == 0)
			bcache_put(g[i].buf);
	/* Past the end of the disk: refused, nothing read. */
	ok = ok && bcache_get(c.bc, blkdev_info(c.dev)->capacity, &g[0].buf) == -EINVAL;
	bcache_destroy(c.bc);
	return ok;
}
SELFTEST("fs.bcache.one_read_for_many", st_one_read);

/*
 * A prefetch of 10 adjacent blocks, the 4th already cached: two bios (the 3
 * blocks before it and the 6 after), 9 prefetches, and each block's data
 * equal to the disk's once a get finds it.
 */
static bool st_prefetch_run(void)
{
	struct bcache_stats st;
	struct bcache_buf *b;
	struct st_cache c;
	uint8_t *direct;
	uint64_t bios;
	bool ok = true;
	int usable = st_open(&c, BCACHE_MIN_BUFS);

	if (usable <= 0)
		return usable == 0;
	direct = kmalloc(c.bs);
	if (direct == NULL || bcache_get(c.bc, ST_FAR_BLOCK + 3, &b) != 0) {
		kfree(direct);
		bcache_destroy(c.bc);
		return false;
	}
	bcache_put(b);
	bios = st_bios(c.dev);
	bcache_prefetch_run(c.bc, ST_FAR_BLOCK, 10);
	for (uint32_t i = 0; i < 10 && ok; i++) {
		struct bio_seg seg = { direct, c.bs };
		struct bio bio;

		bio_init_rw(&bio, c.dev, BIO_OP_READ, (uint64_t)(ST_FAR_BLOCK + i) * (c.bs / SECTOR_SIZE), &seg, 1, NULL,
			    NULL);
		ok = submit_bio_wait(&bio) == 0 && bcache_get(c.bc, ST_FAR_BLOCK + i, &b) == 0;
		if (ok) {
			ok = memcmp(bcache_data(b), direct, c.bs) == 0;
			bcache_put(b);
		}
	}
	bcache_get_stats(c.bc, &st);
	/* 2 prefetch bios, then the 10 direct reads of the check. */
	if (!ok || st_bios(c.dev) - bios != 2u + 10u || st.prefetches != 9 || st.misses != 1 || st.ra_hits != 9) {
		kprintf("# ok %d bios %llu prefetches %llu misses %llu ra_hits %llu\n", ok,
			(unsigned long long)(st_bios(c.dev) - bios), (unsigned long long)st.prefetches,
			(unsigned long long)st.misses, (unsigned long long)st.ra_hits);
		ok = false;
	}
	kfree(direct);
	bcache_destroy(c.bc);
	return ok;
}
SELFTEST("fs.bcache.prefetch_run", st_prefetch_run);

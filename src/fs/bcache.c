/*
 * The buffer cache, see bcache.h.
 *
 * Every buffer is in exactly one of these places, all under bc->lock:
 *   - hashed by block number (state READING, UPTODATE or ERROR), or not
 *     (state EMPTY: never used, or forgotten after an error);
 *   - on the LRU list when nobody pins it (refs == 0), oldest release first,
 *     READING ones included (a prefetch in flight), which eviction skips.
 * A buffer's block number and data change only while it is unpinned, not
 * READING, and taken off the LRU and the hash under the lock; so a pinned
 * buffer's data is stable for its holders without any lock.
 *
 * Sleeping: a get waits for a read through the buffer's completion
 * (complete_all in end_io; reinit_completion only while no one can wait on
 * it, i.e. before the buffer is hashed for its next read). A get that finds
 * no evictable buffer sleeps on bc->free_wq: it masks IRQs before dropping
 * the spinlock and keeps them masked into waitq_sleep_locked, so a put (which
 * wakes free_wq after dropping the lock) cannot slip in between the check
 * and the sleep on the one CPU the kernel runs on.
 */
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/kern/completion.h>
#include <levblk/kern/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#include "bcache.h"

enum bcache_state {
	BUF_EMPTY,
	BUF_READING,
	BUF_UPTODATE,
	BUF_ERROR,
};

struct bcache_buf {
	struct bcache *bc;
	uint8_t *data;
	uint64_t blkno;
	uint32_t refs;               /* pins */
	uint8_t state;               /* enum bcache_state */
	int err;                     /* the failed read's status, in state ERROR */
	struct bcache_buf *hash_next;
	struct bcache_buf *lru_prev, *lru_next;
	bool on_lru;
	bool prefetched;             /* read by bcache_prefetch and not asked for since */
	struct completion io_done;   /* completed (all) when the read in flight ends */
	struct bio bio;
	struct bio_seg seg;
};

struct bcache {
	struct blkdev *dev;
	uint32_t block_bytes;
	uint32_t sectors_per_block;
	uint64_t nblocks;             /* blocks of this size on the device */
	uint32_t nbufs;
	struct bcache_buf *bufs;
	struct bcache_buf **hash;     /* nhash buckets, singly linked */
	uint32_t nhash;               /* a power of two */
	struct bcache_buf *lru_head, *lru_tail; /* head: evicted first */
	spinlock_t lock;              /* everything above that changes; taken from end_io too */
	struct waitq free_wq;         /* gets waiting for a buffer to become evictable */
	struct bcache_stats st;       /* under lock */
};

/*
 * One bio reading adjacent blocks into their buffers (bcache_prefetch_run).
 * Allocated by the thread that starts it, freed by its end_io.
 */
struct bcache_run {
	struct bcache *bc;
	struct bio bio;
	uint32_t n;
	struct bcache_buf *bufs[BCACHE_RUN_MAX];
	struct bio_seg segs[BCACHE_RUN_MAX];
};

/* fs.cache_kib: the buffer cache's budget per mounted file system. */
uint64_t fs_param_cache_kib = 4096;
PARAM_U64("fs.cache_kib", fs_param_cache_kib, 64, 1024 * 1024, "buffer cache size per mount, KiB");

static uint32_t hash_slot(const struct bcache *bc, uint64_t blkno);
static struct bcache_buf *hash_find(struct bcache *bc, uint64_t blkno);
static void hash_remove(struct bcache *bc, struct bcache_buf *b);
static void lru_remove(struct bcache *bc, struct bcache_buf *b);
static void lru_add_tail(struct bcache *bc, struct bcache_buf *b);
static struct bcache_buf *take_victim(struct bcache *bc, uint64_t blkno);
static void start_read(struct bcache *bc, struct bcache_buf *b);
static void bcache_end_io(struct bio *bio);
static bool read_ended_locked(struct bcache *bc, struct bcache_buf *b, int status);
static void bcache_run_end_io(struct bio *bio);

const uint8_t *bcache_data(const struct bcache_buf *b)
{
	return b->data;
}

static uint32_t hash_slot(const struct bcache *bc, uint64_t blkno)
{
	/* Fibonacci hashing: consecutive blocks spread over the table. */
	return (uint32_t)((blkno * 0x9E3779B97F4A7C15ull) >> 32) & (bc->nhash - 1u);
}

static struct bcache_buf *hash_find(struct bcache *bc, uint64_t blkno)
{
	for (struct bcache_buf *b = bc->hash[hash_slot(bc, blkno)]; b != NULL; b = b->hash_next)
		if (b->blkno == blkno)
			return b;
	return NULL;
}

static void hash_remove(struct bcache *bc, struct bcache_buf *b)
{
	struct bcache_buf **pp = &bc->hash[hash_slot(bc, b->blkno)];

	while (*pp != b)
		pp = &(*pp)->hash_next;
	*pp = b->hash_next;
	b->hash_next = NULL;
	b->state = BUF_EMPTY;
}

static void lru_remove(struct bcache *bc, struct bcache_buf *b)
{
	if (!b->on_lru)
		return;
	if (b->lru_prev != NULL)
		b->lru_prev->lru_next = b->lru_next;
	else
		bc->lru_head = b->lru_next;
	if (b->lru_next != NULL)
		b->lru_next->lru_prev = b->lru_prev;
	else
		bc->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
	b->on_lru = false;
}

static void lru_add_tail(struct bcache *bc, struct bcache_buf *b)
{
	b->lru_next = NULL;
	b->lru_prev = bc->lru_tail;
	if (bc->lru_tail != NULL)
		bc->lru_tail->lru_next = b;
	else
		bc->lru_head = b;
	bc->lru_tail = b;
	b->on_lru = true;
}

/*
 * Under bc->lock: the least recently released buffer that is not being
 * read, taken off the LRU and the hash and hashed again for blkno, pinned
 * once and READING; or NULL if every buffer is pinned or being read.
 */
static struct bcache_buf *take_victim(struct bcache *bc, uint64_t blkno)
{
	struct bcache_buf *b = bc->lru_head;

	while (b != NULL && b->state == BUF_READING)
		b = b->lru_next;
	if (b == NULL)
		return NULL;
	lru_remove(bc, b);
	if (b->state != BUF_EMPTY) {
		hash_remove(bc, b);
		bc->st.evictions++;
	}
	if (b->prefetched) {
		bc->st.ra_wasted++;
		b->prefetched = false;
	}
	b->blkno = blkno;
	b->hash_next = bc->hash[hash_slot(bc, blkno)];
	bc->hash[hash_slot(bc, blkno)] = b;
	b->state = BUF_READING;
	b->err = 0;
	/* Nobody can be waiting on io_done: the buffer was neither pinned nor READING. */
	reinit_completion(&b->io_done);
	return b;
}

static void start_read(struct bcache *bc, struct bcache_buf *b)
{
	b->seg.va = b->data;
	b->seg.len = bc->block_bytes;
	bio_init_rw(&b->bio, bc->dev, BIO_OP_READ, b->blkno * bc->sectors_per_block, &b->seg, 1, bcache_end_io,
		    b);
	submit_bio(&b->bio);
}

/*
 * Under bc->lock: the read into b ended with status. Returns whether b is
 * now evictable (nobody pins it), so that waiters for a free buffer are woken
 * once the lock is dropped.
 */
static bool read_ended_locked(struct bcache *bc, struct bcache_buf *b, int status)
{
	if (status == 0) {
		b->state = BUF_UPTODATE;
	} else {
		b->state = BUF_ERROR;
		b->err = status;
		bc->st.read_errors++;
		if (b->refs == 0) {
			/* A prefetch nobody waits for: forget it, the next get reads again. */
			hash_remove(bc, b);
		}
		if (b->prefetched) {
			bc->st.ra_wasted++;
			b->prefetched = false;
		}
	}
	return b->refs == 0;
}

/* Interrupt context (or the submitter's, for a bio refused at once). */
static void bcache_end_io(struct bio *bio)
{
	struct bcache_buf *b = bio->bio_private;
	struct bcache *bc = b->bc;
	irqflags_t flags = spin_lock_irqsave(&bc->lock);
	bool evictable = read_ended_locked(bc, b, bio->bio_status);

	spin_unlock_irqrestore(&bc->lock, flags);
	complete_all(&b->io_done);
	if (evictable)
		waitq_wake_all(&bc->free_wq);
}

/* The end of a run's bio: every block of the run ends with its status; then the run is freed. */
static void bcache_run_end_io(struct bio *bio)
{
	struct bcache_run *run = bio->bio_private;
	struct bcache *bc = run->bc;
	irqflags_t flags = spin_lock_irqsave(&bc->lock);
	bool evictable = false;

	for (uint32_t i = 0; i < run->n; i++)
		evictable |= read_ended_locked(bc, run->bufs[i], bio->bio_status);
	spin_unlock_irqrestore(&bc->lock, flags);
	for (uint32_t i = 0; i < run->n; i++)
		complete_all(&run->bufs[i]->io_done);
	if (evictable)
		waitq_wake_all(&bc->free_wq);
	kfree(run);
}

int bcache_create(struct blkdev *dev, uint32_t block_bytes, uint64_t budget_bytes, struct bcache **out)
{
	const struct blkdev_info *info = blkdev_info(dev);
	struct bcache *bc;
	uint64_t nbufs = budget_bytes / block_bytes;

	if (block_bytes < SECTOR_SIZE || block_bytes > 4096u || (block_bytes & (block_bytes - 1u)) != 0 ||
	    block_bytes % info->lbs != 0)
		return -EINVAL;
	if (nbufs < BCACHE_MIN_BUFS)
		nbufs = BCACHE_MIN_BUFS;
	bc = kzalloc(sizeof(*bc));
	if (bc == NULL)
		return -ENOMEM;
	bc->dev = dev;
	bc->block_bytes = block_bytes;
	bc->sectors_per_block = block_bytes / SECTOR_SIZE;
	bc->nblocks = info->capacity / bc->sectors_per_block;
	bc->nbufs = (uint32_t)nbufs;
	bc->st.bufs = bc->nbufs;
	for (bc->nhash = 1; bc->nhash < bc->nbufs; bc->nhash <<= 1)
		;
	spin_init(&bc->lock, "bcache");
	waitq_init(&bc->free_wq);
	bc->bufs = kzalloc(sizeof(*bc->bufs) * bc->nbufs);
	bc->hash = kzalloc(sizeof(*bc->hash) * bc->nhash);
	if (bc->bufs == NULL || bc->hash == NULL)
		goto err_free;
	for (uint32_t i = 0; i < bc->nbufs; i++) {
		struct bcache_buf *b = &bc->bufs[i];
		b->bc = bc;
		b->data = kmalloc(block_bytes);
		if (b->data == NULL)
			goto err_free;
		completion_init(&b->io_done);
		lru_add_tail(bc, b);
	}
	*out = bc;
	return 0;

err_free:
	bcache_destroy(bc);
	return -ENOMEM;
}

void bcache_destroy(struct bcache *bc)
{
	if (bc->bufs != NULL) {
		for (uint32_t i = 0; i < bc->nbufs; i++) {
			struct bcache_buf *b = &bc->bufs[i];
			/* A prefetch still in flight writes into data: wait for it first. */
			if (b->data != NULL && b->state == BUF_READING)
				wait_for_completion(&b->io_done);
			kfree(b->data);
		}
	}
	kfree(bc->bufs);
	kfree(bc->hash);
	kfree(bc);
}

int bcache_get(struct bcache *bc, uint64_t blkno, struct bcache_buf **out)
{
	struct bcache_buf *b;
	irqflags_t outer, flags;
	bool issue = false;
	int err;

	if (blkno >= bc->nblocks)
		return -EINVAL;
	/* IRQs stay masked from the look-up to a possible sleep on free_wq (see the file comment). */
	outer = irq_save();
	for (;;) {
		flags = spin_lock_irqsave(&bc->lock);
		b = hash_find(bc, blkno);
		if (b != NULL) {
			b->refs++;
			lru_remove(bc, b);
			if (b->prefetched) {
				bc->st.ra_hits++;
				b->prefetched = false;
			}
			if (b->state == BUF_UPTODATE) {
				bc->st.hits++;
			} else if (b->state == BUF_READING) {
				bc->st.waits++;
			} else {
				/* A failed read that someone still holds: read again for this get. */
				b->state = BUF_READING;
				b->err = 0;
				reinit_completion(&b->io_done);
				bc->st.misses++;
				issue = true;
			}
			spin_unlock_irqrestore(&bc->lock, flags);
			break;
		}
		b = take_victim(bc, blkno);
		if (b != NULL) {
			b->refs = 1;
			bc->st.misses++;
			issue = true;
			spin_unlock_irqrestore(&bc->lock, flags);
			break;
		}
		/* Every buffer pinned or being read: wait for a put or a prefetch to end. */
		spin_unlock_irqrestore(&bc->lock, flags);
		waitq_sleep_locked(&bc->free_wq);
	}
	irq_restore(outer);

	if (issue)
		start_read(bc, b);
	wait_for_completion(&b->io_done);
	/* The read has ended; state changes again only once the buffer is unpinned. */
	if (b->state == BUF_UPTODATE) {
		*out = b;
		return 0;
	}
	err = b->err != 0 ? b->err : -EIO;
	bcache_put(b);
	return err;
}

void bcache_put(struct bcache_buf *b)
{
	struct bcache *bc = b->bc;
	irqflags_t flags = spin_lock_irqsave(&bc->lock);
	bool freed = false;

	if (--b->refs == 0) {
		if (b->state == BUF_ERROR)
			hash_remove(bc, b);
		lru_add_tail(bc, b);
		freed = true;
	}
	spin_unlock_irqrestore(&bc->lock, flags);
	if (freed)
		waitq_wake_all(&bc->free_wq);
}

void bcache_prefetch(struct bcache *bc, uint64_t blkno)
{
	struct bcache_buf *b = NULL;
	irqflags_t flags;

	if (blkno >= bc->nblocks)
		return;
	flags = spin_lock_irqsave(&bc->lock);
	if (hash_find(bc, blkno) == NULL) {
		b = take_victim(bc, blkno);
		if (b != NULL) {
			/* Unpinned but READING: on the LRU, where eviction skips it until the read ends. */
			lru_add_tail(bc, b);
			b->prefetched = true;
			bc->st.prefetches++;
		}
	}
	spin_unlock_irqrestore(&bc->lock, flags);
	if (b != NULL)
		start_read(bc, b);
}

void bcache_prefetch_run(struct bcache *bc, uint64_t blkno, uint32_t count)
{
	while (count > 0) {
		struct bcache_run *run = kmalloc(sizeof(*run));
		uint64_t first = blkno;
		irqflags_t flags;

		if (run == NULL) {
			/* No memory for a run: block by block, which needs none. */
			for (; count > 0; count--)
				bcache_prefetch(bc, blkno++);
			return;
		}
		run->bc = bc;
		run->n = 0;
		flags = spin_lock_irqsave(&bc->lock);
		/* Skip what is cached or being read; then take buffers for blocks that are neither. */
		while (count > 0 && blkno < bc->nblocks && hash_find(bc, blkno) != NULL) {
			blkno++;
			count--;
		}
		first = blkno;
		while (count > 0 && run->n < BCACHE_RUN_MAX && blkno < bc->nblocks && hash_find(bc, blkno) == NULL) {
			struct bcache_buf *b = take_victim(bc, blkno);
			if (b == NULL) {
				count = 0; /* nothing to give up: stop prefetching */
				break;
			}
			lru_add_tail(bc, b);
			b->prefetched = true;
			bc->st.prefetches++;
			run->bufs[run->n] = b;
			run->segs[run->n] = (struct bio_seg){ b->data, bc->block_bytes };
			run->n++;
			blkno++;
			count--;
		}
		spin_unlock_irqrestore(&bc->lock, flags);
		if (run->n == 0) {
			kfree(run);
			if (blkno >= bc->nblocks)
				return;
			continue;
		}
		bio_init_rw(&run->bio, bc->dev, BIO_OP_READ, first * bc->sectors_per_block, run->segs, run->n,
			    bcache_run_end_io, run);
		submit_bio(&run->bio);
	}
}

void bcache_get_stats(struct bcache *bc, struct bcache_stats *out)
{
	irqflags_t flags = spin_lock_irqsave(&bc->lock);

	*out = bc->st;
	spin_unlock_irqrestore(&bc->lock, flags);
}

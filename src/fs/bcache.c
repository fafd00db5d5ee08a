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
 * Writing (write-back): a block's data may change only between
 * bcache_write_begin, which waits until no write of it is in flight, and
 * bcache_write_end; write-back skips blocks in that window (writers > 0).
 * So the data a write bio carries never changes under it. A dirty block, or
 * one being written, is never evicted; it is clean again only when a write
 * of it succeeded. A failed write leaves it dirty and records the error for
 * the next bcache_sync. Write-back submits in block order under a plug:
 * the oldest dirty blocks (fs.writeback_ms) from a thread per cache, all of
 * them when a get finds no clean block to evict, and all at bcache_sync.
 * A failed write of a block marked meta sets bc->stopped (in end_io, under
 * the lock); from then on no pass and no sync submits anything, so the disk
 * is left as it was before that write.
 *
 * Sleeping: a get waits for a read through the buffer's completion
 * (complete_all in end_io; reinit_completion only while no one can wait on
 * it, i.e. before the buffer is hashed for its next read). A get that finds
 * no evictable buffer sleeps on bc->free_wq: it takes the wait lock
 * (waitq_lock_irqsave) before bc->lock and keeps it into waitq_sleep_locked,
 * so a put (which wakes free_wq, taking the wait lock, after dropping
 * bc->lock) cannot slip in between the check and the sleep, on any CPU.
 * Lock order: the wait lock, then bc->lock; so nothing that takes the wait
 * lock (complete, complete_all, waitq_wake_*) is called under bc->lock
 * (reinit_completion takes no lock).
 */
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/completion.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/kmalloc.h>
#include <levblk/mutex.h>
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
	bool dirty;                  /* data newer than the disk's */
	bool writing;                /* a write of it is in flight (b->bio) */
	bool write_failed;           /* dirty, and its last write failed */
	bool meta;                   /* dirty with file system metadata (bcache_mark_dirty) */
	uint32_t writers;            /* threads between bcache_write_begin and bcache_write_end */
	uint64_t dirty_ns;           /* clock_ns() when it became dirty */
	struct completion io_done;   /* completed (all) when the read in flight ends */
	struct bio bio;
	struct bio_seg seg;
};

struct bcache {
	struct blkdev *dev;
	uint32_t block_bytes;
	uint32_t sectors_per_block;
	uint64_t nblocks;             /* blocks of this size on the device */
	uint32_t run_max;             /* blocks one prefetch bio reads at most: one whole request of the device */
	uint32_t nbufs;
	struct bcache_buf *bufs;
	struct bcache_buf **hash;     /* nhash buckets, singly linked */
	uint32_t nhash;               /* a power of two */
	struct bcache_buf *lru_head, *lru_tail; /* head: evicted first */
	spinlock_t lock;              /* everything above that changes; taken from end_io too */
	struct waitq free_wq;         /* gets waiting for a buffer to become evictable */
	uint32_t free_waiters;        /* gets asleep (or about to be) on free_wq, under lock: puts wake only then */
	struct bcache_stats st;       /* under lock */
	/* Write-back. */
	uint32_t nwriting;            /* writes in flight, under lock */
	uint32_t nfailed;             /* dirty blocks whose last write failed, under lock */
	int wb_err;                   /* first write error since bcache_sync last returned one, under lock */
	bool wb_urgent;               /* a get found no clean block: write everything, under lock */
	struct waitq wb_wq;           /* threads waiting for a write to end */
	struct mutex wb_mutex;        /* one write-back pass at a time; guards wb_batch and wb_thread */
	struct bcache_buf **wb_batch; /* nbufs slots: the blocks of one pass */
	struct thread *wb_thread;     /* started at the first bcache_mark_dirty */
	volatile bool wb_stop;
	struct completion wb_kick;    /* wakes the thread early */
	bool stopped;                 /* a metadata write failed: nothing is written any more, under lock */
	bcache_write_error_fn *werr_fn; /* set before the first write */
	void *werr_ctx;
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
/* fs.writeback_ms: the age at which a dirty block is written back. */
uint64_t fs_param_writeback_ms = 1000;
PARAM_U64("fs.writeback_ms", fs_param_writeback_ms, 1, 600000, "age of a dirty block when written back, ms");

#define BCACHE_NS_PER_MS 1000000ull

static uint32_t hash_slot(const struct bcache *bc, uint64_t blkno);
static struct bcache_buf *hash_find(struct bcache *bc, uint64_t blkno);
static void hash_remove(struct bcache *bc, struct bcache_buf *b);
static void lru_remove(struct bcache *bc, struct bcache_buf *b);
static void lru_add_tail(struct bcache *bc, struct bcache_buf *b);
static struct bcache_buf *take_victim(struct bcache *bc, uint64_t blkno);
static void take_hit_locked(struct bcache *bc, struct bcache_buf *b);
static void start_read(struct bcache *bc, struct bcache_buf *b);
static void bcache_end_io(struct bio *bio);
static bool read_ended_locked(struct bcache *bc, struct bcache_buf *b, int status);
static void wb_end_io(struct bio *bio);
static void wb_sort(struct bcache_buf **a, uint32_t n);
static void wb_pass(struct bcache *bc, bool all);
static void wb_thread_fn(void *arg);
static void bcache_run_end_io(struct bio *bio);

const uint8_t *bcache_data(const struct bcache_buf *b)
{
	return b->data;
}

uint8_t *bcache_data_mut(struct bcache_buf *b)
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

	/* Unpinned but being read, dirty or being written: not evictable. */
	while (b != NULL && (b->state == BUF_READING || b->dirty || b->writing))
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

/* Under bc->lock: a get found b cached and up to date: pinned, off the LRU, counted. */
static void take_hit_locked(struct bcache *bc, struct bcache_buf *b)
{
	b->refs++;
	lru_remove(bc, b);
	if (b->prefetched) {
		bc->st.ra_hits++;
		b->prefetched = false;
	}
	bc->st.hits++;
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
	/* A run as large as one request can carry (a block per segment), so a prefetch bio is never split. */
	bc->run_max = BCACHE_RUN_MAX;
	if (info->limits.max_segs != 0 && bc->run_max > info->limits.max_segs)
		bc->run_max = info->limits.max_segs;
	if (info->limits.max_sectors / bc->sectors_per_block != 0 &&
	    bc->run_max > info->limits.max_sectors / bc->sectors_per_block)
		bc->run_max = info->limits.max_sectors / bc->sectors_per_block;
	bc->nbufs = (uint32_t)nbufs;
	bc->st.bufs = bc->nbufs;
	for (bc->nhash = 1; bc->nhash < bc->nbufs; bc->nhash <<= 1)
		;
	spin_init(&bc->lock, "bcache");
	waitq_init(&bc->free_wq);
	waitq_init(&bc->wb_wq);
	mutex_init(&bc->wb_mutex, "bcache-wb");
	completion_init(&bc->wb_kick);
	bc->bufs = kzalloc(sizeof(*bc->bufs) * bc->nbufs);
	bc->hash = kzalloc(sizeof(*bc->hash) * bc->nhash);
	bc->wb_batch = kmalloc(sizeof(*bc->wb_batch) * bc->nbufs);
	if (bc->bufs == NULL || bc->hash == NULL || bc->wb_batch == NULL)
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
	if (bc->wb_thread != NULL) {
		bc->wb_stop = true;
		complete(&bc->wb_kick);
		thread_join(bc->wb_thread);
	}
	if (bc->bufs != NULL) {
		for (uint32_t i = 0; i < bc->nbufs; i++) {
			struct bcache_buf *b = &bc->bufs[i];
			/* A prefetch still in flight writes into data: wait for it first. */
			if (b->data != NULL && b->state == BUF_READING)
				wait_for_completion(&b->io_done);
			/* A write in flight reads data: wait for it too (bcache_sync first writes everything). */
			while (b->data != NULL && b->writing) {
				irqflags_t outer = waitq_lock_irqsave();
				if (__atomic_load_n(&b->writing, __ATOMIC_ACQUIRE))
					waitq_sleep_locked(&bc->wb_wq);
				waitq_unlock_irqrestore(outer);
			}
			kfree(b->data);
		}
	}
	kfree(bc->bufs);
	kfree(bc->hash);
	kfree(bc->wb_batch);
	kfree(bc);
}

int bcache_get(struct bcache *bc, uint64_t blkno, struct bcache_buf **out)
{
	struct bcache_buf *b;
	irqflags_t outer, flags;
	bool issue = false, ready = false;
	int err;

	if (blkno >= bc->nblocks)
		return -EINVAL;
	/*
	 * The common case first, in one lock round trip: the block cached and
	 * up to date. Nothing here sleeps, so IRQs need no mask beyond the
	 * lock's (each change of the mask costs an exit from QEMU's translated
	 * code); anything else takes the path below.
	 */
	flags = spin_lock_irqsave(&bc->lock);
	b = hash_find(bc, blkno);
	if (b != NULL && b->state == BUF_UPTODATE) {
		take_hit_locked(bc, b);
		spin_unlock_irqrestore(&bc->lock, flags);
		*out = b;
		return 0;
	}
	spin_unlock_irqrestore(&bc->lock, flags);
retry:
	/* The wait lock is held from the look-up to a possible sleep on free_wq (see the file comment). */
	outer = waitq_lock_irqsave();
	for (;;) {
		flags = spin_lock_irqsave(&bc->lock);
		b = hash_find(bc, blkno);
		if (b != NULL && b->state == BUF_UPTODATE) {
			/* Up to date since the look-up above: no read to wait for. */
			take_hit_locked(bc, b);
			ready = true;
			spin_unlock_irqrestore(&bc->lock, flags);
			break;
		}
		if (b != NULL) {
			b->refs++;
			lru_remove(bc, b);
			if (b->prefetched) {
				bc->st.ra_hits++;
				b->prefetched = false;
			}
			if (b->state == BUF_READING) {
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
		/*
		 * Every buffer pinned, being read or dirty: wait for a put, a read
		 * or a write to end; dirty blocks are written at once.
		 */
		if (bc->st.dirty != 0 && bc->nwriting == 0 && (bc->nfailed == bc->st.dirty || bc->stopped)) {
			/* Nothing clean, and the dirty blocks cannot be written: waiting would never end. */
			spin_unlock_irqrestore(&bc->lock, flags);
			waitq_unlock_irqrestore(outer);
			return -EIO;
		}
		bool kick = bc->st.dirty != 0 && bc->wb_thread != NULL;
		bool write_here = bc->st.dirty != 0 && bc->wb_thread == NULL;
		if (kick)
			bc->wb_urgent = true;
		if (!write_here)
			bc->free_waiters++; /* before the lock goes: a put from now on wakes us */
		spin_unlock_irqrestore(&bc->lock, flags);
		if (write_here) {
			/* No write-back thread (none could be started): write them from here, then look again. */
			waitq_unlock_irqrestore(outer);
			mutex_lock(&bc->wb_mutex);
			wb_pass(bc, true);
			mutex_unlock(&bc->wb_mutex);
			goto retry;
		}
		if (kick)
			complete(&bc->wb_kick);
		waitq_sleep_locked(&bc->free_wq);
		flags = spin_lock_irqsave(&bc->lock);
		bc->free_waiters--;
		spin_unlock_irqrestore(&bc->lock, flags);
	}
	waitq_unlock_irqrestore(outer);

	if (ready) {
		*out = b;
		return 0;
	}
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
		freed = bc->free_waiters != 0;
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
		while (count > 0 && run->n < bc->run_max && blkno < bc->nblocks && hash_find(bc, blkno) == NULL) {
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

int bcache_get_new(struct bcache *bc, uint64_t blkno, struct bcache_buf **out)
{
	struct bcache_buf *b;
	irqflags_t flags;

	if (blkno >= bc->nblocks)
		return -EINVAL;
	flags = spin_lock_irqsave(&bc->lock);
	b = hash_find(bc, blkno);
	if (b == NULL)
		b = take_victim(bc, blkno);
	if (b != NULL && b->state == BUF_READING && b->refs == 0 && !b->on_lru) {
		/* Just taken: no read in flight, nobody else knows it. The whole block is the caller's to fill. */
		b->refs = 1;
		b->state = BUF_UPTODATE;
		memset(b->data, 0, bc->block_bytes);
		spin_unlock_irqrestore(&bc->lock, flags);
		/* After bc->lock (lock order, file comment): a get that found it meanwhile waits for this. */
		complete_all(&b->io_done);
		*out = b;
		return 0;
	}
	spin_unlock_irqrestore(&bc->lock, flags);
	/* Cached already (or no buffer free right now): the ordinary get, which reads or waits. */
	return bcache_get(bc, blkno, out);
}

void bcache_write_begin(struct bcache_buf *b)
{
	struct bcache *bc = b->bc;
	irqflags_t outer = waitq_lock_irqsave(), flags;

	for (;;) {
		flags = spin_lock_irqsave(&bc->lock);
		if (!b->writing) {
			b->writers++;
			spin_unlock_irqrestore(&bc->lock, flags);
			break;
		}
		spin_unlock_irqrestore(&bc->lock, flags);
		waitq_sleep_locked(&bc->wb_wq); /* wait lock held since the check: the end of the write wakes us */
	}
	waitq_unlock_irqrestore(outer);
}

void bcache_write_end(struct bcache_buf *b)
{
	struct bcache *bc = b->bc;
	irqflags_t flags = spin_lock_irqsave(&bc->lock);

	b->writers--;
	spin_unlock_irqrestore(&bc->lock, flags);
}

void bcache_mark_dirty(struct bcache_buf *b, bool meta)
{
	struct bcache *bc = b->bc;
	irqflags_t flags = spin_lock_irqsave(&bc->lock);

	b->meta |= meta;
	if (!b->dirty) {
		b->dirty = true;
		b->dirty_ns = clock_ns();
		bc->st.dirty++;
	}
	spin_unlock_irqrestore(&bc->lock, flags);
	if (bc->wb_thread == NULL) {
		mutex_lock(&bc->wb_mutex);
		if (bc->wb_thread == NULL) {
			bc->wb_thread = thread_create("bcache-wb", wb_thread_fn, bc);
			if (bc->wb_thread == NULL)
				kprintf("bcache: no thread for write-back: dirty blocks are written when the cache fills or syncs\n");
		}
		mutex_unlock(&bc->wb_mutex);
	}
}

/* Interrupt context: a write-back bio ended. */
static void wb_end_io(struct bio *bio)
{
	struct bcache_buf *b = bio->bio_private;
	struct bcache *bc = b->bc;
	irqflags_t flags = spin_lock_irqsave(&bc->lock);
	bool evictable, meta = b->meta;
	uint64_t blkno = b->blkno;
	int status = bio->bio_status;

	b->writing = false;
	bc->nwriting--;
	if (b->write_failed) {
		b->write_failed = false;
		bc->nfailed--;
	}
	if (status == 0) {
		/* Changed again since the bio was built? No: writers > 0 kept write-back away, see the file comment. */
		b->dirty = false;
		b->meta = false;
		bc->st.dirty--;
		bc->st.writes++;
	} else {
		b->write_failed = true;
		bc->nfailed++;
		/* Kept dirty: written again by the next pass; the error goes to the next bcache_sync. */
		bc->st.write_errors++;
		if (bc->wb_err == 0)
			bc->wb_err = status;
		if (meta)
			bc->stopped = true;
	}
	evictable = b->refs == 0 && !b->dirty;
	spin_unlock_irqrestore(&bc->lock, flags);
	if (status != 0 && bc->werr_fn != NULL)
		bc->werr_fn(bc->werr_ctx, blkno, meta, status);
	waitq_wake_all(&bc->wb_wq);
	if (evictable)
		waitq_wake_all(&bc->free_wq);
}

/* Heapsort by block number: the batch goes out in disk order, so the plug and the elevator merge it. */
static void wb_sort(struct bcache_buf **a, uint32_t n)
{
	for (uint32_t end = n; end > 1; end--) {
		/* Build (first round) or restore the max-heap over a[0..end), then move its top to the end. */
		for (uint32_t start = (end == n ? end / 2u : 1u); start-- > 0;) {
			uint32_t root = start;
			for (;;) {
				uint32_t child = 2u * root + 1u;
				if (child >= end)
					break;
				if (child + 1u < end && a[child + 1u]->blkno > a[child]->blkno)
					child++;
				if (a[root]->blkno >= a[child]->blkno)
					break;
				struct bcache_buf *t = a[root];
				a[root] = a[child];
				a[child] = t;
				root = child;
			}
			if (end != n)
				break; /* after the first round only the root moved: one sift-down restores the heap */
		}
		struct bcache_buf *t = a[0];
		a[0] = a[end - 1u];
		a[end - 1u] = t;
	}
}

/*
 * One write-back pass, under wb_mutex: every dirty block not being written
 * or modified, either all of them or those dirty for fs.writeback_ms, in
 * block order under a plug. Does not wait for the writes.
 */
static void wb_pass(struct bcache *bc, bool all)
{
	uint64_t now = clock_ns(), age = fs_param_writeback_ms * BCACHE_NS_PER_MS;
	struct blk_plug plug;
	irqflags_t flags;
	uint32_t n = 0;

	mutex_assert_held(&bc->wb_mutex);
	flags = spin_lock_irqsave(&bc->lock);
	if (bc->wb_urgent) {
		all = true;
		bc->wb_urgent = false;
	}
	for (uint32_t i = 0; i < bc->nbufs && !bc->stopped; i++) {
		struct bcache_buf *b = &bc->bufs[i];
		if (b->dirty && !b->writing && b->writers == 0 && (all || now - b->dirty_ns >= age)) {
			b->writing = true;
			bc->nwriting++;
			bc->wb_batch[n++] = b;
		}
	}
	spin_unlock_irqrestore(&bc->lock, flags);
	wb_sort(bc->wb_batch, n);
	blk_start_plug(&plug);
	for (uint32_t i = 0; i < n; i++) {
		struct bcache_buf *b = bc->wb_batch[i];
		/* Not READING (it is dirty, so up to date) and not being read into: b->bio is free. */
		b->seg.va = b->data;
		b->seg.len = bc->block_bytes;
		bio_init_rw(&b->bio, bc->dev, BIO_OP_WRITE, b->blkno * bc->sectors_per_block, &b->seg, 1, wb_end_io, b);
		submit_bio(&b->bio);
	}
	blk_finish_plug(&plug);
}

/* The write-back thread: a pass every half fs.writeback_ms, or at once when kicked. */
static void wb_thread_fn(void *arg)
{
	struct bcache *bc = arg;

	while (!bc->wb_stop) {
		uint64_t period = fs_param_writeback_ms * BCACHE_NS_PER_MS / 2u;
		wait_for_completion_timeout(&bc->wb_kick, period != 0 ? period : BCACHE_NS_PER_MS);
		if (bc->wb_stop)
			break;
		mutex_lock(&bc->wb_mutex);
		wb_pass(bc, false);
		mutex_unlock(&bc->wb_mutex);
	}
}

int bcache_sync(struct bcache *bc)
{
	irqflags_t outer, flags;
	struct bio flush;
	int err, flush_err;

	mutex_lock(&bc->wb_mutex);
	wb_pass(bc, true);
	mutex_unlock(&bc->wb_mutex);
	/* Wait for every write in flight, ours and the thread's (also once stopped: they may still end). */
	outer = waitq_lock_irqsave();
	for (;;) {
		flags = spin_lock_irqsave(&bc->lock);
		bool busy = bc->nwriting != 0;
		spin_unlock_irqrestore(&bc->lock, flags);
		if (!busy)
			break;
		waitq_sleep_locked(&bc->wb_wq);
	}
	waitq_unlock_irqrestore(outer);
	if (bcache_stopped(bc))
		return -EIO; /* not even a flush: nothing reaches the disk after a failed metadata write */
	bio_init_nodata(&flush, bc->dev, BIO_OP_FLUSH, 0, 0, NULL, NULL);
	flush_err = submit_bio_wait(&flush);
	flags = spin_lock_irqsave(&bc->lock);
	err = bc->wb_err;
	bc->wb_err = 0;
	spin_unlock_irqrestore(&bc->lock, flags);
	return err != 0 ? err : flush_err;
}

void bcache_set_write_error_fn(struct bcache *bc, bcache_write_error_fn *fn, void *ctx)
{
	bc->werr_ctx = ctx;
	bc->werr_fn = fn;
}

bool bcache_stopped(struct bcache *bc)
{
	irqflags_t flags = spin_lock_irqsave(&bc->lock);
	bool stopped = bc->stopped;

	spin_unlock_irqrestore(&bc->lock, flags);
	return stopped;
}

uint32_t bcache_run_max(const struct bcache *bc)
{
	return bc->run_max;
}

void bcache_get_stats(struct bcache *bc, struct bcache_stats *out)
{
	irqflags_t flags = spin_lock_irqsave(&bc->lock);

	*out = bc->st;
	spin_unlock_irqrestore(&bc->lock, flags);
}

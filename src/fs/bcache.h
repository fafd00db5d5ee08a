/*
 * The buffer cache: file system blocks of one device, cached by block
 * number in a fixed budget (fs.cache_kib), read with asynchronous bios.
 *
 * A block is returned pinned (bcache_get) and stays in memory, unchanged,
 * until bcache_put. Rules:
 *   - Eviction is least-recently-released first and never takes a pinned
 *     block or one whose read is in flight.
 *   - One read per block: a thread that asks for a block already being read
 *     (by another thread or a prefetch) waits for that read instead of
 *     issuing a second one.
 *   - A failed read is returned to every thread waiting for it, and the block
 *     is forgotten once the last of them lets go, so the next get tries the
 *     disk again.
 *   - A thread holds at most BCACHE_PINS_PER_THREAD blocks at once; the cache
 *     has at least BCACHE_MIN_BUFS, so that with a bounded number of threads
 *     a get that finds every block pinned waits for a put instead of
 *     failing.
 *
 * Context: thread context only for everything here (gets may sleep); the
 * read completions run in interrupt context and take the cache's spinlock.
 * Block numbers are in units of the cache's block size; block b starts at
 * sector b * block_bytes / 512 of the device.
 */
#ifndef LEVBLK_FS_BCACHE_H
#define LEVBLK_FS_BCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/blkdev.h>

/* fs.cache_kib: the cache budget of each mount, KiB. */
extern uint64_t fs_param_cache_kib;
/* fs.writeback_ms: how old a dirty block gets before the write-back thread writes it. */
extern uint64_t fs_param_writeback_ms;

#define BCACHE_MIN_BUFS        32u
#define BCACHE_PINS_PER_THREAD 4u
#define BCACHE_RUN_MAX         128u /* blocks one prefetch bio reads at most (bcache_run_max) */

struct bcache;

/* A cached block as its users see it; the rest is private to bcache.c. */
struct bcache_buf;
const uint8_t *bcache_data(const struct bcache_buf *b);

struct bcache_stats {
	uint64_t hits;       /* gets served from memory */
	uint64_t misses;     /* gets that issued the read themselves */
	uint64_t waits;      /* gets that found the read in flight and waited for it */
	uint64_t prefetches; /* reads started by bcache_prefetch */
	uint64_t ra_hits;    /* prefetched blocks a get then asked for */
	uint64_t ra_wasted;  /* prefetched blocks evicted (or failed) before any get */
	uint64_t evictions;  /* cached blocks dropped for others */
	uint64_t read_errors;
	uint64_t writes;       /* blocks written back */
	uint64_t write_errors; /* block writes that failed (the block stays dirty) */
	uint64_t dirty;        /* gauge: dirty blocks now */
	uint32_t bufs;       /* blocks the budget holds */
};

/*
 * A cache of budget_bytes (at least BCACHE_MIN_BUFS blocks) for blocks of
 * block_bytes (a multiple of the device's logical block size, at most a
 * page). 0, -EINVAL or -ENOMEM.
 */
int bcache_create(struct blkdev *dev, uint32_t block_bytes, uint64_t budget_bytes, struct bcache **out);
/* Frees the cache; no block may be pinned. Waits for prefetches still in flight. */
void bcache_destroy(struct bcache *bc);
/* The block, read and pinned: 0, or the read's error (-EIO, ...), or -EINVAL past the device's end. */
int bcache_get(struct bcache *bc, uint64_t blkno, struct bcache_buf **out);
void bcache_put(struct bcache_buf *b);
/*
 * Starts reading the block if it is neither cached nor being read and a
 * block can be given up for it without waiting; never sleeps, never pins.
 */
void bcache_prefetch(struct bcache *bc, uint64_t blkno);
/*
 * bcache_prefetch for count adjacent blocks from blkno, with one bio per run
 * of adjacent blocks that are neither cached nor being read (at most
 * bcache_run_max blocks each). Never sleeps; thread context (it allocates).
 */
void bcache_prefetch_run(struct bcache *bc, uint64_t blkno, uint32_t count);
void bcache_get_stats(struct bcache *bc, struct bcache_stats *out);
/* Blocks one prefetch bio reads at most: BCACHE_RUN_MAX, or fewer if one request of the device carries fewer. */
uint32_t bcache_run_max(const struct bcache *bc);

/*
 * Writing. A block is changed in place by a thread that holds it pinned:
 *   bcache_get (or bcache_get_new for a block to be overwritten whole);
 *   bcache_write_begin(b): waits until no write of b is in flight;
 *   ... change bcache_data_mut(b) ...
 *   bcache_mark_dirty(b, meta) (at least once if anything changed);
 *   bcache_write_end(b); bcache_put(b).
 * Write-back never takes a block between write_begin and write_end, so the
 * data a write bio carries never changes under it. Dirty blocks are written
 * back in block order under a plug by a thread of the cache once they are
 * fs.writeback_ms old, or all at once when a get finds no clean block to
 * evict, or by bcache_sync. A failed write keeps the block dirty (tried
 * again by the next pass) and is returned by the next bcache_sync.
 *
 * meta marks a block whose loss would damage the file system's structure.
 * When a write of such a block fails the cache stops writing for good (no
 * pass, no sync writes or flushes anything any more: the disk keeps the
 * last consistent state it had) and the error callback says so; the blocks
 * stay dirty in memory. Thread context; bcache_destroy does not write (sync
 * first).
 */
int bcache_get_new(struct bcache *bc, uint64_t blkno, struct bcache_buf **out);
void bcache_write_begin(struct bcache_buf *b);
uint8_t *bcache_data_mut(struct bcache_buf *b);
void bcache_mark_dirty(struct bcache_buf *b, bool meta);
void bcache_write_end(struct bcache_buf *b);
/*
 * Writes every dirty block, waits for all writes in flight, then flushes
 * the device's cache. Returns 0, or the first write error since the last
 * bcache_sync (those blocks stay dirty), or the flush's error; -EIO without
 * writing anything once a metadata write has failed.
 */
int bcache_sync(struct bcache *bc);
/*
 * Called once for each failed block write, in interrupt context (no
 * sleeping): meta as marked, err the bio's status. For a metadata block the
 * cache has stopped writing before the call. Set before the first write.
 */
typedef void bcache_write_error_fn(void *ctx, uint64_t blkno, bool meta, int err);
void bcache_set_write_error_fn(struct bcache *bc, bcache_write_error_fn *fn, void *ctx);
/* Whether a metadata write failed and the cache writes nothing any more. */
bool bcache_stopped(struct bcache *bc);

#endif

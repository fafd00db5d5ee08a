/*
 * Mounted ext2 file systems for kernel threads (levblk/fs.h): mount and
 * unmount, the ext2 core's block source over the buffer cache (reads, and
 * writes marked as data or metadata), the superblock's state, the FSERR
 * lines for what the core finds damaged, the turn to read-only after a
 * failed metadata write, sync, and the clock for inode times.
 *
 * Superblock state on a read-write mount: before anything else changes,
 * s_state loses EXT2_VALID_FS on the disk (written and flushed), so a
 * machine that stops while mounted leaves a file system that e2fsck checks
 * in full. fs_unmount writes every dirty block and flushes, and only then
 * writes s_state with EXT2_VALID_FS (and EXT2_ERROR_FS if damage was found
 * while mounted or was recorded before) and flushes again.
 */
#include <levblk/bio.h>
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/rtc.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#include "fs_private.h"

/*
 * A reference handed out by get_mut is the buffer's address with this bit
 * set (buffers are at least 8-byte aligned): put() then ends the write
 * window that get_mut opened (bcache_write_end).
 */
#define FS_REF_MUT     ((uintptr_t)1u)
#define FS_NS_PER_SEC  1000000000ull

static int fs_block_get(void *ctx, uint32_t block, const uint8_t **data, void **ref);
static int fs_block_get_mut(void *ctx, uint32_t block, bool fresh, uint8_t **data, void **ref);
static void fs_block_dirty(void *ctx, void *ref, bool meta);
static void fs_block_put(void *ctx, void *ref);
static struct bcache_buf *ref_buf(void *ref);
static void fs_report(void *ctx, const struct ext2_fault *f);
static void fs_write_error(void *ctx, uint64_t blkno, bool meta, int err);
static uint32_t fs_now(void *ctx);
static int read_super(struct blkdev *dev, struct ext2_super *sb);
static int mount_check(struct fs *fs, struct ext2_super *sb, unsigned int flags, struct ext2_geom *g);
static int mount_mark_dirty(struct fs *fs);

static const struct ext2_blkio_ops fs_blkio = {
	.get = fs_block_get,
	.put = fs_block_put,
	.get_mut = fs_block_get_mut,
	.dirty = fs_block_dirty,
};

static struct bcache_buf *ref_buf(void *ref)
{
	return (struct bcache_buf *)((uintptr_t)ref & ~FS_REF_MUT);
}

static int fs_block_get(void *ctx, uint32_t block, const uint8_t **data, void **ref)
{
	struct fs *fs = ctx;
	struct bcache_buf *b;
	int err = bcache_get(fs->bc, block, &b);

	if (err != 0) {
		kprintf("FSERR dev=%s read of block %u failed (%d)\n", fs->name, block, err);
		return err;
	}
	*data = bcache_data(b);
	*ref = b;
	return 0;
}

/*
 * The block pinned and open for changes: no write of it is in flight and
 * write-back leaves it alone until the put. A fresh block is not read if it
 * is not cached, and zero-filled in any case.
 */
static int fs_block_get_mut(void *ctx, uint32_t block, bool fresh, uint8_t **data, void **ref)
{
	struct fs *fs = ctx;
	struct bcache_buf *b;
	int err;

	if (fs_writable(fs) != 0)
		return -EROFS;
	err = fresh ? bcache_get_new(fs->bc, block, &b) : bcache_get(fs->bc, block, &b);
	if (err != 0) {
		kprintf("FSERR dev=%s read of block %u failed (%d)\n", fs->name, block, err);
		return err;
	}
	bcache_write_begin(b);
	*data = bcache_data_mut(b);
	if (fresh)
		memset(*data, 0, fs->vol.g.block_bytes);
	*ref = (void *)((uintptr_t)b | FS_REF_MUT);
	return 0;
}

static void fs_block_dirty(void *ctx, void *ref, bool meta)
{
	(void)ctx;
	bcache_mark_dirty(ref_buf(ref), meta);
}

static void fs_block_put(void *ctx, void *ref)
{
	struct bcache_buf *b = ref_buf(ref);

	(void)ctx;
	if (((uintptr_t)ref & FS_REF_MUT) != 0)
		bcache_write_end(b);
	bcache_put(b);
}

static void fs_report(void *ctx, const struct ext2_fault *f)
{
	struct fs *fs = ctx;

	fs->errors = true;
	if (f->ino != 0)
		kprintf("FSERR dev=%s inode %u: %s (%llu)\n", fs->name, f->ino, f->what,
			(unsigned long long)f->value);
	else
		kprintf("FSERR dev=%s %s (%llu)\n", fs->name, f->what, (unsigned long long)f->value);
}

/*
 * The cache's write-error callback, in interrupt context. A metadata block
 * that could not be written leaves the disk's structures behind the
 * cache's: the cache has stopped writing (bcache.h), and every change is
 * refused from now on. A failed data write only reaches the next
 * fsync/sync (the block stays dirty and is tried again).
 */
static void fs_write_error(void *ctx, uint64_t blkno, bool meta, int err)
{
	struct fs *fs = ctx;

	if (!meta || fs->failed)
		return;
	fs->failed = true;
	fs->errors = true;
	kprintf("FSERR dev=%s metadata write of block %llu failed (%d): remounted read-only\n", fs->name,
		(unsigned long long)blkno, err);
}

/*
 * Seconds since 1970 from the PL031 real-time clock. Without one (a
 * machine whose device tree has none) the fallback is the seconds since
 * boot: times in the past, which e2fsck accepts, and still ordered.
 */
static uint32_t fs_now(void *ctx)
{
	uint64_t secs;

	(void)ctx;
	if (rtc_seconds(&secs) != 0)
		secs = clock_ns() / FS_NS_PER_SEC;
	return (uint32_t)secs;
}

int fs_writable(const struct fs *fs)
{
	return fs->rdonly || fs->failed ? -EROFS : 0;
}

/*
 * The 1024 superblock bytes at byte 1024 of the device, read in whole
 * logical blocks: sectors 2-3 when a logical block is at most 1 KiB, else
 * the first logical block, which holds them at offset 1024.
 */
static int read_super(struct blkdev *dev, struct ext2_super *sb)
{
	uint32_t lbs = blkdev_info(dev)->lbs;
	uint32_t len = lbs > EXT2_SUPER_OFFSET ? lbs : EXT2_SUPER_BYTES;
	uint32_t at = lbs > EXT2_SUPER_OFFSET ? EXT2_SUPER_OFFSET : 0;
	uint8_t *buf = kmalloc(len);
	struct bio_seg seg = { buf, len };
	struct bio b;
	int err;

	if (buf == NULL)
		return -ENOMEM;
	bio_init_rw(&b, dev, BIO_OP_READ, lbs > EXT2_SUPER_OFFSET ? 0 : EXT2_SUPER_OFFSET / SECTOR_SIZE, &seg, 1,
		    NULL, NULL);
	err = submit_bio_wait(&b);
	if (err == 0)
		memcpy(sb, buf + at, sizeof(*sb));
	kfree(buf);
	return err;
}

/* Reads and checks the superblock into *g; refusals print their reason. */
static int mount_check(struct fs *fs, struct ext2_super *sb, unsigned int flags, struct ext2_geom *g)
{
	const struct blkdev_info *info = blkdev_info(fs->dev);
	struct ext2_fault f;
	int err = read_super(fs->dev, sb);

	if (err != 0) {
		kprintf("FSERR dev=%s superblock read failed (%d)\n", fs->name, err);
		return err;
	}
	err = ext2_super_check(sb, info->capacity * SECTOR_SIZE, g, &f);
	if (err != 0) {
		kprintf("FSERR dev=%s %s (%llu)\n", fs->name, f.what, (unsigned long long)f.value);
		return err;
	}
	if (g->block_bytes < info->lbs) {
		kprintf("FSERR dev=%s block size %u is below the disk's logical block size %u\n", fs->name,
			g->block_bytes, info->lbs);
		return -EOPNOTSUPP;
	}
	if ((flags & FS_MOUNT_RDONLY) == 0 && g->read_only) {
		kprintf("FSERR dev=%s unknown read-only-compatible features 0x%x: only a read-only mount is possible\n",
			fs->name, g->feature_ro_compat);
		return -EOPNOTSUPP;
	}
	if ((flags & FS_MOUNT_RDONLY) == 0 && info->ro) {
		kprintf("FSERR dev=%s the disk is read-only: only a read-only mount is possible\n", fs->name);
		return -EROFS;
	}
	return 0;
}

/* A read-write mount: s_state without EXT2_VALID_FS on the disk (flushed) before anything else changes. */
static int mount_mark_dirty(struct fs *fs)
{
	int err = ext2_super_write(&fs->vol, fs->vol.g.state & (uint16_t)~EXT2_VALID_FS);

	if (err == 0)
		err = bcache_sync(fs->bc);
	if (err != 0)
		kprintf("FSERR dev=%s cannot mark the file system in use (%d)\n", fs->name, err);
	return err;
}

int fs_mount(struct blkdev *dev, unsigned int flags, struct fs **out)
{
	struct ext2_inode_info root;
	struct ext2_super *sb;
	struct ext2_geom g;
	struct fs *fs;
	int err;

	fs = kzalloc(sizeof(*fs));
	sb = kmalloc(sizeof(*sb));
	if (fs == NULL || sb == NULL) {
		err = -ENOMEM;
		goto err_free;
	}
	fs->dev = dev;
	fs->name = blkdev_info(dev)->name;
	fs->rdonly = (flags & FS_MOUNT_RDONLY) != 0;
	rwlock_init(&fs->lock, "fs");
	fs_itable_init(&fs->itable);
	err = mount_check(fs, sb, flags, &g);
	if (err != 0)
		goto err_free;
	err = bcache_create(dev, g.block_bytes, fs_param_cache_kib * 1024u, &fs->bc);
	if (err != 0)
		goto err_free;
	{
		struct bcache_stats st;
		bcache_get_stats(fs->bc, &st);
		fs->cache_blocks = st.bufs;
	}
	bcache_set_write_error_fn(fs->bc, fs_write_error, fs);
	ext2_vol_init(&fs->vol, &g, &fs_blkio, fs, fs_report, fs);
	fs->vol.now = fs_now;
	fs->errors = (g.state & EXT2_ERROR_FS) != 0;
	err = ext2_vol_check_groups(&fs->vol);
	if (err == 0)
		err = ext2_inode_get(&fs->vol, EXT2_ROOT_INO, &root);
	if (err == 0 && !ext2_is_dir(&root))
		err = ext2_corrupt(&fs->vol, EXT2_ROOT_INO, "root is not a directory", root.mode);
	if (err == 0 && !fs->rdonly)
		err = mount_mark_dirty(fs);
	if (err != 0)
		goto err_cache;
	kprintf("fs: %s: ext2 revision %u, %u-byte blocks, %u blocks, %u inodes, %u groups, %s%s%s%s\n",
		fs->name, g.rev, g.block_bytes, g.blocks_count, g.inodes_count, g.groups,
		fs->rdonly ? "read-only" : "read-write",
		(g.state & EXT2_VALID_FS) ? "" : ", not cleanly unmounted",
		(g.state & EXT2_ERROR_FS) ? ", errors recorded" : "",
		g.read_only ? ", unknown read-only-compatible features (never writable)" : "");
	kfree(sb);
	*out = fs;
	return 0;

err_cache:
	bcache_destroy(fs->bc);
err_free:
	kfree(sb);
	kfree(fs);
	return err;
}

int fs_unmount(struct fs *fs)
{
	int err = 0;

	if (fs_itable_count(fs) != 0)
		kprintf("FSERR dev=%s unmounted with %u inodes still open\n", fs->name, fs_itable_count(fs));
	if (!fs->rdonly) {
		rwlock_write_lock(&fs->lock);
		/* Everything first, flushed; only then the superblock that says so. */
		err = fs->failed ? -EIO : bcache_sync(fs->bc);
		if (!fs->failed) {
			uint16_t state = EXT2_VALID_FS | (fs->errors ? EXT2_ERROR_FS : 0u);
			int e = ext2_super_write(&fs->vol, state);
			if (e == 0)
				e = bcache_sync(fs->bc);
			if (err == 0)
				err = e;
		}
		if (fs->failed && err == 0)
			err = -EIO;
		rwlock_write_unlock(&fs->lock);
	}
	bcache_destroy(fs->bc);
	kfree(fs);
	return err;
}

int fs_sync(struct fs *fs)
{
	int err;

	if (fs->rdonly)
		return 0;
	rwlock_write_lock(&fs->lock);
	if (fs->failed) {
		err = -EIO;
	} else {
		/* The free counts into the superblock (still "not clean"), then every dirty block and a flush. */
		err = ext2_super_write(&fs->vol, fs->vol.g.state & (uint16_t)~EXT2_VALID_FS);
		int e = bcache_sync(fs->bc);
		if (err == 0)
			err = e;
	}
	rwlock_write_unlock(&fs->lock);
	return err;
}

void fs_cache_stats(struct fs *fs, struct fs_cache_stats *out)
{
	struct bcache_stats st;

	bcache_get_stats(fs->bc, &st);
	out->hits = st.hits;
	out->misses = st.misses;
	out->waits = st.waits;
	out->prefetches = st.prefetches;
	out->evictions = st.evictions;
	out->read_errors = st.read_errors;
	out->ra_hits = st.ra_hits;
	out->ra_wasted = st.ra_wasted;
	out->blocks = st.bufs;
	out->readahead_kib = (uint32_t)fs_param_readahead_kib;
	out->block_bytes = fs->vol.g.block_bytes;
}

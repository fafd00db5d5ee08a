/*
 * Mounted ext2 file systems for kernel threads (levblk/fs.h): the ext2
 * reading core (ext2.h) over the buffer cache (bcache.h), and the FSERR
 * lines for what the core finds damaged.
 */
#include <levblk/bio.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#include "bcache.h"
#include "ext2.h"
#include "readahead.h"

/* fs.readahead_kib: the largest readahead window of a file. */
static uint64_t fs_param_readahead_kib = 256;
PARAM_U64("fs.readahead_kib", fs_param_readahead_kib, 0, 16384, "largest readahead window per file, KiB (0: off)");

struct fs {
	struct blkdev *dev;
	const char *name;       /* the device's name, for FSERR lines */
	struct bcache *bc;
	uint32_t cache_blocks;  /* blocks the cache holds */
	struct ext2_vol vol;
};

struct fs_file {
	struct fs *fs;
	struct ext2_inode_info ip;
	/*
	 * Readahead state: only a hint. Threads reading the same file at once
	 * update it without a lock; a lost update changes which blocks are
	 * prefetched, never what a read returns.
	 */
	struct fs_ra ra;
};

struct readdir_ctx {
	fs_dir_fn fn;
	void *ctx;
};

static int fs_block_get(void *ctx, uint32_t block, const uint8_t **data, void **ref);
static void fs_block_put(void *ctx, void *ref);
static void fs_report(void *ctx, const struct ext2_fault *f);
static int read_super(struct blkdev *dev, struct ext2_super *sb);
static enum fs_type type_of_mode(uint16_t mode);
static enum fs_type type_of_dirent(uint32_t file_type);
static int readdir_one(void *ctx, const struct ext2_dirent_view *d);
static int file_new(struct fs *fs, struct fs_file **out);
static void read_ahead(struct fs_file *f, uint64_t off, size_t done);

static const struct ext2_blkio_ops fs_blkio = { .get = fs_block_get, .put = fs_block_put };

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

static void fs_block_put(void *ctx, void *ref)
{
	bcache_put(ref);
}

static void fs_report(void *ctx, const struct ext2_fault *f)
{
	struct fs *fs = ctx;

	if (f->ino != 0)
		kprintf("FSERR dev=%s inode %u: %s (%llu)\n", fs->name, f->ino, f->what,
			(unsigned long long)f->value);
	else
		kprintf("FSERR dev=%s %s (%llu)\n", fs->name, f->what, (unsigned long long)f->value);
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

int fs_mount(struct blkdev *dev, unsigned int flags, struct fs **out)
{
	const struct blkdev_info *info = blkdev_info(dev);
	struct ext2_inode_info root;
	struct ext2_super *sb;
	struct ext2_geom g;
	struct ext2_fault f;
	struct fs *fs;
	int err;

	if ((flags & FS_MOUNT_RDONLY) == 0) {
		kprintf("FSERR dev=%s read-write mounts are not implemented\n", info->name);
		return -EROFS;
	}
	fs = kzalloc(sizeof(*fs));
	sb = kmalloc(sizeof(*sb));
	if (fs == NULL || sb == NULL) {
		err = -ENOMEM;
		goto err_free;
	}
	fs->dev = dev;
	fs->name = info->name;
	err = read_super(dev, sb);
	if (err != 0) {
		kprintf("FSERR dev=%s superblock read failed (%d)\n", fs->name, err);
		goto err_free;
	}
	err = ext2_super_check(sb, info->capacity * SECTOR_SIZE, &g, &f);
	if (err != 0) {
		kprintf("FSERR dev=%s %s (%llu)\n", fs->name, f.what, (unsigned long long)f.value);
		goto err_free;
	}
	if (g.block_bytes < info->lbs) {
		kprintf("FSERR dev=%s block size %u is below the disk's logical block size %u\n", fs->name,
			g.block_bytes, info->lbs);
		err = -EOPNOTSUPP;
		goto err_free;
	}
	err = bcache_create(dev, g.block_bytes, fs_param_cache_kib * 1024u, &fs->bc);
	if (err != 0)
		goto err_free;
	{
		struct bcache_stats st;
		bcache_get_stats(fs->bc, &st);
		fs->cache_blocks = st.bufs;
	}
	ext2_vol_init(&fs->vol, &g, &fs_blkio, fs, fs_report, fs);
	err = ext2_vol_check_groups(&fs->vol);
	if (err == 0)
		err = ext2_inode_get(&fs->vol, EXT2_ROOT_INO, &root);
	if (err == 0 && !ext2_is_dir(&root))
		err = ext2_corrupt(&fs->vol, EXT2_ROOT_INO, "root is not a directory", root.mode);
	if (err != 0)
		goto err_cache;
	kprintf("fs: %s: ext2 revision %u, %u-byte blocks, %u blocks, %u inodes, %u groups, read-only%s%s%s\n",
		fs->name, g.rev, g.block_bytes, g.blocks_count, g.inodes_count, g.groups,
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
	bcache_destroy(fs->bc);
	kfree(fs);
	return 0;
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

static int file_new(struct fs *fs, struct fs_file **out)
{
	struct fs_file *f = kmalloc(sizeof(*f));

	if (f == NULL)
		return -ENOMEM;
	f->fs = fs;
	fs_ra_init(&f->ra);
	*out = f;
	return 0;
}

int fs_open(struct fs *fs, const char *path, struct fs_file **out)
{
	char *scratch = kmalloc(EXT2_RESOLVE_SCRATCH);
	struct fs_file *f;
	int err = scratch != NULL ? file_new(fs, &f) : -ENOMEM;

	if (err != 0) {
		kfree(scratch);
		return err;
	}
	err = ext2_path_resolve(&fs->vol, path, scratch, &f->ip);
	kfree(scratch);
	if (err != 0) {
		kfree(f);
		return err;
	}
	*out = f;
	return 0;
}

int fs_open_ino(struct fs *fs, uint32_t ino, struct fs_file **out)
{
	struct fs_file *f;
	int err = file_new(fs, &f);

	if (err != 0)
		return err;
	err = ext2_inode_get(&fs->vol, ino, &f->ip);
	if (err != 0) {
		kfree(f);
		return err;
	}
	*out = f;
	return 0;
}

void fs_close(struct fs_file *f)
{
	kfree(f);
}

static enum fs_type type_of_mode(uint16_t mode)
{
	switch (mode & EXT2_S_IFMT) {
	case EXT2_S_IFREG:
		return FS_TYPE_REG;
	case EXT2_S_IFDIR:
		return FS_TYPE_DIR;
	case EXT2_S_IFLNK:
		return FS_TYPE_SYMLINK;
	default:
		return FS_TYPE_OTHER;
	}
}

static enum fs_type type_of_dirent(uint32_t file_type)
{
	switch (file_type) {
	case EXT2_FT_UNKNOWN:
		return FS_TYPE_UNKNOWN;
	case EXT2_FT_REG_FILE:
		return FS_TYPE_REG;
	case EXT2_FT_DIR:
		return FS_TYPE_DIR;
	case EXT2_FT_SYMLINK:
		return FS_TYPE_SYMLINK;
	default:
		return FS_TYPE_OTHER;
	}
}

void fs_stat(const struct fs_file *f, struct fs_stat *st)
{
	st->ino = f->ip.ino;
	st->type = type_of_mode(f->ip.mode);
	st->mode = f->ip.mode;
	st->links = f->ip.links;
	st->size = f->ip.size;
	st->mtime = f->ip.mtime;
}

/*
 * After a demand read of done bytes at off: prefetches what the window rules
 * (readahead.h) ask for, holes skipped, one bio per run of physically
 * adjacent blocks, under a plug so that adjacent runs merge too. A mapping error only ends the readahead; the read that needs the
 * block will meet it again and report it.
 */
static void read_ahead(struct fs_file *f, uint64_t off, size_t done)
{
	const struct ext2_geom *g = &f->fs->vol.g;
	uint64_t max_window = (fs_param_readahead_kib * 1024u) >> g->block_log;
	uint64_t first = off >> g->block_log;
	uint64_t end = (off + done + g->block_bytes - 1u) >> g->block_log;
	uint64_t file_blocks = (f->ip.size + g->block_bytes - 1u) >> g->block_log;
	uint64_t pf_first, pf_end;
	struct blk_plug plug;

	/* A quarter of the cache at most: a window that evicts its own blocks before they are read is waste. */
	if (max_window > f->fs->cache_blocks / 4u)
		max_window = f->fs->cache_blocks / 4u;
	fs_ra_advance(&f->ra, first, end, file_blocks, (uint32_t)max_window, &pf_first, &pf_end);
	if (pf_first == pf_end)
		return;
	/* Physically adjacent blocks go out as one bio each run. */
	uint32_t run_start = 0, run_len = 0;
	blk_start_plug(&plug);
	for (uint64_t lblk = pf_first; lblk < pf_end; lblk++) {
		uint32_t pblk;
		if (ext2_bmap(&f->fs->vol, &f->ip, lblk, &pblk, NULL) != 0)
			break;
		if (run_len != 0 && pblk == run_start + run_len && run_len < BCACHE_RUN_MAX) {
			run_len++;
			continue;
		}
		if (run_len != 0)
			bcache_prefetch_run(f->fs->bc, run_start, run_len);
		run_start = pblk;
		run_len = pblk != 0 ? 1u : 0u; /* a hole has nothing to read */
	}
	if (run_len != 0)
		bcache_prefetch_run(f->fs->bc, run_start, run_len);
	blk_finish_plug(&plug);
}

int fs_read(struct fs_file *f, uint64_t off, void *buf, size_t len, size_t *done)
{
	int err;

	*done = 0;
	if (ext2_is_dir(&f->ip))
		return -EISDIR;
	if (!ext2_is_reg(&f->ip))
		return -EINVAL;
	err = ext2_file_read(&f->fs->vol, &f->ip, off, buf, len, done);
	if (err == 0 && *done != 0)
		read_ahead(f, off, *done);
	return err;
}

int fs_readlink(struct fs_file *f, char *buf, size_t cap)
{
	size_t len;

	return ext2_readlink(&f->fs->vol, &f->ip, buf, cap, &len);
}

static int readdir_one(void *ctx, const struct ext2_dirent_view *d)
{
	struct readdir_ctx *r = ctx;

	return r->fn(r->ctx, d->name, d->name_len, d->ino, type_of_dirent(d->file_type));
}

int fs_readdir(struct fs_file *dir, fs_dir_fn fn, void *ctx)
{
	struct readdir_ctx r = { .fn = fn, .ctx = ctx };

	return ext2_dir_iterate(&dir->fs->vol, &dir->ip, readdir_one, &r);
}

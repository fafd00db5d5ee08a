/*
 * Open files of a mounted file system (levblk/fs.h): open by path or inode
 * number, close, stat, read with readahead, readlink and readdir. Every
 * call holds the mount's lock for reading (fs_private.h), except the close
 * of an unlinked inode's last file, which releases it and so writes.
 */
#include <levblk/bio.h>
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#include "fs_private.h"

/* fs.readahead_kib: the largest readahead window of a file. */
uint64_t fs_param_readahead_kib = 1024;
PARAM_U64("fs.readahead_kib", fs_param_readahead_kib, 0, 16384, "largest readahead window per file, KiB (0: off)");

struct readdir_ctx {
	fs_dir_fn fn;
	void *ctx;
};

static enum fs_type type_of_mode(uint16_t mode);
static enum fs_type type_of_dirent(uint32_t file_type);
static int readdir_one(void *ctx, const struct ext2_dirent_view *d);
static void read_ahead(struct fs_file *f, uint64_t off, size_t done);
static int map_run(struct fs_file *f, uint64_t lblk, uint32_t *pblk, uint64_t *run);
static int read_data(struct fs_file *f, uint64_t off, uint8_t *out, size_t len, size_t *done);

/* Blocks one mapping looks ahead at most (one indirect block maps 1024 at 4 KiB blocks). */
#define FS_MAP_MAX 1024u

int fs_file_attach(struct fs *fs, const struct ext2_inode_info *ip, struct fs_file **out)
{
	struct fs_file *f = kmalloc(sizeof(*f));
	int err;

	if (f == NULL)
		return -ENOMEM;
	err = fs_itable_get(fs, ip, &f->node);
	if (err != 0) {
		kfree(f);
		return err;
	}
	f->fs = fs;
	spin_init(&f->map_lock, "fs-map");
	f->map.count = 0;
	fs_ra_init(&f->ra);
	*out = f;
	return 0;
}

int fs_open(struct fs *fs, const char *path, struct fs_file **out)
{
	char *scratch = kmalloc(EXT2_RESOLVE_SCRATCH);
	struct ext2_inode_info ip;
	int err;

	if (scratch == NULL)
		return -ENOMEM;
	rwlock_read_lock(&fs->lock);
	err = ext2_path_resolve(&fs->vol, path, scratch, &ip);
	if (err == 0)
		err = fs_file_attach(fs, &ip, out);
	rwlock_read_unlock(&fs->lock);
	kfree(scratch);
	return err;
}

int fs_open_ino(struct fs *fs, uint32_t ino, struct fs_file **out)
{
	struct ext2_inode_info ip;
	int err;

	rwlock_read_lock(&fs->lock);
	err = ext2_inode_get(&fs->vol, ino, &ip);
	if (err == 0)
		err = fs_file_attach(fs, &ip, out);
	rwlock_read_unlock(&fs->lock);
	return err;
}

void fs_close(struct fs_file *f)
{
	struct fs *fs = f->fs;
	struct fs_inode *n = f->node;
	bool unlinked;

	/* unlinked only ever goes from false to true, under the lock held for writing. */
	rwlock_read_lock(&fs->lock);
	unlinked = n->unlinked;
	if (!unlinked)
		fs_itable_put(fs, n);
	rwlock_read_unlock(&fs->lock);
	if (unlinked) {
		/* Possibly the last file of an inode without links: its release writes. */
		rwlock_write_lock(&fs->lock);
		fs_itable_put(fs, n);
		rwlock_write_unlock(&fs->lock);
	}
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
	struct fs *fs = f->fs;
	const struct ext2_inode_info *ip = &f->node->ip;

	rwlock_read_lock(&fs->lock);
	st->ino = ip->ino;
	st->type = type_of_mode(ip->mode);
	st->mode = ip->mode;
	st->links = ip->links;
	st->size = ip->size;
	st->mtime = ip->mtime;
	rwlock_read_unlock(&fs->lock);
}

/*
 * After a demand read of done bytes at off: prefetches what the window rules
 * (readahead.h) ask for, holes skipped, one bio per run of physically
 * adjacent blocks, under a plug so that adjacent runs merge too. A mapping
 * error only ends the readahead; the read that needs the block will meet it
 * again and report it. The mount's lock is held for reading.
 */
static void read_ahead(struct fs_file *f, uint64_t off, size_t done)
{
	const struct ext2_geom *g = &f->fs->vol.g;
	const struct ext2_inode_info *ip = &f->node->ip;
	uint64_t max_window = (fs_param_readahead_kib * 1024u) >> g->block_log;
	uint64_t first = off >> g->block_log;
	uint64_t end = (off + done + g->block_bytes - 1u) >> g->block_log;
	uint64_t file_blocks = (ip->size + g->block_bytes - 1u) >> g->block_log;
	uint64_t pf_first, pf_end;
	struct blk_plug plug;

	uint64_t unit = 2u * (uint64_t)bcache_run_max(f->fs->bc);

	/* A quarter of the cache at most: a window that evicts its own blocks before they are read is waste. */
	if (max_window > f->fs->cache_blocks / 4u)
		max_window = f->fs->cache_blocks / 4u;
	/*
	 * A whole number of twice the largest prefetch bio: a full window is
	 * issued half a window at a time (readahead.h), so each batch is then
	 * whole requests of the device's largest size, none split, no small tail.
	 */
	if (max_window >= unit)
		max_window -= max_window % unit;
	fs_ra_advance(&f->ra, first, end, file_blocks, (uint32_t)max_window, &pf_first, &pf_end);
	if (pf_first == pf_end)
		return;
	/* One mapping per run of physically adjacent blocks, one prefetch (bios of bcache_run_max) per run. */
	blk_start_plug(&plug);
	for (uint64_t lblk = pf_first; lblk < pf_end;) {
		uint32_t pblk;
		uint64_t run;
		if (map_run(f, lblk, &pblk, &run) != 0)
			break;
		if (run > pf_end - lblk)
			run = pf_end - lblk;
		if (pblk != 0) /* a hole has nothing to read */
			bcache_prefetch_run(f->fs->bc, pblk, (uint32_t)run);
		lblk += run;
	}
	blk_finish_plug(&plug);
}

/*
 * The physical block of logical block lblk (0: a hole) and how many blocks
 * from lblk on continue the run (at least 1), from the file's cached run
 * when it still holds, else from one ext2_bmap_run. The mount's lock is
 * held for reading, so the inode's gen is stable.
 */
static int map_run(struct fs_file *f, uint64_t lblk, uint32_t *pblk, uint64_t *run)
{
	const struct fs_inode *n = f->node;
	struct fs_map m;
	irqflags_t flags = spin_lock_irqsave(&f->map_lock);
	int err;

	m = f->map;
	spin_unlock_irqrestore(&f->map_lock, flags);
	if (m.count == 0 || m.gen != n->gen || lblk < m.lblk || lblk - m.lblk >= m.count) {
		m.lblk = lblk;
		m.gen = n->gen;
		err = ext2_bmap_run(&f->fs->vol, &n->ip, lblk, FS_MAP_MAX, &m.pblk, &m.count);
		if (err != 0)
			return err;
		flags = spin_lock_irqsave(&f->map_lock);
		f->map = m;
		spin_unlock_irqrestore(&f->map_lock, flags);
	}
	*pblk = m.pblk != 0 ? m.pblk + (uint32_t)(lblk - m.lblk) : 0u;
	*run = m.count - (lblk - m.lblk);
	return 0;
}

/*
 * ext2_file_read for an open regular file, mapping through map_run (one
 * mapping per run of blocks instead of one per block) and taking each data
 * block straight from the cache. Holes read as zeros, nothing past the size.
 */
static int read_data(struct fs_file *f, uint64_t off, uint8_t *out, size_t len, size_t *done)
{
	const struct ext2_inode_info *ip = &f->node->ip;
	const uint32_t bs = f->fs->vol.g.block_bytes;
	size_t copied = 0;
	int err = 0;

	if (off >= ip->size)
		len = 0;
	else if (len > ip->size - off)
		len = (size_t)(ip->size - off);
	while (copied < len) {
		uint64_t pos = off + copied, run;
		uint32_t in_block = (uint32_t)(pos & (bs - 1u)), pblk;
		struct bcache_buf *b;
		size_t n;

		err = map_run(f, pos >> f->fs->vol.g.block_log, &pblk, &run);
		if (err != 0)
			break;
		if (pblk == 0) {
			uint64_t hole = run * bs - in_block;
			n = hole < len - copied ? (size_t)hole : len - copied;
			memset(out + copied, 0, n);
		} else {
			n = bs - in_block < len - copied ? bs - in_block : len - copied;
			/* ext2_bmap_run checked pblk and its run against the file system's bounds. */
			err = bcache_get(f->fs->bc, pblk, &b);
			if (err != 0) {
				kprintf("FSERR dev=%s read of block %u failed (%d)\n", f->fs->name, pblk, err);
				break;
			}
			memcpy(out + copied, bcache_data(b) + in_block, n);
			bcache_put(b);
		}
		copied += n;
	}
	*done = copied;
	return err;
}

int fs_read(struct fs_file *f, uint64_t off, void *buf, size_t len, size_t *done)
{
	struct fs *fs = f->fs;
	const struct ext2_inode_info *ip = &f->node->ip;
	int err;

	*done = 0;
	rwlock_read_lock(&fs->lock);
	if (ext2_is_dir(ip))
		err = -EISDIR;
	else if (!ext2_is_reg(ip))
		err = -EINVAL;
	else
		err = read_data(f, off, buf, len, done);
	if (err == 0 && *done != 0)
		read_ahead(f, off, *done);
	rwlock_read_unlock(&fs->lock);
	return err;
}

int fs_readlink(struct fs_file *f, char *buf, size_t cap)
{
	struct fs *fs = f->fs;
	size_t len;
	int err;

	rwlock_read_lock(&fs->lock);
	err = ext2_readlink(&fs->vol, &f->node->ip, buf, cap, &len);
	rwlock_read_unlock(&fs->lock);
	return err;
}

static int readdir_one(void *ctx, const struct ext2_dirent_view *d)
{
	struct readdir_ctx *r = ctx;

	return r->fn(r->ctx, d->name, d->name_len, d->ino, type_of_dirent(d->file_type));
}

int fs_readdir(struct fs_file *dir, fs_dir_fn fn, void *ctx)
{
	struct readdir_ctx r = { .fn = fn, .ctx = ctx };
	struct fs *fs = dir->fs;
	int err;

	rwlock_read_lock(&fs->lock);
	err = ext2_dir_iterate(&fs->vol, &dir->node->ip, readdir_one, &r);
	rwlock_read_unlock(&fs->lock);
	return err;
}

/*
 * The write side of a mounted file system (levblk/fs.h): namespace
 * operations, file writes and truncation, and fsync, over the ext2 core's
 * write functions (ext2.h, "Writing"). Each change holds the mount's lock
 * for writing for its whole length, so it is atomic with respect to every
 * other thread using the mount, readers included; afterwards the in-core
 * inode table is brought up to date (fs_itable_after_namespace).
 */
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/kmalloc.h>

#include "fs_private.h"

/* Permission bits of a mode (set-user-ID, set-group-ID, sticky, rwx for user, group, others). */
#define FS_MODE_PERM_MASK 07777u

static int change_begin(struct fs *fs);
static int namespace_end(struct fs *fs, int err, uint32_t orphan);

/* Takes the lock for writing; -EROFS (lock dropped again) on a mount that may not change. */
static int change_begin(struct fs *fs)
{
	int err;

	rwlock_write_lock(&fs->lock);
	err = fs_writable(fs);
	if (err != 0)
		rwlock_write_unlock(&fs->lock);
	return err;
}

/* After a namespace operation that returned err: orphan and table, then the lock goes. */
static int namespace_end(struct fs *fs, int err, uint32_t orphan)
{
	int e = fs_itable_after_namespace(fs, err == 0 ? orphan : 0);

	rwlock_write_unlock(&fs->lock);
	/* The operation stands even when releasing its orphan failed (e2fsck frees that inode). */
	(void)e;
	return err;
}

int fs_create(struct fs *fs, const char *path, uint32_t mode, struct fs_file **out)
{
	struct ext2_inode_info ip;
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_create(&fs->vol, path, (uint16_t)(EXT2_S_IFREG | (mode & FS_MODE_PERM_MASK)), &ip);
	if (err == 0) {
		err = fs_file_attach(fs, &ip, out);
		/* -ENOMEM for the open file: the file exists, as after a create and a close. */
	}
	return namespace_end(fs, err, 0);
}

int fs_mkdir(struct fs *fs, const char *path, uint32_t mode)
{
	struct ext2_inode_info ip;
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_mkdir(&fs->vol, path, (uint16_t)(EXT2_S_IFDIR | (mode & FS_MODE_PERM_MASK)), &ip);
	return namespace_end(fs, err, 0);
}

int fs_symlink(struct fs *fs, const char *target, const char *path)
{
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_symlink(&fs->vol, target, path);
	return namespace_end(fs, err, 0);
}

int fs_link(struct fs *fs, const char *oldpath, const char *newpath)
{
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_link(&fs->vol, oldpath, newpath);
	return namespace_end(fs, err, 0);
}

int fs_unlink(struct fs *fs, const char *path)
{
	uint32_t orphan = 0;
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_unlink(&fs->vol, path, &orphan);
	return namespace_end(fs, err, orphan);
}

int fs_rmdir(struct fs *fs, const char *path)
{
	uint32_t orphan = 0;
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_rmdir(&fs->vol, path, &orphan);
	return namespace_end(fs, err, orphan);
}

int fs_rename(struct fs *fs, const char *from, const char *to)
{
	uint32_t orphan = 0;
	int err = change_begin(fs);

	if (err != 0)
		return err;
	err = ext2_rename(&fs->vol, from, to, &orphan);
	return namespace_end(fs, err, orphan);
}

int fs_write(struct fs_file *f, uint64_t off, const void *buf, size_t len, size_t *done)
{
	struct fs *fs = f->fs;
	struct ext2_inode_info *ip = &f->node->ip;
	int err;

	*done = 0;
	err = change_begin(fs);
	if (err != 0)
		return err;
	if (ext2_is_dir(ip))
		err = -EISDIR;
	else if (!ext2_is_reg(ip))
		err = -EINVAL;
	else
		err = ext2_file_write(&fs->vol, ip, off, buf, len, done);
	f->node->gen++; /* the block map may have changed: cached runs (fs_map) are stale */
	rwlock_write_unlock(&fs->lock);
	return err;
}

int fs_truncate(struct fs_file *f, uint64_t size)
{
	struct fs *fs = f->fs;
	struct ext2_inode_info *ip = &f->node->ip;
	int err = change_begin(fs);

	if (err != 0)
		return err;
	if (ext2_is_dir(ip))
		err = -EISDIR;
	else if (!ext2_is_reg(ip))
		err = -EINVAL;
	else
		err = ext2_truncate(&fs->vol, ip, size);
	f->node->gen++;
	rwlock_write_unlock(&fs->lock);
	return err;
}

/*
 * The file's data, its inode, the bitmaps and descriptors its blocks need
 * and the directory entries naming it all sit in dirty cache blocks; this
 * writes every dirty block of the mount (not only the file's), then
 * flushes. That is more than fsync must do, but it is one sorted, merged
 * pass and needs no record of which blocks belong to which file. The lock
 * is held for reading: no change is half done while the pass collects the
 * dirty blocks.
 */
int fs_fsync(struct fs_file *f)
{
	struct fs *fs = f->fs;
	int err;

	if (fs->rdonly)
		return 0;
	rwlock_read_lock(&fs->lock);
	err = fs->failed ? -EIO : bcache_sync(fs->bc);
	rwlock_read_unlock(&fs->lock);
	return err;
}

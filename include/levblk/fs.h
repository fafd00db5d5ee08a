/*
 * File systems for kernel threads: mount an ext2 file system that lives on a
 * block device (a whole disk or a partition), look files up by path, read
 * them, list directories, read symlinks, and (on a read-write mount) create,
 * write, rename and remove them.
 *
 * Errors are negated errnos: -ENOENT, -ENOTDIR, -EISDIR, -ENAMETOOLONG, -ELOOP,
 * -EUCLEAN (a damaged structure: a line "FSERR dev=<d> <what is wrong>" is
 * printed where it was found), -EIO (the disk failed), -EOPNOTSUPP (a file
 * system the kernel does not implement, said at mount), -ENOMEM, and on the
 * write side -EEXIST, -ENOTEMPTY, -ENOSPC, -EFBIG, -EMLINK, -EINVAL and
 * -EROFS (a read-only mount, or one turned read-only after a failed metadata
 * write: "FSERR dev=<d> ... remounted read-only").
 *
 * Context: threads only (every call may sleep on disk reads). Many threads may
 * use one mounted file system and one open file at once; a file must not be
 * closed while another thread still uses it, nor a file system unmounted
 * with files open.
 */
#ifndef LEVBLK_FS_H
#define LEVBLK_FS_H

#include <stddef.h>
#include <stdint.h>
#include <levblk/blkdev.h>

struct fs;
struct fs_file;

#define FS_MOUNT_RDONLY (1u << 0)

/* What a file is. */
enum fs_type {
	FS_TYPE_UNKNOWN = 0, /* only in fs_readdir, where the entry does not say */
	FS_TYPE_REG,
	FS_TYPE_DIR,
	FS_TYPE_SYMLINK,
	FS_TYPE_OTHER,       /* device, fifo, socket */
};

struct fs_stat {
	uint32_t ino;
	enum fs_type type;
	uint32_t mode;   /* permission bits and type, POSIX layout */
	uint32_t links;
	uint64_t size;   /* bytes */
	uint32_t mtime;  /* seconds since 1970 */
};

/* A file system's cache counters (fs_cache_stats). */
struct fs_cache_stats {
	uint64_t hits, misses, waits, prefetches, evictions, read_errors;
	uint64_t ra_hits;   /* prefetched blocks then read */
	uint64_t ra_wasted; /* prefetched blocks evicted unread */
	uint32_t blocks, block_bytes;
	uint32_t readahead_kib; /* the largest readahead window in force (fs.readahead_kib) */
};

/*
 * Mounts the ext2 file system on dev, read-write unless flags has
 * FS_MOUNT_RDONLY. Checks the superblock and every group descriptor; a
 * refusal prints "FSERR dev=<d> <reason>" and returns its error. A
 * read-write mount marks the superblock "not clean" on disk until unmount.
 */
int fs_mount(struct blkdev *dev, unsigned int flags, struct fs **out);
/*
 * Writes every dirty block, marks the file system clean (unless errors were
 * recorded), flushes the disk and frees the mount, also when a write fails
 * (its error is returned; what could not be written is lost). No file may be
 * open.
 */
int fs_unmount(struct fs *fs);
void fs_cache_stats(struct fs *fs, struct fs_cache_stats *out);

/*
 * Opens the file or directory at path (from the root), following symlinks
 * inside it and at its end as open(2) does; -ELOOP after 8 of them.
 */
int fs_open(struct fs *fs, const char *path, struct fs_file **out);
/* Opens by inode number, as fs_readdir gives it. */
int fs_open_ino(struct fs *fs, uint32_t ino, struct fs_file **out);
void fs_close(struct fs_file *f);
void fs_stat(const struct fs_file *f, struct fs_stat *st);
/*
 * Reads up to len bytes at off; *done is what was read (0 at or past the end).
 * -EISDIR for a directory. Sequential reads of a file are detected and the
 * next blocks read ahead (fs.readahead_kib; 0 turns it off).
 */
int fs_read(struct fs_file *f, uint64_t off, void *buf, size_t len, size_t *done);
/* The target of a symlink, NUL-terminated, in buf of cap bytes; -EINVAL if not a symlink, -ERANGE if too small. */
int fs_readlink(struct fs_file *f, char *buf, size_t cap);
/*
 * Calls fn for each entry of a directory ("." and ".." included), name not
 * NUL-terminated; stops when fn returns non-zero and returns that. fn may not
 * call into the same file system (a block of the directory is held).
 */
typedef int (*fs_dir_fn)(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type);
int fs_readdir(struct fs_file *dir, fs_dir_fn fn, void *ctx);

/*
 * The write side (read-write mounts). Paths are from the root; symlinks
 * inside a path are followed, the last component never is. Each call is
 * atomic with respect to the other threads using the mount.
 */
/* Creates a regular file (mode: permission bits) and opens it; -EEXIST if the name exists. */
int fs_create(struct fs *fs, const char *path, uint32_t mode, struct fs_file **out);
int fs_mkdir(struct fs *fs, const char *path, uint32_t mode);
int fs_symlink(struct fs *fs, const char *target, const char *path);
int fs_link(struct fs *fs, const char *oldpath, const char *newpath);
/* A file unlinked while open stays readable and writable through that file until it is closed. */
int fs_unlink(struct fs *fs, const char *path);
int fs_rmdir(struct fs *fs, const char *path);
/* rename(2): replaces an existing file, or an empty directory when moving a directory. */
int fs_rename(struct fs *fs, const char *from, const char *to);
/* Writes len bytes at off (past the end leaves a hole); *done is what was written, also on error. */
int fs_write(struct fs_file *f, uint64_t off, const void *buf, size_t len, size_t *done);
/* Sets a regular file's size: shrinking frees blocks, growing leaves a hole. */
int fs_truncate(struct fs_file *f, uint64_t size);
/* Returns once the file's data and metadata, and the directory entries naming it, are on the disk (flushed). */
int fs_fsync(struct fs_file *f);
/* Writes every dirty block of the mount and flushes the disk. */
int fs_sync(struct fs *fs);

#endif

/*
 * File systems for kernel threads: mount an ext2 file system that lives on a
 * block device (a whole disk or a partition), look files up by path, read
 * them, list directories, read symlinks. Read-only for now: a read-write
 * mount is refused with -EROFS.
 *
 * Errors are negated errnos: -ENOENT, -ENOTDIR, -EISDIR, -ENAMETOOLONG, -ELOOP,
 * -EUCLEAN (a damaged structure: a line "FSERR dev=<d> <what is wrong>" is
 * printed where it was found), -EIO (the disk failed), -EOPNOTSUPP (a file
 * system the kernel does not implement, said at mount), -ENOMEM.
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
 * Mounts the ext2 file system on dev. flags must include FS_MOUNT_RDONLY.
 * Checks the superblock and every group descriptor; a refusal prints
 * "FSERR dev=<d> <reason>" and returns its error.
 */
int fs_mount(struct blkdev *dev, unsigned int flags, struct fs **out);
void fs_unmount(struct fs *fs);
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

#endif

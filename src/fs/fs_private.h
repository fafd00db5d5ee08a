/*
 * What the files of a mounted file system share (levblk/fs.h): the mount,
 * the in-core inode table and the open file.
 *
 * Locking, outermost first:
 *   fs->lock (rwlock): held for reading by every lookup and read, for
 *     writing by every change (the ext2 write side requires it: ext2.h,
 *     "Writing"), and by the release of an unlinked inode at its last close.
 *   fs->itable.lock (mutex): the inode table's hash chains and reference
 *     counts, so that readers holding fs->lock shared may open and close
 *     files at once.
 * A table entry's inode (n->ip) and unlinked flag change only under
 * fs->lock held for writing, so a reader holding it shared sees them stable.
 */
#ifndef LEVBLK_FS_FS_PRIVATE_H
#define LEVBLK_FS_FS_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/fs.h>
#include <levblk/hal/spinlock.h>
#include <levblk/mutex.h>
#include <levblk/rwlock.h>

#include "bcache.h"
#include "ext2.h"
#include "readahead.h"

#define FS_ITABLE_BUCKETS 64u /* a power of two */

/*
 * One inode that open files use, shared by all of them: writes through one
 * file are seen by the others, and an inode whose last link goes while it is
 * open is released when its last file closes. Invariant (at every release
 * of fs->lock for writing): ip equals the inode on disk (in the cache),
 * except for an unlinked one, which no name reaches any more.
 */
struct fs_inode {
	struct fs_inode *next;      /* hash chain, under itable.lock */
	uint32_t refs;              /* open files, under itable.lock */
	bool unlinked;              /* its last link is gone: release at the last close */
	uint64_t gen;               /* bumped whenever ip may have changed (fs->lock held for writing) */
	struct ext2_inode_info ip;
};

struct fs_itable {
	struct mutex lock;
	struct fs_inode *hash[FS_ITABLE_BUCKETS];
	uint32_t count;             /* entries, under lock */
};

struct fs {
	struct blkdev *dev;
	const char *name;           /* the device's name, for FSERR lines */
	struct bcache *bc;
	uint32_t cache_blocks;      /* blocks the cache holds */
	struct ext2_vol vol;
	struct rwlock lock;         /* see the file comment */
	bool rdonly;                /* mounted read-only: never writes */
	/*
	 * A metadata write failed (set from the cache's write-error callback,
	 * in interrupt context): every change is -EROFS from then on and the
	 * cache writes nothing more.
	 */
	volatile bool failed;
	volatile bool errors;       /* a damaged structure was found: recorded in the superblock at unmount */
	struct fs_itable itable;
};

/*
 * A run of a file's blocks as last mapped (ext2_bmap_run): logical blocks
 * [lblk, lblk + count) at pblk, pblk + 1, ... (pblk 0: a hole), valid while
 * the inode's gen is still gen.
 */
struct fs_map {
	uint64_t lblk;
	uint64_t gen;
	uint32_t pblk;
	uint32_t count;             /* 0: nothing cached */
};

struct fs_file {
	struct fs *fs;
	struct fs_inode *node;
	spinlock_t map_lock;        /* map, shared by the threads reading through this file */
	struct fs_map map;
	/*
	 * Readahead state: only a hint. Threads reading the same file at once
	 * update it without a lock; a lost update changes which blocks are
	 * prefetched, never what a read returns.
	 */
	struct fs_ra ra;
};

/* fs_inode_table.c: every call with fs->lock held (for reading at least) unless said otherwise. */
void fs_itable_init(struct fs_itable *t);
/*
 * The table's entry for inode ip->ino, one more reference taken: the entry
 * already there (its inode is the current one; *ip is not used), or a new
 * one holding *ip. -ENOMEM.
 */
int fs_itable_get(struct fs *fs, const struct ext2_inode_info *ip, struct fs_inode **out);
/*
 * Drops a reference. At the last one the entry goes; an unlinked inode is
 * released on disk then, which needs fs->lock held for writing (the caller
 * checks n->unlinked first, stable under either hold).
 */
void fs_itable_put(struct fs *fs, struct fs_inode *n);
/*
 * fs->lock held for writing, after a namespace operation: inode `orphan`
 * (0: none) has lost its last link; an open one is marked unlinked, one not
 * open is released at once. Then every other entry is read again from the
 * disk, since the operation may have changed links, sizes or times of open
 * inodes (parents, link targets, moved directories). O(open inodes).
 */
int fs_itable_after_namespace(struct fs *fs, uint32_t orphan);
/* Entries left (unmount requires 0). */
uint32_t fs_itable_count(struct fs *fs);

/* fs_file.c */
/* fs.readahead_kib: the largest readahead window of a file, KiB (0: off). */
extern uint64_t fs_param_readahead_kib;
/* A new open file of inode *ip (through the table: fs_itable_get). fs->lock held. */
int fs_file_attach(struct fs *fs, const struct ext2_inode_info *ip, struct fs_file **out);

/* fs_mount.c */
/* Whether changes are refused (-EROFS): a read-only mount, or one that a failed metadata write stopped. */
int fs_writable(const struct fs *fs);

#endif

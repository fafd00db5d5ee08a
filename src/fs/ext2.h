/*
 * The ext2 reading core: superblock and group descriptor checks, inodes,
 * block mapping, file and symlink reads, directory entries and lookups.
 *
 * It knows nothing of bios or caches. Blocks come from a small callback pair
 * (struct ext2_blkio_ops) so that the same code runs over the buffer cache in
 * the kernel and over an image file in the host tests.
 *
 * Nothing read from the disk is trusted: every count, block number, inode
 * number, length and name is checked before it is used. A damaged structure
 * is -EUCLEAN, reported once through the volume's fault callback with what is
 * wrong; a failed read is the callback's own error (-EIO). Nothing here
 * allocates, sleeps except inside the callbacks, or keeps state between calls
 * beyond the immutable geometry, so many threads may use one volume at once.
 */
#ifndef LEVBLK_FS_EXT2_H
#define LEVBLK_FS_EXT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ext2_format.h"

/* What is wrong, for a report line: a fixed description, the inode concerned (0: none) and a value. */
struct ext2_fault {
	const char *what;
	uint32_t ino;
	uint64_t value;
};

/*
 * The block source. get() makes file system block `block` (in units of the
 * volume's block size, already checked to lie inside the file system)
 * readable at *data until put(ctx, *ref); it returns 0 or a negated errno
 * (-EIO when the disk failed). Several blocks may be held at once (at most
 * four by this code: an indirect chain). Callbacks may sleep; they run in the
 * caller's thread.
 */
struct ext2_blkio_ops {
	int (*get)(void *ctx, uint32_t block, const uint8_t **data, void **ref);
	void (*put)(void *ctx, void *ref);
	/*
	 * The write side; both NULL for a source that is never written. get_mut()
	 * is get() for a block the caller is about to change: it returns once no
	 * write of the block is in flight. With fresh set the block is not read
	 * but returned zero-filled (a block just allocated, to be overwritten).
	 * dirty(ctx, ref, meta) records the change before the put(); meta says
	 * the block is file system metadata (superblock, descriptors, bitmaps,
	 * inode table, directory, indirect or symlink block), whose failed write
	 * turns the mount read-only.
	 */
	int (*get_mut)(void *ctx, uint32_t block, bool fresh, uint8_t **data, void **ref);
	void (*dirty)(void *ctx, void *ref, bool meta);
};

/* The geometry of a checked superblock, in CPU byte order. Immutable once mounted. */
struct ext2_geom {
	uint32_t block_bytes;
	uint32_t block_log;             /* log2(block_bytes) */
	uint32_t blocks_count;
	uint32_t inodes_count;
	uint32_t free_blocks;
	uint32_t free_inodes;
	uint32_t first_data_block;
	uint32_t blocks_per_group;
	uint32_t inodes_per_group;
	uint32_t groups;
	uint32_t inode_bytes;           /* on-disk size of one inode */
	uint32_t inodes_per_block;
	uint32_t itable_blocks;         /* inode table blocks per group */
	uint32_t first_ino;             /* first inode number for ordinary files */
	uint32_t rev;
	uint32_t gdt_block;             /* first group descriptor block */
	uint32_t gdt_blocks;
	uint32_t reserved_gdt_blocks;   /* resize_inode: blocks kept after the descriptors in each copy, else 0 */
	uint32_t ptrs_per_block;        /* block numbers in one indirect block */
	uint32_t feature_compat;
	uint32_t feature_incompat;
	uint32_t feature_ro_compat;
	uint64_t max_file_bytes;
	uint16_t state;                 /* EXT2_VALID_FS / EXT2_ERROR_FS as found on disk */
	bool filetype;                  /* directory entries carry a file type */
	bool read_only;                 /* unknown read-only-compatible features: never write */
};

/* Longest path and symlink target handled, bytes without the NUL. */
#define EXT2_PATH_MAX           4095u
/* Bytes of scratch ext2_path_resolve needs. */
#define EXT2_RESOLVE_SCRATCH    (2u * (EXT2_PATH_MAX + 1u))

struct ext2_vol {
	struct ext2_geom g;
	/*
	 * Scratch of the namespace operations (ext2_namei.c): a copy of the
	 * parent's path and ext2_path_resolve's scratch. Only writers use it,
	 * under the exclusion they hold (see "Writing" below), so one per volume
	 * serves them all and no thread stack carries 12 KiB.
	 */
	char name_scratch[EXT2_PATH_MAX + 1u + EXT2_RESOLVE_SCRATCH];
	const struct ext2_blkio_ops *io;
	void *io_ctx;
	/* Called once per damaged structure found, from the thread that found it; may be NULL. */
	void (*report)(void *ctx, const struct ext2_fault *f);
	void *report_ctx;
	/* Seconds since 1970 for inode and superblock times, called with io_ctx; NULL (ext2_vol_init's): 0. */
	uint32_t (*now)(void *ctx);
};

/* An inode as read and checked, in CPU byte order. */
struct ext2_inode_info {
	uint32_t ino;
	uint16_t mode;                  /* EXT2_S_IF* type bits and permissions */
	uint16_t links;
	uint64_t size;
	uint32_t blocks_512;            /* i_blocks */
	uint32_t flags;
	uint32_t file_acl;
	uint32_t atime, ctime, mtime, dtime;
	uint32_t block[EXT2_N_BLOCKS];
	/* i_block[] as stored: a fast symlink's target lives here as bytes. */
	uint8_t block_raw[EXT2_N_BLOCKS * 4u];
};

/* One directory entry as parsed and checked; name points into the block and is not NUL-terminated. */
struct ext2_dirent_view {
	uint32_t ino;                   /* 0: an unused record (skipped by the iterators) */
	uint32_t rec_len;
	uint32_t name_len;
	uint32_t file_type;             /* EXT2_FT_*; EXT2_FT_UNKNOWN without the filetype feature */
	const char *name;
};

/* ext2_super.c */
/*
 * Checks the 1024 superblock bytes found at EXT2_SUPER_OFFSET of a device of
 * dev_bytes bytes and fills *g. Returns 0, -EUCLEAN for a damaged or
 * inconsistent superblock, or -EOPNOTSUPP for a valid one that uses what
 * levblk does not implement (incompatible features, revision, block size);
 * *f says why. Pure: reads nothing else.
 */
int ext2_super_check(const struct ext2_super *sb, uint64_t dev_bytes, struct ext2_geom *g,
		     struct ext2_fault *f);
void ext2_vol_init(struct ext2_vol *v, const struct ext2_geom *g, const struct ext2_blkio_ops *io,
		   void *io_ctx, void (*report)(void *ctx, const struct ext2_fault *f), void *report_ctx);
/*
 * Checks one group descriptor against the geometry: its bitmaps and inode
 * table inside its group, not overlapping, counts within the group. Pure.
 * Returns 0 or -EUCLEAN with *f set.
 */
int ext2_group_desc_check(const struct ext2_geom *g, uint32_t group, const struct ext2_group_desc *gd,
			  struct ext2_fault *f);
/* Reads and checks group descriptor `group` into *gd (CPU byte order). */
int ext2_group_get(const struct ext2_vol *v, uint32_t group, struct ext2_group_desc *gd);
/* Reads and checks every group descriptor, and that the free counts add up to at most the totals. */
int ext2_vol_check_groups(const struct ext2_vol *v);
/* Records a damaged structure: calls the report callback, returns -EUCLEAN. */
int ext2_corrupt(const struct ext2_vol *v, uint32_t ino, const char *what, uint64_t value);
/* Reads a block through the volume's callbacks after checking it lies inside the file system. */
int ext2_block_get(const struct ext2_vol *v, uint32_t ino, uint32_t block, const uint8_t **data, void **ref);
void ext2_block_put(const struct ext2_vol *v, void *ref);
/*
 * The write side of ext2_block_get (see the "Writing" rules below): makes
 * block writable at *data (zero-filled without reading it when fresh is
 * set). -EROFS on a read-only volume or a block source without a write
 * side. ext2_block_dirty records the change before ext2_block_put.
 */
int ext2_block_get_mut(const struct ext2_vol *v, uint32_t ino, uint32_t block, bool fresh, uint8_t **data,
		       void **ref);
void ext2_block_dirty(const struct ext2_vol *v, void *ref, bool meta);
/* The volume's clock for inode and superblock times (0 without one). */
static inline uint32_t ext2_now(const struct ext2_vol *v)
{
	return v->now != NULL ? v->now(v->io_ctx) : 0u;
}

/* ext2_inode.c */
/* Reads inode `ino` and checks it is in use and consistent. -EUCLEAN for a bad number or a damaged inode. */
int ext2_inode_get(const struct ext2_vol *v, uint32_t ino, struct ext2_inode_info *ip);
/*
 * As ext2_inode_get, but an inode without links is accepted: one whose last
 * link a namespace operation just removed, to be given to ext2_inode_release.
 */
int ext2_inode_get_unlinked(const struct ext2_vol *v, uint32_t ino, struct ext2_inode_info *ip);
static inline bool ext2_is_dir(const struct ext2_inode_info *ip)
{
	return (ip->mode & EXT2_S_IFMT) == EXT2_S_IFDIR;
}
static inline bool ext2_is_reg(const struct ext2_inode_info *ip)
{
	return (ip->mode & EXT2_S_IFMT) == EXT2_S_IFREG;
}
static inline bool ext2_is_symlink(const struct ext2_inode_info *ip)
{
	return (ip->mode & EXT2_S_IFMT) == EXT2_S_IFLNK;
}
/*
 * Maps logical block `lblk` of the inode to a physical block through the
 * direct, single, double and triple indirect pointers. *pblk = 0 is a hole;
 * then *hole_run (if not NULL) is how many blocks from lblk on are known to be
 * holes (at least 1), so a reader can skip an empty indirect subtree at once.
 * -EFBIG beyond the last block the format can address.
 */
int ext2_bmap(const struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t lblk, uint32_t *pblk,
	      uint64_t *hole_run);
/*
 * ext2_bmap for a run of blocks: *pblk for lblk as ext2_bmap gives it, and
 * *count (1 to max) the blocks from lblk on that map to *pblk, *pblk + 1, ...
 * (or, when *pblk is 0, are all holes), as far as the one indirect block
 * that maps lblk tells. One block get per level, however long the run, so
 * a sequential reader maps many blocks for the price of one.
 */
int ext2_bmap_run(const struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t lblk, uint32_t max,
		  uint32_t *pblk, uint32_t *count);
/*
 * Reads entry `index` (below g.ptrs_per_block) of indirect block `block` into
 * *out, as stored: the caller checks the block number it gets.
 */
int ext2_indirect_entry(const struct ext2_vol *v, uint32_t ino, uint32_t block, uint32_t index, uint32_t *out);
/*
 * Reads up to len bytes at byte offset off of a regular file (or a slow
 * symlink or directory) into buf; holes read as zeros, nothing is read past
 * the size. *done is the count copied, also when an error stops the read.
 */
int ext2_file_read(const struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t off, void *buf,
		   size_t len, size_t *done);
/* Whether a symlink keeps its target inside the inode (fast) rather than in a block (slow). */
bool ext2_symlink_is_fast(const struct ext2_vol *v, const struct ext2_inode_info *ip);
/* Copies a symlink's target and a NUL into buf (cap bytes); *len is the target's length. -ERANGE if it does not fit. */
int ext2_readlink(const struct ext2_vol *v, const struct ext2_inode_info *ip, char *buf, size_t cap, size_t *len);

/* ext2_dir.c */
/*
 * Parses and checks the entry at byte `off` of a directory block. Pure.
 * Returns 0 or -EUCLEAN with *f set (ino in *f is left 0 for the caller).
 */
int ext2_dirent_parse(const struct ext2_geom *g, const uint8_t *block, uint32_t off, struct ext2_dirent_view *d,
		      struct ext2_fault *f);
/*
 * Calls fn for every used entry of directory ip, in on-disk order; stops and
 * returns fn's value when it is not 0. Entries ("." and ".." included) are
 * valid only during the call.
 */
typedef int (*ext2_dir_fn)(void *ctx, const struct ext2_dirent_view *d);
int ext2_dir_iterate(const struct ext2_vol *v, const struct ext2_inode_info *dir, ext2_dir_fn fn, void *ctx);
/*
 * Finds name (len bytes) in directory dir: *ino and, if file_type is not
 * NULL, the entry's EXT2_FT_* type; or -ENOENT; -ENOTDIR if dir is not one.
 */
int ext2_dir_lookup(const struct ext2_vol *v, const struct ext2_inode_info *dir, const char *name, size_t len,
		    uint32_t *ino, uint32_t *file_type);
/* The EXT2_FT_* type that matches an inode's mode. */
uint32_t ext2_mode_file_type(uint16_t mode);
/*
 * Resolves an absolute or root-relative path ("/a/b", "a/b", "./a//b") to an
 * inode, without following symlinks (a symlink inside the path is -ENOTDIR).
 * -ENAMETOOLONG for a component over 255 bytes or a path over EXT2_PATH_MAX.
 */
int ext2_path_lookup(const struct ext2_vol *v, const char *path, struct ext2_inode_info *ip);
/* Symlinks followed in a path (and at its end) at most, the rest is -ELOOP (POSIX's SYMLOOP_MAX minimum). */
#define EXT2_SYMLINK_FOLLOW_MAX 8u
/*
 * As ext2_path_lookup, but following symlinks inside the path and at its
 * end, as open(2) does: relative targets from the link's directory,
 * absolute ones from the root; -ELOOP after EXT2_SYMLINK_FOLLOW_MAX links.
 * scratch: EXT2_RESOLVE_SCRATCH bytes of the caller's.
 */
int ext2_path_resolve(const struct ext2_vol *v, const char *path, char *scratch, struct ext2_inode_info *ip);


/*
 * Writing. Every function below changes on-disk structures through the
 * volume's get_mut/dirty callbacks and requires the caller to exclude every
 * other user of the volume, readers included, for the whole call (fs_mount.c
 * holds its mount's lock for writing). The free counts in v->g are the
 * allocator's and change under that exclusion. Nothing here writes on a
 * volume with g.read_only set: -EROFS. Every value read back from the disk
 * is checked as on the read side; a bitmap that disagrees with a count, a
 * block pointer outside the file system, a directory record that does not
 * parse is -EUCLEAN through ext2_corrupt, and nothing is changed after it is
 * found.
 */

/* ext2_alloc.c */
/*
 * Allocates a free block for inode ino, the first free one at or after goal
 * in goal's group, else in the following groups (wrapping); goal 0 or out of
 * range means "the inode's own group". Updates the block bitmap, the group's
 * free count and g.free_blocks. -ENOSPC when none is free. The block's
 * contents are the caller's to write (get_mut with fresh set).
 */
int ext2_block_alloc(struct ext2_vol *v, uint32_t ino, uint32_t goal, uint32_t *out);
/* Frees a block owned by inode ino; -EUCLEAN if it is outside the data area or already free. */
int ext2_block_free(struct ext2_vol *v, uint32_t ino, uint32_t block);
/*
 * Allocates a free inode: a directory in a group with fewer directories and
 * more free inodes than average, anything else in its parent's group first.
 * Updates the inode bitmap, the group's free inode and directory counts and
 * g.free_inodes. -ENOSPC when none is free. Does not touch the inode itself.
 */
int ext2_inode_alloc(struct ext2_vol *v, uint32_t parent, uint16_t mode, uint32_t *out);
/* Frees an inode number (bitmap, counts; mode says whether it was a directory). */
int ext2_inode_free(struct ext2_vol *v, uint32_t ino, uint16_t mode);
/*
 * Writes the superblock's free counts from v->g, s_state = state
 * (EXT2_VALID_FS and/or EXT2_ERROR_FS) and s_wtime into the primary
 * superblock (the backups keep mke2fs's values, as e2fsck expects).
 */
int ext2_super_write(struct ext2_vol *v, uint16_t state);

/* ext2_inode_write.c */
/*
 * The largest size the inode may have on this volume: the format's limit,
 * 4 GiB - 1 for anything but a regular file (no high size half), 2 GiB - 1
 * for a regular file on revision 0 (no large_file feature there).
 */
uint64_t ext2_size_limit(const struct ext2_vol *v, const struct ext2_inode_info *ip);
/*
 * Writes ip back into its on-disk inode: mode, links, size (the high half
 * only for regular files, setting the large_file feature when a size needs
 * it), blocks, flags, times and i_block; the rest of the on-disk inode is
 * kept as it was.
 */
int ext2_inode_put(struct ext2_vol *v, const struct ext2_inode_info *ip);
/*
 * Allocates an inode near parent (ext2_inode_alloc) and initialises it on
 * disk as e2fsck expects of a new inode of this mode: no blocks, size 0,
 * links 0 (the caller links it and sets links), times now. *ip is filled.
 */
int ext2_inode_new(struct ext2_vol *v, uint32_t parent, uint16_t mode, struct ext2_inode_info *ip);
/* ext2_bmap_alloc.c */
/*
 * ext2_bmap that allocates: maps logical block lblk, allocating the data
 * block (near the previous block of the file, else the inode's group) and
 * any missing indirect block on the way (zero-filled, counted in
 * ip->blocks_512). *fresh tells whether the data block is new (its contents
 * are zeros to the caller: get_mut with fresh set). Updates *ip in memory
 * only; the caller writes it with ext2_inode_put. -ENOSPC leaves no block
 * allocated that the inode does not point to. -EFBIG beyond the format.
 */
int ext2_bmap_alloc(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t lblk, uint32_t *pblk,
		    bool *fresh);
/* ext2_truncate.c */
/*
 * Sets the size of a regular file (or directory or slow symlink being
 * released): shrinking frees every block past the new end, indirect blocks
 * that become empty included, and zeroes the tail of the last partial block;
 * growing leaves a hole. Updates ctime/mtime and writes the inode.
 */
int ext2_truncate(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t size);
/* ext2_file_write.c */
/*
 * Writes len bytes of buf at byte offset off of a regular file, allocating
 * blocks as needed (a gap before off stays a hole); extends the size, sets
 * mtime/ctime and writes the inode. *done is what was written, also when an
 * error (-ENOSPC, -EFBIG, -EIO) stops it part way; the size covers exactly
 * the bytes written.
 */
int ext2_file_write(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t off, const void *buf, size_t len,
		    size_t *done);
/* ext2_inode_write.c */
/*
 * Releases an inode whose last link is gone (ip->links == 0): frees its
 * blocks (not those of a fast symlink, which has none), sets dtime, writes
 * the inode and frees its number.
 */
int ext2_inode_release(struct ext2_vol *v, struct ext2_inode_info *ip);

/* ext2_dir_write.c */
/*
 * Adds the entry name -> ino (file_type EXT2_FT_*, stored only with the
 * filetype feature) to directory dir: in the first record with room (a
 * used record is split, an unused one taken), else in a new block appended
 * to the directory. Clears the dir_index flag of a directory it changes (the
 * index would be stale; the directory stays readable as linear entries).
 * Does not check for an existing entry of that name.
 */
int ext2_dir_add(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len, uint32_t ino,
		 uint32_t file_type);
/* Where a new name goes in a directory: found by ext2_dir_prepare_add, used by ext2_dir_add_at. */
struct ext2_dir_slot {
	uint64_t lblk;
	uint32_t pblk;
	uint32_t off;
	uint32_t ino, rec_len, name_len; /* the record there as found, to be found again unchanged */
	bool append;                     /* no record has room: a new block at lblk, the directory's end */
};
/*
 * ext2_dir_add in two steps, with one pass over the directory for both the
 * name check and the room: prepare returns -EEXIST if the name is there,
 * else 0 with *slot where add_at will put it, changing nothing. The slot
 * stays right while nothing else changes dir (the writer's exclusion;
 * allocating the new inode and its blocks does not touch dir); add_at finds
 * the slot's record again unchanged or gives -EUCLEAN.
 */
int ext2_dir_prepare_add(struct ext2_vol *v, const struct ext2_inode_info *dir, const char *name, size_t len,
			 struct ext2_dir_slot *slot);
int ext2_dir_add_at(struct ext2_vol *v, struct ext2_inode_info *dir, const struct ext2_dir_slot *slot,
		    const char *name, size_t len, uint32_t ino, uint32_t file_type);
/* Removes entry name, merging its record into the previous one of its block; *ino is what it pointed to. -ENOENT. */
int ext2_dir_remove(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len,
		    uint32_t *ino);
/* Points the existing entry name at ino (rename over an existing name, a moved directory's ".."). -ENOENT. */
int ext2_dir_retarget(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len, uint32_t ino,
		      uint32_t file_type);
/* Whether a directory holds nothing but "." and "..". */
int ext2_dir_is_empty(const struct ext2_vol *v, const struct ext2_inode_info *dir, bool *empty);

/* ext2_namei.c */
/*
 * The namespace operations on paths from the root. The parent directory is
 * resolved following symlinks (as ext2_path_resolve); the last component is
 * never followed. Errors as POSIX: -ENOENT, -EEXIST, -ENOTDIR, -EISDIR,
 * -ENOTEMPTY, -EINVAL (renaming a directory into itself, "." or ".." as the
 * last component), -EMLINK (65000 links), -ENAMETOOLONG, -ENOSPC.
 *
 * An inode whose last link one of them removes is not released: its number
 * comes back in *orphan (0 if none) and the caller calls ext2_inode_release
 * once no open file uses it.
 */
int ext2_create(struct ext2_vol *v, const char *path, uint16_t mode, struct ext2_inode_info *ip);
int ext2_mkdir(struct ext2_vol *v, const char *path, uint16_t mode, struct ext2_inode_info *ip);
int ext2_symlink(struct ext2_vol *v, const char *target, const char *path);
int ext2_link(struct ext2_vol *v, const char *oldpath, const char *newpath);
int ext2_unlink(struct ext2_vol *v, const char *path, uint32_t *orphan);
int ext2_rmdir(struct ext2_vol *v, const char *path, uint32_t *orphan);
/* rename(2): over an existing file, or an empty directory when moving a directory. */
int ext2_rename(struct ext2_vol *v, const char *from, const char *to, uint32_t *orphan);

#endif

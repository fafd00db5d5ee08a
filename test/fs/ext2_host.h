/*
 * Host side of the ext2 tests: images made by the host's mke2fs from trees
 * written here, loaded into memory and served to the ext2 core through its
 * block callbacks (each get() hands out a fresh heap copy of exactly one
 * block, so AddressSanitizer sees any access past a block's end).
 */
#ifndef LEVBLK_TEST_FS_EXT2_HOST_H
#define LEVBLK_TEST_FS_EXT2_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "fs/ext2.h"

struct himg_ref;

/*
 * An image in memory. Blocks taken with get_mut and marked dirty are copied
 * back into bytes at put(); himg_save writes bytes to a file.
 */
struct himg {
	uint8_t *bytes;
	size_t len;
	uint32_t block_bytes;    /* set by himg_mount */
	unsigned long gets, puts; /* every get (get_mut included) must be put */
	unsigned long get_muts;
	unsigned long dirty_meta, dirty_data; /* dirty() calls by their meta flag */
	unsigned long conflicts; /* a block taken writable while another copy was out, or dirtied read-only */
	unsigned long faults;    /* reports received */
	struct ext2_fault last;  /* the last one */
	int quiet;               /* do not print reports */
	int read_only;           /* get_mut fails with -EROFS */
	uint32_t fail_block;     /* not 0: get and get_mut of this block fail with -EIO */
	struct himg_ref *held;   /* blocks out now */
};

extern const struct ext2_blkio_ops himg_ops;

/* Runs a shell command built like printf; returns its exit status (-1 if it could not run). */
int host_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Makes a fresh temporary directory and returns its path (static storage). */
const char *host_tmpdir(void);
/* Reads a whole file into a himg. 0 or -errno. */
int himg_load(struct himg *h, const char *path);
void himg_free(struct himg *h);
/* Writes the image to a file. 0 or -errno. */
int himg_save(const struct himg *h, const char *path);
/* Loads a fresh empty ext2 image of kib KiB made by the host's mke2fs -t ext2 -b block_bytes opts. 0 or -errno. */
int himg_mkfs(struct himg *h, uint32_t block_bytes, uint32_t kib, const char *opts);
/*
 * Judges the image as it is now with the host's e2fsck -fn: its exit status,
 * or 4 when it exited 0 but declined a fix (its output then goes to stderr).
 */
int himg_fsck(const struct himg *h);
/*
 * Checks the superblock, initialises v over h and checks every group
 * descriptor; what ext2 mounting does before the first lookup.
 */
int himg_mount(struct himg *h, struct ext2_vol *v);

#endif

/* What himg_walk may do at most, so that a damaged image (a directory naming its own ancestor) still ends. */
#define HIMG_WALK_DEPTH    16u
#define HIMG_WALK_ENTRIES  20000u
#define HIMG_WALK_FILE_MAX (256u * 1024u) /* bytes read from the start of each file, plus its last block */
#define HIMG_WALK_DIR_MAX  (64u << 20)    /* bytes of directory read at most (the walk's -EFBIG beyond) */

struct himg_walk_stats {
	/* Limits, set by the caller; 0 takes the HIMG_WALK_* default. */
	unsigned long max_entries;
	uint64_t max_file_bytes, max_dir_bytes;
	unsigned long dirs, files, symlinks, entries;
	uint64_t bytes;
	int first_err;   /* the first error met (the walk goes on past it) */
	unsigned long errors;
};

/*
 * Reads everything reachable from the root the way a verifier would: every
 * directory, every inode named, the start and end of every file, every
 * symlink target. Errors are counted and the walk goes on with the next
 * entry. -ELOOP is what the walk itself reports for a tree deeper than
 * HIMG_WALK_DEPTH or larger than its entry limit, -EFBIG for a directory
 * over its size limit. st's limits are kept, the counts reset.
 */
void himg_walk(const struct ext2_vol *v, struct himg_walk_stats *st);

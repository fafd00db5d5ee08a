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

struct himg {
	uint8_t *bytes;
	size_t len;
	uint32_t block_bytes;    /* set by himg_mount */
	unsigned long gets, puts; /* every get must be put */
	unsigned long faults;    /* reports received */
	struct ext2_fault last;  /* the last one */
	int quiet;               /* do not print reports */
};

extern const struct ext2_blkio_ops himg_ops;

/* Runs a shell command built like printf; returns its exit status (-1 if it could not run). */
int host_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Makes a fresh temporary directory and returns its path (static storage). */
const char *host_tmpdir(void);
/* Reads a whole file into a himg. 0 or -errno. */
int himg_load(struct himg *h, const char *path);
void himg_free(struct himg *h);
/*
 * Checks the superblock, initialises v over h and checks every group
 * descriptor; what ext2 mounting does before the first lookup.
 */
int himg_mount(struct himg *h, struct ext2_vol *v);

#endif

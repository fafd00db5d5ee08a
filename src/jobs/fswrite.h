/*
 * run=fswrite's model of the tree it builds (fswrite.c runs the workload,
 * fswrite_list.c lists the result and compares it with the model). Private
 * to src/jobs/.
 *
 * The model is what the file system must hold after the workload: node 0 is
 * the workload's directory (dir=), every other used node one name under it;
 * regular files point to an object (the inode: contents and link count)
 * that hard links share. One thread owns it; no locking.
 */
#ifndef LEVBLK_JOBS_FSWRITE_H
#define LEVBLK_JOBS_FSWRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/fs.h>

#define FSW_NODES_MAX  128u          /* names in the model at once, node 0 included */
#define FSW_NAME_MAX   16u           /* bytes of a name, NUL included */
#define FSW_PATH_MAX   1024u         /* bytes of a path, NUL included */
#define FSW_DEPTH_MAX  5u            /* directories below node 0 */
#define FSW_FILE_MAX   (320u * 1024u) /* past 1 KiB blocks' first double-indirect block */
#define FSW_REPORT_MAX 20u           /* unexpected results printed; the rest only counted */

enum fsw_kind {
	FSW_FREE = 0,
	FSW_FILE,
	FSW_DIR,
	FSW_LINK,
};

struct fsw_obj {
	uint8_t *data;  /* size bytes (holes as zeros) */
	uint32_t size, cap;
	uint32_t links; /* names pointing to it; 0: unused */
};

struct fsw_node {
	uint8_t kind;        /* enum fsw_kind */
	bool seen;           /* the listing found it */
	uint16_t parent;     /* node index of the directory holding it (node 0: itself) */
	uint16_t obj;        /* FSW_FILE: index into fsw.objs */
	uint16_t children;   /* FSW_DIR: names in it */
	char name[FSW_NAME_MAX];
	char *target;        /* FSW_LINK: kmalloc'd, NUL-terminated */
};

struct fsw {
	struct fs *fs;
	const char *dev;
	const char *dir;     /* node 0's path, no trailing "/" */
	struct fsw_node nodes[FSW_NODES_MAX];
	struct fsw_obj objs[FSW_NODES_MAX];
	uint32_t op;         /* the operation running, from 0 */
	uint32_t move_height; /* levels of the directory being moved (fswrite.c, fsw_rename) */
	uint64_t errors;     /* unexpected results */
	uint64_t expected;   /* operations that failed as the model said they must */
	uint64_t files, bytes; /* what the listing found */
};

/* Writes node n's absolute path into buf (FSW_PATH_MAX bytes). */
void fsw_path(const struct fsw *w, uint32_t n, char *buf);
/* Counts an unexpected result and says what it was (the first FSW_REPORT_MAX of them). */
void fsw_unexpected(struct fsw *w, const char *what, const char *path, int got, int want);
/*
 * Mounts the file system again read-only, prints FSDIR, FSFILE and FSLINK
 * lines for everything under node 0 and compares it with the model (each
 * difference is an unexpected result), and unmounts. w->fs must be NULL
 * (the workload's mount is gone).
 */
void fsw_list(struct fsw *w, struct blkdev *dev);

#endif

/*
 * Partitions as block devices (docs/interface.md, Partitions): every
 * partition that blk_part_scan.c finds becomes a view of its disk, a struct
 * blkdev with its own name, capacity and start that shares the disk's queue
 * (blk_part.h). Each disk's views are one array its scan allocated, as many
 * as it has partitions. Views are made once, at boot, and never removed,
 * like disks: a pointer from blkdev_find() stays valid.
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/lib/string.h>
#include "blk_part.h"
#include "blk_queue.h"
#include "part_table.h"

struct blkdev *blk_part_find(const char *name)
{
	struct blkdev *disk, *p;

	for (unsigned int i = 0; (disk = blkdev_get(i)) != NULL; i++) {
		for (unsigned int k = 0; (p = blkdev_part(disk, k)) != NULL; k++) {
			if (strcmp(p->info.name, name) == 0)
				return p;
		}
	}
	return NULL;
}

struct blkdev *blkdev_parent(const struct blkdev *dev)
{
	return dev->whole == dev ? NULL : dev->whole;
}

struct blkdev *blkdev_part(const struct blkdev *disk, unsigned int i)
{
	return disk->whole == disk && i < disk->nparts ? &disk->parts[i] : NULL;
}

/*
 * The longest names that meet here: a disk's, "vd" and two letters
 * (blk_dev.c, past vdz), and a partition number of four digits (the parser
 * numbers at most PART_GPT_ENTRIES_MAX entries). A name cut short could be
 * another partition's (vdaa1000 cut is vdaa100), so the room is checked here.
 */
#define PART_DISK_NAME_LEN 4u
#define PART_NUM_DIGITS	   4u
_Static_assert(PART_GPT_ENTRIES_MAX <= 9999u, "partition numbers take at most 4 digits");
_Static_assert(PART_DISK_NAME_LEN + PART_NUM_DIGITS < BLKDEV_NAME_MAX,
	       "a partition's name must fit BLKDEV_NAME_MAX uncut");

/* disk's name and num in decimal: vda + 12 = vda12 (never overruns out). */
static void part_name(char out[BLKDEV_NAME_MAX], const char *disk, uint32_t num)
{
	char digits[10];
	size_t n = 0, len = strlen(disk);

	do {
		digits[n++] = (char)('0' + num % 10u);
		num /= 10u;
	} while (num && n < sizeof(digits));
	if (len > BLKDEV_NAME_MAX - 1)
		len = BLKDEV_NAME_MAX - 1;
	memcpy(out, disk, len);
	while (n && len < BLKDEV_NAME_MAX - 1)
		out[len++] = digits[--n];
	out[len] = '\0';
}

void blk_part_add_views(struct blkdev *disk, const struct part_table *t, struct blkdev *views)
{
	for (uint32_t i = 0; i < t->n; i++) {
		struct blkdev *v = &views[i];

		memset(v, 0, sizeof(*v));
		v->info = disk->info;
		part_name(v->info.name, disk->info.name, t->e[i].num);
		v->info.capacity = t->e[i].nsectors;
		v->info.start = t->e[i].start;
		v->whole = disk;
	}
	disk->parts = views;
	disk->nparts = t->n;
}

/*
 * Partitions as block devices (blk_part.c): the hooks the core calls where
 * bios enter and leave it. A partition is a struct blkdev whose `whole` is
 * its disk (blk_queue.h); its bios are checked against the partition, then
 * moved onto the disk (one add of the partition's start) and moved back
 * before their end_io runs, so the caller never sees the disk's sectors.
 */
#ifndef LEVBLK_BLK_PART_H
#define LEVBLK_BLK_PART_H

#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include "blk_queue.h"

struct part_table;

/* The partition called name, or NULL. */
struct blkdev *blk_part_find(const char *name);
/*
 * Makes views[i] the view of disk for partition t->e[i] (part_table.h:
 * checked, ascending start); views has room for t->n and lives for good.
 * Once per disk, at boot (thread context, before any job).
 */
void blk_part_add_views(struct blkdev *disk, const struct part_table *t, struct blkdev *views);

/*
 * submit_bio, after blk_bio_check accepted the bio against its device: a
 * partition's bio moves to the disk. Nothing to do for a disk's.
 */
static inline void blk_part_remap(struct bio *bio)
{
	struct blkdev *dev = bio->bio_dev;

	bio->bio_part = NULL;
	if (dev->whole == dev)
		return;
	bio->bio_part = dev;
	bio->bio_sector += dev->info.start; /* cannot wrap: checked inside the partition */
	bio->bio_dev = dev->whole;
}

/* The bio is ending (its disk's queue lock held): back to what the caller submitted. */
static inline void blk_part_unmap(struct bio *bio)
{
	struct blkdev *part = bio->bio_part;

	if (!part)
		return;
	bio->bio_sector -= part->info.start;
	bio->bio_dev = part;
	bio->bio_part = NULL;
}

#endif

/*
 * Finding partitions (docs/interface.md, Partitions): at boot, after the
 * drivers registered their disks, each disk's partition table is read
 * through the bio interface, parsed (part_table.c, pure code that trusts
 * nothing it reads) and every partition found becomes a view of its disk
 * (blk_part.c). A table that is damaged or unreadable is reported in one
 * line and the disk stays usable as a whole.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/kmalloc.h>
#include <levblk/init.h>
#include "blk_part.h"
#include "blk_queue.h"
#include "part_table.h"

/* part_src.read: one logical block of the disk, through a bio. Thread context. */
static int part_read_block(void *ctx, uint64_t lba, void *buf)
{
	struct blkdev *disk = ctx;
	uint32_t lbs = disk->info.lbs;
	struct bio_seg seg = {buf, lbs};
	struct bio b;

	bio_init_rw(&b, disk, BIO_OP_READ, lba * (lbs >> SECTOR_SHIFT), &seg, 1, NULL, NULL);
	return submit_bio_wait(&b);
}

static void part_scan(struct blkdev *disk, uint8_t *scratch)
{
	static struct part_table t; /* boot thread only */
	const struct blkdev_info *in = &disk->info;
	struct part_src src = {.read = part_read_block,
			       .ctx = disk,
			       .lbs = in->lbs,
			       .nblocks = in->capacity / (in->lbs >> SECTOR_SHIFT),
			       .buf = scratch};
	int err = part_table_read(&src, &t);

	if (err == -EINVAL) {
		kprintf("%s: partition table damaged (%s): using the whole disk\n", in->name,
			t.why);
		return;
	}
	if (err) {
		kprintf("%s: partition table unreadable (error %d): using the whole disk\n",
			in->name, err);
		return;
	}
	if (t.kind == PART_KIND_NONE)
		return;
	if (t.note)
		kprintf("%s: primary GPT damaged (%s): using the backup\n", in->name, t.note);
	/* Views live as long as the disk: never freed. */
	struct blkdev *views = t.n ? kmalloc(t.n * sizeof(*views)) : NULL;
	if (t.n && !views) {
		kprintf("%s: no memory for %u partitions: using the whole disk\n", in->name,
			(unsigned int)t.n);
		return;
	}
	blk_part_add_views(disk, &t, views);
	kprintf("%s: %s partition table, %u partition(s)", in->name,
		t.kind == PART_KIND_GPT ? "GPT" : "MBR", (unsigned int)t.n);
	for (uint32_t i = 0; i < t.n; i++)
		kprintf(" %s", disk->parts[i].info.name);
	kprintf("\n");
}

_Static_assert(PART_LBS_MIN <= SECTOR_SIZE && PART_LBS_MAX >= BLK_MAX_LBS,
	       "the parser takes every block size a registered disk may have");

/* After the drivers (INIT_LEVEL_DEVICE): every disk's table, read once. */
static int blk_part_scan_all(void)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		struct blkdev *disk = blkdev_get(i);

		if (blkdev_broken(disk))
			continue;
		/*
		 * Two blocks for the parser, also handed to the device as read
		 * buffers. A registered disk's block size is one the parser takes
		 * (blk_geometry_problem); part_table_read checks it again.
		 */
		uint8_t *scratch = kmalloc(2u * disk->info.lbs);
		if (!scratch) {
			kprintf("%s: no memory to read the partition table\n", disk->info.name);
			continue;
		}
		part_scan(disk, scratch);
		kfree(scratch);
	}
	return 0;
}
INITCALL(INIT_LEVEL_LATE, blk_part_scan_all);

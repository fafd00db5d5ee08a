/*
 * Checks a bio before it goes anywhere near a queue. Each kind of mistake
 * has its code (bio.h, docs/interface.md): a bio that fails here never reaches the
 * device. Pure: reads the device's fixed info only, so no lock is needed.
 * On a partition, the bounds are the partition's (its info's capacity).
 */
#include <levblk/bio.h>
#include <levblk/errno.h>
#include "blk_queue.h"

static int check_data(const struct blkdev_info *info, struct bio *bio);

/* Start and length whole logical blocks, and inside the disk (no 64-bit wrap). */
int blk_check_range(const struct blkdev_info *info, uint64_t sector, uint64_t nsectors)
{
	uint64_t lb_sectors = info->lbs >> SECTOR_SHIFT;

	if (nsectors == 0)
		return -EINVAL;
	if (sector % lb_sectors || nsectors % lb_sectors)
		return -EINVAL;
	if (sector > info->capacity || nsectors > info->capacity - sector)
		return -EINVAL;
	return 0;
}

/* Sums the segments into bio_bytes; no segment may be empty. */
static int check_data(const struct blkdev_info *info, struct bio *bio)
{
	uint64_t total = 0;

	if (bio->bio_nsegs == 0 || !bio->bio_segs)
		return -EINVAL;
	for (uint32_t i = 0; i < bio->bio_nsegs; i++) {
		if (bio->bio_segs[i].len == 0 || !bio->bio_segs[i].va)
			return -EINVAL;
		total += bio->bio_segs[i].len;
	}
	bio->bio_bytes = total;
	return 0;
}

int blk_bio_check(const struct blkdev *dev, struct bio *bio)
{
	const struct blkdev_info *info = &dev->info;
	int err;

	if (!bio->bio_end_io)
		return -EINVAL; /* no one could be told how it ended */
	if (dev->whole->broken)
		return -ENODEV;
	if (bio->bio_op >= BIO_OP_COUNT || !(info->ops & (1u << bio->bio_op)))
		return -EOPNOTSUPP;
	bio->bio_bytes = 0;
	switch (bio->bio_op) {
	case BIO_OP_WRITE:
	case BIO_OP_READ:
		if (bio->bio_op == BIO_OP_WRITE && info->ro)
			return -EROFS;
		err = check_data(info, bio);
		if (err)
			return err;
		if (bio->bio_bytes % info->lbs)
			return -EINVAL;
		return blk_check_range(info, bio->bio_sector, bio->bio_bytes >> SECTOR_SHIFT);
	case BIO_OP_DISCARD:
	case BIO_OP_WRITE_ZEROES:
		if (info->ro)
			return -EROFS;
		return blk_check_range(info, bio->bio_sector, bio->bio_nsectors);
	case BIO_OP_GET_ID:
		err = check_data(info, bio);
		if (err)
			return err;
		return bio->bio_bytes == BIO_ID_BYTES ? 0 : -EINVAL;
	case BIO_OP_FLUSH:
	default:
		return 0;
	}
}

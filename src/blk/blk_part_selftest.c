/*
 * In-guest selftest of partitions: a bio that crosses a partition's end
 * ends -EINVAL and writes nothing, and one inside it lands at the
 * partition's start on the disk. Needs a writable disk with a partition
 * table (test/qemu/part.cmake boots one); without, it passes with a
 * "# skip" note. It restores what it overwrote.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/init.h>
#include <levblk/lib/string.h>

#define PST_MAX_LBS 4096u

static int pst_io(struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf, uint32_t len)
{
	struct bio b;
	struct bio_seg seg = {buf, len};

	bio_init_rw(&b, dev, op, sector, &seg, 1, NULL, NULL);
	return submit_bio_wait(&b);
}

/* The last partition of the first writable disk that has partitions, or NULL. */
static struct blkdev *pst_find(void)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		struct blkdev *disk = blkdev_get(i), *p, *last = NULL;
		const struct blkdev_info *d = blkdev_info(disk);

		if (d->ro || d->lbs > PST_MAX_LBS || blkdev_broken(disk))
			continue;
		for (unsigned int k = 0; (p = blkdev_part(disk, k)) != NULL; k++)
			last = p;
		if (last)
			return last;
	}
	return NULL;
}

/*
 * Buffers: [0] the partition's last block and [1] the disk's block after it
 * as they were, [2] two blocks of 0x5A to write, [4] what is read back.
 */
static bool pst_body(struct blkdev *part, uint8_t *buf)
{
	const struct blkdev_info *p = blkdev_info(part);
	struct blkdev *disk = blkdev_parent(part);
	uint32_t lbs = p->lbs, bsec = lbs / SECTOR_SIZE;
	uint64_t last = p->capacity - bsec; /* the partition's last block */
	uint64_t after = p->start + p->capacity; /* on the disk */
	bool have_after = after + bsec <= blkdev_info(disk)->capacity;
	uint8_t *save = buf, *wr = buf + 2 * lbs, *rd = buf + 4 * lbs;
	int err;

	kprintf("# %s: sectors %llu+%llu on %s\n", p->name, (unsigned long long)p->start,
		(unsigned long long)p->capacity, blkdev_info(disk)->name);
	if (pst_io(disk, BIO_OP_READ, p->start + last, save, lbs) ||
	    (have_after && pst_io(disk, BIO_OP_READ, after, save + lbs, lbs))) {
		kprintf("# reading the blocks around the end failed\n");
		return false;
	}
	memset(wr, 0x5A, 2 * lbs);
	/* Crossing the end by one block, starting at the end, and a read crossing it. */
	err = pst_io(part, BIO_OP_WRITE, last, wr, 2 * lbs);
	bool ok = err == -EINVAL;
	if (!ok)
		kprintf("# write crossing the end: %d, want %d\n", err, -EINVAL);
	err = pst_io(part, BIO_OP_WRITE, p->capacity, wr, lbs);
	if (err != -EINVAL) {
		kprintf("# write at the end: %d, want %d\n", err, -EINVAL);
		ok = false;
	}
	err = pst_io(part, BIO_OP_READ, last, rd, 2 * lbs);
	if (err != -EINVAL) {
		kprintf("# read crossing the end: %d, want %d\n", err, -EINVAL);
		ok = false;
	}
	/* Nothing was written: both blocks read through the disk as they were. */
	if (pst_io(disk, BIO_OP_READ, p->start + last, rd, lbs) || memcmp(rd, save, lbs) ||
	    (have_after && (pst_io(disk, BIO_OP_READ, after, rd + lbs, lbs) ||
			    memcmp(rd + lbs, save + lbs, lbs)))) {
		kprintf("# the blocks around the end changed\n");
		ok = false;
	}
	/* The last block itself: written through the partition, seen at start + last on the disk. */
	if (pst_io(part, BIO_OP_WRITE, last, wr, lbs) ||
	    pst_io(disk, BIO_OP_READ, p->start + last, rd, lbs) || memcmp(rd, wr, lbs)) {
		kprintf("# the partition's last block did not land at its place on the disk\n");
		ok = false;
	}
	if (pst_io(disk, BIO_OP_WRITE, p->start + last, save, lbs)) {
		kprintf("# restoring the partition's last block failed\n");
		ok = false;
	}
	return ok;
}

static bool pst_bounds(void)
{
	struct blkdev *part = pst_find();
	struct dma_buf mem;

	if (!part) {
		kprintf("# skip: no writable disk with partitions\n");
		return true;
	}
	if (dma_alloc(6 * PST_MAX_LBS, 4096, &mem)) {
		kprintf("# out of memory\n");
		return false;
	}
	bool ok = pst_body(part, mem.va);
	dma_free(&mem);
	return ok;
}
SELFTEST("part.bounds", pst_bounds);

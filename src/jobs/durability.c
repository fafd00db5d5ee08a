/*
 * run=durability dev=vda sector=S seed=1: what the block layer claims about
 * durability, one bio of each kind, for the QEMU fault tests
 * (test/qemu/robust.cmake: a drive whose flushes fail through blkdebug).
 * Not listed in the README's jobs: it exists for tests, like crashtest.
 *
 * With b = the logical block in sectors, it writes the pattern (seed) to
 *   sector S        a plain write          no durability promised
 *   (then)          a FLUSH bio            durable: everything written before
 *   sector S + b    a write with BIO_FUA   durable when it ends well
 *   sector S + 2b   a write with BIO_PREFLUSH: earlier writes durable first,
 *                  then the data (not written at all if that flush failed)
 * one after the other, and prints each one's status:
 *   DURABILITY dev=vda write=0 flush=E fua=E preflush=E
 * RESULT PASS when all four are 0, else RESULT FAIL I/O errors. A flush
 * failure must show up in the flush, FUA and PREFLUSH statuses: a 0 there
 * would claim durability the device did not give.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/lib/pattern.h>

#define DUR_BLOCKS 3u /* the plain, FUA and PREFLUSH writes */
#define DUR_PAGE   4096u

static const char *const durability_keys[] = {"dev", "sector", "seed", NULL};

/* One write of the pattern to the logical block at `sector`, with flags. */
static int dur_write(struct blkdev *dev, uint64_t sector, uint32_t flags, uint8_t *buf,
		     uint64_t seed)
{
	uint32_t lbs = blkdev_info(dev)->lbs;
	struct bio_seg seg = {buf, lbs};
	struct bio b;

	for (uint32_t off = 0; off < lbs; off += SECTOR_SIZE)
		pattern_fill_sector(buf + off, seed, sector + off / SECTOR_SIZE);
	bio_init_rw(&b, dev, BIO_OP_WRITE, sector, &seg, 1, NULL, NULL);
	b.bio_flags = flags;
	return submit_bio_wait(&b);
}

static int durability_fn(const char **why)
{
	const char *name = arg_str("dev", "vda");
	struct blkdev *dev = blkdev_find(name);
	uint64_t sector, seed;
	struct dma_buf mem;
	struct bio fb;
	int st[4];

	if (!dev) {
		kprintf("durability: no block device called %s\n", name);
		*why = "bad argument";
		return -EINVAL;
	}
	const struct blkdev_info *info = blkdev_info(dev);
	uint64_t b = info->lbs / SECTOR_SIZE;
	if (arg_u64("sector", 64, 0, UINT64_MAX, &sector) ||
	    arg_u64("seed", 1, 0, UINT64_MAX, &seed) || sector % b ||
	    sector + DUR_BLOCKS * b > info->capacity) {
		kprintf("durability: sector= must be a logical block with %u more inside %s\n",
			DUR_BLOCKS - 1, name);
		*why = "bad argument";
		return -EINVAL;
	}
	if (dma_alloc(info->lbs < DUR_PAGE ? DUR_PAGE : info->lbs, DUR_PAGE, &mem)) {
		*why = "out of memory";
		return -ENOMEM;
	}
	st[0] = dur_write(dev, sector, 0, mem.va, seed);
	bio_init_nodata(&fb, dev, BIO_OP_FLUSH, 0, 0, NULL, NULL);
	st[1] = submit_bio_wait(&fb);
	st[2] = dur_write(dev, sector + b, BIO_FUA, mem.va, seed);
	st[3] = dur_write(dev, sector + 2 * b, BIO_PREFLUSH, mem.va, seed);
	dma_free(&mem);
	kprintf("DURABILITY dev=%s write=%d flush=%d fua=%d preflush=%d cache=%s\n", name, st[0],
		st[1], st[2], st[3], info->volatile_cache ? "write-back" : "none");
	for (unsigned int i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		if (st[i]) {
			*why = "I/O errors";
			return -EIO;
		}
	}
	return 0;
}

JOB("durability", durability_keys, durability_fn);

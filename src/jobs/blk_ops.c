/*
 * run=ops: the block operations without a data transfer, through the whole
 * path to the device: WRITE_ZEROES, DISCARD and GET_ID on one disk.
 *
 *   run=ops [dev=vda] [sector=2048] [sectors=256]
 *
 * writes zeroes over [sector, sector+sectors) and reads it back (it must
 * read as zeroes), discards the next `sectors` sectors and reads them back
 * (the read must succeed; whether it returns zeroes is the device's
 * choice, reported as zeros=0|1), asks for the device's id, and flushes.
 * One line per operation (docs/interface.md, "run=ops"):
 *   OPS dev=vda op=write_zeroes sector=2048 sectors=256 status=0 read=0 zeros=1
 *   OPS dev=vda op=discard sector=2304 sectors=256 status=0 read=0 zeros=1
 *   OPS dev=vda op=get_id status=0 id=levblk-ops
 * The host side (test/qemu/blk_ops_test) fills the image first and checks
 * afterwards that it holds zeroes exactly there, and that the id is the
 * drive's serial.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>

#define OPS_DEFAULT_SECTOR  2048u
#define OPS_DEFAULT_SECTORS 256u
#define OPS_MAX_SECTORS	    2048u /* 1 MiB read-back buffer */

static bool ops_all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* One range op, then a read of the range; prints its OPS line. Returns 0 or the first error. */
static int ops_range(struct blkdev *dev, enum bio_op op, uint64_t sector, uint32_t n, uint8_t *buf,
		     bool must_zero)
{
	struct bio b;
	int st, rd = -1;
	bool zeros = false;

	bio_init_nodata(&b, dev, op, sector, n, NULL, NULL);
	st = submit_bio_wait(&b);
	if (!st) {
		bio_init_buf(&b, dev, BIO_OP_READ, sector, buf, n * SECTOR_SIZE, NULL, NULL);
		rd = submit_bio_wait(&b);
		zeros = !rd && ops_all_zero(buf, n * SECTOR_SIZE);
	}
	kprintf("OPS dev=%s op=%s sector=%lu sectors=%u status=%d read=%d zeros=%d\n",
		blkdev_info(dev)->name, op == BIO_OP_DISCARD ? "discard" : "write_zeroes",
		(unsigned long)sector, n, st, rd, zeros ? 1 : 0);
	if (st)
		return st;
	if (rd)
		return rd;
	return must_zero && !zeros ? -EIO : 0;
}

/* GET_ID; prints the id up to its first NUL, bytes outside printable ASCII as '.'. */
static int ops_get_id(struct blkdev *dev)
{
	uint8_t id[BIO_ID_BYTES];
	char text[BIO_ID_BYTES + 1];
	struct bio b;
	unsigned int i;

	for (i = 0; i < BIO_ID_BYTES; i++)
		id[i] = 0;
	bio_init_buf(&b, dev, BIO_OP_GET_ID, 0, id, BIO_ID_BYTES, NULL, NULL);
	int st = submit_bio_wait(&b);
	for (i = 0; i < BIO_ID_BYTES && !st && id[i]; i++)
		text[i] = id[i] > ' ' && id[i] < 0x7f ? (char)id[i] : '.';
	text[i] = '\0';
	kprintf("OPS dev=%s op=get_id status=%d id=%s\n", blkdev_info(dev)->name, st, text);
	return st;
}

static const char *const ops_keys[] = {"dev", "sector", "sectors", NULL};

static int ops_fn(const char **why)
{
	struct blkdev *dev = blkdev_find(arg_str("dev", "vda"));
	uint64_t sector, n;

	if (!dev || arg_u64("sector", OPS_DEFAULT_SECTOR, 0, UINT64_MAX / 2, &sector) ||
	    arg_u64("sectors", OPS_DEFAULT_SECTORS, 1, OPS_MAX_SECTORS, &n)) {
		kprintf("ops: want dev=<a disk>, sector=<n> and sectors=<1..%u>\n", OPS_MAX_SECTORS);
		*why = "bad argument";
		return -EINVAL;
	}
	const struct blkdev_info *info = blkdev_info(dev);
	uint32_t spb = info->lbs / SECTOR_SIZE;
	if (sector % spb || n % spb || sector + 2 * n > info->capacity) {
		kprintf("ops: sector=%lu sectors=%lu: two ranges of whole %u-byte blocks inside %s "
			"(%lu sectors)\n",
			(unsigned long)sector, (unsigned long)n, info->lbs, info->name,
			(unsigned long)info->capacity);
		*why = "bad argument";
		return -EINVAL;
	}
	uint8_t *buf = kmalloc((size_t)n * SECTOR_SIZE);
	if (!buf) {
		*why = "no memory";
		return -ENOMEM;
	}
	int err = ops_range(dev, BIO_OP_WRITE_ZEROES, sector, (uint32_t)n, buf, true);
	int e = ops_range(dev, BIO_OP_DISCARD, sector + n, (uint32_t)n, buf, false);
	if (!err)
		err = e;
	e = ops_get_id(dev);
	if (!err)
		err = e;
	struct bio fl;
	bio_init_nodata(&fl, dev, BIO_OP_FLUSH, 0, 0, NULL, NULL);
	e = submit_bio_wait(&fl);
	if (!err)
		err = e;
	kfree(buf);
	if (err) {
		*why = "operation failed";
		return err;
	}
	return 0;
}
JOB("ops", ops_keys, ops_fn);

/*
 * In-guest selftests of bio batches and of waiting on a bio in flight, on
 * the first disk QEMU attached (read only: nothing on the disk changes).
 * The buffers come from kmalloc, which levblk/kmalloc.h says a device may
 * be given. Without a disk the tests pass with a "# skip" note.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/container_of.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#define BT_BLOCKS 32u
#define BT_ROUNDS 8u

static struct blkdev *bt_disk(void)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		struct blkdev *d = blkdev_get(i);
		if (!blkdev_broken(d) && blkdev_info(d)->capacity >= 2u * BT_BLOCKS * 8u)
			return d;
	}
	return NULL;
}

/* Reads BT_BLOCKS logical blocks as one batch, then one by one; both must agree. */
static bool st_batch(void)
{
	struct blkdev *dev = bt_disk();

	if (!dev) {
		kprintf("# skip: no block device\n");
		return true;
	}
	uint32_t lbs = blkdev_info(dev)->lbs;
	uint32_t spb = lbs / SECTOR_SIZE;
	struct bio *bios = kzalloc(BT_BLOCKS * sizeof(*bios));
	uint8_t *a = kmalloc((size_t)BT_BLOCKS * lbs), *b = kmalloc(lbs);
	struct bio_batch batch;
	bool ok = bios && a && b;

	if (ok) {
		bio_batch_init(&batch);
		/* Every other block, backwards: no merging into one request. */
		for (unsigned int i = 0; i < BT_BLOCKS; i++) {
			uint64_t sector = (uint64_t)(BT_BLOCKS - 1 - i) * 2u * spb;
			bio_init_buf(&bios[i], dev, BIO_OP_READ, sector, a + (size_t)i * lbs, lbs,
				     NULL, NULL);
			ok &= bio_batch_add(&batch, &bios[i]) == 0;
		}
		int err = bio_batch_wait(&batch);
		ok &= err == 0;
		for (unsigned int i = 0; ok && i < BT_BLOCKS; i++) {
			struct bio one;
			bio_init_buf(&one, dev, BIO_OP_READ, bios[i].bio_sector, b, lbs, NULL, NULL);
			ok &= bios[i].bio_status == 0 && submit_bio_wait(&one) == 0 &&
			      memcmp(a + (size_t)i * lbs, b, lbs) == 0;
		}
		if (!ok)
			kprintf("# batch of %u reads: %d, or a block differs from its single read\n",
				BT_BLOCKS, err);
	}
	kfree(bios);
	kfree(a);
	kfree(b);
	return ok;
}
SELFTEST("blk.batch_matches_single_reads", st_batch);

/* A "readahead" bio submitted by one thread; another waits for it. */
struct bt_ra {
	struct bio bio;
	volatile unsigned int ended;
};

struct bt_waiter {
	struct bt_ra *ra;
	bool saw_inflight;
	unsigned int ended_at_return;
	int status;
};

static void bt_ra_end_io(struct bio *bio)
{
	container_of(bio, struct bt_ra, bio)->ended++;
}

static void bt_waiter_main(void *arg)
{
	struct bt_waiter *w = arg;

	w->saw_inflight = bio_is_inflight(&w->ra->bio);
	w->status = bio_wait_inflight(&w->ra->bio);
	w->ended_at_return = w->ra->ended;
}

static bool st_wait_inflight(void)
{
	struct blkdev *dev = bt_disk();

	if (!dev) {
		kprintf("# skip: no block device\n");
		return true;
	}
	uint32_t lbs = blkdev_info(dev)->lbs;
	struct bt_ra *ra = kzalloc(BT_BLOCKS * sizeof(*ra));
	uint8_t *buf = kmalloc((size_t)BT_BLOCKS * lbs);
	unsigned int waited = 0;
	bool ok = ra && buf;

	for (unsigned int round = 0; ok && round < BT_ROUNDS; round++) {
		struct bt_waiter w = {.ra = &ra[BT_BLOCKS - 1]};
		struct blk_plug plug;

		/* A queue of reads; the waiter waits for the last, submitted by this thread. */
		blk_start_plug(&plug);
		for (unsigned int i = 0; i < BT_BLOCKS; i++) {
			ra[i].ended = 0;
			bio_init_buf(&ra[i].bio, dev, BIO_OP_READ, (uint64_t)i * 2u * (lbs / 512u),
				     buf + (size_t)i * lbs, lbs, bt_ra_end_io, NULL);
			submit_bio(&ra[i].bio);
		}
		struct thread *t = thread_create("bt-waiter", bt_waiter_main, &w);
		blk_finish_plug(&plug);
		if (!t) {
			ok = false;
			break;
		}
		thread_join(t);
		for (unsigned int i = 0; i < BT_BLOCKS; i++)
			bio_wait_inflight(&ra[i].bio); /* let all of them end before reuse */
		waited += w.saw_inflight;
		/* The waiter returns only after end_io ran, with the bio's status. */
		if (w.status != 0 || w.ended_at_return != 1 || ra[BT_BLOCKS - 1].bio.bio_status) {
			kprintf("# round %u: status %d, end_io had run %u times when the wait returned\n",
				round, w.status, w.ended_at_return);
			ok = false;
		}
	}
	/*
	 * Whether the waiter finds the bio still in flight depends on how fast
	 * the emulator completes it: reported, not required. The host test
	 * test_bio_batch puts a waiter to sleep on a bio in flight every time.
	 */
	kprintf("# %u of %u waits found the bio in flight\n", waited, BT_ROUNDS);
	kfree(ra);
	kfree(buf);
	return ok;
}
SELFTEST("blk.wait_inflight_from_other_thread", st_wait_inflight);

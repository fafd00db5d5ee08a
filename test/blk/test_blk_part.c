/*
 * Partitions as block devices (src/blk/blk_part.c and the core's hooks) on
 * the fake driver: a partition's bio reaches the disk at its start plus the
 * partition's, never past the partition's end, and its caller gets the
 * bio back as submitted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include "blk/blk_part.h"
#include "blk/blk_queue.h"
#include "blk/fake_drv.h"
#include "blk/part_table.h"
#include "hal_host/hal_host.h"

void blk_dev_host_reset(void);

struct tbio {
	struct bio bio;
	struct bio_seg seg;
	int ended;
	int status;
	struct blkdev *dev_at_end;
	uint64_t sector_at_end;
	int resubmit; /* end_io submits the bio again this many times */
};

static void tbio_end(struct bio *b)
{
	struct tbio *t = b->bio_private;

	t->ended++;
	t->status = b->bio_status;
	t->dev_at_end = b->bio_dev;
	t->sector_at_end = b->bio_sector;
	if (t->resubmit > 0) {
		t->resubmit--;
		submit_bio(b);
	}
}

static void tbio_rw(struct tbio *t, struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf,
		    uint32_t len)
{
	memset(t, 0, sizeof(*t));
	t->seg = (struct bio_seg){buf, len};
	bio_init_rw(&t->bio, dev, op, sector, &t->seg, 1, tbio_end, t);
}

static struct fake_drv *fd;

static int setup(void **state)
{
	hal_host_quiet = true;
	return 0;
}

static int teardown(void **state)
{
	if (fd) {
		fake_destroy(fd);
		free(fd);
		fd = NULL;
	}
	blk_dev_host_reset();
	return 0;
}

/* A disk of cap sectors with partitions 1 at [100, 300) and 3 at [400, 450) (x lbs/512). */
static struct blkdev *mkdisk(uint64_t cap, uint32_t lbs)
{
	static struct part_table t;
	static struct blkdev views[2];
	uint32_t k = lbs / 512u;

	fd = fake_create(cap, lbs, 16, 65536, 256, 8, 8, false, false);
	memset(&t, 0, sizeof(t));
	t.kind = PART_KIND_GPT;
	t.n = 2;
	t.e[0] = (struct part_entry){.num = 1, .start = 100 * k, .nsectors = 200 * k};
	t.e[1] = (struct part_entry){.num = 3, .start = 400 * k, .nsectors = 50 * k};
	blk_part_add_views(fd->dev, &t, views);
	return fd->dev;
}

static void test_views(void **state)
{
	struct blkdev *disk = mkdisk(1000, 512);
	struct blkdev *p1 = blkdev_find("vda1"), *p3 = blkdev_find("vda3");

	assert_non_null(p1);
	assert_non_null(p3);
	assert_null(blkdev_find("vda2"));
	assert_ptr_equal(blkdev_find("vda"), disk);
	assert_ptr_equal(blkdev_part(disk, 0), p1);
	assert_ptr_equal(blkdev_part(disk, 1), p3);
	assert_null(blkdev_part(disk, 2));
	assert_null(blkdev_part(p1, 0));
	assert_ptr_equal(blkdev_parent(p1), disk);
	assert_null(blkdev_parent(disk));
	assert_int_equal(blkdev_count(), 1); /* disks only */
	assert_int_equal(blkdev_info(p1)->capacity, 200);
	assert_int_equal(blkdev_info(p1)->start, 100);
	assert_int_equal(blkdev_info(p3)->start, 400);
	assert_int_equal(blkdev_info(disk)->start, 0);
	assert_int_equal(blkdev_info(p3)->lbs, 512);
}

/* The data lands at the partition's start plus the bio's sector; end_io sees the bio as given. */
static void test_remap_and_restore(void **state)
{
	mkdisk(1000, 512);
	struct blkdev *p1 = blkdev_find("vda1");
	static uint8_t buf[2048];
	struct tbio t;

	memset(buf, 0xA5, sizeof(buf));
	tbio_rw(&t, p1, BIO_OP_WRITE, 196, buf, sizeof(buf));
	t.resubmit = 1;
	submit_bio(&t.bio);
	fake_complete_all(fd);
	fake_complete_all(fd);
	assert_int_equal(t.ended, 2);
	assert_int_equal(t.status, 0);
	assert_ptr_equal(t.dev_at_end, p1);
	assert_int_equal(t.sector_at_end, 196);
	assert_ptr_equal(t.bio.bio_dev, p1);
	assert_int_equal(t.bio.bio_sector, 196);
	assert_int_equal(fd->nlog, 2); /* the resubmission went to the same place */
	assert_int_equal(fd->log[0].sector, 296);
	assert_int_equal(fd->log[1].sector, 296);
	assert_int_equal(fd->disk[296 * 512], 0xA5);
	assert_int_equal(fd->disk[300 * 512 - 1], 0xA5);
	assert_int_equal(fd->disk[300 * 512], 0);
	assert_int_equal(fd->disk[296 * 512 - 1], 0);

	/* A partition's counters are its disk's. */
	struct blk_counters a, b;
	blkdev_counters(p1, &a);
	blkdev_counters(fd->dev, &b);
	assert_int_equal(a.bios, 2);
	/* Except the queue lock's count: each blkdev_counters call takes the lock once more. */
	assert_int_equal(b.lock_acquired, a.lock_acquired + 1);
	a.lock_acquired = b.lock_acquired;
	assert_memory_equal(&a, &b, sizeof(a));
}

/* Past the partition's end: -EINVAL, and nothing reaches the disk. */
static void test_bounds(void **state)
{
	mkdisk(1000, 512);
	struct blkdev *p1 = blkdev_find("vda1"), *p3 = blkdev_find("vda3");
	static uint8_t buf[4096];
	struct tbio t;

	memset(buf, 0x5A, sizeof(buf));
	tbio_rw(&t, p1, BIO_OP_WRITE, 198, buf, 2048); /* 198..201: crosses 200 */
	submit_bio(&t.bio);
	assert_int_equal(t.ended, 1);
	assert_int_equal(t.status, -EINVAL);
	assert_ptr_equal(t.dev_at_end, p1);
	tbio_rw(&t, p1, BIO_OP_WRITE, 200, buf, 512);
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
	tbio_rw(&t, p3, BIO_OP_READ, UINT64_MAX - 3, buf, 4096); /* would wrap */
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
	struct bio d;
	bio_init_nodata(&d, p3, BIO_OP_DISCARD, 40, 11, tbio_end, &t); /* 40..50: crosses 50 */
	t.ended = 0;
	submit_bio(&d);
	assert_int_equal(t.ended, 1);
	assert_int_equal(t.status, -EINVAL);
	fake_complete_all(fd);
	assert_int_equal(fd->nlog, 0);
	for (size_t i = 0; i < fd->disk_bytes; i++)
		assert_int_equal(fd->disk[i], 0);

	/* The last sector itself is fine, and so is a discard inside. */
	tbio_rw(&t, p1, BIO_OP_WRITE, 199, buf, 512);
	submit_bio(&t.bio);
	bio_init_nodata(&d, p3, BIO_OP_DISCARD, 40, 10, tbio_end, &t);
	submit_bio(&d);
	fake_complete_all(fd);
	assert_int_equal(fd->nlog, 2);
	assert_int_equal(fd->log[0].sector + fd->log[1].sector, 299 + 440);
	assert_int_equal(fd->disk[299 * 512], 0x5A);
	assert_int_equal(fd->disk[300 * 512], 0);
}

/* 4 KiB blocks: the partition's sectors are 512-byte units, bios whole blocks. */
static void test_4k(void **state)
{
	mkdisk(8000, 4096);
	struct blkdev *p1 = blkdev_find("vda1");
	static uint8_t buf[4096];
	struct tbio t;

	assert_int_equal(blkdev_info(p1)->start, 800);
	assert_int_equal(blkdev_info(p1)->capacity, 1600);
	tbio_rw(&t, p1, BIO_OP_READ, 4, buf, 4096); /* not block-aligned */
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
	tbio_rw(&t, p1, BIO_OP_READ, 1592, buf, 4096); /* the last block */
	submit_bio(&t.bio);
	fake_complete_all(fd);
	assert_int_equal(t.status, 0);
	assert_int_equal(fd->log[0].sector, 2392);
	tbio_rw(&t, p1, BIO_OP_READ, 1600, buf, 4096);
	submit_bio(&t.bio);
	assert_int_equal(t.status, -EINVAL);
}

/*
 * test_part_names_unique_on_two_letter_disk: a disk past vdz is named vdaa,
 * and a GPT numbers up to PART_GPT_ENTRIES_MAX entries, so partition 1000
 * of vdaa must be vdaa1000, not cut to the name of partition 100.
 */
static void test_part_names_unique_on_two_letter_disk(void **state)
{
	static struct part_table t;
	static struct blkdev views[3];
	char skipped[BLKDEV_NAME_MAX];

	for (unsigned int i = 0; i < 26; i++) /* vda..vdz, as refused disks take them */
		blk_dev_take_name(skipped);
	fd = fake_create(100000, 512, 16, 65536, 256, 8, 8, false, false);
	assert_string_equal(blkdev_info(fd->dev)->name, "vdaa");
	memset(&t, 0, sizeof(t));
	t.kind = PART_KIND_GPT;
	t.n = 3;
	t.e[0] = (struct part_entry){.num = 100, .start = 100, .nsectors = 100};
	t.e[1] = (struct part_entry){.num = 1000, .start = 200, .nsectors = 100};
	t.e[2] = (struct part_entry){.num = PART_GPT_ENTRIES_MAX, .start = 300, .nsectors = 100};
	blk_part_add_views(fd->dev, &t, views);
	assert_string_equal(blkdev_info(&views[0])->name, "vdaa100");
	assert_string_equal(blkdev_info(&views[1])->name, "vdaa1000");
	assert_string_equal(blkdev_info(&views[2])->name, "vdaa4096");
	assert_ptr_equal(blkdev_find("vdaa1000"), &views[1]);
	assert_ptr_equal(blkdev_find("vdaa100"), &views[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_views, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remap_and_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_4k, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_part_names_unique_on_two_letter_disk, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

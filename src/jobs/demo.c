/*
 * run=demo: what ./tools/run shows a newcomer (docs/interface.md, Jobs).
 *  1. one BLKDEV line per block device, each disk's partitions after it;
 *  2. reads sector 0 of dev= (vda unless given; a disk or a partition) and
 *     shows its first bytes;
 *  3. with scratch=SECTOR only (tools/run passes it on its own demo image):
 *     writes one logical block there (on dev=, sectors counted from its
 *     start, so the pattern stays check-able on that device) and reads it
 *     back;
 *  4. a short asynchronous throughput sample (random 4 KiB reads, 16 in
 *     flight, end_io resubmitting), read-only;
 *  5. with fs=DEV only: the ext2 file system on DEV, read-only (demo_fs.c);
 *  6. the block layer's counters.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/dt.h>
#include <levblk/kern/cmdline.h>
#include <levblk/completion.h>
#include <levblk/init.h>
#include <levblk/lib/pattern.h>
#include <levblk/lib/prng.h>
#include <levblk/lib/string.h>
#include "demo_fs.h"

#define DEMO_SHOW_BYTES	  64u
#define DEMO_SAMPLE_NS	  (200ull * NSEC_PER_MSEC)
#define DEMO_SAMPLE_QD	  16u
#define DEMO_SAMPLE_BYTES 4096u
/*
 * The default seed of run=fill/check and of the demo image tools/run makes:
 * the scratch write keeps that image check-able.
 */
#define DEMO_SEED 1ull
/* blkdev_describe()'s words: virtio-blk's take under 60 bytes. */
#define DEMO_DESCRIBE_MAX 96u

static const char *const demo_keys[] = {"dev", "scratch", "fs", NULL};

/* A partition's BLKDEV line (docs/interface.md, Partitions). */
static void demo_list_parts(const struct blkdev *disk)
{
	struct blkdev *p;

	for (unsigned int i = 0; (p = blkdev_part(disk, i)) != NULL; i++) {
		const struct blkdev_info *d = blkdev_info(p);
		kprintf("BLKDEV name=%s capacity=%llu lbs=%u ro=%d parent=%s start=%llu\n", d->name,
			(unsigned long long)d->capacity, d->lbs, d->ro ? 1 : 0,
			blkdev_info(disk)->name, (unsigned long long)d->start);
	}
}

/* The BLKDEV line of each disk, its partitions' after it. */
static void demo_list(void)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		const struct blkdev_info *d = blkdev_info(blkdev_get(i));
		char attach[DEMO_DESCRIBE_MAX];

		blkdev_describe(blkdev_get(i), attach, sizeof(attach));
		kprintf("BLKDEV name=%s capacity=%llu lbs=%u ro=%d %s\n", d->name,
			(unsigned long long)d->capacity, d->lbs, d->ro ? 1 : 0, attach);
		kprintf("  %s: %llu MiB, %u-byte blocks, %s%s; a request carries up to %u segments "
			"and %u KiB, %u requests preallocated\n",
			d->name, (unsigned long long)(d->capacity >> (20 - SECTOR_SHIFT)), d->lbs,
			d->ro ? "read-only" : "read-write",
			d->volatile_cache ? ", write-back cache" : ", no volatile cache",
			d->limits.max_segs, d->limits.max_sectors / 2, d->limits.nr_requests);
		demo_list_parts(blkdev_get(i));
	}
}

static int demo_rw(struct blkdev *dev, enum bio_op op, uint64_t sector, void *buf, uint32_t len)
{
	struct bio b;
	struct bio_seg seg = {buf, len};

	bio_init_rw(&b, dev, op, sector, &seg, 1, NULL, NULL);
	return submit_bio_wait(&b);
}

static void demo_hexdump(const uint8_t *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i += 16) {
		kprintf("  %04x:", i);
		for (unsigned int j = 0; j < 16; j++)
			kprintf(" %02x", p[i + j]);
		kprintf("\n");
	}
}

/* Writes the pattern into the scratch block, reads it back, compares. */
static int demo_scratch(struct blkdev *dev, uint64_t sector, uint8_t *wbuf, uint8_t *rbuf)
{
	const struct blkdev_info *d = blkdev_info(dev);
	uint32_t lbs = d->lbs;
	int err;

	if (d->ro) {
		kprintf("demo: %s is read-only, no scratch write\n", d->name);
		return 0;
	}
	for (uint32_t s = 0; s < lbs / SECTOR_SIZE; s++)
		pattern_fill_sector(wbuf + s * SECTOR_SIZE, DEMO_SEED, sector + s);
	memset(rbuf, 0, lbs);
	err = demo_rw(dev, BIO_OP_WRITE, sector, wbuf, lbs);
	if (!err)
		err = demo_rw(dev, BIO_OP_READ, sector, rbuf, lbs);
	if (err) {
		kprintf("demo: scratch write/read of sector %llu failed: %d\n",
			(unsigned long long)sector, err);
		return err;
	}
	if (memcmp(wbuf, rbuf, lbs) != 0) {
		kprintf("demo: sector %llu read back differs from what was written\n",
			(unsigned long long)sector);
		return -EIO;
	}
	kprintf("demo: wrote %u bytes of the test pattern at sector %llu and read them back: "
		"identical (first word 0x%016llx)\n",
		lbs, (unsigned long long)sector,
		(unsigned long long)pattern_word(DEMO_SEED, sector, 0));
	return 0;
}

/* --- the asynchronous sample ------------------------------------------------- */

struct demo_sample {
	struct blkdev *dev;
	struct prng rng;
	uint64_t blocks; /* DEMO_SAMPLE_BYTES blocks on the disk */
	uint64_t end_ns;
	uint64_t ios, errors;
	unsigned int live; /* bios in flight; under lock */
	spinlock_t lock;   /* rng, ios, errors, live: end_io runs on any CPU */
	struct completion idle;
	struct bio bio[DEMO_SAMPLE_QD];
	struct bio_seg seg[DEMO_SAMPLE_QD];
};

static void demo_sample_end_io(struct bio *b);

static void demo_sample_submit(struct demo_sample *s, unsigned int i)
{
	irqflags_t f = spin_lock_irqsave(&s->lock);
	uint64_t sector = prng_below(&s->rng, s->blocks) * (DEMO_SAMPLE_BYTES / SECTOR_SIZE);

	spin_unlock_irqrestore(&s->lock, f);
	bio_init_rw(&s->bio[i], s->dev, BIO_OP_READ, sector, &s->seg[i], 1, demo_sample_end_io, s);
	submit_bio(&s->bio[i]);
}

/* Interrupt context: count, and keep the slot busy until time is up. */
static void demo_sample_end_io(struct bio *b)
{
	struct demo_sample *s = b->bio_private;
	unsigned int i = (unsigned int)(b - s->bio);
	irqflags_t f = spin_lock_irqsave(&s->lock);

	s->ios++;
	s->errors += b->bio_status != 0;
	bool again = clock_ns() < s->end_ns, last = !again && --s->live == 0;
	spin_unlock_irqrestore(&s->lock, f);
	if (again)
		demo_sample_submit(s, i);
	else if (last)
		complete(&s->idle);
}

static void demo_sample(struct blkdev *dev, uint8_t *bufs)
{
	static struct demo_sample s;
	const struct blkdev_info *d = blkdev_info(dev);

	memset(&s, 0, sizeof(s));
	s.dev = dev;
	s.blocks = d->capacity / (DEMO_SAMPLE_BYTES / SECTOR_SIZE);
	if (s.blocks == 0 || d->lbs > DEMO_SAMPLE_BYTES) {
		kprintf("demo: disk too small for the throughput sample\n");
		return;
	}
	prng_seed(&s.rng, DEMO_SEED);
	completion_init(&s.idle);
	uint64_t t0 = clock_ns();
	s.end_ns = t0 + DEMO_SAMPLE_NS;
	s.live = DEMO_SAMPLE_QD;
	spin_init(&s.lock, "demo_sample");
	for (unsigned int i = 0; i < DEMO_SAMPLE_QD; i++)
		s.seg[i] = (struct bio_seg){bufs + i * DEMO_SAMPLE_BYTES, DEMO_SAMPLE_BYTES};
	/* Every slot counts as live from the start: an early end never sees live reach 0. */
	for (unsigned int i = 0; i < DEMO_SAMPLE_QD; i++)
		demo_sample_submit(&s, i);
	wait_for_completion(&s.idle);
	uint64_t ns = clock_ns() - t0;
	uint64_t iops = s.ios * NSEC_PER_SEC / (ns ? ns : 1);
	uint64_t kibps = iops * (DEMO_SAMPLE_BYTES / 1024);
	kprintf("demo: async sample on %s: %llu random %u-byte reads, %u in flight, %llu ms: "
		"%llu IOPS, %llu.%02llu MiB/s, %llu errors\n",
		d->name, (unsigned long long)s.ios, DEMO_SAMPLE_BYTES, DEMO_SAMPLE_QD,
		(unsigned long long)(ns / NSEC_PER_MSEC), (unsigned long long)iops,
		(unsigned long long)(kibps / 1024), (unsigned long long)(kibps % 1024 * 100 / 1024),
		(unsigned long long)s.errors);
}

/*
 * The disk's latency histograms (blkdev_latency), one LATENCY line: per op
 * class its count and p50/p99/max in microseconds (docs/interface.md).
 */
static void demo_latency(const struct blkdev *dev)
{
	static struct blk_latency lat; /* 16 KiB: not on a thread stack */

	blkdev_latency(dev, &lat);
	kprintf("LATENCY dev=%s", blkdev_info(dev)->name);
	for (unsigned int op = 0; op < BLK_LAT_OPS; op++) {
		const struct hist *h = &lat.op[op];
		const char *n = blk_lat_op_name(op);
		kprintf(" %s_count=%llu %s_p50_us=%llu %s_p99_us=%llu %s_max_us=%llu", n,
			(unsigned long long)h->count, n,
			(unsigned long long)(hist_percentile(h, 50000) / 1000), n,
			(unsigned long long)(hist_percentile(h, 99000) / 1000), n,
			(unsigned long long)(h->count ? h->max / 1000 : 0));
	}
	kprintf("\n");
}

static void demo_counters(void)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		struct blk_counters c;
		blkdev_counters(blkdev_get(i), &c);
		kprintf(
		    "COUNTERS dev=%s bios=%llu requests=%llu merges=%llu splits=%llu kicks=%llu "
		    "irqs=%llu errors=%llu retries=%llu flushes=%llu in_flight=%llu\n",
		    blkdev_info(blkdev_get(i))->name, (unsigned long long)c.bios,
		    (unsigned long long)c.requests, (unsigned long long)c.merges,
		    (unsigned long long)c.splits, (unsigned long long)c.kicks,
		    (unsigned long long)c.irqs, (unsigned long long)c.errors,
		    (unsigned long long)c.retries, (unsigned long long)c.flushes,
		    (unsigned long long)c.in_flight);
		demo_latency(blkdev_get(i));
	}
}

static int demo_job(const char **why)
{
	const struct dt_info *dt = dt_info();
	uint64_t scratch = 0;
	struct dma_buf mem;
	int err;

	kprintf("levblk demo: %lu MiB RAM, GICv%d, %u virtio-mmio slots, %u block device(s)\n",
		(unsigned long)(dt->mem_size >> 20), dt->gic.version, dt->n_virtio, blkdev_count());
	/* Whether it was given is its own fact: every value, UINT64_MAX too, is a sector. */
	bool have_scratch = arg_str("scratch", NULL) != NULL;
	if (arg_u64("scratch", 0, 0, UINT64_MAX, &scratch)) {
		*why = "bad scratch=";
		return -EINVAL;
	}
	demo_list();
	if (blkdev_count() == 0) {
		kprintf("demo: no block device attached (add one with --disk)\n");
		return 0;
	}
	struct blkdev *dev = blkdev_find(arg_str("dev", "vda"));
	if (!dev) {
		kprintf("demo: bad value in dev=%s (no such disk or partition)\n",
			arg_str("dev", "vda"));
		*why = "no such device";
		return -ENODEV;
	}
	const struct blkdev_info *d = blkdev_info(dev);
	if (dma_alloc(DEMO_SAMPLE_QD * DEMO_SAMPLE_BYTES, 4096, &mem)) {
		*why = "out of memory";
		return -ENOMEM;
	}
	uint8_t *buf = mem.va;

	err = demo_rw(dev, BIO_OP_READ, 0, buf, d->lbs);
	if (err) {
		kprintf("demo: reading sector 0 of %s failed: %d\n", d->name, err);
		*why = "read failed";
		goto out;
	}
	kprintf("demo: sector 0 of %s, first %u bytes:\n", d->name, DEMO_SHOW_BYTES);
	demo_hexdump(buf, DEMO_SHOW_BYTES);

	if (have_scratch) {
		if (scratch % (d->lbs / SECTOR_SIZE) || scratch >= d->capacity) {
			kprintf("demo: scratch=%llu is not a logical block on %s\n",
				(unsigned long long)scratch, d->name);
			*why = "bad scratch sector";
			err = -EINVAL;
			goto out;
		}
		err = demo_scratch(dev, scratch, buf, buf + DEMO_SAMPLE_BYTES * 2);
		if (err) {
			*why = "scratch write/read-back failed";
			goto out;
		}
	} else {
		kprintf("demo: no scratch=SECTOR given: nothing written\n");
	}
	demo_sample(dev, buf);
	if (arg_str("fs", NULL) != NULL) {
		err = demo_fs(arg_str("fs", NULL));
		if (err) {
			*why = "file system";
			goto out;
		}
	}
	demo_counters();
out:
	dma_free(&mem);
	return err;
}
JOB("demo", demo_keys, demo_job);

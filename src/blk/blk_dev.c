/*
 * The device registry (names vda, vdb, ... in registration order), the
 * layer's command-line settings, per-device preallocation, the queue lock
 * and the counters.
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/dt.h>
#include <levblk/init.h>
#include <levblk/lib/string.h>
#include "blk_params.h"
#include "blk_part.h"
#include "blk_queue.h"

uint64_t blk_param_merge = 1;
uint64_t blk_param_retries = 3;
uint64_t blk_param_timeout_ms = 30000;
PARAM_U64("blk.merge", blk_param_merge, 0, 1, "merge adjacent bios into one request (0: off)");
PARAM_U64("blk.retries", blk_param_retries, 0, 100, "attempts after an error before bios fail");
PARAM_U64("blk.timeout_ms", blk_param_timeout_ms, 1, 3600000, "a request's deadline, ms");
uint64_t blk_param_percpu = 1;
PARAM_U64("blk.percpu", blk_param_percpu, 0, 1,
	  "with several CPUs, submit through per-CPU contexts (0: every CPU takes the queue lock)");

/* Devices live here for good: registration happens once, at boot. */
static struct blkdev blk_devs[BLKDEV_MAX];
/* Each disk's latency histograms (blkdev.lat): apart, so a partition's view does not carry them. */
static struct blk_latency blk_lats[BLKDEV_MAX];
static unsigned int blk_ndevs;
/* Names handed out: devices registered plus devices refused (blk_dev_take_name). */
static unsigned int blk_nnames;

#define BLK_NAME_LETTERS 26u
/* A name is never longer than vdzz: blk_part.c sizes partition names on it. */
_Static_assert(DT_MAX_VIRTIO_MMIO <= BLK_NAME_LETTERS + BLK_NAME_LETTERS * BLK_NAME_LETTERS,
	       "two letters name every virtio-mmio slot");

/*
 * Name number n: vda..vdz, then vdaa..vdzz (as Linux counts). Two letters
 * cover every virtio-mmio slot the device tree may list.
 */
static void blk_dev_name(unsigned int n, char name[BLKDEV_NAME_MAX])
{
	unsigned int i = 0;

	name[i++] = 'v';
	name[i++] = 'd';
	if (n >= BLK_NAME_LETTERS) {
		n -= BLK_NAME_LETTERS;
		name[i++] = (char)('a' + n / BLK_NAME_LETTERS % BLK_NAME_LETTERS);
		n %= BLK_NAME_LETTERS;
	}
	name[i++] = (char)('a' + n);
	name[i] = '\0';
}

void blk_dev_take_name(char name[BLKDEV_NAME_MAX])
{
	blk_dev_name(blk_nnames++, name);
}

const char *blk_geometry_problem(uint64_t capacity, uint32_t lbs)
{
	if (lbs < SECTOR_SIZE || lbs > BLK_MAX_LBS || (lbs & (lbs - 1)))
		return "logical block size not served (512 to 65536 bytes, a power of two)";
	if (capacity == 0)
		return "no blocks (capacity 0)";
	if (capacity % (lbs / SECTOR_SIZE))
		return "capacity not a whole number of logical blocks";
	if (capacity > BLK_MAX_CAPACITY)
		return "capacity beyond what the layer addresses (2^54 - 1 sectors)";
	return NULL;
}

#define DEFAULT_MAX_SEG_BYTES (64u * 1024u) /* when the device states no size_max */

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

struct blkdev *blk_dev_register(struct blkdev_info *info, const struct blk_driver_ops *ops,
				void *drv)
{
	struct blk_limits *lim = &info->limits;
	struct dma_buf rq_mem, part_mem;

	if (blk_ndevs >= BLKDEV_MAX || blk_geometry_problem(info->capacity, info->lbs))
		return NULL;
	lim->max_segs = clamp_u32(lim->max_segs, 1, BLK_MAX_SEGS);
	if (!lim->max_seg_bytes)
		lim->max_seg_bytes = DEFAULT_MAX_SEG_BYTES;
	lim->max_sectors =
	    clamp_u32(lim->max_sectors, info->lbs >> SECTOR_SHIFT, UINT32_MAX >> SECTOR_SHIFT);
	lim->nr_requests = clamp_u32(lim->nr_requests, 1, BLK_MAX_REQUESTS);
	/* Request and part lengths are 32-bit byte counts. */
	lim->max_discard_sectors =
	    clamp_u32(lim->max_discard_sectors, 0, UINT32_MAX >> SECTOR_SHIFT);
	lim->max_write_zeroes_sectors =
	    clamp_u32(lim->max_write_zeroes_sectors, 0, UINT32_MAX >> SECTOR_SHIFT);

	if (dma_alloc(lim->nr_requests * sizeof(struct request), 4096, &rq_mem))
		return NULL;
	if (dma_alloc((size_t)lim->nr_requests * BLK_MAX_SEGS * sizeof(struct blk_part), 4096,
		      &part_mem)) {
		dma_free(&rq_mem);
		return NULL;
	}

	struct blkdev *dev = &blk_devs[blk_ndevs];
	memset(dev, 0, sizeof(*dev));
	if (blk_bounce_init(&dev->bounce, (uint64_t)lim->max_sectors << SECTOR_SHIFT)) {
		dma_free(&part_mem);
		dma_free(&rq_mem);
		return NULL;
	}
	/* blk.bounce=1: no caller memory on the wire (blk_queue.h, direct_segs). */
	dev->direct_segs = dev->bounce.all ? 0 : lim->max_segs;
	blk_dev_take_name(info->name);
	dev->info = *info;
	dev->whole = dev;
	dev->lat = &blk_lats[blk_ndevs];
	for (unsigned int i = 0; i < BLK_LAT_OPS; i++)
		hist_init(&dev->lat->op[i]);
	spin_init(&dev->lock, "blk queue");
	for (unsigned int c = 0; c < CPU_MAX; c++)
		spin_init(&dev->sw[c].lock, "blk cpu ctx");
	dev->ops = ops;
	dev->drv = drv;
	dev->rqs = rq_mem.va;
	dev->rq_mem = rq_mem;
	dev->part_mem = part_mem;
	blk_list_init(&dev->free);
	blk_list_init(&dev->held);
	blk_list_init(&dev->barriers);
	blk_list_init(&dev->requeue);
	blk_list_init(&dev->active);
	elv_init(&dev->elv);
	for (uint32_t i = 0; i < lim->nr_requests; i++) {
		struct request *rq = &dev->rqs[i];
		rq->rq_dev = dev;
		rq->rq_tag = i;
		rq->rq_parts = (struct blk_part *)part_mem.va + (size_t)i * BLK_MAX_SEGS;
		blk_list_init(&rq->rq_fifo);
		blk_list_init(&rq->rq_active);
		blk_list_init(&rq->rq_sort);
		rq->rq_state = RQ_FREE;
		blk_list_add_tail(&dev->free, &rq->rq_sort);
	}
	blk_ndevs++;
	return dev;
}

unsigned int blkdev_count(void)
{
	return blk_ndevs;
}

struct blkdev *blkdev_get(unsigned int i)
{
	return i < blk_ndevs ? &blk_devs[i] : NULL;
}

struct blkdev *blkdev_find(const char *name)
{
	for (unsigned int i = 0; i < blk_ndevs; i++) {
		if (strcmp(blk_devs[i].info.name, name) == 0)
			return &blk_devs[i];
	}
	return blk_part_find(name);
}

const struct blkdev_info *blkdev_info(const struct blkdev *dev)
{
	return &dev->info;
}

/* A driver's words about a disk (a partition: its disk's), or "" when it has none. */
static void blkdev_words(const struct blkdev *dev, bool irqs, char *buf, size_t len)
{
	dev = dev->whole;
	if (len == 0)
		return;
	buf[0] = '\0';
	void (*words)(void *, char *, size_t) = irqs ? dev->ops->irq_report : dev->ops->describe;
	if (words)
		words(dev->drv, buf, len);
}

void blkdev_describe(const struct blkdev *dev, char *buf, size_t len)
{
	blkdev_words(dev, false, buf, len);
}

void blkdev_irq_report(const struct blkdev *dev, char *buf, size_t len)
{
	blkdev_words(dev, true, buf, len);
}

bool blkdev_broken(const struct blkdev *dev)
{
	return dev->whole->broken;
}

void blkdev_counters(const struct blkdev *dev, struct blk_counters *out)
{
	dev = dev->whole; /* a partition counts in its disk */
	struct blkdev *d = (struct blkdev *)dev; /* the lock is not part of the device's value */
	irqflags_t f = blk_lock(d);

	*out = dev->ctr;
	out->submit_moves = dev->sw_runs;
	blk_unlock(d, f);
	out->submit_handoffs = __atomic_load_n(&dev->sw_handoffs, __ATOMIC_RELAXED);
	spin_stats(&d->lock, &out->lock_acquired, &out->lock_spins);
}

void blkdev_latency(const struct blkdev *dev, struct blk_latency *out)
{
	struct blkdev *d = dev->whole;
	irqflags_t f = blk_lock(d);

	*out = *d->lat;
	blk_unlock(d, f);
}

const char *blk_lat_op_name(unsigned int lat_op)
{
	static const char *const names[BLK_LAT_OPS] = {"read", "write", "flush", "other"};
	return lat_op < BLK_LAT_OPS ? names[lat_op] : "?";
}

irqflags_t blk_lock(struct blkdev *dev)
{
	return spin_lock_irqsave(&dev->lock);
}

void blk_unlock(struct blkdev *dev, irqflags_t flags)
{
	dev->run_ns = 0; /* the run is over: the next one reads the clock again */
	spin_unlock_irqrestore(&dev->lock, flags);
}

bool blk_locked(const struct blkdev *dev)
{
	return spin_is_locked(&dev->lock);
}

void blk_count_irq_locked(struct blkdev *dev, unsigned int n)
{
	dev->ctr.irqs += n;
}

#ifdef LEVBLK_HOST
/* Host tests only: forget every device, so each test starts from vda. */
void blk_dev_host_reset(void);
void blk_dev_host_reset(void)
{
	for (unsigned int i = 0; i < blk_ndevs; i++) {
		timer_cancel(&blk_devs[i].watch);
		dma_free(&blk_devs[i].rq_mem);
		dma_free(&blk_devs[i].part_mem);
		blk_bounce_destroy(&blk_devs[i].bounce);
	}
	blk_ndevs = 0;
	blk_nnames = 0;
}
#endif

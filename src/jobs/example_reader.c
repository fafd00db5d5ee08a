/*
 * run=example: what code on top of levblk looks like (README, "Writing
 * code on top of levblk", shows this file). A kernel thread reads the first
 * `blocks` logical blocks of a disk with one bio batch into heap buffers,
 * checks each bio, and prints an FNV-1a checksum of the bytes:
 *   EXAMPLE dev=vda blocks=8 bytes=4096 fnv1a=0x...
 * It uses only public headers: the bio and blkdev interfaces, the heap,
 * a mutex, a completion, threads and the console.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/completion.h>
#include <levblk/console.h>
#include <levblk/container_of.h>
#include <levblk/errno.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/mutex.h>
#include <levblk/thread.h>
#include <levblk/kern/cmdline.h>

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

/* One block being read: the bio and its buffer, from an object cache. */
struct ex_block {
	struct bio bio;
	uint8_t *data;
};

/* What the reader thread is given and what it hands back. */
struct ex_job {
	struct blkdev *dev;
	uint32_t blocks;
	struct mutex lock;	/* guards the results below */
	int err;
	uint64_t sum, bytes;
	struct completion done; /* the reader has finished */
};

static uint64_t fnv1a(uint64_t h, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV64_PRIME;
	return h;
}

/* The reader thread: thread context, so it may sleep in bio_batch_wait and mutex_lock. */
static void ex_reader(void *arg)
{
	struct ex_job *job = arg;
	uint32_t lbs = blkdev_info(job->dev)->lbs;
	struct kmem_cache *cache = kmem_cache_create("ex_block", sizeof(struct ex_block), 0);
	struct ex_block **blk = kzalloc(job->blocks * sizeof(*blk));
	struct bio_batch batch;
	uint64_t sum = FNV64_OFFSET;
	int err = 0;

	if (!cache || !blk) {
		err = -ENOMEM;
		goto out;
	}
	bio_batch_init(&batch);
	for (uint32_t i = 0; i < job->blocks; i++) {
		blk[i] = kmem_cache_alloc(cache);
		if (!blk[i] || !(blk[i]->data = kmalloc(lbs))) {
			err = -ENOMEM; /* the bios already added still end: wait for them below */
			break;
		}
		/* One buffer per bio; sectors are 512-byte units whatever the block size. */
		bio_init_buf(&blk[i]->bio, job->dev, BIO_OP_READ, (uint64_t)i * (lbs / SECTOR_SIZE),
			     blk[i]->data, lbs, NULL, NULL);
		bio_batch_add(&batch, &blk[i]->bio);
	}
	int io_err = bio_batch_wait(&batch); /* 0, or the first error a bio ended with */
	if (!err)
		err = io_err;
	for (uint32_t i = 0; !err && i < job->blocks; i++)
		sum = fnv1a(sum, blk[i]->data, lbs);
out:
	for (uint32_t i = 0; blk && i < job->blocks && blk[i]; i++) {
		kfree(blk[i]->data);
		kmem_cache_free(cache, blk[i]);
	}
	kfree(blk);
	kmem_cache_destroy(cache);

	mutex_lock(&job->lock);
	job->err = err;
	job->sum = sum;
	job->bytes = err ? 0 : (uint64_t)job->blocks * lbs;
	mutex_unlock(&job->lock);
	complete(&job->done);
}

static const char *const example_keys[] = {"dev", "blocks", NULL};

static int example_fn(const char **why)
{
	struct ex_job job = {.dev = blkdev_find(arg_str("dev", "vda"))};
	uint64_t blocks;

	if (!job.dev || arg_u64("blocks", 8, 1, 4096, &blocks) ||
	    blocks * blkdev_info(job.dev)->lbs / SECTOR_SIZE > blkdev_info(job.dev)->capacity) {
		kprintf("example: want dev=<a disk> and blocks=<1..4096 inside it>\n");
		*why = "bad argument";
		return -EINVAL;
	}
	job.blocks = (uint32_t)blocks;
	mutex_init(&job.lock, "example");
	completion_init(&job.done);
	struct thread *t = thread_create("example", ex_reader, &job);
	if (!t) {
		*why = "no thread";
		return -ENOMEM;
	}
	wait_for_completion(&job.done);
	thread_join(t);
	if (job.err) {
		kprintf("example: reading %s failed: %d\n", blkdev_info(job.dev)->name, job.err);
		*why = "I/O error";
		return job.err;
	}
	kprintf("EXAMPLE dev=%s blocks=%u bytes=%lu fnv1a=0x%016lx\n", blkdev_info(job.dev)->name,
		job.blocks, (unsigned long)job.bytes, (unsigned long)job.sum);
	return 0;
}
JOB("example", example_keys, example_fn);

/*
 * The I/O loops of run=bench (src/jobs/bench.h says who owns what).
 *
 * engine=async is the block layer as users get it. Each thread owns a share
 * of its disk's queue depth as slots. It submits one bio per free slot,
 * inside a plug so that bios submitted together reach the queue together
 * (adjacent sequential bios then merge and the device is kicked once), and
 * sleeps until end_io, run from the device's interrupt, hands slots back.
 * Then it refills every returned slot at once, again under one plug. A
 * single bio is submitted without a plug: it has nothing to merge with, and
 * a plug is not free (a clock read per bio for its time bound; Linux's aio
 * likewise plugs only batches). The latency of an I/O runs from its claim, just before
 * submit_bio, to end_io: the block layer's view, without the thread's
 * wake-up. One clock read at each end (engine=sync: one per I/O, its end
 * being the next one's start).
 *
 * engine=sync is the baseline a first design would have built: one request
 * at a time through submit_bio_poll(), which spins on the device with its
 * interrupt unused. Its threads ignore their slot count (qd is 1).
 *
 * Claims. Whatever the engine, every I/O is first claimed from its disk
 * (bench_claim): that decides whether there is one more to do (ios= budget
 * or secs= deadline) and where it goes (the sequential cursor, or a random
 * bs-aligned block from the thread's PRNG). Nothing here allocates: the
 * slots, buffers and histograms were set up before the clock started.
 */
#include <stddef.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/completion.h>
#include <levblk/kern/thread.h>
#include "bench.h"

/* The disks' shared claim state (ios_left, next_block): threads on every CPU claim. */
static spinlock_t bench_claim_lock = SPINLOCK_INIT("bench_claim");

struct bench_cfg *bench_cfg_active;

struct bench_claim {
	enum bio_op op;
	uint64_t sector;
	uint64_t now_ns; /* when it was claimed: the deadline check and the I/O's start time */
};

static bool bench_claim(struct bench_thread *th, struct bench_claim *c, uint64_t now_ns);
static void bench_async_end_io(struct bio *bio);
static void bench_async_issue(struct bench_thread *th, struct bench_slot *s,
			      const struct bench_claim *c);
static void bench_async_main(struct bench_thread *th);
static void bench_sync_main(struct bench_thread *th);

/*
 * One more I/O for th's disk at time now_ns (the caller's clock read), or
 * false when the run is over for it. The random block is drawn from the
 * thread's own PRNG outside the mask; only the shared budget and cursor need
 * IRQs masked.
 */
static bool bench_claim(struct bench_thread *th, struct bench_claim *c, uint64_t now_ns)
{
	const struct bench_cfg *cfg = bench_cfg_active;
	struct bench_disk *d = th->disk;
	uint64_t block;
	bool ok = true;

	c->now_ns = now_ns;
	if (cfg->deadline_ns && c->now_ns >= cfg->deadline_ns)
		return false;
	switch (cfg->rw) {
	case BENCH_READ:
	case BENCH_RANDREAD:
		c->op = BIO_OP_READ;
		break;
	case BENCH_WRITE:
	case BENCH_RANDWRITE:
		c->op = BIO_OP_WRITE;
		break;
	case BENCH_RANDRW:
		/* 50/50 from the top bit: xorshift64*'s low bits are its weakest. */
		c->op = (prng_next(&th->rng) >> 63) ? BIO_OP_WRITE : BIO_OP_READ;
		break;
	}
	block = (cfg->rw == BENCH_READ || cfg->rw == BENCH_WRITE)
		    ? 0
		    : prng_below(&th->rng, d->nblocks);

	bool seq = cfg->rw == BENCH_READ || cfg->rw == BENCH_WRITE;
	if (cfg->ios || seq) { /* a random run by time shares nothing: no lock */
		irqflags_t f = spin_lock_irqsave(&bench_claim_lock);
		if (cfg->ios) {
			if (d->ios_left)
				d->ios_left--;
			else
				ok = false;
		}
		if (ok && seq) {
			block = d->next_block;
			d->next_block = block + 1 < d->nblocks ? block + 1 : 0; /* wrap at the end */
		}
		spin_unlock_irqrestore(&bench_claim_lock, f);
	}
	c->sector = block * (cfg->bs >> SECTOR_SHIFT);
	return ok;
}

/* ---------------------------------------------------------------- async */

/*
 * Interrupt context (or submit_bio's caller for a bio that fails its
 * checks): no sleeping. Records the latency and hands the slot back.
 */
static void bench_async_end_io(struct bio *bio)
{
	struct bench_slot *s = bio->bio_private;
	struct bench_thread *th = s->th;
	uint64_t now = bio->bio_end_ns; /* the layer's stamp: no clock read per I/O */

	/* end_io runs on any CPU, or in the thread itself (a refused bio) */
	irqflags_t f = spin_lock_irqsave(&th->lock);
	hist_record(&th->hist, now - s->t0_ns);
	th->ios++;
	if (bio->bio_status)
		th->errors++;
	if (now > th->t_end_ns)
		th->t_end_ns = now;
	/* The thread sleeps only on an empty list: only the first slot back wakes it. */
	bool first = th->done == NULL;
	s->next = th->done;
	/* Release: the slot's fields are visible to the thread that takes the list. */
	__atomic_store_n(&th->done, s, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&th->lock, f);
	/* After the list is non-empty: the waiter checks it under the wait lock (no lost wake-up). */
	if (first)
		waitq_wake_one(&th->wq);
}

static void bench_async_issue(struct bench_thread *th, struct bench_slot *s,
			      const struct bench_claim *c)
{
	bio_init_rw(&s->bio, th->disk->dev, c->op, c->sector, &s->seg, 1, bench_async_end_io, s);
	s->t0_ns = c->now_ns;
	submit_bio(&s->bio);
}

static void bench_async_main(struct bench_thread *th)
{
	struct blk_plug plug;
	struct bench_claim c;
	uint32_t inflight = 0;

	bool plugged = th->nslots > 1;

	if (plugged)
		blk_start_plug(&plug);
	for (uint32_t i = 0; i < th->nslots && bench_claim(th, &c, clock_ns()); i++) {
		inflight++;
		bench_async_issue(th, &th->slots[i], &c);
	}
	if (plugged)
		blk_finish_plug(&plug);

	while (inflight) {
		struct bench_slot *list;

		irqflags_t f = waitq_lock_irqsave();
		while (!__atomic_load_n(&th->done, __ATOMIC_ACQUIRE))
			waitq_sleep_locked(&th->wq);
		waitq_unlock_irqrestore(f);
		f = spin_lock_irqsave(&th->lock);
		list = th->done;
		th->done = NULL;
		spin_unlock_irqrestore(&th->lock, f);

		plugged = list->next != NULL;
		if (plugged)
			blk_start_plug(&plug);
		/*
		 * One start time for the whole batch (a clock read takes QEMU's
		 * global lock under TCG): it is taken before any of them is
		 * submitted, so no latency is understated.
		 */
		uint64_t now = clock_ns();
		while (list) {
			struct bench_slot *s = list;

			list = s->next;
			inflight--;
			if (bench_claim(th, &c, now)) {
				inflight++;
				bench_async_issue(th, s, &c);
			}
		}
		if (plugged)
			blk_finish_plug(&plug);
	}
}

/* ---------------------------------------------------------------- sync */

static void bench_sync_main(struct bench_thread *th)
{
	struct bench_slot *s = &th->slots[0];
	struct bench_claim c;
	uint64_t now = clock_ns();

	/* One clock read per I/O: the end of one is the start of the next. */
	while (bench_claim(th, &c, now)) {
		bio_init_buf(&s->bio, th->disk->dev, c.op, c.sector, s->seg.va, s->seg.len, NULL,
			     NULL);
		int err = submit_bio_poll(&s->bio);

		now = clock_ns();
		hist_record(&th->hist, now - c.now_ns);
		th->ios++;
		if (err)
			th->errors++;
		th->t_end_ns = now;
	}
}

void bench_thread_prepare(struct bench_thread *th)
{
	th->done = NULL;
	waitq_init(&th->wq);
	hist_init(&th->hist);
	th->ios = th->errors = th->t_end_ns = 0;
	for (uint32_t i = 0; i < th->nslots; i++)
		th->slots[i].th = th;
}

void bench_thread_main(void *arg)
{
	struct bench_thread *th = arg;

	if (bench_cfg_active->engine == BENCH_SYNC)
		bench_sync_main(th);
	else
		bench_async_main(th);
}

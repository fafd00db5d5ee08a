/*
 * run=fill and run=check (docs/interface.md, Jobs): write, or read and compare, the
 * disk pattern over sectors [start, start+count) of one device.
 *
 * How the range is cut: into "stripes" of maxbio sectors, visited in a
 * random order (an affine permutation i -> (a*i + b) mod n, a coprime to
 * n); each stripe is cut into bios of random length (whole logical blocks,
 * at most maxbio sectors); each bio's memory is cut into 1..FILL_MAX_SEGS
 * segments of uneven sizes (multiples of 8 bytes, so a pattern word never
 * straddles two), placed apart in the slot's buffer so no two touch.
 *
 * dev= may list several devices (dev=vda,vdb): each gets the whole job,
 * all at the same time.
 *
 * Concurrency: `threads` kernel threads take stripes from a shared cursor;
 * each owns its share of the `qd` bio slots. end_io (interrupt context) only
 * moves a slot to its thread's done list and completes the thread's
 * completion; the thread does the checking and printing.
 */
#include <levblk/bio.h>
#include <levblk/blk_trace.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/hal/dma.h>
#include <levblk/kern/cmdline.h>
#include <levblk/completion.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/pattern.h>
#include <levblk/lib/prng.h>
#include <levblk/lib/string.h>
#include "devlist.h"

#define FILL_MAX_THREADS   16u
#define FILL_MAX_QD	   256u
#define FILL_MAX_SEGS	   8u  /* segments per bio, at most */
#define FILL_SEG_GAP	   64u /* bytes between a bio's segments in memory */
#define FILL_WORD	   8u  /* segment sizes are multiples of this */
#define FILL_SHOW_MISMATCH 8u  /* MISMATCH lines printed, at most */

static const char *const fill_keys[] = {"dev", "seed",	  "start",  "count",
					"qd",  "threads", "maxbio", NULL};

struct fill_job;

struct fill_slot {
	struct bio bio;
	struct bio_seg seg[FILL_MAX_SEGS];
	uint8_t *mem;	/* this slot's buffer */
	uint64_t nsect; /* the bio's length, 512-byte sectors */
	struct fill_thread *owner;
	struct fill_slot *next_done;
};

struct fill_thread {
	struct fill_job *job;
	struct thread *thr;
	struct prng rng;
	unsigned int nslots, idle; /* slots it owns / not in flight */
	struct fill_slot *slots;
	struct fill_slot *done;	 /* ended, not yet looked at; under the job's lock */
	struct completion ended; /* one complete() per ended bio */
	/* The stripe being cut into bios. */
	uint64_t cur, cur_end;
	unsigned int cpu; /* the CPU it is pinned to */
};

struct fill_job {
	bool check;
	struct blkdev *dev;
	const char *name;
	uint64_t seed, start, count, maxbio;		/* sectors */
	uint32_t lb;					/* sectors per logical block */
	uint64_t nstripes, perm_a, perm_b, next_stripe; /* next_stripe under lock */
	/* Results, under lock (threads on every CPU add their share). */
	spinlock_t lock;
	uint64_t bios, errors, mismatches, shown;
	uint64_t ended_away; /* end_io ran on another CPU than the submitting thread's */
	uint64_t qd;
	struct fill_thread thr[FILL_MAX_THREADS];
	unsigned int nthreads;
	struct dma_buf mem, slot_mem; /* slot buffers, slot structures */
	struct blk_counters before;
	bool at_rest; /* set by fill_report_rest */
};

static uint64_t fill_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* The next stripe in permuted order, or false when all are taken. */
static bool fill_take_stripe(struct fill_job *j, uint64_t *first, uint64_t *end)
{
	irqflags_t f = spin_lock_irqsave(&j->lock);
	uint64_t i = j->next_stripe < j->nstripes ? j->next_stripe++ : UINT64_MAX;
	spin_unlock_irqrestore(&j->lock, f);

	if (i == UINT64_MAX)
		return false;
	/*
	 * (a*i + b) mod n. a and i are below n, which may pass 2^32 (maxbio=1 on a
	 * disk of 2 TiB or more), so a*i may not fit: multiply by doubling, reducing
	 * mod n at each step (n < 2^63 keeps every sum below 2^64).
	 */
	uint64_t p = 0, a = j->perm_a % j->nstripes, x = i;
	while (x) {
		if (x & 1)
			p = (p + a) % j->nstripes;
		a = (a * 2) % j->nstripes;
		x >>= 1;
	}
	p = (p + j->perm_b) % j->nstripes;
	/* p * maxbio < count: no sum here passes start + count, which fits (start <= capacity). */
	uint64_t off = p * j->maxbio;
	*first = j->start + off;
	*end = *first + (j->count - off < j->maxbio ? j->count - off : j->maxbio);
	return true;
}

/* Cuts `bytes` of slot memory into uneven segments placed apart. */
static void fill_cut_segments(struct fill_thread *t, struct fill_slot *s, uint32_t bytes)
{
	uint32_t words = bytes / FILL_WORD;
	uint32_t nseg = 1 + (uint32_t)prng_below(&t->rng, FILL_MAX_SEGS);
	uint8_t *p = s->mem;

	if (nseg > words)
		nseg = words;
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t left = nseg - i - 1; /* segments still to come need a word each */
		uint32_t w =
		    i == nseg - 1 ? words : 1 + (uint32_t)prng_below(&t->rng, words - left);
		s->seg[i] = (struct bio_seg){p, w * FILL_WORD};
		p += w * FILL_WORD + FILL_SEG_GAP;
		words -= w;
	}
	s->bio.bio_nsegs = nseg;
}

/* Word `w` of the bio's data, wherever its segment put it. */
static uint64_t *fill_word_at(struct fill_slot *s, uint64_t w, uint32_t *seg, uint64_t *seg_first)
{
	while (w - *seg_first >= s->seg[*seg].len / FILL_WORD) {
		*seg_first += s->seg[*seg].len / FILL_WORD;
		(*seg)++;
	}
	return (uint64_t *)s->seg[*seg].va + (w - *seg_first);
}

static void fill_make_pattern(struct fill_job *j, struct fill_slot *s)
{
	uint64_t nsect = s->nsect, seg_first = 0;
	uint32_t seg = 0;

	for (uint64_t k = 0; k < nsect; k++) {
		for (unsigned int i = 0; i < PATTERN_WORDS; i++)
			*fill_word_at(s, k * PATTERN_WORDS + i, &seg, &seg_first) =
			    pattern_word(j->seed, s->bio.bio_sector + k, i);
	}
}

/* Compares a read bio with the pattern; returns the sectors that differ. */
static uint64_t fill_compare(struct fill_job *j, struct fill_slot *s)
{
	uint64_t nsect = s->nsect, seg_first = 0, bad = 0;
	uint32_t seg = 0;

	for (uint64_t k = 0; k < nsect; k++) {
		bool sector_bad = false;
		for (unsigned int i = 0; i < PATTERN_WORDS; i++) {
			uint64_t sector = s->bio.bio_sector + k;
			uint64_t got = *fill_word_at(s, k * PATTERN_WORDS + i, &seg, &seg_first);
			uint64_t want = pattern_word(j->seed, sector, i);
			if (got == want || sector_bad)
				continue;
			sector_bad = true;
			irqflags_t f = spin_lock_irqsave(&j->lock);
			bool show = j->shown < FILL_SHOW_MISMATCH;
			j->shown += show;
			spin_unlock_irqrestore(&j->lock, f);
			if (show)
				kprintf(
				    "MISMATCH sector=%llu word=%u got=0x%016llx want=0x%016llx\n",
				    (unsigned long long)sector, i, (unsigned long long)got,
				    (unsigned long long)want);
		}
		bad += sector_bad;
	}
	return bad;
}

/* Interrupt context: hand the slot back to its thread. */
static void fill_end_io(struct bio *b)
{
	struct fill_slot *s = b->bio_private;
	struct fill_thread *t = s->owner;
	irqflags_t f = spin_lock_irqsave(&t->job->lock);

	s->next_done = t->done;
	t->done = s;
	if (cpu_id() != t->cpu)
		t->job->ended_away++;
	spin_unlock_irqrestore(&t->job->lock, f);
	complete(&t->ended);
}

/* Thread context: account for one ended bio. */
static void fill_reap(struct fill_thread *t, struct fill_slot *s)
{
	struct fill_job *j = t->job;
	uint64_t mism = 0;

	if (s->bio.bio_status) {
		kprintf("IOERR dev=%s op=%s sector=%llu count=%llu err=%d\n", j->name,
			j->check ? "read" : "write", (unsigned long long)s->bio.bio_sector,
			(unsigned long long)(s->nsect), s->bio.bio_status);
	} else if (j->check) {
		mism = fill_compare(j, s);
	}
	irqflags_t f = spin_lock_irqsave(&j->lock);
	j->bios++;
	j->errors += s->bio.bio_status != 0;
	j->mismatches += mism;
	spin_unlock_irqrestore(&j->lock, f);
	t->idle++;
}

/* Waits for one ended bio and reaps everything that has ended. */
static struct fill_slot *fill_wait_slot(struct fill_thread *t)
{
	struct fill_slot *list;

	/*
	 * Every ended slot counts once, but one pass takes every slot pushed so
	 * far; fill_end_io pushes before it counts, on any CPU, so the counts
	 * of slots taken earlier come back as passes over an empty list, which
	 * only mean "wait again".
	 */
	do {
		wait_for_completion(&t->ended);
		irqflags_t f = spin_lock_irqsave(&t->job->lock);
		list = t->done;
		t->done = NULL;
		spin_unlock_irqrestore(&t->job->lock, f);
	} while (!list);
	struct fill_slot *free = NULL;
	while (list) {
		struct fill_slot *next = list->next_done;
		fill_reap(t, list);
		list->next_done = free;
		free = list;
		list = next;
	}
	return free;
}

/*
 * A stripe's bios are adjacent, so they are submitted under a plug and can
 * merge; the plug is finished before the thread sleeps for a free slot (a
 * plug must not hold bios while its owner waits for them).
 */
static void fill_thread_fn(void *arg)
{
	struct fill_thread *t = arg;
	struct fill_job *j = t->job;
	struct fill_slot *free = NULL;
	struct blk_plug plug;
	bool plugged = false;

	for (unsigned int i = 0; i < t->nslots; i++) {
		t->slots[i].next_done = free;
		free = &t->slots[i];
	}
	t->idle = t->nslots;
	for (;;) {
		if (t->cur == t->cur_end) {
			if (plugged)
				blk_finish_plug(&plug);
			plugged = false;
			if (!fill_take_stripe(j, &t->cur, &t->cur_end))
				break;
		}
		if (!free) {
			if (plugged)
				blk_finish_plug(&plug);
			plugged = false;
			free = fill_wait_slot(t);
		}
		if (!plugged)
			blk_start_plug(&plug);
		plugged = true;
		struct fill_slot *s = free;
		free = s->next_done;

		uint64_t blocks = (t->cur_end - t->cur) / j->lb;
		uint64_t maxb = j->maxbio / j->lb;
		uint64_t n = (1 + prng_below(&t->rng, maxb < blocks ? maxb : blocks)) * j->lb;
		bio_init_rw(&s->bio, j->dev, j->check ? BIO_OP_READ : BIO_OP_WRITE, t->cur, s->seg,
			    0, fill_end_io, s);
		s->nsect = n;
		fill_cut_segments(t, s, (uint32_t)(n * SECTOR_SIZE));
		if (!j->check)
			fill_make_pattern(j, s);
		t->cur += n;
		t->idle--;
		submit_bio(&s->bio);
	}
	while (t->idle < t->nslots)
		(void)fill_wait_slot(t);
}

/*
 * start, count and maxbio in whole logical blocks, or a message naming the
 * word that is not. A count the user did not give is the rest of the
 * device, whole blocks once start is (a registered disk's capacity is whole
 * blocks, blk_geometry_problem, and so is every partition's).
 */
static int fill_check_blocks(const struct fill_job *j, const struct blkdev_info *d)
{
	const char *job = j->check ? "check" : "fill";

	if (j->start % j->lb) {
		kprintf("%s: bad value in start=%llu (not whole %u-byte blocks of %s)\n", job,
			(unsigned long long)j->start, d->lbs, d->name);
		return -EINVAL;
	}
	if (j->count % j->lb) {
		kprintf("%s: bad value in count=%llu (not whole %u-byte blocks of %s)\n", job,
			(unsigned long long)j->count, d->lbs, d->name);
		return -EINVAL;
	}
	if (j->maxbio < j->lb) {
		kprintf("%s: bad value in maxbio=%llu (less than one %u-byte block of %s)\n", job,
			(unsigned long long)j->maxbio, d->lbs, d->name);
		return -EINVAL;
	}
	return 0;
}

/* Reads the job's arguments for device `dev` (one of the dev= list). */
static int fill_args(struct fill_job *j, struct blkdev *dev, const char **why)
{
	uint64_t threads;

	j->dev = dev;
	const struct blkdev_info *d = blkdev_info(j->dev);
	j->name = d->name;
	j->lb = d->lbs / SECTOR_SIZE;
	if (arg_u64("seed", 1, 0, UINT64_MAX, &j->seed) ||
	    arg_u64("start", 0, 0, d->capacity, &j->start) ||
	    arg_u64("count", d->capacity - j->start, 0, d->capacity - j->start, &j->count) ||
	    arg_u64("qd", 32, 1, FILL_MAX_QD, &j->qd) ||
	    arg_u64("threads", 4, 1, FILL_MAX_THREADS, &threads) ||
	    arg_u64("maxbio", 256, 1, 4096, &j->maxbio)) {
		*why = "bad argument";
		return -EINVAL;
	}
	if (fill_check_blocks(j, d)) {
		*why = "bad argument";
		return -EINVAL;
	}
	j->maxbio -= j->maxbio % j->lb;
	j->nthreads = (unsigned int)threads;
	if (j->nthreads > j->qd)
		j->nthreads = (unsigned int)j->qd;
	return 0;
}

/* Memory, stripe permutation and thread shares of one device's job. */
static int fill_prepare(struct fill_job *j, const char **why)
{
	struct prng rng;

	/* Rounded up without count + maxbio, which could wrap for a count near 2^64. */
	j->nstripes = j->count / j->maxbio + (j->count % j->maxbio != 0);
	prng_seed(&rng, j->seed ^ 0xf111u);
	if (j->nstripes) {
		j->perm_b = prng_below(&rng, j->nstripes);
		do
			j->perm_a = 1 + prng_below(&rng, j->nstripes);
		while (fill_gcd(j->perm_a, j->nstripes) != 1);
	}
	size_t slot_bytes = (size_t)j->maxbio * SECTOR_SIZE + FILL_MAX_SEGS * FILL_SEG_GAP;
	if (dma_alloc(slot_bytes * j->qd, 4096, &j->mem) ||
	    dma_alloc(sizeof(struct fill_slot) * j->qd, 4096, &j->slot_mem)) {
		*why = "out of memory";
		return -ENOMEM;
	}
	struct fill_slot *all = j->slot_mem.va;
	unsigned int given = 0;
	for (unsigned int i = 0; i < j->nthreads; i++) {
		struct fill_thread *t = &j->thr[i];
		t->job = j;
		t->nslots = (unsigned int)(j->qd / j->nthreads + (i < j->qd % j->nthreads));
		t->slots = &all[given];
		for (unsigned int k = 0; k < t->nslots; k++) {
			all[given + k].mem = (uint8_t *)j->mem.va + (given + k) * slot_bytes;
			all[given + k].owner = t;
		}
		given += t->nslots;
		prng_seed(&t->rng, j->seed * 0x100 + i + (j->check ? 0x80 : 0));
		completion_init(&t->ended);
	}
	return 0;
}

/*
 * The device once the job is over: every request, descriptor and
 * bio back where it started, and what recovery had to do. A device not at
 * rest fails the job.
 */
static void fill_report_rest(struct fill_job *j)
{
	struct blk_resources r;
	struct blk_counters c;

	blkdev_resources(j->dev, &r);
	blkdev_counters(j->dev, &c);
	j->at_rest = blkdev_at_rest(&r, &c);
	kprintf("QUEUE dev=%s in_flight=%llu queued=%llu pending=%u requests_free=%u/%u "
		"desc_free=%u/%u ring_in_flight=%u timeouts=%llu lost_irqs=%llu resets=%llu "
		"at_rest=%s\n",
		j->name, (unsigned long long)c.in_flight, (unsigned long long)c.queued,
		r.pending_bios, r.free_requests, r.nr_requests, r.ring_free, r.ring_size,
		r.ring_in_flight, (unsigned long long)c.timeouts, (unsigned long long)c.lost_irqs,
		(unsigned long long)c.resets, j->at_rest ? "yes" : "no");
}

/* The flush after a fill, and the result lines. */
static void fill_report(struct fill_job *j)
{
	struct blk_counters after;

	if (!j->check) {
		struct bio fb;
		bio_init_nodata(&fb, j->dev, BIO_OP_FLUSH, 0, 0, NULL, NULL);
		int ferr = submit_bio_wait(&fb);
		if (ferr) {
			kprintf("IOERR dev=%s op=flush sector=0 count=0 err=%d\n", j->name, ferr);
			j->errors++;
		}
	}
	blkdev_counters(j->dev, &after);
	if (j->check)
		kprintf("CHECK dev=%s sectors=%llu bios=%llu errors=%llu mismatches=%llu\n",
			j->name, (unsigned long long)j->count, (unsigned long long)j->bios,
			(unsigned long long)j->errors, (unsigned long long)j->mismatches);
	else
		kprintf("FILL dev=%s sectors=%llu bios=%llu requests=%llu errors=%llu\n", j->name,
			(unsigned long long)j->count, (unsigned long long)j->bios,
			(unsigned long long)(after.requests - j->before.requests),
			(unsigned long long)j->errors);
	kprintf("# %s counters: bios=%llu requests=%llu merges=%llu kicks=%llu irqs=%llu "
		"retries=%llu bounces=%llu bounce_waits=%llu\n",
		j->name, (unsigned long long)(after.bios - j->before.bios),
		(unsigned long long)(after.requests - j->before.requests),
		(unsigned long long)(after.merges - j->before.merges),
		(unsigned long long)(after.kicks - j->before.kicks),
		(unsigned long long)(after.irqs - j->before.irqs),
		(unsigned long long)(after.retries - j->before.retries),
		(unsigned long long)(after.bounces - j->before.bounces),
		(unsigned long long)(after.bounce_waits - j->before.bounce_waits));
	{
		char irqs[320];

		blkdev_irq_report(j->dev, irqs, sizeof(irqs));
		if (irqs[0])
			kprintf("# %s interrupts: %s\n", j->name, irqs);
		/* handed_over: every disk's, since boot (blk.complete_ipi=1). */
		kprintf("# %s ends: on another CPU than the submitter %llu, handed over %llu\n",
			j->name, (unsigned long long)j->ended_away,
			(unsigned long long)blk_remote_ends());
	}
	fill_report_rest(j);
}

/* dev=vda or dev=vda,vdb,...: the devices are done at the same time. */
static int fill_run(bool check, const char **why)
{
	static struct fill_job jobs[BLKDEV_MAX];
	struct blkdev *devs[BLKDEV_MAX];
	int n = jobs_parse_devs(check ? "check" : "fill", arg_str("dev", "vda"), devs);
	unsigned int njobs = 0;
	int err = 0;

	memset(jobs, 0, sizeof(jobs));
	if (n < 0) {
		*why = n == -ENODEV ? "no such device" : "bad argument";
		return n;
	}
	for (; njobs < (unsigned int)n && !err; njobs++) {
		jobs[njobs].check = check;
		err = fill_args(&jobs[njobs], devs[njobs], why);
		if (!err)
			err = fill_prepare(&jobs[njobs], why);
	}
	if (err)
		goto out;

	if (blk_trace_enabled()) /* the trace covers the job: its requests, and no one else's */
		blk_trace_clear();
	for (unsigned int k = 0; k < njobs; k++) {
		struct fill_job *j = &jobs[k];
		blkdev_counters(j->dev, &j->before);
		/* Spread over the CPUs: thread i of every job on CPU i mod cpu_count(). */
		for (unsigned int i = 0; i < j->nthreads; i++) {
			j->thr[i].cpu = i % cpu_count();
			j->thr[i].thr = thread_create_on(check ? "check" : "fill", fill_thread_fn,
							 &j->thr[i], (int)j->thr[i].cpu);
		}
	}
	for (unsigned int k = 0; k < njobs; k++) {
		struct fill_job *j = &jobs[k];
		for (unsigned int i = 0; i < j->nthreads; i++) {
			if (j->thr[i].thr)
				thread_join(j->thr[i].thr);
			else
				fill_thread_fn(&j->thr[i]); /* out of threads: do its share here */
		}
	}
	for (unsigned int k = 0; k < njobs; k++) {
		struct fill_job *j = &jobs[k];
		fill_report(j);
		if (j->errors && !err) {
			*why = "I/O errors";
			err = -EIO;
		} else if (j->mismatches && !err) {
			*why = "mismatches";
			err = -EIO;
		} else if (!j->at_rest && !err) {
			*why = "device not at rest";
			err = -EIO;
		}
	}
	if (blk_trace_enabled())
		blk_trace_dump(); /* TRACE lines for tools/blk-trace */
out:
	for (unsigned int k = 0; k < njobs; k++) {
		if (jobs[k].slot_mem.va)
			dma_free(&jobs[k].slot_mem);
		if (jobs[k].mem.va)
			dma_free(&jobs[k].mem);
	}
	return err;
}

static int fill_job_fn(const char **why)
{
	return fill_run(false, why);
}

static int check_job_fn(const char **why)
{
	return fill_run(true, why);
}

JOB("fill", fill_keys, fill_job_fn);
JOB("check", fill_keys, check_job_fn);

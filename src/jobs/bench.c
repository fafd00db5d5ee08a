/*
 * run=bench (docs/interface.md, Jobs): one workload on one or more disks, reported as
 * one BENCH {json} line per disk and, with several disks, one more line for
 * their sum (its "dev" is the dev= argument as given, e.g. "vda,vdb", and it
 * has "disks": N). tools/bench reads the line whose dev is exactly the disk
 * it asked for.
 *
 *   dev=vda rw=randread bs=4096 qd=32 threads=1 secs=5 engine=async seed=1
 *   (ios=N instead of secs=; dev=vda,vdb for several disks at once)
 *
 * qd and threads are per disk: every disk gets `threads` threads sharing
 * `qd` slots. ios= is per disk too. With secs=, no new I/O starts after the
 * deadline and the run ends when the last one in flight has ended.
 * engine=sync keeps one request per disk on the device (qd and threads are
 * reported as 1: that is what the device saw).
 *
 * Everything the run needs (slots, buffers, threads' state) is set up here
 * before the clock starts; the I/O loops are in bench_engine.c.
 */
#include <levblk/hal/percpu.h>
#include <stddef.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kern/sched.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/string.h>
#include "bench.h"
#include "devlist.h"

static const char *const bench_keys[] = {"dev",	 "rw",	"bs",	  "qd",	  "threads",
					 "secs", "ios", "engine", "seed", NULL};

static struct bench_cfg bench;
static struct bench_thread bench_threads[BENCH_MAX_THREADS];
static struct bench_totals bench_tot;

static int bench_parse(struct bench_cfg *cfg, const char **why);
static int bench_parse_devs(struct bench_cfg *cfg, const char *list);
static int bench_setup_disk(struct bench_cfg *cfg, struct bench_disk *d, unsigned int first_th);
static void bench_teardown(struct bench_cfg *cfg);
static int bench_pick(const char *key, const char *val, const char *const *names, unsigned n);

static int bench_pick(const char *key, const char *val, const char *const *names, unsigned n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (strcmp(val, names[i]) == 0)
			return (int)i;
	}
	kprintf("bench: bad value in %s=%s (one of:", key, val);
	for (unsigned int i = 0; i < n; i++)
		kprintf(" %s", names[i]);
	kprintf(")\n");
	return -EINVAL;
}

/* dev=vda,vdb,...: each name once, each a registered block device. */
static int bench_parse_devs(struct bench_cfg *cfg, const char *list)
{
	struct blkdev *devs[BLKDEV_MAX];
	int n = jobs_parse_devs("bench", list, devs);

	if (n < 0)
		return n;
	cfg->ndisks = (unsigned int)n;
	for (unsigned int i = 0; i < cfg->ndisks; i++)
		cfg->disks[i] = (struct bench_disk){.dev = devs[i], .info = blkdev_info(devs[i])};
	return 0;
}

static int bench_parse(struct bench_cfg *cfg, const char **why)
{
	uint64_t bs, qd, threads, secs, ios;
	const char *secs_arg = arg_str("secs", NULL), *ios_arg = arg_str("ios", NULL);
	int v;

	*why = "bad argument";
	if ((v = bench_pick("rw", arg_str("rw", "randread"), bench_rw_names, BENCH_NRW)) < 0)
		return v;
	cfg->rw = (enum bench_rw)v;
	if ((v = bench_pick("engine", arg_str("engine", "async"), bench_engine_names,
			    BENCH_NENGINES)) < 0)
		return v;
	cfg->engine = (enum bench_engine)v;
	if (arg_u64("bs", 4096, BENCH_MIN_BS, BENCH_MAX_BS, &bs) < 0 ||
	    arg_u64("qd", 32, 1, BENCH_MAX_QD, &qd) < 0 ||
	    arg_u64("threads", 1, 1, BENCH_MAX_THREADS, &threads) < 0 ||
	    arg_u64("secs", 5, 1, BENCH_MAX_SECS, &secs) < 0 ||
	    arg_u64("ios", 0, 1, BENCH_MAX_IOS, &ios) < 0 ||
	    arg_u64("seed", 1, 0, UINT64_MAX, &cfg->seed) < 0)
		return -EINVAL;
	if (secs_arg && ios_arg) {
		kprintf("bench: bad value in ios=%s (give secs= or ios=, not both)\n", ios_arg);
		return -EINVAL;
	}
	if (bs % SECTOR_SIZE) {
		kprintf(
		    "bench: bad value in bs=%lu (want whole 512-byte sectors, %u to %u bytes)\n",
		    (unsigned long)bs, BENCH_MIN_BS, BENCH_MAX_BS);
		return -EINVAL;
	}
	if (threads > qd) {
		kprintf("bench: bad value in threads=%lu (more threads than qd=%lu slots)\n",
			(unsigned long)threads, (unsigned long)qd);
		return -EINVAL;
	}
	cfg->bs = (uint32_t)bs;
	cfg->qd = (uint32_t)qd;
	cfg->threads = (uint32_t)threads;
	if (cfg->engine == BENCH_SYNC)
		cfg->qd = cfg->threads = 1; /* one request at a time, whatever was asked */
	cfg->secs = ios_arg ? 0 : secs;
	cfg->ios = ios_arg ? ios : 0;
	cfg->dev_arg = arg_str("dev", "vda");
	if (bench_parse_devs(cfg, cfg->dev_arg) < 0)
		return -EINVAL;
	if (cfg->ndisks * cfg->threads > BENCH_MAX_THREADS) {
		kprintf("bench: bad value in threads=%u (%u disks x %u threads > %u)\n",
			cfg->threads, cfg->ndisks, cfg->threads, BENCH_MAX_THREADS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		const struct blkdev_info *in = cfg->disks[i].info;

		if (cfg->bs % in->lbs) {
			kprintf(
			    "bench: bad value in bs=%u (not whole %u-byte logical blocks of %s)\n",
			    cfg->bs, in->lbs, in->name);
			return -EINVAL;
		}
		if (in->capacity < (cfg->bs >> SECTOR_SHIFT)) {
			kprintf("bench: bad value in bs=%u (%s holds only %lu sectors)\n", cfg->bs,
				in->name, (unsigned long)in->capacity);
			return -EINVAL;
		}
		if (in->ro && cfg->rw != BENCH_READ && cfg->rw != BENCH_RANDREAD) {
			kprintf("bench: bad value in rw=%s (%s is read-only)\n",
				bench_rw_name(cfg->rw), in->name);
			return -EROFS;
		}
	}
	return 0;
}

/*
 * Buffers, slots and threads for disk d; its threads are
 * bench_threads[first_th .. first_th + threads-1]. Write buffers hold
 * PRNG data, not zeroes, so that no layer can shortcut them.
 */
static int bench_setup_disk(struct bench_cfg *cfg, struct bench_disk *d, unsigned int first_th)
{
	uint32_t nslots = cfg->qd, per = cfg->qd / cfg->threads, extra = cfg->qd % cfg->threads;
	struct bench_slot *slots;
	struct prng fill;
	int err;

	/* In sectors: capacity << SECTOR_SHIFT could wrap (bs is whole sectors). */
	d->nblocks = d->info->capacity / (cfg->bs >> SECTOR_SHIFT);
	d->ios_left = cfg->ios;
	d->next_block = 0;
	d->nbufs = BENCH_BUF_BUDGET / cfg->bs;
	if (d->nbufs > nslots)
		d->nbufs = nslots;
	if (d->nbufs == 0)
		d->nbufs = 1;
	err = dma_alloc((size_t)d->nbufs * cfg->bs, BENCH_DMA_ALIGN, &d->buf_mem);
	if (err)
		return err;
	err = dma_alloc(nslots * sizeof(struct bench_slot), BENCH_DMA_ALIGN, &d->slot_mem);
	if (err)
		return err;
	prng_seed(&fill, cfg->seed);
	for (size_t i = 0; i < d->buf_mem.size / sizeof(uint64_t); i++)
		((uint64_t *)d->buf_mem.va)[i] = prng_next(&fill);

	slots = d->slot_mem.va;
	for (uint32_t i = 0; i < nslots; i++) {
		slots[i].seg.va = (char *)d->buf_mem.va + (size_t)(i % d->nbufs) * cfg->bs;
		slots[i].seg.len = cfg->bs;
	}
	for (uint32_t t = 0; t < cfg->threads; t++) {
		struct bench_thread *th = &bench_threads[first_th + t];

		th->disk = d;
		th->slots = slots;
		th->nslots = per + (t < extra ? 1 : 0);
		slots += th->nslots;
		/* Streams differ per disk and thread, and repeat for the same seed. */
		prng_seed(&th->rng, cfg->seed ^ ((uint64_t)(first_th + t) << 32));
		bench_thread_prepare(th);
		cfg->threads_of[cfg->nthreads++] = th;
	}
	return 0;
}

static void bench_teardown(struct bench_cfg *cfg)
{
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		if (cfg->disks[i].buf_mem.va)
			dma_free(&cfg->disks[i].buf_mem);
		if (cfg->disks[i].slot_mem.va)
			dma_free(&cfg->disks[i].slot_mem);
	}
}

/* Adds the counter deltas of d (ctr1 - ctr0) into *sum. */
static void bench_add_delta(struct blk_counters *sum, const struct bench_disk *d)
{
#define BENCH_DELTA(f) sum->f += d->ctr1.f - d->ctr0.f
	BENCH_DELTA(bios);
	BENCH_DELTA(requests);
	BENCH_DELTA(merges);
	BENCH_DELTA(splits);
	BENCH_DELTA(kicks);
	BENCH_DELTA(irqs);
	BENCH_DELTA(errors);
	BENCH_DELTA(retries);
	BENCH_DELTA(flushes);
	BENCH_DELTA(timeouts);
	BENCH_DELTA(lost_irqs);
	BENCH_DELTA(resets);
	BENCH_DELTA(lock_acquired);
	BENCH_DELTA(lock_spins);
	BENCH_DELTA(submit_moves);
	BENCH_DELTA(submit_handoffs);
#undef BENCH_DELTA
}

/* Totals of the disks whose index has its bit set in `mask`, into bench_tot. */
static void bench_total(const struct bench_cfg *cfg, uint32_t mask, uint64_t window_ns,
			uint64_t busy_ns, uint64_t all_ios, const char *name)
{
	struct bench_totals *t = &bench_tot;
	uint64_t end = cfg->t_start_ns;

	memset(&t->ctr, 0, sizeof(t->ctr));
	hist_init(&t->hist);
	t->dev = name;
	t->disks = (unsigned int)__builtin_popcount(mask);
	t->ios = t->errors_seen = 0;
	for (unsigned int i = 0; i < cfg->nthreads; i++) {
		const struct bench_thread *th = cfg->threads_of[i];
		unsigned int di = (unsigned int)(th->disk - cfg->disks);

		if (!(mask & (1u << di)))
			continue;
		t->ios += th->ios;
		t->errors_seen += th->errors;
		hist_merge(&t->hist, &th->hist);
		if (th->t_end_ns > end)
			end = th->t_end_ns;
	}
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		if (mask & (1u << i))
			bench_add_delta(&t->ctr, &cfg->disks[i]);
	}
	t->elapsed_ns = end - cfg->t_start_ns;
	t->cpu_window_ns = window_ns * cpu_count();
	t->busy_ns = busy_ns;
	t->all_ios = all_ios;
}

static int bench_job(const char **why)
{
	struct bench_cfg *cfg = &bench;
	uint64_t idle0, idle1, t_end, busy, all_ios = 0, errors = 0, slock0[2], slock1[2];
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (bench_parse(cfg, why) < 0)
		return -EINVAL;
	*why = "out of memory";
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		err = bench_setup_disk(cfg, &cfg->disks[i], i * cfg->threads);
		if (err) {
			kprintf("bench: cannot set up %s: %d\n", cfg->disks[i].info->name, err);
			bench_teardown(cfg);
			return err;
		}
	}
	bench_cfg_active = cfg;

	for (unsigned int i = 0; i < cfg->ndisks; i++)
		blkdev_counters(cfg->disks[i].dev, &cfg->disks[i].ctr0);
	idle0 = sched_idle_ns();
	sched_lock_stats(&slock0[0], &slock0[1]);
	cfg->t_start_ns = clock_ns();
	cfg->deadline_ns = cfg->secs ? cfg->t_start_ns + cfg->secs * NSEC_PER_SEC : 0;
	for (unsigned int i = 0; i < cfg->nthreads; i++) {
		/* Spread over the CPUs: thread i on CPU i mod cpu_count(). */
		cfg->threads_of[i]->thread = thread_create_on("bench", bench_thread_main,
							      cfg->threads_of[i], (int)(i % cpu_count()));
		if (!cfg->threads_of[i]->thread) {
			/* Not a clean run any more: stop the others at once, then fail. */
			kprintf("bench: out of threads after %u\n", i);
			cfg->deadline_ns = cfg->t_start_ns;
			for (unsigned int j = 0; j < i; j++)
				thread_join(cfg->threads_of[j]->thread);
			bench_teardown(cfg);
			*why = "out of threads";
			return -ENOMEM;
		}
	}
	for (unsigned int i = 0; i < cfg->nthreads; i++)
		thread_join(cfg->threads_of[i]->thread);
	t_end = clock_ns();
	idle1 = sched_idle_ns();
	sched_lock_stats(&slock1[0], &slock1[1]);
	for (unsigned int i = 0; i < cfg->ndisks; i++)
		blkdev_counters(cfg->disks[i].dev, &cfg->disks[i].ctr1);

	/*
	 * The CPUs are shared by all disks: cpu_util and cpu_ns_per_io are of the
	 * whole run (busy time of every CPU online over every disk's I/Os), the
	 * same on every line; cpu_util is over the window times the CPUs.
	 */
	busy = (t_end - cfg->t_start_ns) * cpu_count();
	busy = idle1 - idle0 < busy ? busy - (idle1 - idle0) : 0;
	for (unsigned int i = 0; i < cfg->nthreads; i++)
		all_ios += cfg->threads_of[i]->ios;
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		bench_total(cfg, 1u << i, t_end - cfg->t_start_ns, busy, all_ios,
			    cfg->disks[i].info->name);
		bench_tot.slock_acquired = slock1[0] - slock0[0];
		bench_tot.slock_spins = slock1[1] - slock0[1];
		bench_report(cfg, &bench_tot);
		errors += bench_tot.ctr.errors + bench_tot.errors_seen;
	}
	if (cfg->ndisks > 1) {
		bench_total(cfg, (1u << cfg->ndisks) - 1, t_end - cfg->t_start_ns, busy, all_ios,
			    cfg->dev_arg);
		bench_tot.slock_acquired = slock1[0] - slock0[0];
		bench_tot.slock_spins = slock1[1] - slock0[1];
		bench_report(cfg, &bench_tot);
	}
	bench_teardown(cfg);
	bench_cfg_active = NULL;
	if (errors) {
		*why = "I/O errors";
		return -EIO;
	}
	return 0;
}
JOB("bench", bench_keys, bench_job);

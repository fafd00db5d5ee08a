/*
 * run=bench, private to src/jobs/bench*.c: the state of one benchmark run.
 *
 *   bench.c         arguments, setup (all memory is taken here, before the
 *                   clock starts), start/join of the threads, the verdict
 *   bench_engine.c  the I/O loops: engine=async (bios, end_io, interrupts)
 *                   and engine=sync (submit_bio_poll: one polled request at a time)
 *   bench_report.c  the BENCH {json} lines, integer-only fixed-point output
 *   bench_names.c   the names of the rw= and engine= values, parsed by
 *                   bench.c and printed by bench_report.c
 *
 * Ownership. A disk (struct bench_disk) is shared by its threads: its claim
 * state (what is left to do, the sequential cursor) changes with IRQs masked,
 * since threads are preemptible; nothing else in it changes during the run.
 * A thread (struct bench_thread) owns its slots, its PRNG and its histogram.
 * In engine=async the device's interrupt handler touches a thread's state
 * only through the slots' end_io: it records the latency into that thread's
 * histogram and pushes the slot on the thread's done list, with IRQs masked;
 * the thread takes the done list with IRQs masked and reads the histogram
 * only after its last I/O has ended.
 */
#ifndef LEVBLK_JOBS_BENCH_H
#define LEVBLK_JOBS_BENCH_H

#include <levblk/hal/spinlock.h>
#include <stdbool.h>
#include <stdint.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/hal/dma.h>
#include <levblk/completion.h>
#include <levblk/lib/hist.h>
#include <levblk/lib/prng.h>

#define BENCH_MAX_QD	  256u
#define BENCH_MAX_THREADS 64u /* worker threads over all disks */
#define BENCH_MIN_BS	  SECTOR_SIZE
#define BENCH_MAX_BS	  (1024u * 1024u) /* 1 MiB */
#define BENCH_MAX_SECS	  3600u
#define BENCH_MAX_IOS	  (1ull << 40)
/*
 * Data buffers per disk are capped: slots share them round-robin when
 * qd * bs is larger (a benchmark's data is not looked at, and two reads
 * landing in one buffer at once are harmless). 1 MiB x qd 256 would
 * otherwise need 256 MiB.
 */
#define BENCH_BUF_BUDGET (8u * 1024u * 1024u)
#define BENCH_DMA_ALIGN	 4096u /* dma_alloc's smallest alignment: one page */

enum bench_rw { BENCH_READ, BENCH_WRITE, BENCH_RANDREAD, BENCH_RANDWRITE, BENCH_RANDRW };
enum bench_engine { BENCH_ASYNC, BENCH_SYNC };
#define BENCH_NRW      (BENCH_RANDRW + 1u)
#define BENCH_NENGINES (BENCH_SYNC + 1u)

struct bench_thread;

/* One I/O slot: a bio that is in flight or waiting on its thread's done list. */
struct bench_slot {
	struct bio bio;
	struct bio_seg seg;
	struct bench_thread *th;
	uint64_t t0_ns;		 /* submission time, for the latency */
	struct bench_slot *next; /* done list (engine=async) */
};

struct bench_disk {
	struct blkdev *dev;
	const struct blkdev_info *info;
	uint64_t nblocks; /* bs-sized blocks on the disk: offsets are [0, nblocks) * bs */
	/* Claims (bench_claim), changed with IRQs masked. */
	uint64_t ios_left;   /* ios= mode: I/Os not yet claimed */
	uint64_t next_block; /* sequential jobs: the next block to claim */
	/* Memory, taken at setup. */
	struct dma_buf buf_mem; /* nbufs data buffers of bs bytes */
	uint32_t nbufs;
	struct dma_buf slot_mem; /* qd slots for this disk's threads */
	/* Results. */
	uint64_t t_end_ns; /* when its last I/O ended */
	struct blk_counters ctr0, ctr1;
};

struct bench_thread {
	struct bench_disk *disk;
	struct bench_slot *slots;
	uint32_t nslots;
	struct prng rng;
	struct thread *thread;
	/*
	 * engine=async: the done list (under lock: end_io runs on any CPU) and
	 * the thread's wait for it (the wait lock).
	 */
	struct bench_slot *done;
	spinlock_t lock;
	struct waitq wq;
	/* Results, read after the thread has ended. */
	uint64_t ios, errors, t_end_ns;
	struct hist hist;
};

struct bench_cfg {
	enum bench_rw rw;
	enum bench_engine engine;
	uint32_t bs, qd, threads; /* qd and threads per disk */
	uint64_t secs, ios;	  /* one of them is 0: secs mode or ios mode (ios per disk) */
	uint64_t seed;
	uint64_t t_start_ns;  /* set when the run starts */
	uint64_t deadline_ns; /* secs mode: no claim succeeds at or after it */
	const char *dev_arg;  /* dev= as given, the name of the sum line */
	unsigned int ndisks;
	struct bench_disk disks[BLKDEV_MAX];
	unsigned int nthreads;
	struct bench_thread *threads_of[BENCH_MAX_THREADS];
};

/* bench_engine.c */
/* Thread body for the configured engine; arg is a struct bench_thread. */
void bench_thread_main(void *arg);
/* Makes the engine's per-thread state ready (called at setup, before any thread runs). */
void bench_thread_prepare(struct bench_thread *th);
extern struct bench_cfg *bench_cfg_active;

/* bench_report.c */
struct bench_totals {
	const char *dev;	   /* name printed in "dev" */
	unsigned int disks;	   /* how many disks the line adds up */
	uint64_t ios, errors_seen; /* I/Os ended; of them with a non-zero status */
	uint64_t elapsed_ns;	   /* start to the last I/O's end */
	uint64_t cpu_window_ns; /* the window busy_ns was measured over: start to threads joined */
	uint64_t busy_ns, all_ios; /* CPU not in WFI in that window, and every disk's I/Os */
	struct blk_counters ctr;   /* counter deltas over the run */
	uint64_t slock_acquired, slock_spins; /* the scheduler lock's, over the run */
	struct hist hist;
};
void bench_report(const struct bench_cfg *cfg, const struct bench_totals *t);

/* bench_names.c: indexed by the enums above. */
extern const char *const bench_rw_names[BENCH_NRW];
extern const char *const bench_engine_names[BENCH_NENGINES];
const char *bench_rw_name(enum bench_rw rw);
const char *bench_engine_name(enum bench_engine e);

#endif

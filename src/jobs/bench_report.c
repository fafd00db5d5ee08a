/*
 * The BENCH {json} line (docs/interface.md, "What each job prints"). Integer only: the
 * kernel has no floating point, so decimals are printed as fixed point
 * (an integer count of 1/10, 1/100 or 1/1000 units, split at the point) and
 * truncated, never rounded up.
 *
 * Units: secs seconds (3 decimals), iops I/Os per second (1 decimal), mbps
 * 10^6 bytes per second (2 decimals), lat_us microseconds (3 decimals: the
 * clock's nanoseconds), cpu_util a fraction of the run (3 decimals),
 * cpu_ns_per_io nanoseconds, avg_request_kib KiB per request (1 decimal).
 * cpu_util is busy time (not in an idle thread's WFI) of every CPU online
 * over the window it was measured in (start to every thread joined) times
 * the CPUs, so it never exceeds 1; cpu_ns_per_io divides the same busy time
 * by the I/Os of every disk. cpus is how many CPUs ran bench threads
 * (thread i runs on CPU i mod the CPUs online).
 * avg_request_kib is the bytes the bios carried over the requests the
 * device got (blk_counters has no byte count; every bio here is bs bytes).
 * Counters are deltas over the run. The line is formatted whole and then
 * printed with one kprintf, so nothing can cut into it.
 */
#include <levblk/hal/percpu.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/lib/fmt.h>
#include "bench.h"

#define BENCH_LINE_MAX 1024u
#define KIB	       1024u
#define TENTHS	       10u
#define HUNDREDTHS     100u
#define THOUSANDTHS    1000u
#define P50	       50000u /* hist_percentile's units: 1/1000 of a percent */
#define P99	       99000u
#define P999	       99900u

static uint64_t bench_muldiv(uint64_t a, uint64_t b, uint64_t c);

/*
 * a * b / c, truncated, without the 128-bit product (no compiler-rt here).
 * Exact as long as (c - 1) * b fits in 64 bits; callers keep b small.
 */
static uint64_t bench_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	if (!c)
		return 0;
	return (a / c) * b + (a % c) * b / c;
}

/* "%lu.%0Nlu" pieces of a fixed-point value with `scale` (10, 100, 1000) per unit. */
#define FIX(v, scale) (unsigned long)((v) / (scale)), (unsigned long)((v) % (scale))

void bench_report(const struct bench_cfg *cfg, const struct bench_totals *t)
{
	char line[BENCH_LINE_MAX];
	uint64_t elapsed_us = t->elapsed_ns / NSEC_PER_USEC;
	uint64_t bytes = t->ios * cfg->bs;
	uint64_t iops10 = bench_muldiv(t->ios, TENTHS * (NSEC_PER_SEC / NSEC_PER_USEC), elapsed_us);
	uint64_t mbps100 = bench_muldiv(bytes, HUNDREDTHS, elapsed_us); /* bytes/us = 10^6 B/s */
	uint64_t util1000 = bench_muldiv(t->busy_ns, THOUSANDTHS, t->cpu_window_ns);
	uint64_t ns_per_io = t->all_ios ? t->busy_ns / t->all_ios : 0;
	uint64_t rq_kib10 = t->ctr.requests
				? bench_muldiv(t->ctr.bios * cfg->bs, TENTHS, t->ctr.requests * KIB)
				: 0;
	uint64_t avg = hist_mean(&t->hist), p50 = hist_percentile(&t->hist, P50),
		 p99 = hist_percentile(&t->hist, P99), p999 = hist_percentile(&t->hist, P999),
		 max = t->hist.count ? t->hist.max : 0;

	fmt_snprintf(
	    line, sizeof(line),
	    "BENCH {\"dev\":\"%s\",\"rw\":\"%s\",\"bs\":%u,\"qd\":%u,\"threads\":%u,"
	    "\"engine\":\"%s\",\"secs\":%lu.%03lu,\"ios\":%lu,\"iops\":%lu.%01lu,"
	    "\"mbps\":%lu.%02lu,\"lat_us\":{\"avg\":%lu.%03lu,\"p50\":%lu.%03lu,"
	    "\"p99\":%lu.%03lu,\"p999\":%lu.%03lu,\"max\":%lu.%03lu},"
	    "\"bios\":%lu,\"requests\":%lu,\"merges\":%lu,\"splits\":%lu,\"kicks\":%lu,"
	    "\"irqs\":%lu,\"errors\":%lu,\"cpu_util\":%lu.%03lu,\"cpu_ns_per_io\":%lu,"
	    "\"avg_request_kib\":%lu.%01lu,\"seed\":%lu,\"disks\":%u,"
	    "\"timeouts\":%lu,\"lost_irqs\":%lu,\"resets\":%lu,\"qlock_acquired\":%lu,"
	    "\"qlock_spins\":%lu,\"submit_moves\":%lu,\"submit_handoffs\":%lu,"
	    "\"slock_acquired\":%lu,\"slock_spins\":%lu,\"cpus\":%u}",
	    t->dev, bench_rw_name(cfg->rw), cfg->bs, cfg->qd, cfg->threads,
	    bench_engine_name(cfg->engine), FIX(t->elapsed_ns / NSEC_PER_MSEC, THOUSANDTHS),
	    (unsigned long)t->ios, FIX(iops10, TENTHS), FIX(mbps100, HUNDREDTHS),
	    FIX(avg, THOUSANDTHS), FIX(p50, THOUSANDTHS), FIX(p99, THOUSANDTHS),
	    FIX(p999, THOUSANDTHS), FIX(max, THOUSANDTHS), (unsigned long)t->ctr.bios,
	    (unsigned long)t->ctr.requests, (unsigned long)t->ctr.merges,
	    (unsigned long)t->ctr.splits, (unsigned long)t->ctr.kicks, (unsigned long)t->ctr.irqs,
	    (unsigned long)(t->ctr.errors > t->errors_seen ? t->ctr.errors : t->errors_seen),
	    FIX(util1000, THOUSANDTHS), (unsigned long)ns_per_io, FIX(rq_kib10, TENTHS),
	    (unsigned long)cfg->seed, t->disks, (unsigned long)t->ctr.timeouts,
	    (unsigned long)t->ctr.lost_irqs, (unsigned long)t->ctr.resets,
	    (unsigned long)t->ctr.lock_acquired, (unsigned long)t->ctr.lock_spins,
	    (unsigned long)t->ctr.submit_moves, (unsigned long)t->ctr.submit_handoffs,
	    (unsigned long)t->slock_acquired, (unsigned long)t->slock_spins, cfg->nthreads < cpu_count() ? cfg->nthreads : cpu_count());
	kprintf("%s\n", line);
}

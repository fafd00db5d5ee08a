/*
 * Log-bucketed latency histogram: fixed size, no allocation, integer only,
 * O(1) record. Values (e.g. nanoseconds) fall into buckets that are
 * 1/HIST_SUB of a power of two wide, so a reported percentile is within
 * 1/HIST_SUB (6.25 %) of the true value; min, max and the mean are exact.
 *
 * Not locked: each recording context (thread) owns one and they are merged
 * with hist_merge() at the end of a run, or callers serialise.
 */
#ifndef LEVBLK_LIB_HIST_H
#define LEVBLK_LIB_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 4
#define HIST_SUB      (1u << HIST_SUB_BITS)
/* Values below HIST_SUB get a bucket each; then HIST_SUB buckets per power of two up to 2^64. */
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count, sum, min, max;
	uint32_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
void hist_merge(struct hist *into, const struct hist *from);
/*
 * The value at percentile per_100k / 1000 (e.g. 99900 for p99.9): the
 * midpoint of the bucket holding the rank-th smallest value, clamped to
 * [min, max]. 0 for an empty histogram.
 */
uint64_t hist_percentile(const struct hist *h, uint32_t per_100k);
uint64_t hist_mean(const struct hist *h);
/* Bucket index of v and the range [lo, hi] of values that bucket holds (for tests). */
unsigned int hist_bucket_of(uint64_t v);
void hist_bucket_range(unsigned int b, uint64_t *lo, uint64_t *hi);

#endif

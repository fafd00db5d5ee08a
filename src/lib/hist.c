/* Log-bucketed histogram, see include/levblk/lib/hist.h. */
#include <levblk/lib/hist.h>
#include <levblk/lib/string.h>

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/*
 * Values < HIST_SUB map to themselves. Otherwise, with m the index of the
 * most significant bit (m >= HIST_SUB_BITS), the bucket is chosen by m and
 * the HIST_SUB_BITS bits below the MSB.
 */
unsigned int hist_bucket_of(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned int)v;
	unsigned int m = 63u - (unsigned int)__builtin_clzll(v);
	unsigned int sub = (unsigned int)(v >> (m - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return (m - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

void hist_bucket_range(unsigned int b, uint64_t *lo, uint64_t *hi)
{
	if (b < HIST_SUB) {
		*lo = *hi = b;
		return;
	}
	unsigned int m = b / HIST_SUB + HIST_SUB_BITS - 1;
	uint64_t sub = b % HIST_SUB;
	uint64_t width = 1ull << (m - HIST_SUB_BITS);
	*lo = (1ull << m) + sub * width;
	*hi = *lo + (width - 1);
}

void hist_record(struct hist *h, uint64_t v)
{
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->bucket[hist_bucket_of(v)]++;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	if (!from->count)
		return;
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		into->bucket[i] += from->bucket[i];
}

uint64_t hist_percentile(const struct hist *h, uint32_t per_100k)
{
	if (!h->count)
		return 0;
	if (per_100k > 100000)
		per_100k = 100000;
	/* rank = ceil(count * p), at least 1: the smallest value with that many at or below it. */
	uint64_t rank = (h->count * per_100k + 99999) / 100000;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned int b = 0; b < HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank) {
			uint64_t lo, hi;
			hist_bucket_range(b, &lo, &hi);
			uint64_t mid = lo + (hi - lo) / 2;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}

uint64_t hist_mean(const struct hist *h)
{
	return h->count ? h->sum / h->count : 0;
}

/* The latency histogram: bucket geometry, percentile accuracy bound, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <levblk/lib/hist.h>

static struct hist h, h2;

static void test_buckets_tile_the_range(void **state)
{
	uint64_t prev_hi = 0;

	for (unsigned int b = 0; b < HIST_BUCKETS; b++) {
		uint64_t lo, hi;
		hist_bucket_range(b, &lo, &hi);
		if (b > 0)
			assert_int_equal(lo, prev_hi + 1); /* contiguous, no gaps or overlaps */
		assert_true(hi >= lo);
		assert_int_equal(hist_bucket_of(lo), b);
		assert_int_equal(hist_bucket_of(hi), b);
		prev_hi = hi;
	}
	assert_int_equal(prev_hi, UINT64_MAX);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_percentiles_within_bound(void **state)
{
	enum { N = 20000 };
	static uint64_t v[N];
	const uint32_t ps[] = {50000, 99000, 99900, 100000, 1};
	uint64_t x = 88172645463325252ull, sum = 0;

	hist_init(&h);
	for (int i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = 1000 + (x % 5000000) * (i % 7 == 0 ? 10 : 1); /* a long tail */
		sum += v[i];
		hist_record(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	assert_int_equal(h.count, N);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[N - 1]);
	assert_int_equal(hist_mean(&h), sum / N);
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		uint64_t rank = ((uint64_t)N * ps[k] + 99999) / 100000;
		uint64_t exact = v[(rank ? rank : 1) - 1];
		uint64_t got = hist_percentile(&h, ps[k]);
		uint64_t err = got > exact ? got - exact : exact - got;
		assert_true(err * HIST_SUB <= exact); /* within 1/16 */
	}
}

static void test_small_and_empty(void **state)
{
	hist_init(&h);
	assert_int_equal(hist_percentile(&h, 50000), 0);
	assert_int_equal(hist_mean(&h), 0);
	hist_record(&h, 3);
	hist_record(&h, 3);
	hist_record(&h, 9);
	assert_int_equal(hist_percentile(&h, 50000), 3);
	assert_int_equal(hist_percentile(&h, 100000), 9);
}

static void test_merge(void **state)
{
	hist_init(&h);
	hist_init(&h2);
	hist_record(&h, 100);
	hist_record(&h2, 5);
	hist_record(&h2, 1000000);
	hist_merge(&h, &h2);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.min, 5);
	assert_int_equal(h.max, 1000000);
	assert_in_range(hist_percentile(&h, 50000), 100 - 100 / HIST_SUB, 100 + 100 / HIST_SUB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_tile_the_range),
		cmocka_unit_test(test_percentiles_within_bound),
		cmocka_unit_test(test_small_and_empty),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

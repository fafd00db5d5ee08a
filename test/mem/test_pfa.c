/*
 * Page frame allocator (src/lib/pfa.c): alignment, exhaustion, reuse,
 * overlap and fragmentation, checked against a shadow array of owners.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/lib/pfa.h>
#include <levblk/lib/prng.h>

/* An odd size and an unaligned base make the edge cases show. */
#define T_BASE	 0x40123ull
#define T_PAGES	 1000ull
#define T_MAXMAP PFA_MAP_WORDS(4096)

static uint64_t map[T_MAXMAP];
static struct pfa pool;

static void setup_pool(uint64_t base, uint64_t n)
{
	/* Dirty storage: pfa_init must clear it itself. */
	memset(map, 0xa5, sizeof(map));
	pfa_init(&pool, base, n, map);
}

static void test_init_and_counts(void **state)
{
	uint64_t pfn;

	setup_pool(T_BASE, T_PAGES);
	assert_int_equal(pfa_free_count(&pool), T_PAGES);
	assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), 0);
	assert_int_equal(pfn, T_BASE);
	assert_int_equal(pfa_free_count(&pool), T_PAGES - 1);
	assert_int_equal(pfa_free(&pool, pfn, 1), 0);
	assert_int_equal(pfa_free_count(&pool), T_PAGES);
}

static void test_bad_arguments(void **state)
{
	uint64_t pfn = 0;

	setup_pool(T_BASE, T_PAGES);
	assert_int_equal(pfa_alloc(&pool, 0, 1, &pfn), -EINVAL);
	assert_int_equal(pfa_alloc(&pool, 1, 3, &pfn), -EINVAL);
	assert_int_equal(pfa_alloc(&pool, 1, 0, &pfn), 0); /* 0 means no alignment */
	assert_int_equal(pfa_free(&pool, pfn, 0), -EINVAL);
	assert_int_equal(pfa_free(&pool, T_BASE - 1, 2), -EINVAL);
	assert_int_equal(pfa_free(&pool, T_BASE + T_PAGES - 1, 2), -EINVAL);
	assert_int_equal(pfa_free(&pool, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(pfa_reserve(&pool, T_BASE + T_PAGES, 1), -EINVAL);
	assert_int_equal(pfa_free_count(&pool), T_PAGES - 1);
}

static void test_alignment(void **state)
{
	uint64_t pfn;
	uint64_t aligns[] = {1, 2, 4, 8, 16, 64, 128, 256};

	setup_pool(T_BASE, T_PAGES);
	/* Take one page first so the lowest free frame is never aligned by luck. */
	assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), 0);
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		assert_int_equal(pfa_alloc(&pool, 3, aligns[i], &pfn), 0);
		assert_int_equal(pfn % aligns[i], 0);
		assert_true(pfn >= T_BASE && pfn + 3 <= T_BASE + T_PAGES);
	}
	/* An alignment no frame in the pool satisfies. */
	assert_int_equal(pfa_alloc(&pool, 1, 1ull << 40, &pfn), -ENOMEM);
	/* The largest aligned run: 512-aligned frames in [0x40123, 0x4050b) are 0x40200, 0x40400.
	 */
	setup_pool(T_BASE, T_PAGES);
	assert_int_equal(pfa_alloc(&pool, 256, 512, &pfn), 0);
	assert_int_equal(pfn, 0x40200);
	assert_int_equal(pfa_alloc(&pool, 256, 512, &pfn), 0);
	assert_int_equal(pfn, 0x40400);
	assert_int_equal(pfa_alloc(&pool, 1, 512, &pfn), -ENOMEM);
}

static void test_exhaustion_and_reuse(void **state)
{
	uint64_t pfn, first;
	uint64_t got = 0;

	setup_pool(T_BASE, T_PAGES);
	assert_int_equal(pfa_alloc(&pool, T_PAGES + 1, 1, &pfn), -ENOMEM);
	while (pfa_alloc(&pool, 7, 1, &pfn) == 0)
		got += 7;
	assert_int_equal(got, T_PAGES / 7 * 7);
	assert_int_equal(pfa_free_count(&pool), T_PAGES % 7);
	assert_int_equal(pfa_alloc(&pool, 7, 1, &pfn), -ENOMEM);
	/* The remainder is still there in single pages. */
	for (uint64_t i = 0; i < T_PAGES % 7; i++)
		assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), 0);
	assert_int_equal(pfa_free_count(&pool), 0);
	assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), -ENOMEM);
	/* Free a run in the middle: the next allocation reuses exactly it. */
	first = T_BASE + 70;
	assert_int_equal(pfa_free(&pool, first, 7), 0);
	assert_int_equal(pfa_alloc(&pool, 7, 1, &pfn), 0);
	assert_int_equal(pfn, first);
	/* Free everything, in pieces, and the whole pool is one run again. */
	assert_int_equal(pfa_free(&pool, T_BASE, T_PAGES), 0);
	assert_int_equal(pfa_free_count(&pool), T_PAGES);
	assert_int_equal(pfa_alloc(&pool, T_PAGES, 1, &pfn), 0);
	assert_int_equal(pfn, T_BASE);
}

static void test_double_free(void **state)
{
	uint64_t a, b;

	setup_pool(T_BASE, T_PAGES);
	assert_int_equal(pfa_alloc(&pool, 4, 1, &a), 0);
	assert_int_equal(pfa_alloc(&pool, 4, 1, &b), 0);
	assert_int_equal(pfa_free(&pool, a, 4), 0);
	assert_int_equal(pfa_free(&pool, a, 4), -EINVAL);
	/* A range straddling a free and a used run is refused whole. */
	assert_int_equal(pfa_free(&pool, a + 2, 4), -EINVAL);
	assert_int_equal(pfa_free_count(&pool), T_PAGES - 4);
	assert_int_equal(pfa_free(&pool, b, 4), 0);
	assert_int_equal(pfa_free_count(&pool), T_PAGES);
}

static void test_reserve(void **state)
{
	uint64_t pfn;

	setup_pool(T_BASE, T_PAGES);
	assert_int_equal(pfa_reserve(&pool, T_BASE, 10), 0);
	assert_int_equal(pfa_reserve(&pool, T_BASE + 5, 10), -EBUSY);
	assert_int_equal(pfa_free_count(&pool), T_PAGES - 10);
	assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), 0);
	assert_int_equal(pfn, T_BASE + 10);
}

static void test_fragmentation(void **state)
{
	uint64_t pfn;

	setup_pool(T_BASE, 256);
	for (uint64_t i = 0; i < 256; i++) {
		assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), 0);
		assert_int_equal(pfn, T_BASE + i);
	}
	/* Free every other page: half the pool is free, no two frames adjacent. */
	for (uint64_t i = 0; i < 256; i += 2)
		assert_int_equal(pfa_free(&pool, T_BASE + i, 1), 0);
	assert_int_equal(pfa_free_count(&pool), 128);
	assert_int_equal(pfa_alloc(&pool, 2, 1, &pfn), -ENOMEM);
	/* Free one more: exactly one run of 3 exists, at frames 4..6. */
	assert_int_equal(pfa_free(&pool, T_BASE + 5, 1), 0);
	assert_int_equal(pfa_alloc(&pool, 3, 1, &pfn), 0);
	assert_int_equal(pfn, T_BASE + 4);
	assert_int_equal(pfa_alloc(&pool, 2, 1, &pfn), -ENOMEM);
	assert_int_equal(pfa_alloc(&pool, 1, 1, &pfn), 0);
	assert_int_equal(pfn, T_BASE);
}

/* Allocations never overlap and frees return exactly what they took (shadow model). */
#define R_BASE	0x80000ull
#define R_PAGES 2000
#define R_LIVE	64
static void test_random_against_model(void **state)
{
	static int owner[R_PAGES];
	struct {
		uint64_t pfn, n;
	} live[R_LIVE];
	unsigned int nlive = 0;
	uint64_t used = 0;
	struct prng r;

	setup_pool(R_BASE, R_PAGES);
	for (int i = 0; i < R_PAGES; i++)
		owner[i] = -1;
	prng_seed(&r, 12345);
	for (int step = 0; step < 20000; step++) {
		if (nlive < R_LIVE && (nlive == 0 || prng_below(&r, 3) != 0)) {
			uint64_t n = 1 + prng_below(&r, 40);
			uint64_t align = 1ull << prng_below(&r, 6);
			uint64_t pfn;
			int err = pfa_alloc(&pool, n, align, &pfn);

			if (err == -ENOMEM)
				continue;
			assert_int_equal(err, 0);
			assert_int_equal(pfn % align, 0);
			assert_true(pfn >= R_BASE && pfn + n <= R_BASE + R_PAGES);
			for (uint64_t p = pfn; p < pfn + n; p++) {
				assert_int_equal(owner[p - R_BASE], -1);
				owner[p - R_BASE] = (int)nlive;
			}
			live[nlive].pfn = pfn;
			live[nlive].n = n;
			nlive++;
			used += n;
		} else {
			unsigned int k = (unsigned int)prng_below(&r, nlive);

			assert_int_equal(pfa_free(&pool, live[k].pfn, live[k].n), 0);
			for (uint64_t p = live[k].pfn; p < live[k].pfn + live[k].n; p++)
				owner[p - R_BASE] = -1;
			used -= live[k].n;
			live[k] = live[--nlive];
			for (uint64_t p = live[k].pfn; k < nlive && p < live[k].pfn + live[k].n;
			     p++)
				owner[p - R_BASE] = (int)k;
		}
		assert_int_equal(pfa_free_count(&pool), R_PAGES - used);
	}
	while (nlive) {
		nlive--;
		assert_int_equal(pfa_free(&pool, live[nlive].pfn, live[nlive].n), 0);
	}
	assert_int_equal(pfa_free_count(&pool), R_PAGES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_and_counts), cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_alignment),	    cmocka_unit_test(test_exhaustion_and_reuse),
	    cmocka_unit_test(test_double_free),	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_fragmentation),   cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

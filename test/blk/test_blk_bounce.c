/*
 * Host tests of the bounce pool's allocator (src/blk/blk_bounce.c) on its
 * own: random gets and puts of every size against a model that knows which
 * slots are taken. Every buffer handed out lies inside the pool, overlaps no
 * other live buffer, and a get fails only when the model finds no free run
 * long enough anywhere; at the end the pool is whole again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "blk/blk_bounce.h"

#define LIVE_MAX 512

struct live {
	struct blk_bounce_buf *buf;
	uint32_t first, n;
};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t below)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % below);
}

/* True if the model has a free run of n slots anywhere. */
static bool model_has_run(const bool *taken, uint32_t nslots, uint32_t n)
{
	uint32_t run = 0;

	for (uint32_t i = 0; i < nslots; i++) {
		run = taken[i] ? 0 : run + 1;
		if (run >= n)
			return true;
	}
	return false;
}

/* The pool's map and free count say exactly what the model says. */
static void assert_map_is_model(const struct blk_bounce *b, const bool *taken)
{
	uint32_t nfree = 0;

	for (uint32_t i = 0; i < b->nslots; i++) {
		bool bit = (b->map[i / 64] >> (i % 64)) & 1u;
		assert_int_equal(bit, taken[i]);
		nfree += !taken[i];
	}
	assert_int_equal(b->nfree, nfree);
}

static void run_pool(uint64_t kib, uint32_t max_slots_per_get, unsigned int rounds)
{
	struct blk_bounce b;
	static struct live live[LIVE_MAX];
	static bool taken[1u << 16];
	uint32_t nlive = 0;

	blk_param_bounce = 1;
	blk_param_bounce_kib = kib;
	assert_int_equal(blk_bounce_init(&b, 1u << 20), 0);
	assert_true(b.nslots <= sizeof(taken));
	memset(taken, 0, sizeof(taken));
	for (unsigned int r = 0; r < rounds; r++) {
		assert_map_is_model(&b, taken);
		/* Phases that fill the pool up and drain it down, so free words occur too. */
		bool draining = (r / 500) % 2 == 1;
		if (nlive && (nlive == LIVE_MAX || rnd(4) < (draining ? 3u : 1u))) {
			uint32_t k = rnd(nlive);
			blk_bounce_put(&b, live[k].buf);
			for (uint32_t i = 0; i < live[k].n; i++)
				taken[live[k].first + i] = false;
			live[k] = live[--nlive];
			continue;
		}
		uint32_t n = 1 + rnd(max_slots_per_get);
		uint32_t bytes = (n - 1) * BLK_BOUNCE_SLOT + 1 + rnd(BLK_BOUNCE_SLOT);
		if (bytes > b.max_bytes)
			continue;
		struct blk_bounce_buf *buf = blk_bounce_get(&b, bytes);
		if (!buf) {
			assert_false(model_has_run(taken, b.nslots, n));
			continue;
		}
		uint32_t first = (uint32_t)(buf - b.bufs);
		assert_true(first + n <= b.nslots);
		assert_ptr_equal(buf->seg.va, (char *)b.mem.va + (size_t)first * BLK_BOUNCE_SLOT);
		assert_true(buf->seg.len >= bytes);
		for (uint32_t i = 0; i < n; i++) {
			assert_false(taken[first + i]);
			taken[first + i] = true;
		}
		memset(buf->seg.va, (int)r, bytes); /* ASan: inside the pool's memory */
		live[nlive++] = (struct live){buf, first, n};
	}
	while (nlive)
		blk_bounce_put(&b, live[--nlive].buf);
	assert_int_equal(b.nfree, b.nslots);
	for (uint32_t i = 0; i < b.nslots; i++) /* every slot free again, one by one */
		assert_non_null(blk_bounce_get(&b, BLK_BOUNCE_SLOT));
	assert_null(blk_bounce_get(&b, 1));
	blk_bounce_destroy(&b);
	blk_param_bounce = 0;
	blk_param_bounce_kib = 8192;
}

/* Small pieces in a pool of 64 KiB (16 slots), then 1 MiB pieces in 8 MiB (2048 slots). */
static void test_pool_random_gets_and_puts(void **state)
{
	(void)state;
	run_pool(64, 4, 20000);
	run_pool(1024, 70, 20000);
	run_pool(8192, 256, 10000);
}

/* Without blk.bounce: 256 KiB, a quarter of it per piece at most. */
static void test_small_pool_limits(void **state)
{
	struct blk_bounce b;

	(void)state;
	blk_param_bounce = 0;
	assert_int_equal(blk_bounce_init(&b, 1u << 20), 0);
	assert_false(b.all);
	assert_int_equal(b.nslots, 64);
	assert_int_equal(b.max_bytes, 65536);
	assert_null(blk_bounce_get(&b, 65537));
	assert_null(blk_bounce_get(&b, 0));
	struct blk_bounce_buf *x = blk_bounce_get(&b, 65536);
	assert_non_null(x);
	assert_int_equal(b.nfree, 48);
	blk_bounce_put(&b, x);
	assert_int_equal(b.nfree, 64);
	blk_bounce_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool_random_gets_and_puts),
	    cmocka_unit_test(test_small_pool_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * ticks_to_ns / ns_to_ticks_ceil against a 128-bit reference (the host has
 * 128-bit division; the target does not, which is why the code splits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <levblk/lib/prng.h>
#include <levblk/lib/ticks.h>

#define NS 1000000000ull

static const uint64_t freqs[] = {1,	    1000, 19200000, 24000000,	     62500000,
				 100000000, NS,	  3 * NS,   (1ull << 34) - 1};

static uint64_t ref_ns(uint64_t ticks, uint64_t f)
{
	return (uint64_t)((unsigned __int128)ticks * NS / f);
}

static uint64_t ref_ticks_ceil(uint64_t ns, uint64_t f)
{
	unsigned __int128 p = (unsigned __int128)ns * f;
	return (uint64_t)((p + NS - 1) / NS);
}

static void test_known_values(void **state)
{
	(void)state;
	/* QEMU: 62.5 MHz, 16 ns per tick. */
	assert_int_equal(ticks_to_ns(1, 62500000), 16);
	assert_int_equal(ticks_to_ns(62500000, 62500000), NS);
	assert_int_equal(ns_to_ticks_ceil(16, 62500000), 1);
	assert_int_equal(ns_to_ticks_ceil(17, 62500000), 2);
	assert_int_equal(ns_to_ticks_ceil(0, 62500000), 0);
	/* 24 MHz does not divide 1 GHz: 1 tick = 41.666 ns. */
	assert_int_equal(ticks_to_ns(1, 24000000), 41);
	assert_int_equal(ticks_to_ns(3, 24000000), 125);
	assert_int_equal(ns_to_ticks_ceil(42, 24000000), 2);
	/* Large values where a naive ticks * 1e9 would overflow 64 bits. */
	assert_int_equal(ticks_to_ns(1ull << 40, 62500000), (1ull << 40) * 16);
}

static void test_against_reference(void **state)
{
	struct prng r;

	(void)state;
	prng_seed(&r, 1);
	for (size_t fi = 0; fi < sizeof(freqs) / sizeof(freqs[0]); fi++) {
		uint64_t f = freqs[fi];
		for (int i = 0; i < 20000; i++) {
			/* Keep results in 64 bits: ticks < 2^64 * f / 1e9, ns < 2^64 * 1e9 / f. */
			uint64_t t = prng_below(&r, f >= NS ? UINT64_MAX : (UINT64_MAX / NS) * f);
			uint64_t ns = prng_below(&r, f <= NS ? UINT64_MAX : (UINT64_MAX / f) * NS);
			if (i < 100) { /* and small values, near the rounding edges */
				t = (uint64_t)i;
				ns = (uint64_t)i;
			}
			assert_int_equal(ticks_to_ns(t, f), ref_ns(t, f));
			assert_int_equal(ns_to_ticks_ceil(ns, f), ref_ticks_ceil(ns, f));
			/* A deadline converted up and back is never earlier than asked. */
			if (f <= NS * 2)
				assert_true(ticks_to_ns(ns_to_ticks_ceil(ns, f), f) >= ns);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_values),
	    cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

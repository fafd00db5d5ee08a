/* The readahead window rules of src/fs/readahead.h, driven by read patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fs/readahead.h"

#define FILE_BLOCKS 1000u
#define MAX_WINDOW  32u

/* Reads a file block by block from the start: every later block is prefetched once, before it is read. */
static void test_sequential(void **state)
{
	static uint8_t prefetched[FILE_BLOCKS];
	struct fs_ra ra;
	unsigned int batches = 0;

	memset(prefetched, 0, sizeof(prefetched));
	fs_ra_init(&ra);
	for (uint64_t blk = 0; blk < FILE_BLOCKS; blk++) {
		uint64_t a, b;
		if (blk > 0 && !prefetched[blk])
			fail_msg("block %llu read before it was prefetched", (unsigned long long)blk);
		fs_ra_advance(&ra, blk, blk + 1, FILE_BLOCKS, MAX_WINDOW, &a, &b);
		assert_true(ra.window <= MAX_WINDOW);
		assert_true(a <= b && b <= FILE_BLOCKS);
		assert_true(b <= blk + 1 + MAX_WINDOW);
		if (a == b)
			continue;
		assert_true(a >= blk + 1);
		batches++;
		/*
		 * Once the window is full, batches are exactly half a window: runs
		 * of one size, which a power-of-two window makes whole requests
		 * (a batch of half a window and one block was a full request and
		 * a one-block one).
		 */
		if (blk > 64 && b < FILE_BLOCKS)
			assert_int_equal(b - a, MAX_WINDOW / 2);
		for (uint64_t p = a; p < b; p++) {
			assert_int_equal(prefetched[p], 0); /* each block once */
			prefetched[p] = 1;
		}
	}
	assert_int_equal(ra.window, MAX_WINDOW);
	/* Far fewer batches than blocks: 1000 blocks in batches of about 16. */
	assert_true(batches < FILE_BLOCKS / 10);
}

/* The window grows 4, 8, 16, 32 and no further. */
static void test_growth(void **state)
{
	static const uint32_t want[] = { 4, 8, 16, 32, 32, 32 };
	struct fs_ra ra;
	uint64_t a, b;

	fs_ra_init(&ra);
	for (unsigned int i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fs_ra_advance(&ra, i, i + 1, FILE_BLOCKS, MAX_WINDOW, &a, &b);
		assert_int_equal(ra.window, want[i]);
	}
}

/* Random reads shrink the window to a quarter each, down to nothing, and then nothing is prefetched. */
static void test_random_shrinks(void **state)
{
	struct fs_ra ra;
	uint64_t a, b, blk;

	fs_ra_init(&ra);
	for (blk = 0; blk < 10; blk++)
		fs_ra_advance(&ra, blk, blk + 1, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, 32);
	fs_ra_advance(&ra, 500, 501, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, 8);
	assert_true(a == b || a == 501); /* what is prefetched starts after the read */
	fs_ra_advance(&ra, 100, 101, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, 2);
	fs_ra_advance(&ra, 700, 701, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, 0);
	assert_int_equal(a, b);
	fs_ra_advance(&ra, 300, 301, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(a, b);
	/* Sequential again: it starts over from the smallest window. */
	fs_ra_advance(&ra, 301, 302, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, 4);
	assert_int_equal(a, 302);
	assert_int_equal(b, 306);
}

/* Reads smaller than a block: several in one block keep the pattern sequential. */
static void test_small_reads(void **state)
{
	struct fs_ra ra;
	uint64_t a, b;

	fs_ra_init(&ra);
	fs_ra_advance(&ra, 0, 1, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	fs_ra_advance(&ra, 0, 1, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	fs_ra_advance(&ra, 0, 1, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, 16);
}

/* Never past the end of the file; off means off. */
static void test_end_and_off(void **state)
{
	struct fs_ra ra;
	uint64_t a, b;

	fs_ra_init(&ra);
	for (uint64_t blk = 0; blk < 10; blk++) {
		fs_ra_advance(&ra, blk, blk + 1, 12, MAX_WINDOW, &a, &b);
		assert_true(b <= 12);
	}
	fs_ra_init(&ra);
	for (uint64_t blk = 0; blk < 10; blk++) {
		fs_ra_advance(&ra, blk, blk + 1, FILE_BLOCKS, 0, &a, &b);
		assert_int_equal(a, b);
		assert_int_equal(ra.window, 0);
	}
	/* Large reads: 16 blocks at a time; the window starts at twice that and runs ahead of each read. */
	fs_ra_init(&ra);
	fs_ra_advance(&ra, 0, 16, FILE_BLOCKS, MAX_WINDOW, &a, &b);
	assert_int_equal(ra.window, MAX_WINDOW);
	assert_int_equal(a, 16);
	assert_int_equal(b, 16 + MAX_WINDOW);
	for (uint64_t blk = 16; blk < 200; blk += 16) {
		fs_ra_advance(&ra, blk, blk + 16, FILE_BLOCKS, MAX_WINDOW, &a, &b);
		assert_true(ra.issued >= blk + 16 + MAX_WINDOW / 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_random_shrinks),
		cmocka_unit_test(test_small_reads),
		cmocka_unit_test(test_end_and_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

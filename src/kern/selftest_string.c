/*
 * In-guest selftest of memcpy (src/lib/string.c), whose aligned path is
 * assembly on the target only: every source and destination alignment in
 * 0..15 and lengths around each of its steps (the 64-byte blocks, the word
 * tail, the byte tail), checked byte for byte against a plain loop, with
 * guard bytes on both sides that must not change.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/lib/string.h>

#define ST_GUARD  16u
#define ST_MAXLEN 4200u
#define ST_POISON 0xa5u

static uint8_t st_src[ST_MAXLEN + 2 * ST_GUARD] __attribute__((aligned(64)));
static uint8_t st_dst[ST_MAXLEN + 2 * ST_GUARD] __attribute__((aligned(64)));

static bool st_copy_ok(size_t dalign, size_t salign, size_t len)
{
	uint8_t *d = st_dst + ST_GUARD + dalign, *s = st_src + ST_GUARD + salign;
	uint8_t *lo = d - ST_GUARD, *hi = d + len + ST_GUARD;

	for (uint8_t *p = lo; p < hi; p++)
		*(volatile uint8_t *)p = ST_POISON;
	if (memcpy(d, s, len) != d)
		return false;
	for (uint8_t *p = lo; p < hi; p++) {
		uint8_t want = p >= d && p < d + len ? s[p - d] : ST_POISON;
		if (*p != want) {
			kprintf("# memcpy(dst+%u, src+%u, %u): byte %d is 0x%x, want 0x%x\n",
				(unsigned)dalign, (unsigned)salign, (unsigned)len, (int)(p - d), *p,
				want);
			return false;
		}
	}
	return true;
}

static bool test_memcpy(void)
{
	static const size_t lens[] = {0,   1,	7,   8,	  9,   63,  64,	  65,	71,   72,
				      127, 128, 129, 200, 511, 512, 1000, 4095, 4096, 4161};

	for (size_t i = 0; i < sizeof(st_src); i++)
		st_src[i] = (uint8_t)(i * 7 + (i >> 8) + 1);
	for (size_t da = 0; da < 16; da++) {
		for (size_t sa = 0; sa < 16; sa++) {
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
				if (!st_copy_ok(da, sa, lens[k]))
					return false;
			}
		}
	}
	return true;
}
SELFTEST("lib.memcpy_alignments", test_memcpy);

/*
 * The disk pattern of docs/interface.md: sector s (512 bytes) holds 64
 * little-endian 64-bit words, word i = splitmix64(seed XOR (s * 64 + i)).
 * Shared by the guest jobs (fill, check) and the host tool (tools/pattern).
 */
#ifndef LEVBLK_LIB_PATTERN_H
#define LEVBLK_LIB_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define PATTERN_SECTOR_BYTES 512u
#define PATTERN_WORDS        (PATTERN_SECTOR_BYTES / 8u)

static inline uint64_t splitmix64(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint64_t pattern_word(uint64_t seed, uint64_t sector, unsigned int i)
{
	return splitmix64(seed ^ (sector * PATTERN_WORDS + i));
}

/* Fills `buf` (512 bytes, any alignment) with the pattern of `sector`. */
void pattern_fill_sector(void *buf, uint64_t seed, uint64_t sector);
/*
 * Compares `buf` with the pattern of `sector`. Returns -1 if it matches,
 * else the index of the first differing word, with its value in *got and
 * the expected one in *want.
 */
int pattern_check_sector(const void *buf, uint64_t seed, uint64_t sector, uint64_t *got,
			 uint64_t *want);

#endif

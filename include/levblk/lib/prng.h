/*
 * A small fast PRNG for workloads (xorshift64*, seeded through splitmix64 so
 * that nearby seeds give unrelated streams). Not for anything secret.
 * One state per thread; no locking.
 */
#ifndef LEVBLK_LIB_PRNG_H
#define LEVBLK_LIB_PRNG_H

#include <stdint.h>
#include <levblk/lib/pattern.h>

struct prng {
	uint64_t s;
};

static inline void prng_seed(struct prng *r, uint64_t seed)
{
	r->s = splitmix64(seed);
	if (!r->s)
		r->s = 0x9E3779B97F4A7C15ull; /* xorshift must not start at 0 */
}

static inline uint64_t prng_next(struct prng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) for n > 0 (Lemire's multiply-shift would need 128-bit; the modulo bias is < n / 2^64). */
static inline uint64_t prng_below(struct prng *r, uint64_t n)
{
	return prng_next(r) % n;
}

#endif

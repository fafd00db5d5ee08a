/*
 * Atomic counters that hold across CPUs, for statistics, reference counts
 * and flags shared without a lock.
 *
 * Ordering: read/set/add/sub/inc/dec are relaxed (statistics: each update is
 * whole, but orders nothing else). The *_return, dec_and_test and cmpxchg
 * forms are acquire+release: what a CPU wrote before them is visible to a
 * CPU that sees their result and then reads on (a reference count's last
 * put, a flag handing over an object). Anything subtler: a lock.
 */
#ifndef LEVBLK_ATOMIC_H
#define LEVBLK_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
	uint32_t v;
} atomic32_t;
typedef struct {
	uint64_t v;
} atomic64_t;

#define ATOMIC_INIT(n) {(n)}

#define LEVBLK_ATOMIC_OPS(t, n, T)                                                                 \
	static inline T n##_read(const t *a)                                                       \
	{                                                                                          \
		return __atomic_load_n(&a->v, __ATOMIC_RELAXED);                                   \
	}                                                                                          \
	static inline void n##_set(t *a, T x)                                                      \
	{                                                                                          \
		__atomic_store_n(&a->v, x, __ATOMIC_RELAXED);                                      \
	}                                                                                          \
	static inline void n##_add(t *a, T x)                                                      \
	{                                                                                          \
		(void)__atomic_fetch_add(&a->v, x, __ATOMIC_RELAXED);                              \
	}                                                                                          \
	static inline void n##_sub(t *a, T x)                                                      \
	{                                                                                          \
		(void)__atomic_fetch_sub(&a->v, x, __ATOMIC_RELAXED);                              \
	}                                                                                          \
	static inline void n##_inc(t *a)                                                           \
	{                                                                                          \
		n##_add(a, 1);                                                                     \
	}                                                                                          \
	static inline void n##_dec(t *a)                                                           \
	{                                                                                          \
		n##_sub(a, 1);                                                                     \
	}                                                                                          \
	static inline T n##_add_return(t *a, T x)                                                  \
	{                                                                                          \
		return __atomic_add_fetch(&a->v, x, __ATOMIC_ACQ_REL);                             \
	}                                                                                          \
	static inline T n##_sub_return(t *a, T x)                                                  \
	{                                                                                          \
		return __atomic_sub_fetch(&a->v, x, __ATOMIC_ACQ_REL);                             \
	}                                                                                          \
	static inline bool n##_dec_and_test(t *a)                                                  \
	{                                                                                          \
		return n##_sub_return(a, 1) == 0;                                                  \
	}                                                                                          \
	/* Stores `want` if the value is `expect`; returns the value found. */                     \
	static inline T n##_cmpxchg(t *a, T expect, T want)                                        \
	{                                                                                          \
		(void)__atomic_compare_exchange_n(&a->v, &expect, want, false, __ATOMIC_ACQ_REL,   \
						  __ATOMIC_ACQUIRE);                               \
		return expect;                                                                     \
	}

LEVBLK_ATOMIC_OPS(atomic32_t, atomic32, uint32_t)
LEVBLK_ATOMIC_OPS(atomic64_t, atomic64, uint64_t)

#undef LEVBLK_ATOMIC_OPS

#endif

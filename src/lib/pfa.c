/*
 * Page frame allocator over a bitmap: see include/levblk/lib/pfa.h for the
 * contract. Invariant: nfree equals the number of clear bits among the
 * first npages bits of map; bits past npages in the last word are never
 * looked at (every scan is bounded by npages).
 */
#include <stdbool.h>
#include <levblk/errno.h>
#include <levblk/lib/pfa.h>

/* Bits [from, to) of the word holding bit `from`, with to <= the word's end. */
static uint64_t word_mask(uint64_t from, uint64_t to)
{
	unsigned int lo = from % PFA_WORD_BITS;
	unsigned int len = (unsigned int)(to - from);
	uint64_t m = len == PFA_WORD_BITS ? ~0ull : ((1ull << len) - 1);

	return m << lo;
}

/* First bit index in [from, to) whose value is `set`, or `to` when there is none. */
static uint64_t find_bit(const uint64_t *map, uint64_t from, uint64_t to, bool set)
{
	while (from < to) {
		uint64_t word_end = (from / PFA_WORD_BITS + 1) * PFA_WORD_BITS;
		uint64_t end = word_end < to ? word_end : to;
		uint64_t w = map[from / PFA_WORD_BITS];
		uint64_t hits = (set ? w : ~w) & word_mask(from, end);

		if (hits)
			return from - from % PFA_WORD_BITS + (uint64_t)__builtin_ctzll(hits);
		from = end;
	}
	return to;
}

static void fill_bits(uint64_t *map, uint64_t from, uint64_t to, bool set)
{
	while (from < to) {
		uint64_t word_end = (from / PFA_WORD_BITS + 1) * PFA_WORD_BITS;
		uint64_t end = word_end < to ? word_end : to;
		uint64_t m = word_mask(from, end);

		if (set)
			map[from / PFA_WORD_BITS] |= m;
		else
			map[from / PFA_WORD_BITS] &= ~m;
		from = end;
	}
}

/* Non-empty and inside the pool, written so that no sum can overflow. */
static bool range_ok(const struct pfa *a, uint64_t pfn, uint64_t n)
{
	return n != 0 && pfn >= a->base_pfn && pfn - a->base_pfn <= a->npages &&
	       n <= a->npages - (pfn - a->base_pfn);
}

void pfa_init(struct pfa *a, uint64_t base_pfn, uint64_t npages, uint64_t *map)
{
	a->base_pfn = base_pfn;
	a->npages = npages;
	a->nfree = npages;
	a->map = map;
	for (uint64_t i = 0; i < PFA_MAP_WORDS(npages); i++)
		map[i] = 0;
}

int pfa_reserve(struct pfa *a, uint64_t pfn, uint64_t n)
{
	if (!range_ok(a, pfn, n))
		return -EINVAL;
	uint64_t from = pfn - a->base_pfn;

	if (find_bit(a->map, from, from + n, true) != from + n)
		return -EBUSY;
	fill_bits(a->map, from, from + n, true);
	a->nfree -= n;
	return 0;
}

int pfa_alloc(struct pfa *a, uint64_t n, uint64_t align, uint64_t *pfn)
{
	if (align == 0)
		align = 1;
	if (n == 0 || (align & (align - 1)) != 0)
		return -EINVAL;
	if (n > a->nfree)
		return -ENOMEM;

	/*
	 * cand is an absolute pfn, always a multiple of align. Each round either
	 * succeeds or moves cand past the first used frame that blocked it, to
	 * the next free frame rounded up to the alignment: every round makes
	 * progress, so the loop ends.
	 */
	uint64_t end = a->base_pfn + a->npages;
	uint64_t cand = (a->base_pfn + align - 1) & ~(align - 1);

	while (cand >= a->base_pfn && cand < end && n <= end - cand) {
		uint64_t from = cand - a->base_pfn;
		uint64_t used = find_bit(a->map, from, from + n, true);

		if (used == from + n) {
			fill_bits(a->map, from, from + n, true);
			a->nfree -= n;
			*pfn = cand;
			return 0;
		}
		uint64_t next_free = find_bit(a->map, used, a->npages, false);

		if (next_free == a->npages)
			break;
		uint64_t abs = a->base_pfn + next_free;

		if (abs > UINT64_MAX - (align - 1))
			break;
		cand = (abs + align - 1) & ~(align - 1);
	}
	return -ENOMEM;
}

int pfa_free(struct pfa *a, uint64_t pfn, uint64_t n)
{
	if (!range_ok(a, pfn, n))
		return -EINVAL;
	uint64_t from = pfn - a->base_pfn;

	if (find_bit(a->map, from, from + n, false) != from + n)
		return -EINVAL;
	fill_bits(a->map, from, from + n, false);
	a->nfree += n;
	return 0;
}

uint64_t pfa_free_count(const struct pfa *a)
{
	return a->nfree;
}

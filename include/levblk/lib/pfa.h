/*
 * Page frame allocator: a bitmap over a contiguous range of page frame
 * numbers (pfn = physical address / PFA_PAGE_SIZE), one bit per page, set =
 * in use. Pure logic, no locking and no memory of its own: the caller
 * provides the bitmap storage and serialises calls (src/hal/page.c takes a
 * spinlock around every call). Host-tested in test/mem.
 *
 * Allocation is first fit from the lowest frame, in runs of contiguous
 * frames whose first pfn is a multiple of the requested alignment (the
 * alignment is of the absolute pfn, so it is an alignment of the physical
 * address, not of the offset into the pool). Cost is linear in the pool
 * size, skipping fully used words 64 frames at a time: fine for
 * initialisation-time allocation, not meant for an I/O path.
 */
#ifndef LEVBLK_LIB_PFA_H
#define LEVBLK_LIB_PFA_H

#include <stdint.h>

#define PFA_PAGE_SHIFT 12
#define PFA_PAGE_SIZE  (1ull << PFA_PAGE_SHIFT)
#define PFA_WORD_BITS  64

/* Bitmap words needed for npages frames. */
#define PFA_MAP_WORDS(npages) (((npages) + PFA_WORD_BITS - 1) / PFA_WORD_BITS)

struct pfa {
	uint64_t base_pfn; /* first frame managed */
	uint64_t npages;   /* frames managed: [base_pfn, base_pfn + npages) */
	uint64_t nfree;	   /* frames whose bit is clear */
	uint64_t *map;	   /* PFA_MAP_WORDS(npages) words, bit i = frame base_pfn + i */
};

/* Manages [base_pfn, base_pfn + npages), all free. `map` must hold PFA_MAP_WORDS(npages) words. */
void pfa_init(struct pfa *a, uint64_t base_pfn, uint64_t npages, uint64_t *map);
/*
 * Marks [pfn, pfn + n) in use (a hole the pool must never hand out).
 * Returns 0, -EINVAL if the range is empty or leaves the pool, -EBUSY if a
 * frame in it is already in use (nothing is changed then).
 */
int pfa_reserve(struct pfa *a, uint64_t pfn, uint64_t n);
/*
 * Finds n contiguous free frames starting at a multiple of align (a power of
 * two, in frames; 0 counts as 1), marks them in use and stores the first pfn
 * in *pfn. Returns 0, -EINVAL (n == 0, align not a power of two) or -ENOMEM.
 */
int pfa_alloc(struct pfa *a, uint64_t n, uint64_t align, uint64_t *pfn);
/*
 * Returns [pfn, pfn + n) to the pool. Returns 0, or -EINVAL when the range
 * is empty, leaves the pool or contains a free frame (a double or wrong
 * free; nothing is changed then).
 */
int pfa_free(struct pfa *a, uint64_t pfn, uint64_t n);
/* Frames currently free. */
uint64_t pfa_free_count(const struct pfa *a);

#endif

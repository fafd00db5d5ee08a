/*
 * The page pool behind dma_alloc(): every RAM page from __kernel_end to the
 * end of RAM, managed by the pure bitmap allocator in src/lib/pfa.c. The
 * device tree blob at the start of RAM (up to 1 MiB) lies below the kernel
 * (src/hal/link.ld), so it is outside the pool by construction.
 *
 * Locking: page_lock protects `pool` and `pool_ready`. It is taken with IRQs
 * masked, from any context, and never held across anything but the bitmap
 * operation (zeroing happens after it is dropped, on pages the caller owns).
 * The pool sets itself up on first use, so it works before threads exist
 * and whatever order the initcalls run in (it needs dt_info() only).
 */
#include <stdbool.h>
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/spinlock.h>
#include <levblk/lib/pfa.h>
#include <levblk/lib/string.h>
#include "mem_private.h"

_Static_assert(HAL_PAGE_SIZE == PFA_PAGE_SIZE, "the pool hands out the pages levblk/hal/page.h names");

/* Pool size limit: the bitmap is static, one bit per page (128 KiB for 4 GiB). */
#define PAGE_POOL_MAX_BYTES (4ull << 30)
#define PAGE_POOL_MAX_PAGES (PAGE_POOL_MAX_BYTES >> PFA_PAGE_SHIFT)

static spinlock_t page_lock = SPINLOCK_INIT("page pool");
static struct pfa pool;
static bool pool_ready;
static uint64_t pool_map[PFA_MAP_WORDS(PAGE_POOL_MAX_PAGES)];

static void pool_setup_locked(void)
{
	const struct dt_info *dt = dt_info();
	uint64_t start =
	    ((uint64_t)(uintptr_t)__kernel_end + PFA_PAGE_SIZE - 1) & ~(PFA_PAGE_SIZE - 1);
	uint64_t end = (dt->mem_base + dt->mem_size) & ~(PFA_PAGE_SIZE - 1);
	uint64_t npages = end > start ? (end - start) >> PFA_PAGE_SHIFT : 0;

	if (npages > PAGE_POOL_MAX_PAGES) {
		kprintf("page: using %lu MiB of RAM above the kernel for DMA, not all of it\n",
			(unsigned long)(PAGE_POOL_MAX_BYTES >> 20));
		npages = PAGE_POOL_MAX_PAGES;
	}
	pfa_init(&pool, start >> PFA_PAGE_SHIFT, npages, pool_map);
	pool_ready = true;
}

int hal_page_alloc(uint64_t npages, uint64_t align_pages, uint64_t *pa)
{
	uint64_t pfn;
	irqflags_t f = spin_lock_irqsave(&page_lock);

	if (!pool_ready)
		pool_setup_locked();
	int err = pfa_alloc(&pool, npages, align_pages, &pfn);

	spin_unlock_irqrestore(&page_lock, f);
	if (err == 0)
		*pa = pfn << PFA_PAGE_SHIFT;
	return err;
}

void hal_page_free(uint64_t pa, uint64_t npages)
{
	irqflags_t f = spin_lock_irqsave(&page_lock);
	int err = pool_ready && (pa & (PFA_PAGE_SIZE - 1)) == 0
		      ? pfa_free(&pool, pa >> PFA_PAGE_SHIFT, npages)
		      : -EINVAL;

	spin_unlock_irqrestore(&page_lock, f);
	if (err)
		panic("page: freeing 0x%lx (+%lu pages), which is not an allocated range",
		      (unsigned long)pa, (unsigned long)npages);
}

void hal_page_stats(uint64_t *free_pages, uint64_t *total_pages)
{
	irqflags_t f = spin_lock_irqsave(&page_lock);

	if (!pool_ready)
		pool_setup_locked();
	*free_pages = pfa_free_count(&pool);
	*total_pages = pool.npages;
	spin_unlock_irqrestore(&page_lock, f);
}

void hal_page_range(uint64_t *start, uint64_t *end)
{
	irqflags_t f = spin_lock_irqsave(&page_lock);

	if (!pool_ready)
		pool_setup_locked();
	*start = pool.base_pfn << PFA_PAGE_SHIFT;
	*end = (pool.base_pfn + pool.npages) << PFA_PAGE_SHIFT;
	spin_unlock_irqrestore(&page_lock, f);
}

/*
 * Initialisation time only (levblk/hal/dma.h): the scan is linear in the pool
 * size and zeroing is proportional to `size`, neither belongs on the I/O path.
 */
int dma_alloc(size_t size, size_t align, struct dma_buf *out)
{
	uint64_t pa;

	if (size == 0 || (align & (align - 1)) != 0)
		return -EINVAL;
	if (align < PFA_PAGE_SIZE)
		align = PFA_PAGE_SIZE;
	uint64_t npages = (size + PFA_PAGE_SIZE - 1) >> PFA_PAGE_SHIFT;
	int err = hal_page_alloc(npages, align >> PFA_PAGE_SHIFT, &pa);

	if (err)
		return err;
	/* Identity map: the physical address is the kernel's pointer. */
	out->va = (void *)(uintptr_t)pa;
	out->bus = pa;
	out->size = npages << PFA_PAGE_SHIFT;
	memset(out->va, 0, out->size);
	return 0;
}

void dma_free(struct dma_buf *buf)
{
	uint64_t pa = (uint64_t)(uintptr_t)buf->va;

	if (buf->size == 0 || (buf->size & (PFA_PAGE_SIZE - 1)) != 0)
		panic("dma_free: buffer %p has size %lu, not whole pages", buf->va,
		      (unsigned long)buf->size);
	hal_page_free(pa, buf->size >> PFA_PAGE_SHIFT);
	buf->va = NULL;
	buf->bus = 0;
	buf->size = 0;
}

/*
 * The page pool: every RAM page from the end of the kernel image to the end
 * of RAM (src/hal/page.c), handed out in runs of contiguous 4 KiB pages.
 * dma_alloc() (levblk/hal/dma.h) and the kernel heap (levblk/kmalloc.h) draw
 * from it. These may be called from any context, interrupt handlers
 * included (a spinlock with IRQs masked guards the pool; they never sleep),
 * and before threads exist: the pool sets itself up on first use.
 *
 * Every page is RAM mapped at its physical address (identity map), normal
 * cacheable memory; on QEMU's virt machine DMA is cache-coherent and there
 * is no IOMMU, so any page of the pool may be handed to a device.
 * hal_page_alloc() does not zero; dma_alloc() does. The search is linear in
 * the pool's size (a bitmap, src/lib/pfa.c).
 */
#ifndef LEVBLK_HAL_PAGE_H
#define LEVBLK_HAL_PAGE_H

#include <stdint.h>

#define HAL_PAGE_SIZE 4096u

/*
 * npages contiguous pages whose physical address is a multiple of
 * align_pages pages (a power of two; 0 counts as 1). Stores their physical
 * address (= kernel virtual address) in *pa. 0, -EINVAL or -ENOMEM.
 */
int hal_page_alloc(uint64_t npages, uint64_t align_pages, uint64_t *pa);
/* Panics on a range that was not allocated (a broken kernel invariant). */
void hal_page_free(uint64_t pa, uint64_t npages);
/* Free and total pages of the pool (total is 0 before first use). */
void hal_page_stats(uint64_t *free_pages, uint64_t *total_pages);
/* The pool's physical range [start, end). */
void hal_page_range(uint64_t *start, uint64_t *end);

#endif

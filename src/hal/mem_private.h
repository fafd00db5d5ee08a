/*
 * Private to src/hal: the kernel image layout (from link.ld), the page pool
 * underneath dma_alloc(), and what the memory selftests inspect.
 */
#ifndef LEVBLK_HAL_MEM_PRIVATE_H
#define LEVBLK_HAL_MEM_PRIVATE_H

#include <stdint.h>

/* Linker symbols (src/hal/link.ld); only their addresses mean anything. */
extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];
extern char __boot_stack_top[];

/*
 * The page pool: every RAM page from __kernel_end to the end of RAM. These
 * may be called from any context (a spinlock with IRQs masked guards the
 * pool) and before threads exist; the pool sets itself up on first use.
 * hal_page_alloc() does not zero; dma_alloc() does.
 */
int hal_page_alloc(uint64_t npages, uint64_t align_pages, uint64_t *pa);
/* Panics on a range that was not allocated (a broken kernel invariant). */
void hal_page_free(uint64_t pa, uint64_t npages);
/* Free and total pages of the pool (total is 0 before first use). */
void hal_page_stats(uint64_t *free_pages, uint64_t *total_pages);
/* The pool's physical range [start, end). */
void hal_page_range(uint64_t *start, uint64_t *end);

#endif

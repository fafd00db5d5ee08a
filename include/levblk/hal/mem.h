/*
 * Memory set-up: the MMU identity map with caches, and the page pool that
 * dma_alloc() (levblk/hal/dma.h) draws from.
 *
 * hal_mem_init() runs as an INIT_LEVEL_EARLY initcall (src/hal/mmu.c). It
 * needs dt_info() (RAM size), so it must run after dt_init(). It is
 * idempotent: kmain may also call it directly right after dt_init() to turn
 * the caches on before any other initcall; the initcall then does nothing.
 */
#ifndef LEVBLK_HAL_MEM_H
#define LEVBLK_HAL_MEM_H

#include <stdbool.h>
#include <stdint.h>

/* Builds the page tables and turns on the MMU and caches. 0, or panics. */
int hal_mem_init(void);
/* True once hal_mem_init() has turned the MMU on. */
bool hal_mmu_enabled(void);
/* True if [base, base + size) lies in the device window the identity map always maps as device memory. */
bool hal_mmio_window_contains(uint64_t base, uint64_t size);

#endif

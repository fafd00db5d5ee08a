/*
 * Memory that a device reads or writes (DMA). RAM is identity-mapped and
 * QEMU's virt machine has no IOMMU, so the bus address of a kernel virtual
 * address is the address itself; hal_virt_to_bus() is still the only place
 * that says so.
 *
 * dma_alloc() returns whole pages, zeroed, physically contiguous, aligned to
 * at least `align` (a power of two, >= 4096). It may be called from threads
 * at initialisation time, never from the I/O path or interrupt context.
 */
#ifndef LEVBLK_HAL_DMA_H
#define LEVBLK_HAL_DMA_H

#include <stddef.h>
#include <stdint.h>

struct dma_buf {
	void *va;
	uint64_t bus;
	size_t size; /* bytes, a multiple of the page size */
};

int dma_alloc(size_t size, size_t align, struct dma_buf *out); /* 0 or -ENOMEM / -EINVAL */
void dma_free(struct dma_buf *buf);

/* Identity map and no IOMMU (above). Inline: it runs for every segment of every request. */
static inline uint64_t hal_virt_to_bus(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

#endif

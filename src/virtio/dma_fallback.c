/*
 * TEMPORARY: weak stand-ins for <levblk/hal/dma.h> so that the kernel links
 * on the virtio branch before the memory helper's dma.c is merged. The real
 * (strong) definitions override these at link time; once they are in main
 * this file should be deleted. A bump allocator over a static pool: nothing
 * is ever freed, which is enough for queue setup at boot.
 */
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/hal/dma.h>
#include <levblk/lib/string.h>

#define DMA_FALLBACK_POOL (4U << 20)
#define DMA_FALLBACK_PAGE 4096U

static uint8_t dma_fallback_pool[DMA_FALLBACK_POOL] __attribute__((aligned(DMA_FALLBACK_PAGE)));
static size_t dma_fallback_used;

__attribute__((weak)) int dma_alloc(size_t size, size_t align, struct dma_buf *out)
{
	size_t start;

	if (align < DMA_FALLBACK_PAGE)
		align = DMA_FALLBACK_PAGE;
	if ((align & (align - 1)) || size == 0)
		return -EINVAL;
	size = (size + DMA_FALLBACK_PAGE - 1) & ~(size_t)(DMA_FALLBACK_PAGE - 1);
	start = (dma_fallback_used + align - 1) & ~(align - 1);
	if (start > DMA_FALLBACK_POOL || size > DMA_FALLBACK_POOL - start)
		return -ENOMEM;
	dma_fallback_used = start + size;
	out->va = &dma_fallback_pool[start];
	out->bus = (uint64_t)(uintptr_t)out->va;
	out->size = size;
	memset(out->va, 0, size);
	return 0;
}

__attribute__((weak)) void dma_free(struct dma_buf *buf)
{
	buf->va = NULL;
	buf->size = 0;
}

__attribute__((weak)) uint64_t hal_virt_to_bus(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

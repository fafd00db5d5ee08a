/*
 * The kernel heap: kmalloc/kfree for any size, and object caches for
 * fixed-size objects a filesystem allocates by the thousand (bios, buffer
 * heads, inodes).
 *
 * Context: every function here may be called from a thread or an interrupt
 * handler (end_io included), with or without IRQs masked or a spinlock
 * held. None sleeps: the heap is guarded by a spinlock taken with IRQs
 * masked, and its pages come from the page pool (levblk/hal/page.h), which
 * never sleeps either. Out of memory is a NULL return, never a panic or a
 * wait: the caller decides.
 *
 * Memory a device may see: kmalloc and cache objects may be a bio's
 * buffers (handed to the device by DMA), because the heap's pages come from
 * the same identity-mapped, cacheable page pool as dma_alloc() and DMA on
 * QEMU's virt machine is cache-coherent without an IOMMU (levblk/hal/dma.h).
 * Bios take any alignment; an object of more than 2048 bytes is made of
 * whole pages and page-aligned, so a kmalloc(4096) buffer holds one 4 KiB
 * logical block in one page. Smaller objects are aligned to KMALLOC_MIN_ALIGN. As
 * for any bio buffer, do not free it before the bio's end_io has run.
 *
 * Sizes: powers of two from 16 to 2048 bytes come from slabs (one size
 * class each); larger requests take whole pages. kmalloc(0) returns a
 * 16-byte object (never NULL for lack of size); more than KMALLOC_MAX bytes
 * returns NULL.
 *
 * Debug checks (the setting kmem.debug=N on the command line, or
 * kmem_set_debug() at run time; they apply to slabs and large objects made
 * from then on): KMEM_DEBUG_POISON fills freed objects and checks them at
 * the next allocation (a write after free); KMEM_DEBUG_REDZONE puts a red
 * zone after each object, checked on free (a write past its end, counted
 * from the size asked for). Always checked: double free, a pointer the heap
 * did not hand out or one inside an object, an object freed to another
 * cache than its own (or a cache object given to kfree).
 * A fault is a kernel bug: it panics with "kmem: <what> ..." naming the
 * object and the cache, unless a test installed a hook (src/kern/kern_test_hooks.h);
 * the faulty free then frees nothing.
 */
#ifndef LEVBLK_KMALLOC_H
#define LEVBLK_KMALLOC_H

#include <stddef.h>
#include <stdint.h>

#define KMALLOC_MIN_ALIGN 16u	     /* every object's address is a multiple of this */
#define KMALLOC_MAX	  (1u << 30) /* bytes: larger requests return NULL */

#define KMEM_DEBUG_POISON  (1u << 0)
#define KMEM_DEBUG_REDZONE (1u << 1)
#define KMEM_DEBUG_ALL	   (KMEM_DEBUG_POISON | KMEM_DEBUG_REDZONE)

/* size bytes, uninitialised, or NULL. Any context. */
void *kmalloc(size_t size);
/* size bytes, zeroed, or NULL. Any context. */
void *kzalloc(size_t size);
/* Frees what kmalloc/kzalloc returned; NULL is ignored. Any context. */
void kfree(void *p);
/* Bytes usable in a kmalloc object (at least what was asked for); 0 if p is not one. */
size_t ksize(const void *p);

/*
 * Object caches. kmem_cache_create: objects of `size` bytes aligned to
 * `align` (0 for KMALLOC_MIN_ALIGN, or a power of two up to 4096); the name
 * (copied) shows in the counters. NULL on bad arguments or out of memory.
 * Objects above 2048 bytes, or aligned to 4096, take whole pages each.
 * kmem_cache_destroy: only once every object is freed (otherwise a fault).
 */
struct kmem_cache;
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align);
void *kmem_cache_alloc(struct kmem_cache *c);
void *kmem_cache_zalloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *p);
void kmem_cache_destroy(struct kmem_cache *c);

/* Counters of one cache or kmalloc size class, since boot (or since created). */
struct kmem_stats {
	const char *name;  /* "kmalloc-64", "kmalloc-large", or the cache's name */
	uint64_t obj_size; /* bytes per object (0 for kmalloc-large: it varies) */
	uint64_t inuse;	   /* objects allocated now */
	uint64_t pages;	   /* 4 KiB pages held now */
	uint64_t allocs;   /* successful allocations */
	uint64_t frees;	   /* frees */
	uint64_t fails;	   /* allocations that returned NULL */
	uint64_t faults;   /* faults found in its objects (double free, red zone, ...) */
};
void kmem_cache_get_stats(struct kmem_cache *c, struct kmem_stats *out);
/*
 * Calls fn for each size class and cache in turn (a snapshot of each taken
 * under the heap's lock; fn runs without it and may allocate). Thread context.
 */
void kmem_for_each_stats(void (*fn)(const struct kmem_stats *st, void *arg), void *arg);
/* Prints one "KMEM name=... inuse=... pages=... allocs=... frees=... fails=..." line per cache in use. */
void kmem_print_stats(void);

/* KMEM_DEBUG_* for what is allocated from now on; returns the previous setting. */
unsigned int kmem_set_debug(unsigned int flags);

#endif

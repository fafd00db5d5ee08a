/*
 * The heap's logic: size-class slabs and object caches over a page provider.
 * Pure logic with no locking and no memory of its own but what the provider
 * gives: the caller serialises every call on one heap (src/kern/kmalloc.c
 * takes a spinlock with IRQs masked; the host tests call it from one
 * thread). Users call kmalloc()/kmem_cache_*() (levblk/kmalloc.h), not this.
 *
 * Shape. A slab is SLAB_BYTES of contiguous pages aligned to SLAB_BYTES:
 * a header (struct slab, private to slab.c) at its start, then equal slots.
 * An object's slab is found by rounding its address down to SLAB_BYTES, and
 * a bitmap in the header says which slots are allocated, so a free of a
 * pointer that is not at a slot start, or of a slot that is free, is
 * recognised whatever the debug setting. Objects larger than SLAB_MAX_OBJ
 * (or aligned to a page) take whole pages each, with a record of their own.
 * Every slab and large object is entered in a hash table by address, and a
 * pointer is only trusted once it is found there: a wild pointer is reported,
 * never dereferenced.
 *
 * kmalloc sizes: powers of two from SLAB_MIN_OBJ to SLAB_MAX_OBJ (one cache
 * each), then whole pages. Objects are aligned to SLAB_MIN_ALIGN at least;
 * large ones to a page.
 *
 * Debug checks (slab_heap_set_debug; a slab keeps the layout it was made
 * with and its objects are checked by it, but allocations after a change
 * only come from slabs laid out for the new setting; large objects follow
 * the setting at their allocation):
 *   SLAB_DEBUG_POISON   free slots are filled with SLAB_POISON_FREE; an
 *                       allocation checks the whole slot still holds it
 *                       (a write after free is reported as SLAB_FAULT_POISON).
 *                       Large objects return to the page provider at once:
 *                       not poisoned.
 *   SLAB_DEBUG_REDZONE  each slot gets SLAB_REDZONE_BYTES after the object,
 *                       and the bytes between the size asked for and the
 *                       slot's end are filled with SLAB_POISON_REDZONE;
 *                       checked on free (SLAB_FAULT_REDZONE). Large objects
 *                       get the same after the size asked for.
 * Always on: double free, a pointer the heap did not hand out, a pointer
 * inside an object, an object freed to the wrong cache (or a cache object
 * given to kfree, or a kmalloc one to a cache).
 *
 * Faults are reported through the report hook (slab_heap_set_report) with
 * the heap's lock held; the faulty operation is then abandoned: a bad free
 * frees nothing (the object leaks), a poisoned slot is handed out anyway.
 */
#ifndef LEVBLK_LIB_SLAB_H
#define LEVBLK_LIB_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLAB_PAGE_SIZE	   4096u
#define SLAB_BYTES	   (16u * 1024u) /* one slab: 4 pages, aligned to its size */
#define SLAB_MIN_OBJ	   16u		 /* smallest kmalloc class */
#define SLAB_MIN_ALIGN	   16u		 /* every object is aligned to this at least */
#define SLAB_MAX_OBJ	   2048u	 /* largest slab object; beyond: whole pages */
#define SLAB_NCLASSES	   8u		 /* kmalloc classes 16, 32, ..., 2048 */
#define SLAB_LARGE_MAX	   (1u << 30)	 /* bytes: a larger request fails */
#define SLAB_REDZONE_BYTES 16u		 /* debug trailer after each slot's object */
#define SLAB_NAME_MAX	   24u
#define SLAB_HASH_BUCKETS  512u
#define SLAB_POISON_FREE    0x6bu /* a free slot's bytes (debug) */
#define SLAB_POISON_REDZONE 0xbbu /* bytes after the size asked for (debug) */

/* slab_heap_set_debug() flags */
#define SLAB_DEBUG_POISON  (1u << 0)
#define SLAB_DEBUG_REDZONE (1u << 1)
#define SLAB_DEBUG_ALL	   (SLAB_DEBUG_POISON | SLAB_DEBUG_REDZONE)

/*
 * Where pages come from. alloc returns npages contiguous pages aligned to
 * align_pages pages (a power of two), or NULL; it must not sleep (the heap
 * is used from interrupt context). free takes back what alloc gave.
 */
struct slab_page_ops {
	void *(*alloc)(void *ctx, size_t npages, size_t align_pages);
	void (*free)(void *ctx, void *pages, size_t npages);
	void *ctx;
};

enum slab_fault {
	SLAB_FAULT_DOUBLE_FREE,	 /* the slot is already free */
	SLAB_FAULT_BAD_POINTER,	 /* not an object the heap handed out (or a large one freed twice) */
	SLAB_FAULT_INSIDE,	 /* points inside an object, not at its start */
	SLAB_FAULT_WRONG_CACHE,	 /* freed to another cache than it came from */
	SLAB_FAULT_REDZONE,	 /* bytes past the object were written (overflow) */
	SLAB_FAULT_POISON,	 /* a free slot was written (use after free) */
	SLAB_FAULT_CACHE_BUSY,	 /* a cache destroyed with objects still allocated */
	SLAB_FAULT_COUNT
};

/* A short sentence naming the fault, for reports. */
const char *slab_fault_name(enum slab_fault fault);

/* Called on a fault: ptr is the object given, cache the name of the cache involved. */
typedef void slab_report_fn(void *ctx, enum slab_fault fault, const void *ptr, const char *cache);

/* Counters of one cache (or kmalloc class). */
struct slab_stats {
	uint64_t inuse;	 /* objects allocated now */
	uint64_t pages;	 /* pages held now (slabs, or large objects) */
	uint64_t allocs; /* successful allocations since creation */
	uint64_t frees;	 /* successful frees */
	uint64_t fails;	 /* allocations that returned NULL */
	uint64_t faults; /* faults reported about this cache's objects */
};

struct slab;
struct slab_heap;

struct slab_cache {
	/* Private to slab.c. */
	char name[SLAB_NAME_MAX];
	uint32_t size;	/* bytes asked for at creation (0 for large kmalloc: varies) */
	uint32_t obj;	/* object bytes: the size rounded up to align */
	uint32_t align; /* power of two, >= SLAB_MIN_ALIGN */
	bool large;	/* objects of whole pages each */
	bool kmalloc;	/* a kmalloc class (kfree takes its objects) */
	/* Slabs with free slots, by the debug layout they were made with; slabs without. */
	struct slab *partial[SLAB_DEBUG_ALL + 1], *full;
	struct slab *spare;	     /* one empty slab kept to avoid page churn */
	struct slab_stats st;
	struct slab_heap *heap;
	struct slab_cache *next; /* the heap's list of caches */
};

/* A hash-table entry: a slab's header or a large object's record. */
struct slab_block {
	uintptr_t addr; /* first byte of the slab / large object */
	struct slab_block *hnext;
	struct slab_cache *cache;
	uint32_t npages; /* pages at addr */
	bool is_slab;
};

struct slab_heap {
	/* Private to slab.c. */
	struct slab_page_ops ops;
	unsigned int debug; /* SLAB_DEBUG_* for slabs and large objects made from now on */
	slab_report_fn *report;
	void *report_ctx;
	struct slab_cache classes[SLAB_NCLASSES];
	struct slab_cache large_kmalloc; /* kmalloc beyond SLAB_MAX_OBJ (counters only) */
	struct slab_cache cache_cache;	 /* storage of slab_cache_create()'s caches */
	struct slab_cache record_cache;	 /* records of large objects */
	struct slab_cache *caches;	 /* every cache, for slab_for_each_cache */
	struct slab_block *hash[SLAB_HASH_BUCKETS];
};

/* Sets up an empty heap over ops (copied). Allocates nothing. */
void slab_heap_init(struct slab_heap *h, const struct slab_page_ops *ops);
void slab_heap_set_debug(struct slab_heap *h, unsigned int flags);
unsigned int slab_heap_debug(const struct slab_heap *h);
/* Sets the fault hook (NULL: faults are only counted). */
void slab_heap_set_report(struct slab_heap *h, slab_report_fn *fn, void *ctx);

/* size bytes (0 counts as 1), or NULL when out of pages or size > SLAB_LARGE_MAX. */
void *slab_kmalloc(struct slab_heap *h, size_t size);
/* NULL is ignored. Faults are reported (see above). */
void slab_kfree(struct slab_heap *h, void *p);
/* Usable bytes of a kmalloc object (its class's size or its pages), 0 if p is not one. */
size_t slab_ksize(struct slab_heap *h, const void *p);

/*
 * A cache of objects of `size` bytes aligned to `align` (0, or a power of
 * two up to SLAB_PAGE_SIZE). NULL on a bad size or alignment or when out of
 * memory. The name is copied (truncated to SLAB_NAME_MAX - 1).
 */
struct slab_cache *slab_cache_create(struct slab_heap *h, const char *name, size_t size,
				     size_t align);
void *slab_cache_alloc(struct slab_cache *c);
void slab_cache_free(struct slab_cache *c, void *p);
/* Returns the cache's pages. With objects still allocated: SLAB_FAULT_CACHE_BUSY, nothing freed. */
void slab_cache_destroy(struct slab_cache *c);
const char *slab_cache_name(const struct slab_cache *c);
/* Object bytes (the size rounded up to the alignment). */
size_t slab_cache_obj_size(const struct slab_cache *c);
/* Bytes asked for at creation: what a caller may use of each object. */
size_t slab_cache_size(const struct slab_cache *c);
void slab_cache_stats(const struct slab_cache *c, struct slab_stats *out);
/* Calls fn for every cache: kmalloc classes, the large kmalloc counters, then created caches. */
void slab_for_each_cache(struct slab_heap *h,
			 void (*fn)(const struct slab_cache *c, void *arg), void *arg);

#endif

/*
 * The kernel heap (levblk/kmalloc.h): the slab logic of src/lib/slab.c over
 * the page pool (levblk/hal/page.h), behind one spinlock.
 *
 * Locking: kmem_lock guards `heap` (every slab, cache and counter) and
 * `fault_hook`. It is taken with IRQs masked, from any context, and held
 * only across one slab_* call; the page pool's own lock nests inside it
 * (the slab logic calls the page provider). Nothing under it sleeps. The
 * heap sets itself up on first use, like the page pool, so it works from
 * any initcall level.
 */
#include <stdbool.h>
#include <levblk/console.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/page.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/slab.h>
#include <levblk/lib/string.h>
#include "kern_test_hooks.h"

_Static_assert(SLAB_PAGE_SIZE == HAL_PAGE_SIZE, "slabs are made of pool pages");
_Static_assert(KMALLOC_MIN_ALIGN == SLAB_MIN_ALIGN, "the header states the slab alignment");
_Static_assert(KMALLOC_MAX == SLAB_LARGE_MAX, "the header states the largest request");
_Static_assert(KMEM_DEBUG_POISON == SLAB_DEBUG_POISON && KMEM_DEBUG_REDZONE == SLAB_DEBUG_REDZONE,
	       "debug flags are the slab's");

static uint64_t kmem_debug_param;
PARAM_U64("kmem.debug", kmem_debug_param, 0, KMEM_DEBUG_ALL,
	  "heap debug checks: 1 poison freed objects, 2 red zones, 3 both");

static spinlock_t kmem_lock = SPINLOCK_INIT("kmem");
static struct slab_heap heap;
static bool heap_ready;
static kmem_fault_hook_fn *fault_hook;

static void *kmem_pages_alloc(void *ctx, size_t npages, size_t align_pages)
{
	uint64_t pa;

	(void)ctx;
	if (hal_page_alloc(npages, align_pages, &pa) != 0)
		return NULL;
	return (void *)(uintptr_t)pa; /* identity map */
}

static void kmem_pages_free(void *ctx, void *pages, size_t npages)
{
	(void)ctx;
	hal_page_free((uint64_t)(uintptr_t)pages, npages);
}

/* kmem_lock held. */
static void kmem_fault(void *ctx, enum slab_fault fault, const void *ptr, const char *cache)
{
	(void)ctx;
	if (fault_hook) {
		fault_hook(slab_fault_name(fault), ptr, cache);
		return;
	}
	panic("kmem: %s: object %p, cache %s", slab_fault_name(fault), ptr, cache);
}

static irqflags_t kmem_lock_heap(void)
{
	irqflags_t f = spin_lock_irqsave(&kmem_lock);

	if (!heap_ready) {
		static const struct slab_page_ops ops = {.alloc = kmem_pages_alloc,
							 .free = kmem_pages_free};
		slab_heap_init(&heap, &ops);
		slab_heap_set_debug(&heap, (unsigned int)kmem_debug_param);
		slab_heap_set_report(&heap, kmem_fault, NULL);
		heap_ready = true;
	}
	return f;
}

void *kmalloc(size_t size)
{
	irqflags_t f = kmem_lock_heap();
	void *p = slab_kmalloc(&heap, size);

	spin_unlock_irqrestore(&kmem_lock, f);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	if (!p)
		return;
	irqflags_t f = kmem_lock_heap();
	slab_kfree(&heap, p);
	spin_unlock_irqrestore(&kmem_lock, f);
}

size_t ksize(const void *p)
{
	irqflags_t f = kmem_lock_heap();
	size_t n = slab_ksize(&heap, p);

	spin_unlock_irqrestore(&kmem_lock, f);
	return n;
}

/* A struct kmem_cache pointer is the slab cache itself; the type stays opaque to users. */
static struct slab_cache *sc(struct kmem_cache *c)
{
	return (struct slab_cache *)(void *)c;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align)
{
	irqflags_t f = kmem_lock_heap();
	struct slab_cache *c = slab_cache_create(&heap, name, size, align);

	spin_unlock_irqrestore(&kmem_lock, f);
	return (struct kmem_cache *)(void *)c;
}

void *kmem_cache_alloc(struct kmem_cache *c)
{
	irqflags_t f = kmem_lock_heap();
	void *p = slab_cache_alloc(sc(c));

	spin_unlock_irqrestore(&kmem_lock, f);
	return p;
}

void *kmem_cache_zalloc(struct kmem_cache *c)
{
	void *p = kmem_cache_alloc(c);

	/* The size asked for, not the rounded object: the rest may be a red zone. */
	if (p)
		memset(p, 0, slab_cache_size(sc(c)));
	return p;
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	if (!p)
		return;
	irqflags_t f = kmem_lock_heap();
	slab_cache_free(sc(c), p);
	spin_unlock_irqrestore(&kmem_lock, f);
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	if (!c)
		return;
	irqflags_t f = kmem_lock_heap();
	slab_cache_destroy(sc(c));
	spin_unlock_irqrestore(&kmem_lock, f);
}

static void stats_from(const struct slab_cache *c, struct kmem_stats *out)
{
	struct slab_stats st;

	slab_cache_stats(c, &st);
	*out = (struct kmem_stats){.name = slab_cache_name(c),
				   .obj_size = c->large && c->kmalloc ? 0 : slab_cache_obj_size(c),
				   .inuse = st.inuse,
				   .pages = st.pages,
				   .allocs = st.allocs,
				   .frees = st.frees,
				   .fails = st.fails,
				   .faults = st.faults};
}

void kmem_cache_get_stats(struct kmem_cache *c, struct kmem_stats *out)
{
	irqflags_t f = kmem_lock_heap();
	stats_from(sc(c), out);
	spin_unlock_irqrestore(&kmem_lock, f);
}

struct stats_walk {
	unsigned int index, seen;
	struct kmem_stats st;
};

static void stats_pick(const struct slab_cache *c, void *arg)
{
	struct stats_walk *w = arg;

	if (w->seen++ == w->index)
		stats_from(c, &w->st);
}

void kmem_for_each_stats(void (*fn)(const struct kmem_stats *st, void *arg), void *arg)
{
	/*
	 * One cache per lock hold, by position: fn runs unlocked (it may print
	 * or allocate). A cache created or destroyed meanwhile may shift the
	 * positions; these are counters for reports, not an inventory.
	 */
	for (unsigned int i = 0;; i++) {
		struct stats_walk w = {.index = i};
		irqflags_t f = kmem_lock_heap();

		slab_for_each_cache(&heap, stats_pick, &w);
		spin_unlock_irqrestore(&kmem_lock, f);
		if (w.seen <= i)
			return;
		fn(&w.st, arg);
	}
}

static void stats_print(const struct kmem_stats *st, void *arg)
{
	(void)arg;
	if (st->allocs == 0 && st->fails == 0 && st->faults == 0)
		return;
	kprintf("KMEM name=%s obj=%lu inuse=%lu pages=%lu allocs=%lu frees=%lu fails=%lu "
		"faults=%lu\n",
		st->name, (unsigned long)st->obj_size, (unsigned long)st->inuse,
		(unsigned long)st->pages, (unsigned long)st->allocs, (unsigned long)st->frees,
		(unsigned long)st->fails, (unsigned long)st->faults);
}

void kmem_print_stats(void)
{
	kmem_for_each_stats(stats_print, NULL);
}

unsigned int kmem_set_debug(unsigned int flags)
{
	irqflags_t f = kmem_lock_heap();
	unsigned int old = slab_heap_debug(&heap);

	slab_heap_set_debug(&heap, flags & KMEM_DEBUG_ALL);
	spin_unlock_irqrestore(&kmem_lock, f);
	return old;
}

kmem_fault_hook_fn *kmem_set_fault_hook(kmem_fault_hook_fn *hook)
{
	irqflags_t f = kmem_lock_heap();
	kmem_fault_hook_fn *old = fault_hook;

	fault_hook = hook;
	spin_unlock_irqrestore(&kmem_lock, f);
	return old;
}

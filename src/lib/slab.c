/*
 * Size-class slabs and object caches: see include/levblk/lib/slab.h for the
 * shape and the contract. Read before changing:
 *   - A slab is trusted only after hash_find() found its address; a large
 *     object likewise. Nothing reads memory at a pointer the caller gave
 *     before that lookup succeeded.
 *   - Slab invariants: bit i of used[] is set iff slot i is allocated;
 *     inuse == popcount(used); a slab with 0 < inuse < nobj is on
 *     partial[its debug layout], with inuse == nobj on `full`, with
 *     inuse == 0 it is the cache's spare (at most one) or back with the
 *     page provider.
 *   - A slab's layout (stride, red zone trailer, poison) is fixed at its
 *     creation from the heap's debug flags then, and recorded in its header.
 *   - Counters: st.inuse is the sum of the slabs' inuse (or the count of
 *     large objects); st.pages the pages held, spare slab included.
 */
#include <levblk/lib/slab.h>
#include <levblk/lib/string.h>

#define SLAB_PAGES     (SLAB_BYTES / SLAB_PAGE_SIZE)
#define SLAB_MAX_SLOTS (SLAB_BYTES / SLAB_MIN_OBJ)
#define SLAB_MAP_WORDS ((SLAB_MAX_SLOTS + 63u) / 64u)
#define SLAB_HASH_SHIFT 9u /* log2(SLAB_HASH_BUCKETS) */
#define SLAB_HASH_MUL	0x9E3779B97F4A7C15ull /* Fibonacci hashing: 2^64 / golden ratio */

_Static_assert((1u << SLAB_HASH_SHIFT) == SLAB_HASH_BUCKETS, "hash shift matches buckets");
_Static_assert((SLAB_MIN_OBJ << (SLAB_NCLASSES - 1)) == SLAB_MAX_OBJ, "classes span 16..2048");
_Static_assert(SLAB_BYTES % SLAB_PAGE_SIZE == 0, "a slab is whole pages");

enum slab_list { ON_PARTIAL, ON_FULL, ON_SPARE };

/* At the start of every slab. */
struct slab {
	struct slab_block blk; /* addr = this header, is_slab = true */
	struct slab *next, *prev;
	uint32_t first;	 /* offset of slot 0 from the slab's start */
	uint32_t stride; /* bytes from one slot to the next */
	uint32_t nobj;	 /* slots */
	uint32_t inuse;	 /* slots allocated */
	uint8_t debug;	 /* SLAB_DEBUG_* this slab was laid out with */
	uint8_t list;	 /* enum slab_list */
	uint64_t used[SLAB_MAP_WORDS];
};

/*
 * After the object in every slot of a SLAB_DEBUG_REDZONE slab: a red zone
 * and the size asked for, so the bytes between it and the object's end are
 * checked too.
 */
struct slab_trailer {
	uint8_t rz[8];
	uint32_t req;
	uint32_t pad;
};
_Static_assert(sizeof(struct slab_trailer) == SLAB_REDZONE_BYTES, "trailer fills the red zone");

/* A large object's record (from record_cache). */
struct slab_large {
	struct slab_block blk; /* is_slab = false */
	uint32_t req;	       /* bytes asked for */
	uint8_t debug;	       /* SLAB_DEBUG_* at allocation */
};

static const char *const class_names[SLAB_NCLASSES] = {
	"kmalloc-16",  "kmalloc-32",  "kmalloc-64",   "kmalloc-128",
	"kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
};

static const char *const fault_names[SLAB_FAULT_COUNT] = {
	[SLAB_FAULT_DOUBLE_FREE] = "double free",
	[SLAB_FAULT_BAD_POINTER] = "free of a pointer the heap did not hand out",
	[SLAB_FAULT_INSIDE] = "free of a pointer inside an object",
	[SLAB_FAULT_WRONG_CACHE] = "object freed to the wrong cache",
	[SLAB_FAULT_REDZONE] = "red zone overwritten (write past the object's end)",
	[SLAB_FAULT_POISON] = "free object written (use after free)",
	[SLAB_FAULT_CACHE_BUSY] = "cache destroyed with objects allocated",
};

static void cache_setup(struct slab_heap *h, struct slab_cache *c, const char *name, size_t size,
			size_t align, bool kmalloc);
static void *cache_alloc(struct slab_cache *c, size_t req);
static void obj_free(struct slab_heap *h, struct slab_cache *want, void *p);

const char *slab_fault_name(enum slab_fault fault)
{
	return (unsigned int)fault < SLAB_FAULT_COUNT ? fault_names[fault] : "unknown fault";
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* --- hash of slabs and large objects by address ------------------------------ */

static struct slab_block **hash_bucket(struct slab_heap *h, uintptr_t addr)
{
	uint64_t key = (uint64_t)addr / SLAB_PAGE_SIZE;

	return &h->hash[(key * SLAB_HASH_MUL) >> (64u - SLAB_HASH_SHIFT)];
}

static void hash_insert(struct slab_heap *h, struct slab_block *b)
{
	struct slab_block **head = hash_bucket(h, b->addr);

	b->hnext = *head;
	*head = b;
}

static void hash_remove(struct slab_heap *h, struct slab_block *b)
{
	for (struct slab_block **pp = hash_bucket(h, b->addr); *pp; pp = &(*pp)->hnext) {
		if (*pp == b) {
			*pp = b->hnext;
			return;
		}
	}
}

static struct slab_block *hash_find(struct slab_heap *h, uintptr_t addr)
{
	for (struct slab_block *b = *hash_bucket(h, addr); b; b = b->hnext)
		if (b->addr == addr)
			return b;
	return NULL;
}

/* --- reports and debug patterns ---------------------------------------------- */

static void report(struct slab_heap *h, enum slab_fault f, const void *p, struct slab_cache *c)
{
	if (c)
		c->st.faults++;
	if (h->report)
		h->report(h->report_ctx, f, p, c ? c->name : "(none)");
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* --- slab lists -------------------------------------------------------------- */

static void list_add(struct slab **head, struct slab *s, enum slab_list which)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	s->list = (uint8_t)which;
}

static void list_del(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

/* --- slabs ------------------------------------------------------------------- */

static struct slab *slab_new(struct slab_cache *c)
{
	struct slab_heap *h = c->heap;
	struct slab *s = h->ops.alloc(h->ops.ctx, SLAB_PAGES, SLAB_PAGES);

	if (!s)
		return NULL;
	*s = (struct slab){0};
	s->blk.addr = (uintptr_t)s;
	s->blk.cache = c;
	s->blk.npages = SLAB_PAGES;
	s->blk.is_slab = true;
	s->debug = (uint8_t)h->debug;
	s->first = (uint32_t)round_up(sizeof(*s), c->align);
	s->stride = (uint32_t)round_up(
	    c->obj + ((s->debug & SLAB_DEBUG_REDZONE) ? SLAB_REDZONE_BYTES : 0u), c->align);
	s->nobj = (SLAB_BYTES - s->first) / s->stride;
	if (s->nobj > SLAB_MAX_SLOTS)
		s->nobj = SLAB_MAX_SLOTS;
	if (s->debug & SLAB_DEBUG_POISON)
		memset((uint8_t *)s + s->first, SLAB_POISON_FREE, (size_t)s->nobj * s->stride);
	hash_insert(h, &s->blk);
	c->st.pages += SLAB_PAGES;
	return s;
}

static void slab_release(struct slab_cache *c, struct slab *s)
{
	struct slab_heap *h = c->heap;

	hash_remove(h, &s->blk);
	c->st.pages -= SLAB_PAGES;
	h->ops.free(h->ops.ctx, s, SLAB_PAGES);
}

static uint8_t *slot_addr(struct slab *s, uint32_t i)
{
	return (uint8_t *)s + s->first + (size_t)i * s->stride;
}

static void redzone_fill(uint8_t *obj, size_t obj_bytes, size_t req)
{
	struct slab_trailer *t = (struct slab_trailer *)(obj + obj_bytes);

	memset(obj + req, SLAB_POISON_REDZONE, obj_bytes - req);
	memset(t->rz, SLAB_POISON_REDZONE, sizeof(t->rz));
	t->req = (uint32_t)req;
}

static bool redzone_ok(const uint8_t *obj, size_t obj_bytes)
{
	const struct slab_trailer *t = (const struct slab_trailer *)(obj + obj_bytes);

	return t->req <= obj_bytes && all_bytes(t->rz, sizeof(t->rz), SLAB_POISON_REDZONE) &&
	       all_bytes(obj + t->req, obj_bytes - t->req, SLAB_POISON_REDZONE);
}

/* Takes the lowest free slot of a slab with one. */
static void *slab_take(struct slab_cache *c, struct slab *s, size_t req)
{
	uint32_t i = 0;

	for (uint32_t w = 0; w < SLAB_MAP_WORDS; w++) {
		if (s->used[w] != ~0ull) {
			i = w * 64u + (uint32_t)__builtin_ctzll(~s->used[w]);
			break;
		}
	}
	s->used[i / 64u] |= 1ull << (i % 64u);
	s->inuse++;
	uint8_t *p = slot_addr(s, i);

	if ((s->debug & SLAB_DEBUG_POISON) && !all_bytes(p, c->obj, SLAB_POISON_FREE))
		report(c->heap, SLAB_FAULT_POISON, p, c);
	if (s->debug & SLAB_DEBUG_REDZONE)
		redzone_fill(p, c->obj, req);
	return p;
}

static void *slab_alloc_obj(struct slab_cache *c, size_t req)
{
	unsigned int mode = c->heap->debug;
	struct slab *s = c->partial[mode];

	if (!s) {
		s = c->spare;
		c->spare = NULL;
		if (s && s->debug != mode) {
			slab_release(c, s); /* laid out for another debug setting */
			s = NULL;
		}
		if (!s)
			s = slab_new(c);
		if (!s)
			return NULL;
		list_add(&c->partial[mode], s, ON_PARTIAL);
	}
	void *p = slab_take(c, s, req);

	if (s->inuse == s->nobj) {
		list_del(&c->partial[mode], s);
		list_add(&c->full, s, ON_FULL);
	}
	return p;
}

/* True if the slot was freed; false after reporting a fault. */
static bool slab_free_obj(struct slab_cache *c, struct slab *s, void *p)
{
	uintptr_t start = (uintptr_t)s + s->first;
	uintptr_t a = (uintptr_t)p;

	if (a < start || (a - start) % s->stride != 0 || (a - start) / s->stride >= s->nobj) {
		report(c->heap, SLAB_FAULT_INSIDE, p, c);
		return false;
	}
	uint32_t i = (uint32_t)((a - start) / s->stride);
	uint64_t bit = 1ull << (i % 64u);

	if (!(s->used[i / 64u] & bit)) {
		report(c->heap, SLAB_FAULT_DOUBLE_FREE, p, c);
		return false;
	}
	if ((s->debug & SLAB_DEBUG_REDZONE) && !redzone_ok(p, c->obj)) {
		report(c->heap, SLAB_FAULT_REDZONE, p, c);
		return false;
	}
	s->used[i / 64u] &= ~bit;
	if (s->debug & SLAB_DEBUG_POISON)
		memset(p, SLAB_POISON_FREE, c->obj);
	if (s->inuse-- == s->nobj) {
		list_del(&c->full, s);
		list_add(&c->partial[s->debug], s, ON_PARTIAL);
	}
	if (s->inuse == 0) {
		list_del(&c->partial[s->debug], s);
		if (!c->spare) {
			c->spare = s;
			s->list = ON_SPARE;
		} else {
			slab_release(c, s);
		}
	}
	return true;
}

/* --- large objects ----------------------------------------------------------- */

static void *large_alloc(struct slab_cache *c, size_t req)
{
	struct slab_heap *h = c->heap;
	unsigned int debug = h->debug;
	size_t bytes = req + ((debug & SLAB_DEBUG_REDZONE) ? SLAB_REDZONE_BYTES : 0u);
	size_t npages = round_up(bytes, SLAB_PAGE_SIZE) / SLAB_PAGE_SIZE;
	struct slab_large *rec = cache_alloc(&h->record_cache, sizeof(*rec));

	if (!rec)
		return NULL;
	uint8_t *p = h->ops.alloc(h->ops.ctx, npages, 1);

	if (!p) {
		obj_free(h, &h->record_cache, rec);
		return NULL;
	}
	*rec = (struct slab_large){.blk = {.addr = (uintptr_t)p,
					   .cache = c,
					   .npages = (uint32_t)npages,
					   .is_slab = false},
				   .req = (uint32_t)req,
				   .debug = (uint8_t)debug};
	hash_insert(h, &rec->blk);
	if (debug & SLAB_DEBUG_REDZONE)
		memset(p + req, SLAB_POISON_REDZONE, npages * SLAB_PAGE_SIZE - req);
	c->st.pages += npages;
	return p;
}

/* True if the object was freed; false after reporting a fault. */
static bool large_free(struct slab_cache *c, struct slab_large *rec)
{
	struct slab_heap *h = c->heap;
	uint8_t *p = (uint8_t *)rec->blk.addr;
	size_t bytes = (size_t)rec->blk.npages * SLAB_PAGE_SIZE;

	if ((rec->debug & SLAB_DEBUG_REDZONE) &&
	    !all_bytes(p + rec->req, bytes - rec->req, SLAB_POISON_REDZONE)) {
		report(h, SLAB_FAULT_REDZONE, p, c);
		return false;
	}
	hash_remove(h, &rec->blk);
	c->st.pages -= rec->blk.npages;
	h->ops.free(h->ops.ctx, p, rec->blk.npages);
	obj_free(h, &h->record_cache, rec);
	return true;
}

/* --- the common paths -------------------------------------------------------- */

static void *cache_alloc(struct slab_cache *c, size_t req)
{
	void *p = c->large ? large_alloc(c, req) : slab_alloc_obj(c, req);

	if (!p) {
		c->st.fails++;
		return NULL;
	}
	c->st.allocs++;
	c->st.inuse++;
	return p;
}

/* The block (slab or large record) holding p, or NULL: p is not the heap's. */
static struct slab_block *block_of(struct slab_heap *h, const void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (a % SLAB_PAGE_SIZE == 0) {
		struct slab_block *b = hash_find(h, a);
		if (b && !b->is_slab)
			return b;
	}
	struct slab_block *b = hash_find(h, a & ~(uintptr_t)(SLAB_BYTES - 1));

	return b && b->is_slab ? b : NULL;
}

/*
 * Frees p. want: the cache the caller names (slab_cache_free), or NULL for
 * kfree (then p must come from a kmalloc class).
 */
static void obj_free(struct slab_heap *h, struct slab_cache *want, void *p)
{
	struct slab_block *b = block_of(h, p);

	if (!b) {
		report(h, SLAB_FAULT_BAD_POINTER, p, want);
		return;
	}
	struct slab_cache *c = b->cache;

	if (want ? c != want : !c->kmalloc) {
		report(h, SLAB_FAULT_WRONG_CACHE, p, c);
		return;
	}
	bool freed = b->is_slab ? slab_free_obj(c, (struct slab *)b, p)
				: large_free(c, (struct slab_large *)b);

	if (freed) {
		c->st.frees++;
		c->st.inuse--;
	}
}

/* --- public entry points ----------------------------------------------------- */

static void cache_setup(struct slab_heap *h, struct slab_cache *c, const char *name, size_t size,
			size_t align, bool kmalloc)
{
	size_t n = strlen(name);

	*c = (struct slab_cache){0};
	if (n >= SLAB_NAME_MAX)
		n = SLAB_NAME_MAX - 1;
	memcpy(c->name, name, n);
	c->name[n] = '\0';
	if (align < SLAB_MIN_ALIGN)
		align = SLAB_MIN_ALIGN;
	c->size = (uint32_t)size;
	c->align = (uint32_t)align;
	c->obj = (uint32_t)round_up(size ? size : 1, align);
	c->large = c->obj > SLAB_MAX_OBJ || align >= SLAB_PAGE_SIZE;
	c->kmalloc = kmalloc;
	c->heap = h;
	/* Append: slab_for_each_cache shows them in creation order. */
	struct slab_cache **pp = &h->caches;
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
}

void slab_heap_init(struct slab_heap *h, const struct slab_page_ops *ops)
{
	*h = (struct slab_heap){.ops = *ops};
	for (unsigned int i = 0; i < SLAB_NCLASSES; i++)
		cache_setup(h, &h->classes[i], class_names[i], SLAB_MIN_OBJ << i, SLAB_MIN_ALIGN,
			    true);
	cache_setup(h, &h->large_kmalloc, "kmalloc-large", SLAB_MAX_OBJ + 1, SLAB_PAGE_SIZE, true);
	cache_setup(h, &h->cache_cache, "slab-caches", sizeof(struct slab_cache), 0, false);
	cache_setup(h, &h->record_cache, "slab-large-records", sizeof(struct slab_large), 0,
		    false);
}

void slab_heap_set_debug(struct slab_heap *h, unsigned int flags)
{
	h->debug = flags & SLAB_DEBUG_ALL;
}

unsigned int slab_heap_debug(const struct slab_heap *h)
{
	return h->debug;
}

void slab_heap_set_report(struct slab_heap *h, slab_report_fn *fn, void *ctx)
{
	h->report = fn;
	h->report_ctx = ctx;
}

void *slab_kmalloc(struct slab_heap *h, size_t size)
{
	if (size > SLAB_LARGE_MAX) {
		h->large_kmalloc.st.fails++;
		return NULL;
	}
	if (size == 0)
		size = 1;
	for (unsigned int i = 0; i < SLAB_NCLASSES; i++)
		if (size <= h->classes[i].obj)
			return cache_alloc(&h->classes[i], size);
	return cache_alloc(&h->large_kmalloc, size);
}

void slab_kfree(struct slab_heap *h, void *p)
{
	if (p)
		obj_free(h, NULL, p);
}

size_t slab_ksize(struct slab_heap *h, const void *p)
{
	struct slab_block *b = p ? block_of(h, p) : NULL;

	if (!b || !b->cache->kmalloc)
		return 0;
	if (!b->is_slab) {
		const struct slab_large *rec = (const struct slab_large *)b;
		return (rec->debug & SLAB_DEBUG_REDZONE) ? rec->req
							 : (size_t)b->npages * SLAB_PAGE_SIZE;
	}
	const struct slab *s = (const struct slab *)b;
	if (s->debug & SLAB_DEBUG_REDZONE)
		return ((const struct slab_trailer *)((const uint8_t *)p + b->cache->obj))->req;
	return b->cache->obj;
}

struct slab_cache *slab_cache_create(struct slab_heap *h, const char *name, size_t size,
				     size_t align)
{
	if (size == 0 || size > SLAB_LARGE_MAX || (align & (align - 1)) != 0 ||
	    align > SLAB_PAGE_SIZE)
		return NULL;
	struct slab_cache *c = cache_alloc(&h->cache_cache, sizeof(*c));

	if (c)
		cache_setup(h, c, name, size, align, false);
	return c;
}

void *slab_cache_alloc(struct slab_cache *c)
{
	return cache_alloc(c, c->size);
}

void slab_cache_free(struct slab_cache *c, void *p)
{
	if (p)
		obj_free(c->heap, c, p);
}

void slab_cache_destroy(struct slab_cache *c)
{
	struct slab_heap *h = c->heap;

	if (c->kmalloc || c == &h->cache_cache || c == &h->record_cache) {
		report(h, SLAB_FAULT_WRONG_CACHE, c, c); /* the heap's own: not destroyable */
		return;
	}
	if (c->st.inuse) {
		report(h, SLAB_FAULT_CACHE_BUSY, c, c);
		return;
	}
	if (c->spare)
		slab_release(c, c->spare);
	for (struct slab_cache **pp = &h->caches; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	obj_free(h, &h->cache_cache, c);
}

const char *slab_cache_name(const struct slab_cache *c)
{
	return c->name;
}

size_t slab_cache_obj_size(const struct slab_cache *c)
{
	return c->obj;
}

size_t slab_cache_size(const struct slab_cache *c)
{
	return c->size;
}

void slab_cache_stats(const struct slab_cache *c, struct slab_stats *out)
{
	*out = c->st;
}

void slab_for_each_cache(struct slab_heap *h, void (*fn)(const struct slab_cache *c, void *arg),
			 void *arg)
{
	for (struct slab_cache *c = h->caches; c; c = c->next)
		fn(c, arg);
}

/*
 * Selftests of the kernel heap in the guest: many threads and a timer
 * interrupt allocating and freeing at once with every debug check on (every
 * object's contents checked before it is freed), and the faults the checks
 * must catch, seen through the fault hook instead of a panic.
 */
#include <stdbool.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/kern/timer.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/prng.h>
#include <levblk/lib/string.h>
#include "kern_test_hooks.h"

#define STRESS_THREADS 8u
#define STRESS_OPS     4000u /* per thread */
#define STRESS_SLOTS   64u   /* live objects per thread at most */
#define STRESS_IRQ_NS  (200ull * NSEC_PER_USEC)
#define STRESS_IRQ_SLOTS 16u

struct stress_thread {
	unsigned int id;
	unsigned long allocs, frees, bad;
};

static volatile bool irq_stop;
static struct ktimer irq_timer;
static void *irq_objs[STRESS_IRQ_SLOTS];
static unsigned long irq_allocs, irq_frees, irq_nulls;
static unsigned int irq_next;

/* Interrupt context: frees one slot's object, allocates a new one of another size. */
static void stress_irq(void *arg)
{
	(void)arg;
	unsigned int i = irq_next++ % STRESS_IRQ_SLOTS;

	if (irq_objs[i]) {
		kfree(irq_objs[i]);
		irq_frees++;
	}
	irq_objs[i] = kmalloc(1 + (irq_next * 97u) % 5000u);
	if (irq_objs[i])
		irq_allocs++;
	else
		irq_nulls++;
	if (!irq_stop)
		timer_arm(&irq_timer, clock_ns() + STRESS_IRQ_NS, stress_irq, NULL);
}

struct totals {
	uint64_t inuse, faults, pages;
};

static void add_totals(const struct kmem_stats *st, void *arg)
{
	struct totals *t = arg;

	t->inuse += st->inuse;
	t->faults += st->faults;
	t->pages += st->pages;
}

static struct totals heap_totals(void)
{
	struct totals t = {0};

	kmem_for_each_stats(add_totals, &t);
	return t;
}

static uint64_t peak_pages; /* most pages the heap held, sampled by the threads */

static size_t stress_size(struct prng *r)
{
	uint64_t x = prng_next(r);

	if ((x & 15) == 0)
		return 2049 + (x >> 8) % 14000; /* large: whole pages */
	return 1 + (x >> 8) % 2048;
}

static void stress_main(void *arg)
{
	struct stress_thread *t = arg;
	struct prng r;
	struct {
		uint8_t *p;
		size_t n;
		uint8_t tag;
	} live[STRESS_SLOTS] = {0};

	prng_seed(&r, 0x6b6d656d + t->id);
	for (unsigned int op = 0; op < STRESS_OPS; op++) {
		unsigned int i = (unsigned int)prng_below(&r, STRESS_SLOTS);

		if (live[i].p) {
			for (size_t b = 0; b < live[i].n; b++)
				if (live[i].p[b] != live[i].tag) {
					t->bad++;
					break;
				}
			kfree(live[i].p);
			live[i].p = NULL;
			t->frees++;
			continue;
		}
		size_t n = stress_size(&r);
		live[i].p = kmalloc(n);
		if (!live[i].p) {
			t->bad++;
			continue;
		}
		live[i].n = n;
		live[i].tag = (uint8_t)(t->id * 31 + op);
		memset(live[i].p, live[i].tag, n);
		t->allocs++;
		if ((op & 63) == 0)
			thread_yield();
		if (op % (STRESS_OPS / 8) == 0) {
			struct totals now = heap_totals();
			if (now.pages > peak_pages)
				peak_pages = now.pages;
		}
	}
	for (unsigned int i = 0; i < STRESS_SLOTS; i++) {
		if (live[i].p) {
			kfree(live[i].p);
			t->frees++;
		}
	}
}

static bool st_stress(void)
{
	static struct stress_thread ts[STRESS_THREADS];
	struct thread *th[STRESS_THREADS];
	unsigned int old = kmem_set_debug(KMEM_DEBUG_ALL);
	struct totals before = heap_totals();
	unsigned long allocs = 0, frees = 0, bad = 0;
	uint64_t t0 = clock_ns();
	bool ok = true;

	irq_stop = false;
	peak_pages = 0;
	irq_allocs = irq_frees = irq_nulls = 0;
	timer_arm(&irq_timer, clock_ns() + STRESS_IRQ_NS, stress_irq, NULL);
	for (unsigned int i = 0; i < STRESS_THREADS; i++) {
		ts[i] = (struct stress_thread){.id = i};
		th[i] = thread_create("kmem-stress", stress_main, &ts[i]);
		if (!th[i]) {
			kprintf("# out of threads\n");
			ok = false;
		}
	}
	for (unsigned int i = 0; i < STRESS_THREADS; i++) {
		if (!th[i])
			continue;
		thread_join(th[i]);
		allocs += ts[i].allocs;
		frees += ts[i].frees;
		bad += ts[i].bad;
	}
	irq_stop = true;
	irqflags_t f = irq_save();
	timer_cancel(&irq_timer);
	for (unsigned int i = 0; i < STRESS_IRQ_SLOTS; i++) {
		if (irq_objs[i]) {
			kfree(irq_objs[i]);
			irq_objs[i] = NULL;
			irq_frees++;
		}
	}
	irq_restore(f);
	kmem_set_debug(old);
	struct totals after = heap_totals();
	uint64_t dt = clock_ns() - t0;

	kprintf("# kmem stress: %u threads, %lu allocs, %lu frees; interrupt context: %lu allocs, "
		"%lu frees, %lu NULL; at most %lu pages held; %lu ms\n",
		STRESS_THREADS, allocs, frees, irq_allocs, irq_frees, irq_nulls,
		(unsigned long)peak_pages, (unsigned long)(dt / NSEC_PER_MSEC));
	if (bad || allocs != frees || irq_allocs != irq_frees || irq_allocs == 0 ||
	    after.inuse != before.inuse || after.faults != before.faults) {
		kprintf("# bad %lu, in use %lu -> %lu, faults %lu -> %lu\n", bad,
			(unsigned long)before.inuse, (unsigned long)after.inuse,
			(unsigned long)before.faults, (unsigned long)after.faults);
		ok = false;
	}
	return ok;
}
SELFTEST("kmem.stress_threads_and_irq", st_stress);

/* What one kmalloc/kfree pair costs on this machine (reported, not judged). */
#define COST_PAIRS 100000u

static bool st_cost(void)
{
	static const size_t sizes[] = {64, 512, 4096};
	unsigned int old = kmem_set_debug(0);
	bool ok = true;

	for (unsigned int k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		void *keep = kmalloc(sizes[k]); /* keeps a slab, so the loop does not churn pages */
		uint64_t t0 = clock_ns();
		for (unsigned int i = 0; i < COST_PAIRS; i++) {
			void *p = kmalloc(sizes[k]);
			ok &= p != NULL;
			kfree(p);
		}
		uint64_t dt = clock_ns() - t0;
		kfree(keep);
		kprintf("# kmalloc(%lu)+kfree: %lu ns per pair over %u pairs\n",
			(unsigned long)sizes[k], (unsigned long)(dt / COST_PAIRS), COST_PAIRS);
	}
	kmem_set_debug(old);
	return ok;
}
SELFTEST("kmem.pair_cost", st_cost);

static unsigned int hook_calls;
static const char *hook_what;

static void hook(const char *what, const void *ptr, const char *cache)
{
	(void)ptr;
	(void)cache;
	hook_calls++;
	hook_what = what;
}

static bool expect_fault(unsigned int before, const char *what, const char *want)
{
	if (hook_calls == before + 1 && hook_what && strcmp(hook_what, want) == 0)
		return true;
	kprintf("# %s: %u faults reported (want 1: %s)\n", what, hook_calls - before, want);
	return false;
}

static bool st_faults(void)
{
	kmem_fault_hook_fn *old_hook = kmem_set_fault_hook(hook);
	unsigned int old_debug = kmem_set_debug(KMEM_DEBUG_ALL);
	struct kmem_cache *a = kmem_cache_create("st-a", 48, 0);
	struct kmem_cache *b = kmem_cache_create("st-b", 48, 0);
	bool ok = a && b;
	unsigned int n;

	if (ok) {
		uint8_t *keep = kmalloc(100), *p = kmalloc(100);
		n = hook_calls;
		kfree(p);
		kfree(p);
		ok &= expect_fault(n, "double free", "double free");

		uint8_t *q = kmalloc(100);
		n = hook_calls;
		q[100] = 0;
		kfree(q);
		ok &= expect_fault(n, "overflow", "red zone overwritten (write past the object's end)");
		q[100] = 0xbb;
		kfree(q);

		uint8_t *u = kmalloc(100);
		kfree(u);
		u[0] = 1;
		n = hook_calls;
		uint8_t *v = kmalloc(100);
		ok &= expect_fault(n, "use after free", "free object written (use after free)");
		kfree(v);
		kfree(keep);

		void *o = kmem_cache_alloc(a);
		n = hook_calls;
		kmem_cache_free(b, o);
		ok &= expect_fault(n, "wrong cache", "object freed to the wrong cache");
		kmem_cache_free(a, o);
	}
	kmem_cache_destroy(a);
	kmem_cache_destroy(b);
	kmem_set_debug(old_debug);
	kmem_set_fault_hook(old_hook);
	return ok;
}
SELFTEST("kmem.faults_caught", st_faults);

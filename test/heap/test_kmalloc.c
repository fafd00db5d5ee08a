/*
 * The kernel heap's glue (src/kern/kmalloc.c) on the host: the public
 * interface over a fake page pool. Interrupt context is simulated the way
 * the kernel has it: with IRQs masked (an interrupt handler runs masked),
 * allocating and freeing between a thread's allocations; and the page pool
 * checks that it is only ever entered with IRQs masked, so no interrupt can
 * arrive while the heap is half-updated. Faults reach the test through
 * kmem_set_fault_hook instead of a panic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/page.h>
#include <levblk/kmalloc.h>
#include "fake_pages.h"
#include "kern/kern_test_hooks.h"

/* The page pool the glue calls: the fake provider. */
int hal_page_alloc(uint64_t npages, uint64_t align_pages, uint64_t *pa)
{
	void *p = fake_pages_alloc(NULL, npages, align_pages);

	if (!p)
		return -ENOMEM;
	*pa = (uint64_t)(uintptr_t)p;
	return 0;
}

void hal_page_free(uint64_t pa, uint64_t npages)
{
	fake_pages_free(NULL, (void *)(uintptr_t)pa, npages);
}

static unsigned int hook_calls;
static char hook_what[128];
static const void *hook_ptr;

static void hook(const char *what, const void *ptr, const char *cache)
{
	(void)cache;
	hook_calls++;
	strncpy(hook_what, what, sizeof(hook_what) - 1);
	hook_ptr = ptr;
}

struct find {
	const char *name;
	struct kmem_stats st;
	bool found;
};

static void find_cb(const struct kmem_stats *st, void *arg)
{
	struct find *f = arg;

	if (strcmp(st->name, f->name) == 0) {
		f->st = *st;
		f->found = true;
	}
}

static struct kmem_stats stats_of(const char *name)
{
	struct find f = {.name = name};

	kmem_for_each_stats(find_cb, &f);
	assert_true(f.found);
	return f.st;
}

/* An "interrupt handler": runs masked, allocates, frees what the last one allocated. */
static void *irq_kept;
static void fake_irq(size_t n)
{
	irqflags_t f = irq_save();

	kfree(irq_kept);
	irq_kept = kmalloc(n);
	assert_non_null(irq_kept);
	memset(irq_kept, 0xee, n);
	irq_restore(f);
}

static void test_thread_and_interrupt_interleaved(void **state)
{
	(void)state;
	fake_pages_need_masked = true;
	struct kmem_stats before = stats_of("kmalloc-64");
	void *v[1000];

	for (unsigned int i = 0; i < 1000; i++) {
		v[i] = kmalloc(40 + i % 24);
		assert_non_null(v[i]);
		memset(v[i], (int)i, 40);
		fake_irq(1 + (i * 37) % 6000); /* every class and large ones, from "interrupts" */
		assert_false(irqs_disabled()); /* the thread's mask state is given back */
	}
	for (unsigned int i = 0; i < 1000; i++) {
		for (unsigned int b = 0; b < 40; b++)
			assert_int_equal(((uint8_t *)v[i])[b], i & 0xff);
		kfree(v[i]);
	}
	fake_irq(8);
	kfree(irq_kept);
	irq_kept = NULL;
	struct kmem_stats after = stats_of("kmalloc-64");
	assert_int_equal(after.inuse, before.inuse);
	assert_true(after.allocs - before.allocs >= 1000);
	assert_int_equal(after.allocs - before.allocs, after.frees - before.frees);
	fake_pages_need_masked = false;
	assert_int_equal(hook_calls, 0);
}

static void test_kzalloc_and_caches(void **state)
{
	(void)state;
	struct kmem_cache *c = kmem_cache_create("inode", 200, 0);
	struct kmem_stats st;

	assert_non_null(c);
	uint8_t *a = kmem_cache_zalloc(c);
	uint8_t *z = kzalloc(300);
	assert_non_null(a);
	assert_non_null(z);
	for (unsigned int i = 0; i < 200; i++)
		assert_int_equal(a[i], 0);
	for (unsigned int i = 0; i < 300; i++)
		assert_int_equal(z[i], 0);
	assert_true(ksize(z) >= 300);
	kmem_cache_get_stats(c, &st);
	assert_string_equal(st.name, "inode");
	assert_int_equal(st.obj_size, 208);
	assert_int_equal(st.inuse, 1);
	kmem_cache_free(c, a);
	kfree(z);
	kmem_cache_get_stats(c, &st);
	assert_int_equal(st.inuse, 0);
	assert_int_equal(st.frees, 1);
	kmem_cache_destroy(c);
	kmem_print_stats();
}

static void test_faults_reach_the_hook(void **state)
{
	(void)state;
	kmem_fault_hook_fn *old = kmem_set_fault_hook(hook);

	assert_null(old);
	void *p = kmalloc(30);
	kfree(p);
	kfree(p);
	assert_int_equal(hook_calls, 1);
	assert_string_equal(hook_what, "double free");
	assert_ptr_equal(hook_ptr, p);

	assert_int_equal(kmem_set_debug(KMEM_DEBUG_ALL), 0);
	uint8_t *q = kmalloc(30);
	q[30] = 0; /* overflow by one */
	kfree(q);
	assert_int_equal(hook_calls, 2);
	assert_non_null(strstr(hook_what, "red zone"));
	q[30] = 0xbb;
	kfree(q);
	assert_int_equal(kmem_set_debug(0), KMEM_DEBUG_ALL);
	assert_int_equal(stats_of("kmalloc-32").faults, 2);
	assert_ptr_equal(kmem_set_fault_hook(NULL), hook);
	hook_calls = 0;
}

/*
 * Regression: kmem_cache_zalloc() zeroed the whole rounded object, so with
 * red zones on, a cache whose size is not a multiple of its alignment had
 * its red zone wiped and every free reported an overflow.
 */
static void test_cache_zalloc_keeps_red_zone(void **state)
{
	(void)state;
	kmem_set_fault_hook(hook);
	kmem_set_debug(KMEM_DEBUG_ALL);
	struct kmem_cache *c = kmem_cache_create("zalloc-200", 200, 0);
	uint8_t *p = kmem_cache_zalloc(c);

	assert_non_null(p);
	for (unsigned int i = 0; i < 200; i++)
		assert_int_equal(p[i], 0);
	kmem_cache_free(c, p);
	assert_int_equal(hook_calls, 0);
	kmem_cache_destroy(c);
	kmem_set_debug(0);
	kmem_set_fault_hook(NULL);
}

static void test_out_of_memory_is_null(void **state)
{
	(void)state;
	struct kmem_stats before = stats_of("kmalloc-large");

	fake_pages_fail_after = (long)fake_pages_calls;
	assert_null(kmalloc(1u << 20));
	assert_null(kmalloc(KMALLOC_MAX + 1u));
	fake_pages_fail_after = -1;
	assert_int_equal(stats_of("kmalloc-large").fails, before.fails + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thread_and_interrupt_interleaved),
	    cmocka_unit_test(test_kzalloc_and_caches),
	    cmocka_unit_test(test_faults_reach_the_hook),
	    cmocka_unit_test(test_cache_zalloc_keeps_red_zone),
	    cmocka_unit_test(test_out_of_memory_is_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

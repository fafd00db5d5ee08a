/*
 * The page provider of the heap tests. Every range is its own aligned
 * host allocation, so ASan sees a use after the heap returned it; a table
 * of live ranges checks each free against its allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <levblk/hal/cpu.h>
#include "fake_pages.h"

#define FAKE_PAGE   4096u
#define FAKE_RANGES 65536u

size_t fake_pages_out;
unsigned long fake_pages_calls;
long fake_pages_fail_after = -1;
bool fake_pages_need_masked;

static struct {
	void *p;
	size_t n;
} live[FAKE_RANGES];

void *fake_pages_alloc(void *ctx, size_t npages, size_t align_pages)
{
	(void)ctx;
	if (fake_pages_need_masked)
		assert_true(irqs_disabled());
	if (fake_pages_fail_after >= 0 && (long)fake_pages_calls >= fake_pages_fail_after)
		return NULL;
	size_t align = (align_pages ? align_pages : 1) * FAKE_PAGE;
	void *p = aligned_alloc(align, npages * FAKE_PAGE);

	assert_non_null(p);
	for (unsigned int i = 0; i < FAKE_RANGES; i++) {
		if (!live[i].p) {
			live[i].p = p;
			live[i].n = npages;
			fake_pages_out += npages;
			fake_pages_calls++;
			return p;
		}
	}
	fail_msg("fake_pages: too many live ranges");
	return NULL;
}

void fake_pages_free(void *ctx, void *pages, size_t npages)
{
	(void)ctx;
	if (fake_pages_need_masked)
		assert_true(irqs_disabled());
	for (unsigned int i = 0; i < FAKE_RANGES; i++) {
		if (live[i].p == pages) {
			assert_int_equal(live[i].n, npages);
			live[i].p = NULL;
			fake_pages_out -= npages;
			free(pages);
			return;
		}
	}
	fail_msg("fake_pages: %p was not handed out", pages);
}

void fake_pages_reset(void)
{
	assert_int_equal(fake_pages_out, 0);
	fake_pages_calls = 0;
	fake_pages_fail_after = -1;
	fake_pages_need_masked = false;
}

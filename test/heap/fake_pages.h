/* A page provider for heap tests: aligned host memory, counted, able to fail on demand. */
#ifndef LEVBLK_TEST_FAKE_PAGES_H
#define LEVBLK_TEST_FAKE_PAGES_H

#include <stdbool.h>
#include <stddef.h>

extern size_t fake_pages_out;	  /* pages handed out and not yet returned */
extern unsigned long fake_pages_calls; /* successful alloc calls */
extern long fake_pages_fail_after;     /* alloc calls that succeed before all fail; -1: never fail */
extern bool fake_pages_need_masked;    /* assert irqs_disabled() in every call */

void *fake_pages_alloc(void *ctx, size_t npages, size_t align_pages);
/* Checks the range was handed out with exactly that size. */
void fake_pages_free(void *ctx, void *pages, size_t npages);
/* Resets the counters; fails the test if pages are still out. */
void fake_pages_reset(void);

#endif

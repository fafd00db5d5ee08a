/*
 * Host tests of the CPU -> hardware queue map (src/blk/blk_mq_map.c), for
 * every CPU count and queue count the layer supports: every CPU gets a
 * queue in range; with enough queues each CPU has its own; with fewer,
 * every queue is used, the CPUs sharing one are consecutive, and the
 * queues' loads differ by at most one CPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/hal/percpu.h>
#include "blk/blk_mq_map.h"

#define QUEUES_MAX 16u /* beyond what a disk uses, to test the formula's range */

static void test_map_in_range_and_balanced(void **state)
{
	(void)state;
	for (unsigned int ncpus = 1; ncpus <= CPU_MAX; ncpus++) {
		for (unsigned int nq = 1; nq <= QUEUES_MAX; nq++) {
			unsigned int load[QUEUES_MAX];
			unsigned int prev = 0;

			memset(load, 0, sizeof(load));
			for (unsigned int c = 0; c < ncpus; c++) {
				unsigned int q = blk_mq_queue_of(c, ncpus, nq);
				assert_true(q < nq);
				/* Runs of consecutive CPUs: the queue never goes back. */
				assert_true(q >= prev);
				prev = q;
				load[q]++;
			}
			unsigned int used = nq < ncpus ? nq : ncpus, lo = ncpus, hi = 0;
			for (unsigned int q = 0; q < used; q++) {
				lo = load[q] < lo ? load[q] : lo;
				hi = load[q] > hi ? load[q] : hi;
			}
			assert_true(lo >= 1);	   /* every queue that can be used is */
			assert_true(hi - lo <= 1); /* balanced */
			for (unsigned int q = used; q < nq; q++)
				assert_int_equal(load[q], 0); /* the spare ones idle */
		}
	}
}

static void test_map_own_queue_when_enough(void **state)
{
	(void)state;
	for (unsigned int ncpus = 1; ncpus <= CPU_MAX; ncpus++) {
		for (unsigned int nq = ncpus; nq <= QUEUES_MAX; nq++) {
			for (unsigned int c = 0; c < ncpus; c++)
				assert_int_equal(blk_mq_queue_of(c, ncpus, nq), c);
		}
	}
}

/* Each queue's interrupt goes to a CPU that submits to it: the first of its run. */
static void test_irq_cpu_submits_to_its_queue(void **state)
{
	(void)state;
	for (unsigned int ncpus = 1; ncpus <= CPU_MAX; ncpus++) {
		for (unsigned int nq = 1; nq <= QUEUES_MAX; nq++) {
			for (unsigned int q = 0; q < nq; q++) {
				unsigned int c = blk_mq_irq_cpu(q, ncpus, nq);

				assert_true(c < ncpus);
				if (q < ncpus) {
					assert_int_equal(blk_mq_queue_of(c, ncpus, nq), q);
					assert_true(c == 0 || blk_mq_queue_of(c - 1, ncpus, nq) != q);
				} else {
					assert_int_equal(c, q % ncpus); /* a spare queue */
				}
			}
		}
	}
	/* 4 CPUs on 2 queues: queue 0 on CPU 0, queue 1 on CPU 2. */
	assert_int_equal(blk_mq_irq_cpu(0, 4, 2), 0);
	assert_int_equal(blk_mq_irq_cpu(1, 4, 2), 2);
	/* 2 CPUs on 4 queues: the spare queues 2 and 3 on CPUs 0 and 1. */
	assert_int_equal(blk_mq_irq_cpu(3, 2, 4), 1);
}

static void test_map_examples(void **state)
{
	(void)state;
	/* 4 CPUs on 2 queues: 0,1 -> 0 and 2,3 -> 1. */
	assert_int_equal(blk_mq_queue_of(0, 4, 2), 0);
	assert_int_equal(blk_mq_queue_of(1, 4, 2), 0);
	assert_int_equal(blk_mq_queue_of(2, 4, 2), 1);
	assert_int_equal(blk_mq_queue_of(3, 4, 2), 1);
	/* One queue: everybody shares it. */
	for (unsigned int c = 0; c < CPU_MAX; c++)
		assert_int_equal(blk_mq_queue_of(c, CPU_MAX, 1), 0);
}

static void test_map_degenerate_arguments(void **state)
{
	(void)state;
	/* Zero counts are one; a CPU past the count wraps. */
	assert_int_equal(blk_mq_queue_of(3, 0, 4), 0);
	assert_int_equal(blk_mq_queue_of(3, 4, 0), 0);
	assert_int_equal(blk_mq_queue_of(5, 4, 4), 1);
	assert_int_equal(blk_mq_queue_of(UINT32_MAX, CPU_MAX, 3),
			 blk_mq_queue_of(UINT32_MAX % CPU_MAX, CPU_MAX, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_in_range_and_balanced),
	    cmocka_unit_test(test_map_own_queue_when_enough),
	    cmocka_unit_test(test_irq_cpu_submits_to_its_queue),
	    cmocka_unit_test(test_map_examples),
	    cmocka_unit_test(test_map_degenerate_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

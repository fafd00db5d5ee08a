/*
 * Host tests of per-CPU submission (src/blk/blk_core.c, "Submission") with
 * the fake driver, the test acting as several CPUs (hal_host_cpu): with
 * one CPU online, or blk.percpu=0, bios enter the queue directly; with
 * several, a CPU that finds another CPU moving staged bios leaves its own
 * to that mover and returns without touching the queue; the mover takes
 * every context's bios in submission (ticket) order, also for a thread that
 * moved between CPUs, and over random rounds of hand-offs; an end_io that
 * resubmits on another CPU uses that CPU's ending context. The device's
 * runner: an interrupt taken while another CPU runs the device leaves its
 * work to that CPU's next pass instead of taking the queue lock, and the
 * pass ends those bios before it dispatches new ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/bio.h>
#include <levblk/blk_trace.h>
#include <levblk/blkdev.h>
#include "blk/blk_params.h"
#include "blk/blk_queue.h"
#include "blk/fake_drv.h"
#include "blk/thread_stub.h"
#include "hal_host/hal_host.h"
#include <levblk/init.h>

void blk_dev_host_reset(void);

struct pb {
	struct bio bio;
	struct bio_seg seg;
	int ends, status;
	int resubmit_on; /* end_io: resubmit once as this CPU (-1: no) */
	unsigned int end_cpu; /* the CPU end_io ran on */
};

static uint8_t buf[8][4096];

static void pb_end_io(struct bio *b)
{
	struct pb *p = b->bio_private;

	p->ends++;
	p->status = b->bio_status;
	p->end_cpu = hal_host_cpu;
	if (p->resubmit_on >= 0) {
		unsigned int was = hal_host_cpu;
		hal_host_cpu = (unsigned int)p->resubmit_on;
		p->resubmit_on = -1;
		submit_bio(b);
		hal_host_cpu = was;
	}
}

/* Bio i reads 4 KiB at sector, submitted as CPU cpu. */
static void pb_submit(struct pb *p, struct fake_drv *fd, unsigned int i, uint64_t sector,
		      unsigned int cpu)
{
	memset(p, 0, sizeof(*p));
	p->resubmit_on = -1;
	p->seg = (struct bio_seg){buf[i], 4096};
	bio_init_rw(&p->bio, fd->dev, BIO_OP_READ, sector, &p->seg, 1, pb_end_io, p);
	hal_host_cpu = cpu;
	submit_bio(&p->bio);
	hal_host_cpu = 0;
}

static struct fake_drv *cur;

static void drop(void)
{
	if (cur) {
		fake_destroy(cur);
		free(cur);
	}
	cur = NULL;
	blk_dev_host_reset();
}

static struct fake_drv *make(unsigned int cpus)
{
	drop();
	hal_host_quiet = true;
	hal_host_cpus = cpus;
	hal_host_cpu = 0;
	blk_param_percpu = 1;
	cur = fake_create(4096, 512, 16, 65536, 256, 32, 32, true, false);
	return cur;
}

static int teardown(void **state)
{
	(void)state;
	drop();
	hal_host_cpus = 1;
	hal_host_cpu = 0;
	blk_param_percpu = 1;
	blk_param_trace = 0;
	blk_param_complete_ipi = 0;
	return 0;
}

/* The sectors of the requests made (trace QUEUE events), in order. */
static unsigned int queued_sectors(uint64_t *out, unsigned int max)
{
	static struct blk_trace_event ev[64];
	unsigned int n = blk_trace_read(ev, 64, NULL), k = 0;

	for (unsigned int i = 0; i < n && k < max; i++) {
		if (ev[i].ev == BLK_TRACE_QUEUE)
			out[k++] = ev[i].sector;
	}
	return k;
}

static void test_percpu_direct_with_one_cpu_or_off(void **state)
{
	struct pb a, b;

	(void)state;
	struct fake_drv *fd = make(1);
	pb_submit(&a, fd, 0, 8, 0);
	assert_int_equal(fd->nlog, 1);
	assert_int_equal(fd->dev->sw_runs, 0); /* one CPU: straight into the queue */
	fake_complete_all(fd);
	assert_int_equal(a.ends, 1);

	fd = make(4);
	blk_param_percpu = 0;
	pb_submit(&b, fd, 1, 8, 2);
	assert_int_equal(fd->nlog, 1);
	assert_int_equal(fd->dev->sw_runs, 0);
	blk_param_percpu = 1;
	pb_submit(&a, fd, 0, 64, 3);
	assert_int_equal(fd->nlog, 2);
	assert_int_equal(fd->dev->sw_runs, 1); /* several CPUs: staged, then moved */
	fake_complete_all(fd);
	assert_int_equal(a.ends + b.ends, 2);
	assert_int_equal(a.status + b.status, 0);
}

/*
 * While CPU 2 moves (sw_mover held), CPUs 3 and 1 stage and return; one
 * thread's bios (A on CPU 3, then B after it moved to CPU 1) keep their
 * order although CPU 1's context is looked at first. When CPU 0 becomes
 * the mover it takes them all: A, B, then its own C.
 */
static void test_percpu_staged_bios_moved_in_submission_order(void **state)
{
	struct pb a, b, c;
	uint64_t sec[8];

	(void)state;
	struct fake_drv *fd = make(4);
	blk_param_trace = 1;
	blk_trace_clear();
	fd->dev->sw_mover = 1; /* CPU 2 is moving */
	pb_submit(&a, fd, 0, 64, 3);
	pb_submit(&b, fd, 1, 8, 1);
	assert_int_equal(fd->nlog, 0); /* left to the mover, not in the queue yet */
	assert_int_equal(fd->dev->sw_handoffs, 2);
	assert_int_equal(fd->dev->ctr.bios, 0);
	fd->dev->sw_mover = 0; /* CPU 2 is done (its look found nothing yet) */
	pb_submit(&c, fd, 2, 128, 0);
	assert_int_equal(fd->nlog, 3);
	assert_int_equal(fd->dev->ctr.bios, 3);
	assert_int_equal(queued_sectors(sec, 8), 3);
	assert_int_equal(sec[0], 64);
	assert_int_equal(sec[1], 8);
	assert_int_equal(sec[2], 128);
	fake_complete_all(fd);
	assert_int_equal(a.ends + b.ends + c.ends, 3);
	assert_int_equal(a.status + b.status + c.status, 0);
	for (unsigned int i = 0; i < CPU_MAX; i++)
		assert_null(fd->dev->sw[i].head);
}

/* An end_io on CPU 1 resubmitting as CPU 3: the bio goes round once more, nothing nests. */
static void test_percpu_end_io_resubmits_on_another_cpu(void **state)
{
	struct pb a;

	(void)state;
	struct fake_drv *fd = make(4);
	pb_submit(&a, fd, 0, 8, 1);
	a.resubmit_on = 3;
	hal_host_cpu = 1;
	fake_complete_all(fd);
	hal_host_cpu = 0;
	assert_int_equal(a.ends, 2);
	assert_int_equal(a.status, 0);
	assert_int_equal(fd->nlog, 2);
	for (unsigned int c = 0; c < CPU_MAX; c++)
		assert_int_equal(blk_end_ctx[c].depth, 0);
}

/*
 * Rounds of bios from random CPUs, some while "another CPU" is moving (the
 * flag held): whatever the mix, the bios enter the queue exactly in the
 * order they were submitted, each once, and every one ends.
 */
static void test_percpu_random_rounds_keep_order(void **state)
{
	static struct pb pbs[24];
	uint64_t sec[32], want[24];
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	(void)state;
	struct fake_drv *fd = make(CPU_MAX);
	blk_param_trace = 1;
	for (unsigned int round = 0; round < 50; round++) {
		unsigned int n = 0;

		blk_trace_clear();
		while (n < 24) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			bool held = (rng >> 8) & 1; /* a mover elsewhere while this one stages */
			unsigned int cpu = (unsigned int)(rng >> 16) % CPU_MAX;
			unsigned int burst = 1 + (unsigned int)(rng >> 24) % 4;
			fd->dev->sw_mover = held;
			for (unsigned int k = 0; k < burst && n < 24; k++, n++) {
				/* Far apart and shuffled: no merges, and sector order is not submission order. */
				want[n] = 8 + 64ull * ((n * 7 + round) % 24);
				pb_submit(&pbs[n], fd, n % 8, want[n], cpu);
			}
		}
		/* The other CPU's pass ends; one more submission moves whatever is left. */
		fd->dev->sw_mover = 0;
		hal_host_cpu = 0;
		struct pb last;
		pb_submit(&last, fd, 0, 8 + 64ull * 30, 0);
		unsigned int got = queued_sectors(sec, 32);
		assert_int_equal(got, 25);
		for (unsigned int i = 0; i < 24; i++)
			assert_int_equal(sec[i], want[i]);
		fake_complete_all(fd);
		for (unsigned int i = 0; i < 24; i++) {
			assert_int_equal(pbs[i].ends, 1);
			assert_int_equal(pbs[i].status, 0);
		}
		assert_int_equal(last.ends, 1);
		for (unsigned int c = 0; c < CPU_MAX; c++)
			assert_null(fd->dev->sw[c].head);
	}
}

/*
 * An interrupt with no runner does its work at once; one taken while CPU 2
 * runs the device (the flag held) only counts itself and returns, bios not
 * ended, queue untouched; two such interrupts are handed over as one
 * irq_work of 2 when CPU 0's submission becomes the runner, and that pass
 * ends them before it places and dispatches CPU 0's bio.
 */
static void test_runner_takes_interrupt_work_left_to_it(void **state)
{
	struct pb a, b, c, d;

	(void)state;
	struct fake_drv *fd = make(4);
	pb_submit(&a, fd, 0, 8, 1);
	fake_complete_irq(fd, 1);
	assert_int_equal(a.ends, 1);
	assert_int_equal(fd->irq_works, 1);
	assert_int_equal(fd->dev->irq_pending, 0);

	pb_submit(&b, fd, 1, 64, 1);
	pb_submit(&c, fd, 2, 128, 3);
	assert_int_equal(fd->nlog, 3);
	fd->dev->sw_mover = 1; /* CPU 2 runs the device */
	hal_host_cpu = 1;
	uint64_t handoffs = fd->dev->sw_handoffs, irqs = fd->dev->ctr.irqs;
	fake_complete_irq(fd, 1);
	fake_complete_irq(fd, 1);
	hal_host_cpu = 0;
	assert_int_equal(b.ends + c.ends, 0);
	assert_int_equal(fd->irq_works, 1);
	assert_int_equal(fd->dev->irq_pending, 2);
	assert_int_equal(fd->dev->sw_handoffs, handoffs + 2);
	assert_int_equal(fd->dev->ctr.irqs, irqs);

	fd->dev->sw_mover = 0; /* CPU 2's pass ends; CPU 0 submits and runs the device */
	blk_param_trace = 1;
	blk_trace_clear();
	pb_submit(&d, fd, 3, 512, 0);
	assert_int_equal(b.ends + c.ends, 2);
	assert_int_equal(b.status + c.status, 0);
	assert_int_equal(fd->irq_works, 2);
	assert_int_equal(fd->irq_seen, 3);
	assert_int_equal(fd->dev->ctr.irqs, irqs + 2);
	assert_int_equal(fd->dev->irq_pending, 0);
	assert_int_equal(fd->nlog, 4);
	/* Completions first, then the new bio: COMPLETE events before its QUEUE. */
	static struct blk_trace_event ev[16];
	unsigned int n = blk_trace_read(ev, 16, NULL), completes = 0;
	bool queued = false;
	for (unsigned int i = 0; i < n; i++) {
		if (ev[i].ev == BLK_TRACE_COMPLETE) {
			assert_false(queued);
			completes++;
		}
		queued |= ev[i].ev == BLK_TRACE_QUEUE;
	}
	assert_int_equal(completes, 2);
	assert_true(queued);
	fake_complete_irq(fd, 1);
	assert_int_equal(d.ends, 1);
}

/* The kernel's initcall table (the linker's section bounds). */
extern const struct initcall __start_levblk_initcalls[], __stop_levblk_initcalls[];

static void run_initcall(const char *name)
{
	for (const struct initcall *c = __start_levblk_initcalls; c < __stop_levblk_initcalls; c++) {
		if (strcmp(c->name, name) == 0)
			assert_int_equal(c->fn(), 0);
	}
}

/*
 * blk.complete_ipi=1: an interrupt on CPU 0 ends CPU 0's bio at once and
 * hands CPU 1's to CPU 1 (one kick); it ends when CPU 1 runs the work, on
 * CPU 1. A second handed-over bio while the first waits kicks no more
 * (the work drains the list). Off, both end on CPU 0.
 */
static void test_complete_ipi_ends_on_submitting_cpu(void **state)
{
	struct pb a, b, c;

	(void)state;
	run_initcall("blk_remote_init");
	assert_non_null(thread_stub_work_fn);
	struct fake_drv *fd = make(2);
	blk_param_complete_ipi = 1;
	memset(thread_stub_kicks, 0, sizeof(thread_stub_kicks));
	uint64_t moved = blk_remote_ends();

	pb_submit(&a, fd, 0, 0, 0);
	pb_submit(&b, fd, 1, 64, 1);
	pb_submit(&c, fd, 2, 128, 1);
	fake_complete_irq(fd, 3);
	assert_int_equal(a.ends, 1);
	assert_int_equal(a.end_cpu, 0);
	assert_int_equal(b.ends + c.ends, 0);
	assert_int_equal(thread_stub_kicks[1], 1);
	assert_int_equal(thread_stub_kicks[0], 0);
	assert_int_equal(blk_remote_ends(), moved + 2);

	hal_host_cpu = 1;
	thread_stub_work_fn();
	hal_host_cpu = 0;
	assert_int_equal(b.ends, 1);
	assert_int_equal(c.ends, 1);
	assert_int_equal(b.status + c.status, 0);
	assert_int_equal(b.end_cpu, 1);
	assert_int_equal(c.end_cpu, 1);

	blk_param_complete_ipi = 0;
	pb_submit(&b, fd, 1, 64, 1);
	fake_complete_irq(fd, 1);
	assert_int_equal(b.ends, 1);
	assert_int_equal(b.end_cpu, 0);
	assert_int_equal(thread_stub_kicks[1], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_percpu_direct_with_one_cpu_or_off, teardown),
	    cmocka_unit_test_teardown(test_percpu_staged_bios_moved_in_submission_order, teardown),
	    cmocka_unit_test_teardown(test_percpu_end_io_resubmits_on_another_cpu, teardown),
	    cmocka_unit_test_teardown(test_percpu_random_rounds_keep_order, teardown),
	    cmocka_unit_test_teardown(test_runner_takes_interrupt_work_left_to_it, teardown),
	    cmocka_unit_test_teardown(test_complete_ipi_ends_on_submitting_cpu, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

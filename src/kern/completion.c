/*
 * Completions: a counter of complete() calls not yet consumed by a wait,
 * plus a wait queue of threads waiting for it.
 *
 * Why no wake-up is lost. There is one CPU, and the counter and the wait
 * queue are only touched with IRQs masked. A waiter masks IRQs, tests
 * `done`, and if it is 0 puts itself on the queue and switches away, all
 * without unmasking: the mask is handed to the next thread by the switch,
 * and nothing else runs on the CPU in between. complete() runs either in
 * an interrupt handler, which cannot start while the waiter holds the mask,
 * or in another thread, which cannot run while the waiter holds the CPU
 * with IRQs masked (no preemption without an interrupt). So complete()
 * happens either wholly before the test (the waiter sees done > 0 and never
 * sleeps) or wholly after the waiter is on the queue (complete() finds it
 * there and wakes it). There is no window between "test" and "sleep" in
 * which a complete() could slip by unseen.
 *
 * Counting. complete() adds one and wakes one waiter; every successful wait
 * takes one. A woken waiter re-tests `done` in a loop: if another thread
 * took the count first, it sleeps again, so N complete() calls let exactly
 * N waits return. complete_all() sets the count to COMPLETION_ALL, which
 * waits never decrement, until reinit_completion().
 */
#include <limits.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/completion.h>
#include "sched_private.h"

#define COMPLETION_ALL UINT_MAX

void completion_init(struct completion *c)
{
	c->done = 0;
	waitq_init(&c->wq);
}

void reinit_completion(struct completion *c)
{
	irqflags_t f = irq_save();
	c->done = 0;
	irq_restore(f);
}

void complete(struct completion *c)
{
	irqflags_t f = irq_save();
	if (c->done != COMPLETION_ALL)
		c->done++;
	waitq_wake_one(&c->wq);
	irq_restore(f);
}

void complete_all(struct completion *c)
{
	irqflags_t f = irq_save();
	c->done = COMPLETION_ALL;
	waitq_wake_all(&c->wq);
	irq_restore(f);
}

/* IRQs masked, done > 0. */
static void completion_take(struct completion *c)
{
	if (c->done != COMPLETION_ALL)
		c->done--;
}

void wait_for_completion(struct completion *c)
{
	irqflags_t f = irq_save();
	while (c->done == 0)
		waitq_sleep_locked(&c->wq);
	completion_take(c);
	irq_restore(f);
}

bool wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns)
{
	uint64_t deadline = clock_ns() + timeout_ns;
	bool ok = false;
	irqflags_t f = irq_save();

	for (;;) {
		if (c->done) {
			completion_take(c);
			ok = true;
			break;
		}
		if (clock_ns() >= deadline)
			break;
		waitq_sleep_locked_until(&c->wq, deadline);
	}
	irq_restore(f);
	return ok;
}

bool try_wait_for_completion(struct completion *c)
{
	bool ok = false;
	irqflags_t f = irq_save();

	if (c->done) {
		completion_take(c);
		ok = true;
	}
	irq_restore(f);
	return ok;
}

/*
 * Completions: a counter of complete() calls not yet consumed by a wait,
 * plus a wait queue of threads waiting for it.
 *
 * Why no wake-up is lost, on any number of CPUs. The counter and the wait
 * queue are only touched under sched_lock. A waiter takes the lock, tests
 * `done`, and if it is 0 puts itself on the queue and switches away, all
 * without releasing it: the lock is handed to the next thread on its CPU by
 * the switch, and only released once the waiter is off its CPU and marked
 * blocked. complete(), in an interrupt handler or a thread on any CPU, takes
 * the same lock: so it happens either wholly before the test (the waiter
 * sees done > 0 and never sleeps) or wholly after the waiter is on the queue
 * (complete() finds it there and wakes it, on whichever CPU). There is no
 * window between "test" and "sleep" in which a complete() could slip by
 * unseen. The lock's release (complete) / acquire (the waiter's re-test)
 * also makes whatever the completer wrote before complete() visible to the
 * woken waiter.
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

/*
 * No lock: the caller guarantees that no one waits on c or completes it
 * now (levblk/completion.h), so a store is enough, and the lock that
 * publishes c to its next waiter orders it. Taking no lock here lets
 * callers reinit under their own spinlock (the buffer cache does).
 */
void reinit_completion(struct completion *c)
{
	__atomic_store_n(&c->done, 0, __ATOMIC_RELAXED);
}

void complete(struct completion *c)
{
	irqflags_t f;
	bool took = sched_lock_if_needed(&f);

	if (c->done != COMPLETION_ALL)
		c->done++;
	waitq_wake_one_locked(&c->wq);
	sched_unlock_if(took, f);
}

void complete_all(struct completion *c)
{
	irqflags_t f;
	bool took = sched_lock_if_needed(&f);

	c->done = COMPLETION_ALL;
	waitq_wake_all_locked(&c->wq);
	sched_unlock_if(took, f);
}

/* sched_lock held, done > 0. */
static void completion_take(struct completion *c)
{
	if (c->done != COMPLETION_ALL)
		c->done--;
}

void wait_for_completion(struct completion *c)
{
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	while (c->done == 0)
		waitq_sleep_locked(&c->wq);
	completion_take(c);
	sched_unlock_irqrestore(f);
}

bool wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns)
{
	uint64_t deadline = clock_ns() + timeout_ns;
	bool ok = false;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

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
	sched_unlock_irqrestore(f);
	return ok;
}

bool try_wait_for_completion(struct completion *c)
{
	bool ok = false;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (c->done) {
		completion_take(c);
		ok = true;
	}
	sched_unlock_irqrestore(f);
	return ok;
}

/*
 * Wait queues and completions.
 *
 * complete() may be called from an interrupt handler or a thread;
 * wait_for_completion() only from a thread. A completion counts: each
 * complete() lets exactly one wait return, whether the wait started before
 * or after it (no lost wake-up: see src/kern/completion.c for why).
 */
#ifndef LEVBLK_COMPLETION_H
#define LEVBLK_COMPLETION_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/cpu.h>

struct thread;

struct waitq {
	struct thread *head, *tail; /* threads asleep here, FIFO; under the wait lock */
};

struct completion {
	unsigned int done;
	struct waitq wq;
};

#define WAITQ_INIT {NULL, NULL}
#define COMPLETION_INIT {0, WAITQ_INIT}

void waitq_init(struct waitq *wq);
/*
 * The wait lock: one spinlock (the scheduler's) guards every wait queue.
 * waitq_lock_irqsave masks IRQs and takes it; thread context or interrupt
 * handler; never held long, never across anything that sleeps except
 * waitq_sleep_locked itself.
 */
irqflags_t waitq_lock_irqsave(void);
void waitq_unlock_irqrestore(irqflags_t flags);
/*
 * Sleeps on wq until woken. The caller holds the wait lock
 * (waitq_lock_irqsave) and checked its condition under it; the lock is
 * dropped while asleep and held again on return (perhaps on another CPU),
 * so the caller re-checks its condition in a loop:
 *
 *	irqflags_t f = waitq_lock_irqsave();
 *	while (!condition)
 *		waitq_sleep_locked(&wq);
 *	waitq_unlock_irqrestore(f);
 *
 * No wake-up is lost on any number of CPUs, provided the waker makes the
 * condition true *before* it calls waitq_wake_one/all (which take the same
 * lock: its release orders the condition's stores before the waiter's
 * re-check). Spurious returns are possible; the loop absorbs them.
 */
void waitq_sleep_locked(struct waitq *wq);
/* Wakes one / all sleepers. Any context (the wait lock held or not). */
void waitq_wake_one(struct waitq *wq);
void waitq_wake_all(struct waitq *wq);

void completion_init(struct completion *c);
/* Back to 0 completions. Only while nobody waits on c or completes it (e.g. before reuse). */
void reinit_completion(struct completion *c);
void complete(struct completion *c);
void complete_all(struct completion *c);
void wait_for_completion(struct completion *c);
/* Returns true if completed, false if timeout_ns passed first. */
bool wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns);
/* True (and consumes one completion) if complete() has happened; never sleeps. */
bool try_wait_for_completion(struct completion *c);

#endif

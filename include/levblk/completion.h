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

struct thread;

struct waitq {
	struct thread *head, *tail; /* threads asleep here, FIFO; guarded by masking IRQs */
};

struct completion {
	unsigned int done;
	struct waitq wq;
};

#define WAITQ_INIT {NULL, NULL}
#define COMPLETION_INIT {0, WAITQ_INIT}

void waitq_init(struct waitq *wq);
/*
 * Sleeps on wq until woken. The caller must have masked IRQs (irq_save) and
 * checked its condition under that mask; the mask is dropped while asleep
 * and held again on return, so the caller re-checks its condition in a loop.
 */
void waitq_sleep_locked(struct waitq *wq);
/* Wakes one / all sleepers. Any context. */
void waitq_wake_one(struct waitq *wq);
void waitq_wake_all(struct waitq *wq);

void completion_init(struct completion *c);
void reinit_completion(struct completion *c);
void complete(struct completion *c);
void complete_all(struct completion *c);
void wait_for_completion(struct completion *c);
/* Returns true if completed, false if timeout_ns passed first. */
bool wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns);
/* True (and consumes one completion) if complete() has happened; never sleeps. */
bool try_wait_for_completion(struct completion *c);

#endif

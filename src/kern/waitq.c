/*
 * Wait queues: FIFO lists of blocked threads, all guarded by the
 * scheduler's lock (sched_lock; include/levblk/completion.h). The
 * lost-wake-up argument is in completion.c and holds for any condition
 * checked the same way.
 */
#include <stddef.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/exit.h>
#include <levblk/kern/thread.h>
#include "sched_private.h"

void waitq_init(struct waitq *wq)
{
	wq->head = wq->tail = NULL;
}

irqflags_t waitq_lock_irqsave(void)
{
	return spin_lock_irqsave(&sched_lock);
}

void waitq_unlock_irqrestore(irqflags_t flags)
{
	sched_unlock_irqrestore(flags);
}

bool sched_lock_if_needed(irqflags_t *flags)
{
	if (spin_held_here(&sched_lock)) {
		*flags = 0;
		return false;
	}
	*flags = spin_lock_irqsave(&sched_lock);
	return true;
}

void sched_unlock_if(bool took, irqflags_t flags)
{
	if (took)
		sched_unlock_irqrestore(flags);
}

static void waitq_append(struct waitq *wq, struct thread *t)
{
	t->next = NULL;
	t->wq = wq;
	if (wq->tail)
		wq->tail->next = t;
	else
		wq->head = t;
	wq->tail = t;
}

void waitq_unlink(struct waitq *wq, struct thread *t)
{
	struct thread *prev = NULL;

	for (struct thread *p = wq->head; p; prev = p, p = p->next) {
		if (p != t)
			continue;
		if (prev)
			prev->next = t->next;
		else
			wq->head = t->next;
		if (wq->tail == t)
			wq->tail = prev;
		t->next = NULL;
		t->wq = NULL;
		return;
	}
}

void waitq_sleep_locked(struct waitq *wq)
{
	if (!spin_held_here(&sched_lock))
		panic("waitq_sleep_locked without waitq_lock_irqsave()");
	waitq_append(wq, thread_current());
	sched_block();
}

/*
 * A timed sleep's timer, in interrupt context on the CPU that armed it. It
 * may run late, after the sleep ended (another CPU woke the thread while the
 * timer was firing): the flag, read under sched_lock, tells.
 */
static void waitq_timeout(void *arg)
{
	struct thread *t = arg;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (t->timed_sleep)
		sched_wake(t);
	sched_unlock_irqrestore(f);
}

void waitq_sleep_locked_until(struct waitq *wq, uint64_t deadline_ns)
{
	struct thread *self = thread_current();

	if (!spin_held_here(&sched_lock))
		panic("waitq_sleep_locked_until without sched_lock");
	/* Both are set up before the switch, under the lock: neither wake can be missed. */
	if (wq)
		waitq_append(wq, self);
	self->timed_sleep = true;
	timer_arm(&self->sleep_timer, deadline_ns, waitq_timeout, self);
	sched_block();
	self->timed_sleep = false;
	timer_cancel(&self->sleep_timer);
}

void waitq_wake_one_locked(struct waitq *wq)
{
	if (wq->head)
		sched_wake(wq->head); /* unlinks it from wq */
}

void waitq_wake_all_locked(struct waitq *wq)
{
	while (wq->head)
		sched_wake(wq->head);
}

void waitq_wake_one(struct waitq *wq)
{
	irqflags_t f;
	bool took = sched_lock_if_needed(&f);

	waitq_wake_one_locked(wq);
	sched_unlock_if(took, f);
}

void waitq_wake_all(struct waitq *wq)
{
	irqflags_t f;
	bool took = sched_lock_if_needed(&f);

	waitq_wake_all_locked(wq);
	sched_unlock_if(took, f);
}

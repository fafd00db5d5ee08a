/*
 * Wait queues: FIFO lists of blocked threads, guarded by masking IRQs
 * (include/levblk/completion.h; the lost-wake-up argument is in
 * completion.c and holds for any condition checked the same way).
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
	if (!irqs_disabled())
		panic("waitq_sleep_locked with IRQs enabled");
	waitq_append(wq, thread_current());
	sched_block();
}

static void waitq_timeout(void *arg)
{
	sched_wake(arg);
}

void waitq_sleep_locked_until(struct waitq *wq, uint64_t deadline_ns)
{
	struct thread *self = thread_current();

	if (!irqs_disabled())
		panic("waitq_sleep_locked_until with IRQs enabled");
	/* Both are set up before the switch, with IRQs masked: neither wake can be missed. */
	if (wq)
		waitq_append(wq, self);
	timer_arm(&self->sleep_timer, deadline_ns, waitq_timeout, self);
	sched_block();
	timer_cancel(&self->sleep_timer);
}

void waitq_wake_one(struct waitq *wq)
{
	irqflags_t f = irq_save();
	struct thread *t = wq->head;

	if (t)
		sched_wake(t); /* unlinks it from wq */
	irq_restore(f);
}

void waitq_wake_all(struct waitq *wq)
{
	irqflags_t f = irq_save();

	while (wq->head)
		sched_wake(wq->head);
	irq_restore(f);
}

/*
 * Mutexes (levblk/mutex.h). The owner field and the wait queue are only
 * touched under sched_lock (the scheduler's own lock, sched_private.h), on
 * any CPU: the lost-wake-up argument of completion.c holds for them.
 * Ownership is handed over by mutex_unlock to the first waiter, which finds
 * itself the owner when it wakes: no window in which a third thread could
 * take the mutex, and FIFO order among waiters.
 */
#include <stddef.h>
#include <levblk/hal/cpu.h>
#include <levblk/kern/thread.h>
#include <levblk/mutex.h>
#include "lock_check.h"
#include "sched_private.h"

#define KIND "mutex"

void mutex_init(struct mutex *m, const char *name)
{
	m->owner = NULL;
	waitq_init(&m->wq);
	m->name = name;
}

void mutex_lock(struct mutex *m)
{
	struct thread *self = lock_context(KIND, m->name);

	if (!self)
		return;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (m->owner == self) {
		sched_unlock_irqrestore(f);
		lock_fault(LOCK_FAULT_RECURSIVE, KIND, m->name);
		return;
	}
	if (!m->owner)
		m->owner = self;
	/* Woken by mutex_unlock, which made us the owner before waking us. */
	while (m->owner != self)
		waitq_sleep_locked(&m->wq);
	sched_unlock_irqrestore(f);
}

bool mutex_trylock(struct mutex *m)
{
	struct thread *self = lock_context(KIND, m->name);
	bool got = false;

	if (!self)
		return false;
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	if (!m->owner) {
		m->owner = self;
		got = true;
	}
	sched_unlock_irqrestore(f);
	return got;
}

void mutex_unlock(struct mutex *m)
{
	struct thread *self = lock_context(KIND, m->name);

	if (!self)
		return;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (m->owner != self) {
		sched_unlock_irqrestore(f);
		lock_fault(LOCK_FAULT_NOT_OWNER, KIND, m->name);
		return;
	}
	struct thread *next = m->wq.head;

	m->owner = next; /* NULL: free */
	if (next)
		sched_wake(next); /* unlinks it from m->wq */
	sched_unlock_irqrestore(f);
}

bool mutex_held(const struct mutex *m)
{
	return m->owner && m->owner == thread_current();
}

void mutex_assert_held(const struct mutex *m)
{
	if (!mutex_held(m))
		lock_fault(LOCK_FAULT_NOT_HELD, KIND, m->name);
}

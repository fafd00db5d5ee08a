/*
 * Reader-writer sleeping locks (levblk/rwlock.h). Every field is touched
 * under sched_lock only (sched_private.h), from any CPU. The lock is handed to waiters, never left free
 * for them to race for:
 *   - waiting writers sleep on wq until `writer` names them;
 *   - waiting readers sleep on rq until `read_grants` moves past the value
 *     they saw: a writer's unlock counts them all into `readers` at once.
 * Invariants (sched_lock held): writer != NULL implies readers == 0; the lock
 * is never free (writer == NULL && readers == 0) while anyone waits, since
 * each release hands it on; readers_waiting > 0 only while a writer holds
 * or waits (a reader waits for nothing else).
 */
#include <stddef.h>
#include <levblk/hal/cpu.h>
#include <levblk/kern/thread.h>
#include <levblk/rwlock.h>
#include "lock_check.h"
#include "sched_private.h"

#define KIND "rwlock"

void rwlock_init(struct rwlock *rw, const char *name)
{
	*rw = (struct rwlock){.name = name};
	waitq_init(&rw->rq);
	waitq_init(&rw->wq);
}

/* sched_lock held, no holder left: lets all waiting readers in at once. */
static bool grant_readers(struct rwlock *rw)
{
	if (!rw->readers_waiting)
		return false;
	rw->readers = rw->readers_waiting;
	rw->readers_waiting = 0;
	rw->read_grants++;
	waitq_wake_all_locked(&rw->rq);
	return true;
}

/* sched_lock held, no holder left: makes the first waiting writer the holder. */
static bool grant_writer(struct rwlock *rw)
{
	struct thread *t = rw->wq.head;

	if (!rw->writers_waiting || !t)
		return false;
	rw->writer = t;
	rw->writers_waiting--;
	sched_wake(t); /* unlinks it from rw->wq */
	return true;
}

/*
 * sched_lock held, the lock just became free. After a writer, the readers that
 * queued behind it go first; after the last reader, a writer (the readers
 * waiting then queued behind that writer). Each side is served in turn, so
 * neither starves.
 */
static void hand_on(struct rwlock *rw, bool after_writer)
{
	if (after_writer) {
		if (!grant_readers(rw))
			grant_writer(rw);
	} else {
		if (!grant_writer(rw))
			grant_readers(rw);
	}
}

void rwlock_read_lock(struct rwlock *rw)
{
	struct thread *self = lock_context(KIND, rw->name);

	if (!self)
		return;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (rw->writer == self) {
		sched_unlock_irqrestore(f);
		lock_fault(LOCK_FAULT_RECURSIVE, KIND, rw->name);
		return;
	}
	if (!rw->writer && !rw->writers_waiting) {
		rw->readers++;
	} else {
		unsigned long seen = rw->read_grants;
		rw->readers_waiting++;
		while (rw->read_grants == seen)
			waitq_sleep_locked(&rw->rq);
	}
	sched_unlock_irqrestore(f);
}

bool rwlock_read_trylock(struct rwlock *rw)
{
	struct thread *self = lock_context(KIND, rw->name);
	bool got = false;

	if (!self)
		return false;
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	if (!rw->writer && !rw->writers_waiting) {
		rw->readers++;
		got = true;
	}
	sched_unlock_irqrestore(f);
	return got;
}

void rwlock_read_unlock(struct rwlock *rw)
{
	if (!lock_context(KIND, rw->name))
		return;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (rw->readers == 0) {
		sched_unlock_irqrestore(f);
		lock_fault(LOCK_FAULT_NO_READER, KIND, rw->name);
		return;
	}
	if (--rw->readers == 0)
		hand_on(rw, false);
	sched_unlock_irqrestore(f);
}

void rwlock_write_lock(struct rwlock *rw)
{
	struct thread *self = lock_context(KIND, rw->name);

	if (!self)
		return;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (rw->writer == self) {
		sched_unlock_irqrestore(f);
		lock_fault(LOCK_FAULT_RECURSIVE, KIND, rw->name);
		return;
	}
	if (!rw->writer && rw->readers == 0) {
		rw->writer = self;
	} else {
		rw->writers_waiting++;
		/* hand_on() names us the writer before waking us. */
		while (rw->writer != self)
			waitq_sleep_locked(&rw->wq);
	}
	sched_unlock_irqrestore(f);
}

bool rwlock_write_trylock(struct rwlock *rw)
{
	struct thread *self = lock_context(KIND, rw->name);
	bool got = false;

	if (!self)
		return false;
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	if (!rw->writer && rw->readers == 0) {
		rw->writer = self;
		got = true;
	}
	sched_unlock_irqrestore(f);
	return got;
}

void rwlock_write_unlock(struct rwlock *rw)
{
	struct thread *self = lock_context(KIND, rw->name);

	if (!self)
		return;
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (rw->writer != self) {
		sched_unlock_irqrestore(f);
		lock_fault(LOCK_FAULT_NOT_OWNER, KIND, rw->name);
		return;
	}
	rw->writer = NULL;
	hand_on(rw, true);
	sched_unlock_irqrestore(f);
}

bool rwlock_write_held(const struct rwlock *rw)
{
	return rw->writer && rw->writer == thread_current();
}

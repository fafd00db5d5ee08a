/*
 * Reader-writer sleeping lock: many readers at once, or one writer.
 * A filesystem holds it across I/O waits (e.g. readers of a directory
 * sleep on its blocks while a rename waits to write it).
 *
 * Context: as for the mutex (levblk/mutex.h): thread context with IRQs
 * enabled only, checked on every call; misuse is reported the same way
 * (panic, or a test's hook: src/kern/kern_test_hooks.h).
 *
 * Fairness (phase-fair, neither side starves):
 *   - a reader that arrives while a writer holds the lock or waits for it,
 *     waits; so a stream of readers cannot starve a writer;
 *   - when a writer unlocks, every reader waiting gets the lock at once
 *     (before the next writer); otherwise the first waiting writer gets it;
 *   - when the last reader unlocks, the first waiting writer gets it.
 * The lock is handed to the waiters chosen, so a thread that arrives later
 * cannot take it first.
 *
 * Rules: the writer is tracked (write-unlocking by another thread, or
 * write-locking twice, is a fault); readers are counted, not tracked, so a
 * read unlock without readers is a fault, but a thread must not take the
 * read lock twice (with a writer waiting in between it would deadlock).
 */
#ifndef LEVBLK_RWLOCK_H
#define LEVBLK_RWLOCK_H

#include <stdbool.h>
#include <levblk/completion.h>
#include <levblk/mutex.h>

struct thread;

struct rwlock {
	struct thread *writer;	     /* the writer holding it, or NULL */
	unsigned int readers;	     /* readers holding it */
	unsigned int readers_waiting;
	unsigned int writers_waiting;
	unsigned long read_grants;   /* bumped each time waiting readers are let in */
	struct waitq rq, wq;	     /* waiting readers / writers, FIFO */
	const char *name;
};

#define RWLOCK_INIT(n) {.rq = WAITQ_INIT, .wq = WAITQ_INIT, .name = (n)}

void rwlock_init(struct rwlock *rw, const char *name);
void rwlock_read_lock(struct rwlock *rw);
bool rwlock_read_trylock(struct rwlock *rw);
void rwlock_read_unlock(struct rwlock *rw);
void rwlock_write_lock(struct rwlock *rw);
bool rwlock_write_trylock(struct rwlock *rw);
void rwlock_write_unlock(struct rwlock *rw);
/* True if the calling thread holds it for writing. */
bool rwlock_write_held(const struct rwlock *rw);

#endif

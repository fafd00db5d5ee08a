/*
 * Mutex: a sleeping lock with an owner, for code that holds a lock across
 * waits (a filesystem holding an inode's lock while its blocks are read),
 * which a spinlock cannot do.
 *
 * Context: thread context only, with IRQs enabled: never from an interrupt
 * handler (end_io included), never with a spinlock held or IRQs masked,
 * never before the scheduler runs (EARLY/IRQ initcalls). Each call checks
 * this. mutex_unlock never sleeps, but it is held to the same rule.
 *
 * Semantics: one owner at a time, the thread that locked it; only it may
 * unlock; locking it again while holding it is a bug (not a recursive
 * lock). Waiters get it in FIFO order: mutex_unlock hands the mutex to the
 * first waiter directly, so none starves. Misuse (recursive lock, unlock
 * by a thread that does not own it, unlock of an unlocked mutex, wrong
 * context) is a kernel bug: it panics with "lock: <what>: mutex <name> ...",
 * unless a test installed a hook (src/kern/kern_test_hooks.h); the faulty call then
 * returns without changing the lock (a lock call without taking it).
 *
 * Wake-ups are not lost on any number of CPUs: the owner field and the wait
 * queue are only changed under the wait lock, the same argument as for
 * completions (src/kern/completion.c). Whatever the holder wrote before
 * mutex_unlock is visible to the next holder (the lock's release/acquire).
 */
#ifndef LEVBLK_MUTEX_H
#define LEVBLK_MUTEX_H

#include <stdbool.h>
#include <levblk/completion.h>

struct thread;

struct mutex {
	struct thread *owner; /* NULL when free */
	struct waitq wq;      /* threads waiting for it, FIFO */
	const char *name;     /* for fault reports */
};

#define MUTEX_INIT(n) {.owner = NULL, .wq = WAITQ_INIT, .name = (n)}

void mutex_init(struct mutex *m, const char *name);
/* Sleeps until the mutex is the caller's. */
void mutex_lock(struct mutex *m);
/* Takes it if free and returns true; false (never sleeps) if someone holds it. */
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);
/* True if the calling thread holds m. */
bool mutex_held(const struct mutex *m);
/* A fault unless the calling thread holds m: for functions whose callers must hold it. */
void mutex_assert_held(const struct mutex *m);


#endif

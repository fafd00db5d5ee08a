/*
 * Private to src/kern: the context check and fault report shared by the
 * sleeping locks (mutex.c, rwlock.c).
 */
#ifndef LEVBLK_KERN_LOCK_CHECK_H
#define LEVBLK_KERN_LOCK_CHECK_H

#include <stdbool.h>

struct thread;

/* The faults, as reported (a test hook compares them). */
#define LOCK_FAULT_MASKED    "sleeping lock used with IRQs masked (interrupt context or a spinlock held)"
#define LOCK_FAULT_NO_THREAD "sleeping lock used before the scheduler runs"
#define LOCK_FAULT_RECURSIVE "locked again by the thread holding it"
#define LOCK_FAULT_NOT_OWNER "unlocked by a thread that does not hold it"
#define LOCK_FAULT_NO_READER "read unlock with no reader holding it"
#define LOCK_FAULT_NOT_HELD  "not held by this thread"

/*
 * Reports a misuse: panics "lock: <what>: <kind> <name>", or calls the test
 * hook and returns.
 */
void lock_fault(const char *what, const char *kind, const char *name);
/*
 * The calling thread, if the context allows a sleeping lock (a thread, IRQs
 * enabled, scheduler running); otherwise reports the fault and returns NULL
 * (the caller then returns without touching the lock).
 */
struct thread *lock_context(const char *kind, const char *name);

#endif

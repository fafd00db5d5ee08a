/*
 * Context checks and fault reports for the sleeping locks (levblk/mutex.h).
 * fault_hook is set by tests only; a plain load and store (one CPU).
 */
#include <stddef.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/exit.h>
#include <levblk/kern/thread.h>
#include <levblk/mutex.h>
#include "kern_test_hooks.h"
#include "lock_check.h"

static lock_fault_hook_fn *fault_hook;

lock_fault_hook_fn *lock_set_fault_hook(lock_fault_hook_fn *hook)
{
	lock_fault_hook_fn *old = fault_hook;

	fault_hook = hook;
	return old;
}

void lock_fault(const char *what, const char *kind, const char *name)
{
	if (fault_hook) {
		fault_hook(what, name ? name : "?");
		return;
	}
	panic("lock: %s: %s %s (thread %s)", what, kind, name ? name : "?",
	      thread_current() ? thread_name(thread_current()) : "none");
}

struct thread *lock_context(const char *kind, const char *name)
{
	struct thread *self = thread_current();

	/* An interrupt handler runs with IRQs masked, so this also catches interrupt context. */
	if (irqs_disabled()) {
		lock_fault(LOCK_FAULT_MASKED, kind, name);
		return NULL;
	}
	if (!self) {
		lock_fault(LOCK_FAULT_NO_THREAD, kind, name);
		return NULL;
	}
	return self;
}

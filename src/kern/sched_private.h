/*
 * Thread control block and the scheduler primitives that wait queues and
 * completions are built on. Private to src/kern.
 *
 * Locking: the scheduler state (run queue, thread states, wait queues) is
 * guarded by masking IRQs on the one CPU that runs the kernel. Every
 * function here that says "IRQs masked" must be called that way; it never
 * unmasks them itself (a switch away and back returns with them still masked).
 */
#ifndef LEVBLK_KERN_SCHED_PRIVATE_H
#define LEVBLK_KERN_SCHED_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/clock.h>
#include <levblk/completion.h>
#include <levblk/kern/thread.h>
#include <levblk/kern/timer.h>
#include "switch.h"

#define THREAD_MAX	96
#define THREAD_NAME_MAX 16

enum thread_state {
	THREAD_FREE = 0, /* slot unused */
	THREAD_READY,	 /* on the run queue (the idle thread: never queued) */
	THREAD_RUNNING,	 /* the current thread */
	THREAD_BLOCKED,	 /* asleep: on a wait queue and/or waiting for its sleep timer */
	THREAD_DEAD,	 /* returned from its function; slot freed by thread_join */
};

struct thread {
	struct cpu_context ctx; /* valid while not running */
	enum thread_state state;
	char name[THREAD_NAME_MAX];
	void (*fn)(void *arg);
	void *arg;
	struct thread *next;  /* link on the run queue or on wq */
	struct waitq *wq;     /* the wait queue it sleeps on, NULL if none */
	struct waitq join_wq; /* thread_join() sleeps here */
	struct ktimer sleep_timer;
	uint64_t *stack_base; /* lowest address of its stack; a canary lives there */
	void *plug;	      /* thread_set_plug(); read by schedule() and the tick */
	thread_plug_hook_fn *plug_hook;
};

/* IRQs masked. Marks the current thread blocked and switches away; returns when woken. */
void sched_block(void);
/* IRQs masked. Makes a blocked thread ready (unlinking it from its wait queue); else no-op. */
void sched_wake(struct thread *t);
/*
 * IRQs masked, thread context. Like waitq_sleep_locked, but also woken at
 * deadline_ns (clock_ns units). The caller re-checks its condition and the
 * clock on return.
 */
void waitq_sleep_locked_until(struct waitq *wq, uint64_t deadline_ns);
/* IRQs masked. Removes t from wq if it is there. */
void waitq_unlink(struct waitq *wq, struct thread *t);

#endif

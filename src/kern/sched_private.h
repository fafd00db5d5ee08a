/*
 * Thread control block and the scheduler primitives that wait queues and
 * completions are built on. Private to src/kern.
 *
 * Locking: the scheduler state (run queue, thread states, wait queues,
 * mutex and rwlock fields, completion counts) is guarded by sched_lock, a
 * spinlock always taken with IRQs masked. Every function here that says
 * "sched_lock held" must be called that way; it never drops it for good
 * (a switch away and back returns with it held again, IRQs still masked).
 */
#ifndef LEVBLK_KERN_SCHED_PRIVATE_H
#define LEVBLK_KERN_SCHED_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/clock.h>
#include <levblk/completion.h>
#include <levblk/kern/thread.h>
#include <levblk/kern/timer.h>
#include <levblk/hal/spinlock.h>
#include "switch.h"

/* The one lock of the scheduler and of every wait queue (see above). */
extern spinlock_t sched_lock;
/*
 * Every release of sched_lock goes through these: reschedule SGIs asked for
 * under the lock (sched.c, resched_cpu) are sent after it is released, since
 * under emulation sending one is an exit into QEMU that may wait for its
 * global lock, and the other CPUs would spin on sched_lock meanwhile.
 */
void sched_unlock(void);
void sched_unlock_irqrestore(irqflags_t flags);

/* The SGI that tells a CPU to reschedule (src/kern/sched.c). */
#define SCHED_SGI_RESCHED 0u
/* The SGI that runs a function on a chosen CPU (src/kern/smp.c). */
#define SMP_SGI_CALL 1u
/* The SGI that wakes a CPU halted in a spinlock wait (src/kern/smp.c; levblk/hal/spinlock.h). */
#define SMP_SGI_LOCK_WAKE 2u
/* Above every other interrupt (IRQ_PRIO_DEFAULT, the timer's): it must end a WFI in a handler. */
#define SMP_LOCK_WAKE_PRIO 0x40u
/* The SGI that runs handed-over work on a CPU (smp.c, smp_kick_work). */
#define SMP_SGI_WORK 3u
/* Lock wake SGIs taken on every CPU since boot (smp.c). */
uint64_t smp_lock_wakes_taken(void);

#define THREAD_MAX	96
#define THREAD_NAME_MAX 16

enum thread_state {
	THREAD_FREE = 0, /* slot unused */
	THREAD_READY,	 /* on the run queue (the idle threads: never queued) */
	THREAD_RUNNING,	 /* the current thread of some CPU */
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
	void *plug;	      /* thread_set_plug(); read by sched_block, IRQ exit and the tick */
	thread_plug_hook_fn *plug_hook;
	int8_t pin;	      /* the one CPU it may run on, -1: any */
	uint8_t cpu;	      /* the CPU it runs or last ran on */
	bool blocking;	      /* between deciding to block and blocking (plug hook running) */
	bool woken;	      /* a wake-up arrived while `blocking` */
	bool timed_sleep;     /* in waitq_sleep_locked_until: its timer may wake it */
	bool queued;	      /* on the run queue (sched.c's counts follow it) */
};

/*
 * sched_lock held. Marks the current thread blocked and switches away;
 * returns when woken (or at once if a wake-up came while its plug was
 * flushed: the caller re-checks its condition in a loop anyway).
 */
void sched_block(void);
/*
 * sched_lock held. Makes a blocked thread ready (unlinking it from its wait
 * queue) and gets a CPU to run it; else no-op.
 */
void sched_wake(struct thread *t);
/*
 * sched_lock held, thread context. Like waitq_sleep_locked, but also woken
 * at deadline_ns (clock_ns units). The caller re-checks its condition and
 * the clock on return.
 */
void waitq_sleep_locked_until(struct waitq *wq, uint64_t deadline_ns);
/* sched_lock held. Removes t from wq if it is there. */
void waitq_unlink(struct waitq *wq, struct thread *t);
/* sched_lock held: waitq_wake_one / waitq_wake_all. */
void waitq_wake_one_locked(struct waitq *wq);
void waitq_wake_all_locked(struct waitq *wq);
/*
 * Takes sched_lock with IRQs masked unless this CPU holds it already (a
 * wake-up from code that runs under it, such as a plug flushed at a switch).
 * Returns whether it took it, for sched_unlock_if.
 */
bool sched_lock_if_needed(irqflags_t *flags);
void sched_unlock_if(bool took, irqflags_t flags);

/* Bring-up (src/kern/smp.c): the boot CPU starts the others, IRQs masked. */
void smp_boot_cpus(void);
/* A CPU other than the boot CPU: tells the boot CPU it is ready to run threads. */
void smp_cpu_ready(void);
/* Where every other CPU starts in the kernel (after src/hal's entry, MMU on, IRQs masked). */
_Noreturn void sched_secondary_main(void);

#endif

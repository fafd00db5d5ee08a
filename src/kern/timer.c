/*
 * One-shot timers (include/levblk/kern/timer.h) on each CPU's EL1 virtual
 * timer.
 *
 * Each CPU has its own list of pending timers under its own lock
 * (timer_cpu[c].lock) and its own timer interrupt (the banked PPI); a timer
 * goes on the list of the CPU that arms it and fires there. Invariant per
 * CPU: whenever IRQs are unmasked on it, its CNTV_CVAL holds the deadline of
 * the first timer on its list (rounded up to a tick), or its timer is
 * disabled when the list is empty. Only the CPU itself programs its timer;
 * a timer cancelled or moved off another CPU's list can leave that CPU's
 * CVAL early: it then takes one interrupt that finds nothing due.
 *
 * Locking: a list lock is never held while a callback runs, and is taken
 * inside the scheduler's lock (lock order: sched_lock, then a timer lock).
 * A callback may already be running on its CPU when timer_cancel() on
 * another CPU returns false; callers whose callback must not run late check
 * a condition under their own lock (sched.c does).
 *
 * The timer PPI is level-sensitive: the handler must leave with the line low
 * (CVAL moved past now, or the timer disabled), or it is re-entered at once
 * after EOI (docs/qemu-virt.md, Interrupts).
 */
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/irq/irq.h>
#include <levblk/kern/timer.h>
#include <levblk/lib/ticks.h>
#include <levblk/lib/timerlist.h>
#include <levblk/hal/gtimer.h>
#include "timer_private.h"

struct timer_cpu {
	spinlock_t lock;
	struct ktimer *head;
} __attribute__((aligned(64))); /* one cache line each: CPUs arm their own all the time */

static struct timer_cpu timer_cpu[CPU_MAX];

/* IRQs masked, on CPU c with its lock held. Points CVAL at the first deadline, or disables. */
static void timer_program(struct timer_cpu *tc)
{
	if (tc->head)
		gtimer_arm(ns_to_ticks_ceil(tc->head->deadline_ns, clock_freq_hz()));
	else
		gtimer_disarm();
}

/*
 * IRQs masked. Takes t off whichever list holds it; true if it was pending.
 *
 * `cpu` means something only while `pending` is set: a timer never armed
 * (zeroed, or, against the header's rule, only its `pending` cleared) may
 * hold any value there, and indexing timer_cpu[] with it would take a lock
 * that is not one. So `pending` is looked at first, and `cpu` is bounded
 * anyway. The unlocked look is a hint: the owner's list lock decides. A
 * timer seen not pending while another CPU arms it is linearised as
 * "cancelled before it was armed".
 */
static bool timer_unlink(struct ktimer *t)
{
	for (;;) {
		/* Acquire: pairs with the list lock's release after `cpu` was stored and the
		 * timer inserted, so a pending timer's `cpu` is the list that holds it. */
		if (!__atomic_load_n(&t->pending, __ATOMIC_ACQUIRE))
			return false;
		unsigned int c = __atomic_load_n(&t->cpu, __ATOMIC_RELAXED);
		if (c >= CPU_MAX)
			return false; /* not armed by timer_arm: on no list */
		struct timer_cpu *tc = &timer_cpu[c];

		spin_lock(&tc->lock);
		/* It may have moved to another CPU's list before we got the lock: look again. */
		if (t->pending && t->cpu != c) {
			spin_unlock(&tc->lock);
			continue;
		}
		bool was_first = tc->head == t;
		bool removed = timerlist_remove(&tc->head, t);
		if (was_first && c == cpu_id())
			timer_program(tc);
		spin_unlock(&tc->lock);
		return removed;
	}
}

void timer_arm(struct ktimer *t, uint64_t deadline_ns, void (*fn)(void *), void *arg)
{
	irqflags_t f = irq_save();
	unsigned int me = cpu_id();
	struct timer_cpu *tc = &timer_cpu[me];

	(void)timer_unlink(t);
	spin_lock(&tc->lock);
	t->deadline_ns = deadline_ns;
	t->fn = fn;
	t->arg = arg;
	__atomic_store_n(&t->cpu, (uint8_t)me, __ATOMIC_RELAXED);
	if (timerlist_insert(&tc->head, t))
		timer_program(tc);
	spin_unlock(&tc->lock);
	irq_restore(f);
}

bool timer_cancel(struct ktimer *t)
{
	irqflags_t f = irq_save();
	bool removed = timer_unlink(t);

	irq_restore(f);
	return removed;
}

/*
 * Interrupt context, this CPU's list. Runs every timer due at entry, each
 * with the list unlocked (a callback may arm timers, its own included).
 * Timers whose deadline passes while callbacks run are left for the next
 * interrupt, which the reprogrammed CVAL raises immediately: the loop is
 * bounded by the timers due at entry, not by how long the callbacks take.
 */
static void timer_irq(void *arg)
{
	(void)arg;
	struct timer_cpu *tc = &timer_cpu[cpu_id()];
	uint64_t now = clock_ns();

	for (;;) {
		spin_lock(&tc->lock);
		struct ktimer *t = timerlist_pop_due(&tc->head, now);
		if (!t) {
			timer_program(tc);
			spin_unlock(&tc->lock);
			return;
		}
		void (*fn)(void *) = t->fn;
		void *fn_arg = t->arg;
		spin_unlock(&tc->lock);
		fn(fn_arg);
	}
}

int timer_start(void)
{
	uint32_t timer_intid = dt_info()->timer_intid_virt;
	int err;

	if (!timer_intid)
		panic("timer: no virtual timer interrupt in the device tree");
	for (unsigned int c = 0; c < CPU_MAX; c++)
		spin_init(&timer_cpu[c].lock, "timer");
	err = irq_register(timer_intid, timer_irq, NULL);
	if (err)
		return err;
	irq_set_priority(timer_intid, TIMER_IRQ_PRIO);
	timer_cpu_start();
	return 0;
}

void timer_cpu_start(void)
{
	struct timer_cpu *tc = &timer_cpu[cpu_id()];
	irqflags_t f = spin_lock_irqsave(&tc->lock);

	timer_program(tc);
	spin_unlock_irqrestore(&tc->lock, f);
}

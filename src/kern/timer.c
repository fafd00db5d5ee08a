/*
 * One-shot timers (include/levblk/kern/timer.h) on the EL1 virtual timer.
 *
 * Invariant: whenever IRQs are unmasked, CNTV_CVAL holds the deadline of the
 * first pending timer (rounded up to a tick), or the timer is disabled when
 * none is pending. The list is touched only with IRQs masked (one CPU), so
 * the interrupt handler and threads never see it half-updated.
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
#include <levblk/irq/irq.h>
#include <levblk/kern/timer.h>
#include <levblk/lib/ticks.h>
#include <levblk/lib/timerlist.h>
#include <levblk/hal/gtimer.h>
#include "timer_private.h"

static struct ktimer *timer_head;

/* IRQs masked. Points CVAL at the first deadline, or disables the timer. */
static void timer_program(void)
{
	if (timer_head)
		gtimer_arm(ns_to_ticks_ceil(timer_head->deadline_ns, clock_freq_hz()));
	else
		gtimer_disarm();
}

void timer_arm(struct ktimer *t, uint64_t deadline_ns, void (*fn)(void *), void *arg)
{
	irqflags_t f = irq_save();
	bool was_first = timer_head == t;

	timerlist_remove(&timer_head, t);
	t->deadline_ns = deadline_ns;
	t->fn = fn;
	t->arg = arg;
	if (timerlist_insert(&timer_head, t) || was_first)
		timer_program();
	irq_restore(f);
}

bool timer_cancel(struct ktimer *t)
{
	irqflags_t f = irq_save();
	bool was_first = timer_head == t;
	bool removed = timerlist_remove(&timer_head, t);

	if (was_first)
		timer_program();
	irq_restore(f);
	return removed;
}

/*
 * Interrupt context. Runs every timer due at entry; a callback may re-arm
 * its own timer (or others) for a later deadline. Timers whose deadline
 * passes while callbacks run are left for the next interrupt, which the
 * reprogrammed CVAL raises immediately: the loop is bounded by the timers
 * due at entry, not by how long the callbacks take.
 */
static void timer_irq(void *arg)
{
	(void)arg;
	uint64_t now = clock_ns();
	struct ktimer *t;

	while ((t = timerlist_pop_due(&timer_head, now)) != NULL)
		t->fn(t->arg);
	timer_program();
}

int timer_start(void)
{
	uint32_t timer_intid = dt_info()->timer_intid_virt;
	int err;

	if (!timer_intid)
		panic("timer: no virtual timer interrupt in the device tree");
	err = irq_register(timer_intid, timer_irq, NULL);
	if (err)
		return err;
	irq_set_priority(timer_intid, TIMER_IRQ_PRIO);
	irqflags_t f = irq_save();
	timer_program();
	irq_restore(f);
	return 0;
}

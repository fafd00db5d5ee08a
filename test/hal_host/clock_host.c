/*
 * Host clock and one-shot timers: time stands still until a test moves it
 * with hal_host_advance(), which fires the timers that fall due, in deadline
 * order, as the target's timer interrupt would.
 */
#include <stddef.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include "hal_host/hal_host.h"

static struct ktimer *host_timers;

uint64_t clock_ns(void)
{
	return hal_host_now_ns;
}

void timer_arm(struct ktimer *t, uint64_t deadline_ns, void (*fn)(void *), void *arg)
{
	timer_cancel(t);
	t->deadline_ns = deadline_ns;
	t->fn = fn;
	t->arg = arg;
	t->pending = true;
	t->next = host_timers;
	host_timers = t;
}

bool timer_cancel(struct ktimer *t)
{
	for (struct ktimer **pp = &host_timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->pending = false;
			return true;
		}
	}
	return false;
}

void hal_host_advance(uint64_t ns)
{
	uint64_t target = hal_host_now_ns + ns;

	for (;;) {
		struct ktimer *first = NULL;
		for (struct ktimer *t = host_timers; t; t = t->next) {
			if (t->deadline_ns <= target && (!first || t->deadline_ns < first->deadline_ns))
				first = t;
		}
		if (!first)
			break;
		timer_cancel(first);
		if (first->deadline_ns > hal_host_now_ns)
			hal_host_now_ns = first->deadline_ns;
		/* Timer callbacks run in "interrupt context": IRQs masked. */
		irqflags_t f = irq_save();
		first->fn(first->arg);
		irq_restore(f);
	}
	hal_host_now_ns = target;
}

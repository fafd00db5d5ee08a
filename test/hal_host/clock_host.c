/*
 * Host clock and one-shot timers: time stands still until a test moves it
 * with hal_host_advance(), which fires the timers that fall due in deadline
 * order (equal deadlines in arming order), as the target's timer interrupt
 * would. The list is the target's own (src/lib/timerlist.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/kern/timer.h>
#include <levblk/lib/timerlist.h>
#include "hal_host/hal_host.h"

static struct ktimer *host_timers;

/* Timers firing at one instant before hal_host_advance calls it a livelock. */
#define HOST_TIMER_STORM 10000u

uint64_t clock_ns(void)
{
	return hal_host_now_ns;
}

void timer_arm(struct ktimer *t, uint64_t deadline_ns, void (*fn)(void *), void *arg)
{
	timerlist_remove(&host_timers, t);
	t->deadline_ns = deadline_ns;
	t->fn = fn;
	t->arg = arg;
	timerlist_insert(&host_timers, t);
}

bool timer_cancel(struct ktimer *t)
{
	return timerlist_remove(&host_timers, t);
}

void hal_host_advance(uint64_t ns)
{
	uint64_t target = hal_host_now_ns + ns;
	struct ktimer *t;

	unsigned int fired_now = 0; /* timers fired without the clock moving */

	while ((t = timerlist_pop_due(&host_timers, target)) != NULL) {
		if (t->deadline_ns > hal_host_now_ns) {
			hal_host_now_ns = t->deadline_ns;
			fired_now = 0;
		}
		if (++fired_now > HOST_TIMER_STORM) {
			/* On the target: a timer interrupt storm, the CPU never leaves it. */
			fprintf(stderr, "hal_host: a timer keeps re-arming for a deadline already "
					"past; the clock cannot move\n");
			abort();
		}
		/* Timer callbacks run in "interrupt context": IRQs masked. */
		irqflags_t f = irq_save();
		t->fn(t->arg);
		irq_restore(f);
	}
	hal_host_now_ns = target;
}

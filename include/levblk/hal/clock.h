/*
 * Monotonic clock and one-shot timers, from the ARM generic timer (virtual
 * counter). clock_ns() may be called from any context.
 *
 * One-shot timers: timer_arm() schedules fn(arg) to run once in interrupt
 * context at or after `deadline_ns` (clock_ns() units). A timer may be re-armed
 * from its own callback. timer_cancel() returns true if the timer was pending
 * and will now not run. Both may be called from threads or interrupt handlers.
 */
#ifndef LEVBLK_HAL_CLOCK_H
#define LEVBLK_HAL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define NSEC_PER_USEC 1000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC  1000000000ull

uint64_t clock_ns(void);

struct ktimer {
	uint64_t deadline_ns;
	void (*fn)(void *arg);
	void *arg;
	struct ktimer *next; /* private to the timer code */
	bool pending;
};

void timer_arm(struct ktimer *t, uint64_t deadline_ns, void (*fn)(void *), void *arg);
bool timer_cancel(struct ktimer *t);

#endif

/*
 * One-shot timers on the monotonic clock (clock_ns(), levblk/hal/clock.h).
 *
 * timer_arm() schedules fn(arg) to run once in interrupt context at or after
 * `deadline_ns` (clock_ns() units); arming a pending timer moves it. A timer
 * may be re-armed from its own callback. timer_cancel() returns true if the
 * timer was pending and will now not run. Both may be called from threads or
 * interrupt handlers. The caller owns the struct ktimer (levblk/lib/timerlist.h)
 * and must not free it while it is pending.
 */
#ifndef LEVBLK_KERN_TIMER_H
#define LEVBLK_KERN_TIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/lib/timerlist.h>

void timer_arm(struct ktimer *t, uint64_t deadline_ns, void (*fn)(void *), void *arg);
bool timer_cancel(struct ktimer *t);

#endif

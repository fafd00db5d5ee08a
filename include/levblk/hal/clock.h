/*
 * Monotonic clock from the ARM generic timer (virtual counter), in
 * nanoseconds since boot. clock_ns() may be called from any context.
 * One-shot timers on this clock are the kernel's: levblk/kern/timer.h.
 */
#ifndef LEVBLK_HAL_CLOCK_H
#define LEVBLK_HAL_CLOCK_H

#include <stdint.h>
#include <levblk/lib/time.h>

uint64_t clock_ns(void);

#endif

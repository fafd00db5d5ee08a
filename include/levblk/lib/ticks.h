/*
 * Counter ticks <-> nanoseconds at a given frequency, without 128-bit
 * arithmetic (no compiler-rt on the target). Pure; host-tested.
 *
 * Each conversion splits the value into whole seconds and a remainder, so
 * every intermediate product stays below 2^64 for any frequency below
 * 2^34 Hz (the remainder times 1e9, or times the frequency, fits).
 */
#ifndef LEVBLK_LIB_TICKS_H
#define LEVBLK_LIB_TICKS_H

#include <stdint.h>

/* Rounds down: the nanosecond time at which `ticks` have elapsed, truncated. */
uint64_t ticks_to_ns(uint64_t ticks, uint64_t freq_hz);
/* Rounds up: the first tick count at or after `ns` (a deadline never fires early). */
uint64_t ns_to_ticks_ceil(uint64_t ns, uint64_t freq_hz);

#endif

/* Ticks <-> ns conversion: see include/levblk/lib/ticks.h for the overflow argument. */
#include <levblk/lib/ticks.h>
#include <levblk/lib/time.h>

uint64_t ticks_to_ns(uint64_t ticks, uint64_t freq_hz)
{
	uint64_t sec = ticks / freq_hz, rem = ticks % freq_hz;

	return sec * NSEC_PER_SEC + rem * NSEC_PER_SEC / freq_hz;
}

uint64_t ns_to_ticks_ceil(uint64_t ns, uint64_t freq_hz)
{
	uint64_t sec = ns / NSEC_PER_SEC, rem = ns % NSEC_PER_SEC;

	return sec * freq_hz + (rem * freq_hz + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
}

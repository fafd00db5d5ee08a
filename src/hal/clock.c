/*
 * Monotonic nanosecond clock from the virtual counter (CNTVCT_EL0 at
 * CNTFRQ_EL0 Hz; 62.5 MHz on QEMU, i.e. 16 ns resolution). The frequency
 * is read once at the first call; the counter is 64 bits and does not wrap
 * in any realistic uptime.
 */
#include <levblk/hal/clock.h>
#include <levblk/hal/exit.h>
#include <levblk/init.h>
#include <levblk/lib/ticks.h>
#include <levblk/hal/gtimer.h>

static uint64_t clock_freq;

uint64_t clock_freq_hz(void)
{
	uint64_t f = __atomic_load_n(&clock_freq, __ATOMIC_RELAXED);

	if (!f) {
		f = gtimer_freq();
		if (!f)
			panic("clock: CNTFRQ_EL0 is 0");
		__atomic_store_n(&clock_freq, f, __ATOMIC_RELAXED);
	}
	return f;
}

uint64_t clock_ns(void)
{
	return ticks_to_ns(gtimer_count(), clock_freq_hz());
}

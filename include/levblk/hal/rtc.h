/*
 * The wall clock: the PL031 real-time clock that QEMU's virt machine
 * describes in the device tree (compatible "arm,pl031"), which counts
 * seconds since 1970 from the host's time at start-up.
 */
#ifndef LEVBLK_HAL_RTC_H
#define LEVBLK_HAL_RTC_H

#include <stdint.h>

/*
 * Seconds since 1970 (UTC) into *out: 0, or -ENODEV when the device tree
 * has no usable PL031 (then *out is untouched). Any context; the device is
 * looked up at the INIT_LEVEL_IRQ initcall.
 */
int rtc_seconds(uint64_t *out);

#endif

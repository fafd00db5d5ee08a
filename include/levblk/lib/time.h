/* Time units: the kernel counts time in nanoseconds (clock_ns(), deadlines). */
#ifndef LEVBLK_LIB_TIME_H
#define LEVBLK_LIB_TIME_H

#define NSEC_PER_USEC 1000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC  1000000000ull

#endif

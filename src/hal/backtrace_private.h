/* Private to src/hal: the ranges a panic backtrace trusts (backtrace.c, selftests). */
#ifndef LEVBLK_HAL_BACKTRACE_PRIVATE_H
#define LEVBLK_HAL_BACKTRACE_PRIVATE_H

#include <stdint.h>
#include <levblk/lib/backtrace.h>

/* The stack range for code whose stack pointer is sp, kernel text, and the frame limit. */
void hal_backtrace_limits(uint64_t sp, struct bt_limits *lim);

#endif

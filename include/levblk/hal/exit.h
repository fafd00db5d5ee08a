/*
 * Leaving the machine. hal_exit() ends QEMU with `status` through semihosting
 * (0 PASS, 1 FAIL, 3 panic: docs/interface.md, "Exit status"); when semihosting is not enabled
 * it powers off through PSCI SYSTEM_OFF. It never returns.
 */
#ifndef LEVBLK_HAL_EXIT_H
#define LEVBLK_HAL_EXIT_H

#define EXIT_PASS  0
#define EXIT_FAIL  1
#define EXIT_PANIC 3

_Noreturn void hal_exit(int status);
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* Controls of the host HAL for tests (test/hal_host/hal_host.c). */
#ifndef LEVBLK_TEST_HAL_HOST_H
#define LEVBLK_TEST_HAL_HOST_H

#include <stdbool.h>
#include <stdint.h>

/* What clock_ns() returns when a test supplies the clock through clock_host.c. */
extern uint64_t hal_host_now_ns;
/* What cpu_id() and cpu_count() return (levblk/hal/percpu.h): 0 and 1 unless a test sets them. */
extern unsigned int hal_host_cpu;
extern unsigned int hal_host_cpus;
/* Silences kprintf (tests that provoke many error messages). */
extern bool hal_host_quiet;

/* kprintf's output is also kept (quiet or not, the first 16 KiB since a clear). */
void hal_host_console_clear(void);
bool hal_host_console_has(const char *text);

/* Moves the host clock forward by ns, firing due one-shot timers on the way. */
void hal_host_advance(uint64_t ns);

#endif

/*
 * Backtraces for panics (src/hal/backtrace.c), printed as "  #n 0x<addr>"
 * lines: #0 is the faulting or panicking PC where known, each later line is
 * a call site (return address - 4), ready for llvm-addr2line -e levblk.elf.
 */
#ifndef LEVBLK_HAL_BACKTRACE_H
#define LEVBLK_HAL_BACKTRACE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Prints the frame chain starting at frame pointer fp, for code running on
 * the stack that holds sp; pc (0 if unknown) is printed first as frame #0.
 * Never faults: see include/levblk/lib/backtrace.h for the checks.
 */
void hal_backtrace(uint64_t fp, uint64_t sp, uint64_t pc);

/*
 * Optional hook for the thread code: the bounds [*lo, *hi) of the stack
 * that contains sp, or false if sp is on no known stack. When it is not
 * defined (or says false), the walk is bounded by the boot stack if sp is on
 * it, else by all of RAM (mapped, so still safe to read).
 */
bool kern_stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) __attribute__((weak));

#endif

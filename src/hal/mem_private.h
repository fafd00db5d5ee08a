/*
 * Private to src/hal: the kernel image layout (from link.ld) and what the
 * memory selftests inspect. The page pool itself is in levblk/hal/page.h.
 */
#ifndef LEVBLK_HAL_MEM_PRIVATE_H
#define LEVBLK_HAL_MEM_PRIVATE_H

#include <stdint.h>
#include <levblk/hal/page.h>

/* Linker symbols (src/hal/link.ld); only their addresses mean anything. */
extern char __kernel_start[], __text_end[], __rodata_end[], __kernel_end[];
extern char __boot_stack_top[];

/* Another CPU, first thing in C: the boot CPU's page tables and settings, MMU and caches on. */
void hal_mmu_enable_secondary(void);

#endif

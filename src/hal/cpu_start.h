/* Private to src/hal: the other CPUs' boot stacks, shared by start.S and cpu_start.c. */
#ifndef LEVBLK_HAL_CPU_START_H
#define LEVBLK_HAL_CPU_START_H

/* Each CPU's stack until its scheduler leaves it for its idle thread. */
#define HAL_CPU_STACK_SIZE 16384

#endif

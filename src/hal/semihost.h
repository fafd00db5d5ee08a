/* Shared between exit.c and trap.c: recognising a semihosting call without semihosting. */
#ifndef LEVBLK_HAL_SEMIHOST_H
#define LEVBLK_HAL_SEMIHOST_H
extern char semihost_hlt_insn[];
extern volatile int hal_semihost_missing;
#endif

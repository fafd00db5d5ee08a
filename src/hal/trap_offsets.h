/* Layout of struct trap_frame shared by vectors.S and trap.h. */
#ifndef LEVBLK_HAL_TRAP_OFFSETS_H
#define LEVBLK_HAL_TRAP_OFFSETS_H
/* x0..x30, elr, spsr, sp: 34 words, 16-byte aligned. */
#define TF_SIZE (34 * 8)
#endif

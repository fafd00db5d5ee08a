/* The saved context of an exception, as vectors.S lays it out. */
#ifndef LEVBLK_HAL_TRAP_H
#define LEVBLK_HAL_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "trap_offsets.h"

struct trap_frame {
	uint64_t x[31];
	uint64_t elr;
	uint64_t spsr;
	uint64_t sp; /* SP at the moment of the exception */
};

_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "vectors.S frame layout");
_Static_assert(offsetof(struct trap_frame, elr) == 31 * 8, "vectors.S frame layout");
_Static_assert(offsetof(struct trap_frame, spsr) == 32 * 8, "vectors.S frame layout");

void trap_sync(struct trap_frame *tf, int kind);
void trap_irq(struct trap_frame *tf, int kind);
void trap_fiq(struct trap_frame *tf, int kind);
void trap_serror(struct trap_frame *tf, int kind);
void trap_bad(struct trap_frame *tf, int kind);
/* True once a panic has started (the console then stops taking its lock). */
bool hal_panicking(void);

#endif

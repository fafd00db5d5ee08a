/*
 * Spinlocks with interrupt save/restore.
 *
 * The kernel runs on one CPU, so the lock word is a correctness check more
 * than a mutual-exclusion device: masking IRQs is what excludes the interrupt
 * handler, and a thread cannot be preempted with IRQs masked. The word still
 * uses an atomic exchange, so the code stays right if a second CPU is ever
 * brought up, and taking a held lock on one CPU (a self-deadlock) panics
 * instead of hanging.
 *
 * Rule: never sleep or yield while holding a spinlock.
 */
#ifndef LEVBLK_HAL_SPINLOCK_H
#define LEVBLK_HAL_SPINLOCK_H

#include <stdbool.h>
#include <levblk/hal/cpu.h>

typedef struct spinlock {
	volatile unsigned int locked;
	const char *name;
} spinlock_t;

#define SPINLOCK_INIT(n) { .locked = 0, .name = (n) }

static inline void spin_init(spinlock_t *l, const char *name)
{
	l->locked = 0;
	l->name = name;
}

/* Masks IRQs, takes the lock, returns the previous interrupt state. */
irqflags_t spin_lock_irqsave(spinlock_t *l);
/* Releases the lock, then restores the interrupt state spin_lock_irqsave() returned. */
void spin_unlock_irqrestore(spinlock_t *l, irqflags_t flags);
static inline bool spin_is_locked(const spinlock_t *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) != 0;
}

#endif

/* Spinlocks: see include/levblk/hal/spinlock.h for the rules. */
#include <levblk/hal/exit.h>
#include <levblk/hal/spinlock.h>

irqflags_t spin_lock_irqsave(spinlock_t *l)
{
	irqflags_t f = irq_save();

	/* One CPU: a held lock here can only be our own, and waiting would never end. */
	if (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		panic("spinlock %s: taken twice (self-deadlock)", l->name ? l->name : "?");
	return f;
}

void spin_unlock_irqrestore(spinlock_t *l, irqflags_t flags)
{
	if (!__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
		panic("spinlock %s: released while not held", l->name ? l->name : "?");
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	irq_restore(flags);
}

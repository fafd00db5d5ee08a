/*
 * Spinlocks that exclude every CPU: fair ticket locks.
 *
 * The word holds two 16-bit counters: `next` (the ticket the next CPU to
 * arrive takes) and `owner` (the ticket now served). Taking the lock takes a
 * ticket with one atomic add (LDAXR/STLXR, or LDADDA where the CPU has the
 * LSE atomics: chosen once at boot from ID_AA64ISAR0_EL1.Atomic) and waits
 * until `owner` reaches it; releasing adds one to `owner` with a
 * store-release. So CPUs get the lock in the order they asked for it, and:
 *   - the acquire side (load-acquire of `owner`, or of the word when the
 *     ticket is served at once) pairs with the release store in
 *     spin_unlock*: everything the previous holder wrote inside the lock is
 *     visible to the next holder;
 *   - a waiter sleeps in WFE between looks: the unlock's store to the word
 *     clears the waiter's exclusive monitor, which is its wake-up event;
 *   - a waiter that has spun long (its holder, or the CPU before it in
 *     line, is likely descheduled by the host) halts in WFI and the release
 *     that serves its ticket wakes it with an SGI (spin_set_waker), so a
 *     host with fewer cores than vCPUs runs the holders instead of spinners.
 *
 * Rules:
 *   - never sleep, yield or block while holding a spinlock;
 *   - a lock also taken by an interrupt handler must always be taken with
 *     spin_lock_irqsave() from threads (or with IRQs already masked), or the
 *     handler, interrupting its own CPU's holder, spins forever;
 *   - spin_lock()/spin_unlock() do not touch the interrupt mask: for callers
 *     that have IRQs masked already, or locks no interrupt handler takes;
 *   - release on the CPU that took it (a lock may pass between threads on
 *     one CPU, as the scheduler's does across a context switch).
 *
 * Checks. Always on: taking a lock this CPU already holds (recursion, a
 * certain self-deadlock) and releasing a lock that is not held. With
 * spin_debug_set(SPIN_DEBUG_ON) also: release by a CPU other than the
 * holder, a hold or a wait longer than spin_debug_limit_ms, and a lock used
 * both with IRQs enabled (spin_lock with IRQs on) and in interrupt context.
 * A failed check panics "spinlock <name>: <what>", or calls the hook given
 * to spin_debug_set() and goes on (tests).
 *
 * Each lock counts its acquisitions and the waiting loops its takers spun
 * (spin_stats): contention = spins / acquisitions.
 */
#ifndef LEVBLK_HAL_SPINLOCK_H
#define LEVBLK_HAL_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/cpu.h>

typedef struct spinlock {
	uint32_t ticket;   /* [15:0] owner (ticket served), [31:16] next (ticket to take) */
	uint16_t holder;   /* cpu_id() + 1 of the holder, 0 when free; written under the lock */
	uint16_t used;	   /* debug: SPIN_USED_* ways this lock was taken */
	const char *name;
	uint64_t acquired; /* acquisitions; updated under the lock */
	uint64_t spins;	   /* waiting-loop turns summed over acquisitions; under the lock */
	uint64_t since_ns; /* debug: when the holder took it */
} spinlock_t;

#define SPINLOCK_INIT(n) {.ticket = 0, .holder = 0, .name = (n)}

static inline void spin_init(spinlock_t *l, const char *name)
{
	*l = (spinlock_t)SPINLOCK_INIT(name);
}

/* Takes the lock; IRQs untouched (see the rules above). */
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
/* Takes it only if free at once; true if taken. IRQs untouched. */
bool spin_trylock(spinlock_t *l);
/* Masks IRQs, takes the lock, returns the previous interrupt state. */
irqflags_t spin_lock_irqsave(spinlock_t *l);
/* Releases the lock, then restores the interrupt state spin_lock_irqsave() returned. */
void spin_unlock_irqrestore(spinlock_t *l, irqflags_t flags);

static inline bool spin_is_locked(const spinlock_t *l)
{
	uint32_t t = __atomic_load_n(&l->ticket, __ATOMIC_RELAXED);

	return (t & 0xffffu) != (t >> 16);
}

/* True if this CPU holds l (always tracked). */
bool spin_held_here(const spinlock_t *l);

/* Acquisitions and spins of a lock so far (read without the lock: approximate while in use). */
void spin_stats(const spinlock_t *l, uint64_t *acquired, uint64_t *spins);

/* Debug checks (see above). */
#define SPIN_DEBUG_ON 1u
typedef void spin_fault_hook_fn(const char *what, const char *lock);
/*
 * Turns the optional checks on (SPIN_DEBUG_ON) or off (0) and sets the fault
 * hook (NULL: panic). Returns the previous hook. Boot CPU, before the locks
 * it is to check are in use by other CPUs, or while they are quiet.
 */
spin_fault_hook_fn *spin_debug_set(unsigned int flags, spin_fault_hook_fn *hook);
/* The limit of a hold or a wait under SPIN_DEBUG_ON, in ms (lock.debug_ms=). */
extern uint64_t spin_debug_limit_ms;

/* The faults, as reported (a test hook compares them). */
#define SPIN_FAULT_RECURSIVE "taken again by the CPU holding it (self-deadlock)"
#define SPIN_FAULT_NOT_HELD  "released while not held"
#define SPIN_FAULT_NOT_OWNER "released by a CPU that does not hold it"
#define SPIN_FAULT_HELD_LONG "held longer than lock.debug_ms"
#define SPIN_FAULT_WAIT_LONG "waited for longer than lock.debug_ms"
#define SPIN_FAULT_IRQ_UNSAFE "taken with IRQs enabled and also in interrupt context"

/*
 * How a release wakes a CPU halted in a lock wait: sends it an interrupt
 * (the kernel's wake SGI). Until one is set waiters only spin. Any context.
 * The interrupt must be more urgent than every other one: a waiter in an
 * interrupt handler halts with that interrupt active, and the GIC signals
 * (so ends the WFI with) only interrupts above the running priority.
 */
typedef void spin_waker_fn(unsigned int cpu);
void spin_set_waker(spin_waker_fn *fn);
/*
 * This CPU may halt in a lock wait from now on: its interrupt controller
 * interface is up and the wake SGI enabled (before that, nothing could end
 * its WFI, so it spins). Each CPU once, IRQs masked.
 */
void spin_halt_allow_here(void);
/* Times any CPU halted waiting for a lock (since boot). */
uint64_t spin_halt_count(void);
/* True when this CPU's LSE atomics are in use (after boot's feature check). */
bool spin_uses_lse(void);

#endif

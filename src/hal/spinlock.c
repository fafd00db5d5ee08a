/*
 * Ticket spinlocks (levblk/hal/spinlock.h for the rules and the ordering).
 *
 * Only the lock word is shared between takers; `holder`, `acquired`,
 * `spins` and `since_ns` are written by the holder alone, under the lock,
 * and read by others only as hints (relaxed atomics).
 */
#include <stddef.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>

#define TICKET_NEXT_ONE	   (1u << 16)
#define TICKET_OWNER_MASK  0xffffu
#define SPIN_USED_IRQS_ON  1u /* spin_lock() with IRQs enabled */
#define SPIN_USED_IN_IRQ   2u /* taken in interrupt context */
#define SPIN_DEBUG_CLOCK_EVERY 1024u /* waiting-loop turns between clock reads (debug) */
/*
 * Turns a waiter spins before it halts (spin_halt): far longer than any
 * critical section takes while its holder runs, far shorter than the host
 * time slice a descheduled holder (or next ticket holder) costs.
 */
#define SPIN_HALT_AFTER 4096u
#define ID_AA64ISAR0_ATOMIC_SHIFT 20
#define ID_AA64ISAR0_ATOMIC_LSE	  2u /* LDADD, CAS, SWP and friends */

uint64_t spin_debug_limit_ms = 2000;
PARAM_U64("lock.debug_ms", spin_debug_limit_ms, 1, 3600000,
	  "with the spinlock debug checks on, the longest hold or wait allowed");

static bool spin_lse;
static unsigned int spin_debug;
static uint64_t spin_debug_boot;
PARAM_U64("lock.debug", spin_debug_boot, 0, 1, "1: spinlock debug checks on from boot (panic on a fault)");
static spin_fault_hook_fn *spin_fault_hook;

/*
 * Halting waiters. Under emulation every vCPU is a host thread, and a host
 * with fewer cores than vCPUs deschedules some of them: a ticket handed to
 * a descheduled vCPU makes every other waiter spin away its host time slice
 * (and WFE does not give the core back: TCG treats it as a NOP). So a waiter
 * that has spun SPIN_HALT_AFTER turns says which lock and ticket it waits
 * for, here, and halts in WFI, giving its host core to the vCPUs that hold
 * or are next in line; the release that serves its ticket wakes it with an
 * SGI (spin_waker: set by the kernel once the SGI exists). Per CPU, written
 * by that CPU only: `ticket` first, then `lock` with release (a reader that
 * sees the lock sees the ticket), lock NULL while not halted.
 */
struct spin_halted {
	const spinlock_t *lock;
	uint16_t ticket;
	bool may_halt;	/* its interrupt controller is up: a wake SGI reaches it */
	uint64_t halts; /* times this CPU halted on a lock (spin_halt_count) */
};
static struct spin_halted spin_halted[CPU_MAX];
static spin_waker_fn *spin_waker;

static void spin_fault(const spinlock_t *l, const char *what)
{
	spin_fault_hook_fn *hook = __atomic_load_n(&spin_fault_hook, __ATOMIC_ACQUIRE);

	if (hook) {
		hook(what, l->name ? l->name : "?");
		return;
	}
	panic("spinlock %s: %s", l->name ? l->name : "?", what);
}

spin_fault_hook_fn *spin_debug_set(unsigned int flags, spin_fault_hook_fn *hook)
{
	spin_fault_hook_fn *old = spin_fault_hook;

	__atomic_store_n(&spin_fault_hook, hook, __ATOMIC_RELEASE);
	__atomic_store_n(&spin_debug, flags, __ATOMIC_RELEASE);
	return old;
}

bool spin_uses_lse(void)
{
	return spin_lse;
}

/* Takes a ticket: atomically adds one to `next`, returns the word before. */
static inline uint32_t ticket_take(spinlock_t *l)
{
	uint32_t old, tmp, fail;

	if (spin_lse) {
		/* LDADDA: acquire; pairs with the STLRH of the previous holder's release. */
		__asm__ volatile(".arch_extension lse\n\t"
				 "ldadda %w[inc], %w[old], %[word]"
				 : [old] "=&r"(old), [word] "+Q"(l->ticket)
				 : [inc] "r"(TICKET_NEXT_ONE)
				 : "memory");
		return old;
	}
	/* LDAXR/STLXR loop: acquire on the load pairs with the previous holder's release. */
	__asm__ volatile("1:	ldaxr	%w[old], %[word]\n\t"
			 "	add	%w[tmp], %w[old], %w[inc]\n\t"
			 "	stxr	%w[fail], %w[tmp], %[word]\n\t"
			 "	cbnz	%w[fail], 1b"
			 : [old] "=&r"(old), [tmp] "=&r"(tmp), [fail] "=&r"(fail),
			   [word] "+Q"(l->ticket)
			 : [inc] "r"(TICKET_NEXT_ONE)
			 : "memory");
	return old;
}

void spin_set_waker(spin_waker_fn *fn)
{
	__atomic_store_n(&spin_waker, fn, __ATOMIC_RELEASE);
}

void spin_halt_allow_here(void)
{
	__atomic_store_n(&spin_halted[cpu_id()].may_halt, true, __ATOMIC_RELAXED);
}

uint64_t spin_halt_count(void)
{
	uint64_t n = 0;

	for (unsigned int c = 0; c < CPU_MAX; c++)
		n += __atomic_load_n(&spin_halted[c].halts, __ATOMIC_RELAXED);
	return n;
}

/*
 * Halts this CPU until its ticket may have come up (or any interrupt: WFI
 * wakes on a pending IRQ even with IRQs masked; it is taken later, when
 * they are unmasked). The no-lost-wake-up argument is Dekker's: we publish
 * our ticket, full barrier, look at `owner`; the releaser (spin_wake_next)
 * stores `owner`, full barrier, looks at the halted CPUs. One of the two
 * sees the other's store: either we see our turn and do not halt, or the
 * releaser sees us and its SGI is pending before or during our WFI.
 */
static void spin_halt(spinlock_t *l, uint16_t mine)
{
	/*
	 * IRQs masked from publishing to clearing: an interrupt handler that
	 * halted on another lock in between would overwrite this CPU's record
	 * (and a thread could be switched out holding a ticket). WFI still
	 * ends on a pending interrupt; it is taken at irq_restore.
	 */
	irqflags_t f = irq_save();
	struct spin_halted *h = &spin_halted[cpu_id()];

	__atomic_store_n(&h->ticket, mine, __ATOMIC_RELAXED);
	__atomic_store_n(&h->lock, l, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* pairs with spin_wake_next's fence */
	if ((uint16_t)(__atomic_load_n(&l->ticket, __ATOMIC_RELAXED) & TICKET_OWNER_MASK) != mine) {
		__atomic_store_n(&h->halts, h->halts + 1, __ATOMIC_RELAXED);
		cpu_wfi();
	}
	__atomic_store_n(&h->lock, NULL, __ATOMIC_RELAXED);
	irq_restore(f);
}

/*
 * After a release that left takers waiting: wakes the CPU halted for the
 * ticket now served, if one is. See spin_halt for the pairing.
 */
static void spin_wake_next(spinlock_t *l)
{
	spin_waker_fn *wake = __atomic_load_n(&spin_waker, __ATOMIC_ACQUIRE);

	if (!wake)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* our `owner` store before the look below */
	uint16_t turn = (uint16_t)(__atomic_load_n(&l->ticket, __ATOMIC_RELAXED) & TICKET_OWNER_MASK);
	for (unsigned int c = 0; c < CPU_MAX; c++) {
		struct spin_halted *h = &spin_halted[c];

		if (__atomic_load_n(&h->lock, __ATOMIC_ACQUIRE) == l &&
		    __atomic_load_n(&h->ticket, __ATOMIC_RELAXED) == turn)
			wake(c);
	}
}

/*
 * Waits until the owner counter reaches `mine`; returns the turns spun.
 * LDAXRH arms the exclusive monitor on the word, so the holder's release
 * store (STLRH in spin_unlock) is an event that ends the WFE; SEVL makes the
 * first WFE fall through. Load-acquire pairs with that store-release.
 */
static uint64_t ticket_wait(spinlock_t *l, uint16_t mine)
{
	uint64_t turns = 0, t0 = 0;
	uint32_t owner;
	bool debug = __atomic_load_n(&spin_debug, __ATOMIC_RELAXED) != 0;

	if (debug)
		t0 = clock_ns();
	__asm__ volatile("sevl" ::: "memory");
	for (;;) {
		__asm__ volatile("wfe\n\tldaxrh %w0, %1"
				 : "=&r"(owner)
				 : "Q"(*(volatile uint16_t *)&l->ticket)
				 : "memory");
		if ((uint16_t)owner == mine)
			return turns;
		turns++;
		if (turns % SPIN_HALT_AFTER == 0 && __atomic_load_n(&spin_waker, __ATOMIC_RELAXED) &&
		    __atomic_load_n(&spin_halted[cpu_id()].may_halt, __ATOMIC_RELAXED)) {
			spin_halt(l, mine);
			__asm__ volatile("sevl" ::: "memory"); /* the next WFE falls through: look at once */
		}
		if (debug && turns % SPIN_DEBUG_CLOCK_EVERY == 0 &&
		    clock_ns() - t0 > spin_debug_limit_ms * 1000000ull) {
			spin_fault(l, SPIN_FAULT_WAIT_LONG);
			t0 = clock_ns(); /* a hook goes on waiting; report once per limit */
		}
	}
}

static void note_use(spinlock_t *l, bool lock_only)
{
	unsigned int use = 0;

	if (lock_only && !irqs_disabled())
		use |= SPIN_USED_IRQS_ON;
	if (cpu_in_irq())
		use |= SPIN_USED_IN_IRQ;
	l->used |= (uint16_t)use;
	if ((l->used & (SPIN_USED_IRQS_ON | SPIN_USED_IN_IRQ)) ==
	    (SPIN_USED_IRQS_ON | SPIN_USED_IN_IRQ))
		spin_fault(l, SPIN_FAULT_IRQ_UNSAFE);
}

static void lock_common(spinlock_t *l, bool lock_only)
{
	uint16_t me = (uint16_t)(cpu_id() + 1);

	if (__atomic_load_n(&l->holder, __ATOMIC_RELAXED) == me) {
		/* Only this CPU writes `me` there, and only while it holds the lock. */
		spin_fault(l, SPIN_FAULT_RECURSIVE);
		return; /* a hook goes on as if it had been taken; the release then balances */
	}
	uint32_t old = ticket_take(l);
	uint16_t mine = (uint16_t)(old >> 16);
	uint64_t turns = 0;

	if ((uint16_t)(old & TICKET_OWNER_MASK) != mine)
		turns = ticket_wait(l, mine);
	__atomic_store_n(&l->holder, me, __ATOMIC_RELAXED);
	l->acquired++;
	l->spins += turns;
	if (__atomic_load_n(&spin_debug, __ATOMIC_RELAXED)) {
		l->since_ns = clock_ns();
		note_use(l, lock_only);
	}
}

static void unlock_common(spinlock_t *l)
{
	uint16_t me = (uint16_t)(cpu_id() + 1);
	uint16_t holder = __atomic_load_n(&l->holder, __ATOMIC_RELAXED);

	if (!spin_is_locked(l)) {
		spin_fault(l, SPIN_FAULT_NOT_HELD);
		return;
	}
	if (__atomic_load_n(&spin_debug, __ATOMIC_RELAXED)) {
		if (holder != me)
			spin_fault(l, SPIN_FAULT_NOT_OWNER);
		if (clock_ns() - l->since_ns > spin_debug_limit_ms * 1000000ull)
			spin_fault(l, SPIN_FAULT_HELD_LONG);
	}
	__atomic_store_n(&l->holder, 0, __ATOMIC_RELAXED);
	/*
	 * Only the holder writes `owner`: a plain read of it and a store-release
	 * of the halfword (little-endian: the low half of the word). Pairs with
	 * the load-acquire in ticket_wait / ticket_take of the next holder.
	 */
	uint16_t owner = (uint16_t)(__atomic_load_n(&l->ticket, __ATOMIC_RELAXED) & TICKET_OWNER_MASK);
	__atomic_store_n((uint16_t *)&l->ticket, (uint16_t)(owner + 1), __ATOMIC_RELEASE);
	/*
	 * Takers still waiting (`next` past the new owner: a load of the word
	 * we just stored to sees our store or a later one): the next in line
	 * may have halted. Uncontended releases stop here.
	 */
	uint32_t t = __atomic_load_n(&l->ticket, __ATOMIC_RELAXED);
	if ((t >> 16) != (t & TICKET_OWNER_MASK))
		spin_wake_next(l);
}

void spin_lock(spinlock_t *l)
{
	lock_common(l, true);
}

void spin_unlock(spinlock_t *l)
{
	unlock_common(l);
}

bool spin_trylock(spinlock_t *l)
{
	uint32_t old = __atomic_load_n(&l->ticket, __ATOMIC_RELAXED);

	if ((old & TICKET_OWNER_MASK) != (old >> 16))
		return false;
	/* Free: take the next ticket only if nobody took one meanwhile. Acquire on success. */
	if (!__atomic_compare_exchange_n(&l->ticket, &old, old + TICKET_NEXT_ONE, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&l->holder, (uint16_t)(cpu_id() + 1), __ATOMIC_RELAXED);
	l->acquired++;
	if (__atomic_load_n(&spin_debug, __ATOMIC_RELAXED)) {
		l->since_ns = clock_ns();
		note_use(l, true);
	}
	return true;
}

irqflags_t spin_lock_irqsave(spinlock_t *l)
{
	irqflags_t f = irq_save();

	lock_common(l, false);
	return f;
}

void spin_unlock_irqrestore(spinlock_t *l, irqflags_t flags)
{
	unlock_common(l);
	irq_restore(flags);
}

bool spin_held_here(const spinlock_t *l)
{
	return __atomic_load_n(&l->holder, __ATOMIC_RELAXED) == (uint16_t)(cpu_id() + 1);
}

void spin_stats(const spinlock_t *l, uint64_t *acquired, uint64_t *spins)
{
	*acquired = __atomic_load_n(&l->acquired, __ATOMIC_RELAXED);
	*spins = __atomic_load_n(&l->spins, __ATOMIC_RELAXED);
}

/*
 * The boot CPU, before any other CPU runs: from then on every lock uses
 * LSE if the CPU has it. Taking a ticket with LL/SC on one CPU and with
 * LDADDA on another would still be atomic; the choice is made once only
 * so that the code path is the same everywhere.
 */
static int spin_choose_atomics(void)
{
	uint64_t isar0;

	__asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
	spin_lse = ((isar0 >> ID_AA64ISAR0_ATOMIC_SHIFT) & 0xfu) >= ID_AA64ISAR0_ATOMIC_LSE;
	if (spin_debug_boot)
		spin_debug = SPIN_DEBUG_ON;
	return 0;
}
INITCALL(INIT_LEVEL_EARLY, spin_choose_atomics);

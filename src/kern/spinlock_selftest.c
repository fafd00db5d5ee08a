/*
 * Selftests of the spinlock checks on one CPU (the cross-CPU ones are in
 * smp_selftest.c): recursion and release of a free lock are caught (always
 * on); with the debug checks on, a hold longer than lock.debug_ms and a lock
 * taken both with IRQs enabled and in an interrupt handler are caught; the
 * acquisition counter is exact; the atomics chosen at boot match the CPU.
 * Faults go to a hook that counts them instead of panicking.
 */
#include <stdbool.h>
#include <levblk/atomic.h>
#include <levblk/console.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>
#include <levblk/irq/irq.h>
#include <levblk/lib/string.h>
#include <levblk/lib/time.h>

#define TEST_SGI	 6u /* irq_selftest.c uses 7 */
#define SGI_WAIT_NS	 (100ull * NSEC_PER_MSEC)
#define HOLD_LIMIT_MS	 2u
#define ID_ATOMIC_SHIFT	 20
#define ID_ATOMIC_LSE	 2u

static const char *fault_what[4];
static unsigned int faults;

/* Counts the faults of the test's own locks ("st.*"): with several CPUs others may fault too. */
static void count_fault(const char *what, const char *lock)
{
	if (strncmp(lock, "st.", 3) != 0)
		return;
	if (faults < 4)
		fault_what[faults] = what;
	faults++;
}

static bool expect_faults(const char *test, unsigned int n, const char *first)
{
	if (faults != n || (n && strcmp(fault_what[0], first) != 0)) {
		kprintf("# %s: %u faults (want %u), first \"%s\"\n", test, faults, n,
			faults ? fault_what[0] : "");
		return false;
	}
	return true;
}

static bool test_recursion(void)
{
	spinlock_t l = SPINLOCK_INIT("st.recursion");
	spin_fault_hook_fn *old = spin_debug_set(0, count_fault);
	bool ok;

	faults = 0;
	irqflags_t f = spin_lock_irqsave(&l);
	irqflags_t g = spin_lock_irqsave(&l); /* caught: returns without waiting */
	spin_unlock_irqrestore(&l, g);
	ok = expect_faults("recursion", 1, SPIN_FAULT_RECURSIVE) && !spin_is_locked(&l);
	spin_unlock_irqrestore(&l, f); /* the balancing release: now not held */
	ok = ok && faults == 2 && strcmp(fault_what[1], SPIN_FAULT_NOT_HELD) == 0;
	spin_debug_set(0, old);
	return ok;
}
SELFTEST("spin.recursion_and_free_release", test_recursion);

static bool test_counts(void)
{
	spinlock_t l = SPINLOCK_INIT("st.counts");
	uint64_t acq, spins;

	for (unsigned int i = 0; i < 100; i++) {
		irqflags_t f = spin_lock_irqsave(&l);
		if (!spin_held_here(&l) || !spin_is_locked(&l)) {
			spin_unlock_irqrestore(&l, f);
			kprintf("# not held after taking it\n");
			return false;
		}
		spin_unlock_irqrestore(&l, f);
	}
	if (!spin_trylock(&l) || spin_trylock(&l)) {
		kprintf("# trylock: free lock refused or held lock taken\n");
		return false;
	}
	spin_unlock(&l);
	spin_stats(&l, &acq, &spins);
	if (acq != 101 || spins != 0 || spin_is_locked(&l)) {
		kprintf("# acquired %lu (want 101), spins %lu (want 0)\n", (unsigned long)acq,
			(unsigned long)spins);
		return false;
	}
	return true;
}
SELFTEST("spin.counts_and_trylock", test_counts);

static bool test_held_long(void)
{
	spinlock_t l = SPINLOCK_INIT("st.held_long");
	uint64_t old_limit = spin_debug_limit_ms;
	spin_fault_hook_fn *old = spin_debug_set(SPIN_DEBUG_ON, count_fault);

	faults = 0;
	spin_debug_limit_ms = HOLD_LIMIT_MS;
	irqflags_t f = spin_lock_irqsave(&l);
	uint64_t until = clock_ns() + 2 * HOLD_LIMIT_MS * NSEC_PER_MSEC;
	while (clock_ns() < until)
		cpu_relax();
	spin_unlock_irqrestore(&l, f);
	spin_debug_limit_ms = old_limit;
	bool ok = expect_faults("held long", 1, SPIN_FAULT_HELD_LONG);
	spin_debug_set(0, old);
	return ok;
}
SELFTEST("spin.debug_held_too_long", test_held_long);

static spinlock_t irq_lock = SPINLOCK_INIT("st.irq_unsafe");
static atomic32_t sgi_hits;

static void sgi_takes_lock(void *arg)
{
	(void)arg;
	spin_lock(&irq_lock); /* interrupt context: IRQs masked */
	spin_unlock(&irq_lock);
	atomic32_inc(&sgi_hits);
}

static bool test_irq_unsafe(void)
{
	spin_fault_hook_fn *old = spin_debug_set(SPIN_DEBUG_ON, count_fault);
	bool ok = true;

	faults = 0;
	if (irq_register(TEST_SGI, sgi_takes_lock, NULL) < 0) {
		kprintf("# SGI %u not free\n", TEST_SGI);
		spin_debug_set(0, old);
		return false;
	}
	/* In a handler only, then also from a thread with IRQs on: the second use is the fault. */
	irq_raise(TEST_SGI);
	uint64_t end = clock_ns() + SGI_WAIT_NS;
	while (atomic32_read(&sgi_hits) == 0 && clock_ns() < end)
		cpu_relax();
	ok &= expect_faults("in handler only", 0, NULL);
	spin_lock(&irq_lock);
	spin_unlock(&irq_lock);
	ok &= expect_faults("IRQ-unsafe", 1, SPIN_FAULT_IRQ_UNSAFE);
	irq_unregister(TEST_SGI);
	spin_debug_set(0, old);
	if (atomic32_read(&sgi_hits) != 1) {
		kprintf("# SGI delivered %u times\n", atomic32_read(&sgi_hits));
		ok = false;
	}
	return ok;
}
SELFTEST("spin.debug_irq_unsafe", test_irq_unsafe);

static bool test_lse_choice(void)
{
	uint64_t isar0;

	__asm__ volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
	bool has = ((isar0 >> ID_ATOMIC_SHIFT) & 0xfu) >= ID_ATOMIC_LSE;
	kprintf("# ticket locks use %s\n", spin_uses_lse() ? "LSE (LDADDA)" : "LDAXR/STLXR");
	return has == spin_uses_lse();
}
SELFTEST("spin.atomics_match_cpu", test_lse_choice);

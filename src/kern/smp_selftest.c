/*
 * Selftests of the CPUs working together, meaningful with -smp 2..8 (and
 * passing trivially on one CPU): every CPU online runs threads pinned to it;
 * a lock torture on every CPU with exact totals under each lock kind; a
 * completion and a wait-queue ping-pong between two CPUs with no lost
 * wake-up (a lost one hangs the join: ctest's timeout fails it); a function
 * called on every CPU by IPI; a thread moving itself from CPU to CPU; the
 * spinlock owner check across CPUs; the scheduler lock's contention.
 */
#include <stdbool.h>
#include <levblk/atomic.h>
#include <levblk/completion.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>
#include <levblk/kern/sched.h>
#include <levblk/kern/smp.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/string.h>
#include <levblk/mutex.h>
#include <levblk/rwlock.h>
#include "sched_private.h"

#define TORTURE_PER_CPU	 2u   /* threads per CPU */
#define TORTURE_ROUNDS	 40u  /* per thread and lock kind; small: a cross-CPU wake-up under TCG costs ms */
#define PINGPONG_ROUNDS	 50u
#define SMP_THREADS_MAX	 (CPU_MAX * TORTURE_PER_CPU)

static bool join_all(struct thread **t, unsigned int n)
{
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		if (t[i])
			thread_join(t[i]);
		else
			ok = false;
	}
	if (!ok)
		kprintf("# out of threads\n");
	return ok;
}

/* --- every CPU online runs threads pinned to it --------------------------------------- */

static atomic32_t ran_on[CPU_MAX], ran_wrong;

static void where_main(void *arg)
{
	unsigned int want = (unsigned int)(uintptr_t)arg;

	for (unsigned int i = 0; i < 20; i++) {
		if (cpu_id() != want)
			atomic32_inc(&ran_wrong);
		thread_yield();
	}
	atomic32_inc(&ran_on[want]);
}

static bool st_every_cpu(void)
{
	unsigned int n = cpu_count();
	struct thread *t[CPU_MAX];

	atomic32_set(&ran_wrong, 0);
	for (unsigned int c = 0; c < n; c++) {
		atomic32_set(&ran_on[c], 0);
		t[c] = thread_create_on("where", where_main, (void *)(uintptr_t)c, (int)c);
	}
	if (!join_all(t, n))
		return false;
	kprintf("# %u CPUs online\n", n);
	for (unsigned int c = 0; c < n; c++) {
		if (atomic32_read(&ran_on[c]) != 1) {
			kprintf("# CPU %u: its pinned thread did not finish\n", c);
			return false;
		}
	}
	if (atomic32_read(&ran_wrong)) {
		kprintf("# %u looks at cpu_id() found a pinned thread elsewhere\n",
			atomic32_read(&ran_wrong));
		return false;
	}
	return thread_create_on("nowhere", where_main, NULL, (int)n) == NULL;
}
SELFTEST("smp.every_cpu_runs_pinned_threads", st_every_cpu);

/* --- lock torture ------------------------------------------------------------------------ */

static spinlock_t tt_spin = SPINLOCK_INIT("torture");
static struct mutex tt_mutex = MUTEX_INIT("torture");
static struct rwlock tt_rw;
static uint64_t tt_spin_n, tt_mutex_n, tt_rw_n; /* plain: each under its lock */
static uint64_t tt_pair[2];			/* written as a pair under the rwlock */
static atomic64_t tt_atomic;
static atomic32_t tt_torn, tt_cpus_seen[CPU_MAX];

static void torture_main(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < TORTURE_ROUNDS; i++) {
		irqflags_t f = spin_lock_irqsave(&tt_spin);
		uint64_t v = tt_spin_n;
		cpu_relax(); /* widen the window a broken lock would let others into */
		tt_spin_n = v + 1;
		spin_unlock_irqrestore(&tt_spin, f);

		mutex_lock(&tt_mutex);
		v = tt_mutex_n;
		if (i % 8 == 0)
			thread_yield(); /* a mutex may be held across a switch */
		tt_mutex_n = v + 1;
		mutex_unlock(&tt_mutex);

		if (i % 4 == 0) {
			rwlock_write_lock(&tt_rw);
			tt_rw_n++;
			tt_pair[0]++;
			cpu_relax();
			tt_pair[1]++;
			rwlock_write_unlock(&tt_rw);
		} else {
			rwlock_read_lock(&tt_rw);
			if (tt_pair[0] != tt_pair[1])
				atomic32_inc(&tt_torn);
			rwlock_read_unlock(&tt_rw);
		}
		atomic64_inc(&tt_atomic);
		atomic32_inc(&tt_cpus_seen[cpu_id()]);
	}
}

static bool st_lock_torture(void)
{
	unsigned int n = cpu_count() * TORTURE_PER_CPU;
	struct thread *t[SMP_THREADS_MAX];
	uint64_t writes = 0;

	rwlock_init(&tt_rw, "torture");
	tt_spin_n = tt_mutex_n = tt_rw_n = tt_pair[0] = tt_pair[1] = 0;
	atomic64_set(&tt_atomic, 0);
	atomic32_set(&tt_torn, 0);
	for (unsigned int c = 0; c < CPU_MAX; c++)
		atomic32_set(&tt_cpus_seen[c], 0);
	for (unsigned int i = 0; i < n; i++)
		t[i] = thread_create_on("torture", torture_main, NULL, (int)(i % cpu_count()));
	if (!join_all(t, n))
		return false;
	for (unsigned int i = 0; i < TORTURE_ROUNDS; i += 4)
		writes++;
	uint64_t want = (uint64_t)n * TORTURE_ROUNDS;
	kprintf("# %u threads on %u CPUs: spin %lu mutex %lu rwlock %lu atomic %lu (want %lu, %lu "
		"writes)\n",
		n, cpu_count(), (unsigned long)tt_spin_n, (unsigned long)tt_mutex_n,
		(unsigned long)tt_rw_n, (unsigned long)atomic64_read(&tt_atomic),
		(unsigned long)want, (unsigned long)(writes * n));
	bool ok = tt_spin_n == want && tt_mutex_n == want && atomic64_read(&tt_atomic) == want &&
		  tt_rw_n == writes * n && tt_pair[0] == tt_pair[1] && atomic32_read(&tt_torn) == 0;
	for (unsigned int c = 0; c < cpu_count(); c++) {
		if (atomic32_read(&tt_cpus_seen[c]) != TORTURE_PER_CPU * TORTURE_ROUNDS) {
			kprintf("# CPU %u did %u rounds\n", c, atomic32_read(&tt_cpus_seen[c]));
			ok = false;
		}
	}
	return ok;
}
SELFTEST("smp.lock_torture", st_lock_torture);

/* --- ping-pong across CPUs: completions, then a wait queue ----------------------------- */

static struct completion pp_a, pp_b;
static atomic32_t pp_hits;

static void pp_side(void *arg)
{
	bool first = arg != NULL;

	for (unsigned int i = 0; i < PINGPONG_ROUNDS; i++) {
		if (first) {
			complete(&pp_b);
			wait_for_completion(&pp_a);
		} else {
			wait_for_completion(&pp_b);
			complete(&pp_a);
		}
		atomic32_inc(&pp_hits);
	}
}

static struct waitq wq_ping = WAITQ_INIT;
static uint32_t wq_turn; /* whose turn: 0 or 1; changed then woken, checked under the wait lock */

static void wq_side(void *arg)
{
	uint32_t me = (uint32_t)(uintptr_t)arg;

	for (unsigned int i = 0; i < PINGPONG_ROUNDS; i++) {
		irqflags_t f = waitq_lock_irqsave();
		while (__atomic_load_n(&wq_turn, __ATOMIC_ACQUIRE) != me)
			waitq_sleep_locked(&wq_ping);
		waitq_unlock_irqrestore(f);
		atomic32_inc(&pp_hits);
		/* The condition first, then the wake-up (levblk/completion.h). */
		__atomic_store_n(&wq_turn, 1 - me, __ATOMIC_RELEASE);
		waitq_wake_all(&wq_ping);
	}
}

static bool st_pingpong(void)
{
	int other = (int)cpu_count() - 1;
	struct thread *t[2];

	completion_init(&pp_a);
	completion_init(&pp_b);
	atomic32_set(&pp_hits, 0);
	t[0] = thread_create_on("ping", pp_side, (void *)1, 0);
	t[1] = thread_create_on("pong", pp_side, NULL, other);
	if (!join_all(t, 2))
		return false;
	wq_turn = 0;
	t[0] = thread_create_on("wq0", wq_side, (void *)0, 0);
	t[1] = thread_create_on("wq1", wq_side, (void *)1, other);
	if (!join_all(t, 2))
		return false;
	kprintf("# CPU 0 <-> CPU %d: %u hops\n", other, atomic32_read(&pp_hits));
	return atomic32_read(&pp_hits) == 4 * PINGPONG_ROUNDS && !try_wait_for_completion(&pp_a) &&
	       !try_wait_for_completion(&pp_b);
}
SELFTEST("smp.pingpong_across_cpus", st_pingpong);

/* --- IPIs: a function run on every CPU ------------------------------------------------- */

static atomic32_t call_wrong, call_hits;

static void call_fn(void *arg)
{
	if (cpu_id() != (unsigned int)(uintptr_t)arg || !cpu_in_irq())
		atomic32_inc(&call_wrong);
	atomic32_inc(&call_hits);
}

static bool st_ipi(void)
{
	unsigned int n = cpu_count();

	atomic32_set(&call_wrong, 0);
	atomic32_set(&call_hits, 0);
	for (unsigned int round = 0; round < 3; round++) {
		for (unsigned int c = 0; c < n; c++) {
			uint64_t before = smp_calls_taken(c);
			if (smp_call_on(c, call_fn, (void *)(uintptr_t)c) < 0 ||
			    smp_calls_taken(c) != before + 1) {
				kprintf("# call on CPU %u not taken\n", c);
				return false;
			}
		}
	}
	kprintf("# %u calls over %u CPUs, %lu reschedule kicks so far\n",
		atomic32_read(&call_hits), n, (unsigned long)sched_kick_count());
	return atomic32_read(&call_hits) == 3 * n && atomic32_read(&call_wrong) == 0 &&
	       smp_call_on(n, call_fn, NULL) == -EINVAL;
}
SELFTEST("smp.ipi_calls_every_cpu", st_ipi);

/* --- affinity: a thread moves itself ---------------------------------------------------- */

static bool st_affinity(void)
{
	struct thread *self = thread_current();
	bool ok = true;

	for (unsigned int round = 0; round < 2; round++) {
		for (int c = (int)cpu_count() - 1; c >= 0; c--) {
			if (thread_pin(self, c) < 0 || cpu_id() != (unsigned int)c ||
			    thread_cpu(self) != c) {
				kprintf("# pinned to %d, running on %u\n", c, cpu_id());
				ok = false;
			}
			thread_yield(); /* and it stays there */
			ok &= cpu_id() == (unsigned int)c;
		}
	}
	ok &= thread_pin(self, (int)cpu_count()) < 0;
	thread_pin(self, 0); /* the runner stays on CPU 0 */
	return ok;
}
SELFTEST("smp.affinity_honoured", st_affinity);

/* --- the spinlock owner check across CPUs -------------------------------------------- */

static spinlock_t owner_lock = SPINLOCK_INIT("st.owner");
static const char *owner_fault;

static void owner_hook(const char *what, const char *lock)
{
	if (strcmp(lock, "st.owner") == 0)
		owner_fault = what;
}

static void release_here(void *arg)
{
	(void)arg;
	spin_unlock(&owner_lock); /* on another CPU than the one that took it */
}

static bool st_owner(void)
{
	if (cpu_count() < 2)
		return true; /* needs two CPUs */
	spin_fault_hook_fn *old = spin_debug_set(SPIN_DEBUG_ON, owner_hook);
	owner_fault = NULL;
	thread_pin(thread_current(), 0);
	spin_lock(&owner_lock); /* IRQs on: a test lock no handler takes */
	smp_call_on(1, release_here, NULL);
	spin_debug_set(0, old);
	bool ok = owner_fault && strcmp(owner_fault, SPIN_FAULT_NOT_OWNER) == 0 &&
		  !spin_is_locked(&owner_lock);
	if (!ok)
		kprintf("# fault: %s\n", owner_fault ? owner_fault : "none");
	return ok;
}
SELFTEST("smp.spin_owner_check", st_owner);

/* --- a long lock wait halts, and the release wakes it ------------------------------------ */

#define HALT_WAIT_NS (2ull * NSEC_PER_SEC)

static spinlock_t halt_lock = SPINLOCK_INIT("st.halt");
static atomic32_t halt_got;

/* On CPU 1, IRQs masked while it waits: only the wake SGI (or a tick) ends its WFI. */
static void halt_taker(void *arg)
{
	(void)arg;
	irqflags_t f = spin_lock_irqsave(&halt_lock);
	atomic32_inc(&halt_got);
	spin_unlock_irqrestore(&halt_lock, f);
}

static bool wait_until(bool (*cond)(uint64_t), uint64_t arg)
{
	uint64_t end = clock_ns() + HALT_WAIT_NS;

	while (!cond(arg)) {
		if (clock_ns() > end)
			return false;
		cpu_relax();
	}
	return true;
}

static bool taker_has_ticket(uint64_t unused)
{
	(void)unused;
	uint32_t t = __atomic_load_n(&halt_lock.ticket, __ATOMIC_RELAXED);

	return (uint16_t)((t >> 16) - (t & 0xffffu)) >= 2; /* ours and the taker's */
}

static bool halted_since(uint64_t before)
{
	return spin_halt_count() > before;
}

/*
 * One round: CPU 1 queues behind us on halt_lock and halts; we release as
 * soon as it has. True if it halted, waited and then got the lock.
 */
static bool halt_round(void)
{
	uint64_t halts = spin_halt_count();

	atomic32_set(&halt_got, 0);
	spin_lock(&halt_lock); /* IRQs on: a test lock no handler takes */
	struct thread *t = thread_create_on("halt", halt_taker, NULL, 1);
	bool queued = t && wait_until(taker_has_ticket, 0);
	uint64_t t0 = clock_ns();
	bool halted = queued && wait_until(halted_since, halts);
	if (halted) /* an upper bound on a waiter's SPIN_HALT_AFTER turns: the cost of a turn */
		kprintf("# queued to halted: %lu ns\n", (unsigned long)(clock_ns() - t0));
	bool waited = atomic32_read(&halt_got) == 0;
	spin_unlock(&halt_lock);
	if (t)
		thread_join(t);
	if (!t || !queued || !halted || !waited || atomic32_read(&halt_got) != 1) {
		kprintf("# thread %d, queued %d, halted %d, waited %d, got %d\n", t != NULL, queued,
			halted, waited, (int)atomic32_read(&halt_got));
		return false;
	}
	return true;
}

/*
 * The release must wake the halted CPU with the SGI. Whether the taker is
 * still in WFI when we release depends on the host (a tick pending at CPU 1
 * ends its WFI too, and with IRQs masked keeps ending it), so up to
 * HALT_ROUNDS rounds are run until one wake SGI is seen; every round must
 * halt and hand the lock over.
 */
#define HALT_ROUNDS 5u

static bool st_lock_halt(void)
{
	uint64_t wakes = smp_lock_wakes_taken();
	unsigned int r;

	if (cpu_count() < 2)
		return true; /* needs two CPUs */
	thread_pin(thread_current(), 0);
	for (r = 1; r <= HALT_ROUNDS; r++) {
		if (!halt_round())
			return false;
		if (smp_lock_wakes_taken() > wakes)
			break;
	}
	kprintf("# rounds %u, wake SGIs %lu\n", r, (unsigned long)(smp_lock_wakes_taken() - wakes));
	return r <= HALT_ROUNDS;
}
SELFTEST("smp.lock_wait_halts_and_wakes", st_lock_halt);

/* --- how contended is the scheduler's lock ---------------------------------------------- */

static bool st_lock_stats(void)
{
	uint64_t acq, spins;

	spin_stats(&sched_lock, &acq, &spins);
	kprintf("# sched_lock: %lu acquisitions, %lu spins (%lu.%02lu per acquisition) on %u CPUs\n",
		(unsigned long)acq, (unsigned long)spins, (unsigned long)(spins / (acq ? acq : 1)),
		(unsigned long)(spins * 100 / (acq ? acq : 1) % 100), cpu_count());
	return acq > 0;
}
SELFTEST("smp.sched_lock_contention", st_lock_stats);

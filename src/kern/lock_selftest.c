/*
 * Selftests of the sleeping locks: many threads counting under a mutex
 * (every increment kept, nobody inside twice), readers sharing an rwlock
 * (all inside at once), writers excluding everyone (a torn two-word value
 * never seen), a writer not starved by a stream of readers, and the misuse
 * checks seen through the fault hook. Every thread is joined, so a lost
 * wake-up would hang the test (ctest's timeout fails it).
 */
#include <stdbool.h>
#include <levblk/hal/clock.h>
#include <levblk/atomic.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/string.h>
#include "kern_test_hooks.h"
#include <levblk/mutex.h>
#include <levblk/rwlock.h>

#define MX_THREADS 16u
#define MX_ROUNDS  500u
#define RW_READERS 12u
#define RW_WRITERS 4u
#define RW_ROUNDS  300u
#define SHARE_READERS 8u
/*
 * Bound for "all readers inside at once", one deadline shared by all the
 * readers: only a failure waits it out, once. It is long because guest time
 * is host time: on a loaded host the last reader may be scheduled seconds
 * after the first went in (2 s was seen to be too short).
 */
#define SHARE_WAIT_NS (20ull * NSEC_PER_SEC)

/*
 * The threads of one test start together, at a gate opened once all exist:
 * with several CPUs the first ones would otherwise run to their end on
 * another CPU while the rest are still being created, and a test of
 * contention would see none.
 */
static struct completion spawn_gate;
static struct {
	void (*fn)(void *);
	void *arg;
} spawn_of[32];

static void spawn_gated(void *arg)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;

	wait_for_completion(&spawn_gate);
	spawn_of[i].fn(spawn_of[i].arg);
}

static bool spawn_join(unsigned int n, void (*fn)(void *), void *const *args)
{
	struct thread *t[32];
	bool ok = true;

	completion_init(&spawn_gate);
	for (unsigned int i = 0; i < n; i++) {
		spawn_of[i].fn = fn;
		spawn_of[i].arg = args ? args[i] : NULL;
		t[i] = thread_create("locktest", spawn_gated, (void *)(uintptr_t)i);
		ok &= t[i] != NULL;
	}
	complete_all(&spawn_gate);
	for (unsigned int i = 0; i < n; i++)
		if (t[i])
			thread_join(t[i]);
	if (!ok)
		kprintf("# out of threads\n");
	return ok;
}

/* --- mutex: counted increments ------------------------------------------------- */

static struct mutex mx = MUTEX_INIT("selftest");
static volatile unsigned long mx_count;
static volatile unsigned int mx_inside, mx_overlaps, mx_contended;

static void mx_main(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < MX_ROUNDS; i++) {
		if (!mutex_trylock(&mx)) {
			__atomic_fetch_add(&mx_contended, 1, __ATOMIC_RELAXED); /* outside the mutex */
			mutex_lock(&mx);
		}
		if (mx_inside++ != 0 || !mutex_held(&mx))
			mx_overlaps++;
		unsigned long v = mx_count;
		if (i % 4 == 0)
			thread_yield(); /* others pile up on the mutex meanwhile */
		mx_count = v + 1;
		mx_inside--;
		mutex_unlock(&mx);
	}
}

static bool st_mutex(void)
{
	mx_count = 0;
	mx_inside = mx_overlaps = mx_contended = 0;
	bool ok = spawn_join(MX_THREADS, mx_main, NULL);

	kprintf("# mutex: %u threads x %u rounds, count %lu, %u contended, %u overlaps\n",
		MX_THREADS, MX_ROUNDS, mx_count, mx_contended, mx_overlaps);
	return ok && mx_count == (unsigned long)MX_THREADS * MX_ROUNDS && mx_overlaps == 0 &&
	       mx_contended > 0 && mx.owner == NULL && mx.wq.head == NULL;
}
SELFTEST("lock.mutex_counted", st_mutex);

/* --- rwlock: readers share ----------------------------------------------------- */

static struct rwlock rw = RWLOCK_INIT("selftest");
/* Readers on several CPUs count themselves in at once: atomics, not a plain ++. */
static atomic32_t share_inside, share_peak;
static uint64_t share_deadline;

static void share_main(void *arg)
{
	(void)arg;
	rwlock_read_lock(&rw);
	uint32_t now = atomic32_add_return(&share_inside, 1);
	uint32_t peak = atomic32_read(&share_peak);
	while (now > peak) {
		uint32_t seen = atomic32_cmpxchg(&share_peak, peak, now);
		if (seen == peak)
			break;
		peak = seen;
	}
	/* Stay until every reader is inside: only possible if readers share. */
	while (atomic32_read(&share_peak) < SHARE_READERS && clock_ns() < share_deadline)
		thread_sleep_ns(NSEC_PER_MSEC);
	atomic32_dec(&share_inside);
	rwlock_read_unlock(&rw);
}

static bool st_rw_share(void)
{
	atomic32_set(&share_inside, 0);
	atomic32_set(&share_peak, 0);
	share_deadline = clock_ns() + SHARE_WAIT_NS;
	bool ok = spawn_join(SHARE_READERS, share_main, NULL);

	kprintf("# rwlock: %u of %u readers inside at once\n", atomic32_read(&share_peak), SHARE_READERS);
	return ok && atomic32_read(&share_peak) == SHARE_READERS && rw.readers == 0;
}
SELFTEST("lock.rwlock_readers_share", st_rw_share);

/* --- rwlock: a writer excludes everyone ---------------------------------------- */

static volatile unsigned long rw_a, rw_b; /* a writer keeps them equal, torn in between */
/*
 * Readers share the lock, on several CPUs at once: what they count goes
 * through atomics (a plain ++ from two CPUs loses updates, and a lost
 * rd_inside-- would look like a reader inside with the writer). What only
 * a writer changes is plain: the lock orders it.
 */
static atomic32_t rd_inside, rw_bad;
static atomic64_t rd_ops;
static volatile unsigned int wr_inside;
static volatile unsigned long wr_ops;

static void rw_reader(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < RW_ROUNDS; i++) {
		rwlock_read_lock(&rw);
		atomic32_inc(&rd_inside);
		if (wr_inside || rw_a != rw_b)
			atomic32_inc(&rw_bad);
		if (i % 3 == 0)
			thread_yield();
		if (wr_inside || rw_a != rw_b)
			atomic32_inc(&rw_bad);
		atomic32_dec(&rd_inside);
		atomic64_inc(&rd_ops);
		rwlock_read_unlock(&rw);
	}
}

static void rw_writer(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < RW_ROUNDS; i++) {
		rwlock_write_lock(&rw);
		if (wr_inside++ || atomic32_read(&rd_inside) || !rwlock_write_held(&rw))
			atomic32_inc(&rw_bad);
		rw_a++;
		thread_yield(); /* a reader let in now would see a != b */
		rw_b++;
		wr_inside--;
		wr_ops++;
		rwlock_write_unlock(&rw);
	}
}

static void rw_either(void *arg)
{
	if (arg)
		rw_writer(arg);
	else
		rw_reader(arg);
}

static bool st_rw_exclude(void)
{
	static int writer_mark;
	void *args[RW_READERS + RW_WRITERS];

	rw_a = rw_b = 0;
	atomic32_set(&rd_inside, 0);
	atomic32_set(&rw_bad, 0);
	atomic64_set(&rd_ops, 0);
	wr_inside = 0;
	wr_ops = 0;
	/* Writers spread among the readers. */
	for (unsigned int i = 0; i < RW_READERS + RW_WRITERS; i++)
		args[i] = (i % 4 == 1) ? &writer_mark : NULL;
	bool ok = spawn_join(RW_READERS + RW_WRITERS, rw_either, args);

	kprintf("# rwlock: %llu reads, %lu writes, %u violations\n", (unsigned long long)atomic64_read(&rd_ops),
		wr_ops, atomic32_read(&rw_bad));
	return ok && atomic32_read(&rw_bad) == 0 && atomic64_read(&rd_ops) == (uint64_t)RW_READERS * RW_ROUNDS &&
	       wr_ops == (unsigned long)RW_WRITERS * RW_ROUNDS && rw_a == wr_ops && rw_b == wr_ops &&
	       rw.readers == 0 && rw.writer == NULL && rw.readers_waiting == 0 &&
	       rw.writers_waiting == 0;
}
SELFTEST("lock.rwlock_writer_excludes", st_rw_exclude);

/* --- rwlock: a writer is not starved by overlapping readers -------------------- */

static volatile bool starve_writer_done;
static volatile unsigned long starve_reads, starve_reads_at_write;

static void starve_reader(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < RW_ROUNDS; i++) {
		rwlock_read_lock(&rw);
		thread_yield(); /* the other readers come in meanwhile: the lock is never free */
		__atomic_fetch_add(&starve_reads, 1, __ATOMIC_RELAXED); /* readers share the lock */
		rwlock_read_unlock(&rw);
	}
}

static void starve_writer(void *arg)
{
	(void)arg;
	thread_yield();
	rwlock_write_lock(&rw);
	starve_reads_at_write = starve_reads;
	starve_writer_done = true;
	rwlock_write_unlock(&rw);
}

static void starve_either(void *arg)
{
	if (arg)
		starve_writer(arg);
	else
		starve_reader(arg);
}

static bool st_rw_no_starve(void)
{
	static int writer_mark;
	void *args[SHARE_READERS + 1] = {0};

	starve_writer_done = false;
	starve_reads = starve_reads_at_write = 0;
	args[SHARE_READERS / 2] = &writer_mark;
	bool ok = spawn_join(SHARE_READERS + 1, starve_either, args);
	unsigned long total = (unsigned long)SHARE_READERS * RW_ROUNDS;

	kprintf("# rwlock: the writer got in after %lu of %lu overlapping reads\n",
		starve_reads_at_write, total);
	/* Phase-fair: the writer waits for the readers inside, not for all of them. */
	return ok && starve_writer_done && starve_reads_at_write < total / 4;
}
SELFTEST("lock.rwlock_writer_not_starved", st_rw_no_starve);

/* --- misuse is caught ---------------------------------------------------------- */

static unsigned int faults;
static const char *fault_what;

static void hook(const char *what, const char *lock)
{
	(void)lock;
	faults++;
	fault_what = what;
}

static bool caught(unsigned int before, const char *test, const char *want)
{
	if (faults == before + 1 && fault_what && strcmp(fault_what, want) == 0)
		return true;
	kprintf("# %s: %u faults (%s), want 1 (%s)\n", test, faults - before,
		fault_what ? fault_what : "-", want);
	return false;
}

static struct mutex other_mx = MUTEX_INIT("misuse");

static void unlock_other(void *arg)
{
	(void)arg;
	mutex_unlock(&other_mx);
	rwlock_write_unlock(&rw);
}

static bool st_misuse(void)
{
	lock_fault_hook_fn *old = lock_set_fault_hook(hook);
	struct mutex m = MUTEX_INIT("st-misuse");
	bool ok = true;
	unsigned int n;

	mutex_lock(&m);
	n = faults;
	mutex_lock(&m);
	ok &= caught(n, "recursive mutex_lock", "locked again by the thread holding it");
	mutex_unlock(&m);
	n = faults;
	mutex_unlock(&m);
	ok &= caught(n, "unlock of a free mutex", "unlocked by a thread that does not hold it");
	n = faults;
	mutex_assert_held(&m);
	ok &= caught(n, "mutex_assert_held", "not held by this thread");

	irqflags_t f = irq_save();
	n = faults;
	mutex_lock(&m);
	irq_restore(f);
	ok &= caught(n, "mutex_lock with IRQs masked",
		     "sleeping lock used with IRQs masked (interrupt context or a spinlock held)");
	ok &= m.owner == NULL;

	/* Another thread unlocks what this one holds. */
	mutex_lock(&other_mx);
	rwlock_write_lock(&rw);
	n = faults;
	ok &= spawn_join(1, unlock_other, NULL);
	ok &= faults == n + 2 && mutex_held(&other_mx) && rwlock_write_held(&rw);
	if (faults != n + 2)
		kprintf("# unlock by another thread: %u faults, want 2\n", faults - n);
	n = faults;
	rwlock_write_lock(&rw);
	ok &= caught(n, "recursive rwlock_write_lock", "locked again by the thread holding it");
	n = faults;
	rwlock_read_lock(&rw);
	ok &= caught(n, "read lock by the writer", "locked again by the thread holding it");
	rwlock_write_unlock(&rw);
	mutex_unlock(&other_mx);
	n = faults;
	rwlock_read_unlock(&rw);
	ok &= caught(n, "read unlock without readers", "read unlock with no reader holding it");

	lock_set_fault_hook(old);
	return ok;
}
SELFTEST("lock.misuse_caught", st_misuse);

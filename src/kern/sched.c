/*
 * Kernel threads and the round-robin scheduler over every CPU
 * (include/levblk/kern/thread.h, include/levblk/kern/sched.h).
 *
 * Threads come from a static pool of THREAD_MAX slots with 16 KiB stacks in
 * BSS (no allocator needed). One run queue, FIFO, shared by all CPUs: a CPU
 * takes the first thread it may run (a pinned thread only on its CPU). Each
 * CPU has its own idle thread (never queued), its own tick and its own
 * current thread; the running threads are not on the queue.
 *
 * Why one queue: at 8 CPUs the scheduler lock is taken a few thousand times
 * a second per CPU (wake-ups, blocks, ticks), each hold a few hundred
 * instructions; smp.lock_stats (a selftest) prints the measured spins per
 * acquisition under a ping-pong load on every CPU, which stays far below
 * one: the queue is not the bottleneck here, the device and QEMU are.
 *
 * Locking: sched_lock (sched_private.h) guards the run queue, every thread's
 * state and links, every wait queue, and the per-CPU fields below, always
 * with IRQs masked. It is held across a context switch: the thread that
 * takes it and calls schedule() is switched away with it held, and the
 * thread switched in (on the same CPU) releases it when it leaves the
 * scheduler. A thread's saved context is therefore complete before any other
 * CPU can see it READY and switch to it (both need the lock): the lock's
 * release/acquire pairs the save on one CPU with the restore on another.
 *
 * A thread gives up its CPU when it blocks, yields, returns, or when an
 * interrupt returns and the CPU was told to reschedule (its tick expired the
 * slice, or a thread it may run woke while it idled, or a thread pinned to
 * it woke): sched_irq_exit() then switches from the tail of the interrupt
 * handler, leaving the interrupted thread's trap frame on its own stack
 * (src/hal/vectors.S) until it is switched back in, on whichever CPU, and
 * returns through exception_return.
 *
 * Wake-ups across CPUs: sched_wake() queues the thread and, if a CPU that
 * may run it is idle, sends that CPU the reschedule SGI (kick_for). An idle
 * CPU looks at the queue under the lock before it sleeps in WFI with IRQs
 * masked, and a kick is sent under the lock to a CPU whose current thread is
 * its idle thread: either the idle CPU saw the thread queued, or the SGI is
 * pending when it reaches WFI (which then does not sleep).
 */
#include <stddef.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/backtrace.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/hal/trap_hooks.h>
#include <levblk/irq/irq.h>
#include <levblk/kern/sched.h>
#include <levblk/kern/timer.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/string.h>
#include "sched_private.h"
#include "timer_private.h"

#define STACK_CANARY 0x6c6576626c6b5354ull /* "levblkST" */

spinlock_t sched_lock = SPINLOCK_INIT("sched");

static struct thread thread_pool[THREAD_MAX];
static uint64_t thread_stacks[THREAD_MAX][THREAD_STACK_SIZE / sizeof(uint64_t)]
    __attribute__((aligned(16)));

/* Per CPU; written under sched_lock unless noted. */
struct sched_cpu {
	struct thread *cur;  /* running here (its own idle thread when nothing else) */
	struct thread *idle;
	struct thread boot;  /* the context the CPU started in; left once, never resumed */
	struct ktimer tick;  /* armed and fired on this CPU only */
	bool need_resched;   /* set by its tick (own CPU) or a waker; read at IRQ exit */
	bool kicked;	     /* a reschedule SGI is on its way to it */
	bool online;	     /* has run its first schedule() */
	uint64_t idle_ns;    /* own CPU only, relaxed atomics for readers */
	uint64_t idle_polls, switches, kicks;
	uint64_t poll_until; /* sched_idle_poll_until's deadline for this CPU (relaxed atomics) */
} __attribute__((aligned(64)));

static struct sched_cpu sched_cpus[CPU_MAX];
/*
 * Reschedule SGIs this CPU owes (bit c: to CPU c), asked for under sched_lock
 * and sent by sched_unlock once the lock is free. Indexed by the sending CPU
 * and touched only by it with IRQs masked (sched_lock's rule).
 */
static uint32_t sched_sgi_owed[CPU_MAX];
static struct thread *runq_head, *runq_tail;
/*
 * How many queued threads may run anywhere (runq_any) and only on CPU c
 * (runq_pinned[c]): written under sched_lock, read without it (runq_hint)
 * by a CPU deciding whether to take the lock at all. An idle CPU used to
 * take it whenever anything was queued, even a thread pinned elsewhere, at
 * every tick; eight vCPUs on two host cores then did little else.
 */
static uint32_t runq_any, runq_pinned[CPU_MAX];

/* The thread running on this CPU: kept in TPIDRRO_EL0, written by schedule() only. */
static inline struct thread *current(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, tpidrro_el0" : "=r"(v));
	return (struct thread *)(uintptr_t)v;
}

static inline void set_current(struct thread *t)
{
	__asm__ volatile("msr tpidrro_el0, %0" : : "r"((uint64_t)(uintptr_t)t) : "memory");
}

static bool can_run(const struct thread *t, unsigned int cpu)
{
	return t->pin < 0 || (unsigned int)t->pin == cpu;
}

/* sched_lock held: t joins (d = 1) or leaves (d = -1) the queue's counts. */
static void runq_count(const struct thread *t, int d)
{
	uint32_t *n = t->pin < 0 ? &runq_any : &runq_pinned[t->pin];

	__atomic_store_n(n, *n + (uint32_t)d, __ATOMIC_RELAXED);
}

/*
 * May a queued thread run on CPU c? Exact under sched_lock (the counts
 * follow every push, take and pin change); without it, a hint.
 */
static bool runq_hint(unsigned int c)
{
	return __atomic_load_n(&runq_any, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&runq_pinned[c], __ATOMIC_RELAXED);
}

static void runq_push(struct thread *t)
{
	runq_count(t, 1);
	t->queued = true;
	t->next = NULL;
	if (runq_tail)
		runq_tail->next = t;
	else
		runq_head = t;
	runq_tail = t;
}

/* sched_lock held. The first queued thread this CPU may run, unlinked; NULL if none. */
static struct thread *runq_take(unsigned int cpu)
{
	struct thread *prev = NULL;

	for (struct thread *t = runq_head; t; prev = t, t = t->next) {
		if (!can_run(t, cpu))
			continue;
		if (prev)
			prev->next = t->next;
		else
			runq_head = t->next;
		if (runq_tail == t)
			runq_tail = prev;
		t->next = NULL;
		t->queued = false;
		runq_count(t, -1);
		return t;
	}
	return NULL;
}

static bool cpu_idle(unsigned int c)
{
	return sched_cpus[c].online && sched_cpus[c].cur == sched_cpus[c].idle;
}

/*
 * sched_lock held. Tells CPU c to reschedule: its own flag, and an SGI if it
 * is another CPU, sent when the lock is released (sched_unlock). No wake-up
 * is lost by the delay: c either takes sched_lock after our release and
 * sees what we queued, or it is in (or on its way to) WFI, which the SGI
 * ends whenever it arrives; `kicked` stays set until c has looked.
 */
static void resched_cpu(unsigned int c)
{
	struct sched_cpu *sc = &sched_cpus[c];

	__atomic_store_n(&sc->need_resched, true, __ATOMIC_RELAXED);
	if (c == cpu_id() || sc->kicked)
		return;
	__atomic_store_n(&sc->kicked, true, __ATOMIC_RELAXED); /* read unlocked by idle_main */
	sc->kicks++;
	sched_sgi_owed[cpu_id()] |= 1u << c;
}

void sched_unlock(void)
{
	unsigned int me = cpu_id();
	uint32_t owed = sched_sgi_owed[me];

	sched_sgi_owed[me] = 0;
	spin_unlock(&sched_lock);
	/* After the release (which publishes what we queued); each SGI has its own dsb. */
	while (owed) {
		unsigned int c = (unsigned int)__builtin_ctz(owed);

		owed &= owed - 1;
		irq_send_ipi(SCHED_SGI_RESCHED, c);
	}
}

void sched_unlock_irqrestore(irqflags_t flags)
{
	sched_unlock();
	irq_restore(flags);
}

/*
 * sched_lock held, t just queued. Gets it running soon: on this CPU if it is
 * idle, else on an idle CPU it may run on (the one it last ran on first);
 * a thread pinned to a busy CPU preempts that CPU's thread (round-robin: the
 * preempted one goes to the back of the queue). Otherwise it waits for a
 * tick.
 */
static void kick_for(struct thread *t)
{
	unsigned int me = cpu_id(), n = cpu_count();

	if (can_run(t, me) && cpu_idle(me)) {
		resched_cpu(me);
		return;
	}
	if (t->pin >= 0) {
		resched_cpu((unsigned int)t->pin);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int c = (t->cpu + i) % n;

		if (cpu_idle(c) && !sched_cpus[c].kicked) {
			resched_cpu(c);
			return;
		}
	}
}

/*
 * sched_lock held, IRQs masked. Picks the next thread for this CPU and
 * switches to it. A running thread (yield, preemption) goes to the back of
 * the run queue, unless nothing else is ready here and it may stay, in
 * which case it simply keeps the CPU. A blocked or dead thread is not
 * queued; with nothing ready the idle thread runs.
 */
static void schedule(void)
{
	unsigned int c = cpu_id();
	struct sched_cpu *sc = &sched_cpus[c];
	struct thread *prev = sc->cur, *next = runq_take(c);

	__atomic_store_n(&sc->need_resched, false, __ATOMIC_RELAXED);
	__atomic_store_n(&sc->kicked, false, __ATOMIC_RELAXED);
	if (prev->state == THREAD_RUNNING) {
		if (!next && can_run(prev, c))
			return;
		prev->state = THREAD_READY;
		if (prev != sc->idle) {
			runq_push(prev);
			if (!can_run(prev, c))
				kick_for(prev); /* pinned elsewhere: wake its CPU */
		}
	}
	if (!next)
		next = sc->idle;
	next->state = THREAD_RUNNING;
	next->cpu = (uint8_t)c;
	if (next == prev)
		return;
	if (prev->stack_base && *prev->stack_base != STACK_CANARY)
		panic("thread %s overflowed its %u-byte stack", prev->name, THREAD_STACK_SIZE);
	sc->switches++;
	sc->cur = next;
	set_current(next);
	ctx_switch(&prev->ctx, &next->ctx);
	/* Back in prev, switched in by a later schedule() on some CPU; sched_lock held. */
}

void sched_block(void)
{
	struct thread *self = current();

	if (!self || self == sched_cpus[cpu_id()].idle)
		panic("sleeping %s", self ? "in the idle thread" : "before the scheduler started");
	if (self->plug) {
		/*
		 * Bios held in the plug go to their devices before the thread
		 * stops running (it would otherwise hold them while asleep,
		 * perhaps waiting for them). Submitting takes device locks, which
		 * are taken before sched_lock elsewhere (an end_io wakes threads):
		 * so the lock is dropped around the hook. The thread is already on
		 * its wait queue; a wake-up meanwhile finds it RUNNING with
		 * `blocking` set and leaves `woken` for us instead of being lost.
		 */
		self->blocking = true;
		self->woken = false;
		sched_unlock();
		self->plug_hook(self->plug, THREAD_PLUG_SWITCH);
		spin_lock(&sched_lock);
		self->blocking = false;
		if (self->woken) {
			self->woken = false;
			return; /* the caller re-checks its condition */
		}
	}
	self->state = THREAD_BLOCKED;
	schedule();
}

void sched_wake(struct thread *t)
{
	if (t->wq)
		waitq_unlink(t->wq, t);
	if (t->state == THREAD_RUNNING && t->blocking) {
		t->woken = true;
		return;
	}
	if (t->state != THREAD_BLOCKED)
		return;
	t->state = THREAD_READY;
	runq_push(t);
	kick_for(t);
}

/* The plug hook with IRQs masked and sched_lock not held (see sched_block). */
static void plug_switch(struct thread *self)
{
	if (self && self->plug)
		self->plug_hook(self->plug, THREAD_PLUG_SWITCH);
}

/*
 * The IRQ exit hook (include/levblk/hal/trap_hooks.h), registered by
 * sched_start: called after end of interrupt, IRQs still masked, on the
 * interrupted thread's stack. Switches thread if this CPU was told to (its
 * tick, a kick) or it idles and something it may run is queued. The
 * interrupted context resumes when this thread is scheduled again.
 */
static void sched_irq_exit(void)
{
	unsigned int c = cpu_id();
	struct sched_cpu *sc = &sched_cpus[c];
	struct thread *self = sc->cur;

	if (!sc->online)
		return;
	/* Unlocked look first: most interrupts change nothing for the scheduler. */
	if (!__atomic_load_n(&sc->need_resched, __ATOMIC_RELAXED) &&
	    !(self == sc->idle && runq_hint(c)))
		return;
	if (self != sc->idle)
		plug_switch(self);
	spin_lock(&sched_lock);
	schedule();
	sched_unlock();
}

/* The reschedule SGI: the work is done at IRQ exit (need_resched was set by the sender). */
static void sched_resched_irq(void *arg)
{
	(void)arg;
}

/* Timer interrupt on this CPU: the running thread's slice is over if someone else waits. */
static void sched_tick(void *arg)
{
	struct sched_cpu *sc = arg;
	uint64_t next = sc->tick.deadline_ns + SCHED_SLICE_NS, now = clock_ns();

	if (runq_hint(cpu_id()))
		__atomic_store_n(&sc->need_resched, true, __ATOMIC_RELAXED);
	/* A thread that keeps the CPU: its plug's time bound is checked here. */
	if (sc->cur->plug)
		sc->cur->plug_hook(sc->cur->plug, THREAD_PLUG_TICK);
	/* Keep the period, but never schedule a burst of catch-up ticks. */
	timer_arm(&sc->tick, next > now ? next : now + SCHED_SLICE_NS, sched_tick, sc);
}

/* First code of every thread, entered from ctx_switch's ret with IRQs masked, sched_lock held. */
static _Noreturn void thread_entry(void)
{
	struct thread *self = current();

	sched_unlock();
	irq_enable_local();
	self->fn(self->arg);
	irq_disable_local();
	spin_lock(&sched_lock);
	self->state = THREAD_DEAD;
	waitq_wake_all_locked(&self->join_wq);
	schedule();
	panic("dead thread %s was scheduled", self->name);
}

/* sched_lock held. Takes a free slot and prepares it to start in thread_entry. */
static struct thread *thread_alloc(const char *name, void (*fn)(void *), void *arg, int pin)
{
	for (unsigned int i = 0; i < THREAD_MAX; i++) {
		struct thread *t = &thread_pool[i];
		size_t n = 0;

		if (t->state != THREAD_FREE)
			continue;
		memset(t, 0, sizeof(*t));
		while (name && name[n] && n < THREAD_NAME_MAX - 1) {
			t->name[n] = name[n];
			n++;
		}
		t->fn = fn;
		t->arg = arg;
		t->pin = (int8_t)pin;
		t->cpu = (uint8_t)(pin >= 0 ? pin : (int)cpu_id());
		t->stack_base = thread_stacks[i];
		*t->stack_base = STACK_CANARY;
		t->ctx.sp =
		    (uint64_t)(uintptr_t)(thread_stacks[i] + THREAD_STACK_SIZE / sizeof(uint64_t));
		t->ctx.x30 = (uint64_t)(uintptr_t)thread_entry;
		t->ctx.x29 = 0; /* ends frame-pointer backtraces */
		t->state = THREAD_READY;
		return t;
	}
	return NULL;
}

struct thread *thread_create_on(const char *name, void (*fn)(void *arg), void *arg, int cpu)
{
	if (cpu >= (int)cpu_count())
		return NULL;
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	struct thread *t = thread_alloc(name, fn, arg, cpu < 0 ? -1 : cpu);

	if (t) {
		runq_push(t);
		kick_for(t);
	}
	sched_unlock_irqrestore(f);
	return t;
}

struct thread *thread_create(const char *name, void (*fn)(void *arg), void *arg)
{
	return thread_create_on(name, fn, arg, -1);
}

int thread_pin(struct thread *t, int cpu)
{
	if (cpu >= (int)cpu_count())
		return -EINVAL;
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	bool self = t == current();

	if (t->queued)
		runq_count(t, -1);
	t->pin = (int8_t)(cpu < 0 ? -1 : cpu);
	if (t->queued)
		runq_count(t, 1);
	if (t->state == THREAD_READY && t->pin >= 0)
		kick_for(t);
	sched_unlock_irqrestore(f);
	/* Pinned away from the CPU we run on: move now (schedule() queues us for the other CPU). */
	if (self && cpu >= 0 && (unsigned int)cpu != cpu_id())
		thread_yield();
	return 0;
}

int thread_cpu(const struct thread *t)
{
	return __atomic_load_n(&t->cpu, __ATOMIC_RELAXED);
}

void thread_join(struct thread *t)
{
	irqflags_t f = spin_lock_irqsave(&sched_lock);

	if (t == current())
		panic("thread %s joins itself", t->name);
	while (t->state != THREAD_DEAD)
		waitq_sleep_locked(&t->join_wq);
	/* It switched away for good before we got the lock: its stack is free. */
	t->state = THREAD_FREE;
	sched_unlock_irqrestore(f);
}

void thread_yield(void)
{
	struct thread *self = current();

	if (!self)
		return; /* boot, before sched_start: nothing to yield to */
	irqflags_t f = irq_save();
	plug_switch(self);
	spin_lock(&sched_lock);
	schedule();
	sched_unlock_irqrestore(f);
}

void thread_sleep_ns(uint64_t ns)
{
	uint64_t deadline = clock_ns() + ns;

	if (!current()) {
		/* Boot, before sched_start (EARLY/IRQ initcalls): no thread to block; poll. */
		while (clock_ns() < deadline)
			cpu_relax();
		return;
	}
	irqflags_t f = spin_lock_irqsave(&sched_lock);
	while (clock_ns() < deadline)
		waitq_sleep_locked_until(NULL, deadline);
	sched_unlock_irqrestore(f);
}

struct thread *thread_current(void)
{
	return current();
}

const char *thread_name(const struct thread *t)
{
	return t->name;
}

void thread_set_plug(void *plug, thread_plug_hook_fn *hook)
{
	struct thread *self = current();

	if (!self)
		return; /* boot, before sched_start: no thread to hold a plug */
	irqflags_t f = irq_save();

	/* The tick reads both from interrupt context on our CPU: never one without the other. */
	self->plug = plug;
	self->plug_hook = plug ? hook : NULL;
	irq_restore(f);
}

void *thread_plug(void)
{
	struct thread *self = current();

	return self ? self->plug : NULL;
}

/* The backtrace hook (levblk/hal/backtrace.h): which thread stack holds sp. Any context. */
bool kern_stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t base = (uintptr_t)thread_stacks;

	if (sp < base || sp >= base + sizeof(thread_stacks))
		return false;
	*lo = base + (sp - base) / THREAD_STACK_SIZE * THREAD_STACK_SIZE;
	*hi = *lo + THREAD_STACK_SIZE;
	return true;
}

/*
 * The hint is the calling CPU's own: a spinning vCPU takes a host CPU, and
 * with several vCPUs per host core every idle CPU spinning on one hint took
 * the host's time from the vCPU and the QEMU threads doing the work. The
 * caller's CPU is where the completion is most likely taken (its thread's
 * disk interrupt goes to it in the common one-thread-per-disk case).
 */
void sched_idle_poll_until(uint64_t deadline_ns)
{
	irqflags_t f = irq_save(); /* this CPU's field: no move in between */
	struct sched_cpu *sc = &sched_cpus[cpu_id()];

	/* Hints only extend: a later deadline wins. Only this CPU writes it. */
	if (deadline_ns > __atomic_load_n(&sc->poll_until, __ATOMIC_RELAXED))
		__atomic_store_n(&sc->poll_until, deadline_ns, __ATOMIC_RELAXED);
	irq_restore(f);
}

uint64_t sched_idle_poll_deadline(void)
{
	uint64_t latest = 0;

	for (unsigned int c = 0; c < CPU_MAX; c++) {
		uint64_t d = __atomic_load_n(&sched_cpus[c].poll_until, __ATOMIC_RELAXED);
		latest = d > latest ? d : latest;
	}
	return latest;
}

static uint64_t sum_cpus(size_t field)
{
	uint64_t sum = 0;

	for (unsigned int c = 0; c < CPU_MAX; c++)
		sum += __atomic_load_n((uint64_t *)((char *)&sched_cpus[c] + field), __ATOMIC_RELAXED);
	return sum;
}

uint64_t sched_idle_polls(void)
{
	return sum_cpus(offsetof(struct sched_cpu, idle_polls));
}

uint64_t sched_cpu_idle_polls(unsigned int cpu)
{
	return cpu < CPU_MAX ? __atomic_load_n(&sched_cpus[cpu].idle_polls, __ATOMIC_RELAXED) : 0;
}

uint64_t sched_idle_ns(void)
{
	return sum_cpus(offsetof(struct sched_cpu, idle_ns));
}

uint64_t sched_cpu_idle_ns(unsigned int cpu)
{
	return cpu < CPU_MAX ? __atomic_load_n(&sched_cpus[cpu].idle_ns, __ATOMIC_RELAXED) : 0;
}

uint64_t sched_switch_count(void)
{
	return sum_cpus(offsetof(struct sched_cpu, switches));
}

void sched_lock_stats(uint64_t *acquired, uint64_t *spins)
{
	spin_stats(&sched_lock, acquired, spins);
}

uint64_t sched_kick_count(void)
{
	return sum_cpus(offsetof(struct sched_cpu, kicks));
}

/*
 * Spins until an IRQ is pending or the deadline passes. The clock is read
 * only every IDLE_SPIN_CHECK iterations: under QEMU's TCG a CNTVCT read
 * takes the emulator's global lock, the same lock the device model needs to
 * post the very completion we wait for, so reading it in every iteration
 * slows that completion down. ISR_EL1 reads take no lock.
 */
#define IDLE_SPIN_CHECK 64
static void idle_spin_until(uint64_t deadline)
{
	for (;;) {
		for (unsigned int i = 0; i < IDLE_SPIN_CHECK; i++) {
			if (cpu_irq_pending())
				return;
		}
		if (clock_ns() >= deadline)
			return;
	}
}

/*
 * A CPU's idle thread (pinned to it): runs only when nothing it may run is
 * queued. It looks at the queue under sched_lock, then sleeps in WFI with
 * IRQs still masked (a pending interrupt, a kick included, still wakes it);
 * the interrupt is then taken at irq_restore, and its exit switches to
 * whatever it woke. The time between going to sleep and waking is idle
 * time (for cpu_util). Before a sched_idle_poll_until() deadline it spins
 * on the pending-interrupt flag instead of WFI (levblk/kern/thread.h).
 */
static void idle_main(void *arg)
{
	struct sched_cpu *sc = arg;

	for (;;) {
		irqflags_t f = irq_save();

		/*
		 * Nothing queued, no kick outstanding: sleep without sched_lock.
		 * With `kicked` clear, whoever queues a thread for us later sees
		 * it clear and sends the SGI that ends the WFI; a kick already
		 * taken (its interrupt ran schedule(), which clears the flag) or
		 * still on its way leaves it set, and we take the locked path.
		 * Every tick of an idle CPU took sched_lock before; with several
		 * vCPUs per host core those acquisitions alone queued up on it.
		 */
		if (__atomic_load_n(&sc->kicked, __ATOMIC_RELAXED) ||
		    runq_hint(cpu_id()) ||
		    __atomic_load_n(&sc->need_resched, __ATOMIC_RELAXED)) {
			spin_lock(&sched_lock);
			if (runq_hint(cpu_id())) {
				schedule();
				sched_unlock_irqrestore(f);
				continue;
			}
			__atomic_store_n(&sc->kicked, false, __ATOMIC_RELAXED);
			__atomic_store_n(&sc->need_resched, false, __ATOMIC_RELAXED); /* looked: nothing */
			sched_unlock();
		}
		uint64_t t0 = clock_ns(), poll = __atomic_load_n(&sc->poll_until, __ATOMIC_RELAXED);
		/* Polling counts as idle: any interrupt ends it at once. */
		if (t0 < poll) {
			idle_spin_until(poll);
			__atomic_store_n(&sc->idle_polls, sc->idle_polls + 1, __ATOMIC_RELAXED);
		} else {
			cpu_wfi();
		}
		__atomic_store_n(&sc->idle_ns, sc->idle_ns + (clock_ns() - t0), __ATOMIC_RELAXED);
		irq_restore(f);
	}
}

static void (*main_fn)(void);

static void main_entry(void *arg)
{
	(void)arg;
	main_fn();
}

/* IRQs masked, on this CPU's boot stack: its idle thread and tick. */
static void sched_cpu_setup(void)
{
	unsigned int c = cpu_id();
	struct sched_cpu *sc = &sched_cpus[c];

	spin_lock(&sched_lock);
	sc->idle = thread_alloc("idle", idle_main, sc, (int)c);
	if (!sc->idle)
		panic("sched: no thread slot for CPU %u's idle thread", c);
	sc->idle->state = THREAD_READY; /* never queued: schedule() takes it when nothing else */
	sc->boot.state = THREAD_DEAD;
	sc->boot.pin = (int8_t)c;
	sc->cur = &sc->boot;
	sched_unlock();
	timer_arm(&sc->tick, clock_ns() + SCHED_SLICE_NS, sched_tick, sc);
}

/* IRQs masked: this CPU leaves its boot context for good and runs threads. */
static _Noreturn void sched_cpu_run(void)
{
	struct sched_cpu *sc = &sched_cpus[cpu_id()];

	spin_lock(&sched_lock);
	sc->online = true;
	schedule();
	panic("sched: CPU %u's boot context resumed", cpu_id());
}

_Noreturn void sched_secondary_main(void)
{
	int err;

	err = irq_cpu_init();
	if (err)
		panic("sched: CPU %u: interrupt controller (%d)", cpu_id(), err);
	/* The wake SGI (registered before this CPU came up) now reaches it. */
	spin_halt_allow_here();
	timer_cpu_start();
	sched_cpu_setup();
	smp_cpu_ready();
	sched_cpu_run();
}

_Noreturn void sched_start(void (*fn)(void))
{
	int err;

	irq_disable_local();
	set_current(NULL);
	err = timer_start();
	if (err)
		panic("sched: timer interrupt not available (%d)", err);
	err = irq_register(SCHED_SGI_RESCHED, sched_resched_irq, NULL);
	if (err)
		panic("sched: reschedule SGI not available (%d)", err);
	sched_cpu_setup();
	trap_set_irq_exit(sched_irq_exit);
	smp_boot_cpus();
	main_fn = fn;
	if (!thread_create("main", main_entry, NULL))
		panic("sched: no thread slots at boot");
	sched_cpu_run();
}

/*
 * Kernel threads and the round-robin scheduler (include/levblk/kern/thread.h,
 * include/levblk/kern/sched.h). One CPU.
 *
 * Threads come from a static pool of THREAD_MAX slots with 16 KiB stacks in
 * BSS (no allocator needed). The run queue is FIFO; the running thread is
 * not on it. A thread gives up the CPU when it blocks, yields, returns, or
 * when an interrupt returns after the 10 ms tick (or after waking a thread
 * while the CPU idled): sched_irq_exit() then switches from the tail of the
 * interrupt handler, leaving the interrupted thread's trap frame on its own
 * stack (src/hal/vectors.S) until it is switched back in and returns
 * through exception_return.
 *
 * All scheduler state is guarded by masking IRQs (sched_private.h); every
 * switch happens with IRQs masked, and each side restores its own mask state
 * afterwards (irq_restore on the voluntary paths, ERET's SPSR on the
 * interrupt path, thread_entry for a new thread).
 */
#include <stddef.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/backtrace.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/trap_hooks.h>
#include <levblk/kern/sched.h>
#include <levblk/kern/timer.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/string.h>
#include "sched_private.h"
#include "timer_private.h"

#define STACK_CANARY 0x6c6576626c6b5354ull /* "levblkST" */

static struct thread thread_pool[THREAD_MAX];
static uint64_t thread_stacks[THREAD_MAX][THREAD_STACK_SIZE / sizeof(uint64_t)]
    __attribute__((aligned(16)));

static struct thread *sched_cur;
static struct thread *runq_head, *runq_tail;
static struct thread *idle_thread;
/* The context kmain ran in; switched away from once and never resumed. */
static struct thread boot_thread = {.state = THREAD_DEAD, .name = "boot"};
static bool need_resched;
static struct ktimer tick_timer;
static uint64_t idle_ns, switch_count;
/* sched_idle_poll_until's deadline (clock_ns); the idle thread spins before it. */
static uint64_t idle_poll_deadline, idle_polls;
static void (*main_fn)(void);

static void runq_push(struct thread *t)
{
	t->next = NULL;
	if (runq_tail)
		runq_tail->next = t;
	else
		runq_head = t;
	runq_tail = t;
}

static struct thread *runq_pop(void)
{
	struct thread *t = runq_head;

	if (t) {
		runq_head = t->next;
		if (!runq_head)
			runq_tail = NULL;
		t->next = NULL;
	}
	return t;
}

/*
 * IRQs masked. Picks the next thread and switches to it. A running thread
 * (yield, preemption) goes to the back of the run queue, unless nothing else
 * is ready, in which case it simply keeps the CPU. A blocked or dead thread
 * is not queued; with nothing ready the idle thread runs.
 */
static void schedule(void)
{
	struct thread *prev = sched_cur, *next;

	/*
	 * Bios held in prev's plug go to their devices before prev stops
	 * running (it would otherwise hold them while asleep, perhaps waiting
	 * for them). First, before the run queue is read: if their submission
	 * ends one at once and that wakes prev, sched_wake() has already made
	 * a blocked prev READY and queued it, so it runs again below.
	 */
	if (prev->plug)
		prev->plug_hook(prev->plug, THREAD_PLUG_SWITCH);
	next = runq_pop();
	need_resched = false;
	if (prev->state == THREAD_RUNNING) {
		if (!next)
			return;
		prev->state = THREAD_READY;
		if (prev != idle_thread)
			runq_push(prev);
	}
	if (!next)
		next = idle_thread;
	next->state = THREAD_RUNNING;
	if (next == prev)
		return;
	if (prev->stack_base && *prev->stack_base != STACK_CANARY)
		panic("thread %s overflowed its %u-byte stack", prev->name, THREAD_STACK_SIZE);
	switch_count++;
	sched_cur = next;
	ctx_switch(&prev->ctx, &next->ctx);
	/* Back in prev, switched in by some later schedule(); IRQs still masked. */
}

void sched_block(void)
{
	if (!sched_cur || sched_cur == idle_thread)
		panic("sleeping %s",
		      sched_cur ? "in the idle thread" : "before the scheduler started");
	sched_cur->state = THREAD_BLOCKED;
	schedule();
}

void sched_wake(struct thread *t)
{
	if (t->wq)
		waitq_unlink(t->wq, t);
	if (t->state != THREAD_BLOCKED)
		return;
	t->state = THREAD_READY;
	runq_push(t);
	/* The woken thread waits for its turn, except that an idle CPU gives it at once. */
	if (sched_cur == idle_thread)
		need_resched = true;
}

/*
 * The IRQ exit hook (include/levblk/hal/trap_hooks.h), registered by
 * sched_start: called after end of interrupt, IRQs still masked, on the
 * interrupted thread's stack. Switches thread if the tick expired the slice
 * or a thread woke while the CPU was idle. The interrupted context resumes
 * when this thread is scheduled again.
 */
static void sched_irq_exit(void)
{
	if (need_resched || (sched_cur == idle_thread && runq_head))
		schedule();
}

/* Timer interrupt: the running thread's slice is over if someone else is waiting. */
static void sched_tick(void *arg)
{
	(void)arg;
	uint64_t next = tick_timer.deadline_ns + SCHED_SLICE_NS, now = clock_ns();

	if (runq_head)
		need_resched = true;
	/* A thread that keeps the CPU: its plug's time bound is checked here. */
	if (sched_cur->plug)
		sched_cur->plug_hook(sched_cur->plug, THREAD_PLUG_TICK);
	/* Keep the period, but never schedule a burst of catch-up ticks. */
	timer_arm(&tick_timer, next > now ? next : now + SCHED_SLICE_NS, sched_tick, NULL);
}

/* First code of every thread, entered from ctx_switch's ret with IRQs masked. */
static _Noreturn void thread_entry(void)
{
	struct thread *self = sched_cur;

	irq_enable_local();
	self->fn(self->arg);
	irq_disable_local();
	self->state = THREAD_DEAD;
	waitq_wake_all(&self->join_wq);
	schedule();
	panic("dead thread %s was scheduled", self->name);
}

/* IRQs masked. Takes a free slot and prepares it to start in thread_entry. */
static struct thread *thread_alloc(const char *name, void (*fn)(void *), void *arg)
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

struct thread *thread_create(const char *name, void (*fn)(void *arg), void *arg)
{
	irqflags_t f = irq_save();
	struct thread *t = thread_alloc(name, fn, arg);

	if (t)
		runq_push(t);
	irq_restore(f);
	return t;
}

void thread_join(struct thread *t)
{
	irqflags_t f = irq_save();

	if (t == sched_cur)
		panic("thread %s joins itself", t->name);
	while (t->state != THREAD_DEAD)
		waitq_sleep_locked(&t->join_wq);
	/* It switched away for good before we could run: its stack is free. */
	t->state = THREAD_FREE;
	irq_restore(f);
}

void thread_yield(void)
{
	if (!sched_cur)
		return; /* boot, before sched_start: nothing to yield to */
	irqflags_t f = irq_save();
	schedule();
	irq_restore(f);
}

void thread_sleep_ns(uint64_t ns)
{
	uint64_t deadline = clock_ns() + ns;

	if (!sched_cur) {
		/* Boot, before sched_start (EARLY/IRQ initcalls): no thread to block; poll. */
		while (clock_ns() < deadline)
			cpu_relax();
		return;
	}
	irqflags_t f = irq_save();
	while (clock_ns() < deadline)
		waitq_sleep_locked_until(NULL, deadline);
	irq_restore(f);
}

struct thread *thread_current(void)
{
	return sched_cur;
}

const char *thread_name(const struct thread *t)
{
	return t->name;
}

void thread_set_plug(void *plug, thread_plug_hook_fn *hook)
{
	if (!sched_cur)
		return; /* boot, before sched_start: no thread to hold a plug */
	irqflags_t f = irq_save();

	/* The tick reads both from interrupt context: never one without the other. */
	sched_cur->plug = plug;
	sched_cur->plug_hook = plug ? hook : NULL;
	irq_restore(f);
}

void *thread_plug(void)
{
	return sched_cur ? sched_cur->plug : NULL;
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

void sched_idle_poll_until(uint64_t deadline_ns)
{
	if (deadline_ns > idle_poll_deadline)
		idle_poll_deadline = deadline_ns;
}

uint64_t sched_idle_poll_deadline(void)
{
	return __atomic_load_n(&idle_poll_deadline, __ATOMIC_RELAXED);
}

uint64_t sched_idle_polls(void)
{
	return __atomic_load_n(&idle_polls, __ATOMIC_RELAXED);
}

uint64_t sched_idle_ns(void)
{
	return __atomic_load_n(&idle_ns, __ATOMIC_RELAXED);
}

uint64_t sched_switch_count(void)
{
	return __atomic_load_n(&switch_count, __ATOMIC_RELAXED);
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
 * The idle thread: runs only when nothing else is ready. WFI with IRQs
 * masked still wakes on a pending interrupt; the interrupt is then taken
 * at irq_restore, and its exit switches to whatever it woke. The time
 * between going to sleep and waking is idle time (for cpu_util). Before a
 * sched_idle_poll_until() deadline it spins on the pending-interrupt flag
 * instead of WFI (levblk/kern/thread.h).
 */
static void idle_main(void *arg)
{
	(void)arg;
	for (;;) {
		irqflags_t f = irq_save();
		if (!runq_head) {
			uint64_t t0 = clock_ns();
			/* Polling counts as idle: any interrupt ends it at once. */
			if (t0 < idle_poll_deadline) {
				idle_spin_until(idle_poll_deadline);
				idle_polls++;
			} else {
				cpu_wfi();
			}
			idle_ns += clock_ns() - t0;
		}
		irq_restore(f);
	}
}

static void main_entry(void *arg)
{
	(void)arg;
	main_fn();
}

_Noreturn void sched_start(void (*fn)(void))
{
	int err;

	irq_disable_local();
	err = timer_start();
	if (err)
		panic("sched: timer interrupt not available (%d)", err);
	idle_thread = thread_alloc("idle", idle_main, NULL);
	main_fn = fn;
	if (!idle_thread || !thread_create("main", main_entry, NULL))
		panic("sched: no thread slots at boot");
	timer_arm(&tick_timer, clock_ns() + SCHED_SLICE_NS, sched_tick, NULL);
	trap_set_irq_exit(sched_irq_exit);
	sched_cur = &boot_thread;
	schedule();
	panic("sched: boot context resumed");
}

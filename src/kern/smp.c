/*
 * Bringing up the other CPUs, and running a function on a chosen CPU
 * (levblk/kern/smp.h).
 *
 * Bring-up (boot CPU, IRQs masked, from sched_start): every cpu node of the
 * device tree other than the boot CPU's own MPIDR is started with PSCI
 * CPU_ON as the next logical CPU. Each new CPU runs sched_secondary_main:
 * it announces its arrival, sets up its GIC interface, its timer, its idle
 * thread and tick, says it is ready, and starts scheduling. The boot CPU
 * waits for each in turn, with a bound:
 *   - PSCI refuses the CPU: reported, the next one gets the same number;
 *   - the CPU never arrives: reported, and its number is withdrawn under a
 *     compare-and-swap (a late arrival finds it withdrawn and parks), and no
 *     more CPUs are started (numbers stay dense: 0 .. cpu_count()-1);
 * then prints "smp: N CPUs online".
 */
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>
#include <levblk/irq/irq.h>
#include <levblk/kern/smp.h>
#include <levblk/lib/time.h>
#include <levblk/mutex.h>
#include "sched_private.h"

#define SMP_WAIT_NS (10ull * NSEC_PER_SEC) /* generous: a loaded host runs vCPU threads late */
#define MPIDR_NOWHERE 0xff00ffffffull       /* an affinity no virt CPU has */

enum smp_state { SMP_OFF, SMP_ARRIVED, SMP_READY, SMP_WITHDRAWN };

/* Per logical CPU; the boot CPU and that CPU hand it over with compare-and-swap / release. */
static uint32_t smp_state[CPU_MAX];

/* Every CPU the device tree lists, up to CPU_MAX; smp.cpus=N brings up fewer. */
uint64_t smp_max_cpus = CPU_MAX;
PARAM_U64("smp.cpus", smp_max_cpus, 1, CPU_MAX, "the most CPUs to bring up, the boot CPU included (default: all, at most 8)");
/* Test hook: the Nth CPU started (1 = the first after the boot CPU) is asked for at an MPIDR
 * no CPU has, so PSCI refuses it: the failure path, for real. */
static uint64_t smp_fail_cpu;
PARAM_U64("smp.fail_cpu", smp_fail_cpu, 0, CPU_MAX, "test: PSCI is asked to start a CPU that does not exist in this place");

/* 1: a spinlock waiter that spun long halts until its turn (levblk/hal/spinlock.h); 0: spin. */
static uint64_t smp_lock_halt = 1;
PARAM_U64("lock.halt", smp_lock_halt, 0, 1,
	  "1: a long spinlock wait halts the CPU (WFI) until the release wakes it; 0: spin");

static uint64_t smp_lock_wakes[CPU_MAX]; /* wake SGIs taken, per CPU (its own counter) */

/* The lock wake SGI: its arrival ended the WFI; the waiter looks at the lock itself. */
static void smp_lock_wake_irq(void *arg)
{
	(void)arg;
	uint64_t *n = &smp_lock_wakes[cpu_id()];

	__atomic_store_n(n, *n + 1, __ATOMIC_RELAXED);
}

uint64_t smp_lock_wakes_taken(void)
{
	uint64_t n = 0;

	for (unsigned int c = 0; c < CPU_MAX; c++)
		n += __atomic_load_n(&smp_lock_wakes[c], __ATOMIC_RELAXED);
	return n;
}

static void smp_lock_wake(unsigned int cpu)
{
	irq_send_ipi(SMP_SGI_LOCK_WAKE, cpu);
}

/* --- handing work to another CPU ---------------------------------------------------------- */

static void (*smp_work_fn)(void);

/* The work SGI, interrupt context: runs the handed-over work (acquire: pairs with the set). */
static void smp_work_irq(void *arg)
{
	(void)arg;
	void (*fn)(void) = __atomic_load_n(&smp_work_fn, __ATOMIC_ACQUIRE);

	if (fn)
		fn();
}

void smp_set_work(void (*fn)(void))
{
	__atomic_store_n(&smp_work_fn, fn, __ATOMIC_RELEASE);
}

void smp_kick_work(unsigned int cpu)
{
	irq_send_ipi(SMP_SGI_WORK, cpu);
}

/* --- running a function on another CPU -------------------------------------------------- */

struct smp_call {
	struct mutex lock; /* one call at a time per target, held until it has run */
	void (*fn)(void *arg);
	void *arg;
	struct completion *done;
	uint64_t calls;
} __attribute__((aligned(64)));

static struct smp_call smp_calls[CPU_MAX];

/* The call SGI, interrupt context on the target: runs the posted function. */
static void smp_call_irq(void *arg)
{
	(void)arg;
	struct smp_call *c = &smp_calls[cpu_id()];
	/* Acquire: pairs with the poster's release of fn/arg/done. */
	void (*fn)(void *) = __atomic_load_n(&c->fn, __ATOMIC_ACQUIRE);

	if (!fn)
		return;
	fn(c->arg);
	c->calls++;
	__atomic_store_n(&c->fn, NULL, __ATOMIC_RELAXED);
	complete(c->done); /* its lock orders fn's effects before the poster's wake-up */
}

/* Where PSCI starts the new CPU (MMU on, IRQs masked): checks in, then the scheduler. */
static _Noreturn void smp_secondary_entry(void)
{
	uint32_t expect = SMP_OFF;

	/* Acquire: pairs with the boot CPU's release of everything set up before CPU_ON. */
	if (!__atomic_compare_exchange_n(&smp_state[cpu_id()], &expect, SMP_ARRIVED, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		for (;;) /* withdrawn: the boot CPU gave up on us; stay out of the way */
			__asm__ volatile("wfe");
	}
	sched_secondary_main();
}

void smp_cpu_ready(void)
{
	/* Release: its idle thread and tick are set up before the boot CPU counts it. */
	__atomic_store_n(&smp_state[cpu_id()], SMP_READY, __ATOMIC_RELEASE);
}

/* Waits (bounded) until CPU cpu leaves `from`; returns the state it reached or `from`. */
static uint32_t smp_wait_state(unsigned int cpu, uint32_t from)
{
	uint64_t end = clock_ns() + SMP_WAIT_NS;
	uint32_t s;

	while ((s = __atomic_load_n(&smp_state[cpu], __ATOMIC_ACQUIRE)) == from &&
	       clock_ns() < end)
		cpu_relax();
	return s;
}

void smp_boot_cpus(void)
{
	const struct dt_info *dt = dt_info();
	uint64_t self = cpu_read_mpidr();
	unsigned int n = 1, started = 0;
	int err = irq_register(SMP_SGI_CALL, smp_call_irq, NULL);

	if (err)
		panic("smp: call SGI not available (%d)", err);
	/* Before the other CPUs come up: they enable the SGIs registered so far (irq_cpu_init). */
	if (irq_register(SMP_SGI_WORK, smp_work_irq, NULL))
		panic("smp: work SGI not available");
	if (smp_lock_halt && irq_register(SMP_SGI_LOCK_WAKE, smp_lock_wake_irq, NULL) == 0) {
		irq_set_priority(SMP_SGI_LOCK_WAKE, SMP_LOCK_WAKE_PRIO);
		spin_set_waker(smp_lock_wake);
		spin_halt_allow_here();
	}
	for (unsigned int c = 0; c < CPU_MAX; c++)
		mutex_init(&smp_calls[c].lock, "smp_call");

	for (unsigned int i = 0; i < dt->n_cpus && n < smp_max_cpus; i++) {
		uint64_t mpidr = dt->cpu_mpidr[i];

		if (mpidr == self)
			continue;
		started++;
		err = cpu_start(n, started == smp_fail_cpu ? MPIDR_NOWHERE : mpidr,
				    smp_secondary_entry);
		if (err) {
			kprintf("smp: CPU mpidr 0x%lx did not start (PSCI CPU_ON: %d)\n",
				(unsigned long)mpidr, err);
			continue;
		}
		if (smp_wait_state(n, SMP_OFF) == SMP_OFF) {
			uint32_t expect = SMP_OFF;

			if (__atomic_compare_exchange_n(&smp_state[n], &expect, SMP_WITHDRAWN, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				kprintf("smp: CPU mpidr 0x%lx did not come up; no more CPUs started\n",
					(unsigned long)mpidr);
				break;
			}
		}
		if (smp_wait_state(n, SMP_ARRIVED) != SMP_READY)
			panic("smp: CPU %u arrived but did not get ready", n);
		n++;
		cpu_set_online(n);
	}
	kprintf("smp: %u CPUs online\n", n);
}

int smp_call_on(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
	struct completion done = COMPLETION_INIT;

	if (cpu >= cpu_count() || !fn)
		return -EINVAL;
	struct smp_call *c = &smp_calls[cpu];

	mutex_lock(&c->lock);
	c->arg = arg;
	c->done = &done;
	/* Release: arg and done are visible to the target before fn is. */
	__atomic_store_n(&c->fn, fn, __ATOMIC_RELEASE);
	irq_send_ipi(SMP_SGI_CALL, cpu); /* to ourselves too, if we run there */
	wait_for_completion(&done);
	mutex_unlock(&c->lock);
	return 0;
}

uint64_t smp_calls_taken(unsigned int cpu)
{
	return cpu < CPU_MAX ? __atomic_load_n(&smp_calls[cpu].calls, __ATOMIC_RELAXED) : 0;
}


/*
 * The simulator's interrupt controller: <levblk/irq/irq.h> for host tests.
 * Devices "raise" their line by calling sim_irq_dispatch, which runs the
 * registered handler with host IRQs masked, as the kernel's IRQ entry would.
 */
#include <levblk/hal/percpu.h>
#include <stddef.h>
#include <levblk/errno.h>
#include <levblk/hal/cpu.h>
#include <levblk/irq/irq.h>
#include "sim/sim_private.h"

#define SIM_IRQ_MAX 1020U

struct sim_irq {
	irq_handler_t fn;
	void *arg;
	bool enabled;
	uint64_t count;
};

static struct sim_irq sim_irqs[SIM_IRQ_MAX];

void sim_irq_reset(void)
{
	for (unsigned i = 0; i < SIM_IRQ_MAX; i++)
		sim_irqs[i] = (struct sim_irq){0};
}

bool sim_irq_dispatch(uint32_t intid)
{
	struct sim_irq *q;
	irqflags_t f;

	if (intid >= SIM_IRQ_MAX)
		return false;
	q = &sim_irqs[intid];
	if (!q->fn || !q->enabled)
		return false;
	f = irq_save();
	q->count++;
	q->fn(q->arg);
	irq_restore(f);
	return true;
}

int irq_register(uint32_t intid, irq_handler_t fn, void *arg)
{
	if (intid >= SIM_IRQ_MAX || !fn)
		return -EINVAL;
	if (sim_irqs[intid].fn)
		return -EBUSY;
	sim_irqs[intid] = (struct sim_irq){.fn = fn, .arg = arg, .enabled = true};
	return 0;
}

/* One simulated CPU takes every interrupt: routing is accepted and changes nothing. */
int irq_set_affinity(uint32_t intid, unsigned int cpu)
{
	return intid < SIM_IRQ_MAX && cpu < cpu_count() ? 0 : -EINVAL;
}

void irq_unregister(uint32_t intid)
{
	if (intid < SIM_IRQ_MAX)
		sim_irqs[intid] = (struct sim_irq){0};
}

void irq_enable(uint32_t intid)
{
	if (intid < SIM_IRQ_MAX)
		sim_irqs[intid].enabled = true;
}

void irq_disable(uint32_t intid)
{
	if (intid < SIM_IRQ_MAX)
		sim_irqs[intid].enabled = false;
}

void irq_set_priority(uint32_t intid, uint8_t prio)
{
}

uint64_t irq_count(uint32_t intid)
{
	return intid < SIM_IRQ_MAX ? sim_irqs[intid].count : 0;
}

/* The one simulated CPU takes every interrupt where it is routed. */
int irq_affinity(uint32_t intid)
{
	return intid < SIM_IRQ_MAX && sim_irqs[intid].fn ? 0 : -EINVAL;
}

uint64_t irq_count_away(uint32_t intid)
{
	(void)intid;
	return 0;
}

uint64_t irq_spurious_count(void)
{
	return 0;
}

int irq_gic_version(void)
{
	return 3;
}

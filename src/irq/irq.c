/*
 * Generic interrupt dispatch over the GIC driver chosen from the device tree
 * (include/levblk/irq/irq.h). Every CPU dispatches its own interrupts; no
 * nesting: the exception entry masks IRQs and handlers run to completion
 * with them masked. A handler may run on one CPU while another CPU's runs:
 * what handlers share, they lock.
 *
 * Dispatch: acknowledge (IAR) -> handler -> dsb -> end of interrupt (EOIR);
 * then the trap code calls the scheduler's exit hook
 * (include/levblk/hal/trap_hooks.h). Acknowledgements returning a special
 * INTID (1020..1023, 1023 = nothing pending any more) are counted as spurious
 * and ignored.
 */
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/hal/trap_hooks.h>
#include <levblk/irq/irq.h>
#include <levblk/init.h>
#include "gic.h"

struct irq_desc {
	irq_handler_t fn;
	void *arg;
	uint64_t count; /* atomic: several CPUs may take the same SPI over time */
	uint64_t away;	/* atomic: of those, taken on a CPU other than `cpu` (SPI, LPI) */
	uint8_t prio;
	int8_t cpu;	/* SPI, LPI: the CPU it is routed to (irq_register: the caller's) */
};

/*
 * Written under irq_lock (registration); read by dispatch without it: the
 * GIC only signals an interrupt after it was enabled, which happens after
 * fn/arg were written (the enable is an MMIO write ordered after them: the
 * registration's lock release and the GIC write's own barrier).
 */
static struct irq_desc irq_table[GIC_INTID_LIMIT];
/* GICv3 LPIs handed out by the ITS (gicv3_its.c): INTIDs GIC_LPI_BASE and up. */
static struct irq_desc irq_lpi_table[IRQ_MAX_LPIS];
static uint64_t irq_spurious;
static const struct gic_ops *gic;
static spinlock_t irq_lock = SPINLOCK_INIT("irq");

static bool irq_is_lpi(uint32_t intid)
{
	return intid >= GIC_LPI_BASE && intid - GIC_LPI_BASE < IRQ_MAX_LPIS;
}

static bool irq_valid(uint32_t intid)
{
	return gic && (intid < gic->nr_intids() ||
		       (irq_is_lpi(intid) && gic->version == 3 && gicv3_its_lpi_exists(intid)));
}

/* The descriptor of an INTID: an SGI/PPI/SPI, or an LPI; NULL for anything else. */
static struct irq_desc *irq_desc_of(uint32_t intid)
{
	if (intid < GIC_INTID_LIMIT)
		return &irq_table[intid];
	return irq_is_lpi(intid) ? &irq_lpi_table[intid - GIC_LPI_BASE] : NULL;
}

/*
 * The IRQ exception: acknowledges and handles interrupts until none is
 * pending (saving an exception entry and exit per extra interrupt when
 * several are signalled together). The trap code then gives the scheduler
 * its chance (its exit hook).
 */
static void irq_dispatch(void)
{
	for (unsigned int n = 0;; n++) {
		uint32_t raw = gic->ack();
		uint32_t intid = gic->ack_intid(raw);

		struct irq_desc *d = irq_desc_of(intid);

		if (intid >= GIC_INTID_LIMIT && intid < GIC_LPI_BASE) {
			/*
			 * Nothing (any more) pending: normal after the first round; on
			 * the first, the interrupt went away (its level dropped)
			 * between signal and ack. A special INTID gets no EOI.
			 */
			if (n == 0)
				__atomic_fetch_add(&irq_spurious, 1, __ATOMIC_RELAXED);
			break;
		}
		if (!d) { /* an LPI beyond those handed out: cannot happen; count, finish it */
			__atomic_fetch_add(&irq_spurious, 1, __ATOMIC_RELAXED);
			dsb_sy();
			gic->eoi(raw);
			continue;
		}
		irq_handler_t fn = __atomic_load_n(&d->fn, __ATOMIC_ACQUIRE);

		__atomic_fetch_add(&d->count, 1, __ATOMIC_RELAXED);
		/*
		 * A routed interrupt taken elsewhere: the route was being changed,
		 * or the controller ignored it (what irq_count_away shows).
		 */
		if (intid >= GIC_FIRST_SPI &&
		    __atomic_load_n(&d->cpu, __ATOMIC_RELAXED) != (int8_t)cpu_id())
			__atomic_fetch_add(&d->away, 1, __ATOMIC_RELAXED);
		if (fn)
			fn(d->arg);
		else /* enabled without a handler cannot happen; count, do not die */
			__atomic_fetch_add(&irq_spurious, 1, __ATOMIC_RELAXED);
		/*
		 * The handler's device writes (e.g. virtio InterruptACK) must have
		 * reached the device before the GIC re-samples the level at EOI, or
		 * the same interrupt is taken again at once.
		 */
		dsb_sy();
		gic->eoi(raw);
	}
}

int irq_register(uint32_t intid, irq_handler_t fn, void *arg)
{
	if (!irq_valid(intid) || !fn)
		return -EINVAL;
	struct irq_desc *d = irq_desc_of(intid);
	irqflags_t f = spin_lock_irqsave(&irq_lock);
	if (d->fn) {
		spin_unlock_irqrestore(&irq_lock, f);
		return -EBUSY;
	}
	d->arg = arg;
	d->prio = IRQ_PRIO_DEFAULT;
	/* Release: dispatch's acquire load of fn sees arg too. */
	__atomic_store_n(&d->fn, fn, __ATOMIC_RELEASE);
	gic->disable(intid);
	/* configure routes an SPI or LPI to this CPU. */
	gic->configure(intid);
	if (intid >= GIC_FIRST_SPI) /* read by dispatch on any CPU */
		__atomic_store_n(&d->cpu, (int8_t)cpu_id(), __ATOMIC_RELAXED);
	gic->set_priority(intid, IRQ_PRIO_DEFAULT);
	gic->enable(intid);
	spin_unlock_irqrestore(&irq_lock, f);
	return 0;
}

void irq_unregister(uint32_t intid)
{
	if (!irq_valid(intid))
		return;
	struct irq_desc *d = irq_desc_of(intid);
	irqflags_t f = spin_lock_irqsave(&irq_lock);
	gic->disable(intid);
	__atomic_store_n(&d->fn, NULL, __ATOMIC_RELEASE);
	d->arg = NULL;
	spin_unlock_irqrestore(&irq_lock, f);
}

void irq_set_edge(uint32_t intid)
{
	if (!irq_valid(intid))
		return;
	irqflags_t f = spin_lock_irqsave(&irq_lock);
	gic->disable(intid);
	gic->set_edge(intid);
	if (irq_desc_of(intid)->fn)
		gic->enable(intid);
	spin_unlock_irqrestore(&irq_lock, f);
}

void irq_enable(uint32_t intid)
{
	if (irq_valid(intid))
		gic->enable(intid);
}

void irq_disable(uint32_t intid)
{
	if (irq_valid(intid))
		gic->disable(intid);
}

void irq_set_priority(uint32_t intid, uint8_t prio)
{
	if (!irq_valid(intid))
		return;
	irqflags_t f = spin_lock_irqsave(&irq_lock);
	irq_desc_of(intid)->prio = prio;
	gic->set_priority(intid, prio);
	spin_unlock_irqrestore(&irq_lock, f);
}

/* An interrupt that goes to one CPU and can be moved: an SPI or an LPI. */
static bool irq_routable(uint32_t intid)
{
	return irq_valid(intid) && intid >= GIC_FIRST_SPI &&
	       (intid < GIC_INTID_LIMIT || irq_is_lpi(intid));
}

int irq_set_affinity(uint32_t intid, unsigned int cpu)
{
	int err;

	if (!irq_routable(intid) || cpu >= cpu_count())
		return -EINVAL;
	irqflags_t f = spin_lock_irqsave(&irq_lock);
	err = gic->route(intid, cpu);
	if (!err)
		__atomic_store_n(&irq_desc_of(intid)->cpu, (int8_t)cpu, __ATOMIC_RELAXED);
	spin_unlock_irqrestore(&irq_lock, f);
	return err;
}

int irq_affinity(uint32_t intid)
{
	if (!irq_routable(intid) || !irq_desc_of(intid)->fn)
		return -EINVAL;
	return __atomic_load_n(&irq_desc_of(intid)->cpu, __ATOMIC_RELAXED);
}

void irq_send_ipi(uint32_t sgi, unsigned int cpu)
{
	/*
	 * Not only CPUs counted online: one coming up (after its cpu_init,
	 * before cpu_count includes it) may wait for a lock halted (the lock
	 * wake SGI). The driver skips a CPU whose interface is not set up.
	 */
	if (gic && sgi < GIC_SGI_COUNT && cpu < CPU_MAX)
		gic->send_sgi(sgi, cpu);
}

int irq_cpu_init(void)
{
	int err;

	if (!gic)
		return -ENODEV;
	err = gic->cpu_init();
	if (err)
		return err;
	/* This CPU's banked SGIs and PPIs: the ones registered so far, as registered. */
	irqflags_t f = spin_lock_irqsave(&irq_lock);
	for (uint32_t i = 0; i < GIC_FIRST_SPI; i++) {
		if (!irq_table[i].fn)
			continue;
		gic->configure(i);
		gic->set_priority(i, irq_table[i].prio);
		gic->enable(i);
	}
	spin_unlock_irqrestore(&irq_lock, f);
	return 0;
}

void irq_raise(uint32_t intid)
{
	if (irq_valid(intid))
		gic->raise(intid);
}

uint64_t irq_count(uint32_t intid)
{
	struct irq_desc *d = irq_desc_of(intid);

	return d ? __atomic_load_n(&d->count, __ATOMIC_RELAXED) : 0;
}

uint64_t irq_count_away(uint32_t intid)
{
	struct irq_desc *d = irq_desc_of(intid);

	return d ? __atomic_load_n(&d->away, __ATOMIC_RELAXED) : 0;
}

uint64_t irq_spurious_count(void)
{
	return __atomic_load_n(&irq_spurious, __ATOMIC_RELAXED);
}

int irq_gic_version(void)
{
	return gic ? gic->version : 0;
}

uint32_t irq_nr_intids(void)
{
	return gic ? gic->nr_intids() : 0;
}

static int irq_init(void)
{
	const struct dt_gic *g = &dt_info()->gic;
	const struct gic_ops *ops;
	int err;

	switch (g->version) {
	case 2:
		ops = &gicv2_ops;
		break;
	case 3:
		ops = &gicv3_ops;
		break;
	default:
		panic("irq: no GICv2/GICv3 node in the device tree");
	}
	err = ops->init(g);
	if (err)
		panic("irq: GICv%d init failed (%d)", g->version, err);
	gic = ops;
	trap_set_irq_handler(irq_dispatch);
	kprintf("irq: GICv%d, %u INTIDs\n", gic->version, gic->nr_intids());
	return 0;
}
INITCALL(INIT_LEVEL_IRQ, irq_init);

/*
 * Generic interrupt dispatch over the GIC driver chosen from the device tree
 * (include/levblk/irq/irq.h). One CPU, no nesting: the exception entry masks
 * IRQs and handlers run to completion with them masked.
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
#include <levblk/hal/trap_hooks.h>
#include <levblk/irq/irq.h>
#include <levblk/init.h>
#include "gic.h"

struct irq_desc {
	irq_handler_t fn;
	void *arg;
	uint64_t count;
};

/* Written at registration with IRQs masked, read by dispatch: no lock needed on one CPU. */
static struct irq_desc irq_table[GIC_INTID_LIMIT];
/* GICv3 LPIs handed out by the ITS (gicv3_its.c): INTIDs GIC_LPI_BASE and up. */
static struct irq_desc irq_lpi_table[IRQ_MAX_LPIS];
static uint64_t irq_spurious;
static const struct gic_ops *gic;

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
				irq_spurious++;
			break;
		}
		if (!d) { /* an LPI beyond those handed out: cannot happen; count, finish it */
			irq_spurious++;
			dsb_sy();
			gic->eoi(raw);
			continue;
		}
		d->count++;
		if (d->fn)
			d->fn(d->arg);
		else
			irq_spurious++; /* enabled without a handler cannot happen; count, do not
					   die */
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
	irqflags_t f = irq_save();
	if (d->fn) {
		irq_restore(f);
		return -EBUSY;
	}
	d->fn = fn;
	d->arg = arg;
	gic->disable(intid);
	gic->configure(intid);
	gic->set_priority(intid, IRQ_PRIO_DEFAULT);
	gic->enable(intid);
	irq_restore(f);
	return 0;
}

void irq_unregister(uint32_t intid)
{
	if (!irq_valid(intid))
		return;
	struct irq_desc *d = irq_desc_of(intid);
	irqflags_t f = irq_save();
	gic->disable(intid);
	d->fn = NULL;
	d->arg = NULL;
	irq_restore(f);
}

void irq_set_edge(uint32_t intid)
{
	if (!irq_valid(intid))
		return;
	irqflags_t f = irq_save();
	gic->disable(intid);
	gic->set_edge(intid);
	if (irq_desc_of(intid)->fn)
		gic->enable(intid);
	irq_restore(f);
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
	if (irq_valid(intid))
		gic->set_priority(intid, prio);
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

/*
 * GICv2 driver (QEMU virt gic-version=2, "arm,cortex-a15-gic"). virt has no
 * Security Extensions, so every interrupt is Group 0 and is signalled as IRQ
 * while GICC_CTLR.FIQEn is 0 (docs/qemu-virt.md, Interrupts).
 */
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/hal/mmio.h>
#include <levblk/hal/percpu.h>
#include <levblk/irq/irq.h>
#include "gic.h"
#include "gicv2_regs.h"

static uintptr_t gicd, gicc;
static uint32_t gicv2_n;
/*
 * Each CPU's bit in GICD_ITARGETSR and in GICD_SGIR's target list (read by
 * the CPU itself from the banked, read-only ITARGETSR0..7 at init). Written
 * once per CPU before it takes interrupts; read by others after its bring-up
 * has been published (cpu_count's release/acquire).
 */
static uint8_t gicv2_cpu_mask[CPU_MAX];

static void gicd_bank_write(uint32_t reg, uint32_t intid)
{
	mmio_write32_relaxed(gicd + reg + GIC_BANK_WORD(intid, 1), 1u << GIC_BANK_SHIFT(intid, 1));
}

static uint32_t gicv2_nr_intids(void)
{
	return gicv2_n;
}

static void gicv2_set_priority(uint32_t intid, uint8_t prio)
{
	uintptr_t a = gicd + GICD_IPRIORITYR + GIC_BANK_WORD(intid, 8);
	uint32_t sh = GIC_BANK_SHIFT(intid, 8);
	uint32_t v = mmio_read32_relaxed(a);

	/* Word access: byte access to the GIC is allowed too, but one width keeps it simple. */
	mmio_write32_relaxed(a, (v & ~(0xffu << sh)) | ((uint32_t)prio << sh));
}

static void gicv2_configure(uint32_t intid)
{
	if (intid >= GIC_FIRST_SPI) {
		uintptr_t cfg = gicd + GICD_ICFGR + GIC_BANK_WORD(intid, 2);
		uintptr_t tgt = gicd + GICD_ITARGETSR + GIC_BANK_WORD(intid, 8);
		uint32_t sh = GIC_BANK_SHIFT(intid, 8);

		/* Int_config bit 1 = 0: level-sensitive (virtio lines are level). */
		mmio_write32_relaxed(cfg,
				     mmio_read32_relaxed(cfg) & ~(2u << GIC_BANK_SHIFT(intid, 2)));
		/* With -smp >= 2 an SPI with no target is never delivered. */
		mmio_write32_relaxed(tgt, (mmio_read32_relaxed(tgt) & ~(0xffu << sh)) |
					      ((uint32_t)gicv2_cpu_mask[cpu_id()] << sh));
	}
	/* SGI/PPI configuration is fixed or banked; nothing to route. */
}

static void gicv2_set_edge(uint32_t intid)
{
	if (intid >= GIC_FIRST_SPI) {
		uintptr_t cfg = gicd + GICD_ICFGR + GIC_BANK_WORD(intid, 2);

		/* Int_config bit 1 = 1: edge-triggered (a message is an event, not a level). */
		mmio_write32_relaxed(cfg, mmio_read32_relaxed(cfg) | (2u << GIC_BANK_SHIFT(intid, 2)));
	}
}

static int gicv2_route(uint32_t intid, unsigned int cpu)
{
	uintptr_t tgt = gicd + GICD_ITARGETSR + GIC_BANK_WORD(intid, 8);

	if (intid < GIC_FIRST_SPI || intid >= GIC_INTID_LIMIT || cpu >= CPU_MAX ||
	    !gicv2_cpu_mask[cpu])
		return -EINVAL;
	/*
	 * One byte per SPI: a byte-wide write changes only this SPI's targets
	 * (another CPU may be routing a neighbour in the same word at once).
	 * Byte access to ITARGETSR is architected.
	 */
	mmio_write8_relaxed(tgt + (intid % 4u), gicv2_cpu_mask[cpu]);
	return 0;
}

static void gicv2_send_sgi(uint32_t intid, unsigned int cpu)
{
	if (cpu >= CPU_MAX || !gicv2_cpu_mask[cpu])
		return;
	/*
	 * Our earlier stores (a thread queued for the target) complete before
	 * the SGI can reach it: the target's handler reads them (under the
	 * scheduler's lock, which orders them too; the dsb keeps the IPI itself
	 * from overtaking them on hardware).
	 */
	dsb_sy();
	mmio_write32_relaxed(gicd + GICD_SGIR, ((uint32_t)gicv2_cpu_mask[cpu] << GICD_SGIR_TARGETS_SHIFT) |
					   (intid & GICD_SGIR_INTID_MASK));
}

static void gicv2_enable(uint32_t intid)
{
	gicd_bank_write(GICD_ISENABLER, intid);
}

static void gicv2_disable(uint32_t intid)
{
	gicd_bank_write(GICD_ICENABLER, intid);
}

static void gicv2_raise(uint32_t intid)
{
	if (intid < GIC_SGI_COUNT)
		mmio_write32(gicd + GICD_SGIR,
			     GICD_SGIR_TARGET_SELF | (intid & GICD_SGIR_INTID_MASK));
	else
		gicd_bank_write(GICD_ISPENDR, intid);
}

static uint32_t gicv2_ack(void)
{
	return mmio_read32_relaxed(gicc + GICC_IAR);
}

static uint32_t gicv2_ack_intid(uint32_t raw)
{
	return raw & GICC_IAR_INTID_MASK;
}

static void gicv2_eoi(uint32_t raw)
{
	/* The raw IAR value: for SGIs it carries the source CPU, which EOIR needs. */
	mmio_write32_relaxed(gicc + GICC_EOIR, raw);
}

/* ITARGETSR0 reads back this CPU's own bit in every byte (RAZ with one CPU). */
static void gicv2_read_cpu_mask(void)
{
	uint8_t m = (uint8_t)mmio_read32_relaxed(gicd + GICD_ITARGETSR);

	gicv2_cpu_mask[cpu_id()] = m ? m : 1;
}

static void gicv2_cpu_interface_on(void)
{
	/* PMR resets to 0, which masks everything. */
	mmio_write32_relaxed(gicc + GICC_PMR, GICC_PMR_ALL);
	mmio_write32_relaxed(gicc + GICC_BPR, 0);
	mmio_write32(gicc + GICC_CTLR, GICC_CTLR_ENABLE);
}

static int gicv2_init(const struct dt_gic *g)
{
	if (!g->dist_base || !g->cpu_base)
		return -EINVAL;
	gicd = (uintptr_t)g->dist_base;
	gicc = (uintptr_t)g->cpu_base;

	mmio_write32_relaxed(gicd + GICD_CTLR, 0);
	gicv2_n = ((mmio_read32_relaxed(gicd + GICD_TYPER) & GICD_TYPER_ITLINES_MASK) + 1) * 32u;
	if (gicv2_n > GIC_INTID_LIMIT)
		gicv2_n = GIC_INTID_LIMIT;
	gicv2_read_cpu_mask();

	/* Everything off, not pending, Group 0, default priority, until registered. */
	for (uint32_t i = 0; i < gicv2_n; i += 32) {
		mmio_write32_relaxed(gicd + GICD_ICENABLER + GIC_BANK_WORD(i, 1), ~0u);
		mmio_write32_relaxed(gicd + GICD_ICPENDR + GIC_BANK_WORD(i, 1), ~0u);
		mmio_write32_relaxed(gicd + GICD_ICACTIVER + GIC_BANK_WORD(i, 1), ~0u);
		mmio_write32_relaxed(gicd + GICD_IGROUPR + GIC_BANK_WORD(i, 1), 0);
	}
	for (uint32_t i = 0; i < gicv2_n; i++)
		gicv2_set_priority(i, IRQ_PRIO_DEFAULT);

	mmio_write32_relaxed(gicd + GICD_CTLR, GICD_CTLR_ENABLE);
	gicv2_cpu_interface_on();
	return 0;
}

/* Another CPU: its banked SGI/PPI state reset like the boot CPU's, then its interface. */
static int gicv2_cpu_init(void)
{
	if (!gicd)
		return -ENODEV;
	gicv2_read_cpu_mask();
	mmio_write32_relaxed(gicd + GICD_ICENABLER, ~0u);
	mmio_write32_relaxed(gicd + GICD_ICPENDR, ~0u);
	mmio_write32_relaxed(gicd + GICD_ICACTIVER, ~0u);
	mmio_write32_relaxed(gicd + GICD_IGROUPR, 0);
	for (uint32_t i = 0; i < GIC_FIRST_SPI; i++)
		gicv2_set_priority(i, IRQ_PRIO_DEFAULT);
	gicv2_cpu_interface_on();
	return 0;
}

const struct gic_ops gicv2_ops = {
    .version = 2,
    .init = gicv2_init,
    .nr_intids = gicv2_nr_intids,
    .ack = gicv2_ack,
    .ack_intid = gicv2_ack_intid,
    .eoi = gicv2_eoi,
    .configure = gicv2_configure,
    .set_edge = gicv2_set_edge,
    .enable = gicv2_enable,
    .disable = gicv2_disable,
    .set_priority = gicv2_set_priority,
    .raise = gicv2_raise,
    .cpu_init = gicv2_cpu_init,
    .send_sgi = gicv2_send_sgi,
    .route = gicv2_route,
};

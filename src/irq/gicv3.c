/*
 * GICv3 driver (QEMU virt gic-version=3). virt runs with GICD_CTLR.DS = 1:
 * one security state, where Group 0 is signalled as FIQ. Every interrupt is
 * therefore put in Group 1 (GICD_IGROUPR / GICR_IGROUPR0 bits set) and the
 * CPU interface enables Group 1 (ICC_IGRPEN1_EL1) (docs/qemu-virt.md, Interrupts).
 *
 * SGIs and PPIs live in this CPU's redistributor; SPIs in the distributor,
 * routed by GICD_IROUTER to this CPU's affinity.
 */
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/hal/mmio.h>
#include <levblk/hal/percpu.h>
#include <levblk/irq/irq.h>
#include "gic.h"
#include "gicv3_regs.h"

#define MPIDR_AFF_MASK 0xff00ffffffull /* Aff3 [39:32], Aff2..Aff0 [23:0] */

static uintptr_t gicd;
static uint32_t gicv3_n;
static const struct dt_gic *gicv3_dt;
/*
 * Per CPU (cpu_id()): its redistributor's frames and its MPIDR affinity.
 * Each CPU writes its own entry in init/cpu_init before it takes
 * interrupts; other CPUs read it (send_sgi, route) only after its bring-up
 * was published (cpu_count's release/acquire).
 */
static uintptr_t gicr_rd_of[CPU_MAX], gicr_sgi_of[CPU_MAX];
static uint64_t mpidr_of[CPU_MAX];

#define gicr_rd	 (gicr_rd_of[cpu_id()])
#define gicr_sgi (gicr_sgi_of[cpu_id()])

static inline uint64_t read_mpidr(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(v));
	return v;
}

static uint32_t gicv3_nr_intids(void)
{
	return gicv3_n;
}

uintptr_t gicv3_rd_base_of(unsigned cpu)
{
	return cpu < CPU_MAX ? gicr_rd_of[cpu] : 0;
}

uintptr_t gicv3_dist_base(void)
{
	return gicd;
}

/* Waits for a register write to take effect (RWP bit); bounded, QEMU is immediate. */
static int gicv3_wait_rwp(uintptr_t reg, uint32_t rwp)
{
	for (uint32_t i = 0; i < GICV3_POLL_LIMIT; i++) {
		if (!(mmio_read32_relaxed(reg) & rwp))
			return 0;
	}
	return -ETIMEDOUT;
}

/*
 * The SGI/PPI banks (one per redistributor) are changed on every CPU that
 * has one set up, so a per-CPU interrupt registered after bring-up works on
 * all of them; SPIs live in the one distributor.
 */
/* Read-modify-write of a one-bit-per-INTID register (IGROUPR). */
static void bank_rmw(uint32_t reg, uint32_t intid, uint32_t clear, uint32_t set)
{
	uint32_t off = reg + GIC_BANK_WORD(intid, 1);

	if (intid >= GIC_FIRST_SPI) {
		mmio_write32_relaxed(gicd + off, (mmio_read32_relaxed(gicd + off) & ~clear) | set);
		return;
	}
	for (unsigned int c = 0; c < CPU_MAX; c++) {
		if (gicr_sgi_of[c])
			mmio_write32_relaxed(gicr_sgi_of[c] + off,
					     (mmio_read32_relaxed(gicr_sgi_of[c] + off) & ~clear) | set);
	}
}

/* A write-1 register (set/clear enable or pending): one bit, every bank it concerns. */
static void bank_write_bit(uint32_t reg, uint32_t intid)
{
	uint32_t off = reg + GIC_BANK_WORD(intid, 1), bit = 1u << GIC_BANK_SHIFT(intid, 1);

	if (intid >= GIC_FIRST_SPI) {
		mmio_write32_relaxed(gicd + off, bit);
		return;
	}
	for (unsigned int c = 0; c < CPU_MAX; c++) {
		if (gicr_sgi_of[c])
			mmio_write32_relaxed(gicr_sgi_of[c] + off, bit);
	}
}

static void gicv3_set_priority(uint32_t intid, uint8_t prio)
{
	if (intid >= GIC_LPI_BASE) {
		gicv3_its_lpi_priority(intid, prio);
		return;
	}
	uint32_t word = GIC_BANK_WORD(intid, 8), sh = GIC_BANK_SHIFT(intid, 8);

	_Static_assert(GICD_IPRIORITYR == GICR_IPRIORITYR, "same offset in both frames");
	if (intid >= GIC_FIRST_SPI) {
		uintptr_t a = gicd + GICD_IPRIORITYR + word;
		mmio_write32_relaxed(a, (mmio_read32_relaxed(a) & ~(0xffu << sh)) |
					    ((uint32_t)prio << sh));
		return;
	}
	for (unsigned int c = 0; c < CPU_MAX; c++) {
		uintptr_t a = gicr_sgi_of[c] + GICR_IPRIORITYR + word;
		if (gicr_sgi_of[c])
			mmio_write32_relaxed(a, (mmio_read32_relaxed(a) & ~(0xffu << sh)) |
						    ((uint32_t)prio << sh));
	}
}

/* This CPU's SGI/PPI priority only (its bring-up, before it is visible to others). */
static void gicv3_set_priority_here(uint32_t intid, uint8_t prio)
{
	uintptr_t a = gicr_sgi + GICR_IPRIORITYR + GIC_BANK_WORD(intid, 8);
	uint32_t sh = GIC_BANK_SHIFT(intid, 8);

	mmio_write32_relaxed(a, (mmio_read32_relaxed(a) & ~(0xffu << sh)) | ((uint32_t)prio << sh));
}

static int gicv3_route(uint32_t intid, unsigned int cpu)
{
	if (intid >= GIC_LPI_BASE)
		return gicv3_its_lpi_route(intid, cpu);
	if (intid < GIC_FIRST_SPI || intid >= GIC_INTID_LIMIT || cpu >= CPU_MAX || !gicr_rd_of[cpu])
		return -EINVAL;
	/* Interrupt_Routing_Mode 0 (bit 31 clear): to the one PE with this affinity. */
	uintptr_t r = gicd + GICD_IROUTER + 8u * intid;
	uint64_t m = mpidr_of[cpu];

	mmio_write32_relaxed(r, (uint32_t)m);
	mmio_write32_relaxed(r + 4, (uint32_t)(m >> 32));
	return 0;
}

static void gicv3_configure(uint32_t intid)
{
	if (intid >= GIC_LPI_BASE) {
		/* Group 1 by nature; to this CPU's collection, as an SPI is routed here. */
		(void)gicv3_its_lpi_route(intid, cpu_id());
		return;
	}
	_Static_assert(GICD_IGROUPR == GICR_IGROUPR0, "same offset in both frames");
	/* Group 1: with DS = 1 a Group 0 interrupt would arrive as FIQ. */
	bank_rmw(GICD_IGROUPR, intid, 0, 1u << GIC_BANK_SHIFT(intid, 1));
	if (intid >= GIC_FIRST_SPI) {
		uintptr_t cfg = gicd + GICD_ICFGR + GIC_BANK_WORD(intid, 2);

		mmio_write32_relaxed(cfg,
				     mmio_read32_relaxed(cfg) & ~(2u << GIC_BANK_SHIFT(intid, 2)));
		/* Interrupt_Routing_Mode 0: to the PE with this affinity (ours). */
		(void)gicv3_route(intid, cpu_id());
	}
}

static void gicv3_set_edge(uint32_t intid)
{
	if (intid >= GIC_LPI_BASE)
		return; /* edge by nature */
	if (intid >= GIC_FIRST_SPI) {
		uintptr_t cfg = gicd + GICD_ICFGR + GIC_BANK_WORD(intid, 2);

		/* Int_config bit 1 = 1: edge-triggered (a message is an event, not a level). */
		mmio_write32_relaxed(cfg, mmio_read32_relaxed(cfg) | (2u << GIC_BANK_SHIFT(intid, 2)));
	}
}

static void gicv3_enable(uint32_t intid)
{
	if (intid >= GIC_LPI_BASE) {
		gicv3_its_lpi_enable(intid, true);
		return;
	}
	_Static_assert(GICD_ISENABLER == GICR_ISENABLER0, "same offset in both frames");
	bank_write_bit(GICD_ISENABLER, intid);
}

static void gicv3_disable(uint32_t intid)
{
	if (intid >= GIC_LPI_BASE) {
		gicv3_its_lpi_enable(intid, false);
		return;
	}
	bank_write_bit(GICD_ICENABLER, intid);
	/* The disable is complete once RWP clears (GICD or GICR, per bank). */
	if (intid < GIC_FIRST_SPI)
		(void)gicv3_wait_rwp(gicr_rd + GICR_CTLR, GICR_CTLR_RWP);
	else
		(void)gicv3_wait_rwp(gicd + GICD_CTLR, GICD_CTLR_RWP);
}

static void gicv3_send_sgi(uint32_t intid, unsigned int cpu)
{
	if (cpu >= CPU_MAX || !gicr_rd_of[cpu])
		return;
	uint64_t m = mpidr_of[cpu];
	uint64_t v = ((uint64_t)intid << ICC_SGI1R_INTID_SHIFT) |
		     (((m >> 8) & 0xffu) << ICC_SGI1R_AFF1_SHIFT) |
		     (((m >> 16) & 0xffu) << ICC_SGI1R_AFF2_SHIFT) |
		     (((m >> 32) & 0xffu) << ICC_SGI1R_AFF3_SHIFT) | (1u << (m & 0xfu));
	/*
	 * The receiver reads what we stored before (a thread queued for it):
	 * dsb makes those stores complete before the system-register write
	 * that sends the SGI (the scheduler's lock orders them too).
	 */
	dsb_sy();
	__asm__ volatile("msr icc_sgi1r_el1, %0\n\tisb" : : "r"(v) : "memory");
}

static void gicv3_raise(uint32_t intid)
{
	if (intid >= GIC_LPI_BASE)
		return; /* an LPI is raised by its device's message only */
	if (intid < GIC_SGI_COUNT) {
		gicv3_send_sgi(intid, cpu_id());
	} else {
		_Static_assert(GICD_ISPENDR == GICR_ISPENDR0, "same offset in both frames");
		bank_write_bit(GICD_ISPENDR, intid);
	}
}

static uint32_t gicv3_ack(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, icc_iar1_el1" : "=r"(v) : : "memory");
	return (uint32_t)v;
}

static uint32_t gicv3_ack_intid(uint32_t raw)
{
	return raw & ICC_IAR_INTID_MASK;
}

static void gicv3_eoi(uint32_t raw)
{
	/* The isb makes the priority drop take effect before anything that follows. */
	__asm__ volatile("msr icc_eoir1_el1, %0\n\tisb" : : "r"((uint64_t)raw) : "memory");
}

/* Finds this CPU's redistributor by walking the frames until GICR_TYPER.Last. */
static int gicv3_find_rd(const struct dt_gic *g)
{
	uint64_t mpidr = mpidr_of[cpu_id()];
	uint64_t aff = ((mpidr >> 32) & 0xffu) << 24 | (mpidr & 0xffffffu);
	uintptr_t rd = (uintptr_t)g->cpu_base, end = rd + (uintptr_t)g->cpu_size;

	while (rd < end) {
		uint64_t typer = mmio_read32_relaxed(rd + GICR_TYPER) |
				 (uint64_t)mmio_read32_relaxed(rd + GICR_TYPER + 4) << 32;
		if ((typer >> GICR_TYPER_AFF_SHIFT) == aff) {
			gicr_sgi_of[cpu_id()] = rd + GICR_SGI_BASE;
			/* Last: a non-zero gicr_rd_of says this CPU's entry is complete. */
			gicr_rd_of[cpu_id()] = rd;
			return 0;
		}
		if (typer & GICR_TYPER_LAST)
			break;
		rd += (typer & GICR_TYPER_VLPIS) ? GICR_STRIDE_VLPI : GICR_STRIDE;
	}
	return -ENODEV;
}

/* This CPU's redistributor (woken, SGIs/PPIs reset to off, Group 1) and CPU interface. */
static int gicv3_cpu_local_init(void)
{
	uint32_t i;

	/* Redistributor: wake it (ProcessorSleep off), then reset SGIs/PPIs likewise. */
	mmio_write32_relaxed(gicr_rd + GICR_WAKER, mmio_read32_relaxed(gicr_rd + GICR_WAKER) &
						       ~GICR_WAKER_PROCESSOR_SLEEP);
	for (i = 0; i < GICV3_POLL_LIMIT; i++) {
		if (!(mmio_read32_relaxed(gicr_rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP))
			break;
	}
	if (i == GICV3_POLL_LIMIT)
		return -ETIMEDOUT;
	mmio_write32_relaxed(gicr_sgi + GICR_ICENABLER0, ~0u);
	mmio_write32_relaxed(gicr_sgi + GICR_ICPENDR0, ~0u);
	mmio_write32_relaxed(gicr_sgi + GICR_ICACTIVER0, ~0u);
	mmio_write32_relaxed(gicr_sgi + GICR_IGROUPR0, ~0u);
	for (i = 0; i < GIC_FIRST_SPI; i++)
		gicv3_set_priority_here(i, IRQ_PRIO_DEFAULT);
	(void)gicv3_wait_rwp(gicr_rd + GICR_CTLR, GICR_CTLR_RWP);

	/* CPU interface: system-register access, no priority masking, Group 1 on. */
	uint64_t sre;
	__asm__ volatile("mrs %0, icc_sre_el1" : "=r"(sre));
	sre |= ICC_SRE_SRE | ICC_SRE_DFB | ICC_SRE_DIB;
	__asm__ volatile("msr icc_sre_el1, %0\n\tisb" : : "r"(sre) : "memory");
	__asm__ volatile("msr icc_pmr_el1, %0" : : "r"((uint64_t)ICC_PMR_ALL) : "memory");
	__asm__ volatile("msr icc_bpr1_el1, xzr" ::: "memory");
	__asm__ volatile("msr icc_igrpen1_el1, %0\n\tisb"
			 :
			 : "r"((uint64_t)ICC_IGRPEN1_EN)
			 : "memory");
	return 0;
}

static int gicv3_init(const struct dt_gic *g)
{
	uint32_t i;

	if (!g->dist_base || !g->cpu_base)
		return -EINVAL;
	gicd = (uintptr_t)g->dist_base;
	gicv3_dt = g;
	mpidr_of[cpu_id()] = read_mpidr() & MPIDR_AFF_MASK;
	if (gicv3_find_rd(g) < 0)
		return -ENODEV;

	/* Distributor: off while the SPIs are reset to disabled, Group 1, default priority. */
	mmio_write32_relaxed(gicd + GICD_CTLR, GICD_CTLR_ARE);
	if (gicv3_wait_rwp(gicd + GICD_CTLR, GICD_CTLR_RWP) < 0)
		return -ETIMEDOUT;
	gicv3_n = ((mmio_read32_relaxed(gicd + GICD_TYPER) & GICD_TYPER_ITLINES_MASK) + 1) * 32u;
	if (gicv3_n > GIC_INTID_LIMIT)
		gicv3_n = GIC_INTID_LIMIT;
	for (i = GIC_FIRST_SPI; i < gicv3_n; i += 32) {
		mmio_write32_relaxed(gicd + GICD_ICENABLER + GIC_BANK_WORD(i, 1), ~0u);
		mmio_write32_relaxed(gicd + GICD_ICPENDR + GIC_BANK_WORD(i, 1), ~0u);
		mmio_write32_relaxed(gicd + GICD_ICACTIVER + GIC_BANK_WORD(i, 1), ~0u);
		mmio_write32_relaxed(gicd + GICD_IGROUPR + GIC_BANK_WORD(i, 1), ~0u);
	}
	for (i = GIC_FIRST_SPI; i < gicv3_n; i++)
		gicv3_set_priority(i, IRQ_PRIO_DEFAULT);
	mmio_write32_relaxed(gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP1);
	if (gicv3_wait_rwp(gicd + GICD_CTLR, GICD_CTLR_RWP) < 0)
		return -ETIMEDOUT;

	return gicv3_cpu_local_init();
}

/* Another CPU, IRQs masked: finds and wakes its redistributor, then its CPU interface. */
static int gicv3_cpu_init(void)
{
	if (!gicd)
		return -ENODEV;
	mpidr_of[cpu_id()] = read_mpidr() & MPIDR_AFF_MASK;
	if (gicv3_find_rd(gicv3_dt) < 0)
		return -ENODEV;
	return gicv3_cpu_local_init();
}

const struct gic_ops gicv3_ops = {
    .version = 3,
    .init = gicv3_init,
    .nr_intids = gicv3_nr_intids,
    .ack = gicv3_ack,
    .ack_intid = gicv3_ack_intid,
    .eoi = gicv3_eoi,
    .configure = gicv3_configure,
    .set_edge = gicv3_set_edge,
    .enable = gicv3_enable,
    .disable = gicv3_disable,
    .set_priority = gicv3_set_priority,
    .raise = gicv3_raise,
    .cpu_init = gicv3_cpu_init,
    .send_sgi = gicv3_send_sgi,
    .route = gicv3_route,
};

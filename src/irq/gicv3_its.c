/*
 * GICv3 ITS (Arm IHI 0069, chapter 5 and 6) and physical LPIs, for PCI
 * MSI-X with gic-version=3 (levblk/irq/msi.h). A device's message (EventID
 * as data, written to GITS_TRANSLATER, its DeviceID taken from the PCI
 * requester id through the device tree's msi-map) becomes an LPI through
 * two tables the ITS walks: the device table (DeviceID -> interrupt
 * translation table) and the ITT (EventID -> LPI and collection); the
 * collection names the target redistributor (this CPU's). They are filled
 * by commands (MAPC, MAPD, MAPTI, INV, SYNC) written to a command queue in
 * memory and consumed by the ITS up to GITS_CWRITER.
 *
 * LPIs have no distributor state: each one's enable bit and priority is a
 * byte of the LPI configuration table (GICR_PROPBASER), its pending bit a
 * bit of the pending table (GICR_PENDBASER), both in memory; after a change
 * of its byte the ITS is told to re-read it (INV).
 *
 * One collection per CPU: collection c targets CPU c's redistributor, and
 * every redistributor has LPIs on (one shared configuration table, a pending
 * table each). An LPI is mapped to collection 0 and moved (MOVI) to the CPU
 * irq_set_affinity names. Everything is set up at the first allocation
 * (thread context, INIT_LEVEL_DEVICE, after every CPU came up: smp.c), and
 * allocations are for good. Every wait on the ITS is bounded.
 *
 * Locking: the command queue and the per-LPI records are shared by every
 * CPU; its_lock (IRQ-saving: irq_enable/irq_disable may come from an
 * interrupt handler) covers them. Setup runs once, before any LPI exists.
 */
#include <stdbool.h>
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/mmio.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/irq/irq.h>
#include <levblk/irq/msi.h>
#include "gic.h"
#include "gicv3_regs.h"

/* ITS control frame. */
#define GITS_CTLR	 0x0000U
#define GITS_TYPER	 0x0008U
#define GITS_CBASER	 0x0080U
#define GITS_CWRITER	 0x0088U
#define GITS_CREADR	 0x0090U
#define GITS_BASER(n)	 (0x0100U + 8U * (n))
#define GITS_NR_BASER	 8U
#define GITS_TRANSLATER	 0x10040U /* in the translation frame, ITS base + 64 KiB */
#define GITS_CTLR_ENABLED   (1U << 0)
#define GITS_CTLR_QUIESCENT (1U << 31)

#define GITS_TYPER_PTA		(1ULL << 19)
#define GITS_TYPER_ITT_SHIFT	4
#define GITS_TYPER_ITT_MASK	0xfULL
#define GITS_TYPER_DEVBITS_SHIFT 13
#define GITS_TYPER_DEVBITS_MASK 0x1fULL

#define GITS_BASER_VALID	(1ULL << 63)
#define GITS_BASER_TYPE_SHIFT	56
#define GITS_BASER_TYPE_MASK	7ULL
#define GITS_BASER_TYPE_DEVICE	1ULL
#define GITS_BASER_TYPE_COLL	4ULL
#define GITS_BASER_ESIZE_SHIFT	48
#define GITS_BASER_ESIZE_MASK	0x1fULL
#define GITS_BASER_ADDR_MASK	0x0000fffffffff000ULL
#define GITS_BASER_PAGES_MASK	0xffULL
/* Inner shareable, normal inner write-back (read/write-allocate): like the kernel's RAM. */
#define GITS_CACHE_WB	 (7ULL << 59)
#define GITS_SHARE_INNER (1ULL << 10)
#define GITS_CBASER_VALID (1ULL << 63)

/* Redistributor LPI registers (RD_base). */
#define GICR_CTLR_ENABLE_LPIS (1U << 0)
#define GICR_TYPER_PLPIS      (1ULL << 0)
#define GICR_TYPER_PROCNUM_SHIFT 8
#define GICR_TYPER_PROCNUM_MASK 0xffffULL
#define GICR_PROPBASER	      0x0070U
#define GICR_PENDBASER	      0x0078U
#define GICR_PEND_PTZ	      (1ULL << 62)
#define GICR_BASER_CACHE_WB   (7ULL << 7)
#define GICR_BASER_SHARE_INNER (1ULL << 10)
#define GICD_TYPER_LPIS	      (1U << 17)
#define GICD_TYPER_IDBITS_SHIFT 19
#define GICD_TYPER_IDBITS_MASK 0x1fU

/* LPIs we use: INTIDs 8192 .. 8192 + ITS_MAX_LPIS - 1 (ID bits: 14). */
#define ITS_LPI_ID_BITS	 14U
#define ITS_LPI_TABLE	 ((1U << ITS_LPI_ID_BITS) - GIC_LPI_BASE) /* config bytes */
#define ITS_PEND_TABLE	 ((1U << ITS_LPI_ID_BITS) / 8U)
#define ITS_PEND_ALIGN	 0x10000U
#define ITS_LPI_ENABLE	 1U
#define ITS_LPI_GROUP1	 (1U << 1) /* RES1 in the configuration byte */

/* Commands: 32 bytes each; the queue is one page. */
#define ITS_CMD_SIZE	32U
#define ITS_QUEUE_SIZE	4096U
#define ITS_CMD_MOVI	0x01U
#define ITS_CMD_MAPD	0x08U
#define ITS_CMD_MAPC	0x09U
#define ITS_CMD_MAPTI	0x0aU
#define ITS_CMD_INV	0x0cU
#define ITS_CMD_SYNC	0x05U
#define ITS_CMD_VALID	(1ULL << 63)
#define ITS_RDBASE_MASK 0x000fffffffff0000ULL /* DW2 bits 51:16 */
#define ITS_ITT_ADDR_MASK 0x000fffffffffff00ULL /* DW2 bits 51:8 */
#define ITS_ITT_ALIGN	256U
#define ITS_ICID_MASK	0xffffULL
#define ITS_POLL_LIMIT	1000000U
/* DeviceIDs the device table is sized for (PCI requester ids of buses 0..15). */
#define ITS_MAX_DEVIDS	4096U
#define ITS_COLLECTIONS 16U

static bool its_probed;
static const char *its_problem;
static uintptr_t its_base;
/* Per CPU (collection c = CPU c): the MAPC/SYNC RDbase field, physical address or processor number. */
static uint64_t its_rd_target[CPU_MAX];
static unsigned its_ncpus; /* collections mapped: the CPUs online at setup */
static struct dma_buf its_queue, its_devices, its_colls, its_prop, its_pend[CPU_MAX];
static spinlock_t its_lock = SPINLOCK_INIT("its");
static uint32_t its_cwriter;
static uint32_t its_next_lpi = GIC_LPI_BASE;
static unsigned its_itt_entry;

static uint64_t rd64(uintptr_t a)
{
	return mmio_read32_relaxed(a) | (uint64_t)mmio_read32_relaxed(a + 4) << 32;
}

static void wr64(uintptr_t a, uint64_t v)
{
	mmio_write32_relaxed(a, (uint32_t)v);
	mmio_write32_relaxed(a + 4, (uint32_t)(v >> 32));
}

/*
 * Appends one command and waits (bounded) until the ITS has read it. The
 * command's stores come before the GITS_CWRITER write (io_wmb), pairing
 * with the ITS's read of the queue. its_lock held (or setup).
 */
static int its_command(const uint64_t cmd[4])
{
	uint64_t *slot = (uint64_t *)((uint8_t *)its_queue.va + its_cwriter);

	for (unsigned i = 0; i < 4; i++)
		slot[i] = cmd[i];
	its_cwriter = (its_cwriter + ITS_CMD_SIZE) % ITS_QUEUE_SIZE;
	io_wmb();
	wr64(its_base + GITS_CWRITER, its_cwriter);
	for (unsigned i = 0; i < ITS_POLL_LIMIT; i++) {
		if ((uint32_t)rd64(its_base + GITS_CREADR) == its_cwriter)
			return 0;
	}
	return -ETIMEDOUT;
}

/* Waits until the ITS's earlier commands took effect at CPU cpu's redistributor. */
static int its_sync(unsigned cpu)
{
	uint64_t cmd[4] = {ITS_CMD_SYNC, 0, its_rd_target[cpu] & ITS_RDBASE_MASK, 0};

	return its_command(cmd);
}

/* Programs one GITS_BASER for `type` with a table of `bytes`; reads it back. */
static int its_table(unsigned n, uint64_t baser, struct dma_buf *buf, size_t bytes)
{
	uint64_t v;

	if (dma_alloc(bytes, ITS_QUEUE_SIZE, buf))
		return -ENOMEM;
	v = GITS_BASER_VALID | (baser & ((GITS_BASER_TYPE_MASK << GITS_BASER_TYPE_SHIFT) |
					  (GITS_BASER_ESIZE_MASK << GITS_BASER_ESIZE_SHIFT))) |
	    GITS_CACHE_WB | GITS_SHARE_INNER | (buf->bus & GITS_BASER_ADDR_MASK) |
	    ((buf->size / ITS_QUEUE_SIZE - 1) & GITS_BASER_PAGES_MASK);
	wr64(its_base + GITS_BASER(n), v);
	return (rd64(its_base + GITS_BASER(n)) & GITS_BASER_VALID) ? 0 : -EIO;
}

/*
 * CPU cpu's redistributor: the LPI tables, then LPIs on (the tables must be
 * set while LPIs are off), and its collection's target. Any CPU may program
 * another's redistributor: its frames are plain memory-mapped registers.
 */
static const char *its_lpis_on(unsigned cpu, bool pta)
{
	uintptr_t rd = gicv3_rd_base_of(cpu);
	uint64_t typer;

	if (!rd)
		return "a CPU has no redistributor";
	typer = rd64(rd + GICR_TYPER);
	if (!(typer & GICR_TYPER_PLPIS))
		return "the redistributor has no physical LPIs";
	if (dma_alloc(ITS_PEND_TABLE, ITS_PEND_ALIGN, &its_pend[cpu]))
		return "no memory for the LPI tables";
	mmio_write32_relaxed(rd + GICR_CTLR,
			     mmio_read32_relaxed(rd + GICR_CTLR) & ~GICR_CTLR_ENABLE_LPIS);
	/* One configuration table for all: an LPI's enable and priority are the same everywhere. */
	wr64(rd + GICR_PROPBASER, its_prop.bus | GICR_BASER_CACHE_WB | GICR_BASER_SHARE_INNER |
					  (ITS_LPI_ID_BITS - 1));
	/* The pending table is zeroed memory: PTZ says so. */
	wr64(rd + GICR_PENDBASER,
	     its_pend[cpu].bus | GICR_PEND_PTZ | GICR_BASER_CACHE_WB | GICR_BASER_SHARE_INNER);
	/* Table contents (all zero: every LPI disabled) before the redistributor reads them. */
	dsb_sy();
	mmio_write32_relaxed(rd + GICR_CTLR,
			     mmio_read32_relaxed(rd + GICR_CTLR) | GICR_CTLR_ENABLE_LPIS);
	its_rd_target[cpu] = pta ? (uint64_t)rd
				 : (typer >> GICR_TYPER_PROCNUM_SHIFT & GICR_TYPER_PROCNUM_MASK) << 16;
	return NULL;
}

static const char *its_setup(void)
{
	const struct pci_dt_msi *m = &dt_info()->pcie.msi;
	uint64_t typer, cmd[4];
	const char *why;
	bool have_dev = false, have_coll = false;

	if (m->kind != PCI_DT_MSI_ITS || irq_gic_version() != 3)
		return "no GICv3 ITS in the device tree";
	its_base = (uintptr_t)m->base;
	if (!(mmio_read32_relaxed(gicv3_dist_base() + GICD_TYPER) & GICD_TYPER_LPIS))
		return "the distributor does not support LPIs";
	mmio_write32_relaxed(its_base + GITS_CTLR, 0);
	for (unsigned i = 0; i < ITS_POLL_LIMIT; i++) {
		if (mmio_read32_relaxed(its_base + GITS_CTLR) & GITS_CTLR_QUIESCENT)
			break;
	}
	typer = rd64(its_base + GITS_TYPER);
	its_itt_entry = (unsigned)((typer >> GITS_TYPER_ITT_SHIFT) & GITS_TYPER_ITT_MASK) + 1;
	its_ncpus = cpu_count();
	if (its_ncpus > ITS_COLLECTIONS)
		its_ncpus = ITS_COLLECTIONS;
	if (dma_alloc(ITS_LPI_TABLE, ITS_QUEUE_SIZE, &its_prop))
		return "no memory for the LPI tables";
	for (unsigned c = 0; c < its_ncpus; c++) {
		why = its_lpis_on(c, (typer & GITS_TYPER_PTA) != 0);
		if (why)
			return why;
	}
	for (unsigned n = 0; n < GITS_NR_BASER; n++) {
		uint64_t b = rd64(its_base + GITS_BASER(n));
		uint64_t type = (b >> GITS_BASER_TYPE_SHIFT) & GITS_BASER_TYPE_MASK;
		size_t esz = (size_t)((b >> GITS_BASER_ESIZE_SHIFT) & GITS_BASER_ESIZE_MASK) + 1;

		if (type == GITS_BASER_TYPE_DEVICE) {
			if (its_table(n, b, &its_devices, esz * ITS_MAX_DEVIDS))
				return "the device table was refused";
			have_dev = true;
		} else if (type == GITS_BASER_TYPE_COLL) {
			if (its_table(n, b, &its_colls, esz * ITS_COLLECTIONS))
				return "the collection table was refused";
			have_coll = true;
		}
	}
	if (!have_dev || !have_coll)
		return "the ITS has no device or no collection table";
	if (dma_alloc(ITS_QUEUE_SIZE, ITS_QUEUE_SIZE, &its_queue))
		return "no memory for the command queue";
	wr64(its_base + GITS_CBASER, GITS_CBASER_VALID | GITS_CACHE_WB | GITS_SHARE_INNER |
					 (its_queue.bus & GITS_BASER_ADDR_MASK));
	wr64(its_base + GITS_CWRITER, 0);
	its_cwriter = 0;
	mmio_write32_relaxed(its_base + GITS_CTLR, GITS_CTLR_ENABLED);
	/* Collection c -> CPU c's redistributor. */
	for (unsigned c = 0; c < its_ncpus; c++) {
		cmd[0] = ITS_CMD_MAPC;
		cmd[1] = 0;
		cmd[2] = ITS_CMD_VALID | (its_rd_target[c] & ITS_RDBASE_MASK) | c;
		cmd[3] = 0;
		if (its_command(cmd) || its_sync(c))
			return "the ITS does not consume its commands";
	}
	return NULL;
}

/*
 * Each allocated LPI's priority, the (DeviceID, EventID) that an INV or MOVI
 * names, and its collection (= CPU). Under its_lock.
 */
static uint8_t its_lpi_prio[IRQ_MAX_LPIS], its_lpi_coll[IRQ_MAX_LPIS];
static uint32_t its_lpi_dev[IRQ_MAX_LPIS], its_lpi_event[IRQ_MAX_LPIS];
static bool its_lpi_on[IRQ_MAX_LPIS];

static bool its_lpi_valid(uint32_t intid)
{
	return its_prop.va && intid >= GIC_LPI_BASE && intid < its_next_lpi;
}

bool gicv3_its_lpi_exists(uint32_t intid)
{
	return its_lpi_valid(intid);
}

/*
 * Writes an LPI's configuration byte and has the redistributor re-read it
 * (INV, then SYNC at its CPU: done once the ITS has handled it). its_lock
 * held.
 */
static void its_lpi_write(uint32_t intid)
{
	unsigned i = intid - GIC_LPI_BASE;
	uint8_t *cfg = its_prop.va;
	uint64_t cmd[4] = {ITS_CMD_INV | (uint64_t)its_lpi_dev[i] << 32, its_lpi_event[i], 0, 0};

	cfg[i] = (uint8_t)((its_lpi_prio[i] & ~3U) | ITS_LPI_GROUP1 |
			   (its_lpi_on[i] ? ITS_LPI_ENABLE : 0));
	/* The byte is in memory before the ITS is told to re-read it. */
	dsb_sy();
	if (its_command(cmd) || its_sync(its_lpi_coll[i]))
		its_problem = "the ITS stopped consuming commands";
}

void gicv3_its_lpi_enable(uint32_t intid, bool on)
{
	if (!its_lpi_valid(intid))
		return;
	irqflags_t f = spin_lock_irqsave(&its_lock);
	its_lpi_on[intid - GIC_LPI_BASE] = on;
	its_lpi_write(intid);
	spin_unlock_irqrestore(&its_lock, f);
}

void gicv3_its_lpi_priority(uint32_t intid, uint8_t prio)
{
	if (!its_lpi_valid(intid))
		return;
	irqflags_t f = spin_lock_irqsave(&its_lock);
	its_lpi_prio[intid - GIC_LPI_BASE] = prio;
	its_lpi_write(intid);
	spin_unlock_irqrestore(&its_lock, f);
}

/*
 * Moves an LPI to CPU cpu's collection (MOVI: the ITS carries a pending
 * LPI along), then SYNC at the new target so the move is complete when
 * this returns. A CPU without a collection is refused.
 */
int gicv3_its_lpi_route(uint32_t intid, unsigned cpu)
{
	int err = 0;

	if (!its_lpi_valid(intid) || cpu >= its_ncpus)
		return -EINVAL;
	unsigned i = intid - GIC_LPI_BASE;
	irqflags_t f = spin_lock_irqsave(&its_lock);
	if (its_lpi_coll[i] != cpu) {
		uint64_t cmd[4] = {ITS_CMD_MOVI | (uint64_t)its_lpi_dev[i] << 32, its_lpi_event[i],
				   cpu & ITS_ICID_MASK, 0};

		if (its_command(cmd) || its_sync(cpu)) {
			its_problem = "the ITS stopped consuming commands";
			err = -EIO;
		} else {
			its_lpi_coll[i] = (uint8_t)cpu;
		}
	}
	spin_unlock_irqrestore(&its_lock, f);
	return err;
}

int gicv3_its_msi_alloc(uint32_t rid, unsigned n, struct irq_msi *out, const char **why)
{
	const struct pci_dt_msi *m = &dt_info()->pcie.msi;
	unsigned bits = 0;
	uint32_t devid;
	struct dma_buf itt;
	uint64_t cmd[4];

	if (!its_probed) {
		its_probed = true;
		its_problem = its_setup();
		if (!its_problem)
			kprintf("irq: GICv3 ITS at %#lx, LPIs from %u\n", (unsigned long)its_base,
				GIC_LPI_BASE);
	}
	if (its_problem) {
		*why = its_problem;
		return -ENODEV;
	}
	if (rid < m->rid_base || rid - m->rid_base >= m->rid_len ||
	    m->msi_base + (rid - m->rid_base) >= ITS_MAX_DEVIDS) {
		*why = "the requester id is outside the msi-map";
		return -ENODEV;
	}
	if (n == 0 || its_next_lpi + n > GIC_LPI_BASE + IRQ_MAX_LPIS) {
		*why = "every LPI is taken";
		return -ENOSPC;
	}
	devid = m->msi_base + (rid - m->rid_base);
	while ((1U << bits) < n)
		bits++;
	if (dma_alloc((size_t)its_itt_entry << bits, ITS_ITT_ALIGN, &itt)) {
		*why = "no memory for the interrupt translation table";
		return -ENOMEM;
	}
	irqflags_t f = spin_lock_irqsave(&its_lock);
	cmd[0] = ITS_CMD_MAPD | (uint64_t)devid << 32;
	cmd[1] = bits ? bits - 1 : 0; /* EventID bits - 1 */
	cmd[2] = ITS_CMD_VALID | (itt.bus & ITS_ITT_ADDR_MASK);
	cmd[3] = 0;
	if (its_command(cmd))
		goto stuck;
	for (unsigned i = 0; i < n; i++) {
		uint32_t lpi = its_next_lpi++;

		/* Disabled (configuration byte 0) until irq_register enables it (gicv3.c). */
		its_lpi_prio[lpi - GIC_LPI_BASE] = IRQ_PRIO_DEFAULT;
		its_lpi_dev[lpi - GIC_LPI_BASE] = devid;
		its_lpi_event[lpi - GIC_LPI_BASE] = i;
		its_lpi_coll[lpi - GIC_LPI_BASE] = 0;
		cmd[0] = ITS_CMD_MAPTI | (uint64_t)devid << 32;
		cmd[1] = i | (uint64_t)lpi << 32;
		cmd[2] = 0; /* collection 0; irq_register moves it to the registering CPU */
		cmd[3] = 0;
		if (its_command(cmd))
			goto stuck;
		out[i].intid = lpi;
		out[i].addr = (uint64_t)its_base + GITS_TRANSLATER;
		out[i].data = i;
	}
	if (its_sync(0))
		goto stuck;
	spin_unlock_irqrestore(&its_lock, f);
	return 0;
stuck:
	*why = its_problem = "the ITS stopped consuming commands";
	spin_unlock_irqrestore(&its_lock, f);
	return -EIO;
}

/*
 * GICv2m MSI frame (Arm Server Base System Architecture, GICv2m): a page
 * whose MSI_TYPER names a block of SPIs and whose MSI_SETSPI_NS register,
 * written with an SPI's INTID, raises that SPI as an edge. QEMU's virt
 * machine gives one frame with GICv2 (0x0802_0000, SPIs 80..143, INTIDs
 * 112..175); the device tree's PCIe msi-map names it. Hands out the SPIs
 * in order (levblk/irq/msi.h, through msi.c).
 */
#include <stdbool.h>
#include <levblk/errno.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/mmio.h>
#include <levblk/irq/irq.h>
#include <levblk/irq/msi.h>
#include "gic.h"

#define V2M_MSI_TYPER	   0x008U
#define V2M_MSI_SETSPI_NS  0x040U
#define V2M_TYPER_BASE_SHIFT 16
#define V2M_TYPER_FIELD_MASK 0x3ffU
#define V2M_FIRST_SPI	   32U
#define V2M_INTID_LIMIT	   1020U

static bool v2m_probed;
static uint32_t v2m_next, v2m_end; /* INTIDs [v2m_next, v2m_end) are free */
static uint64_t v2m_doorbell;
static const char *v2m_problem;

static void v2m_probe(void)
{
	const struct pci_dt_msi *m = &dt_info()->pcie.msi;
	uint32_t typer, base, count;

	v2m_probed = true;
	if (m->kind != PCI_DT_MSI_GICV2M || irq_gic_version() != 2) {
		v2m_problem = "no GICv2m frame in the device tree";
		return;
	}
	/* The frame lies in the low device window the kernel maps (mmu.c). */
	typer = mmio_read32_relaxed((uintptr_t)m->base + V2M_MSI_TYPER);
	base = (typer >> V2M_TYPER_BASE_SHIFT) & V2M_TYPER_FIELD_MASK;
	count = typer & V2M_TYPER_FIELD_MASK;
	if (base < V2M_FIRST_SPI || count == 0 || base + count > V2M_INTID_LIMIT ||
	    base + count > irq_nr_intids()) {
		v2m_problem = "GICv2m MSI_TYPER names SPIs the distributor does not have";
		return;
	}
	v2m_next = base;
	v2m_end = base + count;
	v2m_doorbell = m->base + V2M_MSI_SETSPI_NS;
}

int gicv2m_msi_alloc(unsigned n, struct irq_msi *out, const char **why)
{
	if (!v2m_probed)
		v2m_probe();
	if (v2m_problem) {
		*why = v2m_problem;
		return -ENODEV;
	}
	if (n > v2m_end - v2m_next) {
		*why = "every GICv2m SPI is taken";
		return -ENOSPC;
	}
	for (unsigned i = 0; i < n; i++) {
		out[i].intid = v2m_next++;
		out[i].addr = v2m_doorbell;
		out[i].data = out[i].intid;
	}
	return 0;
}

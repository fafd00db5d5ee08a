/*
 * MSI allocation (levblk/irq/msi.h): the device tree's msi-map names the
 * controller, a GICv2m frame (gicv2m.c) or a GICv3 ITS (gicv3_its.c).
 */
#include <levblk/errno.h>
#include <levblk/hal/dt.h>
#include <levblk/irq/msi.h>
#include "gic.h"

int irq_msi_alloc(uint32_t requester_id, unsigned n, struct irq_msi *out, const char **why)
{
	switch (dt_info()->pcie.msi.kind) {
	case PCI_DT_MSI_GICV2M:
		return gicv2m_msi_alloc(n, out, why);
	case PCI_DT_MSI_ITS:
		return gicv3_its_msi_alloc(requester_id, n, out, why);
	default:
		*why = "no MSI controller in the device tree";
		return -ENODEV;
	}
}

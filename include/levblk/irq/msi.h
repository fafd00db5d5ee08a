/*
 * Message-signalled interrupts for PCI MSI-X: a device raises an interrupt
 * by writing `data` to `addr`. With GICv2 the device tree's GICv2m frame
 * turns such a write (to its MSI_SETSPI_NS register, data = the SPI's
 * INTID) into an edge on one of the SPIs it owns. With GICv3 the ITS
 * translates it (data = an EventID of the device, whose DeviceID is its
 * requester id through the msi-map) into an LPI (INTID 8192 and up).
 *
 * Allocation is for good (devices are set up once at boot); thread context.
 */
#ifndef LEVBLK_IRQ_MSI_H
#define LEVBLK_IRQ_MSI_H

#include <stdint.h>

struct irq_msi {
	uint32_t intid; /* the interrupt it raises (register a handler for it) */
	uint64_t addr;	/* where the device writes */
	uint32_t data;	/* what it writes */
};

/*
 * n interrupts for the PCI function whose requester id (bus << 8 | dev << 3
 * | fn) is requester_id; register a handler for each (irq_register, then
 * irq_set_edge: SPIs from GICv2m are edge-triggered, LPIs are by nature).
 * 0, -ENODEV (no usable MSI controller; *why says which), -ENOSPC (all
 * taken) or -EIO/-ENOMEM.
 */
int irq_msi_alloc(uint32_t requester_id, unsigned n, struct irq_msi *out, const char **why);

#endif

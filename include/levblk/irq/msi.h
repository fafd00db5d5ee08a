/*
 * Message-signalled interrupts for PCI MSI-X: a device raises an interrupt
 * by writing `data` to `addr`. With GICv2 the device tree's GICv2m frame
 * turns such a write (to its MSI_SETSPI_NS register, data = the SPI's
 * INTID) into an edge on one of the SPIs it owns. GICv3's ITS is not
 * driven: irq_msi_alloc says -ENODEV there and PCI devices use INTx.
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
 * n interrupts, each edge-triggered once registered (irq_set_edge). 0,
 * -ENODEV (no usable MSI controller; *why says which) or -ENOSPC (all
 * taken).
 */
int irq_msi_alloc(unsigned n, struct irq_msi *out, const char **why);

#endif

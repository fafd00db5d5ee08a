/*
 * virtio over PCI, the modern interface (virtio 1.2 section 4.1): devices
 * with vendor 0x1af4 found by PCI enumeration (levblk/hal/pci.h), driven
 * through the common configuration, notification, ISR and device
 * configuration structures their vendor capabilities locate (checked
 * against their BARs: src/virtio/vpci_caps.h). Transitional devices
 * (0x1000..0x103f) are driven through the same modern structures; a device
 * without them (legacy only) is refused with a line saying why.
 *
 * Drivers see each device through its struct virtio_dev (virtio_dev.h),
 * named after every virtio-mmio device, in PCI slot order.
 *
 * Interrupts: MSI-X when the device has it and the interrupt controller can
 * take messages (GICv2m SPIs, GICv3 ITS LPIs: levblk/irq/msi.h): vector 0
 * for configuration changes, vector 1 + q for queue q (the last vector shared
 * when the table is short). Otherwise (vpci.msix=0, no MSI-X table) legacy
 * INTx: the level-triggered SPI the bridge's interrupt-map gives the
 * (swizzled) pin, possibly shared by several functions; reading the ISR byte
 * acknowledges it.
 */
#ifndef LEVBLK_VIRTIO_VIRTIO_PCI_H
#define LEVBLK_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/pci.h>
#include <levblk/irq/irq.h>
#include <levblk/virtio/virtio_dev.h>

#define VPCI_MAX_DEVICES 32U
#define VPCI_MAX_QUEUES	 4U

struct virtqueue;

struct vpci_dev {
	struct virtio_dev vdev;
	const struct pci_host *host;
	const struct pci_dev *pdev;
	uintptr_t common, isr, device, notify;
	uint32_t device_len, notify_len, notify_mult;
	uint64_t device_features, driver_features;
	uint8_t status;
	bool failed;
	struct virtqueue *vq[VPCI_MAX_QUEUES];
	uintptr_t notify_addr[VPCI_MAX_QUEUES];
	/* Interrupts: MSI-X vectors (config, then one per queue) or the INTx line. */
	bool msix;
	struct pci_msix msix_table;
	uint32_t msix_intid[1 + VPCI_MAX_QUEUES];
	unsigned n_vectors; /* MSI-X vectors allocated (config + queues) */
	uint32_t intx_intid;
	irq_handler_t fn;
	void *fn_arg;
	uint8_t isr_latched; /* ISR bits the shared INTx handler read for this device */
	bool irq_masked;
	uint64_t irq_vring, irq_config, irq_none;
};

/* Probes every virtio device PCI enumeration found (kernel: its INIT_LEVEL_BUS initcall). */
int vpci_probe(const struct pci_host *h);
unsigned vpci_count(void);
struct vpci_dev *vpci_get(unsigned i);

#endif

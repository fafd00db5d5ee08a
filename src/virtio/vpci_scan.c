/*
 * Boot-time discovery of virtio-pci devices among the functions PCI
 * enumeration found (pci_host() enumerates on first use). Kernel only
 * (host tests call vpci_probe with a simulated hierarchy).
 */
#include <levblk/console.h>
#include <levblk/hal/pci.h>
#include <levblk/init.h>
#include <levblk/virtio/virtio_pci.h>

static int vpci_scan(void)
{
	const struct pci_host *h = pci_host();
	int n;

	if (!h)
		return 0;
	n = vpci_probe(h);
	kprintf("virtio-pci: %d device(s)\n", n);
	return 0;
}
INITCALL(INIT_LEVEL_BUS, vpci_scan);

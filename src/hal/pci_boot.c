/*
 * Boot-time PCI: enumerates the device tree's host bridge (pci_enum.c) at
 * INIT_LEVEL_BUS (or at the first pci_host() call, if that comes first)
 * and prints one line per function found. Kernel only (host
 * tests enumerate a simulated ECAM themselves).
 */
#include <levblk/console.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/pci.h>
#include <levblk/init.h>
#include "mmu_regs.h"

static struct pci_host pci_boot_host;
static bool pci_boot_tried, pci_boot_done;
static int pci_boot(void);

/* Enumerates on first use: whichever INIT_LEVEL_BUS initcall comes first. */
struct pci_host *pci_host(void)
{
	if (!pci_boot_tried)
		(void)pci_boot();
	return pci_boot_done ? &pci_boot_host : NULL;
}

static void pci_print_dev(const struct pci_dev *d)
{
	char name[16];

	pci_dev_name(d, name, sizeof(name));
	kprintf("pci %s: %04x:%04x class %06x", name, d->vendor, d->device, d->class_rev >> 8);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *b = &d->bar[i];

		if (b->cpu_addr)
			kprintf(" BAR%u %s %#llx+%#llx%s%s", i, b->io ? "io" : "mem",
				(unsigned long long)b->cpu_addr, (unsigned long long)b->size,
				b->is64 ? " 64-bit" : "", b->prefetch ? " pref" : "");
	}
	if (d->pin)
		kprintf(" INT%c irq %u", 'A' + d->pin - 1, d->intx_intid);
	kprintf("\n");
}

static int pci_boot(void)
{
	const struct dt_info *dt = dt_info();
	struct pci_host *h = &pci_boot_host;
	int n;

	if (pci_boot_tried)
		return 0;
	pci_boot_tried = true;
	if (dt->pcie_problem)
		kprintf("pci: host bridge not used: %s\n", dt->pcie_problem);
	if (!dt->pcie.present)
		return 0;
	h->dt = &dt->pcie;
	h->ecam = (uintptr_t)dt->pcie.ecam_base;
	h->va_limit = 1ULL << MMU_VA_BITS; /* what hal_mem_init mapped (mmu.c) */
	n = pci_enumerate(h);
	if (n < 0) {
		kprintf("pci: host bridge not used: no memory window below the %d-bit map\n",
			MMU_VA_BITS);
		return 0;
	}
	kprintf("pci: ECAM %#llx buses %u-%u, %d function(s), msi %s\n",
		(unsigned long long)dt->pcie.ecam_base, dt->pcie.bus_start, h->next_bus - 1, n,
		dt->pcie.msi.kind == PCI_DT_MSI_GICV2M ? "gicv2m"
		: dt->pcie.msi.kind == PCI_DT_MSI_ITS  ? "its"
						       : "none");
	for (unsigned i = 0; i < h->n_devs; i++)
		pci_print_dev(&h->devs[i]);
	pci_boot_done = true;
	return 0;
}
INITCALL(INIT_LEVEL_BUS, pci_boot);

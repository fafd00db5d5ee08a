/*
 * The PCIe host bridge as the device tree describes it (a node compatible
 * with "pci-host-ecam-generic": IEEE 1275 PCI bus binding and the kernel's
 * generic ECAM host binding):
 *   reg                          the ECAM window (configuration space, 1 MiB per bus)
 *   bus-range                    first and last bus number behind the bridge
 *   ranges                       (pci space + address, cpu address, size) triples:
 *                                I/O, 32-bit and 64-bit memory windows
 *   interrupt-map(-mask)         legacy INTx: (device bits of the child address,
 *                                pin) -> GIC interrupt
 *   msi-map / msi-parent         the MSI controller: a GICv2m frame or a GICv3 ITS
 *
 * Pure: parses a blob, touches no hardware (host tests run it on QEMU's
 * device trees, test/data). Every length comes from the blob and is checked.
 */
#ifndef LEVBLK_LIB_PCI_HOST_DT_H
#define LEVBLK_LIB_PCI_HOST_DT_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/lib/fdt.h>

#define PCI_DT_MAX_WINDOWS 4U
#define PCI_DT_MAX_IRQ_MAP 64U

/* The space code of a ranges entry's phys.hi cell (bits 25:24). */
enum pci_dt_space {
	PCI_DT_SPACE_CONFIG = 0,
	PCI_DT_SPACE_IO = 1,
	PCI_DT_SPACE_MEM32 = 2,
	PCI_DT_SPACE_MEM64 = 3,
};

struct pci_dt_window {
	enum pci_dt_space space;
	bool prefetch;	   /* the p bit of phys.hi */
	uint64_t pci_base; /* address on the PCI side */
	uint64_t cpu_base; /* where the CPU reaches it */
	uint64_t size;
};

/* One interrupt-map entry: a masked (device bits, pin) pair and its GIC INTID. */
struct pci_dt_irq_route {
	uint32_t child_hi; /* phys.hi of the child address, already masked */
	uint32_t pin;	   /* 1..4 (INTA..INTD), already masked */
	uint32_t intid;
};

enum pci_dt_msi_kind {
	PCI_DT_MSI_NONE = 0,
	PCI_DT_MSI_GICV2M = 1, /* "arm,gic-v2m-frame" */
	PCI_DT_MSI_ITS = 2,    /* "arm,gic-v3-its" */
};

struct pci_dt_msi {
	enum pci_dt_msi_kind kind;
	uint64_t base, size; /* the frame's or the ITS's registers */
	/* msi-map: requester ids [rid_base, rid_base + rid_len) map to msi_base + (rid - rid_base). */
	uint32_t rid_base, msi_base, rid_len;
};

struct pci_host_dt {
	bool present;
	uint64_t ecam_base, ecam_size;
	uint32_t bus_start, bus_end;
	unsigned n_windows;
	struct pci_dt_window win[PCI_DT_MAX_WINDOWS];
	uint32_t irq_mask_hi, irq_mask_pin; /* interrupt-map-mask: phys.hi and pin cells */
	unsigned n_irq_map;
	struct pci_dt_irq_route irq_map[PCI_DT_MAX_IRQ_MAP];
	struct pci_dt_msi msi;
};

/*
 * Parses the first generic ECAM host bridge of the blob into *out.
 * Returns 0, -ENOENT (no such node: out->present false) or -EINVAL (the
 * node is malformed: a reason goes to *why, out->present false).
 */
int pci_host_dt_parse(const struct fdt *f, struct pci_host_dt *out, const char **why);

/*
 * The GIC INTID of a legacy interrupt at the root bus: `dev` is the device
 * number on bus bus_start (for a device behind bridges, the root-bus
 * bridge's, with the pin already swizzled), pin 1..4. 0, or -ENOENT.
 */
int pci_host_dt_intx(const struct pci_host_dt *h, unsigned dev, unsigned pin, uint32_t *intid);

/* The window of a space (the first, preferring non-prefetchable memory), or NULL. */
const struct pci_dt_window *pci_host_dt_window(const struct pci_host_dt *h,
					       enum pci_dt_space space);

#endif

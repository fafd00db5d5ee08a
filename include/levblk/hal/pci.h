/*
 * PCI(e) behind the device tree's generic ECAM host bridge
 * (levblk/lib/pci_host_dt.h): configuration access, enumeration and
 * resource assignment, capability lists, MSI-X tables.
 *
 * No firmware runs before the kernel (QEMU -kernel), so nothing is
 * assigned at boot: pci_enumerate walks bus bus_start and every bus behind
 * a bridge (depth first, numbering buses as it meets bridges), sizes every
 * BAR and gives it an address from the bridge's windows, programs each
 * bridge's bus numbers and forwarding windows, and enables memory/I/O
 * decoding and bus mastering. Assignment is deterministic: devices in
 * (bus, device, function) order, each BAR aligned to its size (memory BARs
 * to at least 4 KiB so no two devices share a page). 64-bit and
 * prefetchable BARs are placed in the 32-bit memory window too (allowed for
 * both; the 64-bit window lies beyond what the kernel maps); bridges get
 * one memory window and one I/O window, their prefetchable window is
 * disabled.
 *
 * Devices are untrusted: a BAR that reads back nonsense (a 64-bit BAR in
 * the last slot, a size that does not fit the window) is left unassigned
 * with a line saying so; the device keeps its other BARs.
 *
 * Context: boot (thread context, one CPU); the device table is read-only
 * afterwards.
 */
#ifndef LEVBLK_HAL_PCI_H
#define LEVBLK_HAL_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/lib/pci_host_dt.h>

#define PCI_MAX_DEVICES 64U
#define PCI_NUM_BARS	6U

/* Configuration space header (PCI Local Bus 3.0, 6.1; PCI-to-PCI bridge 1.2, 3.2). */
#define PCI_VENDOR_ID	     0x00U
#define PCI_DEVICE_ID	     0x02U
#define PCI_COMMAND	     0x04U
#define PCI_STATUS	     0x06U
#define PCI_CLASS_REVISION   0x08U
#define PCI_HEADER_TYPE	     0x0eU
#define PCI_BAR0	     0x10U
#define PCI_SUBSYSTEM_ID     0x2eU
#define PCI_CAPABILITY_LIST  0x34U
#define PCI_INTERRUPT_LINE   0x3cU
#define PCI_INTERRUPT_PIN    0x3dU
#define PCI_PRIMARY_BUS	     0x18U /* type 1: primary, secondary, subordinate */
#define PCI_SECONDARY_BUS    0x19U
#define PCI_SUBORDINATE_BUS  0x1aU
#define PCI_IO_BASE	     0x1cU
#define PCI_IO_LIMIT	     0x1dU
#define PCI_MEMORY_BASE	     0x20U
#define PCI_MEMORY_LIMIT     0x22U
#define PCI_PREF_MEMORY_BASE 0x24U
#define PCI_PREF_MEMORY_LIMIT 0x26U
#define PCI_PREF_BASE_UPPER32 0x28U
#define PCI_PREF_LIMIT_UPPER32 0x2cU
#define PCI_IO_BASE_UPPER16  0x30U
#define PCI_IO_LIMIT_UPPER16 0x32U
#define PCI_BRIDGE_CONTROL   0x3eU

#define PCI_COMMAND_IO	       (1U << 0)
#define PCI_COMMAND_MEMORY     (1U << 1)
#define PCI_COMMAND_MASTER     (1U << 2)
#define PCI_COMMAND_INTX_OFF   (1U << 10)
#define PCI_STATUS_CAP_LIST    (1U << 4)
#define PCI_HEADER_TYPE_MASK   0x7fU
#define PCI_HEADER_MULTI_FN    0x80U
#define PCI_HEADER_NORMAL      0U
#define PCI_HEADER_BRIDGE      1U
#define PCI_VENDOR_NONE	       0xffffU

#define PCI_BAR_IO	       (1U << 0)
#define PCI_BAR_MEM_TYPE_MASK  (3U << 1)
#define PCI_BAR_MEM_TYPE_64    (2U << 1)
#define PCI_BAR_MEM_PREFETCH   (1U << 3)
#define PCI_BAR_MEM_ADDR_MASK  (~0xfU)
#define PCI_BAR_IO_ADDR_MASK   (~0x3U)

/* Capability ids (PCI Local Bus 3.0, appendix H). */
#define PCI_CAP_ID_MSIX	  0x11U
#define PCI_CAP_ID_VENDOR 0x09U

/* One BAR as assigned. */
struct pci_bar {
	uint64_t cpu_addr; /* where the CPU reaches it (0: not assigned) */
	uint64_t pci_addr; /* what was written into the BAR */
	uint64_t size;	   /* 0: not implemented */
	bool io, is64, prefetch;
};

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class_rev; /* class code (23:8 of the upper bits) and revision */
	uint8_t header_type;
	uint8_t pin;	     /* 1..4 INTA..INTD, 0 none */
	uint32_t intx_intid; /* GIC INTID of the pin through the interrupt map; 0 none */
	struct pci_bar bar[PCI_NUM_BARS];
};

/* The host bridge: its ECAM and the allocation cursors of its windows. */
struct pci_host {
	const struct pci_host_dt *dt;
	uintptr_t ecam;
	uint64_t va_limit; /* BARs only below this CPU address (the kernel's map) */
	uint64_t mem_next, mem_end; /* PCI-side cursor in the 32-bit memory window */
	uint64_t mem_offset;	    /* cpu_base - pci_base of that window */
	uint64_t io_next, io_end, io_offset;
	unsigned next_bus;
	unsigned n_devs;
	struct pci_dev devs[PCI_MAX_DEVICES];
};

/* Configuration access through ECAM: bus/dev/fn and a register offset (< 4096). */
uint32_t pci_cfg_read32(const struct pci_host *h, const struct pci_dev *d, unsigned off);
uint16_t pci_cfg_read16(const struct pci_host *h, const struct pci_dev *d, unsigned off);
uint8_t pci_cfg_read8(const struct pci_host *h, const struct pci_dev *d, unsigned off);
void pci_cfg_write32(const struct pci_host *h, const struct pci_dev *d, unsigned off, uint32_t v);
void pci_cfg_write16(const struct pci_host *h, const struct pci_dev *d, unsigned off, uint16_t v);
void pci_cfg_write8(const struct pci_host *h, const struct pci_dev *d, unsigned off, uint8_t v);

/*
 * Enumerates and assigns (see the file comment). h->dt, h->ecam and
 * h->va_limit set by the caller. Returns the number of devices (functions)
 * found, or -ENODEV when the bridge has no memory window to give.
 */
int pci_enumerate(struct pci_host *h);

/*
 * The offset of the next capability with id `id` after `from` (0: from the
 * start of the list), or 0. The walk is bounded (at most 48 entries, each
 * offset dword-aligned inside 0x40..0xff): a looping or stray list ends it.
 */
unsigned pci_find_cap(const struct pci_host *h, const struct pci_dev *d, unsigned id,
		      unsigned from);

/* The booted kernel's host bridge (NULL before its initcall or without PCI). */
struct pci_host *pci_host(void);

/* "00:02.0" */
void pci_dev_name(const struct pci_dev *d, char *buf, unsigned len);

/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2): the capability's table located in its
 * BAR, bounds-checked. pci_msix_probe fills *m (0, or -ENOENT: no
 * capability, -EINVAL: table outside its BAR or BAR unassigned).
 */
struct pci_msix {
	unsigned cap;	  /* capability offset */
	unsigned n;	  /* table entries */
	uintptr_t table;  /* CPU address of entry 0 */
};
int pci_msix_probe(const struct pci_host *h, const struct pci_dev *d, struct pci_msix *m);
/* Programs entry `vector` (masked while written, then unmasked). */
void pci_msix_set(const struct pci_msix *m, unsigned vector, uint64_t addr, uint32_t data);
/* Function-level enable (MSI-X on, INTx off by that) or disable. */
void pci_msix_enable(const struct pci_host *h, const struct pci_dev *d, const struct pci_msix *m,
		     bool on);

#endif

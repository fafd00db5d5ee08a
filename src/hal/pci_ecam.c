/*
 * PCIe configuration access through the ECAM window (PCIe base 4.0, 7.2.2):
 * function (bus, dev, fn) has 4 KiB at ecam + (bus << 20 | dev << 15 | fn << 12),
 * where bus counts from the window's first bus. Accesses are naturally
 * aligned and as wide as the register (a 16-bit write to the command
 * register must not rewrite the status register's write-one-to-clear bits).
 *
 * Also the MSI-X table writes, which go to a BAR, not to configuration space.
 */
#include <levblk/hal/mmio.h>
#include <levblk/hal/pci.h>

#define ECAM_BUS_SHIFT 20
#define ECAM_DEV_SHIFT 15
#define ECAM_FN_SHIFT  12
#define ECAM_REG_MASK  0xfffU

/* MSI-X table entry (16 bytes). */
#define MSIX_ENTRY_SIZE	      16U
#define MSIX_ENTRY_ADDR_LO    0x0U
#define MSIX_ENTRY_ADDR_HI    0x4U
#define MSIX_ENTRY_DATA	      0x8U
#define MSIX_ENTRY_VECTOR_CTL 0xcU
#define MSIX_VECTOR_MASKED    1U

static uintptr_t ecam_addr(const struct pci_host *h, const struct pci_dev *d, unsigned off)
{
	return h->ecam + ((uintptr_t)(d->bus - h->dt->bus_start) << ECAM_BUS_SHIFT |
			  (uintptr_t)d->dev << ECAM_DEV_SHIFT | (uintptr_t)d->fn << ECAM_FN_SHIFT |
			  (off & ECAM_REG_MASK));
}

uint32_t pci_cfg_read32(const struct pci_host *h, const struct pci_dev *d, unsigned off)
{
	return mmio_read32_relaxed(ecam_addr(h, d, off & ~3U));
}

uint16_t pci_cfg_read16(const struct pci_host *h, const struct pci_dev *d, unsigned off)
{
	return mmio_read16_relaxed(ecam_addr(h, d, off & ~1U));
}

uint8_t pci_cfg_read8(const struct pci_host *h, const struct pci_dev *d, unsigned off)
{
	return mmio_read8_relaxed(ecam_addr(h, d, off));
}

void pci_cfg_write32(const struct pci_host *h, const struct pci_dev *d, unsigned off, uint32_t v)
{
	mmio_write32_relaxed(ecam_addr(h, d, off & ~3U), v);
}

void pci_cfg_write16(const struct pci_host *h, const struct pci_dev *d, unsigned off, uint16_t v)
{
	mmio_write16_relaxed(ecam_addr(h, d, off & ~1U), v);
}

void pci_cfg_write8(const struct pci_host *h, const struct pci_dev *d, unsigned off, uint8_t v)
{
	mmio_write8_relaxed(ecam_addr(h, d, off), v);
}

void pci_msix_set(const struct pci_msix *m, unsigned vector, uint64_t addr, uint32_t data)
{
	uintptr_t e = m->table + (uintptr_t)vector * MSIX_ENTRY_SIZE;

	if (vector >= m->n)
		return;
	/* Masked while the address and data change, so no half-written message is sent. */
	mmio_write32_relaxed(e + MSIX_ENTRY_VECTOR_CTL, MSIX_VECTOR_MASKED);
	mmio_write32_relaxed(e + MSIX_ENTRY_ADDR_LO, (uint32_t)addr);
	mmio_write32_relaxed(e + MSIX_ENTRY_ADDR_HI, (uint32_t)(addr >> 32));
	mmio_write32_relaxed(e + MSIX_ENTRY_DATA, data);
	mmio_write32_relaxed(e + MSIX_ENTRY_VECTOR_CTL, 0);
}

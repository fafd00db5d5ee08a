/*
 * The generic ECAM PCIe host bridge from the device tree
 * (levblk/lib/pci_host_dt.h). Cell counts come from the bridge node
 * (#address-cells 3 and #size-cells 2 for the PCI side), its parent (CPU
 * addresses) and the interrupt parent; every property's length is checked
 * against the cells it must hold before a cell is read.
 */
#include <stddef.h>
#include <levblk/errno.h>
#include <levblk/lib/pci_host_dt.h>

#define PCI_DT_ADDR_CELLS 3U /* phys.hi, phys.mid, phys.lo */
#define PCI_DT_SIZE_CELLS 2U
#define PCI_DT_IRQ_CELLS  1U /* the pin */
#define PCI_DT_CELL	  4U /* bytes */
#define PCI_ECAM_BUS_SIZE (1ULL << 20) /* 32 devices x 8 functions x 4 KiB */
#define PCI_BUS_MAX	  255U

/* phys.hi (IEEE 1275 PCI binding): npt000ss bbbbbbbb dddddfff rrrrrrrr. */
#define PCI_DT_HI_SPACE_SHIFT 24
#define PCI_DT_HI_SPACE_MASK  3U
#define PCI_DT_HI_PREFETCH    (1U << 30)
#define PCI_DT_HI_DEV_SHIFT   11

/* A GIC interrupt specifier: type, number, flags. */
#define PCI_DT_GIC_CELLS    3U
#define PCI_DT_GIC_SPI	    0U
#define PCI_DT_GIC_PPI	    1U
#define PCI_DT_GIC_SPI_BASE 32U
#define PCI_DT_GIC_PPI_BASE 16U
#define PCI_DT_GIC_SPI_MAX  988U
#define PCI_DT_GIC_PPI_MAX  16U

/* msi-map entries: rid-base, msi-controller phandle, msi-base, length. */
#define PCI_DT_MSI_MAP_CELLS 4U
#define PCI_DT_RID_COUNT     0x10000U

static uint64_t cells_at(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < n; i++)
		v = v << 32 | fdt_be32(p + PCI_DT_CELL * i);
	return v;
}

/* The node whose "phandle" is ph, or -ENOENT. */
static int pci_dt_by_phandle(const struct fdt *f, uint32_t ph)
{
	int depth = 0;

	for (int n = fdt_root(f); n >= 0; n = fdt_next_node(f, n, &depth)) {
		if (fdt_getprop_u32(f, n, "phandle", 0) == ph && ph != 0)
			return n;
	}
	return -ENOENT;
}

static int pci_dt_ranges(const struct fdt *f, int node, struct pci_host_dt *out, const char **why)
{
	int parent = fdt_parent(f, node);
	uint32_t pac = parent >= 0 ? fdt_getprop_u32(f, parent, "#address-cells", 2) : 2;
	uint32_t len;
	const uint8_t *p = fdt_getprop(f, node, "ranges", &len);
	uint32_t stride = PCI_DT_CELL * (PCI_DT_ADDR_CELLS + pac + PCI_DT_SIZE_CELLS);

	if (pac < 1 || pac > 2) {
		*why = "bad #address-cells above the bridge";
		return -EINVAL;
	}
	if (!p || len == 0 || len % stride) {
		*why = "ranges missing or not whole entries";
		return -EINVAL;
	}
	for (uint32_t off = 0; off < len; off += stride) {
		uint32_t hi = fdt_be32(p + off);
		struct pci_dt_window w = {
		    .space = (enum pci_dt_space)((hi >> PCI_DT_HI_SPACE_SHIFT) & PCI_DT_HI_SPACE_MASK),
		    .prefetch = (hi & PCI_DT_HI_PREFETCH) != 0,
		    .pci_base = cells_at(p + off + PCI_DT_CELL, 2),
		    .cpu_base = cells_at(p + off + PCI_DT_CELL * PCI_DT_ADDR_CELLS, pac),
		    .size = cells_at(p + off + PCI_DT_CELL * (PCI_DT_ADDR_CELLS + pac),
				     PCI_DT_SIZE_CELLS),
		};

		if (w.space == PCI_DT_SPACE_CONFIG || w.size == 0)
			continue; /* nothing a BAR can be given from */
		if (w.cpu_base + w.size < w.cpu_base || w.pci_base + w.size < w.pci_base) {
			*why = "a ranges window wraps around";
			return -EINVAL;
		}
		if (out->n_windows == PCI_DT_MAX_WINDOWS)
			break;
		out->win[out->n_windows++] = w;
	}
	return 0;
}

/* One interrupt-map entry at p (avail bytes left); its length goes to *used. */
static int pci_dt_irq_entry(const struct fdt *f, const uint8_t *p, uint32_t avail,
			    const struct pci_host_dt *h, struct pci_dt_irq_route *r, uint32_t *used)
{
	uint32_t head = PCI_DT_CELL * (PCI_DT_ADDR_CELLS + PCI_DT_IRQ_CELLS + 1);

	if (avail < head)
		return -EINVAL;
	int ctl = pci_dt_by_phandle(f, fdt_be32(p + head - PCI_DT_CELL));
	if (ctl < 0)
		return -EINVAL;
	uint32_t pac = fdt_getprop_u32(f, ctl, "#address-cells", 0);
	uint32_t pic = fdt_getprop_u32(f, ctl, "#interrupt-cells", 0);
	if (pac > 2 || pic != PCI_DT_GIC_CELLS)
		return -EINVAL; /* only a GIC's three-cell specifiers are understood */
	uint32_t total = head + PCI_DT_CELL * (pac + pic);
	if (avail < total)
		return -EINVAL;
	const uint8_t *spec = p + head + PCI_DT_CELL * pac;
	uint32_t type = fdt_be32(spec), num = fdt_be32(spec + PCI_DT_CELL);

	if (type == PCI_DT_GIC_SPI && num < PCI_DT_GIC_SPI_MAX)
		r->intid = PCI_DT_GIC_SPI_BASE + num;
	else if (type == PCI_DT_GIC_PPI && num < PCI_DT_GIC_PPI_MAX)
		r->intid = PCI_DT_GIC_PPI_BASE + num;
	else
		return -EINVAL;
	r->child_hi = fdt_be32(p) & h->irq_mask_hi;
	r->pin = fdt_be32(p + PCI_DT_CELL * PCI_DT_ADDR_CELLS) & h->irq_mask_pin;
	*used = total;
	return 0;
}

static int pci_dt_irq_map(const struct fdt *f, int node, struct pci_host_dt *out, const char **why)
{
	uint32_t len, mlen;
	const uint8_t *p = fdt_getprop(f, node, "interrupt-map", &len);
	const uint8_t *m = fdt_getprop(f, node, "interrupt-map-mask", &mlen);

	if (!p)
		return 0; /* no legacy interrupts: MSI only */
	if (!m || mlen != PCI_DT_CELL * (PCI_DT_ADDR_CELLS + PCI_DT_IRQ_CELLS)) {
		*why = "interrupt-map without a 4-cell interrupt-map-mask";
		return -EINVAL;
	}
	out->irq_mask_hi = fdt_be32(m);
	out->irq_mask_pin = fdt_be32(m + PCI_DT_CELL * PCI_DT_ADDR_CELLS);
	for (uint32_t off = 0; off < len && out->n_irq_map < PCI_DT_MAX_IRQ_MAP;) {
		uint32_t used;

		if (pci_dt_irq_entry(f, p + off, len - off, out, &out->irq_map[out->n_irq_map],
				     &used)) {
			*why = "an interrupt-map entry is truncated or not a GIC interrupt";
			return -EINVAL;
		}
		out->n_irq_map++;
		off += used;
	}
	return 0;
}

/* msi-map's first entry (or msi-parent) and the controller it names; absent is not an error. */
static void pci_dt_msi(const struct fdt *f, int node, struct pci_dt_msi *msi)
{
	uint32_t len;
	const uint8_t *p = fdt_getprop(f, node, "msi-map", &len);
	uint32_t ph;

	msi->kind = PCI_DT_MSI_NONE;
	if (p && len >= PCI_DT_CELL * PCI_DT_MSI_MAP_CELLS) {
		msi->rid_base = fdt_be32(p);
		ph = fdt_be32(p + PCI_DT_CELL);
		msi->msi_base = fdt_be32(p + 2 * PCI_DT_CELL);
		msi->rid_len = fdt_be32(p + 3 * PCI_DT_CELL);
	} else {
		ph = fdt_getprop_u32(f, node, "msi-parent", 0);
		msi->rid_base = 0;
		msi->msi_base = 0;
		msi->rid_len = PCI_DT_RID_COUNT;
	}
	int ctl = ph ? pci_dt_by_phandle(f, ph) : -ENOENT;
	if (ctl < 0 || fdt_reg(f, ctl, 0, &msi->base, &msi->size))
		return;
	if (fdt_is_compatible(f, ctl, "arm,gic-v2m-frame"))
		msi->kind = PCI_DT_MSI_GICV2M;
	else if (fdt_is_compatible(f, ctl, "arm,gic-v3-its"))
		msi->kind = PCI_DT_MSI_ITS;
}

int pci_host_dt_parse(const struct fdt *f, struct pci_host_dt *out, const char **why)
{
	int node = fdt_find_compatible(f, -1, "pci-host-ecam-generic");
	uint32_t len;
	const uint8_t *br;
	int err;

	*out = (struct pci_host_dt){0};
	*why = NULL;
	if (node < 0)
		return -ENOENT;
	if (fdt_getprop_u32(f, node, "#address-cells", 0) != PCI_DT_ADDR_CELLS ||
	    fdt_getprop_u32(f, node, "#size-cells", 0) != PCI_DT_SIZE_CELLS) {
		*why = "the bridge's #address-cells/#size-cells are not 3/2";
		return -EINVAL;
	}
	if (fdt_reg(f, node, 0, &out->ecam_base, &out->ecam_size) ||
	    out->ecam_size < PCI_ECAM_BUS_SIZE || out->ecam_base + out->ecam_size < out->ecam_base) {
		*why = "no usable ECAM window in reg";
		return -EINVAL;
	}
	out->bus_start = 0;
	out->bus_end = PCI_BUS_MAX;
	br = fdt_getprop(f, node, "bus-range", &len);
	if (br && len == 2 * PCI_DT_CELL) {
		out->bus_start = fdt_be32(br);
		out->bus_end = fdt_be32(br + PCI_DT_CELL);
	}
	if (out->bus_start > out->bus_end || out->bus_end > PCI_BUS_MAX) {
		*why = "bad bus-range";
		return -EINVAL;
	}
	/* Only buses the ECAM window covers exist. */
	if ((uint64_t)(out->bus_end - out->bus_start + 1) * PCI_ECAM_BUS_SIZE > out->ecam_size)
		out->bus_end = out->bus_start + (uint32_t)(out->ecam_size / PCI_ECAM_BUS_SIZE) - 1;
	err = pci_dt_ranges(f, node, out, why);
	if (!err)
		err = pci_dt_irq_map(f, node, out, why);
	if (err)
		return err;
	pci_dt_msi(f, node, &out->msi);
	out->present = true;
	return 0;
}

int pci_host_dt_intx(const struct pci_host_dt *h, unsigned dev, unsigned pin, uint32_t *intid)
{
	uint32_t hi = ((uint32_t)dev << PCI_DT_HI_DEV_SHIFT) & h->irq_mask_hi;
	uint32_t p = pin & h->irq_mask_pin;

	for (unsigned i = 0; i < h->n_irq_map; i++) {
		if (h->irq_map[i].child_hi == hi && h->irq_map[i].pin == p) {
			*intid = h->irq_map[i].intid;
			return 0;
		}
	}
	return -ENOENT;
}

const struct pci_dt_window *pci_host_dt_window(const struct pci_host_dt *h,
					       enum pci_dt_space space)
{
	const struct pci_dt_window *found = NULL;

	for (unsigned i = 0; i < h->n_windows; i++) {
		if (h->win[i].space != space)
			continue;
		if (!found || (found->prefetch && !h->win[i].prefetch))
			found = &h->win[i];
	}
	return found;
}

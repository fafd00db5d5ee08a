/*
 * PCI enumeration and resource assignment (levblk/hal/pci.h), capability
 * walks and MSI-X table location. Pure logic over configuration access
 * (pci_ecam.c), so host tests run it against a simulated ECAM (test/pci).
 *
 * Buses are numbered depth first: a bridge found on bus b gets the next
 * free number as its secondary bus and, while its side is scanned, every
 * number up to the end of bus-range as subordinate (so configuration
 * cycles reach whatever lies deeper); afterwards the subordinate is cut to
 * the last bus actually given out. Its memory and I/O windows are the
 * ranges its side's BARs took from the cursors, rounded to the window
 * granularity (1 MiB memory, 4 KiB I/O).
 */
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/hal/pci.h>
#include <levblk/lib/fmt.h>

#define PCI_DEVS_PER_BUS      32U
#define PCI_FNS_PER_DEV	      8U
#define PCI_BAR_SIZE_PROBE    0xffffffffU
#define PCI_MEM_MIN_ALIGN     0x1000ULL	  /* one page per BAR at least */
#define PCI_IO_MIN_ALIGN      4ULL
#define PCI_IO_SKIP	      0x1000ULL	  /* I/O addresses below this are left unused */
#define PCI_IO_SIZE_UPPER     0xffff0000U /* 16-bit I/O BARs read 0 in bits 31:16 */
#define PCI_BRIDGE_MEM_GRAIN  0x100000ULL /* memory base/limit: 1 MiB units */
#define PCI_BRIDGE_IO_GRAIN   0x1000ULL	  /* I/O base/limit: 4 KiB units */
#define PCI_BRIDGE_MEM_SHIFT  16	  /* address bits 31:20 live in register bits 15:4 */
#define PCI_BRIDGE_MEM_MASK   0xfff0U
#define PCI_BRIDGE_IO_SHIFT   8		  /* address bits 15:12 live in register bits 7:4 */
#define PCI_BRIDGE_IO_MASK    0xf0U
#define PCI_BRIDGE_IO_UPPER   16
#define PCI_MAX_DEPTH	      8U	  /* bridges below bridges */
#define PCI_INTX_PINS	      4U
#define PCI_CAP_MIN_OFF	      0x40U
#define PCI_CAP_OFF_MASK      0xfcU
#define PCI_CAP_NEXT	      1U
#define PCI_CAP_WALK_MAX      48U
#define PCI_MSIX_CTRL	      2U
#define PCI_MSIX_TABLE	      4U
#define PCI_MSIX_SIZE_MASK    0x7ffU
#define PCI_MSIX_ENABLE	      (1U << 15)
#define PCI_MSIX_MASK_ALL     (1U << 14)
#define PCI_MSIX_BIR_MASK     7U
#define PCI_MSIX_ENTRY_BYTES  16ULL
#define PCI_BUS_NUMBER_MAX    255U

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

void pci_dev_name(const struct pci_dev *d, char *buf, unsigned len)
{
	fmt_snprintf(buf, len, "%02x:%02x.%u", d->bus, d->dev, d->fn);
}

/* Sizes one BAR (decoding is off). Returns the BAR slots it used (2 for 64-bit), 0 if bad. */
static unsigned pci_size_bar(struct pci_host *h, struct pci_dev *d, unsigned i, unsigned n,
			     struct pci_bar *b)
{
	unsigned off = PCI_BAR0 + 4 * i;
	uint32_t orig = pci_cfg_read32(h, d, off);
	uint32_t val;
	uint64_t mask;

	pci_cfg_write32(h, d, off, PCI_BAR_SIZE_PROBE);
	val = pci_cfg_read32(h, d, off);
	pci_cfg_write32(h, d, off, orig);
	if (val == 0)
		return 1; /* not implemented */
	if (orig & PCI_BAR_IO) {
		mask = val & PCI_BAR_IO_ADDR_MASK;
		if (!(mask & PCI_IO_SIZE_UPPER))
			mask |= PCI_IO_SIZE_UPPER;
		b->io = true;
		b->size = (uint32_t)~mask + 1ULL;
		return 1;
	}
	b->prefetch = (orig & PCI_BAR_MEM_PREFETCH) != 0;
	b->is64 = (orig & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64;
	mask = val & PCI_BAR_MEM_ADDR_MASK;
	if (b->is64) {
		uint32_t orig_hi, hi;

		if (i + 1 >= n)
			return 0; /* its upper half would be past the last BAR */
		orig_hi = pci_cfg_read32(h, d, off + 4);
		pci_cfg_write32(h, d, off + 4, PCI_BAR_SIZE_PROBE);
		hi = pci_cfg_read32(h, d, off + 4);
		pci_cfg_write32(h, d, off + 4, orig_hi);
		mask |= (uint64_t)hi << 32;
	} else {
		mask |= ~(uint64_t)UINT32_MAX;
	}
	b->size = ~mask + 1;
	return b->is64 ? 2 : 1;
}

/* Gives a sized BAR an address from its window, or leaves it unassigned with a reason. */
static const char *pci_assign_bar(struct pci_host *h, struct pci_dev *d, unsigned i,
				  struct pci_bar *b)
{
	unsigned off = PCI_BAR0 + 4 * i;
	uint64_t *next = b->io ? &h->io_next : &h->mem_next;
	uint64_t end = b->io ? h->io_end : h->mem_end;
	uint64_t offset = b->io ? h->io_offset : h->mem_offset;
	uint64_t align = b->io ? PCI_IO_MIN_ALIGN : PCI_MEM_MIN_ALIGN;
	uint64_t addr;

	if (b->size == 0 || (b->size & (b->size - 1)))
		return "its size is not a power of two";
	if (b->io && !h->io_end)
		return "no I/O window";
	if (b->size > align)
		align = b->size;
	addr = align_up(*next, align);
	if (addr < *next || addr > end || b->size > end - addr)
		return "it does not fit the window";
	if (!b->io && addr + offset + b->size > h->va_limit)
		return "the window part it would get is not mapped";
	*next = addr + b->size;
	b->pci_addr = addr;
	b->cpu_addr = addr + offset;
	pci_cfg_write32(h, d, off, (uint32_t)addr);
	if (b->is64)
		pci_cfg_write32(h, d, off + 4, (uint32_t)(addr >> 32));
	return NULL;
}

static void pci_setup_bars(struct pci_host *h, struct pci_dev *d, unsigned n)
{
	char name[16];

	for (unsigned i = 0; i < n;) {
		struct pci_bar b = {0};
		unsigned used = pci_size_bar(h, d, i, n, &b);
		const char *why;

		if (used == 0) {
			pci_dev_name(d, name, sizeof(name));
			kprintf("pci %s: BAR%u: 64-bit BAR in the last slot, ignored\n", name, i);
			break;
		}
		if (b.size) {
			why = pci_assign_bar(h, d, i, &b);
			if (why) {
				pci_dev_name(d, name, sizeof(name));
				kprintf("pci %s: BAR%u (%llu bytes) not assigned: %s\n", name, i,
					(unsigned long long)b.size, why);
				b.cpu_addr = b.pci_addr = 0;
			}
			d->bar[i] = b;
		}
		i += used;
	}
}

/* The pin as the root bus sees it, through the standard swizzle at each bridge. */
static unsigned pci_swizzle(unsigned pin, unsigned dev)
{
	return (pin - 1 + dev) % PCI_INTX_PINS + 1;
}

static void pci_route_intx(struct pci_host *h, struct pci_dev *d, const unsigned *path,
			   unsigned depth)
{
	unsigned pin = pci_cfg_read8(h, d, PCI_INTERRUPT_PIN);
	unsigned root_dev = d->dev;

	if (pin < 1 || pin > PCI_INTX_PINS)
		return;
	d->pin = (uint8_t)pin;
	if (depth > 0) {
		pin = pci_swizzle(pin, d->dev);
		for (unsigned i = depth - 1; i > 0; i--)
			pin = pci_swizzle(pin, path[i]);
		root_dev = path[0];
	}
	if (pci_host_dt_intx(h->dt, root_dev, pin, &d->intx_intid) == 0)
		pci_cfg_write8(h, d, PCI_INTERRUPT_LINE, (uint8_t)d->intx_intid);
}

static void pci_scan_bus(struct pci_host *h, unsigned bus, unsigned *path, unsigned depth);

/* Numbers the bridge's buses, scans behind it and sets its windows. */
static void pci_setup_bridge(struct pci_host *h, struct pci_dev *d, unsigned *path,
			     unsigned depth)
{
	unsigned sec = h->next_bus;
	uint64_t mem_start, io_start;
	char name[16];

	pci_dev_name(d, name, sizeof(name));
	if (sec > h->dt->bus_end || depth >= PCI_MAX_DEPTH) {
		kprintf("pci %s: bridge left closed: %s\n", name,
			sec > h->dt->bus_end ? "no bus number left" : "bridges nested too deep");
		return;
	}
	h->next_bus++;
	pci_cfg_write8(h, d, PCI_PRIMARY_BUS, d->bus);
	pci_cfg_write8(h, d, PCI_SECONDARY_BUS, (uint8_t)sec);
	pci_cfg_write8(h, d, PCI_SUBORDINATE_BUS, (uint8_t)h->dt->bus_end);
	h->mem_next = align_up(h->mem_next, PCI_BRIDGE_MEM_GRAIN);
	h->io_next = align_up(h->io_next, PCI_BRIDGE_IO_GRAIN);
	mem_start = h->mem_next;
	io_start = h->io_next;

	path[depth] = d->dev;
	pci_scan_bus(h, sec, path, depth + 1);

	pci_cfg_write8(h, d, PCI_SUBORDINATE_BUS, (uint8_t)(h->next_bus - 1));
	h->mem_next = align_up(h->mem_next, PCI_BRIDGE_MEM_GRAIN);
	h->io_next = align_up(h->io_next, PCI_BRIDGE_IO_GRAIN);
	if (h->mem_next > mem_start && h->mem_next <= h->mem_end) {
		pci_cfg_write16(h, d, PCI_MEMORY_BASE,
				(uint16_t)((mem_start >> PCI_BRIDGE_MEM_SHIFT) & PCI_BRIDGE_MEM_MASK));
		pci_cfg_write16(
		    h, d, PCI_MEMORY_LIMIT,
		    (uint16_t)(((h->mem_next - 1) >> PCI_BRIDGE_MEM_SHIFT) & PCI_BRIDGE_MEM_MASK));
	} else { /* base above limit: the window is closed */
		pci_cfg_write16(h, d, PCI_MEMORY_BASE, PCI_BRIDGE_MEM_MASK);
		pci_cfg_write16(h, d, PCI_MEMORY_LIMIT, 0);
	}
	if (h->io_next > io_start && h->io_next <= h->io_end) {
		pci_cfg_write8(h, d, PCI_IO_BASE,
			       (uint8_t)((io_start >> PCI_BRIDGE_IO_SHIFT) & PCI_BRIDGE_IO_MASK));
		pci_cfg_write8(h, d, PCI_IO_LIMIT,
			       (uint8_t)(((h->io_next - 1) >> PCI_BRIDGE_IO_SHIFT) &
					 PCI_BRIDGE_IO_MASK));
		pci_cfg_write16(h, d, PCI_IO_BASE_UPPER16,
				(uint16_t)(io_start >> PCI_BRIDGE_IO_UPPER));
		pci_cfg_write16(h, d, PCI_IO_LIMIT_UPPER16,
				(uint16_t)((h->io_next - 1) >> PCI_BRIDGE_IO_UPPER));
	} else {
		pci_cfg_write8(h, d, PCI_IO_BASE, PCI_BRIDGE_IO_MASK);
		pci_cfg_write8(h, d, PCI_IO_LIMIT, 0);
	}
	/* Prefetchable BARs went into the memory window: the prefetchable one stays closed. */
	pci_cfg_write16(h, d, PCI_PREF_MEMORY_BASE, PCI_BRIDGE_MEM_MASK);
	pci_cfg_write16(h, d, PCI_PREF_MEMORY_LIMIT, 0);
	pci_cfg_write32(h, d, PCI_PREF_BASE_UPPER32, 0);
	pci_cfg_write32(h, d, PCI_PREF_LIMIT_UPPER32, 0);
}

/* Decoding for what was assigned, and bus mastering (DMA) for every function. */
static void pci_enable(struct pci_host *h, struct pci_dev *d, bool bridge)
{
	uint16_t cmd = pci_cfg_read16(h, d, PCI_COMMAND) | PCI_COMMAND_MASTER;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		if (d->bar[i].cpu_addr)
			cmd |= d->bar[i].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (bridge)
		cmd |= PCI_COMMAND_IO | PCI_COMMAND_MEMORY;
	pci_cfg_write16(h, d, PCI_COMMAND, cmd);
}

static void pci_scan_function(struct pci_host *h, struct pci_dev *d, unsigned *path,
			      unsigned depth)
{
	unsigned type = d->header_type & PCI_HEADER_TYPE_MASK;
	uint16_t cmd = pci_cfg_read16(h, d, PCI_COMMAND);

	/* No decoding while BARs are probed with all-ones. */
	pci_cfg_write16(h, d, PCI_COMMAND,
			cmd & (uint16_t) ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	if (type == PCI_HEADER_NORMAL)
		pci_setup_bars(h, d, PCI_NUM_BARS);
	else if (type == PCI_HEADER_BRIDGE)
		pci_setup_bars(h, d, 2);
	pci_route_intx(h, d, path, depth);
	if (type == PCI_HEADER_BRIDGE)
		pci_setup_bridge(h, d, path, depth);
	pci_enable(h, d, type == PCI_HEADER_BRIDGE);
}

static void pci_scan_bus(struct pci_host *h, unsigned bus, unsigned *path, unsigned depth)
{
	for (unsigned dev = 0; dev < PCI_DEVS_PER_BUS; dev++) {
		for (unsigned fn = 0; fn < PCI_FNS_PER_DEV; fn++) {
			struct pci_dev probe = {.bus = (uint8_t)bus, .dev = (uint8_t)dev,
						.fn = (uint8_t)fn};
			uint16_t vendor = pci_cfg_read16(h, &probe, PCI_VENDOR_ID);
			struct pci_dev *d;

			if (vendor == PCI_VENDOR_NONE) {
				if (fn == 0)
					break;
				continue;
			}
			if (h->n_devs == PCI_MAX_DEVICES) {
				kprintf("pci: more than %u functions, the rest ignored\n",
					PCI_MAX_DEVICES);
				return;
			}
			d = &h->devs[h->n_devs++];
			*d = probe;
			d->vendor = vendor;
			d->device = pci_cfg_read16(h, d, PCI_DEVICE_ID);
			d->class_rev = pci_cfg_read32(h, d, PCI_CLASS_REVISION);
			d->header_type = pci_cfg_read8(h, d, PCI_HEADER_TYPE);
			pci_scan_function(h, d, path, depth);
			if (fn == 0 && !(d->header_type & PCI_HEADER_MULTI_FN))
				break;
		}
	}
}

int pci_enumerate(struct pci_host *h)
{
	const struct pci_dt_window *mem = pci_host_dt_window(h->dt, PCI_DT_SPACE_MEM32);
	const struct pci_dt_window *io = pci_host_dt_window(h->dt, PCI_DT_SPACE_IO);
	unsigned path[PCI_MAX_DEPTH];

	if (!mem || mem->cpu_base >= h->va_limit)
		mem = pci_host_dt_window(h->dt, PCI_DT_SPACE_MEM64);
	if (!mem || mem->cpu_base >= h->va_limit)
		return -ENODEV;
	h->mem_next = mem->pci_base;
	h->mem_end = mem->pci_base + mem->size;
	h->mem_offset = mem->cpu_base - mem->pci_base;
	h->io_next = h->io_end = h->io_offset = 0;
	if (io && io->size > PCI_IO_SKIP) {
		h->io_next = io->pci_base < PCI_IO_SKIP ? PCI_IO_SKIP : io->pci_base;
		h->io_end = io->pci_base + io->size;
		h->io_offset = io->cpu_base - io->pci_base;
	}
	h->n_devs = 0;
	h->next_bus = h->dt->bus_start + 1;
	pci_scan_bus(h, h->dt->bus_start, path, 0);
	return (int)h->n_devs;
}

unsigned pci_find_cap(const struct pci_host *h, const struct pci_dev *d, unsigned id,
		      unsigned from)
{
	unsigned off;

	if (!(pci_cfg_read16(h, d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = from ? pci_cfg_read8(h, d, from + PCI_CAP_NEXT) : pci_cfg_read8(h, d, PCI_CAPABILITY_LIST);
	for (unsigned n = 0; n < PCI_CAP_WALK_MAX; n++) {
		off &= PCI_CAP_OFF_MASK;
		if (off < PCI_CAP_MIN_OFF)
			return 0;
		if (pci_cfg_read8(h, d, off) == id)
			return off;
		off = pci_cfg_read8(h, d, off + PCI_CAP_NEXT);
	}
	return 0;
}

int pci_msix_probe(const struct pci_host *h, const struct pci_dev *d, struct pci_msix *m)
{
	unsigned cap = pci_find_cap(h, d, PCI_CAP_ID_MSIX, 0);
	uint32_t tbl;
	const struct pci_bar *b;
	uint64_t off, bytes;

	if (!cap)
		return -ENOENT;
	m->cap = cap;
	m->n = (pci_cfg_read16(h, d, cap + PCI_MSIX_CTRL) & PCI_MSIX_SIZE_MASK) + 1;
	tbl = pci_cfg_read32(h, d, cap + PCI_MSIX_TABLE);
	if ((tbl & PCI_MSIX_BIR_MASK) >= PCI_NUM_BARS)
		return -EINVAL;
	b = &d->bar[tbl & PCI_MSIX_BIR_MASK];
	off = tbl & ~(uint32_t)PCI_MSIX_BIR_MASK;
	bytes = m->n * PCI_MSIX_ENTRY_BYTES;
	if (!b->cpu_addr || b->io || off > b->size || bytes > b->size - off)
		return -EINVAL;
	m->table = (uintptr_t)(b->cpu_addr + off);
	return 0;
}

void pci_msix_enable(const struct pci_host *h, const struct pci_dev *d, const struct pci_msix *m,
		     bool on)
{
	uint16_t ctrl = pci_cfg_read16(h, d, m->cap + PCI_MSIX_CTRL);
	uint16_t cmd = pci_cfg_read16(h, d, PCI_COMMAND);

	if (on) {
		ctrl = (uint16_t)((ctrl | PCI_MSIX_ENABLE) & ~PCI_MSIX_MASK_ALL);
		cmd |= PCI_COMMAND_INTX_OFF;
	} else {
		ctrl &= (uint16_t)~PCI_MSIX_ENABLE;
		cmd &= (uint16_t)~PCI_COMMAND_INTX_OFF;
	}
	pci_cfg_write16(h, d, m->cap + PCI_MSIX_CTRL, ctrl);
	pci_cfg_write16(h, d, PCI_COMMAND, cmd);
}

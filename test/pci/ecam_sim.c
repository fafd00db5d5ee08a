/* See ecam_sim.h. */
#include <stdlib.h>
#include <string.h>
#include <levblk/hal/mmio.h>
#include <levblk/hal/pci.h>
#include "pci/ecam_sim.h"

#define ESIM_ECAM_SIZE (256ULL << 20)
#define ESIM_CAP_START 0x40U

static struct esim_fn esim_fns[ESIM_MAX_FNS];
static unsigned esim_n;
static uint64_t esim_ecam;
static unsigned esim_cap_next[ESIM_MAX_FNS];

void esim_reset(uint64_t ecam)
{
	for (unsigned i = 0; i < esim_n; i++) {
		for (unsigned b = 0; b < 6; b++)
			free(esim_fns[i].bar[b].mem);
	}
	memset(esim_fns, 0, sizeof(esim_fns));
	esim_n = 0;
	esim_ecam = ecam;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

int esim_add(int parent, unsigned dev, unsigned fn, uint16_t vendor, uint16_t device,
	     uint32_t class_code, bool bridge, bool multi_fn, uint8_t pin)
{
	struct esim_fn *f = &esim_fns[esim_n];

	memset(f, 0, sizeof(*f));
	f->parent = parent;
	f->dev = dev;
	f->fn = fn;
	put16(f->cfg + PCI_VENDOR_ID, vendor);
	put16(f->cfg + PCI_DEVICE_ID, device);
	put32(f->cfg + PCI_CLASS_REVISION, class_code << 8 | 1);
	f->cfg[PCI_HEADER_TYPE] = (uint8_t)((bridge ? PCI_HEADER_BRIDGE : PCI_HEADER_NORMAL) |
					    (multi_fn ? PCI_HEADER_MULTI_FN : 0));
	f->cfg[PCI_INTERRUPT_PIN] = pin;
	esim_cap_next[esim_n] = ESIM_CAP_START;
	return (int)esim_n++;
}

void esim_set_bar(int i, unsigned b, uint64_t size, bool io, bool is64, bool prefetch)
{
	struct esim_fn *f = &esim_fns[i];

	f->bar[b] = (struct esim_bar){.size = size, .io = io, .is64 = is64, .prefetch = prefetch};
	if (!io)
		f->bar[b].mem = calloc(1, size);
}

unsigned esim_add_cap(int i, uint8_t id, const uint8_t *body, unsigned body_len)
{
	struct esim_fn *f = &esim_fns[i];
	unsigned off = esim_cap_next[i];

	/* Link it at the end of the list. */
	if (!(f->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
		f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	} else {
		unsigned p = f->cfg[PCI_CAPABILITY_LIST];

		while (f->cfg[p + 1])
			p = f->cfg[p + 1];
		f->cfg[p + 1] = (uint8_t)off;
	}
	f->cfg[off] = id;
	f->cfg[off + 1] = 0;
	memcpy(f->cfg + off + 2, body, body_len);
	esim_cap_next[i] = (off + 2 + body_len + 3) & ~3U;
	return off;
}

struct esim_fn *esim_fn(int i)
{
	return &esim_fns[i];
}

/* The function that bus number `bus` and dev/fn reach, or NULL (reads all-ones). */
static struct esim_fn *esim_route(unsigned bus, unsigned dev, unsigned fn)
{
	/* Walk from the root: the segment a bus number lands on, following bridges. */
	int seg = -1;
	unsigned seg_bus = 0;

	for (;;) {
		int next = -2;

		if (bus == seg_bus) {
			for (unsigned i = 0; i < esim_n; i++) {
				if (esim_fns[i].parent == seg && esim_fns[i].dev == dev &&
				    esim_fns[i].fn == fn)
					return &esim_fns[i];
			}
			return NULL;
		}
		for (unsigned i = 0; i < esim_n; i++) {
			struct esim_fn *f = &esim_fns[i];
			unsigned sec = f->cfg[PCI_SECONDARY_BUS], sub = f->cfg[PCI_SUBORDINATE_BUS];

			if (f->parent != seg || (f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) !=
							 PCI_HEADER_BRIDGE)
				continue;
			if (sec != 0 && bus >= sec && bus <= sub) {
				next = (int)i;
				seg_bus = sec;
				break;
			}
		}
		if (next == -2)
			return NULL;
		seg = next;
	}
}

/* Register semantics of a config write (BARs keep only address bits above their size). */
static void esim_cfg_write(struct esim_fn *f, unsigned off, uint32_t val, unsigned len)
{
	bool bridge = (f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_BRIDGE;
	unsigned nbars = bridge ? 2 : 6;

	f->n_writes++;
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * nbars) {
		unsigned b = (off - PCI_BAR0) / 4;
		bool hi = b > 0 && f->bar[b - 1].is64 && f->bar[b - 1].size;
		unsigned base = hi ? b - 1 : b;
		struct esim_bar *bar = &f->bar[base];
		uint64_t v = f->bar_val[base];

		if (len != 4 || !bar->size)
			return; /* unimplemented: reads 0 */
		if (hi)
			v = (v & UINT32_MAX) | (uint64_t)val << 32;
		else
			v = (v & ~(uint64_t)UINT32_MAX) | val;
		v &= ~(bar->size - 1);
		if (!bar->is64)
			v &= UINT32_MAX;
		f->bar_val[base] = v;
		return;
	}
	if (off == PCI_STATUS || off == PCI_VENDOR_ID || off == PCI_DEVICE_ID ||
	    off == PCI_HEADER_TYPE || off == PCI_CLASS_REVISION || off == PCI_INTERRUPT_PIN)
		return; /* read-only */
	for (unsigned i = 0; i < len; i++)
		f->cfg[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t esim_cfg_read(struct esim_fn *f, unsigned off, unsigned len)
{
	bool bridge = (f->cfg[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_BRIDGE;
	unsigned nbars = bridge ? 2 : 6;
	uint32_t v = 0;

	f->n_reads++;
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * nbars) {
		unsigned b = (off - PCI_BAR0) / 4;
		bool hi = b > 0 && f->bar[b - 1].is64 && f->bar[b - 1].size;
		unsigned base = hi ? b - 1 : b;
		struct esim_bar *bar = &f->bar[base];

		if (!bar->size)
			return 0;
		if (hi)
			return (uint32_t)(f->bar_val[base] >> 32);
		v = (uint32_t)f->bar_val[base];
		v |= bar->io ? PCI_BAR_IO
			     : (bar->is64 ? PCI_BAR_MEM_TYPE_64 : 0) |
				   (bar->prefetch ? PCI_BAR_MEM_PREFETCH : 0);
		return v;
	}
	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v;
}

/* A memory BAR (decoding enabled) holding [addr, addr + len), or NULL. */
static uint8_t *esim_bar_byte(uintptr_t addr, unsigned len)
{
	for (unsigned i = 0; i < esim_n; i++) {
		struct esim_fn *f = &esim_fns[i];

		if (!(f->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY))
			continue;
		for (unsigned b = 0; b < 6; b++) {
			struct esim_bar *bar = &f->bar[b];

			if (!bar->size || bar->io || !f->bar_val[b])
				continue;
			if (addr >= f->bar_val[b] && addr + len <= f->bar_val[b] + bar->size)
				return bar->mem + (addr - f->bar_val[b]);
		}
	}
	return NULL;
}

static uint32_t esim_read(uintptr_t addr, unsigned len)
{
	if (addr >= esim_ecam && addr < esim_ecam + ESIM_ECAM_SIZE) {
		uint64_t o = addr - esim_ecam;
		struct esim_fn *f = esim_route((unsigned)(o >> 20), (unsigned)(o >> 15) & 31,
					       (unsigned)(o >> 12) & 7);

		return f ? esim_cfg_read(f, (unsigned)(o & 0xfff), len)
			 : (uint32_t)((1ULL << (8 * len)) - 1);
	}
	uint8_t *p = esim_bar_byte(addr, len);
	uint32_t v = 0;

	if (!p)
		return (uint32_t)((1ULL << (8 * len)) - 1); /* unclaimed: all-ones, like a bus */
	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void esim_write(uintptr_t addr, uint32_t val, unsigned len)
{
	if (addr >= esim_ecam && addr < esim_ecam + ESIM_ECAM_SIZE) {
		uint64_t o = addr - esim_ecam;
		struct esim_fn *f = esim_route((unsigned)(o >> 20), (unsigned)(o >> 15) & 31,
					       (unsigned)(o >> 12) & 7);

		if (f)
			esim_cfg_write(f, (unsigned)(o & 0xfff), val, len);
		return;
	}
	uint8_t *p = esim_bar_byte(addr, len);

	for (unsigned i = 0; p && i < len; i++)
		p[i] = (uint8_t)(val >> (8 * i));
}

uint32_t esim_cfg32(int f, unsigned off)
{
	return esim_cfg_read(&esim_fns[f], off, 4);
}

uint16_t esim_cfg16(int f, unsigned off)
{
	return (uint16_t)esim_cfg_read(&esim_fns[f], off, 2);
}

uint8_t esim_cfg8(int f, unsigned off)
{
	return (uint8_t)esim_cfg_read(&esim_fns[f], off, 1);
}

uint32_t mmio_read32_relaxed(uintptr_t addr)
{
	return esim_read(addr, 4);
}

void mmio_write32_relaxed(uintptr_t addr, uint32_t val)
{
	esim_write(addr, val, 4);
}

uint8_t mmio_read8_relaxed(uintptr_t addr)
{
	return (uint8_t)esim_read(addr, 1);
}

uint16_t mmio_read16_relaxed(uintptr_t addr)
{
	return (uint16_t)esim_read(addr, 2);
}

void mmio_write16_relaxed(uintptr_t addr, uint16_t val)
{
	esim_write(addr, val, 2);
}

void mmio_write8_relaxed(uintptr_t addr, uint8_t val)
{
	esim_write(addr, val, 1);
}

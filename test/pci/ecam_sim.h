/*
 * A simulated PCIe hierarchy behind an ECAM window, for host tests of
 * src/hal/pci_*.c and src/virtio/virtio_pci*.c. It supplies the host
 * build's MMIO accessors (levblk/hal/mmio.h): ECAM addresses reach the
 * configuration space of the function the bus numbers route to (bridges
 * forward bus numbers in [secondary, subordinate] as programmed, so wrong
 * numbering shows as missing devices), addresses inside an enabled memory
 * BAR reach that BAR's backing bytes.
 *
 * BARs behave as hardware's: writes keep only the bits above the size,
 * the type bits are read-only, so sizing with all-ones works.
 */
#ifndef LEVBLK_TEST_PCI_ECAM_SIM_H
#define LEVBLK_TEST_PCI_ECAM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#define ESIM_CFG_SIZE 4096U
#define ESIM_MAX_FNS  32U

struct esim_bar {
	uint64_t size; /* 0: not implemented */
	bool io, is64, prefetch;
	uint8_t *mem;  /* backing bytes (memory BARs, allocated by esim_add) */
};

struct esim_fn {
	int parent;    /* index of the bridge it sits behind, -1: root bus */
	unsigned dev, fn;
	uint8_t cfg[ESIM_CFG_SIZE];
	struct esim_bar bar[6];
	uint64_t bar_val[6]; /* what the BAR registers hold (address bits) */
	unsigned n_reads, n_writes;
};

/* Starts an empty hierarchy with its ECAM at `ecam`. */
void esim_reset(uint64_t ecam);
/*
 * Adds a function (header type 0 endpoint, or bridge when `bridge`) behind
 * `parent` (-1: the root bus). Returns its index. BARs are given later with
 * esim_bar.
 */
int esim_add(int parent, unsigned dev, unsigned fn, uint16_t vendor, uint16_t device,
	     uint32_t class_code, bool bridge, bool multi_fn, uint8_t pin);
void esim_set_bar(int f, unsigned i, uint64_t size, bool io, bool is64, bool prefetch);
/* Appends a capability (id, then body bytes after the id/next pair); returns its offset. */
unsigned esim_add_cap(int f, uint8_t id, const uint8_t *body, unsigned body_len);
struct esim_fn *esim_fn(int f);
/* A config-space field of function f. */
uint32_t esim_cfg32(int f, unsigned off);
uint16_t esim_cfg16(int f, unsigned off);
uint8_t esim_cfg8(int f, unsigned off);

#endif

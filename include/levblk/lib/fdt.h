/*
 * Flattened device tree reader (devicetree specification v0.4, chapter 5).
 * Pure and read-only; every offset and length from the blob is checked
 * against its header before use, so a corrupt blob yields errors, not faults.
 * Node "offsets" are byte offsets of FDT_BEGIN_NODE tokens in the structure block.
 */
#ifndef LEVBLK_LIB_FDT_H
#define LEVBLK_LIB_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_MAGIC 0xd00dfeedu

struct fdt {
	const uint8_t *blob;
	uint32_t total;
	uint32_t off_struct, size_struct;
	uint32_t off_strings, size_strings;
};

/* Validates the header. Returns 0 or -EINVAL. `max` bounds totalsize. */
int fdt_init(struct fdt *f, const void *blob, size_t max);
/* The root node's offset. */
int fdt_root(const struct fdt *f);
/*
 * The node after `node` in document order, adjusting *depth (+1 for a child,
 * 0 for a sibling, negative steps when climbing). Returns -ENOENT at the end.
 */
int fdt_next_node(const struct fdt *f, int node, int *depth);
const char *fdt_node_name(const struct fdt *f, int node);
/* A property's value and length, or NULL. */
const void *fdt_getprop(const struct fdt *f, int node, const char *name, uint32_t *len);
/* "/a/b" lookup (names match with or without their @unit-address). -ENOENT if absent. */
int fdt_path_offset(const struct fdt *f, const char *path);
/* The parent node, or -ENOENT for the root. */
int fdt_parent(const struct fdt *f, int node);
/* True if one of the strings of "compatible" equals `compat`. */
bool fdt_is_compatible(const struct fdt *f, int node, const char *compat);
/* The next node after `from` (-1: from the start) compatible with `compat`, or -ENOENT. */
int fdt_find_compatible(const struct fdt *f, int from, const char *compat);
/* A u32 property, or `def` when absent or malformed. */
uint32_t fdt_getprop_u32(const struct fdt *f, int node, const char *name, uint32_t def);
/* The idx-th (address, size) pair of "reg", using the parent's #address-cells/#size-cells. */
int fdt_reg(const struct fdt *f, int node, int idx, uint64_t *addr, uint64_t *size);
/*
 * The idx-th interrupt of a node whose interrupt parent is an Arm GIC
 * (#interrupt-cells = 3: type, number, flags), as a GIC INTID:
 * SPI n is 32 + n, PPI n is 16 + n.
 */
int fdt_gic_intid(const struct fdt *f, int node, int idx, uint32_t *intid);

static inline uint32_t fdt_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

#endif

/*
 * Flattened device tree reader. See include/levblk/lib/fdt.h.
 * Every read goes through struct_word()/string_at(), which bound it by the
 * header's block sizes.
 */
#include <levblk/errno.h>
#include <levblk/lib/fdt.h>
#include <levblk/lib/string.h>

#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP        4u
#define FDT_END        9u

#define FDT_HDR_MAGIC       0
#define FDT_HDR_TOTALSIZE   4
#define FDT_HDR_OFF_STRUCT  8
#define FDT_HDR_OFF_STRINGS 12
#define FDT_HDR_VERSION     20
#define FDT_HDR_SIZE_STRINGS 32
#define FDT_HDR_SIZE_STRUCT 36
#define FDT_HDR_LEN         40

#define GIC_IRQ_TYPE_SPI 0
#define GIC_IRQ_TYPE_PPI 1
#define GIC_SPI_BASE     32
#define GIC_PPI_BASE     16
#define GIC_SPI_COUNT    988 /* SPI INTIDs 32..1019 */
#define GIC_PPI_COUNT    16
#define GIC_IRQ_CELLS_LEN 12 /* #interrupt-cells = 3: type, number, flags */

static bool word_ok(const struct fdt *f, uint32_t off)
{
	return (off & 3) == 0 && off <= f->size_struct && f->size_struct - off >= 4;
}

static uint32_t struct_word(const struct fdt *f, uint32_t off)
{
	return fdt_be32(f->blob + f->off_struct + off);
}

/* Length of a NUL-terminated string at `p` within `avail` bytes, or -1. */
static int bounded_strlen(const uint8_t *p, uint32_t avail)
{
	for (uint32_t i = 0; i < avail; i++) {
		if (!p[i])
			return (int)i;
	}
	return -1;
}

static const char *string_at(const struct fdt *f, uint32_t off)
{
	if (off >= f->size_strings)
		return NULL;
	const uint8_t *p = f->blob + f->off_strings + off;
	return bounded_strlen(p, f->size_strings - off) < 0 ? NULL : (const char *)p;
}

int fdt_init(struct fdt *f, const void *blob, size_t max)
{
	const uint8_t *b = blob;

	if (max < FDT_HDR_LEN || fdt_be32(b + FDT_HDR_MAGIC) != FDT_MAGIC)
		return -EINVAL;
	f->blob = b;
	f->total = fdt_be32(b + FDT_HDR_TOTALSIZE);
	f->off_struct = fdt_be32(b + FDT_HDR_OFF_STRUCT);
	f->off_strings = fdt_be32(b + FDT_HDR_OFF_STRINGS);
	f->size_struct = fdt_be32(b + FDT_HDR_SIZE_STRUCT);
	f->size_strings = fdt_be32(b + FDT_HDR_SIZE_STRINGS);
	if (fdt_be32(b + FDT_HDR_VERSION) < 17 || f->total > max || f->total < FDT_HDR_LEN)
		return -EINVAL;
	if (f->off_struct > f->total || f->size_struct > f->total - f->off_struct ||
	    f->off_strings > f->total || f->size_strings > f->total - f->off_strings ||
	    (f->off_struct & 3))
		return -EINVAL;
	if (!word_ok(f, 0) || struct_word(f, 0) != FDT_BEGIN_NODE)
		return -EINVAL;
	return 0;
}

int fdt_root(const struct fdt *f)
{
	(void)f;
	return 0;
}

/* Offset just past the token at `off`, or -EINVAL if it runs off the block. */
static int skip_token(const struct fdt *f, uint32_t off, uint32_t *tag)
{
	if (!word_ok(f, off))
		return -EINVAL;
	*tag = struct_word(f, off);
	off += 4;
	switch (*tag) {
	case FDT_BEGIN_NODE: {
		int n = bounded_strlen(f->blob + f->off_struct + off, f->size_struct - off);
		if (n < 0)
			return -EINVAL;
		return (int)((off + (uint32_t)n + 1 + 3) & ~3u);
	}
	case FDT_PROP: {
		if (!word_ok(f, off + 4))
			return -EINVAL;
		uint32_t len = struct_word(f, off);
		if (len > f->size_struct - off - 8)
			return -EINVAL;
		return (int)((off + 8 + len + 3) & ~3u);
	}
	case FDT_END_NODE:
	case FDT_NOP:
	case FDT_END:
		return (int)off;
	default:
		return -EINVAL;
	}
}

int fdt_next_node(const struct fdt *f, int node, int *depth)
{
	uint32_t tag;
	int off = skip_token(f, (uint32_t)node, &tag);

	if (off < 0 || tag != FDT_BEGIN_NODE)
		return -EINVAL;
	for (;;) {
		int cur = off;
		off = skip_token(f, (uint32_t)cur, &tag);
		if (off < 0)
			return off;
		switch (tag) {
		case FDT_BEGIN_NODE:
			(*depth)++;
			return cur;
		case FDT_END_NODE:
			(*depth)--;
			break;
		case FDT_END:
			return -ENOENT;
		default:
			break;
		}
	}
}

const char *fdt_node_name(const struct fdt *f, int node)
{
	uint32_t tag;

	/* skip_token() checks that the name ends inside the structure block. */
	if (skip_token(f, (uint32_t)node, &tag) < 0 || tag != FDT_BEGIN_NODE)
		return NULL;
	return (const char *)f->blob + f->off_struct + (uint32_t)node + 4;
}

const void *fdt_getprop(const struct fdt *f, int node, const char *name, uint32_t *len)
{
	uint32_t tag;
	int off = skip_token(f, (uint32_t)node, &tag);

	if (off < 0 || tag != FDT_BEGIN_NODE)
		return NULL;
	for (;;) {
		int cur = off;
		off = skip_token(f, (uint32_t)cur, &tag);
		if (off < 0)
			return NULL;
		if (tag == FDT_NOP)
			continue;
		if (tag != FDT_PROP) /* properties come before subnodes */
			return NULL;
		uint32_t plen = struct_word(f, (uint32_t)cur + 4);
		const char *pname = string_at(f, struct_word(f, (uint32_t)cur + 8));
		if (pname && strcmp(pname, name) == 0) {
			if (len)
				*len = plen;
			return f->blob + f->off_struct + (uint32_t)cur + 12;
		}
	}
}

/* Compares a node name with a path component: "pl011@9000000" matches "pl011" too. */
static bool name_matches(const char *node, const char *comp, size_t n)
{
	if (strncmp(node, comp, n) != 0)
		return false;
	return node[n] == '\0' || (node[n] == '@' && memchr(comp, '@', n) == NULL);
}

int fdt_path_offset(const struct fdt *f, const char *path)
{
	int node = fdt_root(f);

	while (*path == '/')
		path++;
	while (*path) {
		const char *end = path;
		while (*end && *end != '/')
			end++;
		size_t n = (size_t)(end - path);
		int depth = 0, found = -ENOENT;
		for (int cur = fdt_next_node(f, node, &depth); cur >= 0 && depth > 0;
		     cur = fdt_next_node(f, cur, &depth)) {
			const char *nm = depth == 1 ? fdt_node_name(f, cur) : NULL;
			if (nm && name_matches(nm, path, n)) {
				found = cur;
				break;
			}
		}
		if (found < 0)
			return -ENOENT;
		node = found;
		path = end;
		while (*path == '/')
			path++;
	}
	return node;
}

int fdt_parent(const struct fdt *f, int node)
{
	int stack[16];
	int depth = 0, cur = fdt_root(f);

	if (node == cur)
		return -ENOENT;
	stack[0] = cur;
	for (;;) {
		int d = depth;
		cur = fdt_next_node(f, cur, &d);
		if (cur < 0 || d <= 0 || d >= 16)
			return -ENOENT;
		stack[d] = cur;
		depth = d;
		if (cur == node)
			return stack[d - 1];
	}
}

bool fdt_is_compatible(const struct fdt *f, int node, const char *compat)
{
	uint32_t len;
	const char *p = fdt_getprop(f, node, "compatible", &len);

	while (p && len) {
		int n = bounded_strlen((const uint8_t *)p, len);
		if (n < 0)
			return false;
		if (strcmp(p, compat) == 0)
			return true;
		p += n + 1;
		len -= (uint32_t)n + 1;
	}
	return false;
}

int fdt_find_compatible(const struct fdt *f, int from, const char *compat)
{
	int depth = 0;
	int cur = from < 0 ? fdt_root(f) : from;

	if (from < 0 && fdt_is_compatible(f, cur, compat))
		return cur;
	for (;;) {
		cur = fdt_next_node(f, cur, &depth);
		if (cur < 0)
			return -ENOENT;
		if (fdt_is_compatible(f, cur, compat))
			return cur;
	}
}

uint32_t fdt_getprop_u32(const struct fdt *f, int node, const char *name, uint32_t def)
{
	uint32_t len;
	const void *p = fdt_getprop(f, node, name, &len);

	return p && len == 4 ? fdt_be32(p) : def;
}

static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < cells; i++)
		v = v << 32 | fdt_be32(p + 4 * i);
	return v;
}

int fdt_reg(const struct fdt *f, int node, int idx, uint64_t *addr, uint64_t *size)
{
	int parent = fdt_parent(f, node);
	uint32_t len;

	if (parent < 0 || idx < 0)
		return -EINVAL;
	uint32_t ac = fdt_getprop_u32(f, parent, "#address-cells", 2);
	uint32_t sc = fdt_getprop_u32(f, parent, "#size-cells", 1);
	if (ac < 1 || ac > 2 || sc > 2)
		return -EINVAL;
	const uint8_t *p = fdt_getprop(f, node, "reg", &len);
	uint32_t stride = 4 * (ac + sc);
	if (!p || (uint64_t)(idx + 1) * stride > len)
		return -ENOENT;
	p += (uint32_t)idx * stride;
	*addr = read_cells(p, ac);
	*size = read_cells(p + 4 * ac, sc);
	return 0;
}

int fdt_gic_intid(const struct fdt *f, int node, int idx, uint32_t *intid)
{
	uint32_t len;
	const uint8_t *p = fdt_getprop(f, node, "interrupts", &len);

	if (!p || idx < 0 || (uint64_t)(idx + 1) * GIC_IRQ_CELLS_LEN > len)
		return -ENOENT;
	p += (uint32_t)idx * GIC_IRQ_CELLS_LEN;
	uint32_t type = fdt_be32(p), num = fdt_be32(p + 4);
	if (type == GIC_IRQ_TYPE_SPI && num < GIC_SPI_COUNT)
		*intid = GIC_SPI_BASE + num;
	else if (type == GIC_IRQ_TYPE_PPI && num < GIC_PPI_COUNT)
		*intid = GIC_PPI_BASE + num;
	else
		return -EINVAL;
	return 0;
}

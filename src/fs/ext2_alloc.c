/*
 * ext2 block and inode allocation from the group bitmaps, the free counts in
 * the group descriptors and the superblock.
 *
 * Locking: every function here is called with the volume held exclusively by
 * the caller (fs_mount.c takes its mount's lock for writing; see "Writing" in
 * ext2.h), so a bitmap, its descriptor and v->g's free counts change together
 * without anyone seeing them half done.
 *
 * Each change works on the bitmap block and the descriptor block held
 * writable at the same time: both are read and checked first, and only when
 * everything agrees are both changed and marked dirty. A bitmap that
 * disagrees with its descriptor's count, or a free bit on a block that holds
 * the group's own metadata, is reported through ext2_corrupt and nothing is
 * changed.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

/* A group descriptor held writable: the raw entry in its block and its checked CPU-order copy. */
struct gd_mut {
	struct ext2_group_desc *raw;
	struct ext2_group_desc cpu;
	void *ref;
};

static int vol_writable(const struct ext2_vol *v);
static bool group_has_super(const struct ext2_geom *g, uint32_t group);
static uint32_t group_first(const struct ext2_geom *g, uint32_t group);
static uint32_t group_blocks(const struct ext2_geom *g, uint32_t group);
static bool block_is_group_meta(const struct ext2_geom *g, uint32_t group, const struct ext2_group_desc *gd,
				uint32_t block);
static int gd_get_mut(struct ext2_vol *v, uint32_t group, struct gd_mut *m);
static void gd_put(struct ext2_vol *v, struct gd_mut *m, bool changed);
static bool bit_test(const uint8_t *map, uint32_t bit);
static void bit_set(uint8_t *map, uint32_t bit);
static void bit_clear(uint8_t *map, uint32_t bit);
static bool find_zero(const uint8_t *map, uint32_t from, uint32_t end, uint32_t *bit);
static int bitmap_release(struct ext2_vol *v, uint32_t ino, uint32_t bitmap, uint32_t bit, const char *what,
			  uint64_t value);
static int block_alloc_in_group(struct ext2_vol *v, uint32_t ino, uint32_t group, uint32_t from, uint32_t *out);
static int inode_alloc_in_group(struct ext2_vol *v, uint32_t group, bool dir, uint32_t *out);
static uint32_t dir_group(const struct ext2_vol *v, uint32_t parent_group);

static int vol_writable(const struct ext2_vol *v)
{
	if (v->g.read_only || v->io->get_mut == NULL || v->io->dirty == NULL)
		return -EROFS;
	return 0;
}

static bool is_power_of(uint32_t n, uint32_t base)
{
	while (n % base == 0)
		n /= base;
	return n == 1;
}

/* With sparse_super only groups 0, 1 and the powers of 3, 5 and 7 keep a copy of the superblock and descriptors. */
static bool group_has_super(const struct ext2_geom *g, uint32_t group)
{
	if (group <= 1 || (g->feature_ro_compat & EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER) == 0)
		return true;
	return is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7);
}

static uint32_t group_first(const struct ext2_geom *g, uint32_t group)
{
	/* group < g->groups: the superblock check keeps this inside blocks_count. */
	return g->first_data_block + group * g->blocks_per_group;
}

/* Blocks the group really has: the last group may be short (its bitmap's padding bits are set). */
static uint32_t group_blocks(const struct ext2_geom *g, uint32_t group)
{
	uint32_t left = g->blocks_count - group_first(g, group);

	return left < g->blocks_per_group ? left : g->blocks_per_group;
}

/*
 * Whether block (inside group) holds the group's own metadata: the copy of
 * the superblock and descriptors with the reserved descriptor blocks after
 * them, the two bitmaps, the inode table. None of these is ever handed out
 * or freed, whatever the bitmap says.
 */
static bool block_is_group_meta(const struct ext2_geom *g, uint32_t group, const struct ext2_group_desc *gd,
				uint32_t block)
{
	uint32_t rel = block - group_first(g, group);

	if (group_has_super(g, group) && rel < 1u + g->gdt_blocks + g->reserved_gdt_blocks)
		return true;
	if (block == gd->bg_block_bitmap || block == gd->bg_inode_bitmap)
		return true;
	/* ext2_group_desc_check put the whole table inside the group: no overflow. */
	return block >= gd->bg_inode_table && block - gd->bg_inode_table < g->itable_blocks;
}

static int gd_get_mut(struct ext2_vol *v, uint32_t group, struct gd_mut *m)
{
	const uint32_t per_block = v->g.block_bytes / (uint32_t)sizeof(struct ext2_group_desc);
	struct ext2_fault f;
	uint8_t *data;
	int err;

	if (group >= v->g.groups)
		return ext2_corrupt(v, 0, "group number out of range", group);
	err = ext2_block_get_mut(v, 0, v->g.gdt_block + group / per_block, false, &data, &m->ref);
	if (err != 0)
		return err;
	m->raw = (struct ext2_group_desc *)(void *)data + group % per_block;
	m->cpu.bg_block_bitmap = ext2_le32(m->raw->bg_block_bitmap);
	m->cpu.bg_inode_bitmap = ext2_le32(m->raw->bg_inode_bitmap);
	m->cpu.bg_inode_table = ext2_le32(m->raw->bg_inode_table);
	m->cpu.bg_free_blocks_count = ext2_le16(m->raw->bg_free_blocks_count);
	m->cpu.bg_free_inodes_count = ext2_le16(m->raw->bg_free_inodes_count);
	m->cpu.bg_used_dirs_count = ext2_le16(m->raw->bg_used_dirs_count);
	err = ext2_group_desc_check(&v->g, group, &m->cpu, &f);
	if (err != 0) {
		ext2_block_put(v, m->ref);
		return ext2_corrupt(v, 0, f.what, f.value);
	}
	/*
	 * The read-side check leaves the group's superblock copy and descriptor
	 * blocks aside; a bitmap or inode table there would be changed through
	 * two blocks at once (this descriptor block is held while its bitmap is).
	 */
	if (group_has_super(&v->g, group)) {
		uint32_t meta_end = group_first(&v->g, group) + 1u + v->g.gdt_blocks + v->g.reserved_gdt_blocks;
		if (m->cpu.bg_block_bitmap < meta_end || m->cpu.bg_inode_bitmap < meta_end ||
		    m->cpu.bg_inode_table < meta_end) {
			ext2_block_put(v, m->ref);
			return ext2_corrupt(v, 0, "bitmap or inode table over the descriptors (value: group)", group);
		}
	}
	return 0;
}

/* Stores the three counts of m->cpu (when changed) and lets the descriptor block go. */
static void gd_put(struct ext2_vol *v, struct gd_mut *m, bool changed)
{
	if (changed) {
		m->raw->bg_free_blocks_count = ext2_le16(m->cpu.bg_free_blocks_count);
		m->raw->bg_free_inodes_count = ext2_le16(m->cpu.bg_free_inodes_count);
		m->raw->bg_used_dirs_count = ext2_le16(m->cpu.bg_used_dirs_count);
		ext2_block_dirty(v, m->ref, true);
	}
	ext2_block_put(v, m->ref);
}

/* Bit i of a bitmap is bit i % 8 of byte i / 8, as ext2 stores them. */
static bool bit_test(const uint8_t *map, uint32_t bit)
{
	return (map[bit / 8u] >> (bit % 8u) & 1u) != 0;
}

static void bit_set(uint8_t *map, uint32_t bit)
{
	map[bit / 8u] |= (uint8_t)(1u << (bit % 8u));
}

static void bit_clear(uint8_t *map, uint32_t bit)
{
	map[bit / 8u] &= (uint8_t)~(1u << (bit % 8u));
}

/* The first clear bit in [from, end), skipping full bytes at once. */
static bool find_zero(const uint8_t *map, uint32_t from, uint32_t end, uint32_t *bit)
{
	uint32_t i = from;

	while (i < end) {
		if (i % 8u == 0 && end - i >= 8u && map[i / 8u] == 0xFFu) {
			i += 8u;
			continue;
		}
		if (!bit_test(map, i)) {
			*bit = i;
			return true;
		}
		i++;
	}
	return false;
}

/*
 * Clears bit `bit` of bitmap block `bitmap` (a block or an inode being freed).
 * A bit already clear is damage: -EUCLEAN with what/value, nothing changed.
 */
static int bitmap_release(struct ext2_vol *v, uint32_t ino, uint32_t bitmap, uint32_t bit, const char *what,
			  uint64_t value)
{
	uint8_t *map;
	void *ref;
	int err = ext2_block_get_mut(v, ino, bitmap, false, &map, &ref);

	if (err != 0)
		return err;
	if (!bit_test(map, bit)) {
		ext2_block_put(v, ref);
		return ext2_corrupt(v, ino, what, value);
	}
	bit_clear(map, bit);
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	return 0;
}

static int block_alloc_in_group(struct ext2_vol *v, uint32_t ino, uint32_t group, uint32_t from, uint32_t *out)
{
	const uint32_t nbits = group_blocks(&v->g, group);
	struct gd_mut gd;
	uint8_t *map;
	uint32_t bit, block;
	void *ref;
	int err;

	err = gd_get_mut(v, group, &gd);
	if (err != 0)
		return err;
	if (gd.cpu.bg_free_blocks_count == 0) {
		gd_put(v, &gd, false);
		return -ENOSPC;
	}
	err = ext2_block_get_mut(v, ino, gd.cpu.bg_block_bitmap, false, &map, &ref);
	if (err != 0) {
		gd_put(v, &gd, false);
		return err;
	}
	if (from >= nbits)
		from = 0;
	if (!find_zero(map, from, nbits, &bit) && !find_zero(map, 0, from, &bit)) {
		err = ext2_corrupt(v, ino, "group's free block count disagrees with its bitmap (value: group)", group);
	} else {
		block = group_first(&v->g, group) + bit;
		if (block_is_group_meta(&v->g, group, &gd.cpu, block))
			err = ext2_corrupt(v, ino, "block bitmap marks a metadata block free", block);
	}
	if (err != 0) {
		ext2_block_put(v, ref);
		gd_put(v, &gd, false);
		return err;
	}
	bit_set(map, bit);
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	gd.cpu.bg_free_blocks_count--;
	gd_put(v, &gd, true);
	/* The superblock's total is a hint (mount takes it as found): never let it wrap. */
	if (v->g.free_blocks > 0)
		v->g.free_blocks--;
	*out = block;
	return 0;
}

int ext2_block_alloc(struct ext2_vol *v, uint32_t ino, uint32_t goal, uint32_t *out)
{
	const struct ext2_geom *g = &v->g;
	uint32_t group, from;
	int err = vol_writable(v);

	if (err != 0)
		return err;
	if (goal < g->first_data_block || goal >= g->blocks_count) {
		/* No usable goal: the start of the inode's own group. */
		group = ino >= 1u && ino <= g->inodes_count ? (ino - 1u) / g->inodes_per_group : 0;
		goal = group_first(g, group);
	}
	group = (goal - g->first_data_block) / g->blocks_per_group;
	from = (goal - g->first_data_block) % g->blocks_per_group;
	for (uint32_t i = 0; i < g->groups; i++) {
		err = block_alloc_in_group(v, ino, (group + i) % g->groups, i == 0 ? from : 0, out);
		if (err != -ENOSPC)
			return err;
	}
	return -ENOSPC;
}

int ext2_block_free(struct ext2_vol *v, uint32_t ino, uint32_t block)
{
	const struct ext2_geom *g = &v->g;
	struct gd_mut gd;
	uint32_t group, bit;
	int err = vol_writable(v);

	if (err != 0)
		return err;
	if (block < g->first_data_block || block >= g->blocks_count)
		return ext2_corrupt(v, ino, "freeing a block outside the file system", block);
	group = (block - g->first_data_block) / g->blocks_per_group;
	bit = (block - g->first_data_block) % g->blocks_per_group;
	err = gd_get_mut(v, group, &gd);
	if (err != 0)
		return err;
	if (block_is_group_meta(g, group, &gd.cpu, block)) {
		gd_put(v, &gd, false);
		return ext2_corrupt(v, ino, "freeing a block that holds group metadata", block);
	}
	if (gd.cpu.bg_free_blocks_count >= group_blocks(g, group)) {
		gd_put(v, &gd, false);
		return ext2_corrupt(v, ino, "group's free block count is full while a block is in use (value: group)",
				    group);
	}
	err = bitmap_release(v, ino, gd.cpu.bg_block_bitmap, bit, "freeing a block the bitmap says is free", block);
	if (err != 0) {
		gd_put(v, &gd, false);
		return err;
	}
	gd.cpu.bg_free_blocks_count++;
	gd_put(v, &gd, true);
	if (v->g.free_blocks < g->blocks_count)
		v->g.free_blocks++;
	return 0;
}

static int inode_alloc_in_group(struct ext2_vol *v, uint32_t group, bool dir, uint32_t *out)
{
	const struct ext2_geom *g = &v->g;
	const uint32_t base = group * g->inodes_per_group; /* inode number of bit 0, minus one */
	struct gd_mut gd;
	uint32_t lo = 0, bit, any;
	uint8_t *map;
	void *ref;
	int err;

	/* Never below the first ordinary inode: the reserved ones are not ours to hand out. */
	if (g->first_ino - 1u > base)
		lo = g->first_ino - 1u - base;
	if (lo >= g->inodes_per_group)
		return -ENOSPC;
	err = gd_get_mut(v, group, &gd);
	if (err != 0)
		return err;
	if (gd.cpu.bg_free_inodes_count == 0) {
		gd_put(v, &gd, false);
		return -ENOSPC;
	}
	if (dir && gd.cpu.bg_used_dirs_count >= g->inodes_per_group) {
		gd_put(v, &gd, false);
		return ext2_corrupt(v, 0, "group's directory count is larger than its inodes (value: group)", group);
	}
	err = ext2_block_get_mut(v, 0, gd.cpu.bg_inode_bitmap, false, &map, &ref);
	if (err != 0) {
		gd_put(v, &gd, false);
		return err;
	}
	if (!find_zero(map, lo, g->inodes_per_group, &bit)) {
		/* Free reserved inodes below lo may be what the count counts; a count with no free bit at all is damage. */
		err = find_zero(map, 0, lo, &any) ? -ENOSPC
						   : ext2_corrupt(v, 0,
								  "group's free inode count disagrees with its bitmap (value: group)",
								  group);
		ext2_block_put(v, ref);
		gd_put(v, &gd, false);
		return err;
	}
	bit_set(map, bit);
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	gd.cpu.bg_free_inodes_count--;
	if (dir)
		gd.cpu.bg_used_dirs_count++;
	gd_put(v, &gd, true);
	if (v->g.free_inodes > 0)
		v->g.free_inodes--;
	*out = base + bit + 1u;
	return 0;
}

/*
 * Orlov, reduced: spread directories over the groups so that each
 * subtree's files (which follow their directory) have room nearby. Of the
 * groups with at least the average of free inodes and three quarters of the
 * average of free blocks (groups holding a superblock copy and reserved
 * descriptor blocks are always a little short of the average), the one with
 * the fewest directories, the first such from the parent's group on winning
 * ties. A group that cannot be read is skipped here; the allocation itself
 * reports it.
 */
static uint32_t dir_group(const struct ext2_vol *v, uint32_t parent_group)
{
	const struct ext2_geom *g = &v->g;
	uint64_t sum_inodes = 0, sum_blocks = 0, avg_inodes, avg_blocks;
	uint32_t best = parent_group, best_dirs = UINT32_MAX;
	struct ext2_group_desc gd;

	for (uint32_t group = 0; group < g->groups; group++) {
		if (ext2_group_get(v, group, &gd) != 0)
			return parent_group;
		sum_inodes += gd.bg_free_inodes_count;
		sum_blocks += gd.bg_free_blocks_count;
	}
	avg_inodes = sum_inodes / g->groups;
	avg_blocks = sum_blocks / g->groups;
	avg_blocks -= avg_blocks / 4u;
	for (uint32_t i = 0; i < g->groups; i++) {
		uint32_t group = (parent_group + i) % g->groups;
		if (ext2_group_get(v, group, &gd) != 0)
			continue;
		if (gd.bg_free_inodes_count == 0 || gd.bg_free_inodes_count < avg_inodes ||
		    gd.bg_free_blocks_count < avg_blocks)
			continue;
		if (gd.bg_used_dirs_count < best_dirs) {
			best = group;
			best_dirs = gd.bg_used_dirs_count;
		}
	}
	return best;
}

int ext2_inode_alloc(struct ext2_vol *v, uint32_t parent, uint16_t mode, uint32_t *out)
{
	const struct ext2_geom *g = &v->g;
	const bool dir = (mode & EXT2_S_IFMT) == EXT2_S_IFDIR;
	uint32_t start;
	int err = vol_writable(v);

	if (err != 0)
		return err;
	start = parent >= 1u && parent <= g->inodes_count ? (parent - 1u) / g->inodes_per_group : 0;
	if (dir)
		start = dir_group(v, start);
	for (uint32_t i = 0; i < g->groups; i++) {
		err = inode_alloc_in_group(v, (start + i) % g->groups, dir, out);
		if (err != -ENOSPC)
			return err;
	}
	return -ENOSPC;
}

int ext2_inode_free(struct ext2_vol *v, uint32_t ino, uint16_t mode)
{
	const struct ext2_geom *g = &v->g;
	const bool dir = (mode & EXT2_S_IFMT) == EXT2_S_IFDIR;
	struct gd_mut gd;
	uint32_t group, bit;
	int err = vol_writable(v);

	if (err != 0)
		return err;
	if (ino < g->first_ino || ino > g->inodes_count)
		return ext2_corrupt(v, ino, "freeing a reserved or out of range inode", ino);
	group = (ino - 1u) / g->inodes_per_group;
	bit = (ino - 1u) % g->inodes_per_group;
	err = gd_get_mut(v, group, &gd);
	if (err != 0)
		return err;
	if (gd.cpu.bg_free_inodes_count >= g->inodes_per_group || (dir && gd.cpu.bg_used_dirs_count == 0)) {
		gd_put(v, &gd, false);
		return ext2_corrupt(v, ino, "group's inode counts do not allow freeing an inode (value: group)", group);
	}
	err = bitmap_release(v, ino, gd.cpu.bg_inode_bitmap, bit, "freeing an inode the bitmap says is free", ino);
	if (err != 0) {
		gd_put(v, &gd, false);
		return err;
	}
	gd.cpu.bg_free_inodes_count++;
	if (dir)
		gd.cpu.bg_used_dirs_count--;
	gd_put(v, &gd, true);
	if (v->g.free_inodes < g->inodes_count)
		v->g.free_inodes++;
	return 0;
}

/*
 * The superblock's totals are taken from the descriptors (the allocator's
 * own counts), so that a stale total found at mount is right again after the
 * first write. Only the primary copy is written: e2fsck compares the backups
 * with it only for the fields mke2fs and resize set.
 */
int ext2_super_write(struct ext2_vol *v, uint16_t state)
{
	const uint32_t block = EXT2_SUPER_OFFSET >> v->g.block_log;
	const uint32_t at = EXT2_SUPER_OFFSET & (v->g.block_bytes - 1u);
	uint64_t free_blocks = 0, free_inodes = 0;
	struct ext2_group_desc gd;
	struct ext2_super *sb;
	uint8_t *data;
	void *ref;
	int err = vol_writable(v);

	if (err != 0)
		return err;
	for (uint32_t group = 0; group < v->g.groups; group++) {
		err = ext2_group_get(v, group, &gd);
		if (err != 0)
			return err;
		free_blocks += gd.bg_free_blocks_count;
		free_inodes += gd.bg_free_inodes_count;
	}
	if (free_blocks > v->g.blocks_count)
		return ext2_corrupt(v, 0, "group free block counts exceed the block count", free_blocks);
	if (free_inodes > v->g.inodes_count)
		return ext2_corrupt(v, 0, "group free inode counts exceed the inode count", free_inodes);
	err = ext2_block_get_mut(v, 0, block, false, &data, &ref);
	if (err != 0)
		return err;
	sb = (struct ext2_super *)(void *)(data + at);
	if (ext2_le16(sb->s_magic) != EXT2_SUPER_MAGIC) {
		uint16_t magic = ext2_le16(sb->s_magic); /* read before the put ends the block's lifetime */
		ext2_block_put(v, ref);
		return ext2_corrupt(v, 0, "superblock magic changed while mounted", magic);
	}
	v->g.free_blocks = (uint32_t)free_blocks;
	v->g.free_inodes = (uint32_t)free_inodes;
	v->g.state = state;
	sb->s_free_blocks_count = ext2_le32(v->g.free_blocks);
	sb->s_free_inodes_count = ext2_le32(v->g.free_inodes);
	sb->s_state = ext2_le16(state);
	sb->s_wtime = ext2_le32(ext2_now(v));
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	return 0;
}

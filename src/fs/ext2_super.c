/*
 * ext2 superblock and group descriptor checks, and the volume's block access.
 *
 * The superblock check is the gate for every number the rest of the code
 * computes with: once it passes, block size, group counts, inode size and
 * table sizes are known to be consistent with each other and with the
 * device's size, so later arithmetic (group * blocks_per_group, inode index *
 * inode size, ...) cannot overflow or leave the file system.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

static int super_fault(struct ext2_fault *f, int err, const char *what, uint64_t value);
static uint32_t div_round_up(uint32_t a, uint32_t b);
static int group_fault(struct ext2_fault *f, const char *what, uint32_t group);

static int super_fault(struct ext2_fault *f, int err, const char *what, uint64_t value)
{
	f->what = what;
	f->ino = 0;
	f->value = value;
	return err;
}

static uint32_t div_round_up(uint32_t a, uint32_t b)
{
	return a / b + (a % b != 0);
}

int ext2_super_check(const struct ext2_super *sb, uint64_t dev_bytes, struct ext2_geom *g,
		     struct ext2_fault *f)
{
	uint32_t log_block, incompat, ro_compat, data_blocks, ptrs;
	uint64_t addressable, by_iblocks;

	memset(g, 0, sizeof(*g));
	if (ext2_le16(sb->s_magic) != EXT2_SUPER_MAGIC)
		return super_fault(f, -EUCLEAN, "bad superblock magic", ext2_le16(sb->s_magic));
	g->rev = ext2_le32(sb->s_rev_level);
	if (g->rev > EXT2_DYNAMIC_REV)
		return super_fault(f, -EOPNOTSUPP, "unsupported revision", g->rev);

	log_block = ext2_le32(sb->s_log_block_size);
	if (log_block > EXT2_FORMAT_MAX_LOG_BLOCK)
		return super_fault(f, -EUCLEAN, "bad block size field", log_block);
	if (log_block + EXT2_MIN_BLOCK_LOG > EXT2_MAX_BLOCK_LOG)
		return super_fault(f, -EOPNOTSUPP, "unsupported block size", (uint64_t)EXT2_MIN_BLOCK_BYTES << log_block);
	/* ext2 never implemented fragments: the fragment size must equal the block size. */
	if (ext2_le32(sb->s_log_frag_size) != log_block)
		return super_fault(f, -EUCLEAN, "fragment size differs from block size", ext2_le32(sb->s_log_frag_size));
	g->block_log = EXT2_MIN_BLOCK_LOG + log_block;
	g->block_bytes = 1u << g->block_log;

	if (g->rev == EXT2_GOOD_OLD_REV) {
		/* Revision 0 has no feature fields: anything there is damage. */
		if (sb->s_feature_compat != 0 || sb->s_feature_incompat != 0 || sb->s_feature_ro_compat != 0)
			return super_fault(f, -EUCLEAN, "feature flags on a revision 0 file system",
					   ext2_le32(sb->s_feature_incompat));
		g->inode_bytes = EXT2_GOOD_OLD_INODE_SIZE;
		g->first_ino = EXT2_GOOD_OLD_FIRST_INO;
	} else {
		g->inode_bytes = ext2_le16(sb->s_inode_size);
		g->first_ino = ext2_le32(sb->s_first_ino);
		g->feature_compat = ext2_le32(sb->s_feature_compat);
		g->feature_incompat = ext2_le32(sb->s_feature_incompat);
		g->feature_ro_compat = ext2_le32(sb->s_feature_ro_compat);
	}
	incompat = g->feature_incompat & ~EXT2_INCOMPAT_SUPPORTED;
	if (incompat != 0)
		return super_fault(f, -EOPNOTSUPP, "unsupported incompatible features", incompat);
	ro_compat = g->feature_ro_compat & ~EXT2_RO_COMPAT_SUPPORTED;
	g->read_only = ro_compat != 0;
	g->filetype = (g->feature_incompat & EXT2_FEATURE_INCOMPAT_FILETYPE) != 0;

	if (g->inode_bytes < EXT2_GOOD_OLD_INODE_SIZE || g->inode_bytes > g->block_bytes ||
	    (g->inode_bytes & (g->inode_bytes - 1)) != 0)
		return super_fault(f, -EUCLEAN, "bad inode size", g->inode_bytes);
	g->inodes_per_block = g->block_bytes / g->inode_bytes;

	g->blocks_count = ext2_le32(sb->s_blocks_count);
	g->inodes_count = ext2_le32(sb->s_inodes_count);
	g->first_data_block = ext2_le32(sb->s_first_data_block);
	g->blocks_per_group = ext2_le32(sb->s_blocks_per_group);
	g->inodes_per_group = ext2_le32(sb->s_inodes_per_group);
	g->free_blocks = ext2_le32(sb->s_free_blocks_count);
	g->free_inodes = ext2_le32(sb->s_free_inodes_count);
	g->state = ext2_le16(sb->s_state);

	/* The superblock lives in block 1 with 1 KiB blocks, in block 0 (at byte 1024) otherwise. */
	if (g->first_data_block != (g->block_bytes == EXT2_MIN_BLOCK_BYTES ? 1u : 0u))
		return super_fault(f, -EUCLEAN, "bad first data block", g->first_data_block);
	if (g->blocks_count <= g->first_data_block)
		return super_fault(f, -EUCLEAN, "bad block count", g->blocks_count);
	if ((uint64_t)g->blocks_count << g->block_log > dev_bytes)
		return super_fault(f, -EUCLEAN, "file system larger than its device", g->blocks_count);
	/* Each group's bitmaps are one block: at most 8 bits per byte of it. */
	if (g->blocks_per_group == 0 || g->blocks_per_group > 8u * g->block_bytes || g->blocks_per_group % 8u != 0)
		return super_fault(f, -EUCLEAN, "bad blocks per group", g->blocks_per_group);
	if (ext2_le32(sb->s_frags_per_group) != g->blocks_per_group)
		return super_fault(f, -EUCLEAN, "fragments per group differ from blocks per group",
				   ext2_le32(sb->s_frags_per_group));
	if (g->inodes_per_group < g->inodes_per_block || g->inodes_per_group > 8u * g->block_bytes)
		return super_fault(f, -EUCLEAN, "bad inodes per group", g->inodes_per_group);

	data_blocks = g->blocks_count - g->first_data_block;
	g->groups = div_round_up(data_blocks, g->blocks_per_group);
	/* groups <= 2^32 / 8 and inodes_per_group <= 2^15 here, so the product fits 64 bits easily. */
	if ((uint64_t)g->groups * g->inodes_per_group != g->inodes_count)
		return super_fault(f, -EUCLEAN, "inode count does not match the groups", g->inodes_count);
	if (g->first_ino <= EXT2_ROOT_INO || g->first_ino >= g->inodes_count)
		return super_fault(f, -EUCLEAN, "bad first inode", g->first_ino);
	if (g->free_blocks > g->blocks_count)
		return super_fault(f, -EUCLEAN, "more free blocks than blocks", g->free_blocks);
	if (g->free_inodes > g->inodes_count)
		return super_fault(f, -EUCLEAN, "more free inodes than inodes", g->free_inodes);
	if (ext2_le32(sb->s_r_blocks_count) > g->blocks_count)
		return super_fault(f, -EUCLEAN, "more reserved blocks than blocks", ext2_le32(sb->s_r_blocks_count));

	g->itable_blocks = div_round_up(g->inodes_per_group, g->inodes_per_block);
	g->gdt_block = g->first_data_block + 1u;
	g->gdt_blocks = div_round_up(g->groups, g->block_bytes / (uint32_t)sizeof(struct ext2_group_desc));
	/* The descriptors must fit in the first group, after the superblock. */
	if ((uint64_t)g->gdt_blocks + 1u > g->blocks_per_group || g->gdt_block + g->gdt_blocks > g->blocks_count)
		return super_fault(f, -EUCLEAN, "group descriptors do not fit", g->gdt_blocks);
	/* Blocks reserved for growing the descriptor table follow each copy of it; the allocator never hands them out. */
	if ((g->feature_compat & EXT2_FEATURE_COMPAT_RESIZE_INODE) != 0)
		g->reserved_gdt_blocks = ext2_le16(sb->s_reserved_gdt_blocks);
	if ((uint64_t)g->gdt_blocks + g->reserved_gdt_blocks + 1u > g->blocks_per_group ||
	    (uint64_t)g->gdt_block + g->gdt_blocks + g->reserved_gdt_blocks > g->blocks_count)
		return super_fault(f, -EUCLEAN, "reserved descriptor blocks do not fit", g->reserved_gdt_blocks);

	/*
	 * The largest file: what 12 direct plus single, double and triple
	 * indirect pointers address, and what i_blocks (32 bits of 512-byte
	 * units, the indirect blocks included) can count, whichever is smaller.
	 */
	ptrs = g->block_bytes / 4u;
	g->ptrs_per_block = ptrs;
	addressable = EXT2_NDIR_BLOCKS + (uint64_t)ptrs + (uint64_t)ptrs * ptrs + (uint64_t)ptrs * ptrs * ptrs;
	g->max_file_bytes = addressable << g->block_log;
	by_iblocks = ((uint64_t)UINT32_MAX * EXT2_IBLOCK_UNIT) & ~((uint64_t)g->block_bytes - 1u);
	if (g->max_file_bytes > by_iblocks)
		g->max_file_bytes = by_iblocks;
	return 0;
}

void ext2_vol_init(struct ext2_vol *v, const struct ext2_geom *g, const struct ext2_blkio_ops *io,
		   void *io_ctx, void (*report)(void *ctx, const struct ext2_fault *f), void *report_ctx)
{
	v->g = *g;
	v->io = io;
	v->io_ctx = io_ctx;
	v->report = report;
	v->report_ctx = report_ctx;
	v->now = NULL;
}

int ext2_corrupt(const struct ext2_vol *v, uint32_t ino, const char *what, uint64_t value)
{
	struct ext2_fault f = { .what = what, .ino = ino, .value = value };

	if (v->report != NULL)
		v->report(v->report_ctx, &f);
	return -EUCLEAN;
}

int ext2_block_get(const struct ext2_vol *v, uint32_t ino, uint32_t block, const uint8_t **data, void **ref)
{
	if (block < v->g.first_data_block || block >= v->g.blocks_count)
		return ext2_corrupt(v, ino, "block number outside the file system", block);
	return v->io->get(v->io_ctx, block, data, ref);
}

void ext2_block_put(const struct ext2_vol *v, void *ref)
{
	v->io->put(v->io_ctx, ref);
}

int ext2_block_get_mut(const struct ext2_vol *v, uint32_t ino, uint32_t block, bool fresh, uint8_t **data,
		       void **ref)
{
	if (v->g.read_only || v->io->get_mut == NULL || v->io->dirty == NULL)
		return -EROFS;
	if (block < v->g.first_data_block || block >= v->g.blocks_count)
		return ext2_corrupt(v, ino, "block number outside the file system", block);
	return v->io->get_mut(v->io_ctx, block, fresh, data, ref);
}

void ext2_block_dirty(const struct ext2_vol *v, void *ref, bool meta)
{
	v->io->dirty(v->io_ctx, ref, meta);
}

static int group_fault(struct ext2_fault *f, const char *what, uint32_t group)
{
	f->what = what;
	f->ino = 0;
	f->value = group;
	return -EUCLEAN;
}

int ext2_group_desc_check(const struct ext2_geom *g, uint32_t group, const struct ext2_group_desc *gd,
			  struct ext2_fault *f)
{
	/* group < g->groups, so first + blocks_per_group cannot pass blocks_count by more than a group. */
	uint64_t first = g->first_data_block + (uint64_t)group * g->blocks_per_group;
	uint64_t end = first + g->blocks_per_group;
	uint64_t bb = gd->bg_block_bitmap, ib = gd->bg_inode_bitmap, it = gd->bg_inode_table;
	uint64_t it_end = it + g->itable_blocks;

	if (end > g->blocks_count)
		end = g->blocks_count;
	if (bb < first || bb >= end)
		return group_fault(f, "block bitmap outside its group (value: group)", group);
	if (ib < first || ib >= end)
		return group_fault(f, "inode bitmap outside its group (value: group)", group);
	if (it < first || it_end > end)
		return group_fault(f, "inode table outside its group (value: group)", group);
	if (bb == ib || (bb >= it && bb < it_end) || (ib >= it && ib < it_end))
		return group_fault(f, "bitmaps overlap the inode table (value: group)", group);
	/* The group's first blocks hold the superblock and descriptors (when the group has a copy): not checked here. */
	if (gd->bg_free_blocks_count > end - first)
		return group_fault(f, "more free blocks than the group has (value: group)", group);
	if (gd->bg_free_inodes_count > g->inodes_per_group || gd->bg_used_dirs_count > g->inodes_per_group)
		return group_fault(f, "inode counts larger than the group (value: group)", group);
	return 0;
}

int ext2_group_get(const struct ext2_vol *v, uint32_t group, struct ext2_group_desc *gd)
{
	const uint32_t per_block = v->g.block_bytes / (uint32_t)sizeof(struct ext2_group_desc);
	const struct ext2_group_desc *raw;
	const uint8_t *data;
	struct ext2_fault f;
	void *ref;
	int err;

	if (group >= v->g.groups)
		return ext2_corrupt(v, 0, "group number out of range", group);
	err = ext2_block_get(v, 0, v->g.gdt_block + group / per_block, &data, &ref);
	if (err != 0)
		return err;
	raw = (const struct ext2_group_desc *)(const void *)data + group % per_block;
	gd->bg_block_bitmap = ext2_le32(raw->bg_block_bitmap);
	gd->bg_inode_bitmap = ext2_le32(raw->bg_inode_bitmap);
	gd->bg_inode_table = ext2_le32(raw->bg_inode_table);
	gd->bg_free_blocks_count = ext2_le16(raw->bg_free_blocks_count);
	gd->bg_free_inodes_count = ext2_le16(raw->bg_free_inodes_count);
	gd->bg_used_dirs_count = ext2_le16(raw->bg_used_dirs_count);
	gd->bg_pad = ext2_le16(raw->bg_pad);
	for (unsigned int i = 0; i < sizeof(gd->bg_reserved) / sizeof(gd->bg_reserved[0]); i++)
		gd->bg_reserved[i] = ext2_le32(raw->bg_reserved[i]);
	ext2_block_put(v, ref);
	err = ext2_group_desc_check(&v->g, group, gd, &f);
	if (err != 0)
		return ext2_corrupt(v, 0, f.what, f.value);
	return 0;
}

int ext2_vol_check_groups(const struct ext2_vol *v)
{
	uint64_t free_blocks = 0, free_inodes = 0;
	struct ext2_group_desc gd;

	for (uint32_t group = 0; group < v->g.groups; group++) {
		int err = ext2_group_get(v, group, &gd);
		if (err != 0)
			return err;
		free_blocks += gd.bg_free_blocks_count;
		free_inodes += gd.bg_free_inodes_count;
	}
	/*
	 * Linux and e2fsck treat the superblock's totals as hints, so only sums
	 * that cannot be right are refused.
	 */
	if (free_blocks > v->g.blocks_count)
		return ext2_corrupt(v, 0, "group free block counts exceed the block count", free_blocks);
	if (free_inodes > v->g.inodes_count)
		return ext2_corrupt(v, 0, "group free inode counts exceed the inode count", free_inodes);
	return 0;
}

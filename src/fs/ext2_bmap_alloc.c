/*
 * The allocating block map: ext2_bmap that fills a hole, allocating the data
 * block and the indirect blocks missing above it.
 *
 * Locking: the caller holds the volume exclusively (see "Writing" in ext2.h).
 *
 * All the blocks a mapping needs are allocated first, then the new indirect
 * blocks are written (zero-filled, each pointing to the next), and only then
 * is the top new block linked into the existing tree (the inode in memory or
 * an existing indirect block). Any failure before the link frees what was
 * allocated, so an error never leaves a block allocated that nothing points
 * to and never leaves a pointer to an indirect block that was not written.
 * The data block's contents are the caller's to write.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

/* Depth of the deepest tree (triple indirect) and blocks a mapping may need: three indirect plus the data block. */
#define BMAP_MAX_LEVELS 3u
#define BMAP_MAX_NEW    (BMAP_MAX_LEVELS + 1u)

static int read_entry(const struct ext2_vol *v, uint32_t ino, uint32_t block, uint32_t index, uint32_t *out);
static int write_entry(struct ext2_vol *v, uint32_t ino, uint32_t block, bool fresh, uint32_t index, uint32_t val);
static void free_all(struct ext2_vol *v, uint32_t ino, const uint32_t *blocks, unsigned int n);

/* An indirect block's entry, checked to be a hole or a block inside the file system. */
static int read_entry(const struct ext2_vol *v, uint32_t ino, uint32_t block, uint32_t index, uint32_t *out)
{
	int err = ext2_indirect_entry(v, ino, block, index, out);

	if (err != 0)
		return err;
	if (*out != 0 && (*out < v->g.first_data_block || *out >= v->g.blocks_count))
		return ext2_corrupt(v, ino, "block pointer outside the file system", *out);
	return 0;
}

/* Sets entry index of indirect block `block` (a fresh one is zero-filled first). */
static int write_entry(struct ext2_vol *v, uint32_t ino, uint32_t block, bool fresh, uint32_t index, uint32_t val)
{
	uint32_t le = ext2_le32(val);
	uint8_t *data;
	void *ref;
	int err = ext2_block_get_mut(v, ino, block, fresh, &data, &ref);

	if (err != 0)
		return err;
	memcpy(data + (size_t)index * sizeof(le), &le, sizeof(le));
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	return 0;
}

/* Undoes the allocations of a mapping that failed; they were never linked, so freeing cannot fail but on damage. */
static void free_all(struct ext2_vol *v, uint32_t ino, const uint32_t *blocks, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		(void)ext2_block_free(v, ino, blocks[i]);
}

int ext2_bmap_alloc(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t lblk, uint32_t *pblk, bool *fresh)
{
	const uint64_t p = v->g.ptrs_per_block;
	const uint32_t unit = v->g.block_bytes / EXT2_IBLOCK_UNIT;
	uint32_t idx[BMAP_MAX_LEVELS + 1u]; /* idx[l]: entry in the level-l indirect block (l >= 1) */
	uint32_t chain[BMAP_MAX_LEVELS];    /* chain[l]: the existing level-(l+1) indirect block */
	uint32_t fresh_blocks[BMAP_MAX_NEW];
	uint32_t slot, ptr, goal = 0, prev;
	unsigned int levels = 0, depth = 0, need, got;
	uint64_t rel, cover;
	int err;

	if (v->g.read_only || v->io->get_mut == NULL)
		return -EROFS;
	if (lblk < EXT2_NDIR_BLOCKS) {
		slot = (uint32_t)lblk;
	} else {
		rel = lblk - EXT2_NDIR_BLOCKS;
		levels = 1;
		cover = p;
		while (rel >= cover) {
			rel -= cover;
			if (++levels > BMAP_MAX_LEVELS)
				return -EFBIG;
			cover *= p;
		}
		slot = EXT2_IND_BLOCK + levels - 1u;
		/* rel's digits in base p, most significant first: the entry to follow at each level. */
		for (unsigned int l = levels; l >= 1u; l--) {
			idx[l] = (uint32_t)(rel % p);
			rel /= p;
		}
	}
	if (((lblk + 1u) << v->g.block_log) > v->g.max_file_bytes)
		return -EFBIG;

	/* Follow the existing pointers as far as they go. */
	ptr = ip->block[slot];
	while (ptr != 0 && depth < levels) {
		chain[depth] = ptr;
		err = read_entry(v, ip->ino, ptr, idx[depth + 1u], &ptr);
		if (err != 0)
			return err;
		depth++;
	}
	if (ptr != 0) {
		if (ptr < v->g.first_data_block || ptr >= v->g.blocks_count)
			return ext2_corrupt(v, ip->ino, "block pointer outside the file system", ptr);
		*pblk = ptr;
		*fresh = false;
		return 0;
	}

	/* Pointers depth..levels are missing: levels - depth indirect blocks and the data block. */
	need = levels - depth + 1u;
	if (ip->blocks_512 > UINT32_MAX - need * unit)
		return -EFBIG;
	/*
	 * Near the file's previous block, so a file written in order is laid
	 * out in order: found in the inode or the leaf already reached when it
	 * is there (the common case of appending), else by a mapping of its own.
	 */
	prev = 0;
	err = 0;
	if (lblk > 0 && lblk - 1u < EXT2_NDIR_BLOCKS)
		prev = ip->block[lblk - 1u];
	else if (levels > 0 && depth == levels && idx[levels] > 0)
		err = read_entry(v, ip->ino, chain[levels - 1u], idx[levels] - 1u, &prev);
	else if (lblk > 0)
		err = ext2_bmap(v, ip, lblk - 1u, &prev, NULL);
	if (err != 0)
		return err; /* damage found (reported) before anything changed */
	if (prev != 0 && prev + 1u < v->g.blocks_count)
		goal = prev + 1u;
	for (got = 0; got < need; got++) {
		err = ext2_block_alloc(v, ip->ino, goal, &fresh_blocks[got]);
		if (err != 0) {
			free_all(v, ip->ino, fresh_blocks, got);
			return err;
		}
		goal = fresh_blocks[got] + 1u;
	}
	/* New indirect block k (level depth + k + 1) points to new block k + 1 at its entry of the path. */
	for (unsigned int k = 0; k + 1u < need; k++) {
		err = write_entry(v, ip->ino, fresh_blocks[k], true, idx[depth + k + 1u], fresh_blocks[k + 1u]);
		if (err != 0) {
			free_all(v, ip->ino, fresh_blocks, need);
			return err;
		}
	}
	/* The link, last: the inode in memory, or the existing indirect block above the first new one. */
	if (depth == 0) {
		ip->block[slot] = fresh_blocks[0];
	} else {
		err = write_entry(v, ip->ino, chain[depth - 1u], false, idx[depth], fresh_blocks[0]);
		if (err != 0) {
			free_all(v, ip->ino, fresh_blocks, need);
			return err;
		}
	}
	ip->blocks_512 += need * unit;
	*pblk = fresh_blocks[need - 1u];
	*fresh = true;
	return 0;
}

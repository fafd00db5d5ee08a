/*
 * ext2 truncate: a file's size set, down (freeing every block past the new
 * end, and every indirect block left empty) or up (a hole).
 *
 * Locking: the caller holds the volume exclusively (see "Writing" in ext2.h).
 *
 * Indirect blocks are walked a chunk of entries at a time: the chunk is
 * copied out, the blocks (or subtrees) it names are freed without holding
 * the indirect block, then the freed entries are zeroed in it. So at most
 * the allocator's two blocks are held at once however deep the tree, and a
 * failure part way (damage found, a failed read) leaves every freed block
 * unreferenced and every referenced block allocated: the file only keeps
 * more blocks than it should, which its old size still covers.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

/* Entries of an indirect block handled per pass: a small stack buffer at each of the three levels. */
#define TRUNC_CHUNK     64u

static int zero_tail(struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t from);
static void drop_blocks(const struct ext2_vol *v, struct ext2_inode_info *ip, uint32_t count);
static int free_tree(struct ext2_vol *v, struct ext2_inode_info *ip, uint32_t block, unsigned int level,
		     uint64_t start, bool *empty);
static int free_from(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t keep);

/*
 * Zeroes the bytes from `from` to the end of its block, if that block is
 * mapped and `from` is not on a block boundary: what a later grow of the
 * file reads there must be zeros.
 */
static int zero_tail(struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t from)
{
	const uint32_t in_block = (uint32_t)(from & (v->g.block_bytes - 1u));
	uint32_t pblk;
	uint8_t *data;
	void *ref;
	int err;

	if (in_block == 0)
		return 0;
	err = ext2_bmap(v, ip, from >> v->g.block_log, &pblk, NULL);
	if (err != 0 || pblk == 0)
		return err;
	err = ext2_block_get_mut(v, ip->ino, pblk, false, &data, &ref);
	if (err != 0)
		return err;
	memset(data + in_block, 0, v->g.block_bytes - in_block);
	ext2_block_dirty(v, ref, !ext2_is_reg(ip));
	ext2_block_put(v, ref);
	return 0;
}

/* i_blocks less count blocks; a count already too small (damage) stops at 0 rather than wrapping. */
static void drop_blocks(const struct ext2_vol *v, struct ext2_inode_info *ip, uint32_t count)
{
	uint64_t units = (uint64_t)count * (v->g.block_bytes / EXT2_IBLOCK_UNIT);

	ip->blocks_512 = ip->blocks_512 >= units ? ip->blocks_512 - (uint32_t)units : 0;
}

/*
 * Frees, below the level-`level` indirect block `block` (level 1 points at
 * data), every block whose position in the subtree is start or later.
 * *empty: the block holds no pointer any more and was freed itself.
 */
static int free_tree(struct ext2_vol *v, struct ext2_inode_info *ip, uint32_t block, unsigned int level,
		     uint64_t start, bool *empty)
{
	const uint32_t p = v->g.ptrs_per_block;
	uint64_t child_cover = 1;
	uint32_t first, entries[TRUNC_CHUNK], le;
	bool cleared[TRUNC_CHUNK];
	const uint8_t *data;
	uint8_t *mdata;
	void *ref;
	int err = 0;

	*empty = false;
	for (unsigned int l = 1; l < level; l++)
		child_cover *= p;
	first = (uint32_t)(start / child_cover);
	for (uint32_t base = first - first % TRUNC_CHUNK; base < p && err == 0; base += TRUNC_CHUNK) {
		uint32_t n = p - base < TRUNC_CHUNK ? p - base : TRUNC_CHUNK, changed = 0;

		err = ext2_block_get(v, ip->ino, block, &data, &ref);
		if (err != 0)
			return err;
		memcpy(entries, data + (size_t)base * sizeof(le), (size_t)n * sizeof(le));
		ext2_block_put(v, ref);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t e = ext2_le32(entries[i]);
			bool child_empty = true;

			cleared[i] = false;
			if (err != 0 || base + i < first || e == 0)
				continue;
			if (level == 1) {
				err = ext2_block_free(v, ip->ino, e);
				if (err == 0)
					drop_blocks(v, ip, 1);
			} else {
				uint64_t sub = base + i == first ? start % child_cover : 0;
				err = free_tree(v, ip, e, level - 1u, sub, &child_empty);
			}
			if (err == 0 && child_empty) {
				cleared[i] = true;
				changed++;
			}
		}
		if (changed == 0)
			continue;
		/* Zero the entries whose blocks are gone, even when an error stopped the chunk part way. */
		int perr = ext2_block_get_mut(v, ip->ino, block, false, &mdata, &ref);
		if (perr != 0)
			return err != 0 ? err : perr;
		for (uint32_t i = 0; i < n; i++)
			if (cleared[i])
				memset(mdata + (size_t)(base + i) * sizeof(le), 0, sizeof(le));
		ext2_block_dirty(v, ref, true);
		ext2_block_put(v, ref);
	}
	if (err != 0)
		return err;

	/* Empty now (also when entries before `first` were holes): the indirect block goes too. */
	err = ext2_block_get(v, ip->ino, block, &data, &ref);
	if (err != 0)
		return err;
	for (uint32_t i = 0; i < p; i++) {
		memcpy(&le, data + (size_t)i * sizeof(le), sizeof(le));
		if (le != 0) {
			ext2_block_put(v, ref);
			return 0;
		}
	}
	ext2_block_put(v, ref);
	err = ext2_block_free(v, ip->ino, block);
	if (err != 0)
		return err;
	drop_blocks(v, ip, 1);
	*empty = true;
	return 0;
}

/* Frees every block of the file from logical block `keep` on; updates ip in memory. */
static int free_from(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t keep)
{
	const uint64_t p = v->g.ptrs_per_block;
	uint64_t base = EXT2_NDIR_BLOCKS, cover = p;
	int err;

	for (uint64_t i = keep; i < EXT2_NDIR_BLOCKS; i++) {
		if (ip->block[i] == 0)
			continue;
		err = ext2_block_free(v, ip->ino, ip->block[i]);
		if (err != 0)
			return err;
		ip->block[i] = 0;
		drop_blocks(v, ip, 1);
	}
	for (unsigned int level = 1; level <= 3u; level++, base += cover, cover *= p) {
		uint32_t slot = EXT2_IND_BLOCK + level - 1u;
		bool empty;

		if (keep >= base + cover || ip->block[slot] == 0)
			continue;
		err = free_tree(v, ip, ip->block[slot], level, keep > base ? keep - base : 0, &empty);
		if (err != 0)
			return err;
		if (empty)
			ip->block[slot] = 0;
	}
	return 0;
}

int ext2_truncate(struct ext2_vol *v, struct ext2_inode_info *ip, uint64_t size)
{
	const uint64_t old = ip->size;
	int err, put_err;

	if (v->g.read_only || v->io->get_mut == NULL)
		return -EROFS;
	/* A fast symlink's i_block holds its target, not blocks. */
	if (ext2_is_symlink(ip) && ext2_symlink_is_fast(v, ip))
		return -EINVAL;
	if (size > ext2_size_limit(v, ip))
		return -EFBIG;
	/* The partial block at the lower of the two ends reads as zeros past it, whichever way the size moves. */
	err = zero_tail(v, ip, size < old ? size : old);
	if (err != 0)
		return err;
	if (size < old) {
		err = free_from(v, ip, (size + v->g.block_bytes - 1u) >> v->g.block_log);
		if (err != 0) {
			/* Keep the old size (it covers every block still there), but store the pointers already dropped. */
			put_err = ext2_inode_put(v, ip);
			(void)put_err;
			return err;
		}
	}
	ip->size = size;
	ip->mtime = ip->ctime = ext2_now(v);
	return ext2_inode_put(v, ip);
}

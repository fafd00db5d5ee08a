/*
 * ext2 inodes: reading and checking one, mapping its logical blocks to
 * physical ones through the indirect blocks, reading its bytes, and symlink
 * targets.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

static int inode_read(const struct ext2_vol *v, uint32_t ino, struct ext2_inode_info *ip, bool unlinked_ok);
static int inode_check(const struct ext2_vol *v, struct ext2_inode_info *ip, bool unlinked_ok);
static uint32_t pointer_run(const struct ext2_vol *v, const void *ptrs, bool le, uint32_t index, uint32_t nptrs,
			    uint32_t first, uint32_t max);

int ext2_inode_get(const struct ext2_vol *v, uint32_t ino, struct ext2_inode_info *ip)
{
	return inode_read(v, ino, ip, false);
}

int ext2_inode_get_unlinked(const struct ext2_vol *v, uint32_t ino, struct ext2_inode_info *ip)
{
	return inode_read(v, ino, ip, true);
}

static int inode_read(const struct ext2_vol *v, uint32_t ino, struct ext2_inode_info *ip, bool unlinked_ok)
{
	const struct ext2_geom *g = &v->g;
	struct ext2_group_desc gd;
	const struct ext2_inode *raw;
	const uint8_t *data;
	uint64_t byte;
	void *ref;
	int err;

	if (ino == 0 || ino > g->inodes_count)
		return ext2_corrupt(v, ino, "inode number out of range", ino);
	err = ext2_group_get(v, (ino - 1u) / g->inodes_per_group, &gd);
	if (err != 0)
		return err;
	/* The group check put the whole inode table inside the file system. */
	byte = (uint64_t)((ino - 1u) % g->inodes_per_group) * g->inode_bytes;
	err = ext2_block_get(v, ino, gd.bg_inode_table + (uint32_t)(byte >> g->block_log), &data, &ref);
	if (err != 0)
		return err;
	raw = (const struct ext2_inode *)(const void *)(data + (byte & (g->block_bytes - 1u)));
	ip->ino = ino;
	ip->mode = ext2_le16(raw->i_mode);
	ip->links = ext2_le16(raw->i_links_count);
	ip->size = ext2_le32(raw->i_size);
	/* The high half of the size is i_dir_acl for anything but a revision 1 regular file. */
	if ((ip->mode & EXT2_S_IFMT) == EXT2_S_IFREG && g->rev >= EXT2_DYNAMIC_REV)
		ip->size |= (uint64_t)ext2_le32(raw->i_size_high) << 32;
	ip->blocks_512 = ext2_le32(raw->i_blocks);
	ip->flags = ext2_le32(raw->i_flags);
	ip->file_acl = ext2_le32(raw->i_file_acl);
	ip->atime = ext2_le32(raw->i_atime);
	ip->ctime = ext2_le32(raw->i_ctime);
	ip->mtime = ext2_le32(raw->i_mtime);
	ip->dtime = ext2_le32(raw->i_dtime);
	for (unsigned int i = 0; i < EXT2_N_BLOCKS; i++)
		ip->block[i] = ext2_le32(raw->i_block[i]);
	memcpy(ip->block_raw, raw->i_block, sizeof(ip->block_raw));
	ext2_block_put(v, ref);
	return inode_check(v, ip, unlinked_ok);
}

/* Whether an inode read from a directory entry is one that may be used. */
static int inode_check(const struct ext2_vol *v, struct ext2_inode_info *ip, bool unlinked_ok)
{
	const struct ext2_geom *g = &v->g;
	uint32_t type = ip->mode & EXT2_S_IFMT;

	if (ip->links == 0 && !unlinked_ok)
		return ext2_corrupt(v, ip->ino, "inode is not in use (no links)", ip->mode);
	switch (type) {
	case EXT2_S_IFREG:
	case EXT2_S_IFDIR:
	case EXT2_S_IFLNK:
	case EXT2_S_IFCHR:
	case EXT2_S_IFBLK:
	case EXT2_S_IFIFO:
	case EXT2_S_IFSOCK:
		break;
	default:
		return ext2_corrupt(v, ip->ino, "bad file type in mode", ip->mode);
	}
	if ((ip->flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) != 0)
		return ext2_corrupt(v, ip->ino, "extent or inline-data inode on ext2", ip->flags);
	if (ip->size > g->max_file_bytes)
		return ext2_corrupt(v, ip->ino, "size larger than the format allows", ip->size);
	if (ip->file_acl != 0 && (ip->file_acl < g->first_data_block || ip->file_acl >= g->blocks_count))
		return ext2_corrupt(v, ip->ino, "attribute block outside the file system", ip->file_acl);
	if (type == EXT2_S_IFDIR && (ip->size == 0 || (ip->size & (g->block_bytes - 1u)) != 0))
		return ext2_corrupt(v, ip->ino, "directory size not a whole number of blocks", ip->size);
	if (type == EXT2_S_IFLNK) {
		if (ip->size == 0 || ip->size > EXT2_PATH_MAX)
			return ext2_corrupt(v, ip->ino, "bad symlink length", ip->size);
		if (ext2_symlink_is_fast(v, ip) ? ip->size >= EXT2_FAST_SYMLINK_MAX : ip->size >= g->block_bytes)
			return ext2_corrupt(v, ip->ino, "symlink length does not fit where it is kept", ip->size);
	}
	return 0;
}

int ext2_indirect_entry(const struct ext2_vol *v, uint32_t ino, uint32_t block, uint32_t index, uint32_t *out)
{
	const uint8_t *data;
	uint32_t le;
	void *ref;
	int err = ext2_block_get(v, ino, block, &data, &ref);

	if (err != 0)
		return err;
	memcpy(&le, data + (size_t)index * sizeof(le), sizeof(le));
	ext2_block_put(v, ref);
	*out = ext2_le32(le);
	return 0;
}

int ext2_bmap(const struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t lblk, uint32_t *pblk,
	      uint64_t *hole_run)
{
	const uint64_t p = v->g.ptrs_per_block;
	uint64_t rel, cover, run = 1;
	unsigned int levels;
	uint32_t ptr;

	if (lblk < EXT2_NDIR_BLOCKS) {
		ptr = ip->block[lblk];
	} else {
		/* Find the tree (single, double, triple) holding lblk and lblk's offset inside it. */
		rel = lblk - EXT2_NDIR_BLOCKS;
		levels = 1;
		cover = p;
		while (rel >= cover) {
			rel -= cover;
			if (++levels > 3)
				return -EFBIG;
			cover *= p;
		}
		ptr = ip->block[EXT2_IND_BLOCK + levels - 1u];
		/*
		 * Walk down: `ptr` addresses a subtree of `cover` blocks in which
		 * lblk is block `rel`. A zero pointer makes the rest of the
		 * subtree, from rel on, one hole.
		 */
		for (; levels > 0; levels--) {
			if (ptr == 0) {
				run = cover - rel;
				break;
			}
			cover /= p;
			uint32_t index = (uint32_t)(rel / cover);
			rel %= cover;
			int err = ext2_indirect_entry(v, ip->ino, ptr, index, &ptr);
			if (err != 0)
				return err;
		}
	}
	if (ptr != 0 && (ptr < v->g.first_data_block || ptr >= v->g.blocks_count))
		return ext2_corrupt(v, ip->ino, "block pointer outside the file system", ptr);
	*pblk = ptr;
	if (hole_run != NULL)
		*hole_run = run;
	return 0;
}

/*
 * Entries from `index` of the pointer array ptrs (in disk byte order when
 * le, else CPU order) that continue the run of first: all zero for a hole,
 * else first + 1, first + 2, ... inside the file system. At most max, and
 * at least the entry at index itself.
 */
static uint32_t pointer_run(const struct ext2_vol *v, const void *ptrs, bool le, uint32_t index, uint32_t nptrs,
			    uint32_t first, uint32_t max)
{
	uint32_t n = 1;

	while (n < max && index + n < nptrs) {
		uint32_t next;
		if (le) {
			memcpy(&next, (const uint8_t *)ptrs + (size_t)(index + n) * sizeof(next), sizeof(next));
			next = ext2_le32(next);
		} else {
			next = ((const uint32_t *)ptrs)[index + n];
		}
		if (first == 0 ? next != 0 : (next != first + n || next >= v->g.blocks_count))
			break;
		n++;
	}
	return n;
}

int ext2_bmap_run(const struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t lblk, uint32_t max,
		  uint32_t *pblk, uint32_t *count)
{
	const uint64_t p = v->g.ptrs_per_block;
	uint64_t rel, cover;
	unsigned int levels;
	uint32_t ptr, n;

	if (max == 0)
		max = 1;
	if (lblk < EXT2_NDIR_BLOCKS) {
		ptr = ip->block[lblk];
		n = pointer_run(v, ip->block, false, (uint32_t)lblk, EXT2_NDIR_BLOCKS, ptr, max);
	} else {
		/* As ext2_bmap: the tree holding lblk, then down to the indirect block that points at it. */
		rel = lblk - EXT2_NDIR_BLOCKS;
		levels = 1;
		cover = p;
		while (rel >= cover) {
			rel -= cover;
			if (++levels > 3)
				return -EFBIG;
			cover *= p;
		}
		ptr = ip->block[EXT2_IND_BLOCK + levels - 1u];
		n = 1;
		for (; levels > 0; levels--) {
			if (ptr == 0) {
				n = cover - rel < max ? (uint32_t)(cover - rel) : max;
				break;
			}
			cover /= p;
			uint32_t index = (uint32_t)(rel / cover);
			rel %= cover;
			if (levels > 1) {
				int err = ext2_indirect_entry(v, ip->ino, ptr, index, &ptr);
				if (err != 0)
					return err;
				continue;
			}
			/* The last indirect block: one get for the entry and the run after it. */
			const uint8_t *data;
			void *ref;
			int err = ext2_block_get(v, ip->ino, ptr, &data, &ref);
			if (err != 0)
				return err;
			memcpy(&ptr, data + (size_t)index * sizeof(ptr), sizeof(ptr));
			ptr = ext2_le32(ptr);
			n = pointer_run(v, data, true, index, (uint32_t)p, ptr, max);
			ext2_block_put(v, ref);
		}
	}
	if (ptr != 0 && (ptr < v->g.first_data_block || ptr >= v->g.blocks_count))
		return ext2_corrupt(v, ip->ino, "block pointer outside the file system", ptr);
	*pblk = ptr;
	*count = n;
	return 0;
}

int ext2_file_read(const struct ext2_vol *v, const struct ext2_inode_info *ip, uint64_t off, void *buf,
		   size_t len, size_t *done)
{
	const uint32_t bs = v->g.block_bytes;
	uint8_t *out = buf;
	size_t copied = 0;
	int err = 0;

	if (off >= ip->size)
		len = 0;
	else if (len > ip->size - off)
		len = (size_t)(ip->size - off);
	while (copied < len) {
		uint64_t pos = off + copied, run;
		uint32_t in_block = (uint32_t)(pos & (bs - 1u)), pblk;
		size_t n;

		err = ext2_bmap(v, ip, pos >> v->g.block_log, &pblk, &run);
		if (err != 0)
			break;
		if (pblk == 0) {
			/* A hole of `run` blocks from this one: zeros without reading anything. */
			uint64_t hole = run * bs - in_block;
			n = hole < len - copied ? (size_t)hole : len - copied;
			memset(out + copied, 0, n);
		} else {
			const uint8_t *data;
			void *ref;
			n = bs - in_block < len - copied ? bs - in_block : len - copied;
			err = ext2_block_get(v, ip->ino, pblk, &data, &ref);
			if (err != 0)
				break;
			memcpy(out + copied, data + in_block, n);
			ext2_block_put(v, ref);
		}
		copied += n;
	}
	*done = copied;
	return err;
}

/*
 * As Linux decides it: a symlink whose only blocks (if any) are its extended
 * attribute block keeps its target in i_block[].
 */
bool ext2_symlink_is_fast(const struct ext2_vol *v, const struct ext2_inode_info *ip)
{
	uint32_t acl_512 = ip->file_acl != 0 ? v->g.block_bytes / EXT2_IBLOCK_UNIT : 0;

	return ip->blocks_512 == acl_512;
}

int ext2_readlink(const struct ext2_vol *v, const struct ext2_inode_info *ip, char *buf, size_t cap, size_t *len)
{
	size_t n = (size_t)ip->size, done;
	int err;

	if (!ext2_is_symlink(ip))
		return -EINVAL;
	/* ext2_inode_get bounded the size by where the target is kept. */
	if (n + 1u > cap)
		return -ERANGE;
	if (ext2_symlink_is_fast(v, ip)) {
		memcpy(buf, ip->block_raw, n);
	} else {
		err = ext2_file_read(v, ip, 0, buf, n, &done);
		if (err != 0)
			return err;
		if (done != n)
			return ext2_corrupt(v, ip->ino, "short symlink", done);
	}
	if (memchr(buf, '\0', n) != NULL)
		return ext2_corrupt(v, ip->ino, "NUL inside a symlink target", n);
	buf[n] = '\0';
	*len = n;
	return 0;
}

/*
 * ext2 inodes written back: storing an inode, initialising a new one,
 * releasing one whose last link is gone, and the size rules shared by
 * truncate and file writes.
 *
 * Locking: the caller holds the volume exclusively for every call (see
 * "Writing" in ext2.h); the in-memory inode *ip is the caller's and is
 * stored with ext2_inode_put before the exclusion ends.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

/* Sizes from here on need the large_file feature (and revision 1): the low field is read as signed by old kernels. */
#define EXT2_LARGE_FILE_BYTES   (1ull << 31)

static int inode_get_mut(struct ext2_vol *v, uint32_t ino, uint8_t **raw, void **ref);
static int set_large_file(struct ext2_vol *v);
static int release_xattr_block(struct ext2_vol *v, struct ext2_inode_info *ip);

static void put_le16(uint8_t *p, uint16_t x)
{
	uint16_t le = ext2_le16(x);

	memcpy(p, &le, sizeof(le));
}

static void put_le32(uint8_t *p, uint32_t x)
{
	uint32_t le = ext2_le32(x);

	memcpy(p, &le, sizeof(le));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t le;

	memcpy(&le, p, sizeof(le));
	return ext2_le32(le);
}

/* Makes the on-disk inode ino writable at *raw (inode_bytes bytes). */
static int inode_get_mut(struct ext2_vol *v, uint32_t ino, uint8_t **raw, void **ref)
{
	const struct ext2_geom *g = &v->g;
	struct ext2_group_desc gd;
	uint8_t *data;
	uint64_t byte;
	int err;

	if (ino == 0 || ino > g->inodes_count)
		return ext2_corrupt(v, ino, "inode number out of range", ino);
	err = ext2_group_get(v, (ino - 1u) / g->inodes_per_group, &gd);
	if (err != 0)
		return err;
	/* The group check put the whole table inside the file system; inode_bytes divides the block size. */
	byte = (uint64_t)((ino - 1u) % g->inodes_per_group) * g->inode_bytes;
	err = ext2_block_get_mut(v, ino, gd.bg_inode_table + (uint32_t)(byte >> g->block_log), false, &data, ref);
	if (err != 0)
		return err;
	*raw = data + (byte & (g->block_bytes - 1u));
	return 0;
}

uint64_t ext2_size_limit(const struct ext2_vol *v, const struct ext2_inode_info *ip)
{
	uint64_t limit = v->g.max_file_bytes;

	if (!ext2_is_reg(ip)) {
		/* Only a regular file has a high size half (elsewhere it is i_dir_acl). */
		if (limit > UINT32_MAX)
			limit = UINT32_MAX;
	} else if (v->g.rev == EXT2_GOOD_OLD_REV) {
		/* Revision 0 has no feature flags, so no large_file: e2fsck would have to upgrade it. */
		if (limit > EXT2_LARGE_FILE_BYTES - 1u)
			limit = EXT2_LARGE_FILE_BYTES - 1u;
	}
	return limit;
}

/* Sets large_file in the primary superblock and in v->g (what Linux does; e2fsck wants it for sizes >= 2 GiB). */
static int set_large_file(struct ext2_vol *v)
{
	const uint32_t at = EXT2_SUPER_OFFSET & (v->g.block_bytes - 1u);
	struct ext2_super *sb;
	uint8_t *data;
	void *ref;
	int err = ext2_block_get_mut(v, 0, EXT2_SUPER_OFFSET >> v->g.block_log, false, &data, &ref);

	if (err != 0)
		return err;
	sb = (struct ext2_super *)(void *)(data + at);
	if (ext2_le16(sb->s_magic) != EXT2_SUPER_MAGIC) {
		uint16_t magic = ext2_le16(sb->s_magic); /* read before the put ends the block's lifetime */
		ext2_block_put(v, ref);
		return ext2_corrupt(v, 0, "superblock magic changed while mounted", magic);
	}
	v->g.feature_ro_compat |= EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
	sb->s_feature_ro_compat = ext2_le32(ext2_le32(sb->s_feature_ro_compat) | EXT2_FEATURE_RO_COMPAT_LARGE_FILE);
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	return 0;
}

int ext2_inode_put(struct ext2_vol *v, const struct ext2_inode_info *ip)
{
	const bool reg = ext2_is_reg(ip);
	struct ext2_inode *in;
	uint8_t *raw;
	void *ref;
	int err;

	if (ip->size > ext2_size_limit(v, ip))
		return -EFBIG;
	if (reg && ip->size >= EXT2_LARGE_FILE_BYTES && (v->g.feature_ro_compat & EXT2_FEATURE_RO_COMPAT_LARGE_FILE) == 0) {
		err = set_large_file(v);
		if (err != 0)
			return err;
	}
	err = inode_get_mut(v, ip->ino, &raw, &ref);
	if (err != 0)
		return err;
	in = (struct ext2_inode *)(void *)raw;
	in->i_mode = ext2_le16(ip->mode);
	in->i_links_count = ext2_le16(ip->links);
	in->i_size = ext2_le32((uint32_t)ip->size);
	if (reg && v->g.rev >= EXT2_DYNAMIC_REV)
		in->i_size_high = ext2_le32((uint32_t)(ip->size >> 32));
	in->i_blocks = ext2_le32(ip->blocks_512);
	in->i_flags = ext2_le32(ip->flags);
	in->i_file_acl = ext2_le32(ip->file_acl);
	in->i_atime = ext2_le32(ip->atime);
	in->i_ctime = ext2_le32(ip->ctime);
	in->i_mtime = ext2_le32(ip->mtime);
	in->i_dtime = ext2_le32(ip->dtime);
	/* A fast symlink's target is i_block's bytes; everything else stores block numbers. */
	if (ext2_is_symlink(ip) && ext2_symlink_is_fast(v, ip)) {
		memcpy(in->i_block, ip->block_raw, sizeof(in->i_block));
	} else {
		for (unsigned int i = 0; i < EXT2_N_BLOCKS; i++)
			in->i_block[i] = ext2_le32(ip->block[i]);
	}
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	return 0;
}

int ext2_inode_new(struct ext2_vol *v, uint32_t parent, uint16_t mode, struct ext2_inode_info *ip)
{
	const struct ext2_geom *g = &v->g;
	const uint32_t now = ext2_now(v);
	struct ext2_inode *in;
	uint32_t ino, generation;
	uint8_t *raw;
	void *ref;
	int err;

	switch (mode & EXT2_S_IFMT) {
	case EXT2_S_IFREG:
	case EXT2_S_IFDIR:
	case EXT2_S_IFLNK:
	case EXT2_S_IFCHR:
	case EXT2_S_IFBLK:
	case EXT2_S_IFIFO:
	case EXT2_S_IFSOCK:
		break;
	default:
		return -EINVAL;
	}
	err = ext2_inode_alloc(v, parent, mode, &ino);
	if (err != 0)
		return err;
	err = inode_get_mut(v, ino, &raw, &ref);
	if (err == 0) {
		in = (struct ext2_inode *)(void *)raw;
		/* Free in the bitmap yet linked and not deleted: the bitmap is wrong, do not overwrite a live inode. */
		if (in->i_links_count != 0 && in->i_dtime == 0 && in->i_mode != 0) {
			uint16_t links = ext2_le16(in->i_links_count); /* read before the put ends the block's lifetime */
			ext2_block_put(v, ref);
			err = ext2_corrupt(v, ino, "inode free in the bitmap is in use", links);
		}
	}
	if (err != 0) {
		/* Give the number back: nothing is changed after a fault. */
		(void)ext2_inode_free(v, ino, mode);
		return err;
	}
	generation = ext2_le32(in->i_generation) + 1u;
	memset(raw, 0, g->inode_bytes);
	in->i_mode = ext2_le16(mode);
	in->i_atime = ext2_le32(now);
	in->i_ctime = ext2_le32(now);
	in->i_mtime = ext2_le32(now);
	in->i_generation = ext2_le32(generation);
	if (g->inode_bytes >= EXT2_GOOD_OLD_INODE_SIZE + EXT2_INODE_EXTRA_ISIZE) {
		/* As mke2fs leaves them: the extra fields in use up to the project id, a creation time. */
		put_le16(raw + EXT2_INODE_EXTRA_ISIZE_OFF, EXT2_INODE_EXTRA_ISIZE);
		put_le32(raw + EXT2_INODE_CRTIME_OFF, now);
	}
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);

	memset(ip, 0, sizeof(*ip));
	ip->ino = ino;
	ip->mode = mode;
	ip->atime = now;
	ip->ctime = now;
	ip->mtime = now;
	return 0;
}

/* Drops the inode's reference to its extended attribute block, freeing the block with its last reference. */
static int release_xattr_block(struct ext2_vol *v, struct ext2_inode_info *ip)
{
	const uint32_t unit = v->g.block_bytes / EXT2_IBLOCK_UNIT;
	uint32_t refs;
	uint8_t *data;
	void *ref;
	int err = ext2_block_get_mut(v, ip->ino, ip->file_acl, false, &data, &ref);

	if (err != 0)
		return err;
	refs = get_le32(data + EXT2_XATTR_REFCOUNT_OFF);
	if (get_le32(data) != EXT2_XATTR_MAGIC || refs == 0) {
		ext2_block_put(v, ref);
		return ext2_corrupt(v, ip->ino, "bad extended attribute block", ip->file_acl);
	}
	if (refs > 1u) {
		put_le32(data + EXT2_XATTR_REFCOUNT_OFF, refs - 1u);
		ext2_block_dirty(v, ref, true);
		ext2_block_put(v, ref);
	} else {
		ext2_block_put(v, ref);
		err = ext2_block_free(v, ip->ino, ip->file_acl);
		if (err != 0)
			return err;
	}
	ip->file_acl = 0;
	ip->blocks_512 = ip->blocks_512 >= unit ? ip->blocks_512 - unit : 0;
	return 0;
}

int ext2_inode_release(struct ext2_vol *v, struct ext2_inode_info *ip)
{
	int err;

	if (v->g.read_only || v->io->get_mut == NULL)
		return -EROFS;
	if (ip->links != 0)
		return -EINVAL;
	if (ip->ino < v->g.first_ino)
		return ext2_corrupt(v, ip->ino, "releasing a reserved inode", ip->ino);
	/* A fast symlink has no blocks: its i_block holds the target. */
	if (!(ext2_is_symlink(ip) && ext2_symlink_is_fast(v, ip))) {
		err = ext2_truncate(v, ip, 0);
		if (err != 0)
			return err;
	}
	if (ip->file_acl != 0) {
		err = release_xattr_block(v, ip);
		if (err != 0) {
			(void)ext2_inode_put(v, ip);
			return err;
		}
	}
	ip->dtime = ext2_now(v);
	if (ip->dtime == 0)
		ip->dtime = 1; /* e2fsck takes dtime 0 for an inode still in use */
	err = ext2_inode_put(v, ip);
	if (err != 0)
		return err;
	return ext2_inode_free(v, ip->ino, ip->mode);
}

/*
 * ext2 directories: entries checked one by one, iteration over a directory's
 * blocks, lookups by name and by path.
 *
 * dir_index directories need nothing special: their index blocks are made to
 * look like directory blocks holding one unused entry that spans the block
 * (and, in the first block, "." and a ".." whose record covers the index
 * root), so reading every block linearly finds every entry exactly once.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

struct lookup_ctx {
	const char *name;
	size_t len;
	uint32_t ino;
	uint32_t file_type;
};

static int dirent_fault(struct ext2_fault *f, const char *what, uint64_t value);
static int lookup_match(void *ctx, const struct ext2_dirent_view *d);
static int root_get(const struct ext2_vol *v, struct ext2_inode_info *ip);
static int path_walk(const struct ext2_vol *v, const char *path, char *scratch, struct ext2_inode_info *ip);

static int dirent_fault(struct ext2_fault *f, const char *what, uint64_t value)
{
	f->what = what;
	f->ino = 0;
	f->value = value;
	return -EUCLEAN;
}

int ext2_dirent_parse(const struct ext2_geom *g, const uint8_t *block, uint32_t off, struct ext2_dirent_view *d,
		      struct ext2_fault *f)
{
	const struct ext2_dirent *raw;
	uint16_t rec_len;
	uint32_t ino, name_len, file_type;

	/* Records are 4-byte aligned and at least a header plus a 1-byte name long. */
	if (off % EXT2_DIRENT_ALIGN != 0 || off + EXT2_DIRENT_REC_LEN(1u) > g->block_bytes)
		return dirent_fault(f, "directory entry does not fit its block (value: offset)", off);
	raw = (const struct ext2_dirent *)(const void *)(block + off);
	ino = ext2_le32(raw->inode);
	rec_len = ext2_le16(raw->rec_len);
	if (g->filetype) {
		name_len = raw->name_len;
		file_type = raw->file_type;
	} else {
		/* Without the filetype feature the name length is 16 bits wide; ext2 names stop at 255. */
		name_len = raw->name_len | (uint32_t)raw->file_type << 8;
		file_type = EXT2_FT_UNKNOWN;
	}
	if (rec_len < EXT2_DIRENT_REC_LEN(1u) || rec_len % EXT2_DIRENT_ALIGN != 0)
		return dirent_fault(f, "bad directory record length", rec_len);
	if (off + rec_len > g->block_bytes)
		return dirent_fault(f, "directory record crosses its block (value: length)", rec_len);
	if (name_len > EXT2_NAME_LEN || EXT2_DIRENT_REC_LEN(name_len) > rec_len)
		return dirent_fault(f, "directory name longer than its record", name_len);
	d->ino = ino;
	d->rec_len = rec_len;
	d->name_len = name_len;
	d->file_type = file_type;
	d->name = raw->name;
	if (ino == 0)
		return 0; /* an unused record: only its length matters */
	if (ino > g->inodes_count)
		return dirent_fault(f, "directory entry inode out of range", ino);
	/* Reserved inodes (bad blocks, resize, journal, ...) are never named; the root is, by "." and "..". */
	if (ino < g->first_ino && ino != EXT2_ROOT_INO)
		return dirent_fault(f, "directory entry names a reserved inode", ino);
	if (name_len == 0)
		return dirent_fault(f, "empty name in a directory entry", ino);
	if (file_type >= EXT2_FT_MAX)
		return dirent_fault(f, "bad file type in a directory entry", file_type);
	if (memchr(raw->name, '/', name_len) != NULL || memchr(raw->name, '\0', name_len) != NULL)
		return dirent_fault(f, "'/' or NUL in a directory entry name", ino);
	return 0;
}

int ext2_dir_iterate(const struct ext2_vol *v, const struct ext2_inode_info *dir, ext2_dir_fn fn, void *ctx)
{
	const uint64_t nblocks = dir->size >> v->g.block_log;
	struct ext2_dirent_view d;
	struct ext2_fault f;

	if (!ext2_is_dir(dir))
		return -ENOTDIR;
	for (uint64_t lblk = 0; lblk < nblocks; lblk++) {
		const uint8_t *data;
		uint32_t pblk, off = 0;
		void *ref;
		int err = ext2_bmap(v, dir, lblk, &pblk, NULL);

		if (err != 0)
			return err;
		if (pblk == 0)
			return ext2_corrupt(v, dir->ino, "hole in a directory (value: block)", lblk);
		err = ext2_block_get(v, dir->ino, pblk, &data, &ref);
		if (err != 0)
			return err;
		/* Each record is at least 12 bytes, so this ends within block_bytes / 12 steps. */
		while (off < v->g.block_bytes) {
			err = ext2_dirent_parse(&v->g, data, off, &d, &f);
			if (err != 0) {
				err = ext2_corrupt(v, dir->ino, f.what, f.value);
				break;
			}
			if (d.ino != 0) {
				err = fn(ctx, &d);
				if (err != 0)
					break;
			}
			off += d.rec_len;
		}
		ext2_block_put(v, ref);
		if (err != 0)
			return err;
	}
	return 0;
}

static int lookup_match(void *ctx, const struct ext2_dirent_view *d)
{
	struct lookup_ctx *l = ctx;

	if (d->name_len != l->len || memcmp(d->name, l->name, l->len) != 0)
		return 0;
	l->ino = d->ino;
	l->file_type = d->file_type;
	return 1;
}

int ext2_dir_lookup(const struct ext2_vol *v, const struct ext2_inode_info *dir, const char *name, size_t len,
		    uint32_t *ino, uint32_t *file_type)
{
	struct lookup_ctx l = { .name = name, .len = len };
	int err;

	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	err = ext2_dir_iterate(v, dir, lookup_match, &l);
	if (err < 0)
		return err;
	if (err == 0)
		return -ENOENT;
	*ino = l.ino;
	if (file_type != NULL)
		*file_type = l.file_type;
	return 0;
}

uint32_t ext2_mode_file_type(uint16_t mode)
{
	switch (mode & EXT2_S_IFMT) {
	case EXT2_S_IFREG:
		return EXT2_FT_REG_FILE;
	case EXT2_S_IFDIR:
		return EXT2_FT_DIR;
	case EXT2_S_IFCHR:
		return EXT2_FT_CHRDEV;
	case EXT2_S_IFBLK:
		return EXT2_FT_BLKDEV;
	case EXT2_S_IFIFO:
		return EXT2_FT_FIFO;
	case EXT2_S_IFSOCK:
		return EXT2_FT_SOCK;
	case EXT2_S_IFLNK:
		return EXT2_FT_SYMLINK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

/* The root directory, checked to be one. */
static int root_get(const struct ext2_vol *v, struct ext2_inode_info *ip)
{
	int err = ext2_inode_get(v, EXT2_ROOT_INO, ip);

	if (err == 0 && !ext2_is_dir(ip))
		err = ext2_corrupt(v, EXT2_ROOT_INO, "root is not a directory", ip->mode);
	return err;
}

/*
 * Walks path from the root. With scratch (2 * (EXT2_PATH_MAX + 1) bytes),
 * symlinks met on the way, the last component included, are followed: the
 * rest of the path is appended to the target, which is then walked from the
 * link's directory (or from the root for an absolute target); more than
 * EXT2_SYMLINK_FOLLOW_MAX of them is -ELOOP, which ends any loop of links.
 * Without scratch a symlink is an ordinary inode: the last component's is
 * returned, one inside the path is -ENOTDIR.
 */
static int path_walk(const struct ext2_vol *v, const char *path, char *scratch, struct ext2_inode_info *ip)
{
	struct ext2_inode_info dir;
	const char *p = path;
	unsigned int links = 0;
	size_t total = 0;
	int err;

	while (path[total] != '\0')
		if (++total > EXT2_PATH_MAX)
			return -ENAMETOOLONG;
	err = root_get(v, &dir);
	if (err != 0)
		return err;
	for (;;) {
		const char *name;
		uint32_t ino, file_type;
		size_t len;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			*ip = dir;
			return 0;
		}
		name = p;
		while (*p != '\0' && *p != '/')
			p++;
		len = (size_t)(p - name);
		if (len == 1 && name[0] == '.')
			continue;
		if (!ext2_is_dir(&dir))
			return -ENOTDIR;
		err = ext2_dir_lookup(v, &dir, name, len, &ino, &file_type);
		if (err != 0)
			return err;
		err = ext2_inode_get(v, ino, ip);
		if (err != 0)
			return err;
		if (file_type != EXT2_FT_UNKNOWN && file_type != ext2_mode_file_type(ip->mode))
			return ext2_corrupt(v, ino, "directory entry type differs from the inode's", file_type);
		if (scratch != NULL && ext2_is_symlink(ip)) {
			/* target + "/" + rest, built in the second half, then moved to the first (rest may live there). */
			char *next = scratch + EXT2_PATH_MAX + 1;
			size_t tlen, rlen = strlen(p);

			if (++links > EXT2_SYMLINK_FOLLOW_MAX)
				return -ELOOP;
			err = ext2_readlink(v, ip, next, EXT2_PATH_MAX + 1, &tlen);
			if (err != 0)
				return err == -ERANGE ? -ENAMETOOLONG : err;
			if (tlen + rlen > EXT2_PATH_MAX)
				return -ENAMETOOLONG;
			memcpy(next + tlen, p, rlen + 1); /* p starts with '/' or is empty */
			memcpy(scratch, next, tlen + rlen + 1);
			p = scratch;
			if (scratch[0] == '/') {
				err = root_get(v, &dir);
				if (err != 0)
					return err;
			}
			continue; /* a relative target goes on from the link's directory, still in dir */
		}
		dir = *ip;
	}
}

int ext2_path_lookup(const struct ext2_vol *v, const char *path, struct ext2_inode_info *ip)
{
	return path_walk(v, path, NULL, ip);
}

int ext2_path_resolve(const struct ext2_vol *v, const char *path, char *scratch, struct ext2_inode_info *ip)
{
	return path_walk(v, path, scratch, ip);
}

/*
 * ext2 directory entries, written: adding a name (splitting a record's
 * slack or taking an unused record, else appending a block), removing one
 * (merging its record into the previous one of its block), pointing a name
 * at another inode, and telling whether a directory is empty.
 *
 * Locking: every function here runs with the caller holding the volume
 * exclusively (fs_mount.c takes its mount's lock for writing), so no other
 * thread reads a block between the scan that picks a record and the change.
 *
 * The record rules the format (and e2fsck) hold every directory block to,
 * and that every change here keeps: records are 4-byte aligned, rec_len is a
 * multiple of 4 and at least the header plus the name rounded up to 4, the
 * records of a block tile it exactly (none crosses a block's end), and the
 * file type byte is set only with the filetype feature (without it the byte
 * is the high half of a 16-bit name length and must stay 0).
 *
 * Untrusted blocks: a block is parsed record by record with
 * ext2_dirent_parse before anything in it is changed; a record that does not
 * parse is -EUCLEAN through ext2_corrupt, found before the first write.
 *
 * dir_index: the hash tree of an indexed directory names, for each hash
 * range, the block holding those names. Adding a name to the linear
 * records can put it in a block the tree does not send its hash to, and
 * removing one can empty a leaf the tree still counts on, so a directory
 * whose records change loses EXT2_INDEX_FL. Its blocks stay valid linear
 * directory blocks (the root's ".." record spans the index root, index
 * nodes are one unused record), which is how e2fsck and Linux then read it.
 * Retargeting keeps the flag: names and record layout stay as they were.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

/* A record found by a scan: where it is and what it holds. */
struct dir_slot {
	uint64_t lblk;
	uint32_t pblk;
	uint32_t off;
	uint32_t prev_off;      /* previous record in the same block; EXT2_DIR_NO_PREV if off is the first */
	struct ext2_dirent_view d;
	bool set;               /* DIR_WANT_ADD: a record with room was found */
};

#define EXT2_DIR_NO_PREV        UINT32_MAX

/* What a scan of one block looks for. */
enum dir_want {
	DIR_WANT_NAME,          /* the used record holding a name */
	DIR_WANT_ROOM,          /* the first record with room for a new record of `need` bytes */
	DIR_WANT_ADD,           /* the used record holding a name, noting the first room on the way */
};

static int dir_writable(const struct ext2_vol *v, const struct ext2_inode_info *dir);
static uint32_t rec_used(const struct ext2_dirent_view *d);
static int dir_block_scan(struct ext2_vol *v, const struct ext2_inode_info *dir, uint64_t lblk, enum dir_want want,
			  const char *name, size_t len, uint32_t need, struct dir_slot *slot);
static int dir_find(struct ext2_vol *v, const struct ext2_inode_info *dir, enum dir_want want, const char *name,
		    size_t len, uint32_t need, struct dir_slot *slot);
static int dir_block_mut(struct ext2_vol *v, const struct ext2_inode_info *dir, const struct dir_slot *slot,
			 uint8_t **data, void **ref);
static void rec_write(const struct ext2_geom *g, uint8_t *block, uint32_t off, uint32_t ino, uint32_t rec_len,
		      const char *name, size_t len, uint32_t file_type);
static int dir_append_block(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len,
			    uint32_t ino, uint32_t file_type);
static int name_check(const struct ext2_vol *v, const char *name, size_t len);
static int dir_put_at(struct ext2_vol *v, struct ext2_inode_info *dir, const struct dir_slot *slot, const char *name,
		      size_t len, uint32_t ino, uint32_t file_type);
static int add_check(const struct ext2_vol *v, const struct ext2_inode_info *dir, const char *name, size_t len,
		     uint32_t ino, uint32_t file_type);
static int empty_check(void *ctx, const struct ext2_dirent_view *d);

static int dir_writable(const struct ext2_vol *v, const struct ext2_inode_info *dir)
{
	if (v->g.read_only || v->io->get_mut == NULL || v->io->dirty == NULL)
		return -EROFS;
	if (!ext2_is_dir(dir))
		return -ENOTDIR;
	return 0;
}

/* Bytes a record needs for what it holds: an unused record needs none, so all of it can be taken. */
static uint32_t rec_used(const struct ext2_dirent_view *d)
{
	return d->ino == 0 ? 0 : EXT2_DIRENT_REC_LEN(d->name_len);
}

/* A name as the format allows it in an entry. */
static int name_check(const struct ext2_vol *v, const char *name, size_t len)
{
	(void)v;
	if (len == 0)
		return -ENOENT;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) != NULL || memchr(name, '\0', len) != NULL)
		return -EINVAL;
	return 0;
}

/*
 * Walks the records of directory block lblk. Returns 1 with *slot filled
 * when the wanted record is in it, 0 when not (every record of the block
 * then parsed), or an error. The block is only read.
 */
static int dir_block_scan(struct ext2_vol *v, const struct ext2_inode_info *dir, uint64_t lblk, enum dir_want want,
			  const char *name, size_t len, uint32_t need, struct dir_slot *slot)
{
	uint32_t pblk, off = 0, prev = EXT2_DIR_NO_PREV;
	struct ext2_dirent_view d;
	struct ext2_fault f;
	const uint8_t *data;
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
		bool hit;

		err = ext2_dirent_parse(&v->g, data, off, &d, &f);
		if (err != 0) {
			err = ext2_corrupt(v, dir->ino, f.what, f.value);
			break;
		}
		if (want == DIR_WANT_ROOM)
			hit = d.rec_len - rec_used(&d) >= need;
		else
			hit = d.ino != 0 && d.name_len == len && memcmp(d.name, name, len) == 0;
		if (want == DIR_WANT_ADD && !hit && !slot->set && d.rec_len - rec_used(&d) >= need) {
			slot->lblk = lblk;
			slot->pblk = pblk;
			slot->off = off;
			slot->prev_off = prev;
			slot->d = d;
			slot->d.name = NULL;
			slot->set = true;
		}
		if (hit && want == DIR_WANT_ADD) {
			err = 1; /* the name is there; the slot does not matter */
			break;
		}
		if (hit) {
			slot->lblk = lblk;
			slot->pblk = pblk;
			slot->off = off;
			slot->prev_off = prev;
			slot->d = d;
			slot->d.name = NULL; /* points into a block about to be put */
			err = 1;
			break;
		}
		prev = off;
		off += d.rec_len;
	}
	ext2_block_put(v, ref);
	return err;
}

/* dir_block_scan over every block of the directory: 1 found, 0 not found, or an error. */
static int dir_find(struct ext2_vol *v, const struct ext2_inode_info *dir, enum dir_want want, const char *name,
		    size_t len, uint32_t need, struct dir_slot *slot)
{
	const uint64_t nblocks = dir->size >> v->g.block_log;

	for (uint64_t lblk = 0; lblk < nblocks; lblk++) {
		int err = dir_block_scan(v, dir, lblk, want, name, len, need, slot);
		if (err != 0)
			return err;
	}
	return 0;
}

/*
 * The block of a slot, for changing. The scan read it under the same
 * exclusion, but the record at the slot (and the previous one) is parsed
 * again from the block being changed: what is written over must be what was
 * checked.
 */
static int dir_block_mut(struct ext2_vol *v, const struct ext2_inode_info *dir, const struct dir_slot *slot,
			 uint8_t **data, void **ref)
{
	struct ext2_dirent_view d;
	struct ext2_fault f;
	bool same;
	int err = ext2_block_get_mut(v, dir->ino, slot->pblk, false, data, ref);

	if (err != 0)
		return err;
	same = ext2_dirent_parse(&v->g, *data, slot->off, &d, &f) == 0 && d.ino == slot->d.ino &&
	       d.rec_len == slot->d.rec_len && d.name_len == slot->d.name_len;
	if (same && slot->prev_off != EXT2_DIR_NO_PREV)
		same = ext2_dirent_parse(&v->g, *data, slot->prev_off, &d, &f) == 0 &&
		       slot->prev_off + d.rec_len == slot->off;
	if (!same) {
		ext2_block_put(v, *ref);
		/* Under the exclusion the block cannot change between scan and change: something else wrote it. */
		return ext2_corrupt(v, dir->ino, "directory block changed under its writer (value: block)",
				    slot->pblk);
	}
	return 0;
}

/* Writes one record's header and name; the bytes between the name and the next 4-byte boundary are zeroed. */
static void rec_write(const struct ext2_geom *g, uint8_t *block, uint32_t off, uint32_t ino, uint32_t rec_len,
		      const char *name, size_t len, uint32_t file_type)
{
	struct ext2_dirent *raw = (struct ext2_dirent *)(void *)(block + off);

	raw->inode = ext2_le32(ino);
	raw->rec_len = ext2_le16((uint16_t)rec_len);
	raw->name_len = (uint8_t)len;
	raw->file_type = g->filetype ? (uint8_t)file_type : 0u;
	memcpy(raw->name, name, len);
	memset(raw->name + len, 0, EXT2_DIRENT_REC_LEN(len) - EXT2_DIRENT_HEADER - len);
}

/*
 * No block has room: a new block at the directory's end, holding the one
 * record, which spans the whole block. The block is written before the
 * inode that makes it part of the directory.
 */
static int dir_append_block(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len,
			    uint32_t ino, uint32_t file_type)
{
	const uint32_t bs = v->g.block_bytes;
	uint64_t lblk = dir->size >> v->g.block_log;
	uint32_t pblk;
	uint8_t *data;
	bool fresh;
	void *ref;
	int err;

	/* A directory's size is 32 bits on disk (the high half is i_dir_acl). */
	if (dir->size + bs > UINT32_MAX)
		return -EFBIG;
	err = ext2_bmap_alloc(v, dir, lblk, &pblk, &fresh);
	if (err != 0)
		return err;
	/* Mapped or not before, the block is written whole: ask for it zeroed rather than read. */
	err = ext2_block_get_mut(v, dir->ino, pblk, true, &data, &ref);
	if (err != 0)
		return err;
	rec_write(&v->g, data, 0, ino, bs, name, len, file_type);
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	dir->size += bs;
	return 0;
}

/* Puts the new record at slot (NULL: in a new block), then updates the directory's inode. */
static int dir_put_at(struct ext2_vol *v, struct ext2_inode_info *dir, const struct dir_slot *slot, const char *name,
		      size_t len, uint32_t ino, uint32_t file_type)
{
	uint8_t *data;
	void *ref;
	int err;

	if (slot == NULL) {
		err = dir_append_block(v, dir, name, len, ino, file_type);
		if (err != 0)
			return err;
	} else {
		err = dir_block_mut(v, dir, slot, &data, &ref);
		if (err != 0)
			return err;
		if (slot->d.ino == 0) {
			/* An unused record is taken whole; its slack stays with it for later splits. */
			rec_write(&v->g, data, slot->off, ino, slot->d.rec_len, name, len, file_type);
		} else {
			/* A used record keeps what its name needs; the new record gets the rest. */
			uint32_t keep = rec_used(&slot->d);
			struct ext2_dirent *old = (struct ext2_dirent *)(void *)(data + slot->off);

			rec_write(&v->g, data, slot->off + keep, ino, slot->d.rec_len - keep, name, len, file_type);
			old->rec_len = ext2_le16((uint16_t)keep);
		}
		ext2_block_dirty(v, ref, true);
		ext2_block_put(v, ref);
	}
	dir->flags &= ~EXT2_INDEX_FL;
	dir->mtime = dir->ctime = ext2_now(v);
	return ext2_inode_put(v, dir);
}

/* What every add checks before looking at the directory. */
static int add_check(const struct ext2_vol *v, const struct ext2_inode_info *dir, const char *name, size_t len,
		     uint32_t ino, uint32_t file_type)
{
	int err = dir_writable(v, dir);

	if (err == 0)
		err = name_check(v, name, len);
	if (err != 0)
		return err;
	if (ino == 0 || ino > v->g.inodes_count || (ino < v->g.first_ino && ino != EXT2_ROOT_INO) ||
	    file_type >= EXT2_FT_MAX)
		return -EINVAL;
	return 0;
}

int ext2_dir_add(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len, uint32_t ino,
		 uint32_t file_type)
{
	struct dir_slot slot;
	int err = add_check(v, dir, name, len, ino, file_type);

	if (err != 0)
		return err;
	err = dir_find(v, dir, DIR_WANT_ROOM, NULL, 0, EXT2_DIRENT_REC_LEN(len), &slot);
	if (err < 0)
		return err;
	return dir_put_at(v, dir, err == 1 ? &slot : NULL, name, len, ino, file_type);
}

int ext2_dir_prepare_add(struct ext2_vol *v, const struct ext2_inode_info *dir, const char *name, size_t len,
			 struct ext2_dir_slot *out)
{
	struct dir_slot slot = { .set = false };
	int err = dir_writable(v, dir);

	if (err == 0)
		err = name_check(v, name, len);
	if (err != 0)
		return err;
	err = dir_find(v, dir, DIR_WANT_ADD, name, len, EXT2_DIRENT_REC_LEN(len), &slot);
	if (err < 0)
		return err;
	if (err == 1)
		return -EEXIST;
	memset(out, 0, sizeof(*out));
	out->append = !slot.set;
	if (out->append) {
		out->lblk = dir->size >> v->g.block_log;
		return 0;
	}
	out->lblk = slot.lblk;
	out->pblk = slot.pblk;
	out->off = slot.off;
	out->ino = slot.d.ino;
	out->rec_len = slot.d.rec_len;
	out->name_len = slot.d.name_len;
	return 0;
}

int ext2_dir_add_at(struct ext2_vol *v, struct ext2_inode_info *dir, const struct ext2_dir_slot *at,
		    const char *name, size_t len, uint32_t ino, uint32_t file_type)
{
	struct dir_slot slot;
	int err = add_check(v, dir, name, len, ino, file_type);

	if (err != 0)
		return err;
	if (at->append) {
		if (at->lblk != dir->size >> v->g.block_log)
			return ext2_corrupt(v, dir->ino, "directory changed under its writer (value: size)", dir->size);
		return dir_put_at(v, dir, NULL, name, len, ino, file_type);
	}
	/* The record must still have room for this name: dir_block_mut finds it again as it was. */
	memset(&slot, 0, sizeof(slot));
	slot.lblk = at->lblk;
	slot.pblk = at->pblk;
	slot.off = at->off;
	slot.prev_off = EXT2_DIR_NO_PREV;
	slot.d.ino = at->ino;
	slot.d.rec_len = at->rec_len;
	slot.d.name_len = at->name_len;
	if (slot.d.rec_len - rec_used(&slot.d) < EXT2_DIRENT_REC_LEN(len))
		return -EINVAL;
	return dir_put_at(v, dir, &slot, name, len, ino, file_type);
}

int ext2_dir_remove(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len,
		    uint32_t *ino)
{
	struct dir_slot slot;
	uint8_t *data;
	void *ref;
	int err = dir_writable(v, dir);

	if (err == 0)
		err = name_check(v, name, len);
	if (err != 0)
		return err;
	err = dir_find(v, dir, DIR_WANT_NAME, name, len, 0, &slot);
	if (err < 0)
		return err;
	if (err == 0)
		return -ENOENT;
	err = dir_block_mut(v, dir, &slot, &data, &ref);
	if (err != 0)
		return err;
	if (slot.prev_off == EXT2_DIR_NO_PREV) {
		/* The first record of a block has nothing before it to grow: it becomes unused, keeping its length. */
		struct ext2_dirent *raw = (struct ext2_dirent *)(void *)(data + slot.off);
		raw->inode = 0;
	} else {
		/* The previous record's length grows over this one; the bytes stay, as slack nobody reads. */
		struct ext2_dirent *prev = (struct ext2_dirent *)(void *)(data + slot.prev_off);
		uint32_t merged = ext2_le16(prev->rec_len) + slot.d.rec_len;

		prev->rec_len = ext2_le16((uint16_t)merged);
	}
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	*ino = slot.d.ino;
	dir->flags &= ~EXT2_INDEX_FL;
	dir->mtime = dir->ctime = ext2_now(v);
	return ext2_inode_put(v, dir);
}

int ext2_dir_retarget(struct ext2_vol *v, struct ext2_inode_info *dir, const char *name, size_t len, uint32_t ino,
		      uint32_t file_type)
{
	struct ext2_dirent *raw;
	struct dir_slot slot;
	uint8_t *data;
	void *ref;
	int err = dir_writable(v, dir);

	if (err == 0)
		err = name_check(v, name, len);
	if (err != 0)
		return err;
	if (ino == 0 || ino > v->g.inodes_count || (ino < v->g.first_ino && ino != EXT2_ROOT_INO) ||
	    file_type >= EXT2_FT_MAX)
		return -EINVAL;
	err = dir_find(v, dir, DIR_WANT_NAME, name, len, 0, &slot);
	if (err < 0)
		return err;
	if (err == 0)
		return -ENOENT;
	err = dir_block_mut(v, dir, &slot, &data, &ref);
	if (err != 0)
		return err;
	raw = (struct ext2_dirent *)(void *)(data + slot.off);
	raw->inode = ext2_le32(ino);
	if (v->g.filetype)
		raw->file_type = (uint8_t)file_type;
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	dir->mtime = dir->ctime = ext2_now(v);
	return ext2_inode_put(v, dir);
}

/* Stops the iteration (1) at the first name that is neither "." nor "..". */
static int empty_check(void *ctx, const struct ext2_dirent_view *d)
{
	(void)ctx;
	if (d->name_len == 1 && d->name[0] == '.')
		return 0;
	if (d->name_len == 2 && d->name[0] == '.' && d->name[1] == '.')
		return 0;
	return 1;
}

int ext2_dir_is_empty(const struct ext2_vol *v, const struct ext2_inode_info *dir, bool *empty)
{
	int err = ext2_dir_iterate(v, dir, empty_check, NULL);

	if (err < 0)
		return err;
	*empty = err == 0;
	return 0;
}

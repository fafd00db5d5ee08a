/*
 * ext2 namespace operations: create, mkdir, symlink, link, unlink, rmdir and
 * rename, on paths from the root.
 *
 * Locking: the caller holds the volume exclusively for the whole call
 * (fs_mount.c takes its mount's lock for writing); that is what lets one
 * scratch area per volume (v->name_scratch) hold the parent paths, and what
 * makes a lookup's answer still true when the change that follows it is made.
 *
 * Order of changes: everything that can refuse (names, types, emptiness,
 * link limits, a directory moved into itself, the damaged structures the
 * lookups meet) is checked before the first write, and the one step that
 * can run out of space (adding an entry) comes first among the writes, so
 * a refused or failed call leaves the file system as it was. Without a
 * journal a crash between the writes can still leave a link count one off;
 * the order chosen leaves counts too high rather than too low (e2fsck fixes
 * both, but a count too low frees an inode still named).
 *
 * Link counts, as e2fsck counts them: a file has one per name; a directory
 * has one for its name, one for its own "." and one for the ".." of each
 * subdirectory. EXT2_LINK_MAX bounds both.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>

#include "ext2.h"

/* The most links an inode may have (Linux's EXT2_LINK_MAX). */
#define EXT2_LINK_MAX           65000u
/* Permission bits of a mode (set-user-ID, set-group-ID, sticky and rwx for three classes). */
#define EXT2_S_PERM_MASK        07777u
/* "." takes the first record of a new directory's block, ".." the rest. */
#define EXT2_DOT_REC_LEN        EXT2_DIRENT_REC_LEN(1u)

/* A path cut into its parent and last component. */
struct nm_path {
	const char *name;       /* the last component, in the caller's string; not NUL-terminated */
	size_t len;
	bool root;              /* nothing but slashes: the root itself, no parent */
	bool trailing_slash;    /* "a/b/": the last component must be a directory */
	bool dot;               /* the last component is "." */
	bool dotdot;            /* the last component is ".." */
	size_t parent_len;      /* bytes of the path before the last component */
};

static int nm_split(const char *path, struct nm_path *np);
static int nm_parent(struct ext2_vol *v, const char *path, const struct nm_path *np, struct ext2_inode_info *dir);
static int nm_child(struct ext2_vol *v, const struct ext2_inode_info *dir, const struct nm_path *np,
		    struct ext2_inode_info *ip);
static int nm_writable(const struct ext2_vol *v);
static int nm_new(struct ext2_vol *v, const char *path, uint16_t mode, struct nm_path *np,
		  struct ext2_inode_info *dir, struct ext2_dir_slot *slot);
static void nm_undo_new(struct ext2_vol *v, struct ext2_inode_info *ip);
static int nm_dir_block(struct ext2_vol *v, struct ext2_inode_info *ip, uint32_t parent);
static int nm_symlink_body(struct ext2_vol *v, struct ext2_inode_info *ip, const char *target, size_t tlen);
static int nm_inside(struct ext2_vol *v, const struct ext2_inode_info *dir, uint32_t ancestor, bool *inside);

static int nm_writable(const struct ext2_vol *v)
{
	if (v->g.read_only || v->io->get_mut == NULL || v->io->dirty == NULL)
		return -EROFS;
	return 0;
}

/*
 * Cuts path into the parent's part and the last component; trailing
 * slashes are dropped (and remembered). "" is -ENOENT, a path or a
 * component over the format's limits -ENAMETOOLONG.
 */
static int nm_split(const char *path, struct nm_path *np)
{
	size_t total = 0, end, start;

	memset(np, 0, sizeof(*np));
	while (path[total] != '\0')
		if (++total > EXT2_PATH_MAX)
			return -ENAMETOOLONG;
	if (total == 0)
		return -ENOENT;
	end = total;
	while (end > 0 && path[end - 1] == '/')
		end--;
	np->trailing_slash = end != total;
	if (end == 0) {
		np->root = true;
		return 0;
	}
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	np->name = path + start;
	np->len = end - start;
	np->parent_len = start;
	if (np->len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	np->dot = np->len == 1 && np->name[0] == '.';
	np->dotdot = np->len == 2 && np->name[0] == '.' && np->name[1] == '.';
	return 0;
}

/*
 * Resolves the directory holding np's last component, following symlinks
 * on the way as open(2) does. The parent's path is copied into the volume's
 * scratch (the caller's string is not ours to cut), the rest of the scratch
 * is ext2_path_resolve's.
 */
static int nm_parent(struct ext2_vol *v, const char *path, const struct nm_path *np, struct ext2_inode_info *dir)
{
	char *parent = v->name_scratch;
	int err;

	memcpy(parent, path, np->parent_len);
	parent[np->parent_len] = '\0';
	err = ext2_path_resolve(v, parent, v->name_scratch + EXT2_PATH_MAX + 1u, dir);
	if (err != 0)
		return err;
	if (!ext2_is_dir(dir))
		return -ENOTDIR;
	return 0;
}

/* Looks the last component up in dir (never following it), checking the entry's type against the inode's. */
static int nm_child(struct ext2_vol *v, const struct ext2_inode_info *dir, const struct nm_path *np,
		    struct ext2_inode_info *ip)
{
	uint32_t ino, file_type;
	int err = ext2_dir_lookup(v, dir, np->name, np->len, &ino, &file_type);

	if (err != 0)
		return err;
	err = ext2_inode_get(v, ino, ip);
	if (err != 0)
		return err;
	if (file_type != EXT2_FT_UNKNOWN && file_type != ext2_mode_file_type(ip->mode))
		return ext2_corrupt(v, ino, "directory entry type differs from the inode's", file_type);
	return 0;
}

/*
 * What creating a name needs checked first: the volume writable, the path
 * naming a new last component in an existing directory *dir. -EEXIST if
 * the name (or "." or "..", or the root) is there already. The same pass
 * over the directory finds *slot, where the name will go.
 */
static int nm_new(struct ext2_vol *v, const char *path, uint16_t mode, struct nm_path *np,
		  struct ext2_inode_info *dir, struct ext2_dir_slot *slot)
{
	int err = nm_writable(v);

	if (err == 0)
		err = nm_split(path, np);
	if (err != 0)
		return err;
	if (np->root || np->dot || np->dotdot)
		return -EEXIST;
	err = nm_parent(v, path, np, dir);
	if (err != 0)
		return err;
	err = ext2_dir_prepare_add(v, dir, np->name, np->len, slot);
	if (err != 0)
		return err;
	/* "new/" names a directory: only mkdir may make it. */
	if (np->trailing_slash && (mode & EXT2_S_IFMT) != EXT2_S_IFDIR)
		return (mode & EXT2_S_IFMT) == EXT2_S_IFREG ? -EISDIR : -ENOENT;
	if ((mode & EXT2_S_IFMT) == EXT2_S_IFDIR && dir->links >= EXT2_LINK_MAX)
		return -EMLINK;
	return 0;
}

/* Gives back an inode made by a call that then failed: no name points to it yet. */
static void nm_undo_new(struct ext2_vol *v, struct ext2_inode_info *ip)
{
	ip->links = 0;
	/* The call's own error is what the caller hears; a failure here leaves an inode e2fsck finds unattached. */
	(void)ext2_inode_release(v, ip);
}

int ext2_create(struct ext2_vol *v, const char *path, uint16_t mode, struct ext2_inode_info *ip)
{
	const uint16_t imode = (uint16_t)(EXT2_S_IFREG | (mode & EXT2_S_PERM_MASK));
	struct ext2_inode_info dir;
	struct ext2_dir_slot slot;
	struct nm_path np;
	int err = nm_new(v, path, imode, &np, &dir, &slot);

	if (err != 0)
		return err;
	err = ext2_inode_new(v, dir.ino, imode, ip);
	if (err != 0)
		return err;
	ip->links = 1;
	err = ext2_inode_put(v, ip);
	if (err == 0)
		err = ext2_dir_add_at(v, &dir, &slot, np.name, np.len, ip->ino, EXT2_FT_REG_FILE);
	if (err != 0)
		nm_undo_new(v, ip);
	return err;
}

/* The first block of a new directory: "." to itself, ".." to parent, the latter spanning the rest. */
static int nm_dir_block(struct ext2_vol *v, struct ext2_inode_info *ip, uint32_t parent)
{
	const uint32_t bs = v->g.block_bytes;
	const uint8_t ft = v->g.filetype ? (uint8_t)EXT2_FT_DIR : 0u;
	struct ext2_dirent *dot, *dotdot;
	uint32_t pblk;
	uint8_t *data;
	bool fresh;
	void *ref;
	int err = ext2_bmap_alloc(v, ip, 0, &pblk, &fresh);

	if (err != 0)
		return err;
	err = ext2_block_get_mut(v, ip->ino, pblk, true, &data, &ref);
	if (err != 0)
		return err;
	/* A fresh block is zeros: the names' padding and unused bytes need nothing more. */
	dot = (struct ext2_dirent *)(void *)data;
	dot->inode = ext2_le32(ip->ino);
	dot->rec_len = ext2_le16((uint16_t)EXT2_DOT_REC_LEN);
	dot->name_len = 1;
	dot->file_type = ft;
	dot->name[0] = '.';
	dotdot = (struct ext2_dirent *)(void *)(data + EXT2_DOT_REC_LEN);
	dotdot->inode = ext2_le32(parent);
	dotdot->rec_len = ext2_le16((uint16_t)(bs - EXT2_DOT_REC_LEN));
	dotdot->name_len = 2;
	dotdot->file_type = ft;
	dotdot->name[0] = '.';
	dotdot->name[1] = '.';
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
	ip->size = bs;
	return 0;
}

int ext2_mkdir(struct ext2_vol *v, const char *path, uint16_t mode, struct ext2_inode_info *ip)
{
	const uint16_t imode = (uint16_t)(EXT2_S_IFDIR | (mode & EXT2_S_PERM_MASK));
	struct ext2_inode_info dir;
	struct ext2_dir_slot slot;
	struct nm_path np;
	int err = nm_new(v, path, imode, &np, &dir, &slot);

	if (err != 0)
		return err;
	err = ext2_inode_new(v, dir.ino, imode, ip);
	if (err != 0)
		return err;
	err = nm_dir_block(v, ip, dir.ino);
	if (err == 0) {
		ip->links = 2; /* its name and its "." */
		err = ext2_inode_put(v, ip);
	}
	if (err == 0)
		err = ext2_dir_add_at(v, &dir, &slot, np.name, np.len, ip->ino, EXT2_FT_DIR);
	if (err != 0) {
		nm_undo_new(v, ip);
		return err;
	}
	/* The new directory's ".." is a link to the parent. */
	dir.links++;
	dir.ctime = ext2_now(v);
	return ext2_inode_put(v, &dir);
}

/* A symlink's target: in i_block[] itself when short (fast), else in one block of its own (slow). */
static int nm_symlink_body(struct ext2_vol *v, struct ext2_inode_info *ip, const char *target, size_t tlen)
{
	uint32_t pblk;
	uint8_t *data;
	bool fresh;
	void *ref;
	int err;

	if (tlen < EXT2_FAST_SYMLINK_MAX) {
		/* The bytes after the target stay zero: e2fsck takes the target's length up to the first NUL. */
		memset(ip->block_raw, 0, sizeof(ip->block_raw));
		memcpy(ip->block_raw, target, tlen);
		for (unsigned int i = 0; i < EXT2_N_BLOCKS; i++) {
			uint32_t le;
			memcpy(&le, ip->block_raw + i * sizeof(le), sizeof(le));
			ip->block[i] = ext2_le32(le);
		}
	} else {
		err = ext2_bmap_alloc(v, ip, 0, &pblk, &fresh);
		if (err != 0)
			return err;
		err = ext2_block_get_mut(v, ip->ino, pblk, true, &data, &ref);
		if (err != 0)
			return err;
		memcpy(data, target, tlen);
		ext2_block_dirty(v, ref, true);
		ext2_block_put(v, ref);
	}
	ip->size = tlen;
	return 0;
}

int ext2_symlink(struct ext2_vol *v, const char *target, const char *path)
{
	const uint16_t imode = (uint16_t)(EXT2_S_IFLNK | 0777u);
	struct ext2_inode_info dir, ip;
	struct ext2_dir_slot slot;
	struct nm_path np;
	size_t tlen = 0;
	int err;

	while (target[tlen] != '\0')
		if (++tlen > EXT2_PATH_MAX)
			return -ENAMETOOLONG;
	if (tlen == 0)
		return -ENOENT;
	/* A slow symlink's target and its NUL fit in its one block. */
	if (tlen >= v->g.block_bytes)
		return -ENAMETOOLONG;
	err = nm_new(v, path, imode, &np, &dir, &slot);
	if (err != 0)
		return err;
	err = ext2_inode_new(v, dir.ino, imode, &ip);
	if (err != 0)
		return err;
	err = nm_symlink_body(v, &ip, target, tlen);
	if (err == 0) {
		ip.links = 1;
		err = ext2_inode_put(v, &ip);
	}
	if (err == 0)
		err = ext2_dir_add_at(v, &dir, &slot, np.name, np.len, ip.ino, EXT2_FT_SYMLINK);
	if (err != 0)
		nm_undo_new(v, &ip);
	return err;
}

int ext2_link(struct ext2_vol *v, const char *oldpath, const char *newpath)
{
	struct ext2_inode_info odir, ndir, ip;
	struct ext2_dir_slot slot;
	struct nm_path op, np;
	bool old_dir;
	int err = nm_writable(v);

	if (err == 0)
		err = nm_split(oldpath, &op);
	if (err != 0)
		return err;
	/* The root, "." and ".." are directories. */
	old_dir = op.root || op.dot || op.dotdot;
	if (!old_dir) {
		err = nm_parent(v, oldpath, &op, &odir);
		if (err == 0)
			err = nm_child(v, &odir, &op, &ip);
		if (err != 0)
			return err;
		old_dir = ext2_is_dir(&ip);
	}
	/* As Linux: the new name is checked before the old inode's type ("new/" is no file: -ENOENT). */
	err = nm_new(v, newpath, EXT2_S_IFLNK, &np, &ndir, &slot);
	if (err != 0)
		return err;
	if (old_dir)
		return -EPERM;
	if (op.trailing_slash)
		return -ENOTDIR;
	if (ip.links >= EXT2_LINK_MAX)
		return -EMLINK;
	/* The count goes up before the name exists: a crash in between leaves it one high, never low. */
	ip.links++;
	ip.ctime = ext2_now(v);
	err = ext2_inode_put(v, &ip);
	if (err != 0)
		return err;
	err = ext2_dir_add_at(v, &ndir, &slot, np.name, np.len, ip.ino, ext2_mode_file_type(ip.mode));
	if (err != 0) {
		ip.links--;
		(void)ext2_inode_put(v, &ip);
	}
	return err;
}

int ext2_unlink(struct ext2_vol *v, const char *path, uint32_t *orphan)
{
	struct ext2_inode_info dir, ip;
	struct nm_path np;
	uint32_t removed;
	int err = nm_writable(v);

	*orphan = 0;
	if (err == 0)
		err = nm_split(path, &np);
	if (err != 0)
		return err;
	if (np.root || np.dot || np.dotdot)
		return -EISDIR;
	err = nm_parent(v, path, &np, &dir);
	if (err == 0)
		err = nm_child(v, &dir, &np, &ip);
	if (err != 0)
		return err;
	if (ext2_is_dir(&ip))
		return -EISDIR;
	if (np.trailing_slash)
		return -ENOTDIR;
	err = ext2_dir_remove(v, &dir, np.name, np.len, &removed);
	if (err != 0)
		return err;
	if (removed != ip.ino)
		return ext2_corrupt(v, dir.ino, "directory entry changed under its writer", removed);
	ip.links--;
	ip.ctime = ext2_now(v);
	err = ext2_inode_put(v, &ip);
	if (err == 0 && ip.links == 0)
		*orphan = ip.ino;
	return err;
}

int ext2_rmdir(struct ext2_vol *v, const char *path, uint32_t *orphan)
{
	struct ext2_inode_info dir, ip;
	struct nm_path np;
	uint32_t removed;
	bool empty;
	int err = nm_writable(v);

	*orphan = 0;
	if (err == 0)
		err = nm_split(path, &np);
	if (err != 0)
		return err;
	if (np.root)
		return -EBUSY;
	/* As POSIX: "." is refused as such, ".." is a directory that holds at least the caller's one. */
	if (np.dot)
		return -EINVAL;
	if (np.dotdot)
		return -ENOTEMPTY;
	err = nm_parent(v, path, &np, &dir);
	if (err == 0)
		err = nm_child(v, &dir, &np, &ip);
	if (err != 0)
		return err;
	if (!ext2_is_dir(&ip))
		return -ENOTDIR;
	if (ip.ino == EXT2_ROOT_INO)
		return ext2_corrupt(v, dir.ino, "directory entry names the root", ip.ino);
	err = ext2_dir_is_empty(v, &ip, &empty);
	if (err != 0)
		return err;
	if (!empty)
		return -ENOTEMPTY;
	/* The parent counts its name, its "." and this subdirectory's "..": at least 3. */
	if (dir.links < 3u)
		return ext2_corrupt(v, dir.ino, "directory link count below its subdirectories'", dir.links);
	err = ext2_dir_remove(v, &dir, np.name, np.len, &removed);
	if (err != 0)
		return err;
	if (removed != ip.ino)
		return ext2_corrupt(v, dir.ino, "directory entry changed under its writer", removed);
	/* Its name and its own "." go at once; what is left is released by the caller. */
	ip.links = 0;
	ip.ctime = ext2_now(v);
	err = ext2_inode_put(v, &ip);
	if (err != 0)
		return err;
	*orphan = ip.ino;
	dir.links--;
	return ext2_inode_put(v, &dir);
}

/*
 * Whether directory ancestor is dir or one of dir's ancestors, walking ".."
 * up to the root. A damaged tree whose ".." chain loops is -EUCLEAN after
 * as many steps as there are inodes.
 */
static int nm_inside(struct ext2_vol *v, const struct ext2_inode_info *dir, uint32_t ancestor, bool *inside)
{
	struct ext2_inode_info cur = *dir;

	for (uint32_t steps = 0;; steps++) {
		uint32_t up;
		int err;

		if (cur.ino == ancestor) {
			*inside = true;
			return 0;
		}
		if (cur.ino == EXT2_ROOT_INO) {
			*inside = false;
			return 0;
		}
		if (steps >= v->g.inodes_count)
			return ext2_corrupt(v, cur.ino, "directory \"..\" chain does not reach the root", steps);
		err = ext2_dir_lookup(v, &cur, "..", 2, &up, NULL);
		if (err == -ENOENT)
			return ext2_corrupt(v, cur.ino, "directory without \"..\"", 0);
		if (err != 0)
			return err;
		err = ext2_inode_get(v, up, &cur);
		if (err != 0)
			return err;
		if (!ext2_is_dir(&cur))
			return ext2_corrupt(v, up, "\"..\" is not a directory", cur.mode);
	}
}

int ext2_rename(struct ext2_vol *v, const char *from, const char *to, uint32_t *orphan)
{
	struct ext2_inode_info fdir, tdir_own, src, dst;
	struct ext2_inode_info *tdir = &tdir_own;
	struct nm_path fp, tp;
	bool have_dst = false, src_dir, dst_dir = false, moves;
	uint32_t removed;
	int err = nm_writable(v);

	*orphan = 0;
	if (err == 0)
		err = nm_split(from, &fp);
	if (err == 0)
		err = nm_split(to, &tp);
	if (err != 0)
		return err;
	if (fp.root || tp.root)
		return -EBUSY;
	if (fp.dot || fp.dotdot || tp.dot || tp.dotdot)
		return -EINVAL;
	/* Both parents, then both names: the order Linux looks them up in, so errors come out the same. */
	err = nm_parent(v, from, &fp, &fdir);
	if (err == 0)
		err = nm_parent(v, to, &tp, &tdir_own);
	if (err != 0)
		return err;
	/* One directory, one copy: every change to it must land in the same struct. */
	if (tdir_own.ino == fdir.ino)
		tdir = &fdir;
	err = nm_child(v, &fdir, &fp, &src);
	if (err != 0)
		return err;
	err = nm_child(v, tdir, &tp, &dst);
	if (err == 0)
		have_dst = true;
	else if (err != -ENOENT)
		return err;
	err = 0; /* an absent target is no error */
	src_dir = ext2_is_dir(&src);
	dst_dir = have_dst && ext2_is_dir(&dst);
	if (!src_dir && (fp.trailing_slash || tp.trailing_slash))
		return -ENOTDIR;
	moves = tdir->ino != fdir.ino;
	if (moves) {
		/* A directory must not go below itself; a directory holding src cannot be replaced by it (not empty). */
		bool inside = false;
		if (src_dir)
			err = nm_inside(v, tdir, src.ino, &inside);
		if (err != 0)
			return err;
		if (inside)
			return -EINVAL;
		if (dst_dir)
			err = nm_inside(v, &fdir, dst.ino, &inside);
		if (err != 0)
			return err;
		if (inside)
			return -ENOTEMPTY;
	}
	/* Onto itself, or onto another name of the same inode: POSIX says do nothing. */
	if (have_dst && dst.ino == src.ino)
		return 0;
	if (have_dst && src_dir && !dst_dir)
		return -ENOTDIR;
	if (have_dst && !src_dir && dst_dir)
		return -EISDIR;
	if (src_dir && moves && !have_dst && tdir->links >= EXT2_LINK_MAX)
		return -EMLINK;
	if (dst_dir) {
		bool empty;
		err = ext2_dir_is_empty(v, &dst, &empty);
		if (err != 0)
			return err;
		if (!empty)
			return -ENOTEMPTY;
	}
	if (src_dir && moves) {
		/* Its ".." is retargeted after the names have changed: it must be there and right now. */
		uint32_t up;
		err = ext2_dir_lookup(v, &src, "..", 2, &up, NULL);
		if (err == -ENOENT || (err == 0 && up != fdir.ino))
			return ext2_corrupt(v, src.ino, "directory's \"..\" is not its parent", err == 0 ? up : 0);
		if (err != 0)
			return err;
	}
	/* fdir loses a subdirectory's "..", when src leaves it or dst goes from beside it. */
	if (src_dir && (moves || have_dst) && fdir.links < 3u)
		return ext2_corrupt(v, fdir.ino, "directory link count below its subdirectories'", fdir.links);

	/* The new name first: the only step that can need a block, and so fail for want of one. */
	if (have_dst)
		err = ext2_dir_retarget(v, tdir, tp.name, tp.len, src.ino, ext2_mode_file_type(src.mode));
	else
		err = ext2_dir_add(v, tdir, tp.name, tp.len, src.ino, ext2_mode_file_type(src.mode));
	if (err != 0)
		return err;
	err = ext2_dir_remove(v, &fdir, fp.name, fp.len, &removed);
	if (err != 0)
		return err;
	if (removed != src.ino)
		return ext2_corrupt(v, fdir.ino, "directory entry changed under its writer", removed);
	if (src_dir) {
		if (moves) {
			err = ext2_dir_retarget(v, &src, "..", 2, tdir->ino, EXT2_FT_DIR);
			if (err != 0)
				return err;
			if (!have_dst)
				tdir->links++;
		}
		if (moves || have_dst)
			fdir.links--;
		err = ext2_inode_put(v, &fdir);
		if (err == 0 && moves)
			err = ext2_inode_put(v, tdir);
		if (err != 0)
			return err;
	}
	src.ctime = ext2_now(v);
	err = ext2_inode_put(v, &src);
	if (err != 0 || !have_dst)
		return err;
	/* The replaced inode loses its name (a directory its "." too: it was empty). */
	if (dst_dir)
		dst.links = 0;
	else
		dst.links--;
	dst.ctime = ext2_now(v);
	err = ext2_inode_put(v, &dst);
	if (err == 0 && dst.links == 0)
		*orphan = dst.ino;
	return err;
}

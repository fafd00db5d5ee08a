/*
 * run=fswrite's listing (fswrite.h): after the workload's unmount the file
 * system is mounted again read-only and everything under the workload's
 * directory is printed and compared with the model:
 *   FSDIR path=P                      a directory
 *   FSFILE size=B sha256=H path=P     a regular file, read through the cache
 *   FSLINK path=P target=T            a symlink
 * A name the model does not have, one of another kind, a file whose size,
 * contents or link count differ from the model's, a symlink with another
 * target, and a model name the walk did not find are each an unexpected
 * result (fswrite: op N listing ...).
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/console.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/sha256.h>
#include <levblk/lib/string.h>
#include "fswrite.h"

#define FSWL_READ_CHUNK (64u * 1024u)
#define FSWL_TARGET_MAX 4096u /* bytes of a symlink target read, NUL included */
#define FSWL_NAME_MAX   256u  /* bytes of a name (ext2: up to 255), NUL included */
#define FSWL_DEPTH_MAX  (FSW_DEPTH_MAX + 8u) /* directories the walk enters, also where the model has none */

struct fswl_child {
	uint32_t ino;
	char name[FSWL_NAME_MAX];
};

struct fswl_list {
	struct fswl_child *c;
	uint32_t n, cap;
};

struct fswl {
	struct fsw *w;
	uint8_t *chunk;
	char *target;
	char path[FSW_PATH_MAX];
};

static int fswl_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type);
static uint32_t fswl_find(const struct fsw *w, uint32_t parent, const char *name);
static void fswl_file(struct fswl *l, uint32_t n, struct fs_file *f, const struct fs_stat *st);
static void fswl_link(struct fswl *l, uint32_t n, struct fs_file *f);
static void fswl_dir(struct fswl *l, uint32_t dir_node, struct fs_file *dir, uint32_t depth);

/* Collects one directory's names, so the walk holds no block while it goes down. */
static int fswl_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type)
{
	struct fswl_list *l = ctx;
	struct fswl_child *c;

	(void)type; /* the inode says what it is (revision 0 entries do not) */
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		uint32_t cap = l->cap != 0 ? 2u * l->cap : 32u;
		struct fswl_child *nc = kmalloc(sizeof(*nc) * cap);
		if (nc == NULL)
			return -ENOMEM;
		if (l->n != 0)
			memcpy(nc, l->c, sizeof(*nc) * l->n);
		kfree(l->c);
		l->c = nc;
		l->cap = cap;
	}
	c = &l->c[l->n++];
	c->ino = ino;
	len = len < FSWL_NAME_MAX ? len : FSWL_NAME_MAX - 1u;
	memcpy(c->name, name, len);
	c->name[len] = '\0';
	return 0;
}

/* The model's node named name in directory parent, or FSW_NODES_MAX. */
static uint32_t fswl_find(const struct fsw *w, uint32_t parent, const char *name)
{
	for (uint32_t n = 1; n < FSW_NODES_MAX; n++) {
		const struct fsw_node *node = &w->nodes[n];
		if (node->kind != FSW_FREE && node->parent == parent && strcmp(node->name, name) == 0)
			return n;
	}
	return FSW_NODES_MAX;
}

static void fswl_file(struct fswl *l, uint32_t n, struct fs_file *f, const struct fs_stat *st)
{
	struct fsw *w = l->w;
	const struct fsw_obj *o;
	struct sha256_ctx ctx, model;
	uint8_t got[SHA256_DIGEST_BYTES], want[SHA256_DIGEST_BYTES];
	char hex[SHA256_HEX_BYTES];
	uint64_t off = 0;
	int err = 0;

	sha256_init(&ctx);
	while (off < st->size) {
		size_t done;
		err = fs_read(f, off, l->chunk, FSWL_READ_CHUNK, &done);
		if (err == 0 && done == 0)
			err = -EIO; /* cannot happen below the size; never loop on it */
		if (err != 0)
			break;
		sha256_update(&ctx, l->chunk, done);
		off += done;
	}
	if (err != 0) {
		fsw_unexpected(w, "listing: read", l->path, err, 0);
		return;
	}
	sha256_final(&ctx, got);
	sha256_hex(got, hex);
	kprintf("FSFILE size=%lu sha256=%s path=%s\n", (unsigned long)st->size, hex, l->path);
	w->files++;
	w->bytes += st->size;
	if (n == FSW_NODES_MAX)
		return;
	o = &w->objs[w->nodes[n].obj];
	if (st->size != o->size) {
		fsw_unexpected(w, "listing: size of", l->path, (int)st->size, (int)o->size);
		return;
	}
	sha256_init(&model);
	sha256_update(&model, o->data, o->size);
	sha256_final(&model, want);
	if (memcmp(got, want, sizeof(got)) != 0)
		fsw_unexpected(w, "listing: contents of (1: differ)", l->path, 1, 0);
	if (st->links != o->links)
		fsw_unexpected(w, "listing: link count of", l->path, (int)st->links, (int)o->links);
}

static void fswl_link(struct fswl *l, uint32_t n, struct fs_file *f)
{
	struct fsw *w = l->w;
	int err = fs_readlink(f, l->target, FSWL_TARGET_MAX);

	if (err != 0) {
		fsw_unexpected(w, "listing: readlink", l->path, err, 0);
		return;
	}
	kprintf("FSLINK path=%s target=%s\n", l->path, l->target);
	if (n != FSW_NODES_MAX && strcmp(l->target, w->nodes[n].target) != 0)
		fsw_unexpected(w, "listing: target of (1: differs)", l->path, 1, 0);
}

/*
 * Lists directory dir (its path in l->path; model node dir_node, or
 * FSW_NODES_MAX when the model has no such directory) and goes down into its
 * subdirectories.
 */
static void fswl_dir(struct fswl *l, uint32_t dir_node, struct fs_file *dir, uint32_t depth)
{
	struct fsw *w = l->w;
	struct fswl_list list = { 0 };
	size_t path_len = strlen(l->path);
	int err = fs_readdir(dir, fswl_collect, &list);

	if (err != 0)
		fsw_unexpected(w, "listing: readdir", l->path, err, 0);
	for (uint32_t i = 0; i < list.n; i++) {
		const struct fswl_child *c = &list.c[i];
		uint32_t n = dir_node != FSW_NODES_MAX ? fswl_find(w, dir_node, c->name) : FSW_NODES_MAX;
		struct fs_file *f;
		struct fs_stat st;
		uint8_t kind;

		if (path_len + 1u + strlen(c->name) + 1u > FSW_PATH_MAX)
			continue; /* cannot happen: the model's paths fit, and others are not entered */
		l->path[path_len] = '/';
		memcpy(l->path + path_len + 1u, c->name, strlen(c->name) + 1u);
		err = fs_open_ino(w->fs, c->ino, &f);
		if (err != 0) {
			fsw_unexpected(w, "listing: open", l->path, err, 0);
			continue;
		}
		fs_stat(f, &st);
		kind = st.type == FS_TYPE_REG ? FSW_FILE : st.type == FS_TYPE_DIR ? FSW_DIR :
		       st.type == FS_TYPE_SYMLINK ? FSW_LINK : FSW_FREE;
		if (n == FSW_NODES_MAX) {
			fsw_unexpected(w, "listing: not in the model:", l->path, (int)kind, 0);
		} else if (w->nodes[n].kind != kind) {
			fsw_unexpected(w, "listing: kind of", l->path, (int)kind, (int)w->nodes[n].kind);
			n = FSW_NODES_MAX;
		} else {
			w->nodes[n].seen = true;
		}
		/*
		 * Listed whatever the model says, so that the lines describe the
		 * file system as it is (the host compares them with the image);
		 * n is FSW_NODES_MAX when there is no model node to compare with.
		 */
		if (kind == FSW_DIR) {
			kprintf("FSDIR path=%s\n", l->path);
			if (depth < FSWL_DEPTH_MAX)
				fswl_dir(l, n, f, depth + 1u);
			else
				fsw_unexpected(w, "listing: too deep:", l->path, (int)depth, 0);
		} else if (kind == FSW_FILE) {
			fswl_file(l, n, f, &st);
		} else if (kind == FSW_LINK) {
			fswl_link(l, n, f);
		}
		fs_close(f);
	}
	l->path[path_len] = '\0';
	kfree(list.c);
}

void fsw_list(struct fsw *w, struct blkdev *dev)
{
	struct fswl l = { .w = w };
	struct fs_file *top;
	int err;

	l.chunk = kmalloc(FSWL_READ_CHUNK);
	l.target = kmalloc(FSWL_TARGET_MAX);
	err = l.chunk != NULL && l.target != NULL ? fs_mount(dev, FS_MOUNT_RDONLY, &w->fs) : -ENOMEM;
	if (err != 0) {
		fsw_unexpected(w, "listing: mount", w->dir, err, 0);
		goto out;
	}
	err = fs_open(w->fs, w->dir, &top);
	if (err == 0) {
		memcpy(l.path, w->dir, strlen(w->dir) + 1u);
		fswl_dir(&l, 0, top, 0);
		fs_close(top);
	} else {
		fsw_unexpected(w, "listing: open", w->dir, err, 0);
	}
	for (uint32_t n = 1; n < FSW_NODES_MAX; n++) {
		if (w->nodes[n].kind != FSW_FREE && !w->nodes[n].seen) {
			fsw_path(w, n, l.path);
			fsw_unexpected(w, "listing: not found:", l.path, -ENOENT, 0);
		}
	}
	err = fs_unmount(w->fs);
	if (err != 0)
		fsw_unexpected(w, "listing: unmount", w->dir, err, 0);
	w->fs = NULL;
out:
	kfree(l.chunk);
	kfree(l.target);
}

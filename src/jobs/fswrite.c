/*
 * run=fswrite dev=vda seed=1 ops=2000 dir=/fswrite: a random but repeatable
 * workload on a read-write mount (docs/interface.md, "Filesystem (ext2)").
 *
 * It makes dir (which must not exist yet), then runs `ops` operations drawn
 * from a PRNG seeded with `seed`: mkdir, create, writes at random offsets
 * (past the end they leave holes; some far out, into double-indirect blocks
 * with 1 KiB blocks), append, overwrite, truncate down and up, rename (a
 * file to a new name or over another file, a directory to a new place or
 * over an empty directory), unlink, rmdir, hard links and symlinks (fast and
 * slow). A few operations are meant to fail with a given errno (mkdir or
 * create of a name that exists, rmdir of a directory that is not empty or
 * of a file, a directory moved into itself, opening a name that is not
 * there): they are part of the workload, not errors. A model of the tree
 * (fswrite.h) says what each operation must return and what the tree must
 * hold; any other result is an error, printed as
 *   fswrite: op N <what> <path> returned X, expected Y
 * Then the file system is unmounted (every dirty block written, then a
 * flush), mounted again read-only and listed (fswrite_list.c):
 *   FSDIR path=P, FSFILE size=B sha256=H path=P, FSLINK path=P target=T
 *   FSWRITE dev=D ops=N files=F bytes=B errors=E
 * where F and B are the regular files listed and their total size. RESULT
 * PASS only when E is 0.
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/fmt.h>
#include <levblk/lib/prng.h>
#include <levblk/lib/string.h>
#include "fswrite.h"

#define FSW_IO_MAX        (24u * 1024u) /* bytes of one write */
#define FSW_GROW_MAX      (64u * 1024u) /* how far past the end a write or truncate goes, mostly */
#define FSW_TARGET_MAX    200u          /* bytes of a symlink target (above 60: a slow symlink) */
#define FSW_FILE_MODE     0644u
#define FSW_DIR_MODE      0755u
#define FSW_OPS_MAX       1000000u
#define FSW_NONE          UINT32_MAX    /* fsw_pick found nothing */

/* Operation weights, out of FSW_WEIGHT_TOTAL. */
enum fsw_op {
	FSW_OP_MKDIR,
	FSW_OP_CREATE,
	FSW_OP_WRITE,
	FSW_OP_APPEND,
	FSW_OP_OVERWRITE,
	FSW_OP_TRUNCATE,
	FSW_OP_RENAME,
	FSW_OP_UNLINK,
	FSW_OP_RMDIR,
	FSW_OP_LINK,
	FSW_OP_SYMLINK,
	FSW_OP_FAIL,       /* one of the operations that must fail */
	FSW_OP_COUNT,
};

static const uint8_t fsw_weights[FSW_OP_COUNT] = {
	[FSW_OP_MKDIR] = 8,   [FSW_OP_CREATE] = 14,   [FSW_OP_WRITE] = 16, [FSW_OP_APPEND] = 8,
	[FSW_OP_OVERWRITE] = 8, [FSW_OP_TRUNCATE] = 8, [FSW_OP_RENAME] = 10, [FSW_OP_UNLINK] = 8,
	[FSW_OP_RMDIR] = 5,   [FSW_OP_LINK] = 5,      [FSW_OP_SYMLINK] = 5, [FSW_OP_FAIL] = 5,
};

struct fsw_run {
	struct fsw *w;
	struct prng rng;
	uint8_t *io;          /* FSW_IO_MAX bytes of write data */
	uint32_t next_name;   /* names are never reused: every new one is unique */
	char path[FSW_PATH_MAX], path2[FSW_PATH_MAX];
};

static const char *const fswrite_keys[] = {"dev", "seed", "ops", "dir", NULL};

/* Node selection. */
typedef bool (*fsw_pred)(const struct fsw *w, uint32_t n, uint32_t arg);
static uint32_t fsw_pick(struct fsw_run *r, fsw_pred pred, uint32_t arg);
static bool fsw_is_file(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_file_or_link(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_dir_for_new(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_subdir(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_empty_dir(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_full_dir(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_movable_dir(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_dir_outside(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_other_file(const struct fsw *w, uint32_t n, uint32_t arg);
static bool fsw_is_used(const struct fsw *w, uint32_t n, uint32_t arg);
/* Model changes. */
static uint32_t fsw_depth(const struct fsw *w, uint32_t n);
static uint32_t fsw_height(const struct fsw *w, uint32_t n);
static bool fsw_inside(const struct fsw *w, uint32_t n, uint32_t top);
static uint32_t fsw_node_new(struct fsw_run *r, uint32_t parent, enum fsw_kind kind, char prefix);
static void fsw_node_drop(struct fsw *w, uint32_t n);
static bool fsw_obj_resize(struct fsw_obj *o, uint32_t size);
/* Operations. */
static void fsw_mkdir(struct fsw_run *r);
static void fsw_create(struct fsw_run *r);
static void fsw_write(struct fsw_run *r, enum fsw_op how);
static void fsw_truncate(struct fsw_run *r);
static void fsw_rename(struct fsw_run *r);
static void fsw_unlink(struct fsw_run *r);
static void fsw_rmdir(struct fsw_run *r);
static void fsw_link(struct fsw_run *r);
static void fsw_symlink(struct fsw_run *r);
static void fsw_fail(struct fsw_run *r);
static void fsw_one(struct fsw_run *r);

void fsw_path(const struct fsw *w, uint32_t n, char *buf)
{
	uint32_t chain[FSW_DEPTH_MAX + 2], depth = 0;
	size_t len = strlen(w->dir);

	memcpy(buf, w->dir, len + 1);
	for (; n != 0 && depth < FSW_DEPTH_MAX + 2; n = w->nodes[n].parent)
		chain[depth++] = n;
	while (depth > 0) {
		const char *name = w->nodes[chain[--depth]].name;
		size_t nl = strlen(name);
		if (len + 1 + nl + 1 > FSW_PATH_MAX)
			break; /* cannot happen: names and depth are bounded far below */
		buf[len++] = '/';
		memcpy(buf + len, name, nl + 1);
		len += nl;
	}
}

void fsw_unexpected(struct fsw *w, const char *what, const char *path, int got, int want)
{
	w->errors++;
	if (w->errors <= FSW_REPORT_MAX)
		kprintf("fswrite: op %u %s %s returned %d, expected %d\n", w->op, what, path, got, want);
	else if (w->errors == FSW_REPORT_MAX + 1)
		kprintf("fswrite: more unexpected results are only counted\n");
}

/* True when got is what the model wants; otherwise counts and says so. */
static bool fsw_expect(struct fsw_run *r, const char *what, const char *path, int got, int want)
{
	if (got == want) {
		r->w->expected += want != 0;
		return true;
	}
	fsw_unexpected(r->w, what, path, got, want);
	return false;
}

/* A uniformly chosen node (node 0 included) for which pred holds, or FSW_NONE. */
static uint32_t fsw_pick(struct fsw_run *r, fsw_pred pred, uint32_t arg)
{
	uint32_t count = 0, k;

	for (uint32_t n = 0; n < FSW_NODES_MAX; n++)
		count += r->w->nodes[n].kind != FSW_FREE && pred(r->w, n, arg);
	if (count == 0)
		return FSW_NONE;
	k = (uint32_t)prng_below(&r->rng, count);
	for (uint32_t n = 0; n < FSW_NODES_MAX; n++) {
		if (r->w->nodes[n].kind != FSW_FREE && pred(r->w, n, arg) && k-- == 0)
			return n;
	}
	return FSW_NONE;
}

static bool fsw_is_file(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)arg;
	return w->nodes[n].kind == FSW_FILE;
}

static bool fsw_is_file_or_link(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)arg;
	return w->nodes[n].kind == FSW_FILE || w->nodes[n].kind == FSW_LINK;
}

/* A directory that may get a new name in it (not at the deepest level). */
static bool fsw_is_dir_for_new(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)arg;
	return w->nodes[n].kind == FSW_DIR && fsw_depth(w, n) < FSW_DEPTH_MAX;
}

/* A directory under node 0 (node 0 itself stays). */
static bool fsw_is_subdir(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)arg;
	return w->nodes[n].kind == FSW_DIR && n != 0;
}

/* An empty directory under node 0 other than node arg. */
static bool fsw_is_empty_dir(const struct fsw *w, uint32_t n, uint32_t arg)
{
	return w->nodes[n].kind == FSW_DIR && w->nodes[n].children == 0 && n != arg && n != 0;
}

static bool fsw_is_full_dir(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)arg;
	return w->nodes[n].kind == FSW_DIR && w->nodes[n].children != 0;
}

/* A directory under node 0 with a subdirectory (so it can be moved into its own subtree). */
static bool fsw_is_movable_dir(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)arg;
	if (w->nodes[n].kind != FSW_DIR || n == 0)
		return false;
	for (uint32_t c = 1; c < FSW_NODES_MAX; c++) {
		if (w->nodes[c].kind == FSW_DIR && w->nodes[c].parent == n)
			return true;
	}
	return false;
}

/*
 * A directory that directory arg (with its subtree, w->move_height levels)
 * may move into: not inside arg, and the subtree's deepest names no deeper
 * than FSW_DEPTH_MAX.
 */
static bool fsw_is_dir_outside(const struct fsw *w, uint32_t n, uint32_t arg)
{
	return w->nodes[n].kind == FSW_DIR && !fsw_inside(w, n, arg) &&
	       fsw_depth(w, n) + w->move_height <= FSW_DEPTH_MAX;
}

/* A regular file (or symlink) with another inode than node arg's: renaming arg over it replaces it. */
static bool fsw_is_other_file(const struct fsw *w, uint32_t n, uint32_t arg)
{
	const struct fsw_node *a = &w->nodes[arg], *b = &w->nodes[n];

	if (n == arg || (b->kind != FSW_FILE && b->kind != FSW_LINK))
		return false;
	return !(a->kind == FSW_FILE && b->kind == FSW_FILE && a->obj == b->obj);
}

static bool fsw_is_used(const struct fsw *w, uint32_t n, uint32_t arg)
{
	(void)w;
	(void)n;
	(void)arg;
	return true;
}

/* Directories between n and node 0 (a name in node 0 has depth 1). */
static uint32_t fsw_depth(const struct fsw *w, uint32_t n)
{
	uint32_t d = 0;

	for (; n != 0; n = w->nodes[n].parent)
		d++;
	return d;
}

/* Levels of n's subtree, n included: 1 for a file or an empty directory. */
static uint32_t fsw_height(const struct fsw *w, uint32_t n)
{
	uint32_t h = 1;

	for (uint32_t c = 1; c < FSW_NODES_MAX; c++) {
		if (w->nodes[c].kind != FSW_FREE && w->nodes[c].parent == n && c != n) {
			uint32_t ch = fsw_height(w, c) + 1;
			h = ch > h ? ch : h;
		}
	}
	return h;
}

/* True when n is top or inside top's subtree. */
static bool fsw_inside(const struct fsw *w, uint32_t n, uint32_t top)
{
	for (;; n = w->nodes[n].parent) {
		if (n == top)
			return true;
		if (n == 0)
			return false;
	}
}

/* A new node named <prefix><number> in parent, or 0 when the model is full. */
static uint32_t fsw_node_new(struct fsw_run *r, uint32_t parent, enum fsw_kind kind, char prefix)
{
	for (uint32_t n = 1; n < FSW_NODES_MAX; n++) {
		struct fsw_node *node = &r->w->nodes[n];
		if (node->kind != FSW_FREE)
			continue;
		*node = (struct fsw_node){ .kind = (uint8_t)kind, .parent = (uint16_t)parent };
		fmt_snprintf(node->name, sizeof(node->name), "%c%u", prefix, r->next_name++);
		return n;
	}
	return 0;
}

/* Links node n into its parent in the model. */
static void fsw_node_attach(struct fsw *w, uint32_t n)
{
	w->nodes[w->nodes[n].parent].children++;
}

/* Removes name n from the model; a file's object goes when its last name does. */
static void fsw_node_drop(struct fsw *w, uint32_t n)
{
	struct fsw_node *node = &w->nodes[n];

	w->nodes[node->parent].children--;
	if (node->kind == FSW_FILE) {
		struct fsw_obj *o = &w->objs[node->obj];
		if (--o->links == 0) {
			kfree(o->data);
			*o = (struct fsw_obj){ 0 };
		}
	}
	kfree(node->target);
	*node = (struct fsw_node){ 0 };
}

/* Sets the model's size; bytes that come into the file read as zeros. */
static bool fsw_obj_resize(struct fsw_obj *o, uint32_t size)
{
	if (size > o->cap) {
		uint32_t cap = o->cap != 0 ? o->cap : 4096u;
		uint8_t *data;
		while (cap < size)
			cap *= 2u;
		data = kmalloc(cap);
		if (data == NULL)
			return false;
		if (o->size != 0)
			memcpy(data, o->data, o->size);
		kfree(o->data);
		o->data = data;
		o->cap = cap;
	}
	if (size > o->size)
		memset(o->data + o->size, 0, size - o->size);
	o->size = size;
	return true;
}

static void fsw_mkdir(struct fsw_run *r)
{
	uint32_t parent = fsw_pick(r, fsw_is_dir_for_new, 0);
	uint32_t n = fsw_node_new(r, parent, FSW_DIR, 'd');

	if (n == 0) {
		fsw_rmdir(r);
		return;
	}
	fsw_path(r->w, n, r->path);
	if (fsw_expect(r, "mkdir", r->path, fs_mkdir(r->w->fs, r->path, FSW_DIR_MODE), 0))
		fsw_node_attach(r->w, n);
	else
		r->w->nodes[n] = (struct fsw_node){ 0 };
}

static void fsw_create(struct fsw_run *r)
{
	uint32_t parent = fsw_pick(r, fsw_is_dir_for_new, 0);
	uint32_t n = fsw_node_new(r, parent, FSW_FILE, 'f');
	struct fs_file *f;

	if (n == 0) {
		fsw_unlink(r);
		return;
	}
	fsw_path(r->w, n, r->path);
	if (!fsw_expect(r, "create", r->path, fs_create(r->w->fs, r->path, FSW_FILE_MODE, &f), 0)) {
		r->w->nodes[n] = (struct fsw_node){ 0 };
		return;
	}
	fs_close(f);
	/* There are as many objects as nodes, so a free one is always there when a node was. */
	for (uint32_t i = 0; i < FSW_NODES_MAX; i++) {
		if (r->w->objs[i].links == 0) {
			r->w->nodes[n].obj = (uint16_t)i;
			r->w->objs[i] = (struct fsw_obj){ .links = 1 };
			break;
		}
	}
	fsw_node_attach(r->w, n);
}

/* One write: FSW_OP_WRITE at a random offset (holes past the end), APPEND at the end, OVERWRITE inside. */
static void fsw_write(struct fsw_run *r, enum fsw_op how)
{
	uint32_t n = fsw_pick(r, fsw_is_file, 0), len, off;
	struct fsw_obj *o;
	struct fs_file *f;
	size_t done = 0;
	int err;

	if (n == FSW_NONE) {
		fsw_create(r);
		return;
	}
	o = &r->w->objs[r->w->nodes[n].obj];
	len = 1u + (uint32_t)prng_below(&r->rng, FSW_IO_MAX);
	if (how == FSW_OP_OVERWRITE && o->size != 0) {
		off = (uint32_t)prng_below(&r->rng, o->size);
		len = len < o->size - off ? len : o->size - off;
	} else if (how == FSW_OP_APPEND || how == FSW_OP_OVERWRITE) {
		off = o->size;
	} else if (prng_below(&r->rng, 8) == 0) {
		off = (uint32_t)prng_below(&r->rng, FSW_FILE_MAX - FSW_IO_MAX); /* far: big holes */
	} else {
		off = (uint32_t)prng_below(&r->rng, o->size + FSW_GROW_MAX);
	}
	if (off + len > FSW_FILE_MAX)
		off = FSW_FILE_MAX - len;
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t x = prng_next(&r->rng);
		memcpy(r->io + i, &x, len - i < 8 ? len - i : 8);
	}
	fsw_path(r->w, n, r->path);
	err = fs_open(r->w->fs, r->path, &f);
	if (!fsw_expect(r, "open", r->path, err, 0))
		return;
	err = fs_write(f, off, r->io, len, &done);
	fs_close(f);
	if (!fsw_expect(r, how == FSW_OP_APPEND ? "append" : how == FSW_OP_OVERWRITE ? "overwrite" : "write",
			r->path, err, 0) || done != len) {
		if (err == 0)
			fsw_unexpected(r->w, "write (short)", r->path, (int)done, (int)len);
		return;
	}
	if (off + len > o->size && !fsw_obj_resize(o, off + len)) {
		fsw_unexpected(r->w, "model (out of memory)", r->path, -ENOMEM, 0);
		return;
	}
	memcpy(o->data + off, r->io, len);
}

static void fsw_truncate(struct fsw_run *r)
{
	uint32_t n = fsw_pick(r, fsw_is_file, 0), size;
	struct fsw_obj *o;
	struct fs_file *f;
	int err;

	if (n == FSW_NONE) {
		fsw_create(r);
		return;
	}
	o = &r->w->objs[r->w->nodes[n].obj];
	if (o->size != 0 && prng_below(&r->rng, 2) == 0)
		size = (uint32_t)prng_below(&r->rng, o->size); /* down */
	else
		size = o->size + 1u + (uint32_t)prng_below(&r->rng, FSW_GROW_MAX); /* up: a hole */
	size = size < FSW_FILE_MAX ? size : FSW_FILE_MAX;
	fsw_path(r->w, n, r->path);
	err = fs_open(r->w->fs, r->path, &f);
	if (!fsw_expect(r, "open", r->path, err, 0))
		return;
	err = fs_truncate(f, size);
	fs_close(f);
	if (fsw_expect(r, "truncate", r->path, err, 0) && !fsw_obj_resize(o, size))
		fsw_unexpected(r->w, "model (out of memory)", r->path, -ENOMEM, 0);
}

/* Moves node n to parent under name (the model side of a rename that succeeded). */
static void fsw_move(struct fsw *w, uint32_t n, uint32_t parent, const char *name)
{
	w->nodes[w->nodes[n].parent].children--;
	w->nodes[n].parent = (uint16_t)parent;
	memcpy(w->nodes[n].name, name, FSW_NAME_MAX);
	w->nodes[parent].children++;
}

static void fsw_rename(struct fsw_run *r)
{
	struct fsw *w = r->w;
	uint32_t kind = (uint32_t)prng_below(&r->rng, 4), src, parent, dst = FSW_NONE;
	char name[FSW_NAME_MAX];

	/* 0: a file to a new name, 1: over another file, 2: a directory to a new place, 3: over an empty one. */
	src = kind < 2 ? fsw_pick(r, fsw_is_file_or_link, 0) : fsw_pick(r, fsw_is_subdir, 0);
	if (src == FSW_NONE) {
		fsw_mkdir(r);
		return;
	}
	w->move_height = fsw_height(w, src);
	if (kind == 1) {
		dst = fsw_pick(r, fsw_is_other_file, src);
	} else if (kind == 3) {
		dst = fsw_pick(r, fsw_is_empty_dir, src);
		if (dst != FSW_NONE && !fsw_is_dir_outside(w, w->nodes[dst].parent, src))
			dst = FSW_NONE;
	}
	fsw_path(w, src, r->path);
	if (dst != FSW_NONE) {
		parent = w->nodes[dst].parent;
		memcpy(name, w->nodes[dst].name, FSW_NAME_MAX);
		fsw_path(w, dst, r->path2);
	} else {
		size_t len;
		parent = kind < 2 ? fsw_pick(r, fsw_is_dir_for_new, 0) : fsw_pick(r, fsw_is_dir_outside, src);
		if (parent == FSW_NONE)
			return; /* cannot happen: node 0 always qualifies */
		fmt_snprintf(name, sizeof(name), "%c%u", kind < 2 ? 'r' : 'm', r->next_name++);
		fsw_path(w, parent, r->path2);
		len = strlen(r->path2);
		fmt_snprintf(r->path2 + len, FSW_PATH_MAX - len, "/%s", name);
	}
	if (!fsw_expect(r, "rename", r->path, fs_rename(w->fs, r->path, r->path2), 0))
		return;
	if (dst != FSW_NONE)
		fsw_node_drop(w, dst);
	fsw_move(w, src, parent, name);
}

static void fsw_unlink(struct fsw_run *r)
{
	uint32_t n = fsw_pick(r, fsw_is_file_or_link, 0);

	if (n == FSW_NONE)
		return;
	fsw_path(r->w, n, r->path);
	if (fsw_expect(r, "unlink", r->path, fs_unlink(r->w->fs, r->path), 0))
		fsw_node_drop(r->w, n);
}

static void fsw_rmdir(struct fsw_run *r)
{
	uint32_t n = fsw_pick(r, fsw_is_empty_dir, 0);

	if (n == FSW_NONE)
		return;
	fsw_path(r->w, n, r->path);
	if (fsw_expect(r, "rmdir", r->path, fs_rmdir(r->w->fs, r->path), 0))
		fsw_node_drop(r->w, n);
}

static void fsw_link(struct fsw_run *r)
{
	uint32_t old = fsw_pick(r, fsw_is_file, 0), parent, n;

	if (old == FSW_NONE) {
		fsw_create(r);
		return;
	}
	parent = fsw_pick(r, fsw_is_dir_for_new, 0);
	n = fsw_node_new(r, parent, FSW_FILE, 'h');
	if (n == 0) {
		fsw_unlink(r);
		return;
	}
	fsw_path(r->w, old, r->path);
	fsw_path(r->w, n, r->path2);
	if (!fsw_expect(r, "link", r->path2, fs_link(r->w->fs, r->path, r->path2), 0)) {
		r->w->nodes[n] = (struct fsw_node){ 0 };
		return;
	}
	r->w->nodes[n].obj = r->w->nodes[old].obj;
	r->w->objs[r->w->nodes[n].obj].links++;
	fsw_node_attach(r->w, n);
}

/* A symlink to a name in the model (relative or absolute), to nothing, or a long (slow) one. */
static void fsw_symlink(struct fsw_run *r)
{
	uint32_t parent = fsw_pick(r, fsw_is_dir_for_new, 0), to = fsw_pick(r, fsw_is_used, 0), n;
	char *target = kmalloc(FSW_TARGET_MAX + 1u);

	n = fsw_node_new(r, parent, FSW_LINK, 's');
	if (target == NULL || n == 0) {
		kfree(target);
		if (n != 0)
			r->w->nodes[n] = (struct fsw_node){ 0 };
		fsw_unlink(r);
		return;
	}
	switch (prng_below(&r->rng, 4)) {
	case 0: /* absolute */
		fsw_path(r->w, to, r->path2);
		fmt_snprintf(target, FSW_TARGET_MAX + 1u, "%s", r->path2);
		break;
	case 1: /* a name, relative (node 0 has none: "..", never the empty target symlink(2) refuses) */
		fmt_snprintf(target, FSW_TARGET_MAX + 1u, "%s", to != 0 ? r->w->nodes[to].name : "..");
		break;
	case 2: /* dangling */
		fmt_snprintf(target, FSW_TARGET_MAX + 1u, "../missing-%u", (unsigned int)prng_below(&r->rng, 1000));
		break;
	default: { /* slow: longer than the 60 bytes an inode holds */
		uint32_t len = 61u + (uint32_t)prng_below(&r->rng, FSW_TARGET_MAX - 61u);
		for (uint32_t i = 0; i < len; i++)
			target[i] = (i % 9u == 8u) ? '/' : (char)('a' + prng_below(&r->rng, 26));
		target[len] = '\0';
		break;
	}
	}
	fsw_path(r->w, n, r->path);
	if (!fsw_expect(r, "symlink", r->path, fs_symlink(r->w->fs, target, r->path), 0)) {
		kfree(target);
		r->w->nodes[n] = (struct fsw_node){ 0 };
		return;
	}
	r->w->nodes[n].target = target;
	fsw_node_attach(r->w, n);
}

/* An operation the model says must fail, and with which errno. */
static void fsw_fail(struct fsw_run *r)
{
	struct fsw *w = r->w;
	uint32_t n, to;
	struct fs_file *f;
	int err;

	switch (prng_below(&r->rng, 6)) {
	case 0: /* mkdir of a name that exists */
		n = fsw_pick(r, fsw_is_used, 0);
		fsw_path(w, n, r->path);
		fsw_expect(r, "mkdir (exists)", r->path, fs_mkdir(w->fs, r->path, FSW_DIR_MODE), -EEXIST);
		break;
	case 1: /* create of a name that exists */
		n = fsw_pick(r, fsw_is_used, 0);
		fsw_path(w, n, r->path);
		err = fs_create(w->fs, r->path, FSW_FILE_MODE, &f);
		if (err == 0)
			fs_close(f);
		fsw_expect(r, "create (exists)", r->path, err, -EEXIST);
		break;
	case 2: /* rmdir of a directory that is not empty (node 0 among them) */
		n = fsw_pick(r, fsw_is_full_dir, 0);
		if (n == FSW_NONE)
			break;
		fsw_path(w, n, r->path);
		fsw_expect(r, "rmdir (not empty)", r->path, fs_rmdir(w->fs, r->path), -ENOTEMPTY);
		break;
	case 3: /* rmdir of a file */
		n = fsw_pick(r, fsw_is_file, 0);
		if (n == FSW_NONE)
			break;
		fsw_path(w, n, r->path);
		fsw_expect(r, "rmdir (a file)", r->path, fs_rmdir(w->fs, r->path), -ENOTDIR);
		break;
	case 4: /* a directory moved into its own subtree */
		n = fsw_pick(r, fsw_is_movable_dir, 0);
		if (n == FSW_NONE)
			break;
		to = fsw_pick(r, fsw_is_full_dir, 0);
		if (to == FSW_NONE || !fsw_inside(w, to, n))
			to = n;
		fsw_path(w, n, r->path);
		fsw_path(w, to, r->path2);
		{
			size_t len = strlen(r->path2);
			fmt_snprintf(r->path2 + len, FSW_PATH_MAX - len, "/x%u", r->next_name++);
		}
		fsw_expect(r, "rename (into itself)", r->path, fs_rename(w->fs, r->path, r->path2), -EINVAL);
		break;
	default: /* open of a name that is not there */
		fsw_path(w, 0, r->path);
		{
			size_t len = strlen(r->path);
			fmt_snprintf(r->path + len, FSW_PATH_MAX - len, "/none%u", r->next_name++);
		}
		err = fs_open(w->fs, r->path, &f);
		if (err == 0)
			fs_close(f);
		fsw_expect(r, "open (not there)", r->path, err, -ENOENT);
		break;
	}
}

static void fsw_one(struct fsw_run *r)
{
	uint32_t total = 0, x;
	enum fsw_op op = FSW_OP_MKDIR;

	for (uint32_t i = 0; i < FSW_OP_COUNT; i++)
		total += fsw_weights[i];
	x = (uint32_t)prng_below(&r->rng, total);
	while (x >= fsw_weights[op]) {
		x -= fsw_weights[op];
		op++;
	}
	switch (op) {
	case FSW_OP_MKDIR:     fsw_mkdir(r); break;
	case FSW_OP_CREATE:    fsw_create(r); break;
	case FSW_OP_WRITE:
	case FSW_OP_APPEND:
	case FSW_OP_OVERWRITE: fsw_write(r, op); break;
	case FSW_OP_TRUNCATE:  fsw_truncate(r); break;
	case FSW_OP_RENAME:    fsw_rename(r); break;
	case FSW_OP_UNLINK:    fsw_unlink(r); break;
	case FSW_OP_RMDIR:     fsw_rmdir(r); break;
	case FSW_OP_LINK:      fsw_link(r); break;
	case FSW_OP_SYMLINK:   fsw_symlink(r); break;
	default:               fsw_fail(r); break;
	}
}

static void fsw_free(struct fsw *w)
{
	for (uint32_t n = 0; n < FSW_NODES_MAX; n++) {
		kfree(w->nodes[n].target);
		kfree(w->objs[n].data);
	}
	kfree(w);
}

static int fswrite_fn(const char **why)
{
	const char *dev_name = arg_str("dev", "vda");
	const char *dir = arg_str("dir", "/fswrite");
	struct blkdev *dev = blkdev_find(dev_name);
	struct fsw_run r = { 0 };
	uint64_t seed, ops;
	struct fsw *w;
	int err;

	if (dev == NULL || arg_u64("seed", 1, 0, UINT64_MAX, &seed) != 0 ||
	    arg_u64("ops", 2000, 1, FSW_OPS_MAX, &ops) != 0 || dir[0] != '/' || dir[1] == '\0' ||
	    strlen(dir) > FSW_PATH_MAX / 2) {
		kprintf("fswrite: dev= must name a disk, ops= 1..%u, dir= an absolute path other than /\n",
			FSW_OPS_MAX);
		*why = "bad argument";
		return -EINVAL;
	}
	w = kzalloc(sizeof(*w));
	r.io = kmalloc(FSW_IO_MAX);
	if (w == NULL || r.io == NULL) {
		kfree(w);
		kfree(r.io);
		*why = "out of memory";
		return -ENOMEM;
	}
	w->dev = dev_name;
	w->dir = dir;
	w->nodes[0].kind = FSW_DIR;
	r.w = w;
	prng_seed(&r.rng, seed);
	err = fs_mount(dev, 0, &w->fs);
	if (err != 0) {
		*why = "mount failed";
		goto out;
	}
	err = fs_mkdir(w->fs, dir, FSW_DIR_MODE);
	if (err != 0) {
		kprintf("fswrite: cannot make %s (%d)%s\n", dir, err, err == -EEXIST ? ": it must not exist yet" : "");
		fs_unmount(w->fs);
		*why = "no directory";
		goto out;
	}
	for (w->op = 0; w->op < ops; w->op++)
		fsw_one(&r);
	err = fs_unmount(w->fs);
	w->fs = NULL;
	if (err != 0)
		fsw_unexpected(w, "unmount", dir, err, 0);
	fsw_list(w, dev);
	kprintf("FSWRITE dev=%s ops=%lu files=%lu bytes=%lu errors=%lu\n", dev_name, (unsigned long)ops,
		(unsigned long)w->files, (unsigned long)w->bytes, (unsigned long)w->errors);
	kprintf("fswrite: %lu operations failed as expected\n", (unsigned long)w->expected);
	err = 0;
	if (w->errors != 0) {
		*why = "unexpected results";
		err = -EIO;
	}
out:
	fsw_free(w);
	kfree(r.io);
	return err;
}
JOB("fswrite", fswrite_keys, fswrite_fn);

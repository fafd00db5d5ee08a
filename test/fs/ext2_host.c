/* Host side of the ext2 tests, see ext2_host.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext2_host.h"

/*
 * A block handed out: its own heap copy (so AddressSanitizer sees any access
 * past the block's end), written back into the image at put() when it was
 * taken with get_mut and marked dirty. Outstanding blocks are kept on a list
 * so that a block taken writable while any other copy of it is out (the
 * two copies would diverge, where the kernel's cache shares one buffer) is
 * counted as a conflict.
 */
struct himg_ref {
	struct himg_ref *next;
	uint8_t *data;
	uint32_t block;
	int writable;
	int dirty;
};

static int himg_take(struct himg *h, uint32_t block, int writable, int fresh, uint8_t **data, void **ref)
{
	uint64_t off = (uint64_t)block * h->block_bytes;
	struct himg_ref *r;

	/* The core checks block numbers against the file system; the image must still hold them. */
	if (off + h->block_bytes > h->len)
		return -EIO;
	if (h->fail_block != 0 && h->fail_block == block)
		return -EIO;
	for (r = h->held; r != NULL; r = r->next)
		if (r->block == block && (writable || r->writable))
			h->conflicts++;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->data = malloc(h->block_bytes);
	if (r->data == NULL) {
		free(r);
		return -ENOMEM;
	}
	if (fresh)
		memset(r->data, 0, h->block_bytes);
	else
		memcpy(r->data, h->bytes + off, h->block_bytes);
	r->block = block;
	r->writable = writable;
	r->next = h->held;
	h->held = r;
	h->gets++;
	*data = r->data;
	*ref = r;
	return 0;
}

static int himg_get(void *ctx, uint32_t block, const uint8_t **data, void **ref)
{
	uint8_t *d;
	int err = himg_take(ctx, block, 0, 0, &d, ref);

	if (err == 0)
		*data = d;
	return err;
}

static int himg_get_mut(void *ctx, uint32_t block, bool fresh, uint8_t **data, void **ref)
{
	struct himg *h = ctx;

	if (h->read_only)
		return -EROFS;
	h->get_muts++;
	return himg_take(h, block, 1, fresh, data, ref);
}

static void himg_dirty(void *ctx, void *ref, bool meta)
{
	struct himg *h = ctx;
	struct himg_ref *r = ref;

	if (!r->writable)
		h->conflicts++; /* dirtying a block taken read-only */
	r->dirty = 1;
	if (meta)
		h->dirty_meta++;
	else
		h->dirty_data++;
}

static void himg_put(void *ctx, void *ref)
{
	struct himg *h = ctx;
	struct himg_ref *r = ref, **pp;

	for (pp = &h->held; *pp != NULL && *pp != r; pp = &(*pp)->next)
		;
	if (*pp == r)
		*pp = r->next;
	if (r->dirty)
		memcpy(h->bytes + (uint64_t)r->block * h->block_bytes, r->data, h->block_bytes);
	h->puts++;
	free(r->data);
	free(r);
}

const struct ext2_blkio_ops himg_ops = { .get = himg_get, .put = himg_put, .get_mut = himg_get_mut,
					 .dirty = himg_dirty };

static void himg_report(void *ctx, const struct ext2_fault *f)
{
	struct himg *h = ctx;

	h->faults++;
	h->last = *f;
	if (!h->quiet)
		fprintf(stderr, "  fault: inode %u: %s (%llu)\n", f->ino, f->what, (unsigned long long)f->value);
}

int host_run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

const char *host_tmpdir(void)
{
	static char path[256];
	const char *base = getenv("TMPDIR");

	/* Trees of thousands of files are made much faster in memory (tmpfs keeps holes too). */
	if (base == NULL)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof(path), "%s/levblk-ext2-XXXXXX", base);
	return mkdtemp(path);
}

int himg_load(struct himg *h, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	memset(h, 0, sizeof(*h));
	if (fd < 0 || fstat(fd, &st) != 0)
		return -errno;
	h->len = (size_t)st.st_size;
	h->bytes = malloc(h->len);
	if (h->bytes == NULL || pread(fd, h->bytes, h->len, 0) != (ssize_t)h->len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

int himg_save(const struct himg *h, const char *path)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pwrite(fd, h->bytes, h->len, 0);
	if (close(fd) != 0 || n != (ssize_t)h->len)
		return -EIO;
	return 0;
}

int himg_mkfs(struct himg *h, uint32_t block_bytes, uint32_t kib, const char *opts)
{
	const char *dir = host_tmpdir();
	char path[512];
	int st, err;

	if (dir == NULL)
		return -errno;
	snprintf(path, sizeof(path), "%s/mkfs.img", dir);
	st = host_run("'%s' -q -F -t ext2 -b %u %s '%s' %u >/dev/null 2>&1", LEVBLK_MKE2FS, block_bytes,
		      opts != NULL ? opts : "", path, kib);
	if (st != 0)
		return -EIO;
	err = himg_load(h, path);
	host_run("rm -rf '%s'", dir);
	return err;
}

int himg_fsck(const struct himg *h)
{
	const char *dir = host_tmpdir();
	char path[512], out[512];
	int st, err;

	if (dir == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/check.img", dir);
	snprintf(out, sizeof(out), "%s/e2fsck.out", dir);
	err = himg_save(h, path);
	if (err != 0)
		return -1;
	st = host_run("'%s' -fn '%s' >'%s' 2>&1", LEVBLK_E2FSCK, path, out);
	/* e2fsck -n exits 0 even after declining some fixes (a wrong total): any question it asked is a finding. */
	if (st == 0 && host_run("grep -q '? no' '%s'", out) == 0)
		st = 4;
	if (st != 0)
		host_run("cat '%s' >&2", out);
	host_run("rm -rf '%s'", dir);
	return st;
}

void himg_free(struct himg *h)
{
	free(h->bytes);
	h->bytes = NULL;
}

int himg_mount(struct himg *h, struct ext2_vol *v)
{
	struct ext2_super sb;
	struct ext2_geom g;
	struct ext2_fault f;
	int err;

	if (h->len < EXT2_SUPER_OFFSET + EXT2_SUPER_BYTES)
		return -EINVAL;
	memcpy(&sb, h->bytes + EXT2_SUPER_OFFSET, sizeof(sb));
	err = ext2_super_check(&sb, h->len, &g, &f);
	if (err != 0) {
		h->faults++;
		h->last = f;
		return err;
	}
	h->block_bytes = g.block_bytes;
	ext2_vol_init(v, &g, &himg_ops, h, himg_report, h);
	return ext2_vol_check_groups(v);
}

struct walk_ctx {
	const struct ext2_vol *v;
	struct himg_walk_stats *st;
	unsigned int depth;
};

static void walk_note(struct himg_walk_stats *st, int err)
{
	if (err == 0)
		return;
	if (st->first_err == 0)
		st->first_err = err;
	st->errors++;
}

static void walk_dir(struct walk_ctx *w, const struct ext2_inode_info *dir);

static int walk_entry(void *ctx, const struct ext2_dirent_view *d)
{
	static uint8_t buf[HIMG_WALK_FILE_MAX];
	struct walk_ctx *w = ctx;
	struct ext2_inode_info ip;
	char target[EXT2_PATH_MAX + 1];
	size_t done;
	int err;

	if ((d->name_len == 1 && d->name[0] == '.') || (d->name_len == 2 && memcmp(d->name, "..", 2) == 0))
		return 0;
	if (++w->st->entries > w->st->max_entries) {
		walk_note(w->st, -ELOOP);
		return -ELOOP;
	}
	err = ext2_inode_get(w->v, d->ino, &ip);
	if (err != 0) {
		walk_note(w->st, err);
		return 0;
	}
	if (ext2_is_dir(&ip)) {
		w->depth++;
		walk_dir(w, &ip);
		w->depth--;
	} else if (ext2_is_reg(&ip)) {
		w->st->files++;
		size_t want = w->st->max_file_bytes < sizeof(buf) ? (size_t)w->st->max_file_bytes : sizeof(buf);
		err = ext2_file_read(w->v, &ip, 0, buf, want, &done);
		w->st->bytes += done;
		if (err == 0 && ip.size > want) {
			uint64_t last = ip.size - 1 - (ip.size - 1) % w->v->g.block_bytes;
			err = ext2_file_read(w->v, &ip, last, buf, w->v->g.block_bytes, &done);
			w->st->bytes += done;
		}
		walk_note(w->st, err);
	} else if (ext2_is_symlink(&ip)) {
		w->st->symlinks++;
		walk_note(w->st, ext2_readlink(w->v, &ip, target, sizeof(target), &done));
	}
	return 0;
}

static void walk_dir(struct walk_ctx *w, const struct ext2_inode_info *dir)
{
	int err;

	if (w->depth > HIMG_WALK_DEPTH) {
		walk_note(w->st, -ELOOP);
		return;
	}
	if (dir->size > w->st->max_dir_bytes) {
		walk_note(w->st, -EFBIG);
		return;
	}
	w->st->dirs++;
	err = ext2_dir_iterate(w->v, dir, walk_entry, w);
	if (err != 0 && err != -ELOOP)
		walk_note(w->st, err);
}

void himg_walk(const struct ext2_vol *v, struct himg_walk_stats *st)
{
	struct walk_ctx w = { .v = v, .st = st };
	struct ext2_inode_info root;
	unsigned long max_entries = st->max_entries != 0 ? st->max_entries : HIMG_WALK_ENTRIES;
	uint64_t max_file = st->max_file_bytes != 0 ? st->max_file_bytes : HIMG_WALK_FILE_MAX;
	uint64_t max_dir = st->max_dir_bytes != 0 ? st->max_dir_bytes : HIMG_WALK_DIR_MAX;
	int err;

	memset(st, 0, sizeof(*st));
	st->max_entries = max_entries;
	st->max_file_bytes = max_file;
	st->max_dir_bytes = max_dir;
	err = ext2_path_lookup(v, "/", &root);
	if (err != 0) {
		walk_note(st, err);
		return;
	}
	walk_dir(&w, &root);
}

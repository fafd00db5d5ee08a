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

static int himg_get(void *ctx, uint32_t block, const uint8_t **data, void **ref)
{
	struct himg *h = ctx;
	uint64_t off = (uint64_t)block * h->block_bytes;
	uint8_t *copy;

	/* The core checks block numbers against the file system; the image must still hold them. */
	if (off + h->block_bytes > h->len)
		return -EIO;
	copy = malloc(h->block_bytes);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, h->bytes + off, h->block_bytes);
	h->gets++;
	*data = copy;
	*ref = copy;
	return 0;
}

static void himg_put(void *ctx, void *ref)
{
	struct himg *h = ctx;

	h->puts++;
	free(ref);
}

const struct ext2_blkio_ops himg_ops = { .get = himg_get, .put = himg_put };

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

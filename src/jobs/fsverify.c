/*
 * run=fsverify dev=vda manifest=/SHA256SUMS: mounts the ext2 file system on
 * dev read-only and checks it against a manifest in sha256sum's format
 * (docs/interface.md, "Filesystem (ext2)"):
 *   - every listed file is read through the buffer cache and its SHA-256
 *     compared: FSMISMATCH path=<p> want=<hex> got=<hex>, or
 *     FSMISSING path=<p> err=<negated errno> when it cannot be read;
 *   - the whole tree is walked and every regular file the manifest does not
 *     list (the manifest itself aside) is FSEXTRA path=<p>;
 *   - then FSVERIFY dev=<d> files=<listed> bytes=<read> dirs=<walked>
 *     mismatches=M missing=K extra=E, and RESULT PASS only when M, K and E
 *     are 0 and the walk met no error.
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/sha256.h>
#include <levblk/lib/string.h>

#define FSV_MANIFEST_MAX  (16u << 20) /* bytes of manifest read at most */
#define FSV_READ_CHUNK    (64u * 1024u)
#define FSV_PATH_MAX      4096u       /* bytes of a walked path, NUL included */
#define FSV_DEPTH_MAX     64u         /* directories below the root the walk enters */
#define FSV_HEX_DIGITS    (2u * SHA256_DIGEST_BYTES)

struct fsv_entry {
	const char *path;      /* inside the manifest buffer, NUL-terminated, no leading "./" or "/" */
	uint32_t len;
	uint32_t hash;
	uint8_t digest[SHA256_DIGEST_BYTES];
};

struct fsv_child {
	uint32_t ino;
	uint32_t name_off;     /* into the names buffer */
	uint8_t name_len;
	uint8_t type;          /* enum fs_type */
};

struct fsv {
	struct fs *fs;
	const char *dev;
	const char *manifest;  /* its path without the leading "/" */
	struct fsv_entry *entries;
	uint32_t nentries;
	uint32_t *table;       /* open addressing: entry index + 1, 0 empty */
	uint32_t table_mask;
	uint8_t *chunk;
	char path[FSV_PATH_MAX];
	uint64_t bytes, dirs;
	uint64_t mismatches, missing, extra, walk_errors;
};

struct fsv_list {
	struct fsv_child *children;
	uint32_t n, cap;
	char *names;
	uint32_t names_len, names_cap;
	int err;
};

static const char *const fsverify_keys[] = {"dev", "manifest", NULL};

static uint32_t fsv_hash(const char *s, uint32_t len);
static int fsv_parse(struct fsv *v, char *text, size_t len);
static int fsv_index(struct fsv *v);
static bool fsv_listed(const struct fsv *v, const char *path, uint32_t len);
static int fsv_hash_file(struct fsv *v, struct fs_file *f, uint8_t digest[SHA256_DIGEST_BYTES]);
static void fsv_check_listed(struct fsv *v);
static int fsv_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type);
static void fsv_walk(struct fsv *v, struct fs_file *dir, size_t path_len, unsigned int depth);
static int fsv_read_manifest(struct fsv *v, char **text, size_t *len);

/* FNV-1a over the path bytes. */
static uint32_t fsv_hash(const char *s, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/*
 * Splits the manifest into entries, in place (newlines become NULs). A line
 * is 64 hex digits, a space, a space or '*' (sha256sum's text and binary
 * marks), and a path; empty lines are skipped. -EINVAL at the first line
 * that is not like that, with a line saying which.
 */
static int fsv_parse(struct fsv *v, char *text, size_t len)
{
	uint32_t lines = 0, line_no = 0;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	v->entries = kzalloc(sizeof(*v->entries) * (lines + 1u));
	if (v->entries == NULL)
		return -ENOMEM;
	for (size_t pos = 0; pos < len;) {
		char *line = text + pos, *end = memchr(line, '\n', len - pos), *path;
		size_t line_len = end != NULL ? (size_t)(end - line) : len - pos;
		struct fsv_entry *e = &v->entries[v->nentries];

		pos += line_len + 1;
		line_no++;
		line[line_len] = '\0'; /* the '\n', or the byte after the text (kept free by the reader) */
		if (line_len == 0)
			continue;
		if (line_len < FSV_HEX_DIGITS + 3 || sha256_parse_hex(line, e->digest) != 0 ||
		    line[FSV_HEX_DIGITS] != ' ' || (line[FSV_HEX_DIGITS + 1] != ' ' && line[FSV_HEX_DIGITS + 1] != '*')) {
			kprintf("fsverify: manifest line %u is not '<sha256>  <path>'\n", line_no);
			return -EINVAL;
		}
		path = line + FSV_HEX_DIGITS + 2;
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		while (path[0] == '/')
			path++;
		e->path = path;
		e->len = (uint32_t)strlen(path);
		if (e->len == 0 || e->len >= FSV_PATH_MAX - 1) {
			kprintf("fsverify: manifest line %u has a bad path\n", line_no);
			return -EINVAL;
		}
		e->hash = fsv_hash(path, e->len);
		v->nentries++;
	}
	return 0;
}

static int fsv_index(struct fsv *v)
{
	uint32_t size = 16;

	while (size < 2u * v->nentries)
		size <<= 1;
	v->table = kzalloc(sizeof(*v->table) * size);
	if (v->table == NULL)
		return -ENOMEM;
	v->table_mask = size - 1u;
	for (uint32_t i = 0; i < v->nentries; i++) {
		uint32_t slot = v->entries[i].hash & v->table_mask;
		while (v->table[slot] != 0)
			slot = (slot + 1u) & v->table_mask;
		v->table[slot] = i + 1u;
	}
	return 0;
}

static bool fsv_listed(const struct fsv *v, const char *path, uint32_t len)
{
	uint32_t h = fsv_hash(path, len);

	for (uint32_t slot = h & v->table_mask; v->table[slot] != 0; slot = (slot + 1u) & v->table_mask) {
		const struct fsv_entry *e = &v->entries[v->table[slot] - 1u];
		if (e->hash == h && e->len == len && memcmp(e->path, path, len) == 0)
			return true;
	}
	return false;
}

static int fsv_hash_file(struct fsv *v, struct fs_file *f, uint8_t digest[SHA256_DIGEST_BYTES])
{
	struct sha256_ctx ctx;
	struct fs_stat st;
	uint64_t off = 0;

	fs_stat(f, &st);
	if (st.type != FS_TYPE_REG)
		return st.type == FS_TYPE_DIR ? -EISDIR : -EINVAL;
	sha256_init(&ctx);
	while (off < st.size) {
		size_t done;
		int err = fs_read(f, off, v->chunk, FSV_READ_CHUNK, &done);
		if (err != 0)
			return err;
		if (done == 0)
			return -EIO; /* cannot happen below the size; never loop on it */
		sha256_update(&ctx, v->chunk, done);
		off += done;
	}
	v->bytes += off;
	sha256_final(&ctx, digest);
	return 0;
}

static void fsv_check_listed(struct fsv *v)
{
	for (uint32_t i = 0; i < v->nentries; i++) {
		const struct fsv_entry *e = &v->entries[i];
		uint8_t got[SHA256_DIGEST_BYTES];
		struct fs_file *f;
		int err;

		v->path[0] = '/';
		memcpy(v->path + 1, e->path, e->len + 1u);
		err = fs_open(v->fs, v->path, &f);
		if (err == 0) {
			err = fsv_hash_file(v, f, got);
			fs_close(f);
		}
		if (err != 0) {
			kprintf("FSMISSING path=%s err=%d\n", e->path, err);
			v->missing++;
		} else if (memcmp(got, e->digest, sizeof(got)) != 0) {
			char want_hex[SHA256_HEX_BYTES], got_hex[SHA256_HEX_BYTES];
			sha256_hex(e->digest, want_hex);
			sha256_hex(got, got_hex);
			kprintf("FSMISMATCH path=%s want=%s got=%s\n", e->path, want_hex, got_hex);
			v->mismatches++;
		}
	}
}

/* Collects one directory's entries, so the walk holds no block while it goes down. */
static int fsv_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type)
{
	struct fsv_list *l = ctx;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		uint32_t cap = l->cap != 0 ? 2u * l->cap : 64u;
		struct fsv_child *c = kmalloc(sizeof(*c) * cap);
		if (c == NULL)
			return -ENOMEM;
		if (l->n != 0)
			memcpy(c, l->children, sizeof(*c) * l->n);
		kfree(l->children);
		l->children = c;
		l->cap = cap;
	}
	if (l->names_len + len > l->names_cap) {
		uint32_t cap = l->names_cap != 0 ? 2u * l->names_cap : 4096u;
		while (cap < l->names_len + len)
			cap *= 2u;
		char *n = kmalloc(cap);
		if (n == NULL)
			return -ENOMEM;
		if (l->names_len != 0)
			memcpy(n, l->names, l->names_len);
		kfree(l->names);
		l->names = n;
		l->names_cap = cap;
	}
	l->children[l->n] = (struct fsv_child){ .ino = ino, .name_off = l->names_len,
						 .name_len = (uint8_t)len, .type = (uint8_t)type };
	memcpy(l->names + l->names_len, name, len);
	l->names_len += (uint32_t)len;
	l->n++;
	return 0;
}

/*
 * Walks the directory dir whose path (from the root, "/"-separated, without
 * a leading "/") is v->path[0 .. path_len). Counts it, reports regular files
 * the manifest does not list, and goes down into subdirectories.
 */
static void fsv_walk(struct fsv *v, struct fs_file *dir, size_t path_len, unsigned int depth)
{
	struct fsv_list l = { 0 };
	int err;

	v->dirs++;
	err = fs_readdir(dir, fsv_collect, &l);
	if (err != 0) {
		kprintf("FSERR dev=%s walk of /%.*s stopped (%d)\n", v->dev, (int)path_len, v->path, err);
		v->walk_errors++;
	}
	for (uint32_t i = 0; i < l.n; i++) {
		const struct fsv_child *c = &l.children[i];
		size_t len = path_len + (path_len != 0) + c->name_len;
		enum fs_type type = (enum fs_type)c->type;
		struct fs_file *f = NULL;

		if (len + 1 > FSV_PATH_MAX) {
			kprintf("FSERR dev=%s path under /%.*s too long\n", v->dev, (int)path_len, v->path);
			v->walk_errors++;
			continue;
		}
		if (path_len != 0)
			v->path[path_len] = '/';
		memcpy(v->path + len - c->name_len, l.names + c->name_off, c->name_len);
		v->path[len] = '\0';
		if (type == FS_TYPE_UNKNOWN || type == FS_TYPE_DIR) {
			/* Without file types in entries (revision 0) the inode says what it is. */
			struct fs_stat st;
			err = fs_open_ino(v->fs, c->ino, &f);
			if (err != 0) {
				kprintf("FSERR dev=%s cannot open /%s (%d)\n", v->dev, v->path, err);
				v->walk_errors++;
				continue;
			}
			fs_stat(f, &st);
			type = st.type;
		}
		if (type == FS_TYPE_REG) {
			if (!fsv_listed(v, v->path, (uint32_t)len) && strcmp(v->path, v->manifest) != 0) {
				kprintf("FSEXTRA path=%s\n", v->path);
				v->extra++;
			}
		} else if (type == FS_TYPE_DIR) {
			if (depth >= FSV_DEPTH_MAX) {
				kprintf("FSERR dev=%s directories deeper than %u at /%s\n", v->dev, FSV_DEPTH_MAX,
					v->path);
				v->walk_errors++;
			} else {
				fsv_walk(v, f, len, depth + 1);
			}
		}
		if (f != NULL)
			fs_close(f);
	}
	v->path[path_len] = '\0';
	kfree(l.children);
	kfree(l.names);
}

/* Reads the whole manifest into a buffer with one spare byte after it. */
static int fsv_read_manifest(struct fsv *v, char **text, size_t *len)
{
	struct fs_file *f;
	struct fs_stat st;
	size_t done;
	int err;

	v->path[0] = '/';
	memcpy(v->path + 1, v->manifest, strlen(v->manifest) + 1);
	err = fs_open(v->fs, v->path, &f);
	if (err != 0)
		return err;
	fs_stat(f, &st);
	if (st.type != FS_TYPE_REG || st.size > FSV_MANIFEST_MAX) {
		fs_close(f);
		return st.type != FS_TYPE_REG ? -EINVAL : -E2BIG;
	}
	*text = kmalloc((size_t)st.size + 1u);
	if (*text == NULL) {
		fs_close(f);
		return -ENOMEM;
	}
	err = fs_read(f, 0, *text, (size_t)st.size, &done);
	fs_close(f);
	if (err == 0 && done != st.size)
		err = -EIO;
	if (err != 0) {
		kfree(*text);
		return err;
	}
	*len = done;
	return 0;
}

static int fsverify_fn(const char **why)
{
	const char *dev_name = arg_str("dev", "vda");
	const char *manifest = arg_str("manifest", "/SHA256SUMS");
	struct blkdev *dev = blkdev_find(dev_name);
	struct fs_cache_stats cs;
	struct fs_file *root;
	struct fsv *v;
	char *text = NULL;
	size_t text_len;
	int err;

	if (dev == NULL) {
		kprintf("fsverify: no block device called %s\n", dev_name);
		*why = "bad argument";
		return -EINVAL;
	}
	v = kzalloc(sizeof(*v));
	if (v == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	while (manifest[0] == '/')
		manifest++;
	v->dev = dev_name;
	v->manifest = manifest;
	v->chunk = kmalloc(FSV_READ_CHUNK);
	err = v->chunk != NULL ? fs_mount(dev, FS_MOUNT_RDONLY, &v->fs) : -ENOMEM;
	if (err != 0) {
		*why = "mount failed";
		goto out_free;
	}
	err = fsv_read_manifest(v, &text, &text_len);
	if (err != 0) {
		kprintf("fsverify: cannot read the manifest /%s (%d)\n", manifest, err);
		*why = "no manifest";
		goto out_unmount;
	}
	err = fsv_parse(v, text, text_len);
	if (err == 0)
		err = fsv_index(v);
	if (err != 0) {
		*why = "bad manifest";
		goto out_unmount;
	}
	fsv_check_listed(v);
	err = fs_open(v->fs, "/", &root);
	if (err == 0) {
		v->path[0] = '\0';
		fsv_walk(v, root, 0, 0);
		fs_close(root);
	} else {
		v->walk_errors++;
	}
	fs_cache_stats(v->fs, &cs);
	kprintf("FSCACHE dev=%s blocks=%u block_bytes=%u hits=%llu misses=%llu waits=%llu evictions=%llu "
		"read_errors=%llu prefetches=%llu ra_hits=%llu ra_wasted=%llu\n",
		dev_name, cs.blocks, cs.block_bytes, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
		(unsigned long long)cs.waits, (unsigned long long)cs.evictions, (unsigned long long)cs.read_errors,
		(unsigned long long)cs.prefetches, (unsigned long long)cs.ra_hits, (unsigned long long)cs.ra_wasted);
	kprintf("FSVERIFY dev=%s files=%u bytes=%llu dirs=%llu mismatches=%llu missing=%llu extra=%llu\n", dev_name,
		v->nentries, (unsigned long long)v->bytes, (unsigned long long)v->dirs,
		(unsigned long long)v->mismatches, (unsigned long long)v->missing, (unsigned long long)v->extra);
	if (v->mismatches != 0 || v->missing != 0 || v->extra != 0) {
		*why = "file system differs from the manifest";
		err = -EIO;
	} else if (v->walk_errors != 0) {
		*why = "walk failed";
		err = -EUCLEAN;
	}

out_unmount:
	fs_unmount(v->fs);
out_free:
	kfree(text);
	kfree(v->entries);
	kfree(v->table);
	kfree(v->chunk);
	kfree(v);
	return err;
}
JOB("fsverify", fsverify_keys, fsverify_fn);

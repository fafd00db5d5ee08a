/*
 * run=demo fs=vda2: the file system part of the demo (tools/run passes fs=
 * for the ext2 partition of its demo image, tools/lib/demo-image).
 *   demo: ext2 on vda2, N entries in /:
 *   demo:   NAME  dir | file, B bytes | symlink -> TARGET
 *   demo: /hello.txt (B bytes) through the buffer cache: "..."
 *   demo: cache on vda2: H hits, M misses, P prefetched
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/console.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>

#include "demo_fs.h"

#define DEMO_FS_MAX_ENTRIES 32u  /* root entries shown */
#define DEMO_FS_NAME_MAX    64u  /* bytes of a name shown */
#define DEMO_FS_SHOW_BYTES  200u /* bytes of /hello.txt shown */
#define DEMO_FS_LINK_MAX    256u

struct demo_fs_entry {
	uint32_t ino;
	char name[DEMO_FS_NAME_MAX + 1];
};

struct demo_fs_list {
	struct demo_fs_entry e[DEMO_FS_MAX_ENTRIES];
	uint32_t n, total;
};

static int demo_fs_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type);
static void demo_fs_show_entry(struct fs *fs, const struct demo_fs_entry *e);
static void demo_fs_show_file(struct fs *fs, const char *path);

static int demo_fs_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type)
{
	struct demo_fs_list *l = ctx;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	l->total++;
	if (l->n < DEMO_FS_MAX_ENTRIES) {
		size_t n = len < DEMO_FS_NAME_MAX ? len : DEMO_FS_NAME_MAX;
		l->e[l->n].ino = ino;
		memcpy(l->e[l->n].name, name, n);
		l->e[l->n].name[n] = '\0';
		l->n++;
	}
	return 0;
}

static void demo_fs_show_entry(struct fs *fs, const struct demo_fs_entry *e)
{
	char target[DEMO_FS_LINK_MAX];
	struct fs_file *f;
	struct fs_stat st;
	int err = fs_open_ino(fs, e->ino, &f);

	if (err != 0) {
		kprintf("demo:   %-16s (cannot open: %d)\n", e->name, err);
		return;
	}
	fs_stat(f, &st);
	switch (st.type) {
	case FS_TYPE_DIR:
		kprintf("demo:   %-16s dir\n", e->name);
		break;
	case FS_TYPE_REG:
		kprintf("demo:   %-16s file, %llu bytes\n", e->name, (unsigned long long)st.size);
		break;
	case FS_TYPE_SYMLINK:
		err = fs_readlink(f, target, sizeof(target));
		kprintf("demo:   %-16s symlink -> %s\n", e->name, err == 0 ? target : "(unreadable)");
		break;
	default:
		kprintf("demo:   %-16s other\n", e->name);
		break;
	}
	fs_close(f);
}

/* The start of a file, printable bytes as they are and the rest as '.', in quotes. */
static void demo_fs_show_file(struct fs *fs, const char *path)
{
	char *buf = kmalloc(DEMO_FS_SHOW_BYTES + 1u);
	struct fs_file *f;
	struct fs_stat st;
	size_t done = 0;
	int err = buf != NULL ? fs_open(fs, path, &f) : -ENOMEM;

	if (err == 0) {
		fs_stat(f, &st);
		err = fs_read(f, 0, buf, DEMO_FS_SHOW_BYTES, &done);
		fs_close(f);
	}
	if (err != 0) {
		kprintf("demo: %s: cannot read it (%d)\n", path, err);
		kfree(buf);
		return;
	}
	for (size_t i = 0; i < done; i++)
		if (buf[i] < ' ' || buf[i] > '~')
			buf[i] = '.';
	buf[done] = '\0';
	kprintf("demo: %s (%llu bytes) through the buffer cache: \"%s\"\n", path, (unsigned long long)st.size, buf);
	kfree(buf);
}

int demo_fs(const char *name)
{
	struct blkdev *dev = blkdev_find(name);
	struct demo_fs_list *l;
	struct fs_cache_stats cs;
	struct fs_file *root;
	struct fs *fs;
	int err;

	if (dev == NULL) {
		kprintf("demo: bad value in fs=%s (no such disk or partition)\n", name);
		return -ENODEV;
	}
	err = fs_mount(dev, FS_MOUNT_RDONLY, &fs);
	if (err != 0) {
		kprintf("demo: no ext2 file system mounted from %s (%d)\n", name, err);
		return err;
	}
	l = kzalloc(sizeof(*l));
	err = l != NULL ? fs_open(fs, "/", &root) : -ENOMEM;
	if (err == 0) {
		err = fs_readdir(root, demo_fs_collect, l);
		fs_close(root);
	}
	if (err == 0) {
		kprintf("demo: ext2 on %s, %u entries in /:\n", name, l->total);
		for (uint32_t i = 0; i < l->n; i++)
			demo_fs_show_entry(fs, &l->e[i]);
		if (l->total > l->n)
			kprintf("demo:   ... and %u more\n", l->total - l->n);
		demo_fs_show_file(fs, "/hello.txt");
		fs_cache_stats(fs, &cs);
		kprintf("demo: cache on %s: %llu hits, %llu misses, %llu prefetched, %u blocks of %u bytes\n", name,
			(unsigned long long)cs.hits, (unsigned long long)cs.misses, (unsigned long long)cs.prefetches,
			cs.blocks, cs.block_bytes);
	} else {
		kprintf("demo: listing / of %s failed (%d)\n", name, err);
	}
	kfree(l);
	fs_unmount(fs);
	return err;
}

/*
 * In-guest selftests of the mounted file system's write side (levblk/fs.h)
 * on the first writable disk that holds an ext2 file system
 * (test/qemu/fs_api.cmake gives each test an empty one of its own). They
 * leave what they create on that disk; an image without ext2 is "# skip".
 * White-box where a count is needed: the free counts and the cache's
 * counters through fs_private.h.
 */
#include <levblk/blkdev.h>
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/fmt.h>
#include <levblk/lib/string.h>
#include <levblk/thread.h>

#include "fs_private.h"

#define API_MODE          0644u
#define API_BUF           12000u   /* bytes one test writes at once: crosses block boundaries */
#define API_HOLE_OFF      300000u  /* a write there leaves a hole before it */
#define API_FILL_OFF      17000u   /* inside that hole, a block after the first write's last one */
#define API_THREADS       4u
#define API_THREAD_FILES  16u
#define API_THREAD_BYTES  5000u
#define API_PATH_MAX      64u
#define API_FAIL_CREATES  8u       /* creates tried before the injected failure must have shown */

struct api_thread {
	struct fs *fs;
	unsigned int id;
	int err;
	struct thread *t;
};

static bool api_note(bool cond, int line);
static struct blkdev *api_disk(void);
static int api_mount(struct fs **out);
static void api_fill(uint8_t *buf, size_t len, uint64_t off, uint32_t seed);
static bool api_check(struct fs_file *f, uint64_t off, size_t len, uint32_t seed, uint8_t *buf);
static bool api_read_zero(struct fs_file *f, uint64_t off, size_t len, uint8_t *buf);
static bool api_write(struct fs_file *f, uint64_t off, size_t len, uint32_t seed, uint8_t *buf);
static void api_thread_fn(void *arg);
static bool api_thread_verify(struct fs *fs, unsigned int id, uint8_t *buf);

/* cond, noting the line of the first check that fails. */
static bool api_note(bool cond, int line)
{
	if (!cond)
		kprintf("# check at line %d failed\n", line);
	return cond;
}
#define API_EXPECT(ok, cond) ((ok) = (ok) && api_note((cond), __LINE__))

/* The first writable disk whose superblock says ext2, or NULL ("# skip"). */
static struct blkdev *api_disk(void)
{
	for (unsigned int i = 0; i < blkdev_count(); i++) {
		struct blkdev *d = blkdev_get(i);
		struct fs *fs;
		if (blkdev_info(d)->ro || blkdev_broken(d))
			continue;
		if (fs_mount(d, FS_MOUNT_RDONLY, &fs) == 0) {
			(void)fs_unmount(fs);
			return d;
		}
	}
	kprintf("# skip: no writable disk with an ext2 file system\n");
	return NULL;
}

/* 1 mounted read-write, 0 no disk (skip), -1 failed. */
static int api_mount(struct fs **out)
{
	struct blkdev *d = api_disk();
	int err;

	if (d == NULL)
		return 0;
	err = fs_mount(d, 0, out);
	if (err != 0) {
		kprintf("# read-write mount failed (%d)\n", err);
		return -1;
	}
	return 1;
}

/* Bytes that depend on their file offset and a seed, so a block in the wrong place shows. */
static void api_fill(uint8_t *buf, size_t len, uint64_t off, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull + seed;
		buf[i] = (uint8_t)(x >> 56);
	}
}

static bool api_write(struct fs_file *f, uint64_t off, size_t len, uint32_t seed, uint8_t *buf)
{
	size_t done;
	int err;

	api_fill(buf, len, off, seed);
	err = fs_write(f, off, buf, len, &done);
	if (err != 0 || done != len) {
		kprintf("# write of %zu at %llu: %d, %zu done\n", len, (unsigned long long)off, err, done);
		return false;
	}
	return true;
}

static bool api_check(struct fs_file *f, uint64_t off, size_t len, uint32_t seed, uint8_t *buf)
{
	uint8_t *want = kmalloc(len);
	size_t done;
	bool ok;
	int err;

	if (want == NULL)
		return false;
	api_fill(want, len, off, seed);
	err = fs_read(f, off, buf, len, &done);
	ok = err == 0 && done == len && memcmp(buf, want, len) == 0;
	if (!ok)
		kprintf("# read of %zu at %llu: %d, %zu done, %s\n", len, (unsigned long long)off, err, done,
			err == 0 && done == len ? "differs" : "short");
	kfree(want);
	return ok;
}

static bool api_read_zero(struct fs_file *f, uint64_t off, size_t len, uint8_t *buf)
{
	size_t done;
	int err = fs_read(f, off, buf, len, &done);

	if (err != 0 || done != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != 0)
			return false;
	return true;
}

/*
 * Create, write (across block boundaries, past a hole), read back through
 * the file and a second open of it; truncate down and up; then unmount,
 * mount read-only and find the same bytes.
 */
static bool api_create_write_read(void)
{
	uint8_t *buf = kmalloc(API_BUF);
	struct fs_file *f = NULL, *g = NULL;
	struct fs_stat st;
	struct fs *fs;
	bool ok;
	int m = buf != NULL ? api_mount(&fs) : -1;

	if (m <= 0) {
		kfree(buf);
		return m == 0;
	}
	ok = fs_mkdir(fs, "/cwr", 0755u) == 0;
	API_EXPECT(ok, fs_create(fs, "/cwr/file", API_MODE, &f) == 0);
	API_EXPECT(ok, fs_create(fs, "/cwr/file", API_MODE, &g) == -EEXIST);
	API_EXPECT(ok, api_write(f, 0, API_BUF, 1, buf) && api_write(f, API_HOLE_OFF, API_BUF, 2, buf));
	API_EXPECT(ok, fs_open(fs, "cwr//file", &g) == 0);
	if (ok) {
		fs_stat(g, &st);
		ok = st.size == API_HOLE_OFF + API_BUF && st.type == FS_TYPE_REG && st.links == 1;
		API_EXPECT(ok, api_check(g, 0, API_BUF, 1, buf) && api_read_zero(g, API_BUF, API_BUF, buf) &&
		     api_check(g, API_HOLE_OFF, API_BUF, 2, buf));
		/*
		 * The hole just read through g (g has it mapped as a hole), filled
		 * through f: g reads the new bytes, not its stale map of the hole.
		 */
		API_EXPECT(ok, api_read_zero(g, API_FILL_OFF, 200u, buf));
		API_EXPECT(ok, api_write(f, API_FILL_OFF, 200u, 8, buf) && api_check(g, API_FILL_OFF, 200u, 8, buf));
		API_EXPECT(ok, api_read_zero(g, API_FILL_OFF + 200u, 2u * API_BUF - API_FILL_OFF - 200u, buf));
		/* Truncated through one file, seen through the other. */
		API_EXPECT(ok, fs_truncate(f, 5000) == 0 && fs_truncate(f, 9000) == 0);
		fs_stat(g, &st);
		API_EXPECT(ok, st.size == 9000 && api_check(g, 0, 5000, 1, buf) && api_read_zero(g, 5000, 4000, buf));
		API_EXPECT(ok, fs_write(g, 0, buf, 1, &(size_t){ 0 }) == 0 && fs_truncate(g, 0) == 0);
		API_EXPECT(ok, api_write(g, 0, API_BUF, 3, buf) && fs_fsync(g) == 0);
	}
	if (g != NULL)
		fs_close(g);
	if (f != NULL)
		fs_close(f);
	ok = fs_unmount(fs) == 0 && ok;
	/* Read-only again: the same bytes from the disk. */
	if (ok && fs_mount(api_disk(), FS_MOUNT_RDONLY, &fs) == 0) {
		ok = fs_open(fs, "/cwr/file", &f) == 0;
		if (ok) {
			fs_stat(f, &st);
			ok = st.size == API_BUF && api_check(f, 0, API_BUF, 3, buf);
			ok = fs_write(f, 0, buf, 1, &(size_t){ 0 }) == -EROFS && ok;
			fs_close(f);
		}
		ok = fs_create(fs, "/cwr/other", API_MODE, &f) == -EROFS && ok;
		ok = fs_unmount(fs) == 0 && ok;
	} else {
		ok = false;
	}
	kfree(buf);
	return ok;
}
SELFTEST("fs.api.create_write_read", api_create_write_read);

/*
 * A file renamed, then unlinked, while two files have it open: both keep
 * reading and writing it, and see each other's writes; its inode and
 * blocks are freed only at the last close, so the free counts come back to
 * what they were before the create.
 */
static bool api_unlink_while_open(void)
{
	uint8_t *buf = kmalloc(API_BUF);
	struct fs_file *f = NULL, *g = NULL;
	uint32_t free_blocks, free_inodes;
	struct fs_stat st;
	struct fs *fs;
	bool ok;
	int m = buf != NULL ? api_mount(&fs) : -1;

	if (m <= 0) {
		kfree(buf);
		return m == 0;
	}
	ok = fs_mkdir(fs, "/uwo", 0755u) == 0;
	/* Counted before d2 and a: both are gone again at the end. */
	free_blocks = fs->vol.g.free_blocks;
	free_inodes = fs->vol.g.free_inodes;
	API_EXPECT(ok, fs_mkdir(fs, "/uwo/d2", 0755u) == 0);
	API_EXPECT(ok, fs_create(fs, "/uwo/a", API_MODE, &f) == 0 && api_write(f, 0, API_BUF, 4, buf));
	API_EXPECT(ok, fs_rename(fs, "/uwo/a", "/uwo/d2/b") == 0 && fs_open(fs, "/uwo/d2/b", &g) == 0);
	API_EXPECT(ok, fs_open(fs, "/uwo/a", &(struct fs_file *){ NULL }) == -ENOENT);
	API_EXPECT(ok, api_check(g, 0, API_BUF, 4, buf) && fs_unlink(fs, "/uwo/d2/b") == 0);
	API_EXPECT(ok, fs_open(fs, "/uwo/d2/b", &(struct fs_file *){ NULL }) == -ENOENT);
	API_EXPECT(ok, fs_rmdir(fs, "/uwo/d2") == 0);
	if (ok) {
		fs_stat(f, &st);
		ok = st.links == 0 && st.size == API_BUF;
		/* Still writable, and a write through one is read through the other. */
		API_EXPECT(ok, api_write(f, API_BUF, API_BUF, 5, buf) && api_check(g, API_BUF, API_BUF, 5, buf) &&
		     api_check(g, 0, API_BUF, 4, buf));
		API_EXPECT(ok, fs->vol.g.free_inodes < free_inodes);
	}
	if (f != NULL)
		fs_close(f);
	f = NULL;
	API_EXPECT(ok, fs->vol.g.free_inodes < free_inodes && api_check(g, 0, API_BUF, 4, buf));
	if (g != NULL)
		fs_close(g);
	if (ok && (fs->vol.g.free_inodes != free_inodes || fs->vol.g.free_blocks != free_blocks)) {
		kprintf("# after the last close: free inodes %u (want %u), blocks %u (want %u)\n",
			fs->vol.g.free_inodes, free_inodes, fs->vol.g.free_blocks, free_blocks);
		ok = false;
	}
	/* Unlinked while not open: freed at once. */
	API_EXPECT(ok, fs_create(fs, "/uwo/c", API_MODE, &f) == 0 && api_write(f, 0, API_BUF, 6, buf));
	if (f != NULL)
		fs_close(f);
	f = NULL;
	API_EXPECT(ok, fs_unlink(fs, "/uwo/c") == 0 && fs->vol.g.free_inodes == free_inodes &&
	     fs->vol.g.free_blocks == free_blocks);
	ok = fs_unmount(fs) == 0 && ok;
	kfree(buf);
	return ok;
}
SELFTEST("fs.api.unlink_while_open", api_unlink_while_open);

/* One of the threads of fs.api.threads: its own directory, files created, written, renamed, some removed. */
static void api_thread_fn(void *arg)
{
	struct api_thread *a = arg;
	uint8_t *buf = kmalloc(API_THREAD_BYTES);
	char path[API_PATH_MAX], to[API_PATH_MAX];

	a->err = buf != NULL ? 0 : -ENOMEM;
	fmt_snprintf(path, sizeof(path), "/thr%u", a->id);
	if (a->err == 0)
		a->err = fs_mkdir(a->fs, path, 0755u);
	for (unsigned int i = 0; i < API_THREAD_FILES && a->err == 0; i++) {
		struct fs_file *f;
		fmt_snprintf(path, sizeof(path), "/thr%u/f%u", a->id, i);
		a->err = fs_create(a->fs, path, API_MODE, &f);
		if (a->err != 0)
			break;
		if (!api_write(f, 0, API_THREAD_BYTES, a->id * 100u + i, buf) ||
		    !api_check(f, 0, API_THREAD_BYTES, a->id * 100u + i, buf))
			a->err = -EIO;
		fs_close(f);
		/* Let the other threads in between two calls, so that their calls interleave with ours. */
		thread_yield();
		/* Every third file renamed, every fourth removed. */
		if (a->err == 0 && i % 3u == 0) {
			fmt_snprintf(to, sizeof(to), "/thr%u/r%u", a->id, i);
			a->err = fs_rename(a->fs, path, to);
		} else if (a->err == 0 && i % 4u == 0) {
			a->err = fs_unlink(a->fs, path);
		}
	}
	kfree(buf);
}

/* What api_thread_fn left: every file there with its contents, and nothing else. */
static bool api_thread_verify(struct fs *fs, unsigned int id, uint8_t *buf)
{
	char path[API_PATH_MAX];
	bool ok = true;

	for (unsigned int i = 0; i < API_THREAD_FILES && ok; i++) {
		struct fs_file *f;
		bool renamed = i % 3u == 0, removed = !renamed && i % 4u == 0;
		fmt_snprintf(path, sizeof(path), "/thr%u/%c%u", id, renamed ? 'r' : 'f', i);
		int err = fs_open(fs, path, &f);
		if (removed) {
			ok = err == -ENOENT;
			continue;
		}
		ok = err == 0;
		if (ok) {
			struct fs_stat st;
			fs_stat(f, &st);
			ok = st.size == API_THREAD_BYTES && api_check(f, 0, API_THREAD_BYTES, id * 100u + i, buf);
			fs_close(f);
		}
		if (!ok)
			kprintf("# %s: %d\n", path, err);
	}
	return ok;
}

/*
 * API_THREADS threads on one mount at once, each in its own directory; then
 * everything is where each thread left it, also after an unmount and a new
 * mount.
 */
static bool api_threads(void)
{
	struct api_thread a[API_THREADS];
	uint8_t *buf = kmalloc(API_THREAD_BYTES);
	struct fs *fs;
	bool ok = true;
	int m = buf != NULL ? api_mount(&fs) : -1;

	if (m <= 0) {
		kfree(buf);
		return m == 0;
	}
	for (unsigned int i = 0; i < API_THREADS; i++) {
		a[i] = (struct api_thread){ .fs = fs, .id = i };
		a[i].t = thread_create("fs-api", api_thread_fn, &a[i]);
		API_EXPECT(ok, a[i].t != NULL);
	}
	for (unsigned int i = 0; i < API_THREADS; i++) {
		if (a[i].t != NULL)
			thread_join(a[i].t);
		if (a[i].err != 0) {
			kprintf("# thread %u: %d\n", i, a[i].err);
			ok = false;
		}
	}
	for (unsigned int i = 0; i < API_THREADS && ok; i++)
		ok = api_thread_verify(fs, i, buf);
	ok = fs_sync(fs) == 0 && ok;
	ok = fs_unmount(fs) == 0 && ok;
	if (ok && fs_mount(api_disk(), FS_MOUNT_RDONLY, &fs) == 0) {
		for (unsigned int i = 0; i < API_THREADS && ok; i++)
			ok = api_thread_verify(fs, i, buf);
		ok = fs_unmount(fs) == 0 && ok;
	} else {
		ok = false;
	}
	kfree(buf);
	return ok;
}
SELFTEST("fs.api.threads", api_threads);

/*
 * For a disk whose writes to the inode table block of the first new inodes
 * fail (test/qemu/fs_api.cmake): creates, then a sync that meets the
 * failure. From then on the mount is read-only: changes are -EROFS, sync
 * and unmount fail, and the cache writes and flushes nothing more. Reads
 * still work. On a disk without that error the test only notes it.
 */
static bool api_ro_after_meta_failure(void)
{
	uint8_t *buf = kmalloc(API_BUF);
	struct bcache_stats s0, s1;
	struct blk_counters c0, c1;
	struct fs_file *f = NULL, *n;
	char path[API_PATH_MAX];
	struct fs *fs;
	bool ok = true;
	int m = buf != NULL ? api_mount(&fs) : -1, err = 0;

	if (m <= 0) {
		kfree(buf);
		return m == 0;
	}
	ok = fs_create(fs, "/keep", API_MODE, &f) == 0 && api_write(f, 0, API_BUF, 7, buf);
	for (unsigned int i = 0; i < API_FAIL_CREATES && ok && err == 0; i++) {
		fmt_snprintf(path, sizeof(path), "/new%u", i);
		ok = fs_create(fs, path, API_MODE, &n) == 0;
		if (ok)
			fs_close(n);
		err = fs_sync(fs);
	}
	if (f == NULL) {
		(void)fs_unmount(fs);
		kfree(buf);
		return false;
	}
	if (ok && err == 0) {
		kprintf("# skip: every write went through: no write error injected\n");
		fs_close(f);
		ok = fs_unmount(fs) == 0;
		kfree(buf);
		return ok;
	}
	bcache_get_stats(fs->bc, &s0);
	blkdev_counters(fs->dev, &c0);
	API_EXPECT(ok, err == -EIO && fs->failed);
	API_EXPECT(ok, fs_create(fs, "/after", API_MODE, &n) == -EROFS && fs_mkdir(fs, "/afterdir", 0755u) == -EROFS);
	API_EXPECT(ok, fs_write(f, 0, buf, 1, &(size_t){ 0 }) == -EROFS && fs_truncate(f, 0) == -EROFS);
	API_EXPECT(ok, fs_unlink(fs, "/keep") == -EROFS && fs_rename(fs, "/keep", "/k2") == -EROFS);
	/* What is in the cache still reads. */
	API_EXPECT(ok, api_check(f, 0, API_BUF, 7, buf));
	API_EXPECT(ok, fs_fsync(f) == -EIO && fs_sync(fs) == -EIO);
	fs_close(f);
	bcache_get_stats(fs->bc, &s1);
	blkdev_counters(fs->dev, &c1);
	if (ok && (s1.writes != s0.writes || s1.write_errors != s0.write_errors || c1.flushes != c0.flushes)) {
		kprintf("# written after the failure: %llu blocks, %llu failed, %llu flushes\n",
			(unsigned long long)(s1.writes - s0.writes),
			(unsigned long long)(s1.write_errors - s0.write_errors),
			(unsigned long long)(c1.flushes - c0.flushes));
		ok = false;
	}
	ok = fs_unmount(fs) == -EIO && ok;
	kfree(buf);
	return ok;
}
SELFTEST("fs.api.ro_after_meta_failure", api_ro_after_meta_failure);

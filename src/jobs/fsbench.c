/*
 * run=fsbench dev=vda work=seqread path=/big bs=4096 secs=5: one file system
 * workload on a fresh mount (so the cache starts cold), timed, and one line
 *   FSBENCH {"dev":..,"work":..,"bytes":..,"files":..,"secs":..,"mbps":..,
 *            "files_per_s":..,"bios":..,"requests":..,"avg_request_kib":..,
 *            "cache_hits":..,"readahead_kib":..,"prefetches":..,"ra_hits":..,
 *            "ra_wasted":..,"bs":..,"flushes":..}
 * Workloads on a read-only mount: seqread reads `path` from start to end in
 * bs pieces (one thread); tree reads every regular file under `path` the
 * same way. Both stop early once secs have passed. Workloads on a read-write
 * mount, timed up to the end of the last flush: seqwrite writes size= bytes
 * (default 64 MiB) in bs pieces to `path`, a new file (an old one of that
 * name is removed first), then fsyncs it; smallfiles makes the directory
 * `path` if it is not there, creates files=1000 new files of size=4096 bytes
 * in it (file-NNNNNN, each written in bs pieces and closed), then syncs the
 * file system. They run to the end whatever secs says.
 *
 * Integer only (no floating point in the kernel): decimals are fixed point,
 * truncated. mbps is 10^6 bytes per second of file data; for the read
 * workloads avg_request_kib is the bytes the cache read from the disk
 * (demand reads and prefetches, whole blocks, metadata included) over the
 * requests the device got, for the write workloads the file data written
 * over the requests other than flushes (metadata is not counted, so this is
 * a lower bound); bios, requests and flushes are the device's counters over
 * the run.
 */
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/fs.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/fmt.h>
#include <levblk/lib/string.h>

#define FSB_LINE_MAX   768u
#define FSB_PATH_MAX   4096u
#define FSB_DEPTH_MAX  64u
#define FSB_NS_PER_US  1000u
#define FSB_NS_PER_MS  1000000u
#define FSB_NS_PER_SEC 1000000000u
#define KIB            1024u
#define TENTHS         10u
#define HUNDREDTHS     100u
#define THOUSANDTHS    1000u
#define FIX(v, scale)  (unsigned long)((v) / (scale)), (unsigned long)((v) % (scale))

#define FSB_SEQWRITE_DEFAULT (64u << 20) /* bytes seqwrite writes unless size= says */
#define FSB_SMALL_DEFAULT    4096u       /* bytes of each smallfiles file unless size= says */
#define FSB_FILES_DEFAULT    1000u
#define FSB_FILES_MAX        1000000u
#define FSB_SIZE_MAX         (1ull << 40)
#define FSB_NAME_MAX         32u
#define FSB_FILE_MODE        0644u
#define FSB_DIR_MODE         0755u

static const char *const fsbench_keys[] = {"dev", "work", "path", "bs", "secs", "size", "files", NULL};

enum fsb_work { FSB_SEQREAD, FSB_TREE, FSB_SEQWRITE, FSB_SMALLFILES };

struct fsb {
	struct fs *fs;
	uint8_t *buf;
	uint32_t bs;
	uint64_t deadline_ns;
	uint64_t bytes, files;
	uint64_t size, nfiles; /* the write workloads' size= and files= */
	int err;
	char path[FSB_PATH_MAX];
};

struct fsb_child {
	uint32_t ino;
	enum fs_type type;
};

struct fsb_list {
	struct fsb_child *c;
	uint32_t n, cap;
	int err;
};

static uint64_t fsb_muldiv(uint64_t a, uint64_t b, uint64_t c);
static int fsb_read_file(struct fsb *b, struct fs_file *f);
static int fsb_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type);
static void fsb_tree(struct fsb *b, struct fs_file *dir, unsigned int depth);
static int fsb_write_file(struct fsb *b, struct fs_file *f, uint64_t size);
static int fsb_seqwrite(struct fsb *b, const char *path);
static int fsb_smallfiles(struct fsb *b, const char *path);

/* a * b / c, truncated, without a 128-bit product; exact while (c - 1) * b fits 64 bits. */
static uint64_t fsb_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	if (c == 0)
		return 0;
	return (a / c) * b + (a % c) * b / c;
}

/* Reads one file from start to end (or to the deadline) in bs pieces. */
static int fsb_read_file(struct fsb *b, struct fs_file *f)
{
	struct fs_stat st;
	uint64_t off = 0;

	fs_stat(f, &st);
	while (off < st.size && clock_ns() < b->deadline_ns) {
		size_t done;
		int err = fs_read(f, off, b->buf, b->bs, &done);
		if (err != 0)
			return err;
		if (done == 0)
			break;
		off += done;
	}
	b->bytes += off;
	b->files++;
	return 0;
}

static int fsb_collect(void *ctx, const char *name, size_t len, uint32_t ino, enum fs_type type)
{
	struct fsb_list *l = ctx;

	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		uint32_t cap = l->cap != 0 ? 2u * l->cap : 64u;
		struct fsb_child *c = kmalloc(sizeof(*c) * cap);
		if (c == NULL)
			return -ENOMEM;
		if (l->n != 0)
			memcpy(c, l->c, sizeof(*c) * l->n);
		kfree(l->c);
		l->c = c;
		l->cap = cap;
	}
	l->c[l->n++] = (struct fsb_child){ .ino = ino, .type = type };
	return 0;
}

/* Reads every regular file under dir, depth first; the first error stops it. */
static void fsb_tree(struct fsb *b, struct fs_file *dir, unsigned int depth)
{
	struct fsb_list l = { 0 };
	int err = fs_readdir(dir, fsb_collect, &l);

	for (uint32_t i = 0; err == 0 && i < l.n && clock_ns() < b->deadline_ns; i++) {
		struct fs_file *f;
		struct fs_stat st;

		if (l.c[i].type != FS_TYPE_REG && l.c[i].type != FS_TYPE_DIR && l.c[i].type != FS_TYPE_UNKNOWN)
			continue;
		err = fs_open_ino(b->fs, l.c[i].ino, &f);
		if (err != 0)
			break;
		fs_stat(f, &st);
		if (st.type == FS_TYPE_REG)
			err = fsb_read_file(b, f);
		else if (st.type == FS_TYPE_DIR && depth < FSB_DEPTH_MAX)
			fsb_tree(b, f, depth + 1);
		fs_close(f);
	}
	if (err != 0 && b->err == 0)
		b->err = err;
	kfree(l.c);
}

/* Writes size bytes to f from offset 0 in bs pieces (the buffer's bytes: contents do not matter here). */
static int fsb_write_file(struct fsb *b, struct fs_file *f, uint64_t size)
{
	uint64_t off = 0;

	while (off < size) {
		size_t len = size - off < b->bs ? (size_t)(size - off) : b->bs, done = 0;
		int err = fs_write(f, off, b->buf, len, &done);
		if (err == 0 && done != len)
			err = -EIO;
		if (err != 0)
			return err;
		off += len;
	}
	b->bytes += size;
	b->files++;
	return 0;
}

static int fsb_seqwrite(struct fsb *b, const char *path)
{
	struct fs_file *f;
	int err = fs_unlink(b->fs, path);

	if (err != 0 && err != -ENOENT) {
		kprintf("fsbench: cannot remove the old %s (%d)\n", path, err);
		return err;
	}
	err = fs_create(b->fs, path, FSB_FILE_MODE, &f);
	if (err != 0) {
		kprintf("fsbench: cannot create %s (%d)\n", path, err);
		return err;
	}
	err = fsb_write_file(b, f, b->size);
	if (err == 0)
		err = fs_fsync(f);
	fs_close(f);
	return err;
}

static int fsb_smallfiles(struct fsb *b, const char *path)
{
	size_t len = strlen(path);
	int err = fs_mkdir(b->fs, path, FSB_DIR_MODE);

	if (err != 0 && err != -EEXIST) {
		kprintf("fsbench: cannot make %s (%d)\n", path, err);
		return err;
	}
	if (len + FSB_NAME_MAX > FSB_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(b->path, path, len);
	for (uint64_t i = 0; i < b->nfiles; i++) {
		struct fs_file *f;
		fmt_snprintf(b->path + len, FSB_PATH_MAX - len, "/file-%06lu", (unsigned long)i);
		err = fs_create(b->fs, b->path, FSB_FILE_MODE, &f);
		if (err != 0) {
			kprintf("fsbench: cannot create %s (%d)\n", b->path, err);
			return err;
		}
		err = fsb_write_file(b, f, b->size);
		fs_close(f);
		if (err != 0)
			return err;
	}
	return fs_sync(b->fs);
}

static int fsbench_fn(const char **why)
{
	const char *dev_name = arg_str("dev", "vda");
	const char *work = arg_str("work", "seqread");
	const char *path = arg_str("path", "/big");
	struct blkdev *dev = blkdev_find(dev_name);
	struct blk_counters c0, c1;
	struct fs_cache_stats cs;
	char line[FSB_LINE_MAX];
	uint64_t bs, secs, t0, ns, us, disk_bytes, requests, disk_requests;
	enum fsb_work kind;
	bool writes;
	struct fs_file *f = NULL;
	struct fsb b = { 0 };
	int err;

	if (dev == NULL || arg_u64("bs", 4096, 1, 1u << 20, &bs) != 0 || arg_u64("secs", 5, 1, 3600, &secs) != 0) {
		kprintf("fsbench: dev= must name a disk, bs= 1..1M, secs= 1..3600\n");
		*why = "bad argument";
		return -EINVAL;
	}
	if (strcmp(work, "seqread") == 0) {
		kind = FSB_SEQREAD;
	} else if (strcmp(work, "tree") == 0) {
		kind = FSB_TREE;
	} else if (strcmp(work, "seqwrite") == 0) {
		kind = FSB_SEQWRITE;
	} else if (strcmp(work, "smallfiles") == 0) {
		kind = FSB_SMALLFILES;
	} else {
		kprintf("fsbench: unknown work=%s (seqread, seqwrite, smallfiles, tree)\n", work);
		*why = "bad argument";
		return -EINVAL;
	}
	writes = kind == FSB_SEQWRITE || kind == FSB_SMALLFILES;
	if (arg_u64("size", kind == FSB_SEQWRITE ? FSB_SEQWRITE_DEFAULT : FSB_SMALL_DEFAULT, 0, FSB_SIZE_MAX,
		    &b.size) != 0 ||
	    arg_u64("files", FSB_FILES_DEFAULT, 1, FSB_FILES_MAX, &b.nfiles) != 0) {
		kprintf("fsbench: size= 0..1T, files= 1..%u\n", FSB_FILES_MAX);
		*why = "bad argument";
		return -EINVAL;
	}
	b.bs = (uint32_t)bs;
	b.buf = kmalloc(b.bs);
	if (b.buf == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	memset(b.buf, 0xa5, b.bs);
	err = fs_mount(dev, writes ? 0 : FS_MOUNT_RDONLY, &b.fs);
	if (err != 0) {
		kfree(b.buf);
		if (writes && err == -EROFS)
			kprintf("fsbench: work=%s needs a read-write mount (%d)\n", work, err);
		*why = "mount failed";
		return err;
	}
	if (!writes) {
		err = fs_open(b.fs, path, &f);
		if (err != 0) {
			kprintf("fsbench: cannot open %s (%d)\n", path, err);
			*why = "no such file";
			goto out;
		}
	}
	blkdev_counters(dev, &c0);
	t0 = clock_ns();
	b.deadline_ns = t0 + secs * FSB_NS_PER_SEC;
	switch (kind) {
	case FSB_TREE:       fsb_tree(&b, f, 0); break;
	case FSB_SEQREAD:    b.err = fsb_read_file(&b, f); break;
	case FSB_SEQWRITE:   b.err = fsb_seqwrite(&b, path); break;
	case FSB_SMALLFILES: b.err = fsb_smallfiles(&b, path); break;
	}
	ns = clock_ns() - t0;
	blkdev_counters(dev, &c1);
	if (f != NULL)
		fs_close(f);
	fs_cache_stats(b.fs, &cs);
	if (b.err != 0) {
		kprintf("fsbench: %s failed (%d)\n", writes ? "write" : "read", b.err);
		*why = writes ? "write failed" : "read failed";
		err = b.err;
		goto out;
	}
	us = ns / FSB_NS_PER_US != 0 ? ns / FSB_NS_PER_US : 1;
	requests = c1.requests - c0.requests;
	if (writes) {
		disk_bytes = b.bytes;
		disk_requests = requests - (c1.flushes - c0.flushes);
	} else {
		disk_bytes = (cs.misses + cs.prefetches) * cs.block_bytes;
		disk_requests = requests;
	}
	{
		uint64_t mbps100 = fsb_muldiv(b.bytes, HUNDREDTHS, us);
		uint64_t files10 = fsb_muldiv(b.files, TENTHS * (FSB_NS_PER_SEC / FSB_NS_PER_US), us);
		uint64_t rq_kib10 = disk_requests != 0 ? fsb_muldiv(disk_bytes, TENTHS, disk_requests * KIB) : 0;
		fmt_snprintf(line, sizeof(line),
			     "FSBENCH {\"dev\":\"%s\",\"work\":\"%s\",\"bytes\":%lu,\"files\":%lu,\"secs\":%lu.%03lu,"
			     "\"mbps\":%lu.%02lu,\"files_per_s\":%lu.%01lu,\"bios\":%lu,\"requests\":%lu,"
			     "\"avg_request_kib\":%lu.%01lu,\"cache_hits\":%lu,\"readahead_kib\":%lu,"
			     "\"prefetches\":%lu,\"ra_hits\":%lu,\"ra_wasted\":%lu,\"bs\":%u,\"flushes\":%lu}",
			     dev_name, work, (unsigned long)b.bytes, (unsigned long)b.files,
			     FIX(ns / FSB_NS_PER_MS, THOUSANDTHS), FIX(mbps100, HUNDREDTHS), FIX(files10, TENTHS),
			     (unsigned long)(c1.bios - c0.bios), (unsigned long)requests, FIX(rq_kib10, TENTHS),
			     (unsigned long)cs.hits, (unsigned long)cs.readahead_kib, (unsigned long)cs.prefetches,
			     (unsigned long)cs.ra_hits, (unsigned long)cs.ra_wasted, b.bs,
			     (unsigned long)(c1.flushes - c0.flushes));
		kprintf("%s\n", line);
	}
	err = 0;
out:
	{
		int uerr = fs_unmount(b.fs);
		if (uerr != 0 && err == 0) {
			kprintf("fsbench: unmount failed (%d)\n", uerr);
			*why = "unmount failed";
			err = uerr;
		}
	}
	kfree(b.buf);
	return err;
}
JOB("fsbench", fsbench_keys, fsbench_fn);

/*
 * run=fsbench dev=vda work=seqread path=/big bs=4096 secs=5: one file system
 * workload on a fresh read-only mount (so the cache starts cold), timed, and
 * one line
 *   FSBENCH {"dev":..,"work":..,"bytes":..,"files":..,"secs":..,"mbps":..,
 *            "files_per_s":..,"bios":..,"requests":..,"avg_request_kib":..,
 *            "cache_hits":..,"readahead_kib":..,"prefetches":..,"ra_hits":..,
 *            "ra_wasted":..,"bs":..}
 * Workloads: seqread reads `path` from start to end in bs pieces (one
 * thread); tree reads every regular file under `path` the same way. Both stop
 * early once secs have passed. The write workloads (seqwrite, smallfiles)
 * need a read-write mount, which is not built yet: they fail with a line
 * saying so.
 *
 * Integer only (no floating point in the kernel): decimals are fixed point,
 * truncated. mbps is 10^6 bytes per second of file data; avg_request_kib is
 * the bytes the cache read from the disk (demand reads and prefetches, whole
 * blocks, metadata included) over the requests the device got; bios and
 * requests are the device's counters over the run.
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

static const char *const fsbench_keys[] = {"dev", "work", "path", "bs", "secs", NULL};

struct fsb {
	struct fs *fs;
	uint8_t *buf;
	uint32_t bs;
	uint64_t deadline_ns;
	uint64_t bytes, files;
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

static int fsbench_fn(const char **why)
{
	const char *dev_name = arg_str("dev", "vda");
	const char *work = arg_str("work", "seqread");
	const char *path = arg_str("path", "/big");
	struct blkdev *dev = blkdev_find(dev_name);
	struct blk_counters c0, c1;
	struct fs_cache_stats cs;
	char line[FSB_LINE_MAX];
	uint64_t bs, secs, t0, ns, us, disk_bytes;
	bool tree;
	struct fs_file *f;
	struct fsb b = { 0 };
	int err;

	if (dev == NULL || arg_u64("bs", 4096, 1, 1u << 20, &bs) != 0 || arg_u64("secs", 5, 1, 3600, &secs) != 0) {
		kprintf("fsbench: dev= must name a disk, bs= 1..1M, secs= 1..3600\n");
		*why = "bad argument";
		return -EINVAL;
	}
	if (strcmp(work, "seqread") == 0) {
		tree = false;
	} else if (strcmp(work, "tree") == 0) {
		tree = true;
	} else if (strcmp(work, "seqwrite") == 0 || strcmp(work, "smallfiles") == 0) {
		kprintf("fsbench: work=%s needs a read-write mount, which is not implemented yet\n", work);
		*why = "not implemented";
		return -EROFS;
	} else {
		kprintf("fsbench: unknown work=%s (seqread, tree)\n", work);
		*why = "bad argument";
		return -EINVAL;
	}
	b.bs = (uint32_t)bs;
	b.buf = kmalloc(b.bs);
	if (b.buf == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	err = fs_mount(dev, FS_MOUNT_RDONLY, &b.fs);
	if (err != 0) {
		kfree(b.buf);
		*why = "mount failed";
		return err;
	}
	err = fs_open(b.fs, path, &f);
	if (err != 0) {
		kprintf("fsbench: cannot open %s (%d)\n", path, err);
		*why = "no such file";
		goto out;
	}
	blkdev_counters(dev, &c0);
	t0 = clock_ns();
	b.deadline_ns = t0 + secs * FSB_NS_PER_SEC;
	if (tree)
		fsb_tree(&b, f, 0);
	else
		b.err = fsb_read_file(&b, f);
	ns = clock_ns() - t0;
	blkdev_counters(dev, &c1);
	fs_close(f);
	fs_cache_stats(b.fs, &cs);
	if (b.err != 0) {
		kprintf("fsbench: read failed (%d)\n", b.err);
		*why = "read failed";
		err = b.err;
		goto out;
	}
	us = ns / FSB_NS_PER_US != 0 ? ns / FSB_NS_PER_US : 1;
	disk_bytes = (cs.misses + cs.prefetches) * cs.block_bytes;
	{
		uint64_t requests = c1.requests - c0.requests;
		uint64_t mbps100 = fsb_muldiv(b.bytes, HUNDREDTHS, us);
		uint64_t files10 = fsb_muldiv(b.files, TENTHS * (FSB_NS_PER_SEC / FSB_NS_PER_US), us);
		uint64_t rq_kib10 = requests != 0 ? fsb_muldiv(disk_bytes, TENTHS, requests * KIB) : 0;
		fmt_snprintf(line, sizeof(line),
			     "FSBENCH {\"dev\":\"%s\",\"work\":\"%s\",\"bytes\":%lu,\"files\":%lu,\"secs\":%lu.%03lu,"
			     "\"mbps\":%lu.%02lu,\"files_per_s\":%lu.%01lu,\"bios\":%lu,\"requests\":%lu,"
			     "\"avg_request_kib\":%lu.%01lu,\"cache_hits\":%lu,\"readahead_kib\":%lu,"
			     "\"prefetches\":%lu,\"ra_hits\":%lu,\"ra_wasted\":%lu,\"bs\":%u}",
			     dev_name, work, (unsigned long)b.bytes, (unsigned long)b.files,
			     FIX(ns / FSB_NS_PER_MS, THOUSANDTHS), FIX(mbps100, HUNDREDTHS), FIX(files10, TENTHS),
			     (unsigned long)(c1.bios - c0.bios), (unsigned long)requests, FIX(rq_kib10, TENTHS),
			     (unsigned long)cs.hits, (unsigned long)cs.readahead_kib, (unsigned long)cs.prefetches,
			     (unsigned long)cs.ra_hits, (unsigned long)cs.ra_wasted, b.bs);
		kprintf("%s\n", line);
	}
	err = 0;
out:
	fs_unmount(b.fs);
	kfree(b.buf);
	return err;
}
JOB("fsbench", fsbench_keys, fsbench_fn);

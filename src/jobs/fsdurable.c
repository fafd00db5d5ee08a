/*
 * run=fsdurable dev=vda seed=1 files=200 dir=/durable: what fsync promises,
 * made checkable from outside (docs/interface.md, "Filesystem (ext2)").
 *
 * On a read-write mount it makes dir (which must not exist yet) and syncs
 * the file system, so that the directory itself is on the disk. Then, one
 * file at a time, it creates dir/file-NNNN, writes it (a size from 0 to 1 MiB
 * and contents drawn from a PRNG seeded with `seed`, in pieces of up to 64
 * KiB), calls fs_fsync and, once that returned 0, prints
 *   FSSYNCED size=B sha256=H path=P
 * and never touches the file again. The test kills the machine at a random
 * moment: after the host's e2fsck -fy, every file with such a line must be
 * there with exactly that size and contents (tools/fs-check fsdurable).
 * When all files are done it unmounts and prints
 *   FSDURABLE dev=D files=F bytes=B
 * Any failure stops it with a line saying what failed and RESULT FAIL.
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
#include <levblk/lib/sha256.h>
#include <levblk/lib/string.h>

#define FSD_SIZE_MAX   (1u << 20)    /* bytes of one file at most */
#define FSD_PIECE_MAX  (64u * 1024u) /* bytes of one fs_write at most */
#define FSD_FILES_MAX  100000u
#define FSD_PATH_MAX   512u
#define FSD_FILE_MODE  0644u
#define FSD_DIR_MODE   0755u

static const char *const fsdurable_keys[] = {"dev", "seed", "files", "dir", NULL};

/* Writes one file of size bytes from rng, fsyncs it, and hashes what was written into digest. */
static int fsd_one(struct fs *fs, const char *path, uint32_t size, struct prng *rng, uint8_t *buf,
		   uint8_t digest[SHA256_DIGEST_BYTES])
{
	struct sha256_ctx ctx;
	struct fs_file *f;
	uint32_t off = 0;
	int err = fs_create(fs, path, FSD_FILE_MODE, &f);

	if (err != 0) {
		kprintf("fsdurable: create %s failed (%d)\n", path, err);
		return err;
	}
	sha256_init(&ctx);
	while (off < size) {
		/* Pieces of uneven length, so writes start and end inside blocks. */
		uint32_t len = 1u + (uint32_t)prng_below(rng, FSD_PIECE_MAX);
		size_t done = 0;
		len = len < size - off ? len : size - off;
		for (uint32_t i = 0; i < len; i += 8) {
			uint64_t x = prng_next(rng);
			memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
		}
		err = fs_write(f, off, buf, len, &done);
		if (err == 0 && done != len)
			err = -EIO;
		if (err != 0) {
			kprintf("fsdurable: write of %s at %u failed (%d)\n", path, off, err);
			fs_close(f);
			return err;
		}
		sha256_update(&ctx, buf, len);
		off += len;
	}
	err = fs_fsync(f);
	fs_close(f);
	if (err != 0) {
		kprintf("fsdurable: fsync of %s failed (%d)\n", path, err);
		return err;
	}
	sha256_final(&ctx, digest);
	return 0;
}

static int fsdurable_fn(const char **why)
{
	const char *dev_name = arg_str("dev", "vda");
	const char *dir = arg_str("dir", "/durable");
	struct blkdev *dev = blkdev_find(dev_name);
	uint8_t digest[SHA256_DIGEST_BYTES];
	char hex[SHA256_HEX_BYTES], path[FSD_PATH_MAX];
	uint64_t seed, files, bytes = 0, synced = 0;
	struct prng rng;
	struct fs *fs;
	uint8_t *buf;
	int err;

	if (dev == NULL || arg_u64("seed", 1, 0, UINT64_MAX, &seed) != 0 ||
	    arg_u64("files", 200, 1, FSD_FILES_MAX, &files) != 0 || dir[0] != '/' || dir[1] == '\0' ||
	    strlen(dir) > FSD_PATH_MAX / 2) {
		kprintf("fsdurable: dev= must name a disk, files= 1..%u, dir= an absolute path other than /\n",
			FSD_FILES_MAX);
		*why = "bad argument";
		return -EINVAL;
	}
	buf = kmalloc(FSD_PIECE_MAX);
	if (buf == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	prng_seed(&rng, seed);
	err = fs_mount(dev, 0, &fs);
	if (err != 0) {
		kfree(buf);
		*why = "mount failed";
		return err;
	}
	err = fs_mkdir(fs, dir, FSD_DIR_MODE);
	if (err != 0)
		kprintf("fsdurable: cannot make %s (%d)%s\n", dir, err, err == -EEXIST ? ": it must not exist yet" : "");
	else if ((err = fs_sync(fs)) != 0)
		kprintf("fsdurable: sync after making %s failed (%d)\n", dir, err);
	while (err == 0 && synced < files) {
		uint32_t size = (uint32_t)prng_below(&rng, FSD_SIZE_MAX + 1u);
		fmt_snprintf(path, sizeof(path), "%s/file-%04lu", dir, (unsigned long)synced);
		err = fsd_one(fs, path, size, &rng, buf, digest);
		if (err == 0) {
			sha256_hex(digest, hex);
			kprintf("FSSYNCED size=%u sha256=%s path=%s\n", size, hex, path);
			bytes += size;
			synced++;
		}
	}
	{
		int uerr = fs_unmount(fs);
		if (uerr != 0)
			kprintf("fsdurable: unmount failed (%d)\n", uerr);
		err = err != 0 ? err : uerr;
	}
	kprintf("FSDURABLE dev=%s files=%lu bytes=%lu\n", dev_name, (unsigned long)synced,
		(unsigned long)bytes);
	kfree(buf);
	if (err != 0)
		*why = "file system operation failed";
	return err;
}
JOB("fsdurable", fsdurable_keys, fsdurable_fn);

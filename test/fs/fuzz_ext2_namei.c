/*
 * libFuzzer target for the ext2 write side's namespace operations: the input
 * is a whole disk image, mounted read-write in memory, and a fixed sequence
 * of create, mkdir, symlink (fast and slow), link, rename (file, directory,
 * over an existing name), unlink and rmdir runs on it, each allowed to fail.
 * Whatever the image holds, none may crash, trip a sanitizer, leave a block
 * held, or take a block writable twice. Seeds: the images of fuzz_ext2_seeds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ext2_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void release_orphan(struct ext2_vol *v, struct ext2_inode_info *before, int err, uint32_t orphan)
{
	/* The inode as it was before the call; the call may have orphaned it. */
	if (err == 0 && orphan != 0 && orphan == before->ino) {
		before->links = 0;
		(void)ext2_inode_release(v, before);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char slow[] = "a-slow-symlink-target/that/is/longer/than/sixty/bytes/so/it/needs/a/block";
	struct himg h = { .len = size, .quiet = 1 };
	struct ext2_inode_info ip, victim;
	struct ext2_vol v;
	uint32_t orphan;
	int err;

	h.bytes = malloc(size != 0 ? size : 1);
	if (h.bytes == NULL)
		return 0;
	memcpy(h.bytes, data, size);
	if (himg_mount(&h, &v) != 0)
		goto out;
	(void)ext2_create(&v, "/new", 0644, &ip);
	(void)ext2_mkdir(&v, "/d/newdir", 0755, &ip);
	(void)ext2_symlink(&v, "f", "/d/e/fastlink");
	(void)ext2_symlink(&v, slow, "/d/slowlink");
	(void)ext2_link(&v, "/f", "/d/e/f/hard2");
	(void)ext2_rename(&v, "/d/entry-1", "/moved", &orphan);
	if (ext2_path_lookup(&v, "/d/entry-3", &victim) != 0)
		victim.ino = 0;
	err = ext2_rename(&v, "/d/entry-2", "/d/entry-3", &orphan);
	release_orphan(&v, &victim, err, orphan);
	(void)ext2_rename(&v, "/d/e", "/d/newdir/e", &orphan);
	(void)ext2_rename(&v, "/d", "/d/newdir/x", &orphan);
	if (ext2_path_lookup(&v, "/d/entry-4", &victim) != 0)
		victim.ino = 0;
	err = ext2_unlink(&v, "/d/entry-4", &orphan);
	release_orphan(&v, &victim, err, orphan);
	if (ext2_path_lookup(&v, "/d/newdir/e/f", &victim) != 0)
		victim.ino = 0;
	err = ext2_rmdir(&v, "/d/newdir/e/f", &orphan);
	release_orphan(&v, &victim, err, orphan);
	(void)ext2_super_write(&v, EXT2_VALID_FS);
out:
	if (h.gets != h.puts || h.conflicts != 0 || h.held != NULL)
		abort();
	free(h.bytes);
	return 0;
}

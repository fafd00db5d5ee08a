/*
 * libFuzzer target for the ext2 reading core: the input is a whole disk
 * image; it is mounted (superblock and group checks) and walked (every
 * directory, inode, the start and end of every file, every symlink) with
 * bounds small enough for the fuzzer's time limit. Any crash, sanitizer
 * report or block left held is a bug. The write core then runs on a copy of
 * the image (write_phase). Seeds: small images the host's
 * mke2fs makes at test time (fuzz_ext2_seeds).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ext2_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inodes past the first ordinary one whose truncate and write the fuzzer tries. */
#define FUZZ_WRITE_INODES 8u

/*
 * The write side on the damaged image: existing files truncated (freeing
 * through their fuzzed indirect trees) and written at their end, then a new
 * file written across the indirect boundaries and released. Errors are
 * expected; crashes, blocks left held and blocks held twice are not.
 */
static void write_phase(struct ext2_vol *v)
{
	static const uint8_t bytes[64] = { 1, 2, 3 };
	const uint64_t bs = v->g.block_bytes, p = bs / 4u;
	const uint64_t offs[] = { 0, 11 * bs + 7, 12 * bs, (12 + p) * bs - 5, (12 + p + p * p) * bs };
	struct ext2_inode_info ip;
	size_t done;

	for (uint32_t ino = v->g.first_ino; ino < v->g.first_ino + FUZZ_WRITE_INODES && ino <= v->g.inodes_count;
	     ino++) {
		if (ext2_inode_get(v, ino, &ip) != 0 || !ext2_is_reg(&ip))
			continue;
		if (ext2_truncate(v, &ip, ip.size / 2u) == 0)
			(void)ext2_file_write(v, &ip, ip.size + bs, bytes, sizeof(bytes), &done);
	}
	if (ext2_inode_new(v, EXT2_ROOT_INO, EXT2_S_IFREG | 0644u, &ip) != 0)
		return;
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		(void)ext2_file_write(v, &ip, offs[i], bytes, sizeof(bytes), &done);
	(void)ext2_truncate(v, &ip, 12 * bs + 1);
	(void)ext2_inode_release(v, &ip);
	(void)ext2_super_write(v, EXT2_VALID_FS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct himg h = { .bytes = (uint8_t *)(uintptr_t)data, .len = size, .quiet = 1 };
	struct himg_walk_stats st = { .max_entries = 2000, .max_file_bytes = 16384, .max_dir_bytes = 1u << 20 };
	struct ext2_vol v;

	if (himg_mount(&h, &v) == 0) {
		himg_walk(&v, &st);
		/* The input is read-only: the writes go to a copy. */
		h.bytes = malloc(size);
		if (h.bytes == NULL)
			abort();
		memcpy(h.bytes, data, size);
		write_phase(&v);
		free(h.bytes);
	}
	if (h.gets != h.puts || h.conflicts != 0 || h.held != NULL)
		abort();
	return 0;
}

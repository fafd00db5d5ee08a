/*
 * libFuzzer target for the ext2 reading core: the input is a whole disk
 * image; it is mounted (superblock and group checks) and walked (every
 * directory, inode, the start and end of every file, every symlink) with
 * bounds small enough for the fuzzer's time limit. Any crash, sanitizer
 * report or block left held is a bug. Seeds: small images the host's
 * mke2fs makes at test time (fuzz_ext2_seeds).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ext2_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct himg h = { .bytes = (uint8_t *)(uintptr_t)data, .len = size, .quiet = 1 };
	struct himg_walk_stats st = { .max_entries = 2000, .max_file_bytes = 16384, .max_dir_bytes = 1u << 20 };
	struct ext2_vol v;

	if (himg_mount(&h, &v) == 0)
		himg_walk(&v, &st);
	if (h.gets != h.puts)
		abort();
	return 0;
}

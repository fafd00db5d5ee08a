/*
 * Readahead window rules for one open file: pure arithmetic on logical
 * block numbers, so the rules are tested on the host (test/fs). The caller
 * reports each demand read and gets back the blocks to prefetch.
 *
 * Rules:
 *   - a read that starts where the previous one ended (or inside the block
 *     it ended in) is sequential: the window doubles, from FS_RA_MIN_BLOCKS
 *     up to the maximum (fs.readahead_kib); any other read is random: the
 *     window shrinks to a quarter and what was prefetched ahead is forgotten;
 *   - prefetches are issued in batches: nothing while more than half a window
 *     is already prefetched ahead of the read, then up to a full window ahead,
 *     never past the end of the file; so each batch is many adjacent blocks
 *     that a plug can merge into few requests;
 *   - a maximum of 0 turns readahead off.
 * Readahead runs after the demand read it follows, so it never delays one.
 */
#ifndef LEVBLK_FS_READAHEAD_H
#define LEVBLK_FS_READAHEAD_H

#include <stdint.h>

#define FS_RA_MIN_BLOCKS 4u

struct fs_ra {
	uint64_t next;      /* the block after the last demand read */
	uint64_t issued;    /* prefetches were issued for blocks below this */
	uint32_t window;    /* blocks, 0 after random reads */
};

void fs_ra_init(struct fs_ra *ra);
/*
 * A demand read covered blocks [first, end) of a file of file_blocks blocks;
 * max_window is the largest window in blocks. Sets [*pf_first, *pf_end) to
 * the blocks to prefetch now (empty when *pf_first == *pf_end).
 */
void fs_ra_advance(struct fs_ra *ra, uint64_t first, uint64_t end, uint64_t file_blocks, uint32_t max_window,
		   uint64_t *pf_first, uint64_t *pf_end);

#endif

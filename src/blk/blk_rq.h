/* Segment arithmetic of the block core (blk_rq.c). Private to src/blk. */
#ifndef LEVBLK_BLK_RQ_H
#define LEVBLK_BLK_RQ_H

#include <stdint.h>
#include <levblk/bio.h>

/* Wire segments that `bytes` of bio's data from (seg, off) take. */
uint32_t blk_count_segs(const struct bio *bio, uint32_t seg, uint32_t off, uint64_t bytes,
			uint32_t max_seg_bytes);
/* Moves (seg, off) forward by `bytes` of bio's data (inline: once per part placed). */
static inline void blk_advance_cursor(const struct bio *bio, uint32_t *seg, uint32_t *off,
				      uint64_t bytes)
{
	while (bytes) {
		uint64_t piece = bio->bio_segs[*seg].len - *off;
		if (piece > bytes) {
			*off += (uint32_t)bytes;
			return;
		}
		bytes -= piece;
		(*seg)++;
		*off = 0;
	}
}
uint64_t blk_fit_bytes(const struct bio *bio, uint32_t max_segs, uint64_t max_bytes, uint32_t lbs,
		       uint32_t max_seg_bytes, uint32_t *nsegs);

#endif

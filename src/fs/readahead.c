/* Readahead window rules, see readahead.h. */
#include <stdbool.h>

#include "readahead.h"

void fs_ra_init(struct fs_ra *ra)
{
	ra->next = 0;
	ra->issued = 0;
	ra->window = 0;
}

void fs_ra_advance(struct fs_ra *ra, uint64_t first, uint64_t end, uint64_t file_blocks, uint32_t max_window,
		   uint64_t *pf_first, uint64_t *pf_end)
{
	/* A read inside the block the last one ended in (smaller reads than a block) still continues it. */
	bool sequential = first == ra->next || (ra->next != 0 && first == ra->next - 1u);
	uint64_t target;

	*pf_first = *pf_end = end;
	if (sequential) {
		/* Doubling, but at least twice the read itself: a 64 KiB reader wants more than 4 blocks ahead. */
		uint64_t grown = ra->window == 0 ? FS_RA_MIN_BLOCKS : 2u * (uint64_t)ra->window;
		if (grown < 2u * (end - first))
			grown = 2u * (end - first);
		ra->window = grown < max_window ? (uint32_t)grown : max_window;
	} else {
		ra->window /= 4u;
		ra->issued = end;
	}
	ra->next = end;
	if (ra->issued < end)
		ra->issued = end;
	/*
	 * Strictly more than half a window ahead: wait. So a block-by-block
	 * reader with a full window issues exactly half a window each time, a
	 * size that stays the same batch after batch (with a window of a power
	 * of two, whole requests of the device's largest size).
	 */
	if (ra->window == 0 || ra->issued - end > ra->window / 2u)
		return;
	target = end + ra->window;
	if (target > file_blocks)
		target = file_blocks;
	if (ra->issued >= target)
		return;
	*pf_first = ra->issued;
	*pf_end = target;
	ra->issued = target;
}

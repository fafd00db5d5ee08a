/*
 * Partition tables: which format a disk holds, and the checks every format
 * shares (src/blk/part_table.h). Pure code: no I/O except through the
 * caller's read callback, no allocation.
 */
#include <levblk/errno.h>
#include <levblk/lib/string.h>
#include "part_table.h"

static bool lbs_supported(uint32_t lbs)
{
	return lbs >= PART_LBS_MIN && lbs <= PART_LBS_MAX && (lbs & (lbs - 1)) == 0;
}

int part_add(const struct part_src *src, struct part_table *out, uint32_t num, uint64_t first,
	     uint64_t nblocks, uint64_t lo, uint64_t hi)
{
	uint64_t per_block = src->lbs / 512u;

	/* hi < src->nblocks (callers pass it so), so no sum below can wrap. */
	if (nblocks == 0 || first < lo || first > hi || nblocks - 1 > hi - first) {
		out->why = "a partition lies outside the disk (or its table's usable blocks)";
		return -EINVAL;
	}
	if (out->n >= PART_MAX) {
		out->why = "more partitions than the layer supports (128)";
		return -EINVAL;
	}
	out->e[out->n++] = (struct part_entry){
	    .num = num, .start = first * per_block, .nsectors = nblocks * per_block};
	return 0;
}

int part_finish(struct part_table *out)
{
	/* Insertion sort: at most PART_MAX entries, usually already in order. */
	for (uint32_t i = 1; i < out->n; i++) {
		struct part_entry e = out->e[i];
		uint32_t j = i;

		while (j > 0 && out->e[j - 1].start > e.start) {
			out->e[j] = out->e[j - 1];
			j--;
		}
		out->e[j] = e;
	}
	for (uint32_t i = 1; i < out->n; i++) {
		const struct part_entry *a = &out->e[i - 1];

		/* a->start + a->nsectors cannot wrap: part_add kept both inside the disk. */
		if (a->start + a->nsectors > out->e[i].start) {
			out->why = "overlapping partitions";
			return -EINVAL;
		}
	}
	return 0;
}

int part_table_read(const struct part_src *src, struct part_table *out)
{
	uint8_t mbr[512];
	int err;

	memset(out, 0, sizeof(*out));
	if (!lbs_supported(src->lbs) || src->nblocks > UINT64_MAX / (src->lbs / 512u)) {
		out->why = "unsupported disk geometry for a partition table";
		return -EINVAL;
	}
	if (src->nblocks < 2)
		return 0; /* no room for a table and a partition */
	err = src->read(src->ctx, 0, src->buf);
	if (err)
		return err;
	/* The MBR is the first 512 bytes of block 0, whatever the block size. */
	memcpy(mbr, src->buf, sizeof(mbr));
	if (!part_mbr_valid(mbr))
		return 0;
	if (part_mbr_protective(mbr)) {
		out->kind = PART_KIND_GPT;
		err = part_gpt_read(src, out);
	} else {
		out->kind = PART_KIND_MBR;
		err = part_mbr_read(src, mbr, out);
	}
	if (err)
		out->n = 0;
	return err;
}

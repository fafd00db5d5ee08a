/*
 * libFuzzer target for the partition-table parser (src/blk/part_*.c): the
 * fuzzer writes the disk. Input: one byte of geometry, then the disk's
 * blocks. Geometry bit 0: 4096-byte blocks (else 512); bits 1-2: blocks of
 * zeros after the input (so the last block, where the GPT backup lives, is
 * sometimes the input's and sometimes not). Reads past the disk abort.
 *
 * Checked on every input: the result is 0, -EINVAL or a read error; a table
 * that parses has at most PART_MAX partitions, each non-empty, inside the
 * disk and clear of block 0, in ascending order without overlaps; a failure
 * leaves none and names its reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <levblk/errno.h>
#include "blk/part_table.h"

struct fuzz_disk {
	const uint8_t *data;
	size_t len;
	uint32_t lbs;
	uint64_t nblocks;
};

static int fuzz_read(void *ctx, uint64_t lba, void *buf)
{
	const struct fuzz_disk *d = ctx;
	uint64_t off = lba * d->lbs;

	if (lba >= d->nblocks)
		abort(); /* the parser read outside the disk */
	memset(buf, 0, d->lbs);
	if (off < d->len)
		memcpy(buf, d->data + off, d->len - off < d->lbs ? d->len - off : d->lbs);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t scratch[2 * 4096];
	static struct part_table t;
	struct fuzz_disk d;

	if (size < 1)
		return 0;
	d.lbs = (data[0] & 1) ? 4096 : 512;
	d.data = data + 1;
	d.len = size - 1;
	d.nblocks = (d.len + d.lbs - 1) / d.lbs + ((data[0] >> 1) & 3);
	struct part_src src = {
	    .read = fuzz_read, .ctx = &d, .lbs = d.lbs, .nblocks = d.nblocks, .buf = scratch};
	int err = part_table_read(&src, &t);

	if (err) {
		if (err != -EINVAL || t.n != 0 || !t.why)
			abort();
		return 0;
	}
	if (t.n > PART_MAX || t.why || (t.kind == PART_KIND_NONE && t.n))
		abort();
	uint64_t disk_sectors = d.nblocks * (d.lbs / 512u), prev_end = d.lbs / 512u;
	for (uint32_t i = 0; i < t.n; i++) {
		const struct part_entry *e = &t.e[i];
		if (e->nsectors == 0 || e->start < prev_end || e->start > disk_sectors ||
		    e->nsectors > disk_sectors - e->start || e->num == 0)
			abort();
		prev_end = e->start + e->nsectors;
	}
	return 0;
}

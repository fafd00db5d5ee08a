/*
 * The GUID partition table (UEFI specification, chapter 5): a header in
 * block 1 and an array of entries, both with a CRC32, and a backup copy of
 * both at the end of the disk (header in the last block). Blocks are the
 * disk's logical blocks.
 *
 * The header's fields (little-endian):
 *   0 "EFI PART"  12 header size  16 header CRC32 (computed with this field 0)
 *   24 this header's LBA  32 the other header's LBA  40 first usable LBA
 *   48 last usable LBA  72 entries LBA  80 entry count  84 entry size
 *   88 entries CRC32 (over count * size bytes)
 * An entry: 0 type GUID (all zero: unused)  32 first LBA  40 last LBA
 * (inclusive). Entry N (from 1) is partition N.
 *
 * The primary is read first; if anything about it is wrong (header, CRCs,
 * entries), the backup in the disk's last block is read instead. Nothing
 * is written back: repairing the disk is a tool's job, not the kernel's.
 */
#include <levblk/errno.h>
#include <levblk/lib/crc32.h>
#include <levblk/lib/string.h>
#include "part_table.h"

#define GPT_PRIMARY_LBA	    1u
#define GPT_SIG		    "EFI PART"
#define GPT_SIG_LEN	    8u
#define GPT_H_SIZE	    12u
#define GPT_H_CRC	    16u
#define GPT_H_MY_LBA	    24u
#define GPT_H_FIRST_USABLE  40u
#define GPT_H_LAST_USABLE   48u
#define GPT_H_ENTRIES_LBA   72u
#define GPT_H_ENTRY_COUNT   80u
#define GPT_H_ENTRY_SIZE    84u
#define GPT_H_ENTRIES_CRC   88u
#define GPT_HEADER_MIN	    92u /* bytes the fields above take */
#define GPT_ENTRY_MIN	    128u
#define GPT_E_TYPE	    0u
#define GPT_E_TYPE_LEN	    16u
#define GPT_E_FIRST	    32u
#define GPT_E_LAST	    40u
#define GPT_E_USED_BYTES    48u /* bytes of an entry the parser reads */

struct gpt_header {
	uint64_t first_usable, last_usable;
	uint64_t entries_lba, array_bytes, array_blocks;
	uint32_t count, entry_size, entries_crc;
};

/* The header in block `lba`, checked; 0, a read error, or -EINVAL with *why set. */
static int gpt_header(const struct part_src *src, uint64_t lba, struct gpt_header *h,
		      const char **why)
{
	const uint8_t *b = src->buf;
	static const uint8_t zero_crc[4];
	uint32_t hsize, crc;
	int err;

	err = src->read(src->ctx, lba, src->buf);
	if (err)
		return err;
	if (memcmp(b, GPT_SIG, GPT_SIG_LEN) != 0) {
		*why = "no GPT header signature";
		return -EINVAL;
	}
	hsize = part_le32(b + GPT_H_SIZE);
	if (hsize < GPT_HEADER_MIN || hsize > src->lbs) {
		*why = "bad GPT header size";
		return -EINVAL;
	}
	/* The CRC covers the header with its own CRC field taken as zero. */
	crc = crc32_update(CRC32_INIT, b, GPT_H_CRC);
	crc = crc32_update(crc, zero_crc, sizeof(zero_crc));
	crc = crc32_final(crc32_update(crc, b + GPT_H_CRC + 4, hsize - GPT_H_CRC - 4));
	if (crc != part_le32(b + GPT_H_CRC)) {
		*why = "bad GPT header CRC";
		return -EINVAL;
	}
	if (part_le64(b + GPT_H_MY_LBA) != lba) {
		*why = "GPT header names another block as its own";
		return -EINVAL;
	}
	h->first_usable = part_le64(b + GPT_H_FIRST_USABLE);
	h->last_usable = part_le64(b + GPT_H_LAST_USABLE);
	h->entries_lba = part_le64(b + GPT_H_ENTRIES_LBA);
	h->count = part_le32(b + GPT_H_ENTRY_COUNT);
	h->entry_size = part_le32(b + GPT_H_ENTRY_SIZE);
	h->entries_crc = part_le32(b + GPT_H_ENTRIES_CRC);
	/* Usable blocks inside the disk, leaving out block 0 (MBR) and this header. */
	if (h->first_usable == 0 || h->first_usable > h->last_usable ||
	    h->last_usable >= src->nblocks || (lba >= h->first_usable && lba <= h->last_usable)) {
		*why = "GPT usable blocks outside the disk";
		return -EINVAL;
	}
	/* UEFI: 128 * 2^n bytes per entry. Powers of two also keep an entry's fields in one block. */
	if (h->entry_size < GPT_ENTRY_MIN || (h->entry_size & (h->entry_size - 1)) ||
	    h->entry_size > PART_GPT_ARRAY_MAX) {
		*why = "bad GPT entry size";
		return -EINVAL;
	}
	if (h->count > PART_GPT_ENTRIES_MAX ||
	    (uint64_t)h->count * h->entry_size > PART_GPT_ARRAY_MAX) {
		*why = "GPT entry array too large";
		return -EINVAL;
	}
	h->array_bytes = (uint64_t)h->count * h->entry_size;
	h->array_blocks = (h->array_bytes + src->lbs - 1) / src->lbs;
	/* The array: inside the disk, clear of block 0, the header and the usable blocks. */
	if (h->array_blocks &&
	    (h->entries_lba == 0 || h->entries_lba >= src->nblocks ||
	     h->array_blocks > src->nblocks - h->entries_lba ||
	     (lba >= h->entries_lba && lba < h->entries_lba + h->array_blocks) ||
	     (h->entries_lba <= h->last_usable &&
	      h->entries_lba + h->array_blocks > h->first_usable))) {
		*why = "GPT entry array outside the disk or over usable blocks";
		return -EINVAL;
	}
	return 0;
}

/* One entry's first bytes (e): adds the partition unless unused. */
static int gpt_entry(const struct part_src *src, const struct gpt_header *h, uint32_t idx,
		     const uint8_t *e, struct part_table *out)
{
	static const uint8_t unused[GPT_E_TYPE_LEN];
	uint64_t first = part_le64(e + GPT_E_FIRST), last = part_le64(e + GPT_E_LAST);

	if (memcmp(e + GPT_E_TYPE, unused, sizeof(unused)) == 0)
		return 0;
	if (first > last || last > h->last_usable) {
		out->why = "a GPT entry lies outside the usable blocks";
		return -EINVAL;
	}
	/* last - first + 1 cannot wrap: last <= last_usable < nblocks. */
	return part_add(src, out, idx + 1, first, last - first + 1, h->first_usable,
			h->last_usable);
}

/*
 * Reads the array block by block: the CRC over all of it, the entries as
 * they come. A bad entry stops adding but not the CRC, so a corrupted array
 * is reported as such rather than by whatever its garbage looked like.
 */
static int gpt_entries(const struct part_src *src, const struct gpt_header *h,
		       struct part_table *out)
{
	uint8_t *blk = src->buf + src->lbs;
	uint32_t crc = CRC32_INIT;
	uint64_t next = 0; /* byte offset in the array of the next entry to parse */
	int bad = 0, err;

	for (uint64_t b = 0; b < h->array_blocks; b++) {
		uint64_t base = b * src->lbs;
		uint64_t chunk = h->array_bytes - base < src->lbs ? h->array_bytes - base : src->lbs;

		err = src->read(src->ctx, h->entries_lba + b, blk);
		if (err)
			return err;
		crc = crc32_update(crc, blk, (size_t)chunk);
		/* Entries are powers of two >= 128 bytes: each one's fields lie in one block. */
		for (; next < base + chunk; next += h->entry_size) {
			if (!bad)
				bad = gpt_entry(src, h, (uint32_t)(next / h->entry_size),
						blk + (next - base), out);
		}
	}
	if (crc32_final(crc) != h->entries_crc) {
		out->why = "bad GPT entries CRC";
		return -EINVAL;
	}
	return bad ? bad : part_finish(out);
}

/* One copy of the table (header at lba); on failure out->why says why. */
static int gpt_copy(const struct part_src *src, uint64_t lba, struct part_table *out)
{
	struct gpt_header h;
	int err;

	out->n = 0;
	out->why = NULL;
	err = gpt_header(src, lba, &h, &out->why);
	if (err)
		return err;
	return gpt_entries(src, &h, out);
}

int part_gpt_read(const struct part_src *src, struct part_table *out)
{
	int err = gpt_copy(src, GPT_PRIMARY_LBA, out);
	const char *primary_why = out->why;

	if (err != -EINVAL)
		return err;
	/* The primary is damaged: the backup header lives in the disk's last block. */
	err = gpt_copy(src, src->nblocks - 1, out);
	if (err == 0)
		out->note = primary_why;
	else if (err == -EINVAL)
		out->why = primary_why; /* the primary's problem is the one to report */
	return err;
}

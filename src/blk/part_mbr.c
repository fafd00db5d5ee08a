/*
 * The MBR (DOS) partition table: four primary slots in block 0, and
 * logical partitions in an extended one, each described by an EBR (extended
 * boot record) that also points to the next EBR.
 *
 * Block 0, bytes 446..509: four 16-byte entries; bytes 510-511: 0x55 0xAA.
 * An entry: byte 0 boot flag (0x00 or 0x80), byte 4 type, bytes 8-11 first
 * block, bytes 12-15 length in blocks (little-endian; the CHS fields are
 * ignored). Blocks are the disk's logical blocks.
 *
 * An EBR has the same layout. Its first entry is a logical partition,
 * relative to the EBR's own block; its second, if of an extended type,
 * points to the next EBR, relative to the start of the extended partition.
 * The chain is read from the disk, so it may loop or wander: every EBR must
 * lie inside the extended partition and at most PART_MAX are followed.
 */
#include <levblk/errno.h>
#include "part_table.h"

#define MBR_ENTRIES_OFF	 446u
#define MBR_ENTRY_BYTES	 16u
#define MBR_SIG_OFF	 510u
#define MBR_SIG0	 0x55u
#define MBR_SIG1	 0xAAu
#define MBR_E_BOOT	 0u
#define MBR_E_TYPE	 4u
#define MBR_E_FIRST	 8u
#define MBR_E_LEN	 12u
#define MBR_BOOT_ACTIVE	 0x80u
#define MBR_TYPE_EMPTY	 0x00u
#define MBR_TYPE_EXT_CHS 0x05u /* extended partition types */
#define MBR_TYPE_EXT_LBA 0x0Fu
#define MBR_TYPE_EXT_LNX 0x85u
#define MBR_TYPE_GPT	 0xEEu /* protective: the disk holds a GPT */

struct mbr_entry {
	uint8_t type;
	uint64_t first, len; /* blocks; 32-bit on disk */
};

static struct mbr_entry mbr_entry(const uint8_t *sector, unsigned int i)
{
	const uint8_t *e = sector + MBR_ENTRIES_OFF + i * MBR_ENTRY_BYTES;

	return (struct mbr_entry){
	    .type = e[MBR_E_TYPE], .first = part_le32(e + MBR_E_FIRST), .len = part_le32(e + MBR_E_LEN)};
}

static bool mbr_is_extended(uint8_t type)
{
	return type == MBR_TYPE_EXT_CHS || type == MBR_TYPE_EXT_LBA || type == MBR_TYPE_EXT_LNX;
}

static bool mbr_empty(const struct mbr_entry *e)
{
	return e->type == MBR_TYPE_EMPTY || e->len == 0;
}

static bool mbr_sig_ok(const uint8_t *sector)
{
	return sector[MBR_SIG_OFF] == MBR_SIG0 && sector[MBR_SIG_OFF + 1] == MBR_SIG1;
}

/*
 * A signature alone is not enough: a filesystem's boot sector has one too.
 * Like Linux, also require every boot flag to be 0x00 or 0x80.
 */
bool part_mbr_valid(const uint8_t *mbr)
{
	if (!mbr_sig_ok(mbr))
		return false;
	for (unsigned int i = 0; i < PART_MBR_PRIMARIES; i++) {
		uint8_t boot = mbr[MBR_ENTRIES_OFF + i * MBR_ENTRY_BYTES + MBR_E_BOOT];
		if (boot != 0 && boot != MBR_BOOT_ACTIVE)
			return false;
	}
	return true;
}

bool part_mbr_protective(const uint8_t *mbr)
{
	for (unsigned int i = 0; i < PART_MBR_PRIMARIES; i++) {
		if (mbr_entry(mbr, i).type == MBR_TYPE_GPT)
			return true;
	}
	return false;
}

/* Follows the EBR chain of the extended partition [ext_first, ext_last]. */
static int mbr_read_logicals(const struct part_src *src, struct part_table *out,
			     uint64_t ext_first, uint64_t ext_last)
{
	uint64_t ebr = ext_first;
	uint32_t num = PART_MBR_FIRST_LOGIC;
	int err;

	for (uint32_t hops = 0;; hops++) {
		if (hops >= PART_MAX) {
			out->why = "EBR chain too long (or looping)";
			return -EINVAL;
		}
		err = src->read(src->ctx, ebr, src->buf);
		if (err)
			return err;
		/* No signature: the chain ends here (an empty extended partition has none). */
		if (!mbr_sig_ok(src->buf))
			return 0;
		struct mbr_entry data = mbr_entry(src->buf, 0);
		struct mbr_entry next = mbr_entry(src->buf, 1);

		if (!mbr_empty(&data) && !mbr_is_extended(data.type)) {
			/* After its own EBR and inside the extended partition; ebr + first < 2^33. */
			err = part_add(src, out, num++, ebr + data.first, data.len, ebr + 1, ext_last);
			if (err)
				return err;
		}
		if (mbr_empty(&next) || !mbr_is_extended(next.type))
			return 0;
		if (next.first > ext_last - ext_first || next.first == 0) {
			out->why = "an EBR points outside its extended partition";
			return -EINVAL;
		}
		ebr = ext_first + next.first;
	}
}

int part_mbr_read(const struct part_src *src, const uint8_t *mbr, struct part_table *out)
{
	uint64_t last = src->nblocks - 1; /* block 0 is the MBR itself */
	bool have_ext = false;
	uint64_t ext_first = 0, ext_last = 0;
	int err;

	for (unsigned int i = 0; i < PART_MBR_PRIMARIES; i++) {
		struct mbr_entry e = mbr_entry(mbr, i);

		if (mbr_empty(&e))
			continue;
		if (mbr_is_extended(e.type)) {
			if (have_ext) {
				out->why = "two extended partitions";
				return -EINVAL;
			}
			if (e.first < 1 || e.first > last || e.len - 1 > last - e.first) {
				out->why = "the extended partition lies outside the disk";
				return -EINVAL;
			}
			have_ext = true;
			ext_first = e.first;
			ext_last = e.first + e.len - 1;
			continue;
		}
		err = part_add(src, out, i + 1, e.first, e.len, 1, last);
		if (err)
			return err;
	}
	if (have_ext) {
		/* Primaries must stay out of the extended partition: the logicals live there. */
		uint64_t per_block = src->lbs / 512u;
		for (uint32_t i = 0; i < out->n; i++) {
			uint64_t f = out->e[i].start / per_block;
			uint64_t l = f + out->e[i].nsectors / per_block - 1;
			if (f <= ext_last && l >= ext_first) {
				out->why = "overlapping partitions (a primary inside the extended one)";
				return -EINVAL;
			}
		}
		err = mbr_read_logicals(src, out, ext_first, ext_last);
		if (err)
			return err;
	}
	return part_finish(out);
}

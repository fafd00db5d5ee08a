/*
 * Partition-table parsing (MBR and GPT): pure code, shared with the host
 * tests and the fuzzer. It reads the disk through a callback, one logical
 * block at a time, and trusts nothing it reads: every count, size and
 * offset is bounded before use (docs/interface.md, Partitions).
 *
 * Units: the tables count logical blocks (512 or 4096 bytes, ...); what
 * comes out counts 512-byte sectors, like every other interface of the
 * layer.
 *
 * Outcomes of part_table_read():
 *   0        table found (kind MBR or GPT, n >= 0 partitions), or no table
 *            at all (kind NONE, n == 0);
 *   -EINVAL  a table is there but damaged (bad signature in an EBR, bad
 *            GPT header or entries CRC with no valid backup, entries outside
 *            the disk, overlapping entries, ...): n == 0 and `why` names the
 *            first problem found; the disk is to be used as a whole;
 *   other    the read callback's error (n == 0).
 * `note` is set (and the result is 0) when the primary GPT was damaged and
 * the backup was used instead: worth one line on the console.
 */
#ifndef LEVBLK_BLK_PART_TABLE_H
#define LEVBLK_BLK_PART_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define PART_MAX	     128u   /* partitions per disk */
#define PART_LBS_MIN	     512u   /* logical block sizes the parser takes */
#define PART_LBS_MAX	     65536u /* (powers of two in between) */
#define PART_MBR_PRIMARIES   4u
#define PART_MBR_FIRST_LOGIC 5u	     /* number of the first logical partition */
#define PART_GPT_ENTRIES_MAX 4096u   /* entries a GPT header may declare */
#define PART_GPT_ARRAY_MAX   (1u << 20) /* bytes of an entries array */

enum part_kind { PART_KIND_NONE = 0, PART_KIND_MBR, PART_KIND_GPT };

struct part_entry {
	uint32_t num;	   /* vdaN: GPT entry index + 1; MBR slot 1-4, logicals from 5 */
	uint64_t start;	   /* first 512-byte sector on the disk */
	uint64_t nsectors; /* length, 512-byte sectors, > 0 */
};

/* Reads logical block `lba` (one block of src->lbs bytes) into buf; 0 or a negated errno. */
typedef int (*part_read_fn)(void *ctx, uint64_t lba, void *buf);

struct part_src {
	part_read_fn read;
	void *ctx;
	uint32_t lbs;	  /* logical block size, bytes: a power of two in [PART_LBS_MIN, PART_LBS_MAX] */
	uint64_t nblocks; /* disk size in logical blocks */
	/* Scratch for the parser: 2 * lbs bytes, any alignment. */
	uint8_t *buf;
};

struct part_table {
	enum part_kind kind;
	uint32_t n; /* entries in e[], ascending start */
	struct part_entry e[PART_MAX];
	const char *why;  /* damaged: the first problem found (a static string) */
	const char *note; /* used the backup GPT: why the primary was refused */
};

int part_table_read(const struct part_src *src, struct part_table *out);

/* part_mbr.c, part_gpt.c: the two formats; out->kind is set by the caller. */
int part_mbr_read(const struct part_src *src, const uint8_t *mbr, struct part_table *out);
int part_gpt_read(const struct part_src *src, struct part_table *out);
/* True when the MBR in `mbr` (512 bytes) is valid and protective (an 0xEE entry). */
bool part_mbr_valid(const uint8_t *mbr);
bool part_mbr_protective(const uint8_t *mbr);

/*
 * part_table.c: adds one partition to out after the checks every format
 * shares: length > 0, inside [lo, hi] (logical blocks, hi inclusive), at
 * most PART_MAX. Blocks are converted to 512-byte sectors. 0 or -EINVAL
 * with out->why set.
 */
int part_add(const struct part_src *src, struct part_table *out, uint32_t num, uint64_t first,
	     uint64_t nblocks, uint64_t lo, uint64_t hi);
/* Sorts out->e by start and refuses overlaps: 0 or -EINVAL with out->why set. */
int part_finish(struct part_table *out);

/* Little-endian fields of on-disk structures, any alignment. */
static inline uint32_t part_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t part_le64(const uint8_t *p)
{
	return (uint64_t)part_le32(p) | (uint64_t)part_le32(p + 4) << 32;
}

#endif

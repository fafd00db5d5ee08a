/*
 * The bounce pool of a device: slots of DMA memory handed out as contiguous
 * runs, and the copies between them and a bio's segments. What it is for,
 * when the core uses it and the locking rule are in blk_bounce.h.
 */
#include <levblk/errno.h>
#include <levblk/hal/dma.h>
#include <levblk/init.h>
#include <levblk/lib/string.h>
#include "blk_bounce.h"

uint64_t blk_param_bounce = 0;
uint64_t blk_param_bounce_kib = 8192;
PARAM_U64("blk.bounce", blk_param_bounce, 0, 1,
	  "copy every transfer through the layer's own buffers (1: the device never sees caller "
	  "memory)");
PARAM_U64("blk.bounce_kib", blk_param_bounce_kib, 64, 1048576,
	  "bounce buffer memory per disk with blk.bounce=1, KiB");

/*
 * Without blk.bounce the pool only carries blocks that straddle too many
 * segments: rare, and small. A quarter of it per piece lets a few such
 * pieces be in flight at once.
 */
#define BOUNCE_SMALL_BYTES (256u * 1024u)
#define BOUNCE_SMALL_PIECE (BOUNCE_SMALL_BYTES / 4u)

#define MAP_BITS 64u

static bool slot_taken(const struct blk_bounce *b, uint32_t i)
{
	return (b->map[i / MAP_BITS] >> (i % MAP_BITS)) & 1u;
}

/* Sets (taken) or clears n slots from first: whole map words at once where it can. */
static void mark(struct blk_bounce *b, uint32_t first, uint32_t n, bool taken)
{
	uint32_t i = first, end = first + n;

	while (i < end) {
		uint32_t bit = i % MAP_BITS, k = MAP_BITS - bit;
		if (k > end - i)
			k = end - i;
		uint64_t m = k == MAP_BITS ? UINT64_MAX : (((uint64_t)1 << k) - 1) << bit;
		if (taken)
			b->map[i / MAP_BITS] |= m;
		else
			b->map[i / MAP_BITS] &= ~m;
		i += k;
	}
}

int blk_bounce_init(struct blk_bounce *b, uint64_t max_piece)
{
	bool all = blk_param_bounce != 0;
	uint64_t bytes = all ? blk_param_bounce_kib * 1024u : BOUNCE_SMALL_BYTES;
	uint64_t piece = all ? bytes : BOUNCE_SMALL_PIECE;

	memset(b, 0, sizeof(*b));
	bytes = (bytes + BLK_BOUNCE_SLOT - 1) / BLK_BOUNCE_SLOT * BLK_BOUNCE_SLOT;
	b->nslots = (uint32_t)(bytes / BLK_BOUNCE_SLOT);
	size_t words = (b->nslots + MAP_BITS - 1) / MAP_BITS;
	size_t meta = (size_t)b->nslots * sizeof(b->bufs[0]) + words * sizeof(b->map[0]);

	if (dma_alloc(bytes, BLK_BOUNCE_SLOT, &b->mem))
		return -ENOMEM;
	if (dma_alloc(meta, BLK_BOUNCE_SLOT, &b->meta)) {
		dma_free(&b->mem);
		return -ENOMEM;
	}
	b->map = b->meta.va; /* 8-byte words first, then the buffers' entries */
	b->bufs = (struct blk_bounce_buf *)(b->map + words);
	b->nfree = b->nslots;
	b->max_bytes = (uint32_t)(piece < max_piece ? piece : max_piece);
	b->all = all;
	return 0;
}

void blk_bounce_destroy(struct blk_bounce *b)
{
	if (b->mem.va)
		dma_free(&b->mem);
	if (b->meta.va)
		dma_free(&b->meta);
	memset(b, 0, sizeof(*b));
}

/*
 * First slot of a free run of n slots in [from, to), or UINT32_MAX. Whole
 * map words that are all taken or all free are stepped over at once (a
 * 1 MiB buffer is 256 slots: four words, not 256 bit tests).
 */
static uint32_t find_run(const struct blk_bounce *b, uint32_t from, uint32_t to, uint32_t n)
{
	uint32_t run = 0, i = from;

	while (i < to) {
		uint64_t w = b->map[i / MAP_BITS];
		if (i % MAP_BITS == 0 && to - i >= MAP_BITS && (w == 0 || w == UINT64_MAX)) {
			if (w == UINT64_MAX) {
				run = 0;
			} else if (run + MAP_BITS >= n) {
				return i - run; /* the run ends inside this free word */
			} else {
				run += MAP_BITS;
			}
			i += MAP_BITS;
			continue;
		}
		run = slot_taken(b, i) ? 0 : run + 1;
		if (run == n)
			return i + 1 - n;
		i++;
	}
	return UINT32_MAX;
}

struct blk_bounce_buf *blk_bounce_get(struct blk_bounce *b, uint32_t bytes)
{
	uint32_t n = (bytes + BLK_BOUNCE_SLOT - 1) / BLK_BOUNCE_SLOT;
	uint32_t first;

	if (bytes == 0 || bytes > b->max_bytes || n > b->nfree)
		return NULL;
	/* Next-fit: from the end of the last buffer, then from the start (runs do not wrap). */
	first = find_run(b, b->next, b->nslots, n);
	if (first == UINT32_MAX)
		first =
		    find_run(b, 0, b->next + n - 1 < b->nslots ? b->next + n - 1 : b->nslots, n);
	if (first == UINT32_MAX)
		return NULL;
	mark(b, first, n, true);
	b->nfree -= n;
	b->next = first + n == b->nslots ? 0 : first + n;

	struct blk_bounce_buf *buf = &b->bufs[first];
	buf->seg.va = (char *)b->mem.va + (size_t)first * BLK_BOUNCE_SLOT;
	buf->seg.len = bytes;
	buf->nslots = n;
	return buf;
}

void blk_bounce_put(struct blk_bounce *b, struct blk_bounce_buf *buf)
{
	uint32_t first = (uint32_t)(buf - b->bufs);

	mark(b, first, buf->nslots, false);
	b->nfree += buf->nslots;
	buf->nslots = 0;
	buf->seg.len = 0;
}

void blk_bounce_fill(struct blk_bounce_buf *buf, const struct bio *bio, uint32_t seg, uint32_t off,
		     uint32_t bytes)
{
	buf->seg.len = bytes;
	buf->bio_seg = seg;
	buf->bio_off = off;
	if (bio->bio_op != BIO_OP_WRITE)
		return;
	for (uint32_t done = 0; done < bytes; seg++, off = 0) {
		uint32_t n = bio->bio_segs[seg].len - off;
		if (n > bytes - done)
			n = bytes - done;
		memcpy((char *)buf->seg.va + done, (const char *)bio->bio_segs[seg].va + off, n);
		done += n;
	}
}

void blk_bounce_copy_out(const struct blk_bounce_buf *buf, const struct bio *bio)
{
	uint32_t seg = buf->bio_seg, off = buf->bio_off, bytes = buf->seg.len;

	for (uint32_t done = 0; done < bytes; seg++, off = 0) {
		uint32_t n = bio->bio_segs[seg].len - off;
		if (n > bytes - done)
			n = bytes - done;
		memcpy((char *)bio->bio_segs[seg].va + off, (const char *)buf->seg.va + done, n);
		done += n;
	}
}

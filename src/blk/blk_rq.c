/*
 * Requests seen as lists of data segments: how much of a bio fits in a
 * request under the device's limits, and the iterator drivers use to walk a
 * request's segments. Pure arithmetic on the bio's segment array.
 *
 * Segment accounting (keep the two sides in step): a part covering bytes
 * [a, b) of a bio takes, for each bio segment it touches, ceil(piece /
 * max_seg_bytes) wire segments, where `piece` is the part's bytes in that
 * segment; blk_rq_seg_next() cuts each piece the same way, from its start.
 * Parts are never coalesced with each other, even when their buffers touch.
 */
#include <levblk/bio.h>
#include "blk_queue.h"
#include "blk_rq.h"

static uint64_t chunks(uint64_t len, uint32_t max)
{
	return (len + max - 1) / max;
}

uint32_t blk_count_segs(const struct bio *bio, uint32_t seg, uint32_t off, uint64_t bytes,
			uint32_t max_seg_bytes)
{
	uint64_t n = 0;

	while (bytes) {
		uint64_t piece = bio->bio_segs[seg].len - off;
		if (piece > bytes)
			piece = bytes;
		n += chunks(piece, max_seg_bytes);
		bytes -= piece;
		seg++;
		off = 0;
	}
	return (uint32_t)n;
}

/*
 * Bytes of bio's data from its cursor that fit in `max_segs` wire segments
 * and `max_bytes` bytes, rounded down to whole logical blocks (`lbs`); 0 if
 * not even one block fits. *nsegs gets the wire segments they take.
 */
uint64_t blk_fit_bytes(const struct bio *bio, uint32_t max_segs, uint64_t max_bytes, uint32_t lbs,
		       uint32_t max_seg_bytes, uint32_t *nsegs)
{
	uint64_t left = bio->bio_bytes - bio->bio_cur_bytes;
	uint64_t limit = left < max_bytes ? left : max_bytes;
	uint64_t total = 0, used = 0;
	uint32_t seg = bio->bio_cur_seg, off = bio->bio_cur_off;

	/* The common case: what fits lies in the bio's last segment, one wire segment. */
	if (seg + 1 == bio->bio_nsegs && limit <= max_seg_bytes && max_segs && limit % lbs == 0) {
		*nsegs = limit != 0;
		return limit;
	}
	while (seg < bio->bio_nsegs && total < limit && used < max_segs) {
		uint64_t piece = bio->bio_segs[seg].len - off;
		if (piece > limit - total)
			piece = limit - total;
		uint64_t need = chunks(piece, max_seg_bytes);
		if (used + need > max_segs) {
			need = max_segs - used;
			piece = need * max_seg_bytes;
		}
		total += piece;
		used += need;
		seg++;
		off = 0;
	}
	if (total % lbs == 0) {
		*nsegs = (uint32_t)used; /* counted on the way: no second walk */
		return total;
	}
	/* Trimmed to whole blocks: the tail's segments are no longer all taken. */
	total -= total % lbs;
	*nsegs = total
		     ? blk_count_segs(bio, bio->bio_cur_seg, bio->bio_cur_off, total, max_seg_bytes)
		     : 0;
	return total;
}

/* --- what drivers read ---------------------------------------------------- */

static const struct blk_part *wire_first(const struct request *rq, uint32_t *n)
{
	if (rq->rq_isolate) {
		*n = 1;
		return &rq->rq_parts[rq->rq_view];
	}
	*n = rq->rq_nparts;
	return rq->rq_parts;
}

enum bio_op blk_rq_op(const struct request *rq)
{
	return (enum bio_op)rq->rq_op;
}

uint32_t blk_rq_tag(const struct request *rq)
{
	return rq->rq_tag;
}

uint64_t blk_rq_sector(const struct request *rq)
{
	return rq->rq_isolate ? rq->rq_parts[rq->rq_view].sector : rq->rq_sector;
}

uint32_t blk_rq_sectors(const struct request *rq)
{
	if (rq->rq_op == BIO_OP_FLUSH || rq->rq_op == BIO_OP_GET_ID)
		return 0;
	return rq->rq_isolate ? rq->rq_parts[rq->rq_view].bytes >> SECTOR_SHIFT : rq->rq_sectors;
}

uint32_t blk_rq_nsegs(const struct request *rq)
{
	return rq->rq_isolate ? rq->rq_parts[rq->rq_view].nsegs : rq->rq_nsegs;
}

static bool has_data(uint8_t op)
{
	return op == BIO_OP_READ || op == BIO_OP_WRITE || op == BIO_OP_GET_ID;
}

uint32_t blk_rq_bytes(const struct request *rq)
{
	uint32_t n, bytes = 0;
	const struct blk_part *p = wire_first(rq, &n);

	if (!has_data(rq->rq_op))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		bytes += p[i].bytes;
	return bytes;
}

static void iter_load(struct blk_seg_iter *it)
{
	const struct blk_part *p = &it->rq->rq_parts[it->part];

	if (p->seg == BLK_PART_BOUNCED) { /* the data is in the bounce buffer, from its start */
		it->segs = &it->rq->rq_dev->bounce.bufs[p->off].seg;
		it->seg = 0;
		it->off = 0;
	} else {
		it->segs = p->bio->bio_segs;
		it->seg = p->seg;
		it->off = p->off;
	}
	it->left = has_data(it->rq->rq_op) ? p->bytes : 0;
}

void blk_rq_seg_iter_init(struct blk_seg_iter *it, const struct request *rq)
{
	it->rq = rq;
	it->part = rq->rq_isolate ? rq->rq_view : 0;
	it->part_end = rq->rq_isolate ? rq->rq_view + 1 : rq->rq_nparts;
	it->max = rq->rq_dev->info.limits.max_seg_bytes;
	it->left = 0;
	if (it->part < it->part_end)
		iter_load(it);
}

bool blk_rq_seg_next(struct blk_seg_iter *it, void **va, uint32_t *len)
{
	while (it->left == 0) {
		if (it->part + 1 >= it->part_end)
			return false;
		it->part++;
		iter_load(it);
	}
	const struct bio_seg *s = &it->segs[it->seg];
	uint32_t n = s->len - it->off;

	if (n > it->left)
		n = it->left;
	if (n > it->max)
		n = it->max;
	*va = (char *)s->va + it->off;
	*len = n;
	it->off += n;
	it->left -= n;
	if (it->off == s->len) {
		it->seg++;
		it->off = 0;
	}
	return true;
}
